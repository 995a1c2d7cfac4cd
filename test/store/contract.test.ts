import { join } from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import { writeFileSync } from 'node:fs';
import { domainSamples, makeApp, tempDir, whenReady, type TestApp, type TestAppOptions } from '../support/app.js';
import { redisStore, redisTool, startRedis, type RedisServer } from '../support/redis.js';

// One contract, run against every store through the app as it is wired: what StatusMate sees
// (outcomes), what a scrape sees, and what survives a restart where the store is durable.

type Kind = {
  name: string;
  durable: boolean;
  /** Whether several processes may share the medium (and so contend for a lease). */
  shared: boolean;
  skip?: string | undefined;
  /** A fresh medium (file, Redis key prefix); `open` then opens apps on it. */
  medium(): (options?: TestAppOptions) => Promise<TestApp>;
};

let redis: RedisServer | undefined;
let prefixes = 0;

/** SQLite on a fresh file, written on the event loop (`normal`) or by a worker thread of its own (`full`: appends, and snapshots a piece a message). */
const sqliteKind = (name: string, synchronous: 'normal' | 'full'): Kind => ({
  name,
  durable: true,
  shared: false,
  medium: () => {
    const path = join(tempDir(), `contract-${synchronous}.db`);
    return (options) => makeApp({ ...options, store: new SqliteLog({ path, synchronous }) });
  },
});

const KINDS: Kind[] = [
  { name: 'memory', durable: false, shared: false, medium: () => (options) => makeApp({ ...options, store: new MemoryLog() }) },
  sqliteKind('SQLite', 'normal'),
  sqliteKind('SQLite, SQLITE_SYNCHRONOUS=full', 'full'),
  {
    name: 'Redis',
    durable: true,
    shared: true,
    skip: redisTool.skipReason,
    medium: () => {
      const keyPrefix = `contract${prefixes++}:`;
      return async (options) => {
        const app = await makeApp({ ...options, store: redisStore({ url: (redis as RedisServer).url, keyPrefix }) });
        await whenReady(app);
        return app;
      };
    },
  },
];

beforeAll(async () => {
  if (!redisTool.skipReason) redis = await startRedis();
});
afterAll(async () => redis?.stop('SIGKILL'));

let apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
});

const UUID = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const update = (impact: string, createdAt: string, attempt = 0) => ({
  meta: { type: 'component_impact_updated', uuid: UUID, title: 'Checkout', impact, created_at: createdAt, delivery_attempt: attempt },
});
const post = (app: TestApp, body: unknown) => request(app.main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify(body));

describe.each(KINDS)('the store contract: $name', (kind) => {
  const open = async (medium: () => Promise<TestApp>) => {
    const app = await medium();
    apps.push(app);
    return app;
  };

  it.skipIf(kind.skip !== undefined)('answers applied, duplicate and stale as the reducer decides, and renders what it answered', async () => {
    const app = await open(kind.medium());
    const outcomes = [];
    for (const body of [
      update('major_outage', '2026-01-01T10:00:00Z'),
      update('major_outage', '2026-01-01T10:00:00Z', 1),
      update('partial_outage', '2026-01-01T09:00:00Z'),
      update('operational', '2026-01-01T11:00:00Z'),
    ]) {
      const response = await post(app, body);
      expect(response.status).toBe(200);
      outcomes.push(response.body.status);
    }
    expect(outcomes).toEqual(['applied', 'duplicate', 'stale', 'applied']);
    const text = (await request(app.main).get('/metrics')).text;
    expect(text).toContain(`statusmate_component_impact_level{status_page="default",component_uuid="${UUID}",component="Checkout"} 0`);
    expect(app.ingestor.state.seen.size).toBe(3);
  });

  it.skipIf(kind.skip !== undefined)('answers every event accepted before close, and closes once', async () => {
    const app = await open(kind.medium());
    const answers = Array.from({ length: 20 }, (_, n) =>
      post(app, update('major_outage', `2026-01-01T10:${String(n).padStart(2, '0')}:00Z`)).then((r) => r.status),
    );
    const statuses = await Promise.all(answers);
    await app.close();
    await app.close();
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 200));
  });

  it.skipIf(kind.skip !== undefined)(
    'leases: the holder renews its own; while it holds it, no other process sharing the store takes it; released or run out, another does',
    async () => {
      // Leases long enough that opening a store under load cannot outlast them, but the last one.
      const HOLD_MS = 10_000;
      const RUNS_OUT_MS = 1_000;
      const medium = kind.medium();
      const first = await open(medium);
      expect(await first.store.lease('silences', 'replica-a', HOLD_MS)).toBe(true);
      expect(await first.store.lease('silences', 'replica-a', HOLD_MS)).toBe(true);
      // A single-writer store has no other process to share it with: its one process holds every lease.
      if (!kind.shared) return;
      const second = await open(medium);
      expect(await second.store.lease('silences', 'replica-b', HOLD_MS)).toBe(false);
      expect(await second.store.lease('other-task', 'replica-b', HOLD_MS)).toBe(true);
      await second.store.releaseLease('silences', 'replica-b'); // not its own: no effect
      expect(await second.store.lease('silences', 'replica-b', HOLD_MS)).toBe(false);
      await first.store.releaseLease('silences', 'replica-a');
      expect(await second.store.lease('silences', 'replica-b', RUNS_OUT_MS)).toBe(true);
      expect(await first.store.lease('silences', 'replica-a', HOLD_MS)).toBe(false);
      // replica-b dies without releasing: its lease runs out.
      await new Promise((resolve) => setTimeout(resolve, RUNS_OUT_MS + 200));
      expect(await first.store.lease('silences', 'replica-a', HOLD_MS)).toBe(true);
    },
  );

  // Only for the durable stores: the memory store has nothing to restart on (defined, not skipped).
  const itDurable = kind.durable ? it.skipIf(kind.skip !== undefined) : undefined;
  itDurable?.('serves after a restart the same domain lines, byte for byte, from a snapshot written in pieces', async () => {
    const medium = kind.medium();
    // Pieces far smaller than the state: its snapshot on close takes several.
    const first = await open(() => medium({ snapshots: { pieceChars: 256 } }));
    await post(first, update('major_outage', '2026-01-01T10:00:00Z'));
    await post(first, {
      meta: {
        type: 'incident_created',
        uuid: 'aaaaaaaa-0000-4000-8000-000000000001',
        title: 'Payments down',
        start_at: '2026-01-01T10:00:00Z',
        affected_components: [{ impact: 'partial_outage', component_details: { name: 'Pay', component_uuid: 'aaaaaaaa-0000-4000-8000-0000000000c1' } }],
      },
    });
    const before = domainSamples((await request(first.main).get('/metrics')).text);
    await first.close();
    const second = await open(medium);
    expect(domainSamples((await request(second.main).get('/metrics')).text)).toEqual(before);
    // And the restarted store still knows what it counted.
    expect((await post(second, update('major_outage', '2026-01-01T10:00:00Z', 2))).body.status).toBe('duplicate');
  });
});

// The same history, through each store: the same domain series, answer for answer. It touches
// what the stores used to do differently: declared pages, a limit refusal, a finish, a
// maintenance, a late retry, a reload that drops a page, and a retention window passing.
describe('one history on every store', () => {
  const SHOP = '6b2f4e1a-8c3d-4a5b-9e7f-1d2c3b4a5f60';
  const at = (minute: number) => `2026-02-01T10:${String(minute).padStart(2, '0')}:00Z`;
  const cid = (n: number) => `cccccccc-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const lifecycle = (type: string, id: string, minute: number, components: [number, string][], extra: Record<string, unknown> = {}) => ({
    meta: {
      type,
      uuid: id,
      title: `${type} ${id.slice(-2)}`,
      status_page: SHOP,
      created_at: at(minute),
      start_at: at(minute),
      affected_components: components.map(([n, impact]) => ({ impact, component_details: { name: `C${n}`, impact, component_uuid: cid(n) } })),
      ...extra,
    },
  });
  const PAGES = (withOld: boolean) =>
    `status_pages:\n  - id: shop\n    uuid: ${SHOP}\n    components:\n      - uuid: ${cid(1)}\n        name: C1\n      - uuid: ${cid(2)}\n        name: C2\n` +
    (withOld ? `  - id: old\n    components:\n      - uuid: ${cid(9)}\n        name: Old\n` : '');
  // Times that depend on when the test ran (receipts, declarations), not on the events.
  const timeless = (samples: string[]) =>
    samples.filter(
      (line) =>
        !line.startsWith('statusmate_webhook_last_received_timestamp_seconds') && !line.startsWith('statusmate_component_last_change_timestamp_seconds'),
    );

  it.skipIf(redisTool.skipReason !== undefined)('gives the same answers and the same domain series on memory, SQLite and Redis', async () => {
    const results = new Map<string, { outcomes: string[]; samples: string[] }>();
    for (const kind of KINDS) {
      const file = join(tempDir(), 'pages.yaml');
      writeFileSync(file, PAGES(true));
      const app = await kind.medium()({
        statusPagesFile: file,
        // The loose components below land on the default page, which the file does not declare.
        learnStatusPages: true,
        limits: { maxActiveIncidents: 1 },
        retentionSeconds: 1,
        pruneWindowSeconds: 1,
      });
      apps.push(app);
      const outcomes: string[] = [];
      const send = async (body: unknown) => {
        const response = await post(app, body);
        outcomes.push(String(response.body.status ?? response.status));
      };
      const first = lifecycle('incident_created', 'aaaaaaaa-0000-4000-8000-000000000001', 1, [[1, 'major_outage']]);
      await send(first);
      await send(lifecycle('incident_created', 'aaaaaaaa-0000-4000-8000-000000000002', 2, [[2, 'partial_outage']])); // over the limit
      await send(lifecycle('maintenance_created', 'bbbbbbbb-0000-4000-8000-000000000001', 3, [[2, 'under_maintenance']]));
      await send(lifecycle('maintenance_started', 'bbbbbbbb-0000-4000-8000-000000000001', 4, [[2, 'under_maintenance']]));
      await send(lifecycle('incident_finished', 'aaaaaaaa-0000-4000-8000-000000000001', 5, [[1, 'major_outage']]));
      await send({ ...first, meta: { ...first.meta, delivery_attempt: 3 } }); // a late retry
      await send({ meta: { type: 'component_impact_updated', uuid: cid(5), title: 'Loose', impact: 'degraded_performance', created_at: at(6) } });
      writeFileSync(file, PAGES(false));
      expect(await app.inventory.reload()).toMatchObject({ ok: true });
      await send(lifecycle('maintenance_finished', 'bbbbbbbb-0000-4000-8000-000000000001', 7, [[2, 'under_maintenance']]));
      // Past the retention (1 s) and into a new prune window (1 s): the next entry prunes.
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      await send({ meta: { type: 'component_impact_updated', uuid: cid(6), title: 'Late', impact: 'operational', created_at: at(8) } });
      expect(app.ingestor.state.pages.get('shop')?.incidents.size).toBe(0);
      expect(app.ingestor.state.pages.has('old')).toBe(false);
      results.set(kind.name, { outcomes, samples: timeless(domainSamples((await request(app.main).get('/metrics')).text)) });
    }
    const [memory, ...others] = [...results.values()];
    expect(memory?.outcomes).toEqual(['applied', 'refused_limit', 'applied', 'applied', 'applied', 'duplicate', 'applied', 'applied', 'applied']);
    expect(memory?.samples.length).toBeGreaterThan(30);
    for (const other of others) expect(other).toEqual(memory);
  });
});
