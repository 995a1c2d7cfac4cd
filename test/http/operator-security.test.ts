import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stateViewSchema } from '../../src/api/state.js';
import { loadConfig } from '../../src/config.js';
import { allowHosts } from '../../src/http/security.js';
import { makeApp, sampleValue, tempDir, type TestApp, type TestAppOptions } from '../support/app.js';

// The operator routes (/, /api/v1/state, /-/reload) as an attacker meets them: on the webhook
// port, which may face the internet, and from a browser led by a hostile page.

const ACME_UUID = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const PAGES = `status_pages:\n  - id: acme\n    uuid: ${ACME_UUID}\n    token_env: ACME_WEBHOOK_TOKEN\n    components:\n      - uuid: ${API}\n        name: API\n`;
const ENV = { ACME_WEBHOOK_TOKEN: 'acme-token' };

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function pagesFile(text = PAGES): string {
  const file = join(tempDir(), 'status-pages.yaml');
  writeFileSync(file, text);
  return file;
}

/** The app, with counters of the work the operator routes do: views built (inventory read) and reloads run. */
async function start(options: TestAppOptions = {}) {
  const a = await makeApp({ statusPagesFile: pagesFile(), env: ENV, tokens: ['all-pages'], ...options });
  const work = { views: 0, reloads: 0 };
  const current = a.inventory.current.bind(a.inventory);
  a.inventory.current = () => {
    work.views += 1;
    return current();
  };
  const reload = a.inventory.reload.bind(a.inventory);
  a.inventory.reload = () => {
    work.reloads += 1;
    return reload();
  };
  app = a;
  return { a, work };
}

const event = (impact: string) => ({ meta: { type: 'component_impact_updated', uuid: API, impact, status_page: ACME_UUID } });
const post = (a: TestApp, body: unknown, token = 'all-pages') =>
  request(a.main).post('/webhook').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(body));
const level = async (a: TestApp) =>
  sampleValue((await request(a.metrics ?? a.main).get('/metrics')).text, 'statusmate_component_impact_level', { component_uuid: API });

const ROUTES = [
  ['GET', '/'],
  ['GET', '/api/v1/state'],
  ['POST', '/-/reload'],
] as const;
const send = (a: TestApp, method: 'GET' | 'POST', path: string, app_ = a.main) => (method === 'GET' ? request(app_).get(path) : request(app_).post(path));

describe('operator routes on the webhook port', () => {
  it.each(ROUTES)('refuses an anonymous %s %s with 401 before doing any work', async (method, path) => {
    const { a, work } = await start();
    const response = await send(a, method, path);
    expect(response.status).toBe(401);
    expect(response.body.error).toMatch(/needs a WEBHOOK_TOKEN token/);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(work).toEqual({ views: 0, reloads: 0 });
    // The operator reading the log sees why, as the client does.
    expect(a.logs.lines.find((line) => line.path === path && line.status === 401)).toMatchObject({ level: 'warn', error: response.body.error });
  });

  it.each(['/', '/api/v1/state'])('tells a browser opening GET %s without a token how to give one, and that way opens it', async (path) => {
    const { a } = await start();
    const response = await request(a.main).get(path);
    expect(response.body.error).toContain('(from a browser, add ?token=<token> to the URL)');
    expect((await request(a.main).get(`${path}?token=all-pages`)).status).toBe(200);
  });

  it.each(['/', '/api/v1/state', '/api/v1/availability'])(
    'opens GET %s to the token in X-Webhook-Token, as README says, and not to a page token there',
    async (path) => {
      const { a } = await start();
      expect((await request(a.main).get(path).set('X-Webhook-Token', 'all-pages')).status).toBe(200);
      expect((await request(a.main).get(path).set('X-Webhook-Token', 'acme-token')).status).toBe(401);
    },
  );

  it.each(ROUTES)('refuses %s %s with a page token or a wrong token', async (method, path) => {
    const { a, work } = await start();
    for (const token of ['acme-token', 'wrong']) {
      const response = await send(a, method, path).set('Authorization', `Bearer ${token}`);
      expect(response.status).toBe(401);
      expect(response.body.error).toMatch(/^wrong token: .* needs a WEBHOOK_TOKEN token \(a page's own token does not open it\)$/);
    }
    expect(work).toEqual({ views: 0, reloads: 0 });
  });

  it('carries a ?token= that opens the landing page into its links, and echoes no other', async () => {
    const { a } = await start();
    const opened = await request(a.main).get('/?token=all-pages');
    expect(opened.status).toBe(200);
    expect(opened.text).toContain('<a href="api/v1/state?token=all-pages">');
    const { a: separate } = await start({ separateMetrics: true });
    if (!separate.metrics) throw new Error('expected a metrics app');
    // METRICS_PORT needs no token: a made-up one is neither echoed nor a rendering of its own.
    const madeUp = await request(separate.metrics).get('/?token=made-up-%3Cb%3E');
    expect(madeUp.status).toBe(200);
    expect(madeUp.text).not.toContain('made-up');
    expect(madeUp.text).toContain('<a href="api/v1/state">');
  });

  it('never serves a landing page carrying one token to a request that opened it with another, or with none', async () => {
    const { a } = await start({ tokens: ['old-token', 'new-token'] });
    // Every rendering appears to cost 50 ms, so that each may be reused for a second (REUSE_FACTOR).
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (clock += 50));
    try {
      const operator = await request(a.main).get('/?token=new-token');
      expect(operator.text).toContain('<a href="api/v1/state?token=new-token">');
      // The holder of the token being rotated out, at once after, gets its own token in the links, never the new one.
      const other = await request(a.main).get('/?token=old-token');
      expect(other.status).toBe(200);
      expect(other.text).not.toContain('new-token');
      expect(other.text).toContain('<a href="api/v1/state?token=old-token">');
      const header = await request(a.main).get('/').set('Authorization', 'Bearer old-token');
      expect(header.status).toBe(200);
      expect(header.text).not.toMatch(/token=/);
    } finally {
      now.mockRestore();
    }
  });

  it.each(ROUTES)('serves %s %s with a WEBHOOK_TOKEN token, as a header or ?token=', async (method, path) => {
    const { a } = await start();
    expect((await send(a, method, path).set('Authorization', 'Bearer all-pages')).status).toBe(200);
    expect((await send(a, method, `${path}?token=all-pages`)).status).toBe(200);
  });

  it.each(ROUTES)('refuses %s %s with 403 when only pages have tokens (no WEBHOOK_TOKEN)', async (method, path) => {
    const { a, work } = await start({ tokens: [] });
    const response = await send(a, method, path).set('Authorization', 'Bearer acme-token');
    expect(response.status).toBe(403);
    expect(response.body.error).toMatch(/set METRICS_PORT/);
    expect(work).toEqual({ views: 0, reloads: 0 });
  });

  it('serves the reads but not the reload when no token is configured at all', async () => {
    const { a, work } = await start({ tokens: [], statusPagesFile: pagesFile('status_pages:\n  - id: acme\n'), env: {} });
    expect((await request(a.main).get('/api/v1/state')).status).toBe(200);
    expect((await request(a.main).get('/')).status).toBe(200);
    const reload = await request(a.main).post('/-/reload');
    expect(reload.status).toBe(403);
    expect(reload.body.error).toMatch(/or send SIGHUP/);
    expect(work.reloads).toBe(0);
    // SIGHUP reloads; it forgets nothing, so the forget's refusal does not offer it.
    const forgot = await request(a.main).post('/-/forget').send({ status_page: 'acme' });
    expect(forgot.status).toBe(403);
    expect(forgot.body.error).toMatch(/set METRICS_PORT/);
    expect(forgot.body.error).not.toMatch(/SIGHUP/);
  });

  it('needs no token on METRICS_PORT, and is not served on the webhook port then', async () => {
    const { a } = await start({ separateMetrics: true });
    if (!a.metrics) throw new Error('expected a metrics app');
    for (const [method, path] of ROUTES) {
      expect((await send(a, method, path, a.metrics)).status).toBe(200);
      expect((await send(a, method, path).set('Authorization', 'Bearer all-pages')).status).toBe(404);
    }
  });
});

describe('cross-site requests to POST /-/reload', () => {
  it.each([
    ['a text/plain body', { 'Content-Type': 'text/plain' }, 415],
    ['a form body', { 'Content-Type': 'application/x-www-form-urlencoded' }, 415],
    ['a multipart form', { 'Content-Type': 'multipart/form-data; boundary=x' }, 415],
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }, 403],
    ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }, 403],
    ['an Origin of another site', { Origin: 'https://evil.example' }, 403],
    ['Origin: null', { Origin: 'null' }, 403],
  ])('refuses %s, reloading nothing', async (_name, headers: Record<string, string>, status) => {
    const { a, work } = await start({ separateMetrics: true });
    if (!a.metrics) throw new Error('expected a metrics app');
    const response = await request(a.metrics)
      .post('/-/reload')
      .set(headers)
      .send(headers['Content-Type'] ? 'a=1' : undefined);
    expect(response.status).toBe(status);
    expect(response.body.error).toMatch(/takes no body|cross-site request refused|cross-origin request refused/);
    expect(work.reloads).toBe(0);
  });

  it('names a form body in a sentence that reads', async () => {
    const { a } = await start({ separateMetrics: true });
    if (!a.metrics) throw new Error('expected a metrics app');
    const response = await request(a.metrics).post('/-/reload').set('Content-Type', 'application/x-www-form-urlencoded').send('a=1');
    expect(response.body.error).toBe('/-/reload takes no body: an application/x-www-form-urlencoded POST is what a page of another site sends');
    // Express routes /-/Reload/ to /-/reload: the sentence names the route it reached.
    const spelled = await request(a.metrics).post('/-/Reload/').set('Content-Type', 'text/plain').send('a=1');
    expect(spelled.status).toBe(415);
    expect(spelled.body.error).toBe('/-/reload takes no body: a text/plain POST is what a page of another site sends');
  });

  it('takes a same-origin POST and one with no browser headers (curl)', async () => {
    const { a, work } = await start({ separateMetrics: true });
    if (!a.metrics) throw new Error('expected a metrics app');
    expect((await request(a.metrics).post('/-/reload')).status).toBe(200);
    expect(
      (
        await request(a.metrics)
          .post('/-/reload')
          .set('Host', 'exporter.local:9090')
          .set('Origin', 'http://exporter.local:9090')
          .set('Sec-Fetch-Site', 'same-origin')
      ).status,
    ).toBe(200);
    expect(work.reloads).toBe(2);
  });
});

describe('a body sent to POST /-/reload', () => {
  // The reload reads STATUS_PAGES_FILE as it is on disk and takes no argument: a body (a path, a
  // file's content) would otherwise be dropped silently and answered "reloaded", as if it counted.
  it.each([
    ['a JSON object naming another file', '{"file":"/etc/passwd"}'],
    ['an empty JSON object', '{}'],
    ['text that is not JSON', '{nope'],
  ])('refuses %s with 400 naming the problem, reloading nothing', async (_name, body) => {
    const { a, work } = await start({ separateMetrics: true });
    if (!a.metrics) throw new Error('expected a metrics app');
    const response = await request(a.metrics).post('/-/reload').set('Content-Type', 'application/json').send(body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: `POST /-/reload takes no body (got ${Buffer.byteLength(body)} bytes): it reloads STATUS_PAGES_FILE as it is on disk`,
      issues: [],
    });
    expect(work.reloads).toBe(0);
    const line = a.logs.lines.find((l) => l.path === '/-/reload');
    expect(line).toMatchObject({ level: 'warn', status: 400, error: response.body.error });
    expect(JSON.stringify(line)).not.toContain('stack');
  });

  it('refuses a chunked body, whose length no header gives', async () => {
    const { a, work } = await start({ separateMetrics: true });
    if (!a.metrics) throw new Error('expected a metrics app');
    const server = createServer(a.metrics);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      // A body given as a stream goes chunked: no Content-Length.
      const response = await fetch(`http://127.0.0.1:${port}/-/reload`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: Readable.toWeb(Readable.from([Buffer.from('{}')])) as ReadableStream,
        duplex: 'half',
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('POST /-/reload takes no body: it reloads STATUS_PAGES_FILE as it is on disk');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(work.reloads).toBe(0);
  });

  it('refuses a query parameter other than token (?file=…), reloading nothing', async () => {
    const { a, work } = await start();
    const response = await request(a.main).post('/-/reload?token=all-pages&file=%2Fetc%2Fpasswd');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: 'POST /-/reload takes no parameter but ?token= (got "file"): it reloads STATUS_PAGES_FILE as it is on disk',
      issues: [],
    });
    expect(work.reloads).toBe(0);
    expect((await request(a.main).post('/-/reload?token=all-pages')).status).toBe(200);
  });

  it('takes an empty body (Content-Length: 0), as some clients send with every POST', async () => {
    const { a, work } = await start({ separateMetrics: true });
    if (!a.metrics) throw new Error('expected a metrics app');
    const response = await request(a.metrics).post('/-/reload').set('Content-Length', '0');
    expect(response.status).toBe(200);
    expect(work.reloads).toBe(1);
  });
});

describe('browser protections on every answer', () => {
  it.each([
    ['GET /', (a: TestApp) => request(a.main).get('/?token=all-pages')],
    ['GET /api/v1/state', (a: TestApp) => request(a.main).get('/api/v1/state?token=all-pages')],
    ['an anonymous GET /api/v1/state', (a: TestApp) => request(a.main).get('/api/v1/state')],
    ['GET /metrics', (a: TestApp) => request(a.main).get('/metrics')],
    ['GET /healthz', (a: TestApp) => request(a.main).get('/healthz')],
    ['a 404', (a: TestApp) => request(a.main).get('/nothing')],
    ['POST /webhook', (a: TestApp) => post(a, event('major_outage'))],
    ['a refused POST /webhook', (a: TestApp) => request(a.main).post('/webhook').send('{}')],
  ])('%s: no framing, no sniffing, a restrictive CSP', async (_name, send_) => {
    const { a } = await start();
    const response = await send_(a);
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
    expect(response.headers['content-security-policy']).not.toMatch(/script-src/);
  });
});

describe('ALLOWED_HOSTS', () => {
  it('answers 421 to a Host not listed (DNS rebinding), before the app sees it', async () => {
    const { a, work } = await start();
    const guarded = allowHosts(a.main, ['exporter.example.com']);
    const response = await request(guarded).post('/-/reload?token=all-pages').set('Host', 'rebound.attacker.example:9877');
    expect(response.status).toBe(421);
    expect(response.body.error).toBe('Host "rebound.attacker.example" is not one of ALLOWED_HOSTS');
    expect(work.reloads).toBe(0);
    expect((await request(guarded).get('/api/v1/state?token=all-pages').set('Host', 'EXPORTER.example.com.:9877')).status).toBe(200);
    expect((await request(guarded).get('/metrics').set('Host', 'other.example.com')).status).toBe(421);
  });

  it('lets an IP address or localhost through: a rebinding always carries a name (Prometheus scrapes by address)', async () => {
    const { a } = await start();
    const guarded = allowHosts(a.main, ['exporter.example.com']);
    for (const host of ['10.0.0.7:9877', '[fd00::7]:9877', 'localhost:9877', '127.0.0.1']) {
      expect((await request(guarded).get('/metrics').set('Host', host)).status).toBe(200);
    }
  });

  it('keeps probes answering whatever the Host', async () => {
    const { a } = await start();
    const guarded = allowHosts(a.main, ['exporter.example.com']);
    expect((await request(guarded).get('/healthz').set('Host', '10.1.2.3:9877')).status).toBe(200);
    expect((await request(guarded).get('/readyz').set('Host', '10.1.2.3:9877')).status).toBe(200);
  });

  it('is read from the environment as a list of names, and refuses one with a port', () => {
    expect(loadConfig({ ALLOWED_HOSTS: 'exporter.example.com, 10.0.0.7' }).allowedHosts).toEqual(['exporter.example.com', '10.0.0.7']);
    expect(loadConfig({}).allowedHosts).toEqual([]);
    expect(() => loadConfig({ ALLOWED_HOSTS: 'exporter.example.com:9877' })).toThrow('ALLOWED_HOSTS.0: must list host names or IP addresses, without ports');
  });
});

describe('the views are rendered once per state version', () => {
  it('serves the same rendering until a webhook changes the state, and loses no acknowledged event', async () => {
    const { a } = await start();
    const get = async () => stateViewSchema.parse((await request(a.main).get('/api/v1/state?token=all-pages')).body);
    const first = await get();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await get()).generated_at).toBe(first.generated_at);
    expect((await post(a, event('major_outage'))).status).toBe(200);
    // A rendering may be served a little after the state moved on (20 times what it cost, at most
    // 5 s: REUSE_FACTOR in operator-routes.ts), longer on a loaded machine: wait for the next one.
    let after = await get();
    for (let tries = 0; after.generated_at === first.generated_at && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await get();
    }
    expect(after.generated_at).not.toBe(first.generated_at);
    expect(after.status_pages[0]?.components[0]?.impact).toBe('major_outage');
    expect(await level(a)).toBe(4);
  });

  it('answers one page with ?status_page=, and 404 for a page it does not know', async () => {
    const { a } = await start();
    const one = await request(a.main).get('/api/v1/state?token=all-pages&status_page=acme');
    expect(stateViewSchema.parse(one.body).status_pages.map((page) => page.id)).toEqual(['acme']);
    const none = await request(a.main).get('/api/v1/state?token=all-pages&status_page=nope');
    expect(none.status).toBe(404);
    expect(none.body.error).toBe('no status page "nope"');
  });

  it('refuses a parameter it does not read, rather than answering every page as if a misspelt filter applied', async () => {
    const { a } = await start();
    const misspelt = await request(a.main).get('/api/v1/state?token=all-pages&status-page=acme');
    expect(misspelt.status).toBe(400);
    expect(misspelt.body).toEqual({ error: 'invalid query: unknown parameter "status-page" (status_page)', issues: [] });
    const twice = await request(a.main).get('/api/v1/state?token=all-pages&status_page=acme&status_page=nope');
    expect(twice.status).toBe(400);
    expect(twice.body.error).toBe('invalid query: status_page is given more than once');
    const plain = await request(a.main).get('/api/v1/state?token=all-pages');
    expect(plain.status).toBe(200);
  });
});

describe('a reload refused over HTTP', () => {
  it.each([
    [
      'a YAML alias bomb',
      'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nstatus_pages: []\n',
      /not accepted: Excessive alias count/,
    ],
    ['a file that lost its last token_env', 'status_pages:\n  - id: acme\n', /refused: it names no token_env and WEBHOOK_TOKEN is unset/],
    ['a half-written file', 'status_pages:\n  - id: acme\n    token_env: ACME_WEB', /token_env: must be the name of an environment variable ending in _TOKEN/],
  ])('says why for %s, sets the metric to 0 and keeps tokens, inventory and events', async (_name, text, reason) => {
    const file = pagesFile();
    const { a } = await start({ tokens: [], statusPagesFile: file, separateMetrics: true });
    if (!a.metrics) throw new Error('expected a metrics app');
    expect((await post(a, event('major_outage'), 'acme-token')).status).toBe(200);
    writeFileSync(file, text);
    const response = await request(a.metrics).post('/-/reload');
    expect(response.status).toBe(500);
    expect(response.body.error).toMatch(reason);
    const metrics = (await request(a.metrics).get('/metrics')).text;
    expect(sampleValue(metrics, 'statusmate_config_last_reload_successful')).toBe(0);
    expect(sampleValue(metrics, 'statusmate_status_page_info', { status_page: 'acme' })).toBe(1);
    expect(await level(a)).toBe(4);
    // Still closed to anyone without the page's token.
    expect(
      (
        await request(a.main)
          .post('/webhook?status_page=acme')
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(event('operational')))
      ).status,
    ).toBe(401);
    expect(await level(a)).toBe(4);
  });
});
