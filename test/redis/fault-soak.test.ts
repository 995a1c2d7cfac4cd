import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { domainSamples, makeApp, sampleValue, type TestApp } from '../support/app.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNodeToExit, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { freePort } from '../support/prometheus.js';
import { seeded } from '../support/seeded.js';
import { eventually, redisStore, redisTool, startRedis, type RedisServer } from '../support/redis.js';

// A seeded soak: replicas on one real redis-server, fed random StatusMate histories (each
// delivery to a random replica, retried to random replicas as StatusMate does) while a fault
// injector picks among what Redis and the replicas go through in production. What must hold
// whatever the faults: every acknowledged event counted once on every ready replica, no two
// ready replicas at the same entry serving different states, no crash, one JSON line per log
// line, and every replica ready again once the faults stop.
//
// As a script: SOAK_SEED=7 SOAK_SECONDS=120 npx vitest run test/redis/fault-soak.test.ts
// (SOAK_SEED=random picks one and prints it; SOAK_LOSSES=all runs every loss of the operator phase,
// SOAK_REFUSAL_MS=5000 holds the replicas to the README's 5 s, SOAK_VERBOSE=1 prints each report).

const SEED = process.env.SOAK_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SOAK_SEED ?? 20261205);
const SOAK_MS = Number(process.env.SOAK_SECONDS ?? 20) * 1_000;
const REPLICAS = Number(process.env.SOAK_REPLICAS ?? 3);
/** How long the operator phase waits for every replica to refuse a lost log. */
const REFUSAL_WAIT_MS = Number(process.env.SOAK_REFUSAL_MS ?? 15_000);
/** StatusMate's attempts before it gives up on a delivery during the faults (the final sweep retries the rest). */
const ATTEMPTS = 5;

type Rng = () => number;
const between = (rng: Rng, low: number, high: number) => low + Math.floor(rng() * (high - low + 1));
const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const uuid = (kind: number, n: number) => `${String(kind).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
const IMPACTS = ['operational', 'degraded_performance', 'partial_outage', 'major_outage'] as const;
const LEVEL: Record<string, number> = { operational: 0, under_maintenance: 1, degraded_performance: 2, partial_outage: 3, major_outage: 4 };

type Event = { key: string; meta: Record<string, unknown> };
type History = { lanes: Event[][]; incidents: number; maintenances: number; finalImpact: Map<string, string> };

/** Incidents and maintenances on components of their own, and direct updates over a few shared components. */
function history(rng: Rng, size: { incidents: number; maintenances: number; components: number; updates: number }): History {
  const lanes: Event[][] = [];
  for (let n = 0; n < size.incidents; n++) {
    const affected = [{ impact: pick(rng, IMPACTS.slice(1)), component_details: { name: `Incident component ${n}`, component_uuid: uuid(1, n) } }];
    const meta = { uuid: uuid(2, n), title: `Incident ${n}`, start_at: at(n), affected_components: affected };
    lanes.push([
      { key: `incident ${n} created`, meta: { ...meta, type: 'incident_created', created_at: at(n) } },
      { key: `incident ${n} finished`, meta: { ...meta, type: 'incident_finished', created_at: at(n + 30), end_at: at(n + 30) } },
    ]);
  }
  for (let n = 0; n < size.maintenances; n++) {
    const affected = [{ impact: 'under_maintenance', component_details: { name: `Maintained ${n}`, component_uuid: uuid(3, n) } }];
    const meta = { uuid: uuid(4, n), title: `Maintenance ${n}`, start_at: at(n), end_at: at(n + 60), affected_components: affected };
    lanes.push([
      { key: `maintenance ${n} created`, meta: { ...meta, type: 'maintenance_created', created_at: at(n) } },
      { key: `maintenance ${n} started`, meta: { ...meta, type: 'maintenance_started', created_at: at(n + 1) } },
      { key: `maintenance ${n} finished`, meta: { ...meta, type: 'maintenance_finished', created_at: at(n + 21) } },
    ]);
  }
  const finalImpact = new Map<string, string>();
  for (let c = 0; c < size.components; c++) {
    const lane: Event[] = [];
    for (let u = 0; u < size.updates; u++) {
      const impact = pick(rng, IMPACTS);
      lane.push({
        key: `component ${c} update ${u}`,
        meta: { type: 'component_impact_updated', uuid: uuid(5, c), title: `Component ${c}`, impact, created_at: at(u) },
      });
      finalImpact.set(uuid(5, c), impact);
    }
    lanes.push(lane);
  }
  // Shuffled so that kinds interleave.
  for (let i = lanes.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [lanes[i], lanes[j]] = [lanes[j] as Event[], lanes[i] as Event[]];
  }
  return { lanes, incidents: size.incidents, maintenances: size.maintenances, finalImpact };
}

type Replica = { port: number; process: ExporterProcess; killedByUs: boolean; stopped: boolean; past: ExporterProcess[] };
/** A replica in this process that writes a snapshot every 200 ms, so that the log is trimmed under the others while they are stopped or cut off. */
type Snapshotter = { port: number; app: TestApp; server: Server };

type Soak = {
  redis: RedisServer;
  replicas: Replica[];
  snapshotter: Snapshotter | undefined;
  violations: string[];
  notes: string[];
  acknowledged: Set<string>;
  outcomes: Map<string, number>;
  answers: Map<number, number>;
  /** When Redis could take no write (stopped, asleep, out of memory): no event may be answered `applied` within one. */
  blocked: { what: string; from: number; to: number }[];
  applied: { key: string; port: number; sent: number; answered: number }[];
};

const newSoak = (redis: RedisServer, replicas: Replica[], snapshotter: Snapshotter | undefined): Soak => ({
  redis,
  replicas,
  snapshotter,
  violations: [],
  notes: [],
  acknowledged: new Set(),
  outcomes: new Map(),
  answers: new Map(),
  blocked: [],
  applied: [],
});

/** Starts an exporter process on `redis` listening on `port`. */
const replicaStarter = (redis: RedisServer) => (port: number) => startExporterProcess({ STORE: 'redis', REDIS_URL: redis.url, PORT: String(port) });

/** REPLICAS exporter processes, each on a port of its own (kept across its restarts); noted for the cleanup. */
async function startReplicas(startReplica: (port: number) => Promise<ExporterProcess>): Promise<Replica[]> {
  const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
  const replicas: Replica[] = [];
  for (const port of ports) replicas.push({ port, process: await startReplica(port), killedByUs: false, stopped: false, past: [] });
  soakReplicas = replicas;
  return replicas;
}

const urlOf = (replica: { port: number }) => `http://127.0.0.1:${replica.port}`;

/** Waits until every one of `replicas` answers /readyz 200 (at most 15 s). */
const allReady = (replicas: { port: number }[]) =>
  Promise.all(
    replicas.map((replica) =>
      eventually(
        () => readyStatus(urlOf(replica)),
        (status) => status === 200,
        15_000,
      ),
    ),
  );
const targets = (soak: Soak): { port: number; stopped?: boolean }[] => (soak.snapshotter ? [...soak.replicas, soak.snapshotter] : soak.replicas);

async function post(url: string, event: Event, attempt: number): Promise<{ status: number; outcome?: string }> {
  const response = await fetch(`${url}/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ meta: { ...event.meta, delivery_attempt: attempt } }),
    signal: AbortSignal.timeout(3_000),
  });
  const body = (await response.json().catch(() => ({}))) as { status?: string };
  return { status: response.status, outcome: body.status };
}

/** One delivery as StatusMate makes it: attempt 0 to a random replica, each failure retried (attempt + 1) to a random one; gives up after `attempts`. */
async function deliver(soak: Soak, rng: Rng, event: Event, firstAttempt: number, attempts: number): Promise<number | undefined> {
  for (let attempt = firstAttempt; attempt < firstAttempt + attempts; attempt++) {
    const target = pick(rng, targets(soak));
    try {
      const sent = Date.now();
      const { status, outcome } = await post(urlOf(target), event, attempt);
      if (outcome === 'applied') soak.applied.push({ key: `${event.key} attempt ${attempt}`, port: target.port, sent, answered: Date.now() });
      soak.answers.set(status, (soak.answers.get(status) ?? 0) + 1);
      if (status !== 200 && status !== 503) soak.violations.push(`${event.key} attempt ${attempt}: answered ${status}`);
      if (status === 200) {
        soak.acknowledged.add(event.key);
        soak.outcomes.set(outcome ?? '?', (soak.outcomes.get(outcome ?? '?') ?? 0) + 1);
        return undefined;
      }
    } catch {
      soak.answers.set(0, (soak.answers.get(0) ?? 0) + 1);
    }
    await sleep(between(rng, 50, 400));
  }
  return firstAttempt + attempts;
}

const scrape = async (url: string) => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
const readyStatus = (url: string) =>
  fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
    (response) => response.status,
    () => 0,
  );

async function redisCommand(url: string, ...args: string[]): Promise<unknown> {
  const client = createClient({ url, RESP: 2, socket: { reconnectStrategy: false, connectTimeout: 2_000 } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

/**
 * (b) At a poll, replicas that answer /readyz 200 before and after their scrape and report the same
 * last folded entry time serve the same domain lines. Entries of one millisecond share a time, so
 * a difference is a violation only when the log holds one entry of that millisecond.
 */
async function pollAgreement(soak: Soak): Promise<'compared' | 'skipped'> {
  const seen = await Promise.all(
    targets(soak).map(async (replica) => {
      if (replica.stopped) return undefined;
      const url = urlOf(replica);
      if ((await readyStatus(url)) !== 200) return undefined;
      const text = await scrape(url).catch(() => undefined);
      if (text === undefined || (await readyStatus(url)) !== 200) return undefined;
      return { port: replica.port, folded: sampleValue(text, 'statusmate_store_folded_timestamp_seconds'), lines: domainSamples(text) };
    }),
  );
  const ready = seen.filter((s) => s !== undefined);
  let compared = false;
  for (let i = 0; i < ready.length; i++) {
    for (let j = i + 1; j < ready.length; j++) {
      const [a, b] = [ready[i], ready[j]] as [NonNullable<(typeof ready)[number]>, NonNullable<(typeof ready)[number]>];
      if (a.folded === undefined || a.folded !== b.folded) continue;
      compared = true;
      if (JSON.stringify(a.lines) === JSON.stringify(b.lines)) continue;
      const ms = Math.round(a.folded * 1000);
      const sameMs = (await redisCommand(soak.redis.url, 'XRANGE', '{statusmate}:log', `${ms}-0`, `${ms}-18446744073709551615`).catch(() => undefined)) as
        unknown[] | undefined;
      const diff = [
        ...a.lines.filter((line) => !b.lines.includes(line)).map((l) => `${a.port}: ${l}`),
        ...b.lines.filter((line) => !a.lines.includes(line)).map((l) => `${b.port}: ${l}`),
      ];
      const message = `ready replicas ${a.port} and ${b.port} folded to ${ms} ms but differ: ${diff.slice(0, 6).join(' | ')}`;
      if (sameMs?.length === 1) soak.violations.push(message);
      else soak.notes.push(`(${sameMs?.length ?? '?'} entries of that ms) ${message}`);
    }
  }
  return compared ? 'compared' : 'skipped';
}

const FAULTS = ['redis-stop', 'replica-stop', 'replica-kill', 'client-kill', 'debug-sleep', 'maxmemory', 'redis-restart'] as const;
type Fault = (typeof FAULTS)[number];

async function inject(soak: Soak, rng: Rng, fault: Fault, startReplica: (port: number) => Promise<ExporterProcess>): Promise<string> {
  const { redis } = soak;
  switch (fault) {
    case 'redis-stop': {
      const ms = between(rng, 1_000, 4_000);
      redis.child.kill('SIGSTOP');
      const from = Date.now();
      await sleep(ms);
      soak.blocked.push({ what: `redis SIGSTOP ${ms} ms`, from, to: Date.now() });
      redis.child.kill('SIGCONT');
      return `redis SIGSTOP ${ms} ms`;
    }
    case 'replica-stop': {
      const replica = pick(rng, soak.replicas);
      const ms = between(rng, 1_000, 4_000);
      replica.stopped = true;
      replica.process.child.kill('SIGSTOP');
      await sleep(ms);
      replica.process.child.kill('SIGCONT');
      replica.stopped = false;
      return `replica ${replica.port} SIGSTOP ${ms} ms`;
    }
    case 'replica-kill': {
      const replica = pick(rng, soak.replicas);
      replica.stopped = true;
      replica.killedByUs = true;
      await stopProcess(replica.process, 'SIGKILL');
      replica.past.push(replica.process);
      await sleep(between(rng, 0, 1_000));
      replica.process = await startReplica(replica.port);
      replica.killedByUs = false;
      replica.stopped = false;
      return `replica ${replica.port} SIGKILL and restart`;
    }
    case 'client-kill':
      await redisCommand(redis.url, 'CLIENT', 'KILL', 'TYPE', 'normal');
      return 'CLIENT KILL TYPE normal';
    case 'debug-sleep': {
      const seconds = between(rng, 1, 3);
      await redisCommand(redis.url, 'DEBUG', 'SLEEP', String(seconds));
      return `DEBUG SLEEP ${seconds}`;
    }
    case 'maxmemory': {
      const ms = between(rng, 1_000, 3_000);
      await redisCommand(redis.url, 'CONFIG', 'SET', 'maxmemory', '1');
      const from = Date.now();
      await sleep(ms);
      soak.blocked.push({ what: `maxmemory 1 for ${ms} ms`, from, to: Date.now() });
      await redisCommand(redis.url, 'CONFIG', 'SET', 'maxmemory', '0');
      return `maxmemory 1 for ${ms} ms`;
    }
    case 'redis-restart': {
      const signal = rng() < 0.5 ? 'SIGTERM' : 'SIGKILL';
      await redis.stop(signal);
      await sleep(between(rng, 200, 1_500));
      await redis.restart();
      // AOF fsynced on every write: the restarted server holds every acknowledged entry.
      return `redis ${signal} and restart from its AOF`;
    }
  }
}

let soakRedis: RedisServer | undefined;
let soakReplicas: Replica[] = [];
let soakSnapshotter: Snapshotter | undefined;
afterEach(async () => {
  if (soakSnapshotter) {
    const { server, app } = soakSnapshotter;
    await new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await app.close();
    soakSnapshotter = undefined;
  }
  for (const replica of soakReplicas) replica.process.child.kill('SIGCONT');
  soakRedis?.child.kill('SIGCONT');
  await Promise.all(soakReplicas.map((replica) => stopProcess(replica.process, 'SIGKILL')));
  soakReplicas = [];
  await soakRedis?.stop('SIGKILL');
  if (soakRedis) rmSync(soakRedis.dir, { recursive: true, force: true });
  soakRedis = undefined;
});

describe.skipIf(redisTool.skipReason !== undefined)('replicas on Redis under random faults', () => {
  it(`count every acknowledged event once, agree when ready, and all come back (seed ${SEED})`, async () => {
    const rng = seeded(SEED);
    const faultRng = seeded(SEED ^ 0x5bd1e995);
    const redis = await startRedis({ appendfsync: 'always', args: ['--enable-debug-command', 'yes', '--maxmemory-policy', 'noeviction'] });
    soakRedis = redis;
    const startReplica = replicaStarter(redis);
    const replicas = await startReplicas(startReplica);
    let snapshotter: Snapshotter | undefined;
    if (process.env.SOAK_SNAPSHOTTER !== 'false') {
      const app = await makeApp({ store: redisStore({ url: redis.url }), snapshots: { checkMs: 200, maxAgeMs: 0 } });
      const server = createServer(app.main);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      snapshotter = { port: typeof address === 'object' && address !== null ? address.port : 0, app, server };
      soakSnapshotter = snapshotter;
    }
    const soak = newSoak(redis, replicas, snapshotter);
    await allReady(targets(soak));

    const plan = history(rng, { incidents: 25, maintenances: 15, components: 5, updates: 12 });
    const total = plan.lanes.reduce((sum, lane) => sum + lane.length, 0);
    const unacknowledged: { event: Event; nextAttempt: number }[] = [];
    const log: string[] = [];
    const phase = { faulting: true };
    const started = Date.now();

    // The sender: the lanes in parallel, each event after the one before it was answered or given up.
    const sending = Promise.all(
      plan.lanes.map(async (lane, index) => {
        const laneRng = seeded(SEED + index + 1);
        await sleep(between(laneRng, 0, SOAK_MS / 2));
        for (const event of lane) {
          const next = await deliver(soak, laneRng, event, 0, ATTEMPTS);
          if (next !== undefined) unacknowledged.push({ event, nextAttempt: next });
          await sleep(between(laneRng, 0, 300));
        }
      }),
    );
    // The injector: one fault at a time, until the time is up.
    const injecting = (async () => {
      while (Date.now() - started < SOAK_MS) {
        await sleep(between(faultRng, 300, 1_500));
        const fault = pick(faultRng, FAULTS);
        const at = Date.now() - started;
        try {
          log.push(`${at} ms: ${await inject(soak, faultRng, fault, startReplica)}`);
        } catch (error) {
          soak.violations.push(`${at} ms: injecting ${fault} failed: ${String(error)}`);
        }
      }
      phase.faulting = false;
    })();
    // The watcher: (b) at every poll while faults run.
    let comparisons = 0;
    const watching = (async () => {
      while (phase.faulting) {
        if ((await pollAgreement(soak).catch(() => 'skipped')) === 'compared') comparisons += 1;
        await sleep(200);
      }
    })();
    await Promise.all([sending, injecting, watching]);

    // (d) Faults stopped: every replica ready again within 15 s.
    for (const replica of targets(soak)) {
      await eventually(
        () => readyStatus(urlOf(replica)),
        (status) => status === 200,
        15_000,
      ).catch((error: unknown) => soak.violations.push(`replica ${replica.port} not ready 15 s after the faults stopped: ${String(error)}`));
    }
    // StatusMate's later retries of what it gave up on, until each is answered 200.
    for (const { event, nextAttempt } of unacknowledged) {
      if (soak.acknowledged.has(event.key)) continue;
      if ((await deliver(soak, rng, event, nextAttempt, 20)) !== undefined) soak.violations.push(`${event.key}: no 200 after the faults stopped`);
    }
    expect(soak.acknowledged.size).toBe(total);

    // (a) Every replica: the same lines, and the counts the history implies.
    const samples = await eventually(
      () => Promise.all(targets(soak).map(async (replica) => domainSamples(await scrape(urlOf(replica))))),
      (all) => all.every((lines) => JSON.stringify(lines) === JSON.stringify(all[0])),
      10_000,
    ).catch((error: unknown) => {
      soak.violations.push(`replicas did not converge: ${String(error).slice(0, 1500)}`);
      return [] as string[][];
    });
    for (const [index, lines] of samples.entries()) {
      const text = lines.join('\n');
      const page = { status_page: 'default' };
      const expectEqual = (what: string, actual: number | undefined, expected: number) => {
        if (actual !== expected) soak.violations.push(`replica ${targets(soak)[index]?.port}: ${what} is ${actual}, the acknowledged history says ${expected}`);
      };
      expectEqual('incidents_created_total', sampleValue(text, 'statusmate_incidents_created_total', page), plan.incidents);
      expectEqual('incidents_finished_total', sampleValue(text, 'statusmate_incidents_finished_total', page), plan.incidents);
      expectEqual('incidents_active', sampleValue(text, 'statusmate_incidents_active', page), 0);
      expectEqual('maintenances_created_total', sampleValue(text, 'statusmate_maintenances_created_total', page), plan.maintenances);
      expectEqual('maintenances_started_total', sampleValue(text, 'statusmate_maintenances_started_total', page), plan.maintenances);
      expectEqual('maintenances_finished_total', sampleValue(text, 'statusmate_maintenances_finished_total', page), plan.maintenances);
      for (const [component, impact] of plan.finalImpact) {
        expectEqual(
          `impact level of ${component}`,
          sampleValue(text, 'statusmate_component_impact_level', { component_uuid: component }),
          LEVEL[impact] as number,
        );
      }
      for (let n = 0; n < plan.incidents; n++)
        expectEqual(`impact level of ${uuid(1, n)}`, sampleValue(text, 'statusmate_component_impact_level', { component_uuid: uuid(1, n) }), 0);
    }

    // (c) No replica exited but those the injector killed; no unhandled rejection; every stdout line was JSON.
    for (const replica of replicas) {
      for (const process of [...replica.past, replica.process]) {
        if (process !== replica.process && process.child.signalCode === 'SIGKILL') {
          // killed by the injector
        } else if (process.child.exitCode !== null || process.child.signalCode !== null) {
          soak.violations.push(`replica ${replica.port} exited by itself (${process.child.exitCode ?? process.child.signalCode})`);
        }
        for (const line of process.logs) {
          if ('stderr' in line) soak.violations.push(`replica ${replica.port} wrote to stderr: ${String(line.stderr).slice(0, 300)}`);
          else if (typeof line.msg === 'string' && /unhandled|uncaught/i.test(line.msg))
            soak.violations.push(`replica ${replica.port}: ${JSON.stringify(line).slice(0, 300)}`);
          else if (typeof line.level !== 'string' && typeof line.level !== 'number')
            soak.violations.push(`replica ${replica.port}: a line without a level: ${JSON.stringify(line).slice(0, 300)}`);
        }
      }
    }

    // A 200 `applied` sent after Redis stopped taking writes and answered before it took them again was never committed.
    for (const window of soak.blocked) {
      for (const answer of soak.applied) {
        if (answer.sent > window.from && answer.answered < window.to)
          soak.violations.push(`${answer.key} answered applied by ${answer.port} during ${window.what}`);
      }
    }
    if (snapshotter) {
      for (const line of snapshotter.app.logs.lines) {
        if (typeof line.msg === 'string' && /unhandled|uncaught/i.test(line.msg)) soak.violations.push(`snapshotter: ${JSON.stringify(line).slice(0, 300)}`);
      }
    }
    const allLines = [...replicas.flatMap((replica) => [...replica.past, replica.process].flatMap((p) => p.logs)), ...(snapshotter?.app.logs.lines ?? [])];
    const countMsg = (pattern: RegExp) => allLines.filter((line) => typeof line.msg === 'string' && pattern.test(line.msg)).length;
    const report = {
      reloads: countMsg(/^the log no longer holds/),
      snapshots: countMsg(/^wrote a snapshot/),
      refusals: countMsg(/^refusing the store/),
      seed: SEED,
      events: total,
      faults: log,
      comparisons,
      answers: Object.fromEntries(soak.answers),
      outcomes: Object.fromEntries(soak.outcomes),
      gaveUp: unacknowledged.length,
      notes: soak.notes.slice(0, 10),
    };
    if (process.env.SOAK_VERBOSE || soak.violations.length > 0) console.log(JSON.stringify(report, null, 1));
    expect(soak.violations).toEqual([]);
    // The injector really ran (which faults is the seed's; what they hit is the report's).
    expect(log.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

const LOSSES = ['flushall', 'restart-empty', 'del-log', 'restart-empty-with-a-replica', 'restart-empty-replica-waiting'] as const;
/** The fixed test runs two of them (under a minute with the soak); SOAK_LOSSES=all (or a list) runs others. */
const LOSSES_RUN = LOSSES.filter(
  (loss) => process.env.SOAK_LOSSES === 'all' || (process.env.SOAK_LOSSES ?? 'del-log,restart-empty-with-a-replica').split(',').includes(loss),
);

describe.skipIf(redisTool.skipReason !== undefined)('replicas on Redis when the log is lost under them', () => {
  it.each(LOSSES_RUN)(
    '%s: no replica ready on another state, every one refusing, and reset-redis brings them back',
    async (loss) => {
      const rng = seeded(SEED + LOSSES.indexOf(loss));
      const redis = await startRedis({ appendfsync: 'always', args: ['--maxmemory-policy', 'noeviction'] });
      soakRedis = redis;
      const startReplica = replicaStarter(redis);
      const replicas = await startReplicas(startReplica);
      const soak = newSoak(redis, replicas, undefined);
      await allReady(replicas);
      const before = history(rng, { incidents: 5, maintenances: 3, components: 3, updates: 3 });
      for (const lane of before.lanes) for (const event of lane) await deliver(soak, rng, event, 0, 20);

      // The loss, with deliveries going on (StatusMate does not wait for the operator).
      const restarted = pick(rng, replicas);
      switch (loss) {
        case 'flushall':
          await redisCommand(redis.url, 'FLUSHALL');
          break;
        case 'del-log':
          await redisCommand(redis.url, 'DEL', '{statusmate}:log');
          break;
        case 'restart-empty':
        case 'restart-empty-with-a-replica':
          // Redis without persistence restarted, or restarted on an empty volume: it comes back empty.
          if (loss === 'restart-empty-with-a-replica') await stopProcess(restarted.process, 'SIGKILL');
          await redis.stop('SIGKILL');
          rmSync(join(redis.dir, 'appendonlydir'), { recursive: true, force: true });
          await redis.restart();
          // A replica rescheduled with it (the node that ran both died) starts while the others reconnect.
          if (loss === 'restart-empty-with-a-replica') {
            restarted.past.push(restarted.process);
            restarted.process = await startReplica(restarted.port);
          }
          break;
        case 'restart-empty-replica-waiting':
          // Down long enough for the running replicas' back-off to reach its 2 s; a replica
          // rescheduled meanwhile starts while Redis is down, and waits for it.
          await stopProcess(restarted.process, 'SIGKILL');
          await redis.stop('SIGKILL');
          rmSync(join(redis.dir, 'appendonlydir'), { recursive: true, force: true });
          await sleep(4_000);
          restarted.past.push(restarted.process);
          restarted.process = await startReplica(restarted.port);
          await redis.restart();
          break;
        default:
          throw new Error(`no such loss: ${String(loss satisfies never)}`);
      }
      const after = history(seeded(SEED + 99), { incidents: 2, maintenances: 0, components: 2, updates: 2 });
      // Every replica refuses (not ready, store_up 0). The README promises 5 s; the fixed test waits
      // longer (no timing assertion) and reports how long it took; SOAK_REFUSAL_MS=5000 holds it to 5 s.
      const refusedAfter = new Map<number, number>();
      const lostAt = Date.now();
      while (refusedAfter.size < replicas.length && Date.now() - lostAt < REFUSAL_WAIT_MS) {
        // Webhooks keep coming; none may be applied onto a state that is not the shared one.
        const event = pick(rng, after.lanes.flat());
        const target = pick(rng, replicas);
        const answer = await post(urlOf(target), event, 0).catch(() => undefined);
        if (answer?.outcome === 'applied') soak.violations.push(`${loss}: ${target.port} applied ${event.key} after the log was lost`);
        for (const replica of replicas) {
          if (refusedAfter.has(replica.port)) continue;
          const text = await scrape(urlOf(replica)).catch(() => '');
          if ((await readyStatus(urlOf(replica))) === 503 && sampleValue(text, 'statusmate_store_up') === 0)
            refusedAfter.set(replica.port, Date.now() - lostAt);
        }
      }
      for (const replica of replicas) {
        if (!refusedAfter.has(replica.port))
          soak.violations.push(`${loss}: replica ${replica.port} still ready or store_up 1 ${REFUSAL_WAIT_MS} ms after the loss`);
      }
      // Still refusing a moment later: an operator must act.
      await sleep(1_500);
      for (const replica of replicas) {
        const status = await readyStatus(urlOf(replica));
        if (status !== 503)
          soak.violations.push(`${loss}: replica ${replica.port} answers /readyz ${status} after the log was lost, before any operator acted`);
      }
      const epochs = await Promise.all(
        replicas.map(async (replica) => (await scrape(urlOf(replica))).split('\n').find((line) => line.startsWith('statusmate_store_epoch_info{'))),
      );

      // The operator: reset-redis --yes, then restart every replica.
      const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
      const reset = await runNodeToExit([cli, 'reset-redis', '--yes'], { REDIS_URL: redis.url }, 30_000, 'reset-redis');
      expect(reset.code, reset.stderr).toBe(0);
      for (const replica of replicas) {
        await stopProcess(replica.process, 'SIGTERM');
        replica.past.push(replica.process);
        replica.process = await startReplica(replica.port);
      }
      await allReady(replicas);
      const fresh = history(seeded(SEED + 7), { incidents: 3, maintenances: 2, components: 2, updates: 2 });
      for (const lane of fresh.lanes)
        for (const event of lane)
          if ((await deliver(soak, rng, event, 0, 20)) !== undefined) soak.violations.push(`${loss}: ${event.key} never answered 200 after the reset`);
      const samples = await eventually(
        () => Promise.all(replicas.map(async (replica) => domainSamples(await scrape(urlOf(replica))))),
        (all) => all.every((lines) => JSON.stringify(lines) === JSON.stringify(all[0])),
        10_000,
      );
      const text = (samples[0] ?? []).join('\n');
      // Only what came after the reset: the lost log's events are gone with it.
      expect(sampleValue(text, 'statusmate_incidents_created_total', { status_page: 'default' })).toBe(fresh.incidents);
      expect(sampleValue(text, 'statusmate_maintenances_finished_total', { status_page: 'default' })).toBe(fresh.maintenances);
      for (const replica of replicas) {
        for (const process of replica.past) {
          if (process.child.signalCode === null && process.child.exitCode !== 0)
            soak.violations.push(`${loss}: replica ${replica.port} exited ${process.child.exitCode} on SIGTERM`);
        }
      }
      if (soak.violations.length > 0 || process.env.SOAK_VERBOSE)
        console.log(JSON.stringify({ seed: SEED, loss, refusedAfterMs: Object.fromEntries(refusedAfter), epochs, violations: soak.violations }, null, 1));
      expect(soak.violations).toEqual([]);
    },
    90_000,
  );
});
