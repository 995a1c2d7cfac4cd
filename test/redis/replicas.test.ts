import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { domainSamples, sampleValue } from '../support/app.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { freePort } from '../support/prometheus.js';
import { eventually, redisTool, startRedis, type RedisServer } from '../support/redis.js';
import { historyId, historyLanes, type Delivery } from '../support/history.js';

// Several exporter processes on one real redis-server, fed like StatusMate feeds them: a sender
// per object, each delivery retried (delivery_attempt + 1) on anything but a 200, to the next
// replica. Whatever dies meanwhile, every counter ends where the history says, on every replica.

const INCIDENTS = 30;
const MAINTENANCES = 20;
const DIRECT_UPDATES = 20;
const TOTAL = INCIDENTS * 2 + MAINTENANCES * 3 + DIRECT_UPDATES;
const id = historyId;
const history = () => historyLanes({ incidents: INCIDENTS, maintenances: MAINTENANCES, directUpdates: DIRECT_UPDATES });

type Stats = { attempts: number; failures: number; acknowledged: number; resent: number; outcomes: Map<string, number> };
const newStats = (): Stats => ({ attempts: 0, failures: 0, acknowledged: 0, resent: 0, outcomes: new Map() });

async function send(url: string, delivery: Delivery, attempt: number): Promise<{ status: number; outcome?: string }> {
  const response = await fetch(`${url}/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...delivery, meta: { ...delivery.meta, delivery_attempt: attempt } }),
    signal: AbortSignal.timeout(3_000),
  });
  const body = (await response.json().catch(() => ({}))) as { status?: string };
  return { status: response.status, outcome: body.status };
}

const count = (stats: Stats, outcome: string | undefined) => stats.outcomes.set(outcome ?? '?', (stats.outcomes.get(outcome ?? '?') ?? 0) + 1);

/** Delivers until a replica answers 200, moving to the next replica after each failure. */
async function deliver(urls: () => string[], first: number, delivery: Delivery, stats: Stats): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    stats.attempts += 1;
    const targets = urls();
    try {
      const { status, outcome } = await send(targets[(first + attempt) % targets.length] as string, delivery, attempt);
      if (status === 200) {
        count(stats, outcome);
        return;
      }
    } catch {
      // refused or reset while a replica or Redis is down: retry
    }
    stats.failures += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`gave up delivering ${JSON.stringify(delivery.meta)}`);
}

/** Streams the history round-robin over the replicas; a third of the deliveries is re-sent at once (attempt 1) to another replica. */
function stream(urls: () => string[], stats: Stats): Promise<void> {
  let next = 0;
  const lanes = history();
  return Promise.all(
    lanes.map(async (lane, index) => {
      await new Promise((resolve) => setTimeout(resolve, (index % 15) * 5));
      for (const delivery of lane) {
        const first = next++;
        await deliver(urls, first, delivery, stats);
        if (first % 3 === 0) {
          // Re-sent at once to another replica, as StatusMate does after a lost answer. Sent after
          // the 200: a delivery with delivery_attempt 0 always counts as new (only a retry can be
          // a duplicate), so a copy that overtook its original would rightly count too.
          stats.resent += 1;
          const copy = await send(urls()[(first + 1) % urls().length] as string, delivery, 1).catch(() => undefined);
          if (copy?.status === 200) count(stats, copy.outcome);
        }
        stats.acknowledged += 1;
      }
    }),
  ).then(() => undefined);
}

const scrape = async (url: string) => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
const readyStatus = (url: string) =>
  fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.status,
    () => 0,
  );

/** Every replica serves the same domain lines; resolves to them. */
async function converged(urls: string[]): Promise<string[]> {
  const all = await eventually(
    () => Promise.all(urls.map(async (url) => domainSamples(await scrape(url)))),
    (samples) => samples.every((lines) => JSON.stringify(lines) === JSON.stringify(samples[0])),
  );
  return all[0] as string[];
}

function expectHistoryCounted(lines: string[]): void {
  const text = lines.join('\n');
  const page = { status_page: 'default' };
  expect(sampleValue(text, 'statusmate_incidents_created_total', page)).toBe(INCIDENTS);
  expect(sampleValue(text, 'statusmate_incidents_finished_total', page)).toBe(INCIDENTS);
  expect(sampleValue(text, 'statusmate_incidents_active', page)).toBe(0);
  expect(sampleValue(text, 'statusmate_incident_duration_seconds_count', page)).toBe(INCIDENTS);
  expect(sampleValue(text, 'statusmate_incident_duration_seconds_sum', page)).toBe(INCIDENTS * 30 * 60);
  expect(sampleValue(text, 'statusmate_maintenances_created_total', page)).toBe(MAINTENANCES);
  expect(sampleValue(text, 'statusmate_maintenances_started_total', page)).toBe(MAINTENANCES);
  expect(sampleValue(text, 'statusmate_maintenances_finished_total', page)).toBe(MAINTENANCES);
  expect(sampleValue(text, 'statusmate_maintenance_duration_seconds_sum', page)).toBe(MAINTENANCES * 20 * 60);
  const levels = lines.filter((line) => line.startsWith('statusmate_component_impact_level{'));
  expect(levels).toHaveLength(INCIDENTS + MAINTENANCES + DIRECT_UPDATES);
  for (let n = 0; n < DIRECT_UPDATES; n++) expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: id(5, n) })).toBe(3);
  for (let n = 0; n < INCIDENTS; n++) expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: id(1, n) })).toBe(0);
}

let redis: RedisServer | undefined;
let replicas: ExporterProcess[] = [];
afterEach(async () => {
  await Promise.all(replicas.map((replica) => stopProcess(replica, 'SIGKILL')));
  replicas = [];
  await redis?.stop('SIGKILL');
  redis = undefined;
});

const startReplica = async (url: string, port = 0) => {
  const replica = await startExporterProcess({ STORE: 'redis', REDIS_URL: url, PORT: String(port) });
  replicas.push(replica);
  return replica;
};
const whenReady = (urls: string[]) =>
  Promise.all(
    urls.map((url) =>
      eventually(
        () => readyStatus(url),
        (status) => status === 200,
        15_000,
      ),
    ),
  );

describe.skipIf(redisTool.skipReason !== undefined)('several exporter processes on one Redis', () => {
  it.each([2, 3])('with %i replicas, round-robin and re-sent deliveries: every event counted once, the same lines on all', async (count) => {
    redis = await startRedis();
    const started = await Promise.all(Array.from({ length: count }, () => startReplica((redis as RedisServer).url)));
    const urls = started.map((replica) => replica.url);
    await whenReady(urls);
    const stats = newStats();
    await stream(() => urls, stats);
    expect(stats.acknowledged).toBe(TOTAL);
    expect(stats.resent).toBeGreaterThan(TOTAL / 4);
    // Each event applied by exactly one answer, original or copy; every other 200 a duplicate.
    expect(stats.outcomes.get('applied')).toBe(TOTAL);
    expect([...stats.outcomes.keys()].sort()).toEqual(['applied', 'duplicate']);
    expectHistoryCounted(await converged(urls));
  });

  it('loses nothing and doubles nothing when a replica is SIGKILLed mid-stream, and the restarted replica converges', async () => {
    redis = await startRedis();
    const ports = [await freePort(), await freePort()];
    const url = redis.url;
    const a = await startReplica(url, ports[0]);
    const b = await startReplica(url, ports[1]);
    const urls = [a.url, b.url];
    await whenReady(urls);
    const stats = newStats();
    const streaming = stream(() => urls, stats);
    while (stats.acknowledged < TOTAL / 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await stopProcess(b, 'SIGKILL');
    while (stats.acknowledged < (TOTAL * 2) / 3) await new Promise((resolve) => setTimeout(resolve, 5));
    // The restarted replica listens where b did, so `urls` reaches it (afterEach stops it).
    await startReplica(url, ports[1]);
    await streaming;
    expect(stats.acknowledged).toBe(TOTAL);
    expect(stats.failures).toBeGreaterThan(0); // the kill really hit deliveries
    await whenReady(urls);
    // An append answered 503 may still be in the log (counted, its retry a duplicate): never more applied answers than events.
    expect(stats.outcomes.get('applied')).toBeLessThanOrEqual(TOTAL);
    expectHistoryCounted(await converged(urls));
  });

  it('answers 503 while Redis is SIGKILLed, loses nothing acknowledged once it restarts from its AOF, and every replica is ready again', async () => {
    redis = await startRedis({ appendfsync: 'always' });
    const server = redis;
    const started = [await startReplica(server.url), await startReplica(server.url)];
    const urls = started.map((replica) => replica.url);
    await whenReady(urls);
    const stats = newStats();
    const streaming = stream(() => urls, stats);
    while (stats.acknowledged < TOTAL / 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await server.stop('SIGKILL');
    const failuresBefore = stats.failures;
    await eventually(
      () => Promise.all(urls.map(readyStatus)),
      (statuses) => statuses.every((status) => status === 503),
    );
    const down = await send(urls[0] as string, { meta: { type: 'component_impact_updated', uuid: id(9, 1), impact: 'major_outage' } }, 0);
    expect(down.status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stats.failures).toBeGreaterThan(failuresBefore);
    await server.restart();
    await streaming;
    await whenReady(urls);
    expect(stats.acknowledged).toBe(TOTAL);
    expect(stats.outcomes.get('applied')).toBeLessThanOrEqual(TOTAL);
    expectHistoryCounted(await converged(urls));
    for (const replica of started) expect(replica.logs.some((line) => line.msg === 'Redis reachable again')).toBe(true);
  });

  it('report the epoch of the log they fold: one for the replicas of one Redis, another for a replica on another Redis', async () => {
    redis = await startRedis();
    const other = await startRedis();
    try {
      const started = await Promise.all([startReplica(redis.url), startReplica(redis.url), startReplica(other.url)]);
      await whenReady(started.map((replica) => replica.url));
      const epochOf = async (url: string) => {
        const client = createClient({ url, RESP: 2 });
        await client.connect();
        try {
          return await client.get('{statusmate}:epoch');
        } finally {
          client.destroy();
        }
      };
      const [shared, apart] = [await epochOf(redis.url), await epochOf(other.url)];
      expect(shared).toMatch(/^[\w-]{6,}$/);
      expect(apart).not.toBe(shared);
      const reported = await Promise.all(
        started.map(async (replica) => {
          const text = await scrape(replica.url);
          return text.split('\n').filter((line) => line.startsWith('statusmate_store_epoch_info{'));
        }),
      );
      expect(reported).toEqual([
        [`statusmate_store_epoch_info{epoch="${shared ?? ''}"} 1`],
        [`statusmate_store_epoch_info{epoch="${shared ?? ''}"} 1`],
        [`statusmate_store_epoch_info{epoch="${apart ?? ''}"} 1`],
      ]);
    } finally {
      await other.stop('SIGKILL');
    }
  });

  it('starts while Redis is down, reports not ready, and becomes ready when Redis comes', async () => {
    redis = await startRedis();
    const server = redis;
    await server.stop('SIGTERM');
    const replica = await startReplica(server.url);
    expect(await readyStatus(replica.url)).toBe(503);
    expect(sampleValue(await scrape(replica.url), 'statusmate_store_up')).toBe(0);
    const delivery = { meta: { type: 'component_impact_updated', uuid: id(9, 2), impact: 'major_outage', created_at: '2026-01-01T00:01:00.000Z' } };
    expect((await send(replica.url, delivery, 0)).status).toBe(503);
    await server.restart();
    await whenReady([replica.url]);
    expect(await send(replica.url, delivery, 1)).toEqual({ status: 200, outcome: 'applied' });
    expect(replica.child.exitCode).toBeNull();
    expect(replica.logs.some((line) => typeof line.msg === 'string' && /unhandled|uncaught/.test(line.msg))).toBe(false);
  });
});
