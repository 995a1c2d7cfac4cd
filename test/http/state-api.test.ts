import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { stateViewSchema } from '../../src/api/state.js';
import { fixture, makeApp, tempDir, type TestApp } from '../support/app.js';

const ACME_UUID = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';

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

function start(separateMetrics = false, learnStatusPages = false) {
  const file = join(tempDir(), 'status-pages.yaml');
  writeFileSync(
    file,
    `status_pages:\n  - id: acme\n    uuid: ${ACME_UUID}\n    name: ACME public status\n    components:\n      - uuid: ${API}\n        name: API\n`,
  );
  return makeApp({ statusPagesFile: file, separateMetrics, learnStatusPages, version: '9.9.9' });
}
const post = (body: unknown) => request(current().main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify(body));

describe('GET /api/v1/state', () => {
  it('answers JSON that its documented schema accepts, declared pages included before any webhook', async () => {
    app = await start();
    const response = await request(app.main).get('/api/v1/state');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const view = stateViewSchema.parse(response.body);
    expect(view.exporter).toEqual({
      version: '9.9.9',
      store: 'sqlite',
      webhook_token_required: false,
      all_pages_token: false,
      page_tokens: [],
      status_pages_file: expect.stringMatching(/status-pages\.yaml$/),
    });
    expect(view.status_pages).toEqual([
      {
        id: 'acme',
        uuid: ACME_UUID,
        name: 'ACME public status',
        declared: true,
        last_received_at: null,
        components: [{ uuid: API, name: 'API', impact: 'operational', level: 0, last_change_at: expect.any(String), reported: false }],
        incidents: [],
        maintenances: [],
      },
    ]);
    expect(view.recent_deliveries).toEqual([]);
  });

  it('shows what the seed webhooks did, with times as RFC 3339', async () => {
    // The maintenance's component is declared nowhere: it goes to the default page, learnt.
    app = await start(false, true);
    // The general example names the ACME page by its uuid; the incident one affects API, declared on ACME.
    expect((await post(fixture('seed-incident-created-example.json'))).status).toBe(200);
    expect((await post(fixture('seed-incident-created.json'))).status).toBe(200);
    expect((await post(fixture('seed-maintenance-created.json'))).status).toBe(200);
    const view = stateViewSchema.parse((await request(app.main).get('/api/v1/state')).body);
    const acme = view.status_pages.find((page) => page.id === 'acme');
    expect(acme?.incidents).toEqual([
      {
        uuid: 'bd25a449-b655-49e3-ac46-a9d6ffd50691',
        title: 'Incident title',
        started_at: '2023-05-19T14:05:00.000Z',
        components: [{ uuid: API, impact: 'degraded_performance' }],
      },
      { uuid: 'cd5879b7-104e-4c20-ae84-39e4e26a6eb7', title: 'Incident caption', started_at: '2023-05-19T15:43:00.000Z', components: [] },
    ]);
    expect(acme?.components.find((c) => c.uuid === API)).toMatchObject({ name: 'Component', impact: 'degraded_performance', level: 2 });
    expect(acme?.last_received_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const fallback = view.status_pages.find((page) => page.id === 'default');
    expect(fallback?.declared).toBe(false);
    expect(fallback?.components.find((c) => c.uuid === API)).toBeUndefined();
    expect(fallback?.maintenances).toEqual([
      {
        uuid: 'cd5879b7-104e-4c20-ae84-39e4e26a6eb7',
        title: 'Maintenance name',
        state: 'scheduled',
        scheduled_start_at: '2023-05-19T14:43:00.000Z',
        scheduled_end_at: '2023-05-19T15:43:00.000Z',
      },
    ]);
    expect(view.recent_deliveries.map((d) => [d.status, d.outcome, d.type, d.status_page])).toEqual([
      [200, 'applied', 'maintenance_created', 'default'],
      [200, 'applied', 'incident_created', 'acme'],
      [200, 'applied', 'incident_created', 'acme'],
    ]);
  });

  it('lists refused deliveries too, with the reason and no token', async () => {
    app = await makeApp({ tokens: ['secret-token'] });
    await request(app.main).post('/webhook?token=wrong-token').set('Content-Type', 'application/json').send('{}');
    const view = stateViewSchema.parse((await request(app.main).get('/api/v1/state').set('Authorization', 'Bearer secret-token')).body);
    expect(view.recent_deliveries).toEqual([
      {
        at: expect.any(String),
        status: 401,
        type: 'unknown',
        outcome: 'unauthorized',
        status_page: null,
        event_uuid: null,
        delivery_attempt: null,
        error: 'wrong webhook token',
      },
    ]);
    expect(JSON.stringify(view)).not.toContain('wrong-token');
    expect(view.exporter.webhook_token_required).toBe(true);
  });
});

describe('GET /', () => {
  it('serves a self-contained HTML page that refreshes itself and shows each page and component', async () => {
    app = await start();
    await post({ meta: { type: 'component_impact_updated', uuid: API, impact: 'major_outage', status_page: ACME_UUID } });
    const response = await request(app.main).get('/');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = response.text;
    expect(html).toContain('<meta http-equiv="refresh" content="10">');
    expect(html).toContain('<h1>statusmate-exporter 9.9.9</h1>');
    expect(html).toContain('<h2><bdi>ACME public status</bdi> <span class="impact"');
    expect(html).toMatch(
      /<tr data-component="88337a51-852b-48f3-ac8d-840e5f5326a0"><td><bdi>API<\/bdi><\/td><td><span class="impact" style="--c:var\(--major\)">.*major outage<\/span>/,
    );
    expect(html).toContain('no token set');
    expect(html).not.toMatch(/<script|src="http|href="\/\/|@import|url\(/);
  });

  it('escapes what webhooks send', async () => {
    app = await start();
    await post({ meta: { type: 'component_impact_updated', uuid: API, impact: 'major_outage', title: '<img src=x onerror=alert(1)>' } });
    const html = (await request(app.main).get('/')).text;
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
  });

  it('is served on METRICS_PORT alone when it is set, like the state API', async () => {
    app = await start(true);
    expect((await request(app.main).get('/')).status).toBe(404);
    expect((await request(app.main).get('/api/v1/state')).status).toBe(404);
    expect((await request(metricsApp()).get('/')).status).toBe(200);
    expect((await request(metricsApp()).get('/api/v1/state')).status).toBe(200);
  });
});
