import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/store/redis-format.js';
import { domainSamples, makeApp, sampleValue, whenReady } from '../support/app.js';
import { runCli } from '../support/cli.js';
import { eventually, redisPerTest, redisStore, redisTool } from '../support/redis.js';
import { componentUpdate, metricsText, postEvent, readyStatus, refusalLines } from '../support/replica-probes.js';

// Two installs given one Redis and one key prefix (two Helm releases on a shared Redis) would
// each fold the other's events and serve one merged state, every replica ready. Each names
// itself the log's owner (REDIS_LOG_OWNER); the one that finds the log owned by another refuses it.

const KEYS = redisKeys('statusmate:');

const fixture = redisPerTest();

const open = async (owner: string | undefined, options: { waitReady?: boolean } = {}) => {
  const app = await makeApp({
    store: redisStore({ url: fixture.server.url, ...(owner === undefined ? {} : { owner }) }),
    snapshots: { checkMs: 200, maxAgeMs: 0 },
  });
  fixture.apps.push(app);
  if (options.waitReady ?? true) await whenReady(app);
  return app;
};
const redisGet = async (key: string) => {
  const client = createClient({ url: fixture.server.url, RESP: 2 });
  await client.connect();
  try {
    return await client.get(key);
  } finally {
    client.destroy();
  }
};

describe.skipIf(redisTool.skipReason !== undefined)("the shared log's owner", () => {
  it("refuses a replica of another install before it loads the first install's state, and says why once", async () => {
    const production = await open('monitoring/prod-statusmate-exporter');
    expect((await postEvent(production, componentUpdate(1, 'major_outage'))).status).toBe(200);
    expect(await redisGet(KEYS.owner)).toBe('monitoring/prod-statusmate-exporter');

    const staging = await open('web/staging-statusmate-exporter', { waitReady: false });
    await eventually(
      () => refusalLines(staging),
      (lines) => lines.length === 1,
      5_000,
    );
    expect(refusalLines(staging)[0]).toEqual(
      expect.objectContaining({
        level: 'error',
        reason: `the Redis log {statusmate}:log belongs to another install: {statusmate}:owner is "monitoring/prod-statusmate-exporter", REDIS_LOG_OWNER here is "web/staging-statusmate-exporter": give each install its own REDIS_KEY_PREFIX (or Redis database); if it is this install renamed, delete {statusmate}:owner`,
      }),
    );
    expect(await readyStatus(staging)).toBe(503);
    expect(sampleValue(await metricsText(staging), 'statusmate_store_up')).toBe(0);
    expect((await postEvent(staging, componentUpdate(2, 'partial_outage'))).status).toBe(503);
    // Nothing of production's was loaded, and nothing of staging's reached the log.
    expect(domainSamples(await metricsText(staging)).filter((line) => line.includes('00000000-0000-4000-8000-000000000001'))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(refusalLines(staging)).toHaveLength(1);
    expect(await readyStatus(production)).toBe(200);
    expect(domainSamples(await metricsText(production)).some((line) => line.includes('00000000-0000-4000-8000-000000000002'))).toBe(false);
  });

  it('lets replicas of one install share the log, and adopts a log written before owners, or by an exporter that names none', async () => {
    const unnamed = await open(undefined);
    expect((await postEvent(unnamed, componentUpdate(1, 'major_outage'))).status).toBe(200);
    expect(await redisGet(KEYS.owner)).toBeNull();

    const [a, b] = [await open('monitoring/sm'), await open('monitoring/sm')];
    expect(await redisGet(KEYS.owner)).toBe('monitoring/sm');
    expect((await postEvent(b, componentUpdate(2, 'partial_outage'))).status).toBe(200);
    const shared = await eventually(
      async () => [domainSamples(await metricsText(a)), domainSamples(await metricsText(b)), domainSamples(await metricsText(unnamed))],
      ([x, y, z]) => JSON.stringify(x) === JSON.stringify(y) && JSON.stringify(y) === JSON.stringify(z),
    );
    expect(shared[0]?.some((line) => line.includes('00000000-0000-4000-8000-000000000001'))).toBe(true);
    expect(shared[0]?.some((line) => line.includes('00000000-0000-4000-8000-000000000002'))).toBe(true);
    for (const app of [a, b, unnamed]) expect(await readyStatus(app)).toBe(200);
  });

  it('is deleted by reset-redis with the log, so that the next install to start owns the new one', async () => {
    await open('monitoring/old-name');
    await Promise.all(fixture.apps.splice(0).map((app) => app.close()));
    const reset = await runCli(['reset-redis', '--yes'], { REDIS_URL: fixture.server.url });
    expect(reset.code).toBe(0);
    expect(await redisGet(KEYS.owner)).toBeNull();
    const renamed = await open('monitoring/new-name');
    expect(await readyStatus(renamed)).toBe(200);
    expect(await redisGet(KEYS.owner)).toBe('monitoring/new-name');
  });

  it("is checked by reset-redis, which deletes nothing of another install's log", async () => {
    const production = await open('monitoring/prod-statusmate-exporter');
    expect((await postEvent(production, componentUpdate(1, 'major_outage'))).status).toBe(200);
    await Promise.all(fixture.apps.splice(0).map((app) => app.close()));
    const reset = await runCli(['reset-redis', '--yes', '--force'], { REDIS_URL: fixture.server.url, REDIS_LOG_OWNER: 'web/staging-statusmate-exporter' });
    expect([reset.code, reset.stdout]).toEqual([1, '']);
    expect(reset.stderr).toContain('belongs to "monitoring/prod-statusmate-exporter", not "web/staging-statusmate-exporter" (REDIS_LOG_OWNER)');
    expect(await redisGet(KEYS.owner)).toBe('monitoring/prod-statusmate-exporter');
    const again = await open('monitoring/prod-statusmate-exporter');
    expect(sampleValue(await metricsText(again), 'statusmate_component_impact_level', { component_uuid: '00000000-0000-4000-8000-000000000001' })).toBe(4);
  });

  it('is deleted by reset-redis only once no replica serves the log: one that does keeps it, unless --force', async () => {
    const serving = await open('monitoring/prod-statusmate-exporter');
    expect((await postEvent(serving, componentUpdate(1, 'major_outage'))).status).toBe(200);
    const refused = await runCli(['reset-redis', '--yes'], { REDIS_URL: fixture.server.url });
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toContain('a replica is serving this log');
    expect(refused.stderr).toContain('nothing was deleted');
    expect(await readyStatus(serving)).toBe(200);
    expect(await redisGet(KEYS.owner)).toBe('monitoring/prod-statusmate-exporter');

    const forced = await runCli(['reset-redis', '--yes', '--force'], { REDIS_URL: fixture.server.url });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/deleted \d+ keys \(a log of 1 entries owned by "monitoring\/prod-statusmate-exporter"\)/);
  });

  it('is not claimed by a replica still running on the log reset-redis replaced, which refuses the new one', async () => {
    const stale = await open('monitoring/old-name');
    // --force: the replica serves the log, which reset-redis otherwise refuses to delete under it.
    const reset = await runCli(['reset-redis', '--yes', '--force'], { REDIS_URL: fixture.server.url });
    expect(reset.code).toBe(0);
    await eventually(
      () => refusalLines(stale),
      (lines) => lines.length === 1,
      5_000,
    );
    expect(refusalLines(stale)[0]?.reason).toMatch(/^the Redis log was replaced/);
    expect(await redisGet(KEYS.owner)).toBeNull();
    const renamed = await open('monitoring/new-name');
    expect(await readyStatus(renamed)).toBe(200);
    expect(await redisGet(KEYS.owner)).toBe('monitoring/new-name');
  });
});
