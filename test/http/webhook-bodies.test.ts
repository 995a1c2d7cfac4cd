import { request as httpRequest, createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { makeApp, sampleValue, type TestApp } from '../support/app.js';
import { chunkedPost, rawExchange } from '../support/raw-http.js';

// What a sender (or someone pretending to be one) can put in a body and its headers: each is
// either taken as the JSON it is, or refused with a 4xx naming the problem, and nothing refused
// is committed.

const COMPONENT = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const OTHER = '0b6f3f3e-7a55-4e55-9c6e-2f1d1c9a3b21';
const LIMIT = 4_096;

const event = (extra: Record<string, unknown> = {}) => ({
  text: 'Checkout',
  meta: { uuid: COMPONENT, type: 'component_impact_updated', impact: 'major_outage', created_at: '2026-01-01T10:00:00+03:00', ...extra },
});

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const start = async () => {
  app = await makeApp({ maxBodyBytes: LIMIT });
  return app;
};
/** Sends these exact bytes (supertest would JSON-encode a Buffer sent as application/json). */
async function postBytes(
  listener: RequestListener,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: { error?: string; status?: string } }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/webhook', headers: { ...headers, 'Content-Length': String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string } }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const level = async (a: TestApp, uuid = COMPONENT) =>
  sampleValue((await request(a.metrics ?? a.main).get('/metrics')).text, 'statusmate_component_impact_level', { component_uuid: uuid });

describe('prototype keys in a webhook body', () => {
  it('takes meta.__proto__ as ordinary data: uuid, impact and status_page are never read from it', async () => {
    const a = await start();
    // Without the fix, the object under __proto__ became the prototype of the merged fields.
    const body = `{"meta":{"type":"component_impact_updated","payload":{},"__proto__":{"uuid":"${COMPONENT}","impact":"major_outage","status_page":"victim"}}}`;
    const response = await postBytes(a.main, { 'Content-Type': 'application/json' }, Buffer.from(body));
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/meta\.uuid/);
    expect(a.commits()).toBe(0);
  });

  it('takes payload.__proto__, constructor and prototype as ordinary keys of a valid event', async () => {
    const a = await start();
    const body = `{"meta":{"type":"component_impact_updated","payload":{"__proto__":{"impact":"operational"},"constructor":1,"prototype":2,"uuid":"${COMPONENT}","impact":"major_outage"}}}`;
    const response = await postBytes(a.main, { 'Content-Type': 'application/json' }, Buffer.from(body));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'applied', status_page: 'default' });
    expect(await level(a)).toBe(4);
    expect(({} as Record<string, unknown>).impact).toBeUndefined();
  });
});

describe('a key given twice in one object of a webhook body', () => {
  // JSON.parse keeps a key's last value (RFC 8259 leaves it to the parser), as the README says:
  // a sender, or a proxy that appends a field, decides the event by the last one it wrote.
  it('takes the last impact', async () => {
    const a = await start();
    const body = `{"text":"Checkout","meta":{"uuid":"${COMPONENT}","type":"component_impact_updated","impact":"major_outage","impact":"degraded_performance"}}`;
    const response = await postBytes(a.main, { 'Content-Type': 'application/json' }, Buffer.from(body));
    expect(response.status).toBe(200);
    expect(await level(a)).toBe(2);
  });

  it('takes the last meta.type: an incident_created followed by component_impact_updated is a component impact', async () => {
    const a = await start();
    const body = `{"text":"Checkout","meta":{"type":"incident_created","uuid":"${COMPONENT}","impact":"major_outage","type":"component_impact_updated"}}`;
    const response = await postBytes(a.main, { 'Content-Type': 'application/json' }, Buffer.from(body));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'applied', type: 'component_impact_updated' });
    expect(await level(a)).toBe(4);
  });
});

describe('Content-Type and charset', () => {
  it.each([['text/plain'], ['text/plain; charset=utf-8'], ['application/octet-stream'], [undefined]])(
    'accepts a body that parses as JSON sent as %s',
    async (type) => {
      const a = await start();
      const response = await postBytes(a.main, type === undefined ? {} : { 'Content-Type': type }, Buffer.from(JSON.stringify(event())));
      expect(response.status).toBe(200);
      expect(await level(a)).toBe(4);
    },
  );

  it.each([['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x']])(
    'keeps a clear 415 for a form (%s), even one holding JSON',
    async (type) => {
      const a = await start();
      const response = await request(a.main).post('/webhook').set('Content-Type', type).send(JSON.stringify(event()));
      expect(response.status).toBe(415);
      expect(response.body.error).toBe(
        `unsupported content type ${JSON.stringify(type)}: a form is refused, JSON or not (it is what a page of another site can post); send the JSON as application/json (curl's --data sends a form: add -H 'Content-Type: application/json')`,
      );
      expect(a.commits()).toBe(0);
    },
  );

  it('refuses a charset other than utf-8 with a 415 naming it', async () => {
    const a = await start();
    const body = Buffer.from(JSON.stringify(event({ title: 'Caf\u00e9' })), 'latin1');
    const response = await postBytes(a.main, { 'Content-Type': 'application/json; charset=ISO-8859-1' }, body);
    expect(response.status).toBe(415);
    expect(response.body.error).toBe('unsupported charset "iso-8859-1": send JSON in utf-8');
    expect(a.commits()).toBe(0);
  });

  it('refuses bytes that are not UTF-8 instead of turning them into U+FFFD', async () => {
    const a = await start();
    const body = Buffer.from(JSON.stringify(event({ title: 'Caf\u00e9' })), 'latin1');
    const response = await postBytes(a.main, { 'Content-Type': 'application/json' }, body);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/not valid UTF-8/);
    expect(a.commits()).toBe(0);
  });

  it('skips a UTF-8 byte order mark', async () => {
    const a = await start();
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(event()))]);
    const response = await postBytes(a.main, { 'Content-Type': 'application/json' }, body);
    expect(response.status).toBe(200);
    expect(await level(a)).toBe(4);
  });
});

describe('Content-Encoding', () => {
  it.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['deflate', deflateRawSync],
  ])('decodes a %s body', async (coding, encode) => {
    const a = await start();
    const body = encode(Buffer.from(JSON.stringify(event())));
    const response = await postBytes(a.main, { 'Content-Type': 'application/json', 'Content-Encoding': coding }, body);
    expect(response.status).toBe(200);
    expect(await level(a)).toBe(4);
  });

  it('answers 413 to a decompression bomb: a small body whose output passes MAX_BODY_BYTES', async () => {
    const a = await start();
    const bomb = gzipSync(Buffer.from(`{"meta":{"type":"component_impact_updated","text":"${' '.repeat(2 * 1024 * 1024)}"}}`));
    expect(bomb.length).toBeLessThan(LIMIT);
    const response = await postBytes(a.main, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, bomb);
    expect(response.status).toBe(413);
    expect(response.body.error).toBe(`body larger than MAX_BODY_BYTES (${LIMIT} bytes)`);
    expect(a.commits()).toBe(0);
  });

  it('refuses a plain body labelled gzip with a 400 that echoes no binary', async () => {
    const a = await start();
    const response = await request(a.main)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send(JSON.stringify(event()));
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^body is not valid gzip/);
    expect(a.commits()).toBe(0);
  });

  it.each([['br'], ['compress'], ['gzip, br']])('answers 415 naming an unknown encoding (%s)', async (coding) => {
    const a = await start();
    const response = await request(a.main).post('/webhook').set('Content-Type', 'application/json').set('Content-Encoding', coding).send('{}');
    expect(response.status).toBe(415);
    expect(response.body.error).toBe(`unsupported Content-Encoding ${JSON.stringify(coding)}: send gzip, deflate or none`);
  });

  it('loses no acknowledged event among refused ones', async () => {
    const a = await start();
    const ok = await postBytes(a.main, { 'Content-Encoding': 'gzip' }, gzipSync(JSON.stringify(event({ uuid: OTHER }))));
    expect(ok.status).toBe(200);
    await request(a.main).post('/webhook').set('Content-Encoding', 'br').send('x');
    await request(a.main).post('/webhook').set('Content-Type', 'application/json; charset=latin1').send('{}');
    expect(await level(a, OTHER)).toBe(4);
    expect(a.commits()).toBe(1);
  });
});

describe('Transfer-Encoding', () => {
  const post = (transferEncoding: string, body: Buffer) =>
    chunkedPost('/webhook', { 'Content-Type': 'application/json', 'Transfer-Encoding': transferEncoding }, body);

  it('takes a chunked body', async () => {
    const a = await start();
    const response = await rawExchange(a.main, post('chunked', Buffer.from(JSON.stringify(event()))));
    expect(response.status).toBe(200);
    expect(await level(a)).toBe(4);
  });

  // Node decodes only the chunks: a coding before them reached the JSON parser still compressed,
  // and was answered 400 "body is not valid UTF-8" as if the sender's JSON were broken.
  it.each([['gzip, chunked'], ['GZIP,chunked'], ['deflate, chunked']])('answers 415 naming a transfer coding it does not decode (%s)', async (coding) => {
    const a = await start();
    const body = (coding.toLowerCase().startsWith('gzip') ? gzipSync : deflateSync)(Buffer.from(JSON.stringify(event())));
    const response = await rawExchange(a.main, post(coding, body));
    expect(response.status).toBe(415);
    expect(response.headers).toMatch(/\r\ncontent-type: application\/json/i);
    expect(JSON.parse(response.body)).toEqual({
      error: `unsupported Transfer-Encoding ${JSON.stringify(coding)}: send the body chunked or with a Content-Length, compressed with Content-Encoding gzip or deflate if at all`,
      issues: [{ path: 'headers.transfer-encoding', message: 'must be chunked or absent' }],
    });
    expect(a.commits()).toBe(0);
  });
});

describe('a webhook posted by a page of another site', () => {
  it('is refused 403 without a token, where a text/plain body would otherwise change the state', async () => {
    const a = await start();
    const body = Buffer.from(JSON.stringify(event()));
    const crossSite = await postBytes(
      a.main,
      { 'Content-Type': 'text/plain;charset=UTF-8', Origin: 'https://hostile.example', 'Sec-Fetch-Site': 'cross-site' },
      body,
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error).toContain('Sec-Fetch-Site: cross-site');
    const origin = await postBytes(a.main, { 'Content-Type': 'text/plain', Origin: 'https://hostile.example' }, body);
    expect(origin.status).toBe(403);
    expect(origin.body.error).toContain('https://hostile.example');
    expect(await level(a)).toBeUndefined();
    // StatusMate, curl and the CLI send neither header.
    expect((await postBytes(a.main, { 'Content-Type': 'application/json' }, body)).status).toBe(200);
    expect(await level(a)).toBe(4);
  });

  it('is taken with a valid token, which no page of another site can know (a relay may add an Origin)', async () => {
    app = await makeApp({ maxBodyBytes: LIMIT, tokens: ['s3cret'] });
    const body = Buffer.from(JSON.stringify(event()));
    const relayed = await postBytes(app.main, { 'Content-Type': 'application/json', Origin: 'https://relay.example', Authorization: 'Bearer s3cret' }, body);
    expect(relayed.status).toBe(200);
    expect(await level(app)).toBe(4);
  });
});
