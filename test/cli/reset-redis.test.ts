import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resetRedis } from '../../src/cli/reset-redis.js';
import { runCli } from '../support/cli.js';

// reset-redis pointed at something that is not the Redis meant: one line and exit 1, never a stack.

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A loopback port that answers like an HTTP server: what REDIS_URL reaches when it names a web port by mistake. */
async function notRedis(): Promise<number> {
  server = createServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A loopback port that takes connections and never answers: a Redis stuck, or a black hole behind a proxy. */
async function silent(): Promise<number> {
  server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.resume(); // reads and drops what comes, so that the client's close is seen
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('reset-redis', () => {
  it('gives up on a server that takes the connection and never answers, in one line, instead of waiting for ever', async () => {
    const port = await silent();
    const lines: string[] = [];
    const io = { out: (line: string) => lines.push(`out: ${line}`), err: (line: string) => lines.push(`err: ${line}`) };
    const started = Date.now();
    const code = await resetRedis(['--yes'], io, { REDIS_URL: `redis://127.0.0.1:${port}` }, 300);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(code).toBe(1);
    expect(lines).toEqual([
      `err: statusmate-exporter reset-redis: redis://127.0.0.1:${port}: no answer within 0.3 s (the reset may or may not have happened: run it again once Redis answers)`,
    ]);
  });

  it('says in one line, exit 1, that what REDIS_URL names does not speak Redis, instead of crashing with a stack', async () => {
    const port = await notRedis();
    const result = await runCli(['reset-redis', '--yes'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^statusmate-exporter reset-redis: redis://127\\.0\\.0\\.1:${port}: .+\\n$`));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });
});
