import { createClient } from 'redis';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/store/redis-format.js';
import { makeApp, sampleValue, whenReady, type TestApp } from '../support/app.js';
import { eventually, redisStore, redisTool, startRedis, type RedisServer } from '../support/redis.js';
import { componentUpdate as component, metricsText as metrics, postEvent as post, readyStatus as readyz } from '../support/replica-probes.js';

// A Redis whose ACL refuses one command the exporter needs, while the others pass: the replica
// must say so in its health (not ready, store_up 0) and in its log (Redis' own words), not pass a
// probe that never runs the refused command, nor read as a Redis that does not answer.

const KEYS = redisKeys('statusmate:');
const REFUSES_A_COMMAND = 'the store refuses a command this process needs (an ACL without it, a command disabled); see the log';

let redis: RedisServer;
let apps: TestApp[] = [];
beforeEach(async () => {
  if (redisTool.skipReason) return;
  redis = await startRedis({ appendfsync: 'everysec' });
  await admin('ACL', 'SETUSER', 'sm', 'on', '>pw', 'resetkeys', '~{statusmate}:*', '+@all');
});
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
  await redis.stop('SIGKILL');
});

async function admin(...args: string[]): Promise<unknown> {
  const client = createClient({ url: redis.url, RESP: 2 });
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

const open = async (options: { evictionCheckMs?: number } = {}) => {
  const app = await makeApp({
    store: redisStore({ url: redis.url.replace('redis://', 'redis://sm:pw@'), ...options }),
    snapshots: { checkMs: 200, maxAgeMs: 0 },
  });
  apps.push(app);
  await whenReady(app);
  return app;
};
const storeUp = async (app: TestApp) => sampleValue(await metrics(app), 'statusmate_store_up');

describe.skipIf(redisTool.skipReason !== undefined)('an ACL that refuses one command the exporter needs', () => {
  it('refusing XADD but not SET: not ready and store_up 0 until XADD is allowed again, and its probes never touch the log', async () => {
    const a = await open();
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    const entries = await admin('XLEN', KEYS.log);
    await admin('ACL', 'SETUSER', 'sm', '-xadd');
    expect((await post(a, component(2, 'major_outage'))).status).toBe(503);
    // Several probes' worth (one every 200 ms, and one for each readiness check): none may pass.
    for (let check = 0; check < 5; check++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await readyz(a)).toBe(503);
      expect(await storeUp(a)).toBe(0);
    }
    const failures = a.logs.lines.filter((line) => line.msg === 'the store refuses writes: not ready until a write succeeds');
    expect(failures).toEqual([
      expect.objectContaining({ level: 'error', err: expect.stringContaining("NOPERM this user has no permissions to run the 'xadd' command") }),
    ]);
    expect(a.logs.lines.filter((line) => line.msg === 'the store takes writes again')).toEqual([]);

    await admin('ACL', 'SETUSER', 'sm', '+xadd');
    // Back by its probe alone: a replica that is not ready gets no webhook to show it.
    await eventually(
      () => readyz(a),
      (status) => status === 200,
      5_000,
    );
    expect(await storeUp(a)).toBe(1);
    expect(await admin('XLEN', KEYS.log)).toBe(entries);
    expect((await post(a, component(2, 'major_outage'))).body.status).toBe('applied');
  });

  it('refusing EVAL (what checks where the log ends): not "does not answer" but a refused command, store_up 0, Redis\' words logged once, and back once allowed', async () => {
    const a = await open();
    await admin('ACL', 'SETUSER', 'sm', '-eval');
    const reason = async () => (await request(a.main).get('/readyz')).body as { status: string; reason?: string };
    await eventually(reason, (body) => body.status !== 'ready', 5_000);
    for (let check = 0; check < 3; check++) {
      expect((await reason()).reason).toBe(REFUSES_A_COMMAND);
      expect(await storeUp(a)).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(a.logs.lines.filter((line) => line.msg === 'the store refuses a command this process needs: not ready until it takes it')).toEqual([
      expect.objectContaining({ level: 'error', err: "NOPERM this user has no permissions to run the 'eval' command" }),
    ]);
    await admin('ACL', 'SETUSER', 'sm', '+eval');
    await eventually(reason, (body) => body.status === 'ready', 5_000);
    expect(await storeUp(a)).toBe(1);
    expect(a.logs.lines.filter((line) => line.msg === 'the store takes the commands of its checks again')).toHaveLength(1);
  });

  it("refusing XREAD (the fold's read): a refused command, Redis' words logged once, and the log opened once, not at every retry", async () => {
    const a = await open();
    const linesBefore = a.logs.lines.length;
    await admin('ACL', 'SETUSER', 'sm', '-xread');
    const reason = async () => (await request(a.main).get('/readyz')).body as { status: string; reason?: string };
    await eventually(reason, (body) => body.reason === REFUSES_A_COMMAND, 5_000);
    // The loop retries (and syncs again) every 2 s at most: a few retries' worth.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect((await reason()).reason).toBe(REFUSES_A_COMMAND);
    expect(await storeUp(a)).toBe(0);
    const after = a.logs.lines.slice(linesBefore);
    expect(after.filter((line) => line.msg === 'reading the log failed; retrying')).toEqual([
      expect.objectContaining({ err: "NOPERM this user has no permissions to run the 'xread' command" }),
    ]);
    expect(after.filter((line) => line.msg === 'log opened; folding from here').length).toBeLessThanOrEqual(1);
    await admin('ACL', 'SETUSER', 'sm', '+xread');
    await eventually(reason, (body) => body.status === 'ready', 5_000);
    expect((await post(a, component(1, 'major_outage'))).body.status).toBe('applied');
  });

  it("its user disabled under it: each connection logs Redis' WRONGPASS once, not only that the socket closed", async () => {
    const a = await open();
    await admin('ACL', 'SETUSER', 'sm', 'off');
    await admin('CLIENT', 'KILL', 'USER', 'sm');
    const refusals = () => a.logs.lines.filter((line) => line.msg === 'Redis refuses the connection (its user, password or ACL); reconnecting with back-off');
    await eventually(refusals, (lines) => lines.length === 2, 5_000);
    // Several reconnects' worth (2 s apart at most): still once a connection.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(
      refusals()
        .map((line) => [line.connection, line.err])
        .sort(),
    ).toEqual([
      ['reader', 'WRONGPASS invalid username-password pair or user is disabled.'],
      ['writer', 'WRONGPASS invalid username-password pair or user is disabled.'],
    ]);
    expect(JSON.stringify(a.logs.lines)).not.toContain(':pw@');
    await admin('ACL', 'SETUSER', 'sm', 'on');
    await eventually(
      () => readyz(a),
      (status) => status === 200,
      10_000,
    );
  });

  it("refusing RENAME (the snapshot's commit): each failed snapshot leaves no copy of the state behind in Redis, and Redis' words are logged", async () => {
    const a = await open();
    await admin('ACL', 'SETUSER', 'sm', '-rename');
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    // No snapshot stored yet, so one is due at every check (200 ms): several failures.
    await eventually(
      async () => sampleValue(await metrics(a), 'statusmate_store_snapshot_failures_total') ?? 0,
      (failures) => failures >= 3,
      10_000,
    );
    expect(a.logs.lines.find((line) => line.msg === 'writing a snapshot failed; will try again')?.err).toMatch(/RENAME/);
    const pieces = (await admin('KEYS', `${KEYS.snapshotPieces}*`)) as string[];
    const ttls = await Promise.all(pieces.map((key) => admin('PTTL', key)));
    // A write in flight holds its pieces under their TTL; none is kept for good (PTTL -1).
    expect(ttls.filter((ttl) => ttl === -1)).toEqual([]);
    expect(pieces.length).toBeLessThanOrEqual(1);
  });

  it("refusing XTRIM (the trim of a snapshot's commit): no snapshot is committed without it, so its age grows, and Redis' words naming XTRIM are logged once", async () => {
    const a = await open();
    const snapshotId = async () => (await admin('HGET', KEYS.snapshot, 'id')) as string | null;
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    // The first snapshot replaces none, so it trims nothing: it is written whatever the ACL.
    const first = await eventually(snapshotId, (id) => id !== null, 5_000);
    await admin('ACL', 'SETUSER', 'sm', '-xtrim');
    const failures = async () => sampleValue(await metrics(a), 'statusmate_store_snapshot_failures_total') ?? 0;
    const failedBefore = await failures();
    const entries = await admin('XLEN', KEYS.log);
    expect((await post(a, component(2, 'major_outage'))).status).toBe(200);
    // Due at every check (200 ms) while it fails: several tries.
    await eventually(failures, (count) => count >= failedBefore + 3, 10_000);
    // A commit the trim refused would leave a fresh snapshot over a log that only grows, and the
    // stale snapshot's alert (what tells an operator the log is not trimmed) would never fire.
    expect(await snapshotId()).toBe(first);
    expect(await admin('GET', KEYS.trimmed)).toBeNull();
    expect(await admin('XLEN', KEYS.log)).toBe((entries as number) + 1);
    expect(a.logs.lines.filter((line) => line.msg === 'wrote a snapshot')).toHaveLength(1);
    expect(a.logs.lines.filter((line) => line.msg === 'writing a snapshot failed; will try again')).toEqual([
      expect.objectContaining({ level: 'warn', err: expect.stringContaining('XTRIM') }),
    ]);
    const pieces = (await admin('KEYS', `${KEYS.snapshotPieces}*`)) as string[];
    const ttls = await Promise.all(pieces.map((key) => admin('PTTL', key)));
    expect(ttls.filter((ttl) => ttl === -1)).toEqual([]);

    await admin('ACL', 'SETUSER', 'sm', '+xtrim');
    // The next commit replaces the first snapshot, trims the log below it, and records the trim.
    await eventually(snapshotId, (id) => id !== first, 5_000);
    expect(await admin('GET', KEYS.trimmed)).toBe(first);
  });
});

describe.skipIf(redisTool.skipReason !== undefined)("Redis' eviction policy, read again while the replica runs", () => {
  const said = (app: TestApp, start: string) => app.logs.lines.filter((line) => String(line.msg).startsWith(start));
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('warns once of a policy that may evict, set under a running replica, and says when it is noeviction again', async () => {
    const a = await open({ evictionCheckMs: 100 });
    expect(said(a, 'Redis may evict keys')).toEqual([]);
    await admin('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
    await eventually(
      () => said(a, 'Redis may evict keys').length,
      (count) => count > 0,
      5_000,
    );
    await pause(500);
    expect(said(a, 'Redis may evict keys')).toEqual([expect.objectContaining({ level: 'warn', maxmemory_policy: 'allkeys-lru' })]);
    await admin('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await eventually(
      () => said(a, 'Redis no longer evicts keys').length,
      (count) => count === 1,
      5_000,
    );
    expect(said(a, 'Redis may evict keys')).toHaveLength(1);
  });

  it('says once that Redis refuses INFO, and stays ready: INFO only serves the warning', async () => {
    const a = await open({ evictionCheckMs: 100 });
    await admin('ACL', 'SETUSER', 'sm', '-info');
    await eventually(
      () => said(a, 'Redis refuses INFO').length,
      (count) => count > 0,
      5_000,
    );
    await pause(500);
    expect(said(a, 'Redis refuses INFO')).toEqual([
      expect.objectContaining({ level: 'warn', err: expect.objectContaining({ message: expect.stringContaining('NOPERM') }) }),
    ]);
    expect(await readyz(a)).toBe(200);
    expect(await storeUp(a)).toBe(1);
    expect((await post(a, component(3, 'major_outage'))).body.status).toBe('applied');
  });
});
