import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { redisKeys } from '../../src/store/redis-format.js';
import { makeApp, whenReady, type TestApp } from '../support/app.js';
import { eventually, redisStore, redisTool, startRedis, type RedisServer } from '../support/redis.js';
import {
  componentUpdate as component,
  postEvent as post,
  readyStatus as readyz,
  refusalLines as refusals,
  refusedWithin5s,
  storeUpValue as storeUp,
} from '../support/replica-probes.js';

// The Redis under running replicas turned into a replica of another (REPLICAOF, or a failover
// that left the exporter's address on a read-only replica): it answers reads and refuses writes
// (READONLY), and its dataset is replaced by its new primary's, which may not hold the log.

const KEYS = redisKeys('statusmate:');
/** A replica syncs at once, not after the default 5 s wait for other replicas to join a diskless sync. */
const SYNC_NOW = ['--repl-diskless-sync-delay', '0'];
const REFUSES_WRITES = 'the store refuses writes: not ready until a write succeeds';

let servers: RedisServer[] = [];
let apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
  servers = [];
});

const redisServer = async (args: string[] = SYNC_NOW) => {
  const server = await startRedis({ appendfsync: 'everysec', args });
  servers.push(server);
  return server;
};
const open = async (url: string, options: { waitReady?: boolean; newLogWaitMs?: number } = {}) => {
  const app = await makeApp({
    store: redisStore({ url, ...(options.newLogWaitMs === undefined ? {} : { newLogWaitMs: options.newLogWaitMs }) }),
    snapshots: { checkMs: 200, maxAgeMs: 0 },
  });
  apps.push(app);
  if (options.waitReady ?? true) await whenReady(app);
  return app;
};
const command = async (server: RedisServer, ...args: string[]) => {
  const client = createClient({ url: server.url, RESP: 2 });
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
};
/** Makes `server` a replica of `primary` and resolves once it has synced (its dataset is the primary's). */
const replicate = async (server: RedisServer, primary: RedisServer) => {
  await command(server, 'REPLICAOF', '127.0.0.1', String(primary.port));
  await eventually(
    async () => z.string().parse(await command(server, 'INFO', 'replication')),
    (info) => /master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info),
    10_000,
  );
};

describe.skipIf(redisTool.skipReason !== undefined)('a Redis made a read-only replica under running replicas', () => {
  it('of a copy of its own data (a failover): 503, not ready and store_up 0 within 5 s, READONLY logged once, and back without a restart after REPLICAOF NO ONE', async () => {
    const [primary, standby] = [await redisServer(), await redisServer()];
    const a = await open(primary.url);
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    // The standby holds what the primary holds; then the roles swap, leaving the exporter's address on the read-only one.
    await replicate(standby, primary);
    await command(standby, 'REPLICAOF', 'NO', 'ONE');
    await replicate(primary, standby);

    await refusedWithin5s(a);
    // Said by the next probe (every 2 s) or append, whichever meets READONLY first; then not again.
    const refusedWrites = () => a.logs.lines.filter((line) => line.msg === REFUSES_WRITES);
    await eventually(
      () => refusedWrites().length,
      (count) => count > 0,
      5_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(refusedWrites()).toEqual([expect.objectContaining({ level: 'error', err: expect.stringMatching(/^READONLY /) })]);
    // The log is still the one it folded: nothing for an operator to restore.
    expect(refusals(a)).toEqual([]);

    await command(primary, 'REPLICAOF', 'NO', 'ONE');
    await eventually(
      () => readyz(a),
      (status) => status === 200,
      5_000,
    );
    expect(await storeUp(a)).toBe(1);
    expect((await post(a, component(2, 'major_outage'))).body.status).toBe('applied');
    expect(a.ingestor.state.componentCount).toBe(2);
  });

  it('of an empty Redis: it refuses the log only once it has marked it lost, so that a replica started after REPLICAOF NO ONE refuses too instead of starting an empty log', async () => {
    // The sync waits 2 s (as by default, 5 s, a primary waits for more replicas to join): meanwhile
    // the read-only replica still holds the log, and the replica's fold, synced again on it, is
    // reading when the log vanishes under it.
    const [primary, empty] = [await redisServer(), await redisServer(['--repl-diskless-sync-delay', '2'])];
    const a = await open(primary.url);
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    await replicate(primary, empty);
    await refusedWithin5s(a);
    // Read-only, the mark cannot be written: refusing now would leave none once Redis takes writes
    // again. A few of the fold's reads' worth (each waits up to 1 s for entries).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(refusals(a)).toEqual([]);
    expect(await command(primary, 'EXISTS', KEYS.lost)).toBe(0);

    await command(primary, 'REPLICAOF', 'NO', 'ONE');
    await eventually(
      () => refusals(a).length,
      (count) => count === 1,
      5_000,
    );
    expect(String(refusals(a)[0]?.reason)).toMatch(/is gone: Redis was flushed/);
    expect(await command(primary, 'GET', KEYS.lost)).toMatch(/^\S+ \d{4}-\d\d-\d\dT/);
    // A replica started later (a pod rescheduled after the failover) does not begin an empty state as if nothing happened.
    const late = await open(primary.url, { waitReady: false, newLogWaitMs: 1_000 });
    await eventually(
      async () => ({ refused: refusals(late).length, ready: await readyz(late) }),
      ({ refused, ready }) => {
        expect(ready).toBe(503);
        return refused === 1;
      },
      8_000,
    );
    expect(String(refusals(late)[0]?.reason)).toContain('lost under the replicas that folded it');
    expect((await post(late, component(2, 'major_outage'))).status).toBe(503);
    expect(await command(primary, 'EXISTS', KEYS.epoch)).toBe(0);
  });
});
