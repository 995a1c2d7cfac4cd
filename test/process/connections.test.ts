import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionCaps } from '../../src/http/connections.js';
import { tempDir } from '../support/app.js';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { freePort } from '../support/prometheus.js';

// Idle connections must not exhaust the exporter's descriptors: the webhook port takes at most
// MAX_CONNECTIONS, a connection that sends nothing is closed after the 5 s headers timeout
// (checked every second), and the metrics port, capped on its own, stays reachable meanwhile.

let running: ExporterProcess | undefined;
let sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets = [];
  await stopProcess(running, 'SIGKILL');
});

/** What the README promises: the headers timeout, plus one check interval. */
const PROMISED_CLOSE_MS = 5_000 + 1_000;

type Idle = { socket: Socket; closedAt: Promise<number> };

/** Opens a connection that never sends a byte; resolves once connected (or refused). */
function idleConnection(port: number, openedAt: number): Promise<Idle> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => undefined);
    const closedAt = new Promise<number>((done) => socket.once('close', () => done(Date.now() - openedAt)));
    socket.once('connect', () => resolve({ socket, closedAt }));
    socket.once('close', () => resolve({ socket, closedAt }));
  });
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms))]);

describe('a flood of idle connections on the webhook port', () => {
  it('is capped at MAX_CONNECTIONS and closed within the headers timeout, while the metrics port answers', async () => {
    const metricsPort = await freePort();
    running = await startExporterProcess({ SQLITE_PATH: join(tempDir(), 'flood.db'), MAX_CONNECTIONS: '50', METRICS_PORT: String(metricsPort) });
    expect(running.logs.find((line) => line.msg === 'statusmate-exporter listening')).toMatchObject({ max_connections: 50, metrics_max_connections: 64 });
    const openedAt = Date.now();
    const idle: Idle[] = [];
    for (let n = 0; n < 300; n++) idle.push(await idleConnection(running.port, openedAt));

    // Past the cap, connections are closed at once; the first 50 stay open, sending nothing.
    const early = await Promise.all(idle.map(({ closedAt }) => within(closedAt, 1_000)));
    expect(early.filter((at) => at === 'timed out')).toHaveLength(50);

    // Meanwhile the metrics port, capped on its own, serves scrapes and probes.
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    expect((await fetch(`${metricsUrl}/readyz`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
    expect((await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
    expect(running.logs).toContainEqual(
      expect.objectContaining({ level: 'warn', port: 'PORT', max_connections: 50, msg: expect.stringContaining('connections refused') }),
    );

    // The silent ones are closed by the exporter within the promised time...
    const closed = await Promise.all(idle.map(({ closedAt }) => within(closedAt, PROMISED_CLOSE_MS + 2_000)));
    expect(closed.filter((at) => at === 'timed out')).toEqual([]);
    // ...and the webhook port takes webhooks again.
    expect(
      (
        await postJson(`${running.url}/webhook`, {
          meta: { type: 'component_impact_updated', uuid: '5f844cb4-32f8-43eb-aa3d-99c925d8fffe', impact: 'major_outage' },
        })
      ).status,
    ).toBe(200);
  });
});

describe('a flood of idle connections under ulimit -n 256', () => {
  it('leaves descriptors for the metrics port, whose probes and scrapes still answer', async () => {
    const metricsPort = await freePort();
    running = await startExporterProcess({ SQLITE_PATH: join(tempDir(), 'ulimit.db'), METRICS_PORT: String(metricsPort) }, 20_000, { openFiles: 256 });
    expect(running.logs).toContainEqual(expect.objectContaining({ level: 'warn', max_connections: 1000, lowered_to: connectionCaps(256, 1000, true).main }));
    const openedAt = Date.now();
    for (let n = 0; n < 400; n++) await idleConnection(running.port, openedAt);
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    expect((await fetch(`${metricsUrl}/readyz`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
    expect((await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
  });
});

describe('a request refused for its token', () => {
  it('gets its 401 and then the connection closes, instead of being kept alive', async () => {
    running = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'the-token' });
    const body = '{"meta":{"type":"component_impact_updated"}}';
    const socket = connect(running.port, '127.0.0.1');
    sockets.push(socket);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(await within(closed, 2_000)).not.toBe('timed out');
    expect(received).toMatch(/^HTTP\/1\.1 401 /);
    expect(received.toLowerCase()).toContain('connection: close');
  });
});
