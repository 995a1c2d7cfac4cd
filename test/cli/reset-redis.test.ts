import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
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

describe('reset-redis', () => {
  it('says in one line, exit 1, that what REDIS_URL names does not speak Redis, instead of crashing with a stack', async () => {
    const port = await notRedis();
    const result = await runCli(['reset-redis', '--yes'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^statusmate-exporter reset-redis: redis://127\\.0\\.0\\.1:${port}: .+\\n$`));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });
});
