import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisStore } from '../../src/store/redis.js';
import { makeApp, type TestApp, type TestAppOptions } from './app.js';
import { redisStore } from './redis.js';
import { readyStatus } from './replica-probes.js';

// What the drills on replicas of one Redis log share (test/redis/core-series-drill.test.ts,
// test/redis/alerts-series-drill.test.ts): holding one replica's fold, and waiting for the
// replicas to reach the log's end before their series are compared.

/** How long the replicas may take to reach the log's end after a step (real time: Date is faked). */
export const CATCH_UP_MS = 10_000;

/**
 * Holds a replica's fold: its reads wait until released (one in flight still returns), as a
 * replica that fell behind (paused, starved of CPU) does. The others go on, snapshot and trim the
 * log under it; once released it finds the entries after its point trimmed, reloads the snapshot
 * and folds on from there (README "Redis": a replica further behind reloads).
 */
export type ReadGate = { held: boolean; hold(): void; release(): void };

export function gated(store: RedisStore): ReadGate {
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const read = store.read.bind(store);
  store.read = async (after, max) => {
    while (gate !== undefined) await gate.promise;
    return read(after, max);
  };
  return {
    get held() {
      return gate !== undefined;
    },
    hold() {
      let open = () => {};
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate ??= { promise, open };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
  };
}

/**
 * Resolves once every replica is ready, its fold at the log's end as it stands after the step.
 * Polled by real time: a replica whose reader last answered before the faked clock jumped says
 * "unreachable" until its read returns, which an appended entry makes at once.
 */
export async function caughtUp(replicas: readonly TestApp[]): Promise<void> {
  const deadline = performance.now() + CATCH_UP_MS;
  for (;;) {
    const statuses = await Promise.all(replicas.map(readyStatus));
    if (statuses.every((status) => status === 200)) return;
    if (performance.now() > deadline) throw new Error(`the replicas did not reach the log's end within ${CATCH_UP_MS} ms: /readyz ${statuses.join(', ')}`);
    await sleep(10);
  }
}

export type Replica = { app: TestApp; gate: ReadGate };

/**
 * Starts a replica on the Redis log at `url` under `keyPrefix`, its fold behind a gate (kept in
 * `gates`, to be released before the test's apps are closed: a held fold would hold the close),
 * the app in `apps` (closed after the test).
 */
export async function openGatedReplica(
  where: { url: string; keyPrefix: string },
  options: TestAppOptions,
  gates: ReadGate[],
  apps: TestApp[],
): Promise<Replica> {
  const makeStore = redisStore(where);
  let gate: ReadGate | undefined;
  const app = await makeApp({
    ...options,
    store: (logger) => {
      const store = makeStore(logger);
      gate = gated(store);
      gates.push(gate);
      return store;
    },
  });
  apps.push(app);
  return { app, gate: gate as ReadGate };
}

/** Stops a replica, cleanly or as a crash does (no last snapshot: the next start folds more of the log). */
export async function stopReplica({ app, gate }: Replica, crash: boolean, apps: TestApp[]): Promise<void> {
  // A held fold would hold the close too.
  gate.release();
  apps.splice(apps.indexOf(app), 1);
  if (crash) await app.store.close();
  await app.close();
}
