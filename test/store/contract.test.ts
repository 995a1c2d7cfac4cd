import { join } from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import { domainSamples, makeApp, tempDir, type TestApp } from '../support/app.js';
import { eventually, redisStore, redisTool, startRedis, type RedisServer } from '../support/redis.js';

// One contract, run against every store through the app as it is wired: what StatusMate sees
// (outcomes), what a scrape sees, and what survives a restart where the store is durable.

type Kind = {
  name: string;
  durable: boolean;
  skip?: string | undefined;
  /** A fresh medium (file, Redis key prefix); `open` then opens apps on it. */
  medium(): () => Promise<TestApp>;
};

let redis: RedisServer | undefined;
let prefixes = 0;

const KINDS: Kind[] = [
  { name: 'memory', durable: false, medium: () => () => makeApp({ store: new MemoryLog() }) },
  {
    name: 'SQLite',
    durable: true,
    medium: () => {
      const path = join(tempDir(), 'contract.db');
      return () => makeApp({ store: new SqliteLog({ path, synchronous: 'normal' }) });
    },
  },
  {
    name: 'Redis',
    durable: true,
    skip: redisTool.skipReason,
    medium: () => {
      const keyPrefix = `contract${prefixes++}:`;
      return async () => {
        const app = await makeApp({ store: redisStore({ url: (redis as RedisServer).url, keyPrefix }) });
        await eventually(
          () =>
            request(app.main)
              .get('/readyz')
              .then((r) => r.status),
          (status) => status === 200,
        );
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

  // Only for the durable stores: the memory store has nothing to restart on (defined, not skipped).
  const itDurable = kind.durable ? it.skipIf(kind.skip !== undefined) : undefined;
  itDurable?.('serves after a restart the same domain lines, byte for byte', async () => {
    const medium = kind.medium();
    const first = await open(medium);
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
