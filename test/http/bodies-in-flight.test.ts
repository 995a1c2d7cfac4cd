import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyBudget } from '../../src/webhook/body-budget.js';
import { makeApp, sampleValue, type TestApp } from '../support/app.js';
import { eventually } from '../support/redis.js';

// The request bodies held at once, across POST /webhook and POST /alertmanager, are bounded in
// bytes: a sender holding many bodies open (each short of its end) cannot make the process keep
// them all. A body that does not fit is refused with 503 and Retry-After (both senders retry),
// never half-read, and what a request held is given back however it ended.

const BUDGET = 10_000;
const BODY = 6_000;
const TOKEN = 'bodies-in-flight-token';
const ALERTS_TOKEN = 'bodies-in-flight-alerts';

let app: TestApp | undefined;
let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await app?.close();
  app = undefined;
});

async function start(): Promise<number> {
  app = await makeApp({ tokens: [TOKEN], alertmanagerTokens: [ALERTS_TOKEN], bodiesInFlightBytes: BUDGET, maxBodyBytes: 8_000 });
  server = createServer(app.main);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A component update padded with spaces to exactly `size` bytes of JSON. */
function update(n: number, size = BODY): Buffer {
  const text = JSON.stringify({
    meta: {
      type: 'component_impact_updated',
      uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      impact: 'major_outage',
      created_at: '2026-01-01T10:00:00Z',
    },
    text: `C${n}`,
  });
  return Buffer.from(text.padEnd(size, ' '));
}

const head = (path: string, token: string, length: number | 'chunked') =>
  `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n${
    length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`
  }\r\n\r\n`;

type Exchange = { socket: Socket; answer: Promise<{ status: number; headers: string; body: string }> };

/** Opens a connection and writes `first`; the answer resolves with the first response on it. */
function open(port: number, first: string | Buffer): Exchange {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  const answer = new Promise<{ status: number; headers: string; body: string }>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers = text.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? '0');
      if (Buffer.byteLength(text.slice(end + 4)) < length) return;
      resolve({ status: Number(text.slice(9, 12)), headers, body: text.slice(end + 4, end + 4 + length) });
    });
    socket.on('close', () => reject(new Error('closed before an answer')));
  });
  // A connection the test cuts itself never answers: not an unhandled rejection.
  answer.catch(() => undefined);
  socket.write(first);
  return { socket, answer };
}

/**
 * A request whose headers and first 100 bytes are sent, the rest held back; resolves once the
 * exporter holds its whole length (taken as the headers are read).
 */
async function held(port: number, n: number, size = BODY): Promise<{ socket: Socket; finish: () => Promise<{ status: number; body: string }> }> {
  const body = update(n, size);
  const before = bodies().heldBytes();
  const exchange = open(port, Buffer.concat([Buffer.from(head('/webhook', TOKEN, body.length)), body.subarray(0, 100)]));
  await eventually(
    () => bodies().heldBytes(),
    (bytes) => bytes === before + size,
  );
  return {
    socket: exchange.socket,
    finish: async () => {
      exchange.socket.write(body.subarray(100));
      return exchange.answer;
    },
  };
}

const bodies = () => {
  if (!app) throw new Error('no app');
  return app.bodies;
};

const whole = (port: number, path: string, token: string, body: Buffer) =>
  open(port, Buffer.concat([Buffer.from(head(path, token, body.length)), body])).answer;

const metric = async (name: string, labels: Record<string, string>) => {
  const res = await fetch(`http://127.0.0.1:${(server?.address() as AddressInfo).port}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return sampleValue(await res.text(), name, labels);
};

describe('request bodies held at once', () => {
  it('refuses a webhook body with no room left, 503 with Retry-After, commits nothing, and takes it once the held body is answered', async () => {
    const port = await start();
    const first = await held(port, 1);
    const refused = await whole(port, '/webhook', TOKEN, update(2));
    expect(refused.status).toBe(503);
    expect(refused.headers).toMatch(/\r\nRetry-After: 1\r\n/i);
    expect(JSON.parse(refused.body)).toEqual({ error: `more than ${BUDGET} bytes of request bodies in flight: retry`, issues: [] });
    expect(await metric('statusmate_webhook_requests_total', { event_type: 'unknown', outcome: 'busy' })).toBe(1);
    expect(app?.ingestor.state.componentCount).toBe(0);

    expect((await first.finish()).status).toBe(200);
    // The retry, once the first body was answered and gave its bytes back.
    const retried = await whole(port, '/webhook', TOKEN, update(2));
    expect(JSON.parse(retried.body)).toMatchObject({ status: 'applied' });
    expect(app?.ingestor.state.componentCount).toBe(2);
  });

  it('refuses a chunked body at the chunk that does not fit', async () => {
    const port = await start();
    const first = await held(port, 1);
    const body = update(3);
    const chunks = [body.subarray(0, 2_000), body.subarray(2_000, 4_500), body.subarray(4_500)]
      .map((part) => `${part.length.toString(16)}\r\n${part.toString('utf8')}\r\n`)
      .join('');
    const refused = await open(port, `${head('/webhook', TOKEN, 'chunked')}${chunks}0\r\n\r\n`).answer;
    expect(refused.status).toBe(503);
    expect((await first.finish()).status).toBe(200);
    expect(app?.ingestor.state.componentCount).toBe(1);
  });

  it('shares the budget with POST /alertmanager, which answers 503 busy', async () => {
    const port = await start();
    const first = await held(port, 1);
    const notification = Buffer.from(JSON.stringify({ version: '4', status: 'firing', alerts: [] }).padEnd(BODY, ' '));
    const refused = await whole(port, '/alertmanager', ALERTS_TOKEN, notification);
    expect(refused.status).toBe(503);
    expect(refused.headers).toMatch(/\r\nRetry-After: 1\r\n/i);
    expect(await metric('statusmate_alertmanager_notifications_total', { outcome: 'busy' })).toBe(1);
    expect((await first.finish()).status).toBe(200);
    expect((await whole(port, '/alertmanager', ALERTS_TOKEN, notification)).status).not.toBe(503);
  });

  it('gives back what a request held however it ended: too large, not JSON, not a webhook, cut off by its client', async () => {
    const port = await start();
    expect((await whole(port, '/webhook', TOKEN, Buffer.alloc(9_000, 0x20))).status).toBe(413);
    expect((await whole(port, '/webhook', TOKEN, Buffer.from('{'.padEnd(BODY, ' ')))).status).toBe(400);
    expect((await whole(port, '/webhook', TOKEN, Buffer.from('{"meta":{}}'.padEnd(BODY, ' ')))).status).toBe(400);
    const cut = await held(port, 4);
    cut.socket.destroy();
    await eventually(
      () => bodies().heldBytes(),
      (bytes) => bytes === 0,
    );
    // Both together take the whole budget: had any request before kept a byte, the second would be refused.
    const [a, b] = [await held(port, 5), await held(port, 6, BUDGET - BODY)];
    expect((await a.finish()).status).toBe(200);
    expect((await b.finish()).status).toBe(200);
    expect(bodies().heldBytes()).toBe(0);
  });
});

describe('BodyBudget', () => {
  it('takes while there is room, refuses without taking, and a release gives back all its lease took', () => {
    const budget = new BodyBudget(100);
    const a = budget.lease();
    const b = budget.lease();
    expect(a.take(60)).toBe(true);
    expect(b.take(50)).toBe(false);
    expect(b.take(40)).toBe(true);
    expect(budget.heldBytes()).toBe(100);
    expect(a.take(1)).toBe(false);
    a.release();
    expect(budget.heldBytes()).toBe(40);
    a.release();
    expect(budget.heldBytes()).toBe(40);
    b.release();
    expect(budget.heldBytes()).toBe(0);
  });
});
