import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { StoreError } from '../../src/store/store.js';
import { domainSamples, makeApp, type TestApp } from '../support/app.js';

// FoldLoop.seedInto: the state one store's fold holds becomes another store's snapshot, on any
// store (seed-redis uses it from SQLite into Redis; test/cli/seed-redis.test.ts has the processes).

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});
async function start(store: MemoryLog): Promise<TestApp> {
  const app = await makeApp({ store });
  apps.push(app);
  return app;
}
const update = (n: number, impact: string, day: number) => ({
  meta: {
    type: 'component_impact_updated',
    uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    title: `C${n}`,
    impact,
    status_page: 'shop',
    created_at: `2026-11-0${day}T10:00:00Z`,
  },
});
const post = async (app: TestApp, body: object) => expect((await request(app.main).post('/webhook').send(body)).status).toBe(200);
const series = async (app: TestApp) => domainSamples((await request(app.main).get('/metrics')).text).filter((line) => !line.includes('_seconds_total{'));
const REPORT = '/api/v1/availability?from=2026-11-01&to=2026-11-05';
const report = async (app: TestApp) => ({ ...((await request(app.main).get(REPORT)).body as Record<string, unknown>), generated_at: undefined });

describe('FoldLoop.seedInto', () => {
  it('makes the folded state the snapshot of an empty store: a fold of that store serves the same, and takes events on top', async () => {
    const source = await start(new MemoryLog());
    await post(source, update(1, 'major_outage', 1));
    await post(source, update(2, 'partial_outage', 2));
    await post(source, update(1, 'operational', 3));
    const target = new MemoryLog();
    await target.open();
    expect(await source.fold.seedInto(target)).toBeGreaterThan(0);
    expect(await target.snapshotInfo()).toMatchObject({ position: target.origin });

    const seeded = await start(target);
    expect(await series(seeded)).toEqual(await series(source));
    expect(await report(seeded)).toEqual(await report(source));
    // A retry of an event the source counted is a duplicate there too: the dedup records went along.
    const retry = await request(seeded.main)
      .post('/webhook')
      .send({ meta: { ...update(2, 'partial_outage', 2).meta, delivery_attempt: 1 } });
    expect(retry.body).toMatchObject({ status: 'duplicate' });
    await post(seeded, update(3, 'degraded_performance', 4));
    expect(await series(seeded)).toContainEqual(
      expect.stringMatching(/component_uuid="00000000-0000-4000-8000-000000000003",component="C3",impact="degraded_performance"\} 1$/),
    );
  });

  it('refuses a store that holds entries or a snapshot, and writes nothing there', async () => {
    const source = await start(new MemoryLog());
    await post(source, update(1, 'major_outage', 1));
    const used = new MemoryLog();
    const other = await start(used);
    await post(other, update(9, 'partial_outage', 1));
    await expect(source.fold.seedInto(used)).rejects.toThrow(new StoreError('the memory store holds a log already: only an empty one is seeded'));
    expect(await used.snapshotInfo()).toBeNull();

    const snapshotted = new MemoryLog();
    await snapshotted.open();
    await source.fold.seedInto(snapshotted);
    await expect(source.fold.seedInto(snapshotted)).rejects.toThrow('holds a log already');
  });
});
