import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { makeApp, sampleValue, tempDir, type TestApp, type TestAppOptions } from '../support/app.js';

const ACME_UUID = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const UNDECLARED = '11111111-1111-4111-8111-111111111111';

const INVENTORY = `
status_pages:
  - id: acme
    uuid: ${ACME_UUID}
    name: ACME public status
    token_env: ACME_WEBHOOK_TOKEN
    components:
      - uuid: ${API}
        name: API
      - uuid: ${WEBSITE}
        name: Website
  - id: internal
    name: Internal tools
    token_env: INTERNAL_WEBHOOK_TOKEN
`;

let app: TestApp | undefined;
afterEach(async () => app?.close());
const metricsApp = () => {
  if (!app?.metrics) throw new Error('expected a metrics app');
  return app.metrics;
};
/** The app the running test started (`app` is unset until a test starts one). */
const current = (): TestApp => {
  if (!app) throw new Error('the test started no app');
  return app;
};

function inventoryFile(text = INVENTORY): string {
  const file = join(tempDir(), 'status-pages.yaml');
  writeFileSync(file, text);
  return file;
}

const ENV = { ACME_WEBHOOK_TOKEN: 'acme-token', INTERNAL_WEBHOOK_TOKEN: 'internal-token' };
const start = (file = inventoryFile(), options: TestAppOptions = {}) => makeApp({ statusPagesFile: file, env: ENV, tokens: ['all-pages'], ...options });

const componentEvent = (uuid: string, impact: string, extra: Record<string, unknown> = {}) => ({
  text: 'Component',
  meta: { uuid, type: 'component_impact_updated', impact, created_at: '2026-01-01T10:00:00+03:00', ...extra },
});
const post = (body: unknown, token: string | undefined, path = '/webhook') => {
  const req = request(current().main).post(path).set('Content-Type', 'application/json');
  if (token !== undefined) req.set('Authorization', `Bearer ${token}`);
  return req.send(JSON.stringify(body));
};
const metrics = async () => (await request(current().main).get('/metrics')).text;

describe('declared status pages, from start-up', () => {
  it('exports declared components as operational under their names before any webhook', async () => {
    app = await start();
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_component_impact_level', { status_page: 'acme', component_uuid: API, component: 'API' })).toBe(0);
    expect(sampleValue(text, 'statusmate_component_impact', { status_page: 'acme', component: 'Website', impact: 'operational' })).toBe(1);
    expect(app.commits()).toBe(0);
  });

  it("exports each declared page's counters and histograms at 0", async () => {
    app = await start();
    const text = await metrics();
    for (const page of ['acme', 'internal']) {
      expect(sampleValue(text, 'statusmate_incidents_created_total', { status_page: page })).toBe(0);
      expect(sampleValue(text, 'statusmate_maintenances_finished_total', { status_page: page })).toBe(0);
      expect(sampleValue(text, 'statusmate_incident_duration_seconds_count', { status_page: page })).toBe(0);
      expect(sampleValue(text, 'statusmate_maintenance_duration_seconds_bucket', { status_page: page, le: '+Inf' })).toBe(0);
    }
  });

  it('maps each page label to its uuid and name with statusmate_status_page_info', async () => {
    app = await start();
    const text = await metrics();
    expect(text).toContain(`statusmate_status_page_info{status_page="acme",status_page_uuid="${ACME_UUID}",name="ACME public status"} 1`);
    expect(text).toContain('statusmate_status_page_info{status_page="internal",status_page_uuid="",name="Internal tools"} 1');
    expect(sampleValue(text, 'statusmate_config_last_reload_successful')).toBe(1);
  });
});

describe('events for declared pages', () => {
  it("labels an event carrying a declared page's uuid with that page's id", async () => {
    app = await start();
    const response = await post(componentEvent(API, 'major_outage', { status_page: ACME_UUID.toUpperCase() }), 'all-pages');
    expect(response.status).toBe(200);
    expect(response.body.status_page).toBe('acme');
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_component_impact_level', { status_page: 'acme', component_uuid: API })).toBe(4);
    expect(text).not.toContain(`status_page="${ACME_UUID}"`);
  });

  it('labels an event with the URL page when the body names another', async () => {
    app = await start();
    const response = await post(componentEvent(API, 'partial_outage', { status_page: 'elsewhere' }), 'all-pages', '/webhook?status_page=acme');
    expect(response.body.status_page).toBe('acme');
  });

  it('lets the webhook decide the impact and learns components the file does not declare', async () => {
    app = await start();
    await post(componentEvent(WEBSITE, 'degraded_performance', { status_page: ACME_UUID, title: 'Website (renamed)' }), 'all-pages');
    await post(componentEvent(UNDECLARED, 'major_outage', { status_page: ACME_UUID, title: 'Search' }), 'all-pages');
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: WEBSITE, component: 'Website (renamed)' })).toBe(2);
    expect(sampleValue(text, 'statusmate_component_impact_level', { status_page: 'acme', component_uuid: UNDECLARED, component: 'Search' })).toBe(4);
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: API })).toBe(0);
  });

  it('keeps the webhook state and the declared overlay across a restart on the same store file', async () => {
    const dir = tempDir();
    const { SqliteLog } = await import('../../src/store/sqlite.js');
    const file = inventoryFile();
    app = await start(file, { store: new SqliteLog({ path: join(dir, 'state.db'), synchronous: 'normal' }) });
    await post(componentEvent(API, 'major_outage', { status_page: ACME_UUID }), 'all-pages');
    await app.close();
    app = await start(file, { store: new SqliteLog({ path: join(dir, 'state.db'), synchronous: 'normal' }) });
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: API })).toBe(4);
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: WEBSITE })).toBe(0);
  });
});

describe('per-page tokens', () => {
  it("accepts a page's token for that page", async () => {
    app = await start();
    expect((await post(componentEvent(API, 'major_outage', { status_page: ACME_UUID }), 'acme-token')).status).toBe(200);
    expect((await post(componentEvent(API, 'major_outage'), 'internal-token', '/webhook?status_page=internal')).status).toBe(200);
  });

  it("answers 403 to a page's token used for another page, changing nothing", async () => {
    app = await start();
    const response = await post(componentEvent(API, 'major_outage', { status_page: ACME_UUID }), 'internal-token');
    expect(response.status).toBe(403);
    expect(response.body.error).toBe('this token is not valid for status page "acme"');
    const elsewhere = await post(componentEvent(API, 'major_outage'), 'acme-token', '/webhook?status_page=unknown-page');
    expect(elsewhere.status).toBe(403);
    expect(app.commits()).toBe(0);
    expect(sampleValue(await metrics(), 'statusmate_webhook_requests_total', { event_type: 'component_impact_updated', outcome: 'unauthorized' })).toBe(2);
  });

  it('keeps WEBHOOK_TOKEN as the token of every page, and 401 for a token nobody set', async () => {
    app = await start();
    expect((await post(componentEvent(API, 'major_outage'), 'all-pages', '/webhook?status_page=internal')).status).toBe(200);
    expect((await post(componentEvent(API, 'major_outage'), 'all-pages', '/webhook?status_page=acme')).status).toBe(200);
    expect((await post(componentEvent(API, 'major_outage'), 'wrong')).status).toBe(401);
    expect((await post(componentEvent(API, 'major_outage'), undefined)).status).toBe(401);
  });

  it('requires a token once any page has one, even without WEBHOOK_TOKEN', async () => {
    app = await start(inventoryFile(), { tokens: [] });
    expect((await post(componentEvent(API, 'major_outage'), undefined)).status).toBe(401);
    expect((await post(componentEvent(API, 'major_outage'), 'acme-token', '/webhook?status_page=acme')).status).toBe(200);
  });

  it('never logs a token', async () => {
    app = await start();
    await post(componentEvent(API, 'major_outage', { status_page: ACME_UUID }), 'internal-token');
    await request(app.main)
      .post('/webhook?token=acme-token&status_page=internal')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(componentEvent(API, 'major_outage')));
    const logs = app.logs.raw.join('\n');
    expect(logs).not.toContain('internal-token');
    expect(logs).not.toContain('acme-token');
  });
});

describe('reloading the status pages file', () => {
  it('applies a changed file on POST /-/reload and reports success in the metrics', async () => {
    const file = inventoryFile();
    app = await start(file);
    writeFileSync(file, INVENTORY.replace('name: Website', 'name: Web shop').replace('ACME public status', 'ACME status'));
    const before = Date.now() / 1000;
    const response = await request(app.main).post('/-/reload').set('Authorization', 'Bearer all-pages');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'reloaded', status_pages: 2, components: 2 });
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: WEBSITE, component: 'Web shop' })).toBe(0);
    expect(text).toContain('name="ACME status"');
    expect(sampleValue(text, 'statusmate_config_last_reload_successful')).toBe(1);
    expect(sampleValue(text, 'statusmate_config_last_reload_success_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(before));
  });

  it('answers 409 to POST /-/reload without STATUS_PAGES_FILE: nothing reloaded, and no failed reload reported', async () => {
    app = await makeApp({ tokens: ['all-pages'] });
    const response = await request(app.main).post('/-/reload').set('Authorization', 'Bearer all-pages');
    expect(response.status).toBe(409);
    expect(response.body).toEqual({ error: 'STATUS_PAGES_FILE is not set: there is no file to reload', issues: [] });
    expect(app.logs.lines.some((line) => line.msg === 'STATUS_PAGES_FILE is not set: there is no file to reload' && line.level === 'warn')).toBe(true);
    expect(app.logs.lines.some((line) => line.msg === 'status pages reloaded')).toBe(false);
    expect(sampleValue(await metrics(), 'statusmate_config_last_reload_successful')).toBe(1);
  });

  it('drops what only the old file declared and keeps what webhooks set', async () => {
    const file = inventoryFile();
    app = await start(file);
    await post(componentEvent(API, 'major_outage', { status_page: ACME_UUID }), 'all-pages');
    writeFileSync(file, 'status_pages:\n  - id: acme\n');
    expect((await request(app.main).post('/-/reload').set('Authorization', 'Bearer all-pages')).status).toBe(200);
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: API })).toBe(4);
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: WEBSITE })).toBeUndefined();
    expect(sampleValue(text, 'statusmate_incidents_created_total', { status_page: 'internal' })).toBeUndefined();
    // The old page token went with the file.
    expect((await post(componentEvent(API, 'major_outage'), 'acme-token', '/webhook?status_page=acme')).status).toBe(401);
  });

  it('keeps the inventory in force when the new file is invalid, says why and sets the metric to 0', async () => {
    const file = inventoryFile();
    app = await start(file);
    const firstSuccess = sampleValue(await metrics(), 'statusmate_config_last_reload_success_timestamp_seconds');
    writeFileSync(file, 'status_pages:\n  - id: acme\n    uuid: not-a-uuid\n');
    const response = await request(app.main).post('/-/reload').set('Authorization', 'Bearer all-pages');
    expect(response.status).toBe(500);
    expect(response.body.error).toBe(`STATUS_PAGES_FILE ${file}: status_pages[0].uuid: must be a UUID (at line 3, column 11)`);
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_config_last_reload_successful')).toBe(0);
    expect(sampleValue(text, 'statusmate_config_last_reload_success_timestamp_seconds')).toBe(firstSuccess);
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: WEBSITE, component: 'Website' })).toBe(0);
    expect((await post(componentEvent(API, 'major_outage'), 'acme-token', '/webhook?status_page=acme')).status).toBe(200);
    expect(app.logs.lines.some((line) => line.msg === 'reload failed; the status pages in force are kept' && line.level === 'error')).toBe(true);
  });

  it('serves /-/reload on METRICS_PORT only when that is set', async () => {
    app = await start(inventoryFile(), { separateMetrics: true });
    expect((await request(app.main).post('/-/reload').set('Authorization', 'Bearer all-pages')).status).toBe(404);
    expect((await request(metricsApp()).post('/-/reload')).status).toBe(200);
    expect((await request(metricsApp()).get('/-/reload')).status).toBe(405);
  });
});

describe('reloading an unchanged file', () => {
  it('neither rereads the store nor changes the state, and still counts as a successful reload', async () => {
    app = await start();
    const loads = { count: 0 };
    const readSnapshot = app.store.readSnapshot.bind(app.store);
    app.store.readSnapshot = async () => {
      loads.count += 1;
      return readSnapshot();
    };
    const version = app.ingestor.state.version;
    expect((await request(app.main).post('/-/reload').set('Authorization', 'Bearer all-pages')).status).toBe(200);
    expect(loads.count).toBe(0);
    expect(app.ingestor.state.version).toBe(version);
    expect(sampleValue(await metrics(), 'statusmate_config_last_reload_successful')).toBe(1);
  });
});
