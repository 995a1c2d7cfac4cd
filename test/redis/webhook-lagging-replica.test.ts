import request from 'supertest';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/store/redis-format.js';
import { type TestApp } from '../support/app.js';
import { eventually, redisPerTest, redisTool } from '../support/redis.js';
import { caughtUp, openGatedReplica, type ReadGate } from '../support/replica-drill.js';

// POST /webhook on a replica of one Redis log that is behind it (its fold held, as a replica
// paused or starved of CPU is). "stale" and "duplicate" say what the log already holds: they
// must be the fold's of the event's own entry, which comes after every entry the log held, not
// the receiving replica's on what it folded so far (a duplicate answered without an append needs
// the dedup record in the replica's state, which it then is in the log's too).

const TOKEN = 't0ken';
const KEY_PREFIX = 'webhook-lag:';

const fixture = redisPerTest();
const gates: ReadGate[] = [];
afterEach(() => {
  for (const gate of gates.splice(0)) gate.release();
});

const component = (impact: string, createdAt: string, extra: Record<string, unknown> = {}) => ({
  meta: {
    type: 'component_impact_updated',
    uuid: '00000000-0000-4000-8000-000000000001',
    title: 'C1',
    impact,
    created_at: createdAt,
    status_page: 'shop',
    ...extra,
  },
});
const post = (app: TestApp, body: unknown) =>
  request(app.main).post('/webhook').set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'application/json').send(JSON.stringify(body));

describe.skipIf(redisTool.skipReason !== undefined)('POST /webhook on a Redis replica behind the log', () => {
  it('answers stale and duplicate as the log decides, not as its own state would', async () => {
    const where = { url: fixture.server.url, keyPrefix: KEY_PREFIX };
    const client = createClient({ url: fixture.server.url, RESP: 2 });
    await client.connect();
    try {
      const length = async () => Number(await client.sendCommand(['XLEN', redisKeys(KEY_PREFIX).log]));
      const a = await openGatedReplica(where, { tokens: [TOKEN] }, gates, fixture.apps);
      const b = await openGatedReplica(where, { tokens: [TOKEN] }, gates, fixture.apps);
      await caughtUp([a.app, b.app]);
      // B falls behind: an entry of A's first, so that B's read in flight returns and its next waits.
      b.gate.hold();
      expect(
        (await post(a.app, { meta: { ...component('operational', '2026-01-01T09:45:00Z').meta, uuid: '00000000-0000-4000-8000-000000000002' } })).body.status,
      ).toBe('applied');
      expect((await post(a.app, component('major_outage', '2026-01-01T10:01:00Z'))).body.status).toBe('applied');
      expect((await post(a.app, component('operational', '2026-01-01T11:00:00Z'))).body.status).toBe('applied');
      expect(b.app.fold.state.pages.get('shop')?.components.has('00000000-0000-4000-8000-000000000001') ?? false, 'B has not folded C1').toBe(false);

      // Sent to B: older than what the log applied (stale), and StatusMate's retry of an event the
      // log holds (duplicate). B decides, then answers (without an append) or appends (and waits
      // for its fold, held): B's fold is released only once both are decided.
      const before = await length();
      const older = post(b.app, component('partial_outage', '2026-01-01T09:00:00Z')).then((res) => res);
      const retry = post(b.app, component('major_outage', '2026-01-01T10:01:00Z', { delivery_attempt: 1 })).then((res) => res);
      const settled = { older: false, retry: false };
      void older.then(() => (settled.older = true));
      void retry.then(() => (settled.retry = true));
      // Both appended, or one answered before it was (then B's state decided it).
      await eventually(
        async () => ({ appended: (await length()) - before, ...settled }),
        (seen) => seen.appended >= 2 || seen.older || seen.retry,
      );
      b.gate.release();
      expect({ older: (await older).body.status as unknown, retry: (await retry).body.status as unknown }).toEqual({ older: 'stale', retry: 'duplicate' });
      await caughtUp([a.app, b.app]);
      const impactOf = (app: TestApp) => app.fold.state.pages.get('shop')?.components.get('00000000-0000-4000-8000-000000000001')?.impact;
      expect({ a: impactOf(a.app), b: impactOf(b.app) }).toEqual({ a: 'operational', b: 'operational' });
    } finally {
      client.destroy();
    }
  });
});
