import { createClient } from 'redis';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REFUSALS_LOGGED_PER_SECOND } from '../../src/http/access-log.js';
import { isSharedStateSample } from '../../src/metrics/names.js';
import { createLogger } from '../../src/logger.js';
import { redisKeys } from '../../src/store/redis-format.js';
import type { RedisStore } from '../../src/store/redis.js';
import { LogLost, LogNotStarted } from '../../src/store/store.js';
import { REFUSING_STORE } from '../../src/log/fold-loop.js';
import { domainSamples, makeApp, sampleValue, whenReady, type TestApp } from '../support/app.js';
import { fileURLToPath } from 'node:url';
import { runNodeToExit, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { eventually, redisStore, redisTool, startRedis, type RedisServer } from '../support/redis.js';
import {
  componentUpdate as component,
  metricsText as metrics,
  postEvent as post,
  readyStatus as readyz,
  refusalLines as refusals,
  refusedWithin5s,
  storeUpValue as storeUp,
} from '../support/replica-probes.js';

// A replica knows when the shared log is not what it folded, and when Redis refuses or stops
// answering: it stops answering 200, reports not ready and store_up 0, and says why once.

const KEYS = redisKeys('statusmate:');

let redis: RedisServer;
let apps: TestApp[] = [];
let processes: ExporterProcess[] = [];
beforeEach(async () => {
  if (redisTool.skipReason) return;
  redis = await startRedis({ appendfsync: 'everysec' });
});
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
  await Promise.all(processes.map((p) => stopProcess(p, 'SIGKILL')));
  processes = [];
  await redis.stop('SIGKILL');
});

const open = async (options: { waitReady?: boolean; newLogWaitMs?: number; checkMs?: number } = {}) => {
  const app = await makeApp({
    store: redisStore({ url: redis.url, newLogWaitMs: options.newLogWaitMs }),
    snapshots: { checkMs: options.checkMs ?? 200, maxAgeMs: 0 },
  });
  apps.push(app);
  if (options.waitReady ?? true) await whenReady(app);
  return app;
};
/** A replica started now: it refuses the log in one line (its reason holding `reason`, when given), and is not ready. */
const refusedAtStart = async (reason?: string) => {
  const late = await open({ waitReady: false });
  await eventually(
    () => refusals(late).length,
    (count) => count === 1,
  );
  if (reason !== undefined) expect(String(refusals(late)[0]?.reason)).toContain(reason);
  expect(await readyz(late)).toBe(503);
  return late;
};
/** The IDs of the log's entries, oldest first. */
const logIds = async () => ((await redisCommand('XRANGE', KEYS.log, '-', '+')) as unknown as [string, string[]][]).map(([id]) => id);
/** A store of this process's on a new log of four entries, closed once `use` is done. */
const withFourEntries = async (use: (store: RedisStore) => Promise<void>) => {
  const store = redisStore({ url: redis.url })(createLogger('silent'));
  try {
    await store.open();
    await store.tip(store.origin);
    for (let n = 0; n < 4; n++) expect(await store.append([{ n: String(n) }])).toEqual([null]);
    await use(store);
  } finally {
    await store.close();
  }
};
const redisCommand = async (...args: string[]) => {
  const client = createClient({ url: redis.url, RESP: 2 });
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
};

describe.skipIf(redisTool.skipReason !== undefined)('a Redis log lost under running replicas', () => {
  it('after FLUSHALL every running replica refuses and says so once, and so does one started later, until reset-redis', async () => {
    const [a, b] = [await open(), await open()];
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    await redisCommand('FLUSHALL');
    for (const app of [a, b]) {
      await refusedWithin5s(app);
      expect(refusals(app)).toEqual([expect.objectContaining({ level: 'error', reason: expect.stringMatching(/is gone: Redis was flushed/) })]);
    }
    // The replicas that found it gone marked the log lost, and started no new one.
    expect(await redisCommand('GET', KEYS.lost)).toMatch(/^\S+ \d{4}-\d\d-\d\dT/);
    expect(await redisCommand('EXISTS', KEYS.epoch)).toBe(0);
    // A replica started later (a pod rescheduled, a rollout) does not begin an empty state as if nothing happened.
    const late = await refusedAtStart('reset-redis');
    expect((await post(late, component(2, 'major_outage'))).status).toBe(503);

    // The operator's way out without a backup: reset, then restart the replicas. The old ones,
    // still running, find the new epoch (replaced, not gone) and leave no new mark.
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    expect((await runNodeToExit([cli, 'reset-redis', '--yes'], { REDIS_URL: redis.url }, 30_000, 'reset-redis')).code).toBe(0);
    expect(await redisCommand('EXISTS', KEYS.lost)).toBe(0);
    const fresh = await open();
    expect((await post(fresh, component(3, 'major_outage'))).body.status).toBe('applied');
    expect(fresh.ingestor.state.componentCount).toBe(1);
    // No two ready replicas disagree: the old ones stay not ready.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const app of [a, b, late]) expect(await readyz(app)).toBe(503);
    expect(await redisCommand('EXISTS', KEYS.lost)).toBe(0);
  });

  it('a replica started on a Redis emptied under running replicas, before they looked again, waits and refuses with them instead of starting an empty log', async () => {
    // Redis restarted empty (no persistence) while a pod restarted with it: the new pod may reach
    // it before the running ones reconnect and mark the log lost. The running one here looks at
    // its next read only (a second at most), not at a check every 200 ms.
    const a = await open({ checkMs: 60_000 });
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    await redisCommand('FLUSHALL');
    const late = await open({ waitReady: false, newLogWaitMs: 2_000 });
    expect((await post(late, component(2, 'major_outage'))).status).toBe(503);
    await refusedWithin5s(a);
    await eventually(
      async () => ({ refused: refusals(late).length, ready: await readyz(late) }),
      ({ refused, ready }) => {
        // Never ready on an empty log meanwhile.
        expect(ready).toBe(503);
        return refused === 1;
      },
      8_000,
    );
    expect(String(refusals(late)[0]?.reason)).toContain('lost under the replicas that folded it');
    expect(await redisCommand('EXISTS', KEYS.epoch)).toBe(0);
  });

  it('a first start on an empty Redis waits before starting the log: up, not ready, said once at info, then ready', async () => {
    const first = await open({ waitReady: false, newLogWaitMs: 1_500 });
    const waiting = (await request(first.main).get('/readyz')) as { status: number; text: string };
    expect(waiting.status).toBe(503);
    expect(waiting.text).toContain('not loaded from the store yet');
    expect(await storeUp(first)).toBe(1);
    expect((await post(first, component(1, 'major_outage'))).status).toBe(503);
    await whenReady(first);
    expect((await post(first, component(1, 'major_outage'))).body.status).toBe('applied');
    expect(first.logs.lines.filter((line) => /^Redis holds no log/.test(String(line.msg)))).toEqual([expect.objectContaining({ level: 'info' })]);
    expect(await redisCommand('EXISTS', KEYS.epoch)).toBe(1);
  });

  it('a replica that finds no log starts one only after the wait, unless a replica that folded the lost one marks it meanwhile; seed-redis and a zero wait start it at once', async () => {
    const logger = createLogger('silent');
    const stores: RedisStore[] = [];
    const store = (options: { keyPrefix?: string; newLogWaitMs: number }) => {
      const made = redisStore({ url: redis.url, ...options })(logger);
      stores.push(made);
      return made;
    };
    try {
      const folding = store({ newLogWaitMs: 0 });
      await folding.open();
      await folding.tip(folding.origin);
      await redisCommand('FLUSHALL');
      const waiting = store({ newLogWaitMs: 300 });
      await waiting.open();
      await expect(waiting.tip(waiting.origin)).rejects.toBeInstanceOf(LogNotStarted);
      expect(await redisCommand('EXISTS', KEYS.epoch)).toBe(0);
      // The replica that folded the lost log looks again (reconnected): it marks it lost.
      await expect(folding.tip(folding.origin)).rejects.toBeInstanceOf(LogLost);
      await new Promise((resolve) => setTimeout(resolve, 350));
      await expect(waiting.tip(waiting.origin)).rejects.toThrow(/lost under the replicas that folded it/);

      // A first install (no log, nobody folding one): started once the wait is over.
      const first = store({ keyPrefix: 'first:', newLogWaitMs: 300 });
      await first.open();
      await expect(first.tip(first.origin)).rejects.toBeInstanceOf(LogNotStarted);
      await expect(first.tip(first.origin)).rejects.toBeInstanceOf(LogNotStarted);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect((await first.tip(first.origin)).entriesAfter).toBe(0);
      expect(await redisCommand('EXISTS', redisKeys('first:').epoch)).toBe(1);
      // Without a wait (the race this closes), a log is started at the first look.
      const atOnce = store({ keyPrefix: 'now:', newLogWaitMs: 0 });
      await atOnce.open();
      expect((await atOnce.tip(atOnce.origin)).entriesAfter).toBe(0);
    } finally {
      await Promise.all(stores.map((made) => made.close()));
    }
  });

  it('after DEL of the log with a snapshot present, the running replica refuses, and so does one started later', async () => {
    const a = await open();
    for (let n = 0; n < 5; n++) await post(a, component(n, 'major_outage'));
    await eventually(
      async () => (await redisCommand('EXISTS', KEYS.snapshot)) as unknown,
      (exists) => exists === 1,
    );
    await redisCommand('DEL', KEYS.log);
    await refusedWithin5s(a);
    expect(String(refusals(a)[0]?.reason)).toContain('was deleted');
    const late = await refusedAtStart();
    expect((await post(late, component(7, 'major_outage'))).status).toBe(503);

    // The operator's way out when there is no backup: reset, then (re)start the replicas. A
    // snapshot a replica left half-written goes too (it would otherwise expire in 5 minutes).
    const leftover = `${KEYS.snapshotPieces}stopped-replica:0`;
    await redisCommand('HSET', leftover, 'data', '{}');
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    const refusedReset = await runNodeToExit([cli, 'reset-redis'], { REDIS_URL: redis.url }, 10_000, 'reset-redis');
    expect(refusedReset.code).toBe(64);
    const reset = await runNodeToExit([cli, 'reset-redis', '--yes'], { REDIS_URL: redis.url }, 30_000, 'reset-redis');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('restart every replica');
    expect(await redisCommand('EXISTS', leftover)).toBe(0);
    const fresh = await open();
    expect((await post(fresh, component(8, 'major_outage'))).body.status).toBe('applied');
    expect(fresh.ingestor.state.componentCount).toBe(1);
  });

  it('after DEL of the log under a stream of webhooks, the next append is answered 503 instead of making a new log, and the replica refuses', async () => {
    const a = await open();
    for (let n = 0; n < 3; n++) expect((await post(a, component(n, 'major_outage'))).status).toBe(200);
    await redisCommand('DEL', KEYS.log);
    // The next webhook comes before the fold's next read: its XADD makes a new stream of the same name.
    const next = await post(a, component(10, 'major_outage'));
    expect(next.status).toBe(503);
    await refusedWithin5s(a);
    expect(refusals(a)).toEqual([expect.objectContaining({ reason: expect.stringContaining('was deleted') })]);
    // Before: the recreated stream was taken for a log that lost the entries folded, and the state
    // reloaded from it (no snapshot yet: from nothing), ready, with the 3 acknowledged events gone.
    expect(a.ingestor.state.componentCount).toBe(3);
    expect(await redisCommand('EXISTS', KEYS.log)).toBe(0);
    // Redis takes writes all along (the write probe, run on each readiness check, succeeds): the
    // log is gone, which the refusal says; no line may read as writes failing, then recovering.
    for (let i = 0; i < 3; i++) expect(await readyz(a)).toBe(503);
    expect(a.logs.lines.filter((line) => /^the store (refuses|takes) writes/.test(String(line.msg)))).toEqual([]);
  });

  it('reset-redis under a replica still folding the old log: the new log is never marked lost, and a replica started afterwards takes it', async () => {
    const running = await open();
    expect((await post(running, component(1, 'major_outage'))).body.status).toBe('applied');
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    // --force: the replica serves the log, which reset-redis otherwise refuses to delete under it.
    const reset = await runNodeToExit([cli, 'reset-redis', '--yes', '--force'], { REDIS_URL: redis.url }, 10_000, 'reset-redis');
    expect(reset.code).toBe(0);
    // The running replica finds its epoch replaced (not gone), refuses, and marks nothing.
    await refusedWithin5s(running);
    expect(String(refusals(running)[0]?.reason)).toContain('was replaced');
    expect(await redisCommand('EXISTS', KEYS.lost)).toBe(0);
    const fresh = await open();
    expect((await post(fresh, component(2, 'major_outage'))).body.status).toBe('applied');
  });

  it("reset-redis deletes its own prefix's half-written snapshots, not those of a prefix its glob characters would match", async () => {
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    const mine = redisKeys('team[ab]*:');
    const other = redisKeys('teama:');
    for (const keys of [mine, other]) {
      await redisCommand('XADD', keys.log, '*', 'v', '1');
      await redisCommand('HSET', `${keys.snapshotPieces}replica:0`, 'data', '{}');
    }
    const reset = await runNodeToExit([cli, 'reset-redis', '--yes'], { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'team[ab]*:' }, 30_000, 'reset-redis');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('deleted 2 keys');
    // Its log starts again empty; the other prefix's is untouched.
    expect(await redisCommand('XLEN', mine.log)).toBe(0);
    expect(await redisCommand('EXISTS', `${mine.snapshotPieces}replica:0`)).toBe(0);
    expect(await redisCommand('EXISTS', other.log, `${other.snapshotPieces}replica:0`)).toBe(2);
  });

  it('refuses a snapshot whose id is garbage, at the next check and at start, instead of silently never snapshotting again', async () => {
    const a = await open();
    await post(a, component(1, 'major_outage'));
    await redisCommand('HSET', KEYS.snapshot, 'id', 'garbage', 't', '0', 'v', '1', 'data', '{}');
    await refusedWithin5s(a);
    expect(String(refusals(a)[0]?.reason)).toContain('unreadable id');
    await refusedAtStart();
  });

  it('refuses a snapshot whose id is past the end of the log, at the next check and at start, instead of reloading it in a loop', async () => {
    const a = await open();
    await post(a, component(1, 'major_outage'));
    const b = await open();
    await post(b, component(2, 'major_outage'));
    await b.close();
    // A well-formed id no entry of this log has reached: no snapshot of this log covers it.
    await redisCommand('HSET', KEYS.snapshot, 'id', '9999999999999-0');
    await refusedWithin5s(a);
    expect(String(refusals(a)[0]?.reason)).toContain('past the end of the log');
    const late = await refusedAtStart('past the end of the log');
    // One warning of a reload at most, not one per turn of the loop (thousands a second).
    expect(late.logs.lines.filter((line) => /reloading from the snapshot/.test(String(line.msg))).length).toBeLessThanOrEqual(1);
  });

  it('refuses at start a log trimmed by hand past its snapshot (XTRIM MAXLEN), instead of reloading the snapshot in a loop', async () => {
    // Snapshots at shutdown only: the one `a` leaves covers its entry, and `b` writes none.
    const a = await open({ checkMs: 600_000 });
    await post(a, component(1, 'major_outage'));
    await a.close();
    const b = await open({ checkMs: 600_000 });
    await post(b, component(2, 'major_outage'));
    await post(b, component(3, 'major_outage'));
    // The snapshot's entry and the one after it go: what the second held is in no snapshot.
    await redisCommand('XTRIM', KEYS.log, 'MAXLEN', '1');
    const late = await refusedAtStart('no longer holds entry');
    expect(late.logs.lines.filter((line) => /reloading from the snapshot/.test(String(line.msg))).length).toBeLessThanOrEqual(1);
  });

  it('refuses at start a log whose snapshot and trim mark were deleted after it was trimmed, instead of folding the rest alone', async () => {
    // Snapshots at shutdown only: each stop commits one and trims below the one before.
    for (const n of [1, 2, 3]) {
      const replica = await open({ checkMs: 600_000 });
      expect((await post(replica, component(n, 'major_outage'))).body.status).toBe('applied');
      await replica.close();
    }
    expect(await redisCommand('XLEN', KEYS.log)).toBe(2);
    // Deleted by hand, or evicted under a policy other than noeviction.
    await redisCommand('DEL', KEYS.snapshot, KEYS.trimmed);
    // Before: ready, serving components 2 and 3 only, as if 1 had never come.
    const late = await refusedAtStart('1 entries removed that no snapshot covers');
    expect((await post(late, component(4, 'major_outage'))).status).toBe(503);
  });

  it('refuses at start a log trimmed by hand before any snapshot, instead of folding the rest alone', async () => {
    const a = await open({ checkMs: 600_000 });
    for (const n of [1, 2, 3]) expect((await post(a, component(n, 'major_outage'))).body.status).toBe('applied');
    await redisCommand('XTRIM', KEYS.log, 'MAXLEN', '1');
    await refusedAtStart('2 entries removed that no snapshot covers');
  });

  it.each([
    { fields: ['n', '3', 'data', '{"lastSeq":0,"keptFromDay":0}', 'data:2', '["x"]'], reason: 'is missing a piece (data:1)' },
    { fields: ['n', 'many', 'data', '{"lastSeq":0,"keptFromDay":0}'], reason: 'has an unreadable piece count n' },
  ])('refuses at start a snapshot whose pieces it cannot all read ($reason), rather than load part of a state', async ({ fields, reason }) => {
    const a = await open();
    await post(a, component(1, 'major_outage'));
    await a.close();
    await redisCommand('DEL', KEYS.snapshot);
    await redisCommand('HSET', KEYS.snapshot, 'id', '1-0', 't', '0', 'v', '4', ...fields);
    await refusedAtStart(reason);
  });
});

describe.skipIf(redisTool.skipReason !== undefined)('a Redis that refuses or stops answering', () => {
  it('out of memory (noeviction): 503, not ready and store_up 0 within 5 s, the real error logged once, and back without a restart', async () => {
    const a = await open();
    await post(a, component(1, 'major_outage'));
    await redisCommand('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await redisCommand('CONFIG', 'SET', 'maxmemory', '1');
    const refused = await post(a, component(2, 'major_outage'));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(/retry/);
    await refusedWithin5s(a);
    const failures = a.logs.lines.filter((line) => line.msg === 'the store refuses writes: not ready until a write succeeds');
    expect(failures).toEqual([expect.objectContaining({ level: 'error', err: expect.stringMatching(/OOM/) })]);
    await redisCommand('CONFIG', 'SET', 'maxmemory', '0');
    await eventually(
      () => readyz(a),
      (status) => status === 200,
      5_000,
    );
    expect(await storeUp(a)).toBe(1);
    expect((await post(a, component(2, 'major_outage'))).body.status).toBe('applied');
  });

  it('out of memory (noeviction): a failed snapshot trims the log below the stored snapshot, and every replica, a lagging one and a later one agree once Redis has room', async () => {
    const ids = async () => ((await redisCommand('XRANGE', KEYS.log, '-', '+')) as unknown as [string, string[]][]).map(([id]) => id);
    const snapshotId = async () => (await redisCommand('HGET', KEYS.snapshot, 'id')) as unknown as string | null;
    const snapshotAtEnd = async () => (await snapshotId()) === (await ids()).at(-1);
    const lagMetrics = async () => (await fetch(`${lagging.url}/metrics`)).text();
    const [a, b] = [await open(), await open()];
    const lagging = await startExporterProcess({ STORE: 'redis', REDIS_URL: redis.url });
    processes.push(lagging);
    await eventually(
      async () => (await fetch(`${lagging.url}/readyz`)).status,
      (status) => status === 200,
    );
    for (const n of [1, 2, 3]) expect((await post(a, component(n, 'major_outage'))).body.status).toBe('applied');
    await eventually(snapshotAtEnd, (atEnd) => atEnd);
    // The lagging replica folded these, then stops (a paused pod) while the log moves on.
    const folded = domainSamples(await metrics(a));
    await eventually(
      async () => domainSamples(await lagMetrics()),
      (samples) => JSON.stringify(samples) === JSON.stringify(folded),
    );
    lagging.child.kill('SIGSTOP');
    await Promise.all([4, 5, 6].map(async (n) => expect((await post(a, component(n, 'major_outage'))).body.status).toBe('applied')));
    await eventually(snapshotAtEnd, (atEnd) => atEnd);
    const stored = await snapshotId();
    // Each commit trims below the snapshot before it: the log still holds entries older than this one.
    const before = await ids();
    expect(before[0]).not.toBe(stored);
    // The next snapshot fails (an ACL without XTRIM, which commits none) until Redis is out of
    // memory, so that the entry folded after it is in no snapshot when memory runs out.
    await redisCommand('ACL', 'SETUSER', 'default', '-xtrim');
    expect((await post(a, component(7, 'major_outage'))).body.status).toBe('applied');
    // Either replica may be the one due to write it (the other counts from the snapshot it finds).
    await eventually(
      () => [a, b].flatMap((app) => app.logs.lines).filter((line) => line.msg === 'writing a snapshot failed; will try again').length,
      (count) => count >= 1,
    );
    await redisCommand('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await redisCommand('CONFIG', 'SET', 'maxmemory', '1');
    await redisCommand('ACL', 'SETUSER', 'default', '+xtrim');
    await refusedWithin5s(a);
    // Before: the log kept every entry older than the snapshot for as long as Redis had no room.
    const trimmed = await eventually(ids, (now) => now[0] === stored, 10_000);
    // The snapshot's own entry stays, and the one after it, which no snapshot covers.
    expect(trimmed).toHaveLength(2);
    expect(await snapshotId()).toBe(stored);
    const relief = [...a.logs.lines, ...b.logs.lines].filter((line) => String(line.msg).startsWith('Redis is out of memory'));
    expect(relief[0]).toMatchObject({ level: 'warn', snapshot: stored, trimmed: before.indexOf(stored as string) });

    await redisCommand('CONFIG', 'SET', 'maxmemory', '0');
    lagging.child.kill('SIGCONT');
    for (const app of [a, b]) {
      await eventually(
        () => readyz(app),
        (status) => status === 200,
        5_000,
      );
    }
    expect((await post(b, component(8, 'major_outage'))).body.status).toBe('applied');
    const late = await open();
    const expected = domainSamples(await metrics(a));
    expect(expected.join('\n')).toContain('00000000-0000-4000-8000-000000000008');
    for (const app of [b, late]) {
      await eventually(
        async () => domainSamples(await metrics(app)),
        (samples) => JSON.stringify(samples) === JSON.stringify(expected),
      );
    }
    // The lagging replica finds the entry it folded last gone: it reloads the snapshot, not refuses the log.
    await eventually(
      async () => domainSamples(await lagMetrics()),
      (samples) => JSON.stringify(samples) === JSON.stringify(expected),
    );
    expect(lagging.logs.filter((line) => line.msg === REFUSING_STORE)).toEqual([]);
    expect([a, b, late].flatMap((app) => refusals(app))).toEqual([]);
  }, 60_000);

  it("out of memory, a refused snapshot trims nothing of a log replaced under the replica, nor of one that lacks its snapshot's entry", async () => {
    await withFourEntries(async (store) => {
      const [, second = '', , last = ''] = await logIds();
      const refused = async () => {
        await redisCommand('CONFIG', 'SET', 'maxmemory', '1');
        try {
          await expect(store.writeSnapshot({ position: last, time: 0, format: '4', data: ['{}'] })).rejects.toThrow(/^OOM/);
        } finally {
          await redisCommand('CONFIG', 'SET', 'maxmemory', '0');
        }
      };
      await redisCommand('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      // A snapshot id past the log's end (copied from another log): trimming below it would empty the log.
      await redisCommand('HSET', KEYS.snapshot, 'id', '9999999999999-0');
      await refused();
      expect(await logIds()).toHaveLength(4);
      // The log replaced under the replica (reset-redis): not its to trim.
      await redisCommand('HSET', KEYS.snapshot, 'id', second);
      const epoch = (await redisCommand('GET', KEYS.epoch)) as unknown as string;
      await redisCommand('SET', KEYS.epoch, 'another');
      await refused();
      expect(await logIds()).toHaveLength(4);
      await redisCommand('SET', KEYS.epoch, epoch);
      await refused();
      expect((await logIds())[0]).toBe(second);
      // The trim mark is not written under OOM: a replica behind finds its entry gone instead.
      expect(await redisCommand('EXISTS', KEYS.trimmed)).toBe(0);
    });
  });

  it('out of memory with no snapshot due, the probe trims the log below the stored snapshot', async () => {
    await withFourEntries(async (store) => {
      const [, , third = ''] = await logIds();
      // A snapshot committed up to the third entry, the log trimmed only below the one before it:
      // then Redis is full, and no entry is folded past the snapshot, so no snapshot comes due.
      await redisCommand('HSET', KEYS.snapshot, 'id', third);
      await redisCommand('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await redisCommand('CONFIG', 'SET', 'maxmemory', '1');
      try {
        await expect(store.probe()).rejects.toThrow(/^OOM/);
      } finally {
        await redisCommand('CONFIG', 'SET', 'maxmemory', '0');
      }
      // Before, the probe only said so: the log kept the entries before the snapshot while Redis stayed full.
      expect((await logIds())[0]).toBe(third);
      expect(await logIds()).toHaveLength(2);
    });
  });

  it('down under a page of StatusMate retries: the first 503 line names the cause, then a bounded number a second, and the log and the metrics account for every 503', async () => {
    const a = await open();
    await redis.stop('SIGKILL');
    await refusedWithin5s(a);
    const before = sampleValue(await metrics(a), 'statusmate_webhook_requests_total', { event_type: 'component_impact_updated', outcome: 'error' }) ?? 0;
    const linesBefore = a.logs.lines.length;
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 400 }, (_, n) => {
        const event = component(1000 + (n % 80), 'major_outage');
        return post(a, { meta: { ...event.meta, delivery_attempt: Math.floor(n / 80) + 1 } });
      }),
    );
    const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
    expect(answers.every((answer) => answer.status === 503)).toBe(true);
    const after = sampleValue(await metrics(a), 'statusmate_webhook_requests_total', { event_type: 'component_impact_updated', outcome: 'error' }) ?? 0;
    expect(after - before).toBe(400);
    const failedLines = () => a.logs.lines.slice(linesBefore).filter((line) => line.status === 503);
    expect(failedLines()[0]).toMatchObject({ level: 'error', msg: 'request', error: expect.stringContaining('the redis store is unavailable') });
    expect(failedLines().filter((line) => line.msg === 'request').length).toBeLessThanOrEqual(REFUSALS_LOGGED_PER_SECOND * seconds);
    // Once the flood is over, the lines left out are reported: written + left out = every 503.
    const accounted = () =>
      failedLines().reduce((sum, line) => sum + (line.msg === 'request' ? 1 : 0) + Number(line.suppressed_before ?? 0) + Number(line.suppressed ?? 0), 0);
    await eventually(accounted, (total) => total === 400, 5_000);
    expect(failedLines().filter((line) => line.msg !== 'request')).not.toHaveLength(0);
    // A Redis that is down does not answer: its probes never say it refuses writes ("The client
    // is offline" sent an operator after an ACL or a full disk).
    expect(a.logs.lines.filter((line) => line.msg === 'the store refuses writes: not ready until a write succeeds')).toEqual([]);
  });

  it('says in the body of /readyz why it is not ready: a Redis that does not answer is waited for, a lost log needs an operator', async () => {
    const a = await open();
    const reason = async () => (await request(a.main).get('/readyz')).body as { status: string; reason?: string };
    expect(await reason()).toEqual({ status: 'ready' });
    redis.child.kill('SIGSTOP');
    try {
      await eventually(reason, (body) => body.reason === 'the store does not answer', 5_000);
    } finally {
      redis.child.kill('SIGCONT');
    }
    await eventually(reason, (body) => body.status === 'ready', 10_000);
    await redisCommand('FLUSHALL');
    await post(a, component(1, 'major_outage'));
    const lost = await eventually(reason, (body) => body.reason !== undefined && body.reason !== 'the store does not answer', 5_000);
    expect(lost).toEqual({ status: 'store unavailable', reason: expect.stringContaining('an operator must restore or reset it') });
    expect(lost.reason).not.toContain(String(redis.port));
  });

  it('hung (SIGSTOP): not ready and store_up 0 within 5 s, ready again once it answers', async () => {
    const a = await open();
    await post(a, component(1, 'major_outage'));
    redis.child.kill('SIGSTOP');
    try {
      await eventually(
        () => storeUp(a),
        (up) => up === 0,
        5_000,
      );
      await eventually(
        () => readyz(a),
        (status) => status === 503,
        5_000,
      );
    } finally {
      redis.child.kill('SIGCONT');
    }
    await eventually(
      () => readyz(a),
      (status) => status === 200,
      10_000,
    );
    expect(await storeUp(a)).toBe(1);
    // Said once, as a store that does not answer: before, "refuses writes" sent an operator to look
    // for a full disk, an ACL or OOM.
    expect(a.logs.lines.filter((line) => /^the store (refuses writes|does not answer)/.test(String(line.msg)))).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'the store does not answer: not ready until a write succeeds',
        err: expect.stringMatching(/^no answer within \d+ ms$/),
      }),
    ]);
  });
});

describe.skipIf(redisTool.skipReason !== undefined)('a replica resumed after a pause', () => {
  it('reports ready only once it serves what the other replica serves', async () => {
    const env = { STORE: 'redis', REDIS_URL: redis.url };
    const [a, b] = [await startExporterProcess(env), await startExporterProcess(env)];
    processes.push(a, b);
    const ready = async (p: ExporterProcess) => (await fetch(`${p.url}/readyz`)).status;
    const samples = async (p: ExporterProcess) => (await (await fetch(`${p.url}/metrics`)).text()).split('\n').filter(isSharedStateSample);
    await eventually(
      () => ready(b),
      (status) => status === 200,
    );
    b.child.kill('SIGSTOP');
    for (let n = 0; n < 200; n++) {
      const response = await fetch(`${a.url}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(component(n, 'major_outage')),
      });
      expect(response.status).toBe(200);
    }
    const expected = await samples(a);
    b.child.kill('SIGCONT');
    // Whenever the resumed replica first says ready, it already serves the whole log.
    await eventually(
      () => ready(b),
      (status) => status === 200,
      10_000,
    );
    expect(await samples(b)).toEqual(expected);
    expect(domainSamples(expected.join('\n')).length).toBeGreaterThan(200);
  });
});

describe.skipIf(redisTool.skipReason !== undefined)('a SIGTERM while Redis hangs', () => {
  it('gives the last snapshot up within seconds and exits 0, rather than waiting out SHUTDOWN_TIMEOUT_SECONDS', async () => {
    const exporter = await startExporterProcess({ STORE: 'redis', REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_SECONDS: '8' });
    processes.push(exporter);
    await eventually(
      async () => (await fetch(`${exporter.url}/readyz`)).status,
      (status) => status === 200,
    );
    const response = await fetch(`${exporter.url}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(component(1, 'major_outage')),
    });
    expect(response.status).toBe(200);

    // Stopped, not closed: the connections stay open and a command waits for an answer that never comes.
    redis.child.kill('SIGSTOP');
    try {
      const started = Date.now();
      exporter.child.kill('SIGTERM');
      const { code } = await exporter.exited;
      // Before: the final snapshot asked Redis which snapshot it holds, with no bound, and the
      // process was killed by its own deadline (exit 1, "shutdown timed out") 8 s later.
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(exporter.logs.some((line) => line.msg === 'stopped: store closed')).toBe(true);
      expect(exporter.logs.some((line) => line.msg === 'shutdown timed out; exiting')).toBe(false);
    } finally {
      redis.child.kill('SIGCONT');
    }
  }, 30_000);
});
