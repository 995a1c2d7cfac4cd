import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { RedisStore } from '../../src/store/redis.js';
import { LogLost } from '../../src/store/store.js';
import { redisTool, startRedis, type RedisServer } from '../support/redis.js';

// A Lua script's writes before a failing command stay: a user whose ACL lacks a command the first
// start needs (XGROUP CREATE makes the empty stream) must not leave an epoch without its log, which
// every replica reads, once the ACL is fixed, as a log deleted under it (a reset-redis to get out).

let redis: RedisServer | undefined;
const stores: RedisStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await redis?.stop('SIGKILL');
});

const admin = async (...args: string[]) => {
  const client = createClient({ url: redis!.url, RESP: 2 });
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
};

const storeAs = async (url: string) => {
  const store = new RedisStore({ url, keyPrefix: 'statusmate:', waitReplicas: 0, newLogWaitMs: 0, logger: createLogger('silent') });
  stores.push(store);
  await store.open();
  return store;
};

describe.skipIf(redisTool.skipReason)('a first start under an ACL that refuses one of its commands', () => {
  it('leaves no epoch without a log: once the ACL is fixed, the log starts', async () => {
    redis = await startRedis();
    const minimal = ['+get', '+set', '+exists', '+del', '+xadd', '+xread', '+xrange', '+xrevrange', '+hget', '+hgetall', '+hmget', '+eval', '+client|setname'];
    await admin('ACL', 'SETUSER', 'sm', 'on', '>pw', 'resetkeys', '~{statusmate}:*', '-@all', ...minimal);
    const url = redis.url.replace('redis://', 'redis://sm:pw@');
    const first = await storeAs(url);
    const refused = await first.tip(first.origin).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(Error);
    expect(refused).not.toBeInstanceOf(LogLost);
    expect(await admin('EXISTS', '{statusmate}:epoch')).toBe(0);

    await admin('ACL', 'SETUSER', 'sm', '+xgroup|create');
    const fixed = await storeAs(url);
    await expect(fixed.tip(fixed.origin)).resolves.toMatchObject({ position: '0-0' });
    expect(await admin('EXISTS', '{statusmate}:log', '{statusmate}:epoch')).toBe(2);
  });
});
