import { createClient } from 'redis';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { REFUSING_STORE } from '../../src/log/fold-loop.js';
import { redisKeys } from '../../src/store/redis-format.js';
import { makeApp, sampleValue, whenReady, type TestApp } from '../support/app.js';
import { eventually, redisPerTest, redisStore, redisTool } from '../support/redis.js';
import { componentUpdate as component, metricsText as metrics, postEvent as post, refusalLines as refusals } from '../support/replica-probes.js';

// A key of the log replaced under running replicas by a value of another type (`DEL` then `SET`,
// `LPUSH`, a script or a person writing the wrong key): Redis answers WRONGTYPE to whatever reads
// it. The log (or its snapshot, or its epoch) is gone as surely as after a DEL: the replicas refuse
// it, with Redis' words and the key, once, and so does a replica started later; none reads it as a
// command an ACL refuses, nor, once the fold has heard nothing for a while, as a Redis that does not answer.

const KEYS = redisKeys('statusmate:');
const REFUSED = "the store holds a log this process cannot fold (lost, replaced, newer, or another install's)";

const redis = redisPerTest();
const open = async (options: { waitReady?: boolean } = {}) => {
  const app = await makeApp({ store: redisStore({ url: redis.server.url }), snapshots: { checkMs: 200, maxAgeMs: 0 } });
  redis.apps.push(app);
  if (options.waitReady ?? true) await whenReady(app);
  return app;
};
const command = async (...args: string[]) => {
  const client = createClient({ url: redis.server.url, RESP: 2 });
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
};
const readyz = async (app: TestApp) => (await request(app.main).get('/readyz')).body as { status: string; reason?: string };
const storeUp = async (app: TestApp) => sampleValue(await metrics(app), 'statusmate_store_up');
/** The lines that would send an operator after an ACL, a full Redis, or a network. */
const misread = (app: TestApp) =>
  app.logs.lines.filter((line) =>
    [
      'the store refuses writes: not ready until a write succeeds',
      'the store refuses a command this process needs: not ready until it takes it',
      'reading the log failed; retrying',
    ].includes(String(line.msg)),
  );

describe.skipIf(redisTool.skipReason !== undefined)('a key of the Redis log replaced by a value of another type', () => {
  it.each([
    { key: KEYS.log, replace: ['SET', KEYS.log, 'x'] },
    { key: KEYS.log, replace: ['LPUSH', KEYS.log, 'x'] },
    { key: KEYS.snapshot, replace: ['SET', KEYS.snapshot, 'x'] },
    { key: KEYS.epoch, replace: ['LPUSH', KEYS.epoch, 'x'] },
  ])('$replace.0 over $key: refused within 5 s with the key and WRONGTYPE said once, and by a replica started later', async ({ key, replace }) => {
    const a = await open();
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    // A snapshot stored, so that the snapshot's key is there to be replaced.
    await eventually(
      () => command('EXISTS', KEYS.snapshot),
      (exists) => Number(exists) === 1,
    );
    await command('DEL', key);
    await command(...replace);

    await post(a, component(2, 'major_outage'));
    await eventually(
      () => readyz(a),
      (body) => body.reason?.startsWith(REFUSED) === true,
      5_000,
    );
    expect(await storeUp(a)).toBe(0);
    expect((await post(a, component(3, 'major_outage'))).status).toBe(503);
    // Past the fold's silence (3 s): still the refusal, not "does not answer".
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect((await readyz(a)).reason).toMatch(new RegExp(`^${REFUSED.replace(/[()]/g, '\\$&')}`));
    expect(refusals(a)).toEqual([expect.objectContaining({ level: 'error', reason: expect.stringContaining(key) })]);
    expect(String(refusals(a)[0]?.reason)).toContain('WRONGTYPE');
    expect(misread(a)).toEqual([]);

    const late = await open({ waitReady: false });
    await eventually(
      () => refusals(late).length,
      (count) => count === 1,
      5_000,
    );
    expect(String(refusals(late)[0]?.reason)).toContain(key);
    expect((await readyz(late)).status).toBe('store unavailable');
    expect(late.logs.lines.filter((line) => line.msg === REFUSING_STORE)).toHaveLength(1);
  });
});
