import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { HeldAlertsCheck } from '../../src/alertmanager/held-alerts.js';
import { createLogger } from '../../src/logger.js';
import { domainSamples, tempDir, type TestApp } from '../support/app.js';
import { eventually, holdLogClock, redisPerTest, redisTool } from '../support/redis.js';
import { AM, CHECKOUT, checkoutDown, HOOK, pagesFileWith, postAlerts, postImpact, SEARCH } from '../support/lagging-replica.js';
import { caughtUp, openGatedReplica, type ReadGate } from '../support/replica-drill.js';

// The background jobs that act on a replica's own state, run by the lease holder while its fold is
// behind the log (held, as a replica paused or starved of CPU is):
// - the held alerts check (src/alertmanager/held-alerts.ts) reads its state only to choose which
//   fingerprints to look for in Alertmanager's list; what it appends is a resolution with no
//   component, which the fold lets go of where the log holds the alert and is nothing otherwise.
//   A holder behind the log that still holds an alert the log let go of changes nothing.
// - the silence reconciler (src/alertmanager/reconciler.ts) plans nothing while fold.ready() is
//   false, which a held fold is.

const KEY_PREFIX = 'held-lag:';

const fixture = redisPerTest();
const gates: ReadGate[] = [];
afterEach(() => {
  for (const gate of gates.splice(0)) gate.release();
});

/** The shared state one replica serves, less the impact seconds, which count up to the scrape. */
const served = async (app: TestApp) =>
  domainSamples((await request(app.main).get('/metrics').set('Authorization', `Bearer ${HOOK}`)).text).filter((line) => !line.includes('_seconds_total{'));

describe.skipIf(redisTool.skipReason !== undefined)('background jobs of a lease holder behind the Redis log', () => {
  it('the held alerts check of a holder behind the log lets go of nothing the log did not already let go of', async () => {
    const file = join(tempDir(), 'status-pages.yaml');
    writeFileSync(file, pagesFileWith('service="checkout"'));
    const options = { tokens: [HOOK], alertmanagerTokens: [AM], statusPagesFile: file };
    const where = { url: fixture.server.url, keyPrefix: KEY_PREFIX };
    const log = await holdLogClock(fixture.server.url, KEY_PREFIX);
    try {
      const a = await openGatedReplica(where, options, gates, fixture.apps);
      const b = await openGatedReplica(where, options, gates, fixture.apps);
      const now = Date.now() / 1000;
      expect((await postAlerts(a.app, checkoutDown('firing', now - 300))).body).toMatchObject({ status: 'stored', stored: 1 });
      expect((await postImpact(a.app, CHECKOUT, 'major_outage')).status).toBe(200);
      await caughtUp([a.app, b.app]);

      // B holds the lease; Alertmanager lists a1 silenced (a maintenance), so no resolution of it comes.
      let listed = new Map([['a1', { suppressed: true }]]);
      const check = new HeldAlertsCheck({
        client: { firingAlerts: () => Promise.resolve(listed) },
        sink: b.app.fold,
        store: b.app.store,
        logger: createLogger('silent'),
      });
      await check.check();

      // B falls behind; the log lets go of a1 (its resolution, sent to A, ends it), and the page comes back.
      b.gate.hold();
      expect((await postImpact(a.app, SEARCH, 'operational')).status).toBe(200);
      expect((await postAlerts(a.app, checkoutDown('resolved', now - 300, now - 60))).status).toBe(200);
      expect((await postImpact(a.app, CHECKOUT, 'operational')).status).toBe(200);
      const expected = await served(a.app);
      expect(b.app.fold.state.alerts.byFingerprint.has('a1'), 'B still holds a1').toBe(true);

      // Alertmanager no longer lists it: two looks of B's, on its own state, resolve a1 through the log.
      listed = new Map();
      await check.check();
      const endBefore = await log.end();
      const second = check.check();
      await eventually(
        () => log.end(),
        (end) => end !== endBefore,
      );
      b.gate.release();
      await second;
      await caughtUp([a.app, b.app]);
      // That entry changed nothing: a1's end is the one its resolution brought, on every replica.
      expect({ a: await served(a.app), b: await served(b.app) }).toEqual({ a: expected, b: expected });
      await check.stop();
    } finally {
      await log.close();
    }
  });

  it('the silence reconciler of a holder behind the log plans nothing: its caughtUp (fold.ready) is false', async () => {
    const where = { url: fixture.server.url, keyPrefix: KEY_PREFIX };
    const a = await openGatedReplica(where, { tokens: [HOOK] }, gates, fixture.apps);
    const b = await openGatedReplica(where, { tokens: [HOOK] }, gates, fixture.apps);
    await caughtUp([a.app, b.app]);
    b.gate.hold();
    expect((await postImpact(a.app, SEARCH, 'operational')).status).toBe(200);
    expect((await postImpact(a.app, SEARCH, 'major_outage')).status).toBe(200);
    expect(await b.app.fold.ready()).toBe(false);
    b.gate.release();
    await caughtUp([a.app, b.app]);
    expect(await b.app.fold.ready()).toBe(true);
  });
});
