import { createClient } from 'redis';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeApp, sampleValue, whenReady, type TestApp } from '../support/app.js';
import { eventually, redisStore, redisTool, startRedis, type RedisServer } from '../support/redis.js';
import { componentUpdate as component, metricsText as metrics, postEvent as post } from '../support/replica-probes.js';

// A Redis restarted on a large dataset answers every command with LOADING until it has loaded it:
// it answers, so it is no Redis that does not answer, and it refuses no command for good (an ACL)
// nor writes (a full disk). The replica is not ready meanwhile, says why in words of its own, and
// is ready again by itself once Redis has loaded.

const STORE_LOADING = 'the store is loading its data (Redis restarted on a large dataset)';
const LOADING_LINE = 'the store is loading its data (Redis restarted on a large dataset): not ready until it has loaded';

let redis: RedisServer | undefined;
let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  await redis?.stop('SIGKILL');
  redis = undefined;
});

/** Redis' answer to PING, or its error reply's words (LOADING while it loads). */
async function ping(server: RedisServer): Promise<string> {
  const client = createClient({ url: server.url, RESP: 2 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return z.string().parse(await client.sendCommand(['PING']));
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.destroy();
  }
}

describe.skipIf(redisTool.skipReason !== undefined)('a Redis loading its dataset after a restart', () => {
  it('is not ready and store_up 0 in words that say it is loading, one line says so, and the replica is ready again once loaded', async () => {
    const server = await startRedis({ appendfsync: 'everysec', args: ['--enable-debug-command', 'yes'] });
    redis = server;
    const a = await makeApp({ store: redisStore({ url: server.url }), snapshots: { checkMs: 200 } });
    app = a;
    await whenReady(a);
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);

    // Enough keys that Redis, slowed by --key-load-delay, takes seconds to load them from its RDB
    // (the key delay applies to an RDB, not to an AOF's commands), the log's keys among them.
    const admin = createClient({ url: server.url, RESP: 2 });
    await admin.connect();
    await admin.sendCommand(['DEBUG', 'POPULATE', '10000']);
    await admin.sendCommand(['CONFIG', 'SET', 'appendonly', 'no']);
    await admin.sendCommand(['SAVE']);
    admin.destroy();
    await server.stop('SIGKILL');
    await server.restart({
      args: ['--appendonly', 'no', '--key-load-delay', '500', '--loading-process-events-interval-bytes', '1024'],
      loading: true,
    });
    expect(await ping(server)).toMatch(/^LOADING/);

    const readiness = async () => (await request(a.main).get('/readyz')).body as { status: string; reason?: string };
    await eventually(readiness, (body) => body.reason === STORE_LOADING, 5_000);
    // Every answer while Redis still loads (read between two PINGs that say so) says the same.
    let seen = 0;
    for (;;) {
      if (!(await ping(server)).startsWith('LOADING')) break;
      const body = await readiness();
      const up = sampleValue(await metrics(a), 'statusmate_store_up');
      const webhook = (await post(a, component(2, 'degraded_performance'))).status;
      if (!(await ping(server)).startsWith('LOADING')) break;
      expect(body).toEqual({ status: 'store unavailable', reason: STORE_LOADING });
      expect(up).toBe(0);
      expect(webhook).toBe(503);
      seen += 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(seen).toBeGreaterThan(2);

    await eventually(readiness, (body) => body.status === 'ready', 10_000);
    expect(sampleValue(await metrics(a), 'statusmate_store_up')).toBe(1);
    expect((await post(a, component(2, 'degraded_performance'))).body.status).toBe('applied');
    expect(a.logs.lines.filter((line) => line.msg === LOADING_LINE)).toEqual([
      expect.objectContaining({ level: 'warn', err: 'LOADING Redis is loading the dataset in memory' }),
    ]);
    expect(a.logs.lines.filter((line) => line.msg === 'the store has loaded its data')).toHaveLength(1);
    // Not a refused write, a refused command, nor a failed read: none of those is what happened.
    const misnamed = a.logs.lines.filter((line) => typeof line.err === 'string' && line.err.startsWith('LOADING') && line.msg !== LOADING_LINE);
    expect(misnamed).toEqual([]);
  });
});
