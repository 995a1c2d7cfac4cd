import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { makeApp, type TestApp, whenReady } from '../support/app.js';
import { eventually, redisStore, redisTool, redisPerTest } from '../support/redis.js';

// Issue 20: the availability ledger is folded from the shared log, so two replicas on one real
// redis-server hold identical closed intervals (and so do a third started later, from the
// snapshot and the log), whichever replica each event was sent to.

const fixture = redisPerTest();

const open = async () => {
  const app = await makeApp({ store: redisStore({ url: fixture.server.url }), snapshots: { checkMs: 50, maxEntries: 10 } });
  fixture.apps.push(app);
  await whenReady(app);
  return app;
};

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const IMPACTS = ['major_outage', 'operational', 'partial_outage', 'degraded_performance', 'under_maintenance', 'operational'];
const T0 = Date.parse('2026-11-01T00:00:00Z') / 1000;

const post = (app: TestApp, meta: Record<string, unknown>) =>
  request(app.main)
    .post('/webhook?status_page=shop')
    .set('Content-Type', 'application/json')
    .send(JSON.stringify({ meta: { title: 'C', ...meta } }));

/** The closed part of a replica's ledger: everything but the open interval's growth, which is the scrape's. */
const closed = (app: TestApp) => JSON.stringify(encodeLedger(app.fold.state.ledger));

describe.skipIf(redisTool.skipReason !== undefined)('the availability ledger on STORE=redis', () => {
  it('is identical on two replicas fed alternately, and on a third started later', async () => {
    const [a, b] = [await open(), await open()];
    const replicas = [a, b];
    let n = 0;
    // Five components, each through every impact, with created_at hours apart (across UTC days),
    // some without created_at (the log's time), the events spread over both replicas.
    for (let step = 0; step < IMPACTS.length; step++) {
      for (let component = 1; component <= 5; component++) {
        const createdAt = component % 2 === 0 ? new Date((T0 + step * 7 * 3600 + component * 60) * 1000).toISOString() : undefined;
        const meta = { type: 'component_impact_updated', uuid: uuid(component), impact: IMPACTS[step], ...(createdAt ? { created_at: createdAt } : {}) };
        expect((await post(replicas[n++ % 2] as TestApp, meta)).status).toBe(200);
      }
    }
    // An incident over two components, created on one replica and finished on the other.
    expect(
      (
        await post(a, {
          type: 'incident_created',
          uuid: uuid(900),
          components: [
            { uuid: uuid(1), impact: 'major_outage' },
            { uuid: uuid(2), impact: 'partial_outage' },
          ],
        })
      ).status,
    ).toBe(200);
    expect((await post(b, { type: 'incident_finished', uuid: uuid(900), components: [{ uuid: uuid(1) }, { uuid: uuid(2) }] })).status).toBe(200);

    await eventually(
      () => [closed(a), closed(b)],
      ([x, y]) => x === y,
    );
    const ledger = a.fold.state.ledger;
    expect([...(ledger.pages.get('shop')?.keys() ?? [])].sort()).toEqual([1, 2, 3, 4, 5].map(uuid));
    // Closed intervals were booked (not only open ones).
    expect([...(ledger.pages.get('shop')?.values() ?? [])].every((entry) => entry.totals.size > 0)).toBe(true);

    const c = await open();
    await eventually(
      () => closed(c),
      (text) => text === closed(a),
    );
  });
});
