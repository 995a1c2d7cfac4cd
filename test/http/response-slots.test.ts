import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ResponseSlots } from '../../src/http/response-slots.js';
import { makeApp } from '../support/app.js';

// The bound on large answers in flight, on a real server and real sockets: how many render at once,
// in which order, and what frees a slot.

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server whose every request takes a slot, then answers `body` (or its body for the path) after `delayMs`; it records how many held one at once. */
async function serve(slots: ResponseSlots, body: Buffer | ((path: string) => Buffer), delayMs: number) {
  const seen = { arrived: 0, started: [] as string[], startedAt: [] as number[], most: 0 };
  server = createServer((req, res) => {
    seen.arrived += 1;
    void slots.take(res).then((held) => {
      if (!held) return;
      seen.started.push(req.url ?? '');
      seen.startedAt.push(performance.now());
      seen.most = Math.max(seen.most, slots.counts.active);
      setTimeout(() => res.end(typeof body === 'function' ? body(req.url ?? '') : body), delayMs);
    });
  });
  await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

const get = (port: number, path: string, signal?: AbortSignal) =>
  new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, signal }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end();
  });

const until = async (check: () => boolean) => {
  const deadline = Date.now() + 5_000;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
};

/** A client that asks for `path` and never reads the answer. */
function stalled(port: number, path: string) {
  const reader = connect(port, '127.0.0.1');
  reader.pause();
  reader.on('error', () => undefined);
  reader.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return reader;
}

/**
 * Far more than the socket buffers take for `/slow`: its answer cannot finish while nobody reads.
 * Any other is small: read at once however loaded the machine.
 */
const slowIsHuge = (path: string) => (path === '/slow' ? Buffer.alloc(32 * 1024 * 1024, 'x') : Buffer.alloc(1024, 'y'));

describe('response slots', () => {
  it('lets no more answers than slots render at once, serves the others in the order they came, each whole', async () => {
    const slots = new ResponseSlots(2, 10_000);
    const { port, seen } = await serve(slots, Buffer.alloc(100_000, 'x'), 100);
    const paths = ['/a', '/b', '/c', '/d', '/e', '/f'];
    const answers: Promise<{ status: number; bytes: number }>[] = [];
    for (const path of paths) {
      answers.push(get(port, path));
      // Each arrives before the next is sent.
      await until(() => seen.arrived === answers.length);
    }
    expect(await Promise.all(answers)).toEqual(paths.map(() => ({ status: 200, bytes: 100_000 })));
    expect(seen.most).toBe(2);
    expect(seen.started).toEqual(paths);
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  });

  it('passes over a request whose client went away while it waited', async () => {
    const slots = new ResponseSlots(1, 10_000);
    const { port, seen } = await serve(slots, Buffer.from('ok'), 150);
    const first = get(port, '/first');
    await until(() => slots.counts.active === 1);
    const gone = new AbortController();
    const abandoned = get(port, '/gone', gone.signal).catch((error: unknown) => error);
    await until(() => slots.counts.waiting === 1);
    gone.abort();
    await abandoned;
    // The request that went away left the queue at once.
    await until(() => slots.counts.waiting === 0);
    const third = get(port, '/third');
    await until(() => slots.counts.waiting === 1);
    expect(await first).toEqual({ status: 200, bytes: 2 });
    expect(await third).toEqual({ status: 200, bytes: 2 });
    expect(seen.started).toEqual(['/first', '/third']);
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  });

  it('disconnects a client that reads too slowly to give its slot back, and serves the next', async () => {
    const slots = new ResponseSlots(1, 300);
    // The next answer is small: read within the 300 ms, it is not disconnected too.
    const { port, seen } = await serve(slots, slowIsHuge, 0);
    const reader = stalled(port, '/slow');
    await until(() => slots.counts.active === 1);
    const next = get(port, '/next');
    await until(() => slots.counts.waiting === 1);
    expect(await next).toEqual({ status: 200, bytes: 1024 });
    expect(seen.started).toEqual(['/slow', '/next']);
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
    reader.destroy();
  });
});

describe('response slots and HTTP pipelining', () => {
  it('answers every request sent on one connection before the answers to the earlier ones, in order', async () => {
    const slots = new ResponseSlots(2, 10_000);
    const { port, seen } = await serve(slots, Buffer.from('ok'), 20);
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    // Three requests in one write: the second and third arrive while the first is not answered.
    socket.write(['/a', '/b', '/c'].map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await until(() => (received.match(/HTTP\/1\.1 200/g) ?? []).length === 3);
    socket.destroy();
    expect(seen.started).toEqual(['/a', '/b', '/c']);
    await until(() => slots.counts.active === 0 && slots.counts.waiting === 0);
  });

  it('gives back the slots of pipelined requests whose client went away before they were answered', async () => {
    const slots = new ResponseSlots(1, 10_000);
    const { port, seen } = await serve(slots, Buffer.from('ok'), 200);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(['/a', '/b', '/c'].map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await until(() => seen.arrived === 3);
    socket.destroy();
    await until(() => slots.counts.active === 0 && slots.counts.waiting === 0);
    expect(await get(port, '/next')).toEqual({ status: 200, bytes: 2 });
  });
});

describe('response slots under a crowd (pauseFactor)', () => {
  it('rests a slot given back while requests wait, pauseFactor times as long as its answer held it', async () => {
    const slots = new ResponseSlots(1, 10_000, { pauseFactor: 4 });
    const { port, seen } = await serve(slots, Buffer.from('ok'), 60);
    const answers = ['/a', '/b', '/c'].map((path) => get(port, path));
    expect(await Promise.all(answers)).toEqual([1, 2, 3].map(() => ({ status: 200, bytes: 2 })));
    expect(seen.started).toEqual(['/a', '/b', '/c']);
    // Each answer holds the slot 60 ms, then the slot rests 4 × 60 ms before the next that waited.
    const gaps = seen.startedAt.slice(1).map((at, i) => at - (seen.startedAt[i] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(60 + 4 * 60 - 10);
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  });

  it('never makes a client asking alone wait, however often it asks', async () => {
    // A pause would be 10 × 100 ms (the most: MAX_PAUSE_MS).
    const slots = new ResponseSlots(1, 10_000, { pauseFactor: 10 });
    const { port, seen } = await serve(slots, Buffer.from('ok'), 100);
    const ended: number[] = [];
    for (const path of ['/a', '/b', '/c']) {
      expect(await get(port, path)).toEqual({ status: 200, bytes: 2 });
      ended.push(performance.now());
    }
    for (let i = 1; i < 3; i += 1) expect((seen.startedAt[i] as number) - (ended[i - 1] as number)).toBeLessThan(500);
  });
});

describe('response slots under a crowd that could lock them out', () => {
  it('keeps a client that stopped reading while nobody waits, and disconnects it crowdedHoldMs after its slot once a request waits', async () => {
    const slots = new ResponseSlots(1, 30_000, { crowdedHoldMs: 300 });
    const { port, seen } = await serve(slots, slowIsHuge, 0);
    const slow = stalled(port, '/slow');
    try {
      await until(() => slots.counts.active === 1);
      await new Promise((resolve) => setTimeout(resolve, 600));
      // Alone, it keeps its slot (up to holdMs): its answer is not given back.
      expect(slots.counts).toEqual({ active: 1, waiting: 0 });
      const asked = performance.now();
      // Past crowdedHoldMs already: the waiting request is served at once, not after holdMs.
      expect(await get(port, '/next')).toEqual({ status: 200, bytes: 1024 });
      expect(performance.now() - asked).toBeLessThan(10_000);
      expect(seen.started).toEqual(['/slow', '/next']);
      expect(slots.counts).toEqual({ active: 0, waiting: 0 });
    } finally {
      slow.destroy();
    }
  });

  it('gives a slot given back to a client address holding none before the connections of one that holds the other', async () => {
    const slots = new ResponseSlots(2, 30_000);
    const { port, seen } = await serve(slots, Buffer.from('ok'), 150);
    const from = (path: string, localAddress: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, localAddress }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    const answers: Promise<number>[] = [];
    // One address takes both slots and queues two more; another address asks last.
    for (const [path, address] of [
      ['/a1', '127.0.0.1'],
      ['/a2', '127.0.0.1'],
      ['/a3', '127.0.0.1'],
      ['/a4', '127.0.0.1'],
      ['/b', '127.0.0.2'],
    ] as const) {
      answers.push(from(path, address));
      await until(() => seen.arrived === answers.length);
    }
    expect(await Promise.all(answers)).toEqual([200, 200, 200, 200, 200]);
    expect(seen.started).toEqual(['/a1', '/a2', '/b', '/a3', '/a4']);
  });

  it('rests after every answer with restAfterEvery: answers made in one go are never seen waiting', async () => {
    const slots = new ResponseSlots(1, 30_000, { pauseFactor: 4, restAfterEvery: true });
    const startedAt: number[] = [];
    server = createServer((_req, res) => {
      void slots.take(res).then((held) => {
        if (!held) return;
        startedAt.push(performance.now());
        // 40 ms of work without a turn of the event loop, as an availability report computes.
        const until = performance.now() + 40;
        while (performance.now() < until);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const answers = await Promise.all(['/a', '/b', '/c', '/d'].map((path) => get(port, path)));
    expect(answers).toEqual([1, 2, 3, 4].map(() => ({ status: 200, bytes: 2 })));
    // Each holds the slot at least 40 ms; the slot then rests 4 × that before the next.
    const gaps = startedAt.slice(1).map((at, i) => at - (startedAt[i] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(40 + 4 * 40 - 10);
  });
});

describe('the slots in the app', () => {
  it('answers every scrape and state read of a crowd, and gives each slot back, so later ones are answered too', async () => {
    const app = await makeApp();
    try {
      const update = { meta: { type: 'component_impact_updated', uuid: '5f844cb4-32f8-43eb-aa3d-99c925d8fffe', title: 'Checkout', impact: 'major_outage' } };
      expect((await supertest(app.main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify(update))).status).toBe(200);
      const scrape = () => supertest(app.main).get('/metrics');
      const read = () => supertest(app.main).get('/api/v1/state');
      const crowd = await Promise.all([...Array.from({ length: 10 }, scrape), ...Array.from({ length: 10 }, read)]);
      expect(crowd.map((response) => response.status)).toEqual(crowd.map(() => 200));
      for (const response of crowd.slice(0, 10)) expect(response.text).toContain('statusmate_component_impact_level{');
      for (const response of crowd.slice(10)) expect((response.body as { status_pages: unknown[] }).status_pages).toHaveLength(1);
      // A slot kept by any of them would leave the next ones waiting for good.
      for (let n = 0; n < 5; n++) {
        expect((await scrape()).status).toBe(200);
        expect((await read()).status).toBe(200);
      }
    } finally {
      await app.close();
    }
  });
});

describe('response slots and clients that leave while they wait', () => {
  it('drops a waiting request as soon as its client goes away, while the slots stay held', async () => {
    // One slot, held by a client that does not read a 32 MiB answer (held for 10 s, crowd or not).
    const slots = new ResponseSlots(1, 10_000, { crowdedHoldMs: 10_000 });
    const { port, seen } = await serve(slots, slowIsHuge, 0);
    const reader = stalled(port, '/slow');
    await until(() => slots.counts.active === 1);
    // A crowd asks and leaves: before, every one of them stayed queued (request, response and
    // socket) until the slot came round, so the queue grew for as long as the crowd asked.
    const crowd = Array.from({ length: 50 }, (_, i) => stalled(port, `/gone-${i}`));
    await until(() => seen.arrived === 51 && slots.counts.waiting === 50);
    for (const client of crowd) client.destroy();
    await until(() => slots.counts.waiting === 0);
    expect(slots.counts.active).toBe(1);
    reader.destroy();
    await until(() => slots.counts.active === 0);
    expect(seen.started).toEqual(['/slow']);
  });
});
