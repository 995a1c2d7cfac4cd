import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, makeApp, sampleValue, tempDir, type TestApp, type TestAppOptions } from '../support/app.js';

// StatusMate's own per-type examples (test/fixtures/seed-*.json) carry no meta.status_page.
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0'; // seed-incident-created
const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe'; // seed-component-impact-updated
const DB = '0935e96c-34b6-46e8-82cb-def6d3d74d9c'; // seed-maintenance-created

const SHOP = `
status_pages:
  - id: shop
    components:
      - { uuid: ${API}, name: API }
      - { uuid: ${WEBSITE}, name: Website }
      - { uuid: ${DB}, name: Database }
  - id: default
`;

let app: TestApp | undefined;
afterEach(async () => app?.close());

async function start(text: string, options: TestAppOptions = {}): Promise<TestApp> {
  const file = join(tempDir(), 'status-pages.yaml');
  writeFileSync(file, text);
  app = await makeApp({ statusPagesFile: file, tokens: ['t0ken'], ...options });
  return app;
}
const post = (target: TestApp, body: unknown, query = '') =>
  request(target.main).post(`/webhook?token=t0ken${query}`).set('Content-Type', 'application/json').send(JSON.stringify(body));
const metrics = async (target: TestApp) => (await request(target.main).get('/metrics?token=t0ken')).text;

describe('declared components find their page', () => {
  it("labels StatusMate's seed component, incident and maintenance with the page that declares their components", async () => {
    const target = await start(SHOP);
    for (const name of ['seed-component-impact-updated.json', 'seed-incident-created.json', 'seed-maintenance-created.json']) {
      const res = await post(target, fixture(name));
      expect(res.status, name).toBe(200);
      expect(res.body.status_page, name).toBe('shop');
    }
    const text = await metrics(target);
    expect(sampleValue(text, 'statusmate_component_impact', { status_page: 'shop', component_uuid: WEBSITE, impact: 'under_maintenance' })).toBe(1);
    expect(sampleValue(text, 'statusmate_component_impact', { status_page: 'shop', component_uuid: API, impact: 'degraded_performance' })).toBe(1);
    expect(sampleValue(text, 'statusmate_incidents_created_total', { status_page: 'shop' })).toBe(1);
    expect(sampleValue(text, 'statusmate_maintenances_created_total', { status_page: 'shop' })).toBe(1);
    // No second copy of the component on the default page.
    expect(text).not.toMatch(new RegExp(`statusmate_component_impact\\{[^}]*status_page="default"[^}]*component_uuid="${WEBSITE}"`));
    expect(sampleValue(text, 'statusmate_webhook_page_conflicts_total', { reason: 'several_pages' })).toBe(0);
  });

  it('leaves a component declared on two pages on the default page, and logs and counts the conflict', async () => {
    const target = await start(`${SHOP}
  - id: blog
    components:
      - { uuid: ${WEBSITE}, name: Website }
`);
    const res = await post(target, fixture('seed-component-impact-updated.json'));
    expect(res.status).toBe(200);
    expect(res.body.status_page).toBe('default');
    expect(sampleValue(await metrics(target), 'statusmate_webhook_page_conflicts_total', { reason: 'several_pages' })).toBe(1);
    const warned = target.logs.lines.filter((line) => line.reason === 'several_pages');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 'warn', declared_on: ['shop', 'blog'], status_page: 'default' });
  });

  it('keeps the page ?status_page= names when the file declares the component elsewhere, logging and counting it', async () => {
    const target = await start(SHOP);
    const res = await post(target, fixture('seed-component-impact-updated.json'), '&status_page=default');
    expect(res.status).toBe(200);
    expect(res.body.status_page).toBe('default');
    expect(sampleValue(await metrics(target), 'statusmate_webhook_page_conflicts_total', { reason: 'other_page' })).toBe(1);
    expect(target.logs.lines.filter((line) => line.reason === 'other_page')).toMatchObject([{ level: 'warn', declared_on: ['shop'] }]);
  });
});

describe('unknown pages are a decision', () => {
  it('refuses 422, naming the page, an event for a page the file does not declare, and stores nothing', async () => {
    const target = await start(SHOP);
    const res = await post(target, fixture('seed-component-impact-updated.json'), '&status_page=nosuch');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ status_page: 'nosuch', issues: [{ path: 'query.status_page', message: 'not a declared status page' }] });
    expect(res.body.error).toContain('"nosuch" is not declared in STATUS_PAGES_FILE');
    expect(target.commits()).toBe(0);
    const text = await metrics(target);
    expect(text).not.toContain('status_page="nosuch"');
    expect(sampleValue(text, 'statusmate_webhook_page_conflicts_total', { reason: 'unknown_page' })).toBe(1);
    expect(sampleValue(text, 'statusmate_webhook_requests_total', { type: 'component_impact_updated', outcome: 'invalid' })).toBe(1);
    expect(target.logs.lines.filter((line) => line.reason === 'unknown_page')).toMatchObject([{ level: 'warn', status_page: 'nosuch', from: 'url' }]);
  });

  it('refuses an event naming nothing the file declares when DEFAULT_STATUS_PAGE is not declared either', async () => {
    const target = await start(`
status_pages:
  - id: shop
`);
    const res = await post(target, fixture('seed-component-impact-updated.json'));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ status_page: 'default', issues: [{ path: 'DEFAULT_STATUS_PAGE' }] });
    // The URL had no ?status_page= to fix: the answer says why the event went to the default page, and the ways out.
    expect(res.body.error).toBe(
      'status page "default" is not declared in STATUS_PAGES_FILE: the event names no status page and the file declares none of its components on a page, so it went to DEFAULT_STATUS_PAGE: put ?status_page=<id> in the webhook URL, declare its components, or set LEARN_STATUS_PAGES=true',
    );
  });

  it("refuses a meta.status_page uuid the file does not declare, saying that the event's body named it", async () => {
    const target = await start(SHOP);
    const res = await post(target, fixture('seed-incident-created-example.json'));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ status_page: '0935e96c-34b6-46e8-82cb-def6d3d74d9c', issues: [{ path: 'meta.status_page' }] });
    expect(res.body.error).toContain('meta.status_page names it: declare a page with that uuid, put ?status_page=<id> in the webhook URL');
    expect(res.body.error).not.toContain('fix ?status_page=');
  });

  it('learns the page from the webhook when LEARN_STATUS_PAGES is on', async () => {
    const target = await start(SHOP, { learnStatusPages: true });
    const res = await post(target, fixture('seed-component-impact-updated.json'), '&status_page=learnt');
    expect(res.status).toBe(200);
    expect(res.body.status_page).toBe('learnt');
    expect(
      sampleValue(await metrics(target), 'statusmate_component_impact', { status_page: 'learnt', component_uuid: WEBSITE, impact: 'under_maintenance' }),
    ).toBe(1);
  });

  it('learns pages from webhooks as before when no status pages file is in force', async () => {
    app = await makeApp({ tokens: ['t0ken'] });
    const res = await post(app, fixture('seed-component-impact-updated.json'), '&status_page=anything');
    expect(res.status).toBe(200);
    expect(res.body.status_page).toBe('anything');
  });
});
