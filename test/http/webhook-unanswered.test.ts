import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createBoundedServer, MAX_PIPELINED_REQUESTS, PIPELINING_CLOSED } from '../../src/http/connections.js';
import { createLogger } from '../../src/logger.js';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, sampleValue, type TestApp } from '../support/app.js';
import request from 'supertest';

let app: TestApp | undefined;
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await app?.close();
  app = undefined;
  server = undefined;
});

describe('a webhook whose client goes away before the answer', () => {
  it('is logged and listed as unanswered (499, warn), never as a 200', async () => {
    app = await makeApp({ store: new MemoryLog(), tokens: ['s3cret'] });
    server = createServer(app.main);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"meta":');
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    const line = () => app?.logs.lines.find((entry) => entry.msg === 'request' && entry.path === '/webhook');
    for (let i = 0; i < 50 && line() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const logged = line();
    expect(logged).toMatchObject({ level: 'warn', status: 499, outcome: 'invalid', error: 'request body was not received whole' });
    expect(app.logs.lines.filter((entry) => entry.status === 200)).toEqual([]);
  });

  it('is logged and listed as unanswered when it was sent ahead on a connection closed for pipelining too many, though its event was applied', async () => {
    app = await makeApp({ store: new MemoryLog(), tokens: ['s3cret'] });
    server = createBoundedServer(app.main, 10, 'PORT', createLogger('warn', app.logs));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const request = (n: number) => {
      const body = JSON.stringify({
        meta: { type: 'component_impact_updated', uuid: `5f844cb4-32f8-43eb-aa3d-99c925d8ff${String(n).padStart(2, '0')}`, impact: 'major_outage' },
      });
      return `POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    // One more than the bound, in one write: the connection is closed before any is answered.
    socket.write(Array.from({ length: MAX_PIPELINED_REQUESTS + 1 }, (_, n) => request(n)).join(''));
    await closed;
    const lines = () => app?.logs.lines.filter((entry) => entry.msg === 'request' && entry.path === '/webhook') ?? [];
    for (let i = 0; i < 100 && lines().length < MAX_PIPELINED_REQUESTS; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    // The events the exporter read were committed (a retry is answered duplicate); no answer reached the client.
    expect(lines()).toHaveLength(MAX_PIPELINED_REQUESTS);
    // The server closed the connection, not the client: the lines say so.
    for (const line of lines()) expect(line).toMatchObject({ level: 'warn', status: 499, outcome: 'applied', error: PIPELINING_CLOSED });
  });
});

describe('a request to an Express route whose client goes away before the answer', () => {
  it('has its line, 499 and why, not none (POST /alertmanager hung up mid-body)', async () => {
    app = await makeApp({ store: new MemoryLog(), alertmanagerTokens: ['s3cret'] });
    server = createServer(app.main);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    const routed = new Promise((resolve) => server?.once('request', resolve));
    socket.write(
      'POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"version":',
    );
    await routed;
    socket.destroy();
    const lines = () => app?.logs.lines.filter((entry) => entry.msg === 'request' && entry.path === '/alertmanager') ?? [];
    for (let i = 0; i < 50 && lines().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines()).toEqual([expect.objectContaining({ level: 'warn', method: 'POST', status: 499, error: 'the client went away before the answer' })]);
  });
});

describe('a body sent too slowly', () => {
  /**
   * Sends `path`'s head and the start of a body, and once a route has the request, reports Node's
   * request timeout on its connection as Node does after 30 s (emitted here rather than waited
   * for). Resolves with what the client received.
   */
  async function timedOut(path: string): Promise<string> {
    if (!app) throw new Error('no app');
    const bounded = createBoundedServer(app.main, 10, 'PORT', createLogger('warn', app.logs));
    server = bounded;
    const routed = new Promise<IncomingMessage>((resolve) => bounded.once('request', resolve));
    await new Promise<void>((resolve) => bounded.listen(0, '127.0.0.1', resolve));
    const { port } = bounded.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"meta":`);
    const req = await routed;
    bounded.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), req.socket);
    await closed;
    return answer;
  }

  const requestLine = (path: string) => async () => {
    const line = () => app?.logs.lines.find((entry) => entry.msg === 'request' && entry.path === path);
    for (let i = 0; i < 50 && line() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    return line();
  };

  it('to POST /webhook is logged and counted as the 408 the client was answered, not as a 499 (the client going away)', async () => {
    app = await makeApp({ store: new MemoryLog(), tokens: ['s3cret'] });
    const before = sampleValue((await request(app.main).get('/metrics')).text, 'statusmate_webhook_requests_total', {
      event_type: 'unknown',
      outcome: 'invalid',
    });
    const answer = await timedOut('/webhook');
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(await requestLine('/webhook')()).toMatchObject({ level: 'warn', status: 408, outcome: 'invalid', error: 'request not received whole within 30 s' });
    expect(app.logs.lines.filter((entry) => entry.status === 499)).toEqual([]);
    // Counted once, as a body that did not arrive whole: the outcome docs/metrics.md gives 408.
    const after = sampleValue((await request(app.main).get('/metrics')).text, 'statusmate_webhook_requests_total', {
      event_type: 'unknown',
      outcome: 'invalid',
    });
    expect((after ?? 0) - (before ?? 0)).toBe(1);
  });

  it('to an Express route (POST /alertmanager) gets the line of the 408 the client was answered, not none', async () => {
    app = await makeApp({ store: new MemoryLog(), alertmanagerTokens: ['s3cret'] });
    const answer = await timedOut('/alertmanager');
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(await requestLine('/alertmanager')()).toMatchObject({ level: 'warn', status: 408, error: 'request not received whole within 30 s' });
    expect(app.logs.lines.filter((entry) => entry.msg === 'request' && entry.path === '/alertmanager')).toHaveLength(1);
  });
});
