import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { encodeEntry, encodeForget } from '../../src/log/entry.js';
import { FORGET_MAX_BYTES } from '../../src/http/operator-routes.js';
import { appsPerTest, sampleValue, sqliteStore, tempDir, type TestApp } from '../support/app.js';
import { faulty } from '../support/faulty-store.js';
import { chunkedPost, rawExchange } from '../support/raw-http.js';

const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const INCIDENT = 'bd25a449-b655-49e3-ac46-a9d6ffd50691';
const TOKEN = 't0ken';

const { start, stop } = appsPerTest({ tokens: [TOKEN] });

const component = (uuid: string, impact: string, page = 'shop') => ({
  meta: { type: 'component_impact_updated', uuid, impact, title: 'Website', status_page: page },
});
const incidentCreated = (page = 'shop') => ({
  meta: {
    type: 'incident_created',
    uuid: INCIDENT,
    title: 'API down',
    status_page: page,
    affected_components: [{ impact: 'major_outage', component_details: { name: 'API', component_uuid: API } }],
  },
});
const webhook = (app: TestApp, body: unknown) =>
  request(app.main).post('/webhook').set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'application/json').send(JSON.stringify(body));
const forgetRequest = (app: TestApp, body: unknown, token: string | null = TOKEN) => {
  const req = request(app.main).post('/-/forget').set('Content-Type', 'application/json');
  if (token !== null) req.set('Authorization', `Bearer ${token}`);
  return req.send(JSON.stringify(body));
};
const metrics = async (app: TestApp) => (await request(app.main).get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).text;

describe('POST /-/forget', () => {
  it('forgets a component, then an incident, then a page, and /metrics shows each gone', async () => {
    const app = await start();
    expect((await webhook(app, component(WEBSITE, 'major_outage'))).status).toBe(200);
    expect((await webhook(app, incidentCreated())).status).toBe(200);
    let text = await metrics(app);
    expect(sampleValue(text, 'statusmate_component_impact', { component_uuid: WEBSITE, impact: 'major_outage' })).toBe(1);
    expect(sampleValue(text, 'statusmate_incidents_active', { status_page: 'shop' })).toBe(1);

    const forgotten = await forgetRequest(app, { status_page: 'shop', component_uuid: WEBSITE.toUpperCase() });
    expect(forgotten.status).toBe(200);
    expect(forgotten.body).toEqual({ status: 'forgotten', status_page: 'shop', component_uuid: WEBSITE });
    text = await metrics(app);
    expect(text).not.toContain(`component_uuid="${WEBSITE}"`);
    expect(sampleValue(text, 'statusmate_component_impact', { component_uuid: API, impact: 'major_outage' })).toBe(1);

    expect((await forgetRequest(app, { status_page: 'shop', incident_uuid: INCIDENT })).status).toBe(200);
    text = await metrics(app);
    expect(sampleValue(text, 'statusmate_incidents_active', { status_page: 'shop' })).toBe(0);
    // What was counted stays counted (README, Forgetting)...
    expect(sampleValue(text, 'statusmate_incidents_created_total', { status_page: 'shop' })).toBe(1);
    expect(text).not.toContain(`incident_uuid="${INCIDENT}"`);
    // The incident's hold is gone: the component it held is operational again.
    expect(sampleValue(text, 'statusmate_component_impact', { component_uuid: API, impact: 'operational' })).toBe(1);

    expect((await forgetRequest(app, { status_page: 'shop' })).status).toBe(200);
    text = await metrics(app);
    // ...but a page's counters end with the page, as its other series do.
    expect(text).not.toContain('status_page="shop"');
    const forgot = app.logs.lines.filter((line) => line.msg === 'forgot on an operator request');
    expect(forgot).toHaveLength(3);
    // Named as in a webhook's line, so that a search of the log for the page finds them.
    expect(forgot[0]).toMatchObject({ status_page: 'shop', component_uuid: WEBSITE });
    expect(forgot[2]).toMatchObject({ status_page: 'shop' });
    expect(forgot.some((line) => 'forget' in line)).toBe(false);
  });

  it('answers 404 naming what is not there, and changes nothing', async () => {
    const app = await start();
    const res = await forgetRequest(app, { status_page: 'nosuch' });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('no status page "nosuch"');
    const missing = await forgetRequest(app, { status_page: 'shop', incident_uuid: INCIDENT });
    expect(missing.body.error).toBe(`no incident ${INCIDENT} on status page "shop"`);
  });

  it.each([
    [{}, 'status_page'],
    [{ status_page: 'shop', component_uuid: 'nope' }, 'component_uuid'],
    [{ status_page: 'shop', component_uuid: WEBSITE, incident_uuid: INCIDENT }, 'body'],
    [{ status_page: 'shop', uuid: WEBSITE }, 'body'],
  ])('answers 400 naming the problem of %j', async (body, path) => {
    const app = await start();
    const res = await forgetRequest(app, body);
    expect(res.status).toBe(400);
    expect(res.body.issues.map((issue: { path: string }) => issue.path)).toContain(path);
    expect(res.body.error).toMatch(/^invalid forget: /);
  });

  it('says a missing status_page is required, and an unknown key is not taken', async () => {
    const app = await start();
    const res = await forgetRequest(app, { page: 'shop' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid forget: status_page: required; body: Unrecognized key: "page"');
  });

  it('needs the webhook token, as the other operator routes do, and takes JSON only', async () => {
    const app = await start();
    await webhook(app, component(WEBSITE, 'major_outage'));
    expect((await forgetRequest(app, { status_page: 'shop' }, null)).status).toBe(401);
    expect((await forgetRequest(app, { status_page: 'shop' }, 'wrong')).status).toBe(401);
    const plain = await request(app.main)
      .post('/-/forget')
      .set('Authorization', `Bearer ${TOKEN}`)
      .set('Content-Type', 'text/plain')
      .send('{"status_page":"shop"}');
    expect(plain.status).toBe(415);
    expect(plain.body.error).toBe('/-/forget takes an application/json body: a text/plain POST is what a page of another site sends');
    // A body that is not JSON is named as the webhook names one.
    const broken = await request(app.main).post('/-/forget').set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'application/json').send('{');
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatch(/^body is not valid JSON: /);
    expect(broken.body.issues).toEqual([{ path: 'body', message: 'not valid JSON' }]);
    // JSON that is no object is JSON: it is named for what it is.
    for (const text of ['null', '"shop"', '1']) {
      const scalar = await request(app.main).post('/-/forget').set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'application/json').send(text);
      expect([scalar.status, scalar.body]).toEqual([
        400,
        { error: 'body must be a JSON object, like {"status_page": "shop"}', issues: [{ path: 'body', message: 'must be a JSON object' }] },
      ]);
    }
    expect((await request(app.main).get('/-/forget').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(405);
    // Too large, in another charset or compressed: refused, each saying what to send instead.
    const post = (headers: Record<string, string>, body: string) =>
      request(app.main).post('/-/forget').set('Authorization', `Bearer ${TOKEN}`).set(headers).send(body);
    const large = await post({ 'Content-Type': 'application/json' }, JSON.stringify({ status_page: 'shop', pad: 'x'.repeat(5_000) }));
    expect([large.status, large.body.error]).toEqual([413, `body larger than ${FORGET_MAX_BYTES} bytes`]);
    const utf16 = await post({ 'Content-Type': 'application/json; charset=utf-16' }, '{"status_page":"shop"}');
    expect([utf16.status, utf16.body.error]).toEqual([415, 'charset "utf-16" is not taken: send the body in UTF-8']);
    const compressed = await post({ 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, '{"status_page":"shop"}');
    expect([compressed.status, compressed.body.error]).toEqual([415, 'Content-Encoding "gzip" is not taken here: send the body uncompressed']);
    // Node undoes the chunks alone: a gzip transfer coding before them is refused as Content-Encoding is.
    const transferCoded = await rawExchange(
      app.main,
      chunkedPost(
        '/-/forget',
        { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'gzip, chunked' },
        gzipSync('{"status_page":"shop"}'),
      ),
    );
    expect([transferCoded.status, JSON.parse(transferCoded.body)]).toEqual([
      415,
      { error: expect.stringMatching(/^unsupported Transfer-Encoding "gzip, chunked": /), issues: [] },
    ]);
    expect(sampleValue(await metrics(app), 'statusmate_component_impact', { component_uuid: WEBSITE, impact: 'major_outage' })).toBe(1);
  });

  it('is refused 403 on the webhook port without WEBHOOK_TOKEN, and served without a token on METRICS_PORT alone', async () => {
    const open = await start({ tokens: [] });
    await webhook(open, component(WEBSITE, 'major_outage'));
    const refused = await forgetRequest(open, { status_page: 'shop' }, null);
    expect(refused.status).toBe(403);
    expect(open.fold.state.pages.has('shop')).toBe(true);

    const split = await start({ separateMetrics: true });
    await webhook(split, component(WEBSITE, 'major_outage'));
    expect((await forgetRequest(split, { status_page: 'shop' })).status).toBe(404);
    if (!split.metrics) throw new Error('expected a metrics app');
    const served = await request(split.metrics).post('/-/forget').set('Content-Type', 'application/json').send('{"status_page":"shop"}');
    expect(served.status).toBe(200);
    expect(split.fold.state.pages.has('shop')).toBe(false);
  });

  it('answers 503 when the store cannot commit, in one log line that says why, without a stack', async () => {
    const store = faulty(sqliteStore());
    const app = await start({ store });
    expect((await webhook(app, component(WEBSITE, 'major_outage'))).status).toBe(200);
    store.failWrites('SQLite append failed: database or disk is full');
    const refused = await forgetRequest(app, { status_page: 'shop' });
    expect(refused.status).toBe(503);
    const lines = app.logs.lines.filter((line) => line.path === '/-/forget' || String(line.msg).startsWith('forget'));
    expect(lines).toEqual([expect.objectContaining({ level: 'error', status: 503, error: expect.stringMatching(/^store failed: .*disk is full/) })]);
    expect(JSON.stringify(lines)).not.toContain('stack');
  });

  it('brings a declared component back from the status pages file, operational, after it is forgotten', async () => {
    const file = join(tempDir(), 'pages.yaml');
    writeFileSync(file, `status_pages:\n  - id: shop\n    components:\n      - { uuid: ${WEBSITE}, name: Website }\n`);
    const app = await start({ statusPagesFile: file });
    await webhook(app, component(WEBSITE, 'major_outage'));
    expect((await forgetRequest(app, { status_page: 'shop', component_uuid: WEBSITE })).status).toBe(200);
    expect(sampleValue(await metrics(app), 'statusmate_component_impact', { component_uuid: WEBSITE, impact: 'operational' })).toBe(1);
    expect((await forgetRequest(app, { status_page: 'shop' })).status).toBe(200);
    expect(sampleValue(await metrics(app), 'statusmate_component_impact', { status_page: 'shop', component_uuid: WEBSITE, impact: 'operational' })).toBe(1);
  });

  it('survives a restart on SQLite: the forget is in the log, folded again', async () => {
    const path = join(tempDir(), 'forget.db');
    const first = await start({ store: sqliteStore(path) });
    await webhook(first, component(WEBSITE, 'major_outage'));
    await webhook(first, component(API, 'partial_outage'));
    expect((await forgetRequest(first, { status_page: 'shop', component_uuid: WEBSITE })).status).toBe(200);
    await stop(first);
    // What the restart loads (the snapshot written at close, and the log after it) holds the forget.
    const second = await start({ store: sqliteStore(path) });
    const text = await metrics(second);
    expect(text).not.toContain(`component_uuid="${WEBSITE}"`);
    expect(sampleValue(text, 'statusmate_component_impact', { component_uuid: API, impact: 'partial_outage' })).toBe(1);
  });

  it('folds a forget entry found in a SQLite log at start, as every replica and restart does', async () => {
    const path = join(tempDir(), 'log-only.db');
    const store = sqliteStore(path);
    await store.open();
    const event = {
      type: 'component_impact_updated',
      statusPage: 'shop',
      uuid: WEBSITE,
      createdAt: null,
      deliveryAttempt: 0,
      name: 'Website',
      impact: 'major_outage',
    } as const;
    const results = await store.append([
      encodeEntry('other:1', event, DEFAULT_LIMITS, 3600),
      encodeForget('other:2', { kind: 'component', statusPage: 'shop', uuid: WEBSITE }, DEFAULT_LIMITS, 3600),
    ]);
    expect(results).toEqual([null, null]);
    await store.close();
    const app = await start({ store: sqliteStore(path) });
    expect(app.fold.state.pages.get('shop')?.components.has(WEBSITE)).toBe(false);
    expect(app.fold.stats().entriesFolded).toBe(2);
  });
});
