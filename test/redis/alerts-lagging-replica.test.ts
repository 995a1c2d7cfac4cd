import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir, type TestApp } from '../support/app.js';
import { eventually, holdLogClock, redisPerTest, redisTool } from '../support/redis.js';
import { AM, CHECKOUT, checkoutDown, HOOK, pagesFileWith, postAlerts, postImpact, SEARCH } from '../support/lagging-replica.js';
import { caughtUp, openGatedReplica, type ReadGate } from '../support/replica-drill.js';

// POST /alertmanager on replicas of one Redis log, one of them behind (its fold held, as a replica
// paused or starved of CPU is). An alert that matches no component is what lets go of one the
// log holds once the matchers changed (docs/metrics.md: a resolved alert is let go of): whether it
// does must be the fold's, at the entry, not the receiving replica's, on what it folded so far.

const KEY_PREFIX = 'lagging:';

const fixture = redisPerTest();
const gates: ReadGate[] = [];
afterEach(() => {
  for (const gate of gates.splice(0)) gate.release();
});

const metrics = async (app: TestApp) => (await request(app.main).get('/metrics').set('Authorization', `Bearer ${HOOK}`)).text;

/** What docs/metrics.md says of Checkout's alert and the page's recovery, as one replica serves it. */
async function served(app: TestApp) {
  const text = await metrics(app);
  return {
    firing: sampleValue(text, 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT }) ?? 0,
    recoveries: sampleValue(text, 'statusmate_status_page_recovery_lag_seconds_count', { status_page: 'shop' }) ?? 0,
    expired: sampleValue(text, 'statusmate_status_page_alerts_expired_total', { status_page: 'shop' }) ?? 0,
  };
}

describe.skipIf(redisTool.skipReason !== undefined)('an alert that matches no component, received by a replica behind the log', () => {
  // Its resolution, or the group's next notification re-sending it firing: either lets go of it
  // (the page then has the alert's end to recover from), whichever replica receives it.
  it.each(['resolved', 'firing'] as const)(
    'lets go of the alert the log holds after a matcher change, %s: the fold decides, not the receiver',
    async (sent) => {
      const file = join(tempDir(), 'status-pages.yaml');
      writeFileSync(file, pagesFileWith('service="checkout"'));
      const options = { tokens: [HOOK], alertmanagerTokens: [AM], statusPagesFile: file };
      const where = { url: fixture.server.url, keyPrefix: KEY_PREFIX };
      const log = await holdLogClock(fixture.server.url, KEY_PREFIX);
      try {
        const a = await openGatedReplica(where, options, gates, fixture.apps);
        const b = await openGatedReplica(where, options, gates, fixture.apps);
        await caughtUp([a.app, b.app]);

        // B falls behind. An entry of A's first: B's read in flight (if one is) returns it, and
        // B's next read waits at the gate, so that B folds nothing of what follows.
        b.gate.hold();
        expect((await postImpact(a.app, SEARCH, 'operational')).status).toBe(200);
        const now = Date.now() / 1000;
        expect((await postAlerts(a.app, checkoutDown('firing', now - 300))).body).toMatchObject({ status: 'stored', stored: 1 });
        expect((await postImpact(a.app, CHECKOUT, 'major_outage')).status).toBe(200);
        expect((await served(a.app)).firing).toBe(1);

        // The matchers change on every replica (a ConfigMap update, then a reload): CheckoutDown no
        // longer selects Checkout. The alert, sent to B, matches nothing there.
        writeFileSync(file, pagesFileWith('service="checkout-v2"'));
        for (const replica of [a, b]) expect(await replica.app.inventory.reload()).toMatchObject({ ok: true });
        expect(b.app.fold.state.alerts.byFingerprint.has('a1'), 'B has not folded the firing alert').toBe(false);
        const endBefore = await log.end();
        // Resolved after the page showed the outage: the page has that to recover from.
        const resolution = postAlerts(
          b.app,
          sent === 'resolved' ? checkoutDown('resolved', now - 300, Date.now() / 1000) : checkoutDown('firing', now - 300),
        ).then((res) => res);
        // B decides, then answers (it took nothing) or appends (and waits for its fold, held):
        // either way, B's fold is released only once B decided.
        const answeredFirst = await Promise.race([
          resolution.then(() => true),
          eventually(
            () => log.end(),
            (end) => end !== endBefore,
          ).then(() => false),
        ]);
        b.gate.release();
        const answer = await resolution;
        expect(answer.status).toBe(200);
        await caughtUp([a.app, b.app]);

        // The page comes back: a recovery from the alert's end (docs/metrics.md), on both replicas.
        expect((await postImpact(a.app, CHECKOUT, 'operational')).status).toBe(200);
        await caughtUp([a.app, b.app]);
        const expected = { firing: 0, recoveries: 1, expired: 0 };
        expect({ a: await served(a.app), b: await served(b.app) }, `B answered ${answer.text}${answeredFirst ? ' before appending' : ''}`).toEqual({
          a: expected,
          b: expected,
        });
        expect(b.app.fold.state.alerts.byFingerprint.has('a1')).toBe(false);
        // B's answer and counters say what the fold did: it let go of an alert, none unmatched.
        expect(answer.body).toMatchObject({ status: 'stored', stored: 1, unmatched: 0 });
        const bText = await metrics(b.app);
        expect(sampleValue(bText, 'statusmate_alertmanager_alerts_unmatched_total')).toBe(0);
        expect(sampleValue(bText, 'statusmate_alertmanager_notifications_total', { outcome: 'stored' })).toBe(1);
      } finally {
        await log.close();
      }
    },
  );
});
