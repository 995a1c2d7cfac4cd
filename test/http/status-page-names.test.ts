import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { makeApp, sampleValue, type TestApp } from '../support/app.js';

// Without STATUS_PAGES_FILE a page is named by whoever sends the webhook. Spaces, punctuation and
// any letter reach every consumer whole; a double quote or a control character would make a label
// the dashboards cannot select (Grafana puts it unescaped into `status_page=~"…"`).

const COMPONENT_UUID = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const event = (extra: Record<string, unknown> = {}) => ({ meta: { type: 'component_impact_updated', uuid: COMPONENT_UUID, impact: 'major_outage', ...extra } });

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('a status page name no file declares', () => {
  it.each(['acme corp', 'Ünïcödé Status', 'launch \u{1f680}', 'a,b;c/d|e<f>', 'shop (EU) #1'])('is kept whole: %s', async (name) => {
    app = await makeApp();
    const answer = await request(app.main)
      .post(`/webhook?status_page=${encodeURIComponent(name)}`)
      .set('Content-Type', 'application/json')
      .send(event());
    expect(answer.status).toBe(200);
    expect(answer.body.status_page).toBe(name);
    const metrics = (await request(app.main).get('/metrics')).text;
    expect(sampleValue(metrics, 'statusmate_component_impact_level', { status_page: name })).toBe(4);
  });

  it.each([
    ['a double quote in ?status_page=', 'acme"corp', undefined, 'query.status_page', 'double quote'],
    ['a line break in ?status_page=', 'acme\ncorp', undefined, 'query.status_page', 'control character'],
    ['a double quote in meta.status_page', undefined, 'say "hi"', 'meta.status_page', 'double quote'],
    ['a tab in meta.status_page', undefined, 'acme\tcorp', 'meta.status_page', 'control character'],
    // Written as U+FFFD in /metrics, it would make evil\ud800 and evil\udc00 one series twice.
    ['a lone surrogate in meta.status_page', undefined, 'evil\ud800', 'meta.status_page', 'lone surrogate'],
  ])('is refused with 400 naming the field for %s, and makes no state', async (_what, query, meta, path, problem) => {
    app = await makeApp();
    const url = query === undefined ? '/webhook' : `/webhook?status_page=${encodeURIComponent(query)}`;
    const answer = await request(app.main)
      .post(url)
      .set('Content-Type', 'application/json')
      .send(event(meta === undefined ? {} : { status_page: meta }));
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([{ path, message: expect.stringContaining(problem) as string }]);
    expect(answer.body.error).toContain(`invalid ${path} `);
    expect(app.commits()).toBe(0);
    expect(app.logs.lines.some((line) => 'stack' in line || (typeof line.err === 'object' && line.err !== null))).toBe(false);
  });
});

describe('DEFAULT_STATUS_PAGE', () => {
  it('is refused at start-up with a double quote or a control character, naming the variable', () => {
    expect(() => loadConfig({ DEFAULT_STATUS_PAGE: 'main "site"' })).toThrow(/DEFAULT_STATUS_PAGE.*double quote/);
    expect(() => loadConfig({ DEFAULT_STATUS_PAGE: 'main\nsite' })).toThrow(/DEFAULT_STATUS_PAGE.*control character/);
    expect(loadConfig({ DEFAULT_STATUS_PAGE: 'main site' }).defaultStatusPage).toBe('main site');
  });
});
