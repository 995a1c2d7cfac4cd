import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { faulty } from '../support/faulty-store.js';
import { rawExchange } from '../support/raw-http.js';
import { domainSamples, fixture, makeApp, sampleValue, sqliteStore, type TestApp } from '../support/app.js';

const SEEDS = ['seed-component-impact-updated.json', 'seed-incident-created.json', 'seed-incident-created-example.json', 'seed-maintenance-created.json'];
const COMPONENT_UUID = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';

const componentEvent = (impact: string, extra: Record<string, unknown> = {}) => ({
  text: 'Checkout',
  meta: { title: 'Checkout', uuid: COMPONENT_UUID, type: 'component_impact_updated', impact, created_at: '2026-01-01T10:00:00+03:00', ...extra },
});

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
});

/** The app the running test started (`app` is unset until a test starts one). */
const current = (): TestApp => {
  if (!app) throw new Error('the test started no app');
  return app;
};

const post = (body: unknown, path = '/webhook') => request(current().main).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));
const metrics = async () => (await request(current().main).get('/metrics')).text;
const requestsTotal = (text: string, type: string, outcome: string) => sampleValue(text, 'statusmate_webhook_requests_total', { event_type: type, outcome });

describe('POST /webhook with the seed examples', () => {
  it.each(SEEDS)('accepts %s sent verbatim and commits it', async (name) => {
    app = await makeApp();
    const response = await post(fixture(name));
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('applied');
    expect(app.commits()).toBe(1);
  });

  it('turns all seed examples into the documented metrics', async () => {
    app = await makeApp();
    for (const name of SEEDS) expect((await post(fixture(name))).status).toBe(200);
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: COMPONENT_UUID, component: 'Component Name' })).toBe(1);
    expect(sampleValue(text, 'statusmate_component_impact', { component_uuid: COMPONENT_UUID, impact: 'under_maintenance' })).toBe(1);
    expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: '88337a51-852b-48f3-ac8d-840e5f5326a0' })).toBe(2);
    // The general example names its status page; the others fall back to the default.
    expect(sampleValue(text, 'statusmate_incidents_active', { status_page: '0935e96c-34b6-46e8-82cb-def6d3d74d9c' })).toBe(1);
    expect(sampleValue(text, 'statusmate_incidents_active', { status_page: 'default' })).toBe(1);
    expect(sampleValue(text, 'statusmate_incident_info', { title: 'Incident title' })).toBe(1);
    expect(sampleValue(text, 'statusmate_maintenances_active', { status_page: 'default', state: 'scheduled' })).toBe(1);
    expect(sampleValue(text, 'statusmate_maintenance_scheduled_start_timestamp_seconds')).toBe(Date.parse('2023-05-19T17:43:00+03:00') / 1000);
    expect(requestsTotal(text, 'incident_created', 'applied')).toBe(2);
  });
});

describe('POST /webhook answers', () => {
  it('200 duplicate for a retry that differs only in delivery_attempt, counted as a retry', async () => {
    app = await makeApp();
    await post(componentEvent('major_outage', { delivery_attempt: 0 }));
    const retry = await post(componentEvent('major_outage', { delivery_attempt: 2 }));
    expect(retry.status).toBe(200);
    expect(retry.body.status).toBe('duplicate');
    const text = await metrics();
    expect(requestsTotal(text, 'component_impact_updated', 'duplicate')).toBe(1);
    expect(sampleValue(text, 'statusmate_webhook_retries_total', { event_type: 'component_impact_updated' })).toBe(1);
  });

  it('200 stale for an event older than the one applied, leaving the state as it was', async () => {
    app = await makeApp();
    await post(componentEvent('major_outage', { created_at: '2026-01-01T12:00:00+03:00' }));
    const old = await post(componentEvent('operational', { created_at: '2026-01-01T11:00:00+03:00' }));
    expect(old.status).toBe(200);
    expect(old.body.status).toBe('stale');
    expect(sampleValue(await metrics(), 'statusmate_component_impact_level')).toBe(4);
  });

  it('200 unsupported for well-formed JSON of an unknown type, logged at warn', async () => {
    app = await makeApp();
    const response = await post({ text: 'x', meta: { type: 'subscriber_added', uuid: 'whatever' } });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('unsupported');
    expect(app.commits()).toBe(0);
    expect(requestsTotal(await metrics(), 'unknown', 'unsupported')).toBe(1);
    expect(app.logs.lines.some((line) => line.level === 'warn' && line.meta_type === 'subscriber_added')).toBe(true);
  });

  it('echoes an unknown meta.type of 100 KB cut to 100 characters, in the answer and the log', async () => {
    app = await makeApp();
    const type = 'x'.repeat(100_000);
    const response = await post({ meta: { type, uuid: 'whatever' } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'unsupported', type: `${'x'.repeat(100)}…` });
    expect(Math.max(...app.logs.raw.map((line) => line.length))).toBeLessThan(1_000);
  });

  it('echoes a long unsupported Content-Type cut to 100 characters', async () => {
    app = await makeApp();
    const response = await request(app.main)
      .post('/webhook')
      .set('Content-Type', `text/${'y'.repeat(5_000)}`)
      .send('<not json>');
    expect(response.status).toBe(415);
    expect(response.text.length).toBeLessThan(400);
  });

  it('400 naming the problem for a body that is not JSON', async () => {
    app = await makeApp();
    const response = await request(app.main).post('/webhook').set('Content-Type', 'application/json').send('{"meta": ');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/not valid JSON/);
    expect(response.body.issues).toEqual([{ path: 'body', message: 'not valid JSON' }]);
  });

  it('415 for a body that is neither JSON nor declared as JSON', async () => {
    app = await makeApp();
    const response = await request(app.main).post('/webhook').set('Content-Type', 'text/plain').send('impact=major_outage');
    expect(response.status).toBe(415);
    expect(response.body.error).toMatch(/application\/json/);
    expect(app.commits()).toBe(0);
  });

  it.each([
    ['a missing meta', { text: 'x' }, 'meta'],
    ['a body that is no object', [1, 2], 'body'],
    ['a missing type', { meta: { uuid: COMPONENT_UUID } }, 'meta.type'],
    ['a malformed uuid', componentEvent('major_outage', { uuid: 'not-a-uuid' }), 'meta.uuid'],
    ['an impact that is no identifier', componentEvent('Major Outage!'), 'meta.impact'],
    ['a time without zone', componentEvent('major_outage', { created_at: '2026-01-01 10:00' }), 'meta.created_at'],
    ['a negative delivery attempt', componentEvent('major_outage', { delivery_attempt: -1 }), 'meta.delivery_attempt'],
    [
      'an incident component without impact',
      { meta: { type: 'incident_created', uuid: COMPONENT_UUID, affected_components: [{ component_details: { component_uuid: COMPONENT_UUID } }] } },
      'meta.affected_components.0.component_details.impact',
    ],
  ])('400 naming the field for %s', async (_what, body, path) => {
    app = await makeApp();
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.issues.map((issue: { path: string }) => issue.path)).toContain(path);
    expect(response.body.error).toContain(path);
    expect(app.commits()).toBe(0);
  });

  it.each([
    ['a missing meta', { text: 'x' }, 'invalid webhook: meta: required'],
    ['a body that is an array', [1, 2], 'invalid webhook: body: must be an object, not an array'],
    [
      'a delivery attempt sent as text',
      componentEvent('major_outage', { delivery_attempt: '1' }),
      'invalid webhook: meta.delivery_attempt: must be a number, not a string',
    ],
  ])("400 saying in words what is wrong with %s, not in the schema library's", async (_what, body, error) => {
    app = await makeApp();
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe(error);
  });

  it("takes a base64 token pasted into ?token= as it is, '+' included, on the webhook and the operator routes", async () => {
    // `openssl rand -base64 32` gives '+', '/' and '='; pasted unencoded into StatusMate's webhook URL,
    // as the README shows, its '+' was read as a space and the webhook answered "wrong webhook token".
    const token = 'q+Z3/kV9+w1=';
    app = await makeApp({ tokens: [token] });
    const pasted = await post(componentEvent('major_outage'), `/webhook?token=${token}`);
    expect([pasted.status, pasted.body.status]).toEqual([200, 'applied']);
    const encoded = await post(componentEvent('operational'), `/webhook?token=${encodeURIComponent(token)}`);
    expect([encoded.status, encoded.body.status]).toEqual([200, 'applied']);
    expect((await request(app.main).get(`/api/v1/state?token=${token}`)).status).toBe(200);
    // Still a token, not a loosened check: another token with the same letters is wrong.
    expect((await post(componentEvent('major_outage'), '/webhook?token=q+Z3/kV9+w2=')).status).toBe(401);
  });

  it('401 without a token or with a wrong one, when tokens are configured', async () => {
    app = await makeApp({ tokens: ['old-token', 'new-token'] });
    expect((await post(componentEvent('major_outage'))).status).toBe(401);
    const wrong = await post(componentEvent('major_outage'), '/webhook?token=guess');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/token/);
    expect(app.commits()).toBe(0);
    expect(requestsTotal(await metrics(), 'unknown', 'unauthorized')).toBe(2);
  });

  it.each([
    ['no token at all', {}, '/webhook', 'no_token', /^no webhook token/],
    ['a Bearer header without a token', { Authorization: 'Bearer ' }, '/webhook', 'no_token', /^no webhook token/],
    ['a wrong Bearer token', { Authorization: 'Bearer not-the-token' }, '/webhook', 'wrong_token', /^wrong webhook token$/],
    ['a wrong ?token=', {}, '/webhook?token=not-the-token', 'wrong_token', /^wrong webhook token$/],
    ['Basic credentials', { Authorization: 'Basic bm90LXRoZS10b2tlbg==' }, '/webhook', 'unsupported_scheme', /^unsupported Authorization scheme/],
    ['a bare token as Authorization', { Authorization: 'not-the-token' }, '/webhook', 'unsupported_scheme', /^unsupported Authorization scheme/],
  ])('401 for %s, whose log line says why without the token, and closes the connection', async (_what, headers, path, reason, message) => {
    app = await makeApp({ tokens: ['the-token'] });
    const response = await request(app.main)
      .post(path)
      .set('Content-Type', 'application/json')
      .set(headers)
      .send(JSON.stringify(componentEvent('major_outage')));
    expect(response.status).toBe(401);
    expect(response.body.error).toMatch(message);
    expect(response.headers.connection).toBe('close');
    const line = app.logs.lines.find((entry) => entry.status === 401);
    expect(line).toMatchObject({ level: 'warn', outcome: 'unauthorized', auth: reason });
    const logged = app.logs.raw.join('\n');
    expect(logged).not.toContain('not-the-token');
    expect(logged).not.toContain('bm90LXRoZS10b2tlbg');
  });

  it('accepts any configured token as Bearer, X-Webhook-Token or ?token=, and never logs it', async () => {
    app = await makeApp({ tokens: ['old-token', 'new-token'] });
    const body = JSON.stringify(componentEvent('major_outage'));
    const bearer = await request(app.main).post('/webhook').set('Content-Type', 'application/json').set('Authorization', 'Bearer new-token').send(body);
    const header = await request(app.main).post('/webhook').set('Content-Type', 'application/json').set('X-Webhook-Token', 'old-token').send(body);
    const query = await request(app.main).post('/webhook?token=new-token&status_page=shop').set('Content-Type', 'application/json').send(body);
    expect([bearer.status, header.status, query.status]).toEqual([200, 200, 200]);
    expect(query.body.status_page).toBe('shop');
    const logged = app.logs.raw.join('\n');
    expect(logged).not.toContain('new-token');
    expect(logged).not.toContain('old-token');
    expect(app.logs.lines.some((line) => line.path === '/webhook' && line.outcome === 'applied')).toBe(true);
  });

  it('accepts webhooks without a token when none is configured', async () => {
    app = await makeApp({ tokens: [] });
    expect((await post(componentEvent('major_outage'))).status).toBe(200);
  });

  it('413 for a body over MAX_BODY_BYTES, declared or streamed', async () => {
    app = await makeApp({ maxBodyBytes: 512 });
    const big = componentEvent('major_outage', { title: 'x'.repeat(2000) });
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(declared.body.error).toMatch(/MAX_BODY_BYTES/);
    const { main } = app;
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(main).post('/webhook').set('Content-Type', 'application/json').set('Transfer-Encoding', 'chunked');
      req.write(JSON.stringify(big).slice(0, 400));
      req.write(JSON.stringify(big).slice(400));
      req.end((error, response) => (error ? reject(error as Error) : resolve(response.status)));
    });
    expect(streamed).toBe(413);
    expect(app.commits()).toBe(0);
    expect(requestsTotal(await metrics(), 'unknown', 'too_large')).toBe(2);
  });

  it('503 when the store cannot append, leaving the state unchanged, and 200 once it can', async () => {
    const store = faulty(sqliteStore());
    app = await makeApp({ store });
    store.failWrites('SQLite append failed: database or disk is full');
    const refused = await post(componentEvent('major_outage'));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(/retry/);
    expect(refused.body).not.toHaveProperty('stack');
    // One line, the request's, saying why, without a stack: StatusMate's retries during an outage
    // of the store are expected, not bugs.
    const lines = app.logs.lines.filter((line) => line.path === '/webhook' || String(line.msg).startsWith('event not committed'));
    expect(lines).toEqual([expect.objectContaining({ status: 503, error: expect.stringMatching(/^store failed: .*disk is full/) })]);
    expect(JSON.stringify(lines)).not.toContain('stack');
    expect(app.ingestor.state.componentCount).toBe(0);
    const text = await metrics();
    expect(text).not.toContain('statusmate_component_impact_level{');
    expect(requestsTotal(text, 'component_impact_updated', 'error')).toBe(1);
    store.heal();
    const retried = await post(componentEvent('major_outage', { delivery_attempt: 1 }));
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('applied');
  });

  it('reports not ready while appends fail, and ready again once the store takes a write, with no restart and no webhook', async () => {
    const store = faulty(sqliteStore());
    app = await makeApp({ store });
    expect((await request(app.main).get('/readyz')).status).toBe(200);
    store.failWrites('SQLite append failed: database or disk is full');
    expect((await post(componentEvent('major_outage'))).status).toBe(503);
    const ready = await request(app.main).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'store unavailable', reason: expect.stringContaining('the store refuses writes') });
    expect(sampleValue(await metrics(), 'statusmate_store_up')).toBe(0);
    // The real error, once, however many appends and probes fail.
    expect((await post(componentEvent('partial_outage'))).status).toBe(503);
    expect(app.logs.lines.filter((line) => line.msg === 'the store refuses writes: not ready until a write succeeds')).toEqual([
      expect.objectContaining({ level: 'error', err: expect.stringMatching(/disk is full/) }),
    ]);
    store.heal();
    expect((await request(app.main).get('/readyz')).status).toBe(200);
    expect(sampleValue(await metrics(), 'statusmate_store_up')).toBe(1);
    expect(app.logs.lines.some((line) => line.level === 'info' && line.msg === 'the store takes writes again')).toBe(true);
  });

  it('200 refused_limit for a new component past MAX_COMPONENTS, logged and counted', async () => {
    app = await makeApp({ maxComponents: 1 });
    await post(componentEvent('major_outage'));
    const refused = await post(componentEvent('major_outage', { uuid: '33333333-3333-4333-8333-333333333333' }));
    expect(refused.status).toBe(200);
    expect(refused.body.status).toBe('refused_limit');
    expect(app.ingestor.state.componentCount).toBe(1);
    expect(requestsTotal(await metrics(), 'component_impact_updated', 'refused_limit')).toBe(1);
    expect(app.logs.lines.some((line) => line.level === 'warn' && line.limit === 'components' && line.max === 1)).toBe(true);
    expect(sampleValue(await metrics(), 'statusmate_limit_refusals_total', { limit: 'components' })).toBe(1);
    expect(sampleValue(await metrics(), 'statusmate_limit_refusals_total', { limit: 'active_incidents' })).toBe(0);
  });

  it('keeps an unknown impact at level -1 and logs it at warn', async () => {
    app = await makeApp();
    expect((await post(componentEvent('partially_degraded'))).status).toBe(200);
    expect(sampleValue(await metrics(), 'statusmate_component_impact_level')).toBe(-1);
    expect(app.logs.lines.some((line) => line.level === 'warn' && line.impact === 'partially_degraded')).toBe(true);
  });

  it('405 for other methods on /webhook and a JSON 404 elsewhere', async () => {
    app = await makeApp();
    const get = await request(app.main).get('/webhook');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const missing = await request(app.main).get('/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/no route/);
  });

  it('405 naming the method, with Allow, for another method on every GET route, OPTIONS included, on both ports', async () => {
    app = await makeApp({ tokens: ['t0ken'] });
    for (const path of ['/', '/api/v1/state', '/api/v1/availability', '/metrics', '/healthz', '/readyz']) {
      for (const method of ['delete', 'patch', 'options'] as const) {
        const answer = await request(app.main)[method](path);
        expect([path, method, answer.status, answer.headers.allow, answer.body.error]).toEqual([path, method, 405, 'GET, HEAD', `use GET for ${path}`]);
      }
    }
    await app.close();
    app = await makeApp({ separateMetrics: true });
    if (!app.metrics) throw new Error('expected a metrics app');
    expect((await request(app.metrics).delete('/metrics')).status).toBe(405);
    expect((await request(app.main).delete('/metrics')).status).toBe(404);
  });

  it('serves POST on every spelling Express would route to /webhook, and only those', async () => {
    app = await makeApp();
    const body = JSON.stringify(componentEvent('major_outage'));
    const upper = await request(app.main).post('/WEBHOOK/?status_page=shop').set('Content-Type', 'application/json').send(body);
    expect(upper.status).toBe(200);
    expect(upper.body).toMatchObject({ status: 'applied', status_page: 'shop' });
    expect(app.logs.lines.some((line) => line.path === '/WEBHOOK/' && line.outcome === 'applied' && line.status === 200)).toBe(true);
    const put = await request(app.main).put('/Webhook').set('Content-Type', 'application/json').send(body);
    expect(put.status).toBe(405);
    expect((await request(app.main).post('/webhooks').set('Content-Type', 'application/json').send(body)).status).toBe(404);
    expect((await request(app.main).post('/webhook/extra').set('Content-Type', 'application/json').send(body)).status).toBe(404);
  });

  it('applies concurrent distinct events one after another, losing none', async () => {
    app = await makeApp();
    const ids = Array.from({ length: 40 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const responses = await Promise.all(ids.map((uuid) => post({ meta: { type: 'component_impact_updated', uuid, impact: 'degraded_performance' } })));
    expect(responses.every((response) => response.status === 200 && response.body.status === 'applied')).toBe(true);
    expect(app.ingestor.state.componentCount).toBe(40);
  });
});

describe('payload shapes', () => {
  it('reads type-specific fields from meta.payload, with fields directly under meta winning', async () => {
    app = await makeApp();
    const response = await post({
      meta: {
        type: 'component_impact_updated',
        uuid: COMPONENT_UUID,
        impact: 'partial_outage',
        payload: { impact: 'operational', title: 'From payload', status_page: 'nested' },
      },
    });
    expect(response.status).toBe(200);
    const text = await metrics();
    expect(sampleValue(text, 'statusmate_component_impact_level', { status_page: 'nested', component: 'From payload' })).toBe(3);
  });

  it('names the status page from ?status_page=, else the payload, else DEFAULT_STATUS_PAGE', async () => {
    app = await makeApp({ defaultStatusPage: 'fallback' });
    const both = await post(componentEvent('major_outage', { status_page: 'from-body' }), '/webhook?status_page=from-query');
    expect(both.body.status_page).toBe('from-query');
    await post(componentEvent('major_outage', { uuid: '11111111-1111-4111-8111-111111111111', status_page: 'from-body' }));
    await post(componentEvent('major_outage', { uuid: '22222222-2222-4222-8222-222222222222' }));
    const pages = [...app.ingestor.state.pages.keys()].sort();
    expect(pages).toEqual(['fallback', 'from-body', 'from-query']);
  });

  it('refuses ?status_page= given twice with 400 naming it, and stores nothing', async () => {
    app = await makeApp();
    const twice = await post(componentEvent('major_outage'), '/webhook?status_page=shop&status_page=blog');
    expect(twice.status).toBe(400);
    expect(twice.body).toEqual({
      error: 'query parameter status_page given more than once: give one',
      issues: [{ path: 'query.status_page', message: 'given more than once' }],
    });
    expect(app.ingestor.state.pages.size).toBe(0);
  });

  it.each(['statuspage', 'status-page', 'statusPage', 'page'])(
    'refuses a parameter it does not know (?%s=shop) with 400 naming it, rather than label the event with the default page for good',
    async (name) => {
      app = await makeApp();
      const misspelt = await post(componentEvent('major_outage'), `/webhook?${name}=shop`);
      expect(misspelt.status).toBe(400);
      expect(misspelt.body).toEqual({
        error: `unknown query parameter "${name}": the webhook URL takes status_page and token`,
        issues: [{ path: `query.${name}`, message: 'unknown parameter (status_page, token)' }],
      });
      expect(app.ingestor.state.pages.size).toBe(0);
      expect((await post(componentEvent('major_outage'), '/webhook?status_page=shop&token=')).status).toBe(200);
    },
  );
});

describe('a request-target in absolute form (RFC 9112, 3.2.2), as a proxy may send it', () => {
  it('routes POST http://host/webhook to the webhook, with its query', async () => {
    app = await makeApp();
    const body = JSON.stringify(componentEvent('major_outage'));
    const answer = await rawExchange(
      app.main,
      Buffer.from(
        `POST http://localhost/webhook?status_page=shop HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      ),
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'applied', status_page: 'shop' });
  });
});

describe('GET /metrics, /healthz, /readyz', () => {
  it('serves the same metrics gzipped when asked', async () => {
    app = await makeApp();
    await post(fixture('seed-incident-created.json'));
    const plain = await metrics();
    const server = createServer(app.main).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    // Read the raw bytes through node:http: fetch and supertest would decode them for us.
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/metrics', headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    server.close();
    expect(raw.encoding).toBe('gzip');
    const unzipped = gunzipSync(raw.body).toString('utf8');
    expect(domainSamples(unzipped)).toEqual(domainSamples(plain));
    expect(unzipped).toContain('statusmate_exporter_build_info{');
  });

  it('has webhook latency buckets up to 10 s, past the 5 s a commit may wait for a SQLite lock', async () => {
    app = await makeApp();
    await post(componentEvent('major_outage'));
    const text = await metrics();
    const bounds = text
      .split('\n')
      .filter((line) => line.startsWith('statusmate_webhook_request_duration_seconds_bucket{'))
      .map((line) => /le="([^"]+)"/.exec(line)?.[1]);
    expect(bounds.slice(-4)).toEqual(['2.5', '5', '10', '+Inf']);
    expect(sampleValue(text, 'statusmate_webhook_request_duration_seconds_bucket', { le: '10' })).toBe(1);
  });

  it('answers /healthz always and /readyz only while the store answers', async () => {
    app = await makeApp();
    expect((await request(app.main).get('/healthz')).status).toBe(200);
    expect((await request(app.main).get('/readyz')).status).toBe(200);
    await app.store.close();
    const ready = await request(app.main).get('/readyz');
    expect(ready.status).toBe(503);
    expect(sampleValue(await metrics(), 'statusmate_store_up')).toBe(0);
  });

  it('serves /metrics only on the metrics app when METRICS_PORT separates them', async () => {
    app = await makeApp({ separateMetrics: true });
    expect((await request(app.main).get('/metrics')).status).toBe(404);
    if (!app.metrics) throw new Error('expected a metrics app');
    const response = await request(app.metrics).get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect((await request(app.metrics).post('/webhook')).status).toBe(404);
  });

  it('says which port serves a route asked of the other one, rather than that there is no such route', async () => {
    app = await makeApp({ separateMetrics: true });
    if (!app.metrics) throw new Error('expected a metrics app');
    for (const path of ['/metrics', '/', '/api/v1/state', '/api/v1/availability']) {
      const answer = await request(app.main).get(path);
      expect([path, answer.status, answer.body]).toEqual([path, 404, { error: `GET ${path} is served on METRICS_PORT, not on this port`, issues: [] }]);
    }
    expect((await request(app.main).post('/-/forget')).body.error).toBe('POST /-/forget is served on METRICS_PORT, not on this port');
    expect((await request(app.metrics).post('/webhook')).body.error).toBe('POST /webhook is served on PORT, not on this port');
    expect((await request(app.metrics).post('/alertmanager')).body.error).toBe('POST /alertmanager is served on PORT, not on this port');
    expect((await request(app.main).get('/nosuch')).body.error).toBe('no route for GET /nosuch');
    // The route's own method: METRICS_PORT has no POST / either, and a webhook posted to the bare host belongs on /webhook.
    expect((await request(app.main).delete('/-/reload')).body.error).toBe('POST /-/reload is served on METRICS_PORT, not on this port');
    expect((await request(app.metrics).get('/webhook')).body.error).toBe('POST /webhook is served on PORT, not on this port');
    expect((await request(app.main).post('/')).body.error).toBe('GET / is served on METRICS_PORT, not on this port; StatusMate webhooks go to POST /webhook');
  });

  it('tells a webhook posted to / that webhooks go to POST /webhook', async () => {
    app = await makeApp({ tokens: ['t0ken'] });
    const answer = await request(app.main)
      .post('/?token=t0ken')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(fixture('seed-component-impact-updated.json')));
    expect([answer.status, answer.headers.allow, answer.body]).toEqual([
      405,
      'GET, HEAD',
      { error: 'use GET for /; StatusMate webhooks go to POST /webhook', issues: [] },
    ]);
    expect(app.commits()).toBe(0);
  });
});
