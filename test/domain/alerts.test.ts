import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertSnapshot, alertStateOf, cloneAlertState } from '../../src/domain/alert-snapshot.js';
import {
  componentKey,
  createAlertState,
  DEFAULT_ALERT_LIMITS,
  endedCost,
  type AlertLimits,
  type AlertState,
  type StoredAlert,
} from '../../src/domain/alert-state.js';
import { expireAlerts, foldAlerts, foldImpactChanges, forgetAlerts } from '../../src/domain/alerts.js';
import { impactShown } from '../../src/domain/alert-page.js';
import { ALERT_RULES, ENDED_BY_COUNT_ALERT_RULES, type AlertRules } from '../../src/domain/fold-rules.js';
import { declarationPatch } from '../../src/domain/inventory.js';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { applyPatch } from '../../src/domain/state.js';
import { componentUpdate, PAGE, Player, uuid } from '../support/events.js';

const T0 = 1_700_000_000;
const checkout = ['shop', 'checkout'] as const;

function firing(fingerprint: string, startsAt: number, components: (readonly [string, string])[] = [checkout]): StoredAlert {
  return { fingerprint, status: 'firing', startsAt, endsAt: null, components: components.map(([page, uuid]) => [page, uuid] as const) };
}
function resolved(fingerprint: string, endsAt: number, components: (readonly [string, string])[] = [checkout]): StoredAlert {
  return { fingerprint, status: 'resolved', startsAt: null, endsAt, components: components.map(([page, uuid]) => [page, uuid] as const) };
}

/** A tiny model of the page: impacts by component key, changed by the test. */
function page() {
  const impacts = new Map<string, { impact: string; since: number | null }>();
  return {
    impactOf: (statusPage: string, uuid: string) => impacts.get(componentKey(statusPage, uuid)) ?? { impact: 'operational', since: null },
    set(alerts: AlertState, statusPage: string, uuid: string, impact: string, at: number) {
      const key = componentKey(statusPage, uuid);
      const before = impacts.get(key)?.impact ?? 'operational';
      if (before === impact) return;
      impacts.set(key, { impact, since: at });
      foldImpactChanges(alerts, [{ statusPage, uuid, before, after: impact, at }], at);
    },
  };
}

describe('alerts measure the status page', () => {
  it('observes the time from the first firing alert to the page showing an outage, once per episode', () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0)], T0 + 5, DEFAULT_ALERT_LIMITS, p.impactOf);
    // A second alert of the same run does not move the start.
    foldAlerts(alerts, [firing('a2', T0 + 60)], T0 + 65, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.components.get(componentKey(...checkout))?.firing.size).toBe(2);
    p.set(alerts, 'shop', 'checkout', 'major_outage', T0 + 600);
    const stats = alerts.pages.get('shop');
    expect(stats?.response.count).toBe(1);
    expect(stats?.response.sum).toBe(600);
    // Another change of impact while the outage lasts observes nothing more.
    p.set(alerts, 'shop', 'checkout', 'partial_outage', T0 + 700);
    expect(alerts.pages.get('shop')?.response.count).toBe(1);
  });

  it("an alert that fired during a maintenance is the page's to report from the maintenance's end, not from its start", () => {
    const alerts = createAlertState();
    const p = page();
    p.set(alerts, 'shop', 'checkout', 'under_maintenance', T0);
    p.set(alerts, 'shop', 'checkout', 'operational', T0 + 40);
    // Fired at T0 + 4 under the maintenance's silence: Alertmanager sends it once the silence ends.
    foldAlerts(alerts, [firing('a1', T0 + 4)], T0 + 45, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.components.get(componentKey(...checkout))?.silentSince).toBe(T0 + 40);
    p.set(alerts, 'shop', 'checkout', 'partial_outage', T0 + 46);
    expect(alerts.pages.get('shop')?.response.sum).toBe(6);
  });

  it('on a folded state: since when a component shows its impact, only when it came back to it', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'operational', T0));
    // Operational since it was first known: as long as any alert could have fired.
    expect(impactShown(p.state)(PAGE, uuid(1))).toEqual({ impact: 'operational', since: null });
    p.play(componentUpdate(1, 'under_maintenance', T0 + 100));
    expect(impactShown(p.state)(PAGE, uuid(1))).toEqual({ impact: 'under_maintenance', since: T0 + 100, left: { at: T0 + 100, operationalSince: null } });
    p.play(componentUpdate(1, 'operational', T0 + 200));
    // Back to operational: since when, and when it had left it.
    expect(impactShown(p.state)(PAGE, uuid(1))).toEqual({ impact: 'operational', since: T0 + 200, cameBackFrom: T0 + 100 });
    expect(impactShown(p.state)(PAGE, uuid(9))).toEqual({ impact: 'operational', since: null });
  });

  it("observes the page's response to an alert that fired before the page spoke but reached the exporter after (Alertmanager's group_wait)", () => {
    const p = new Player();
    const one = [PAGE, uuid(1)] as const;
    p.play(componentUpdate(1, 'operational', T0));
    p.play(componentUpdate(1, 'major_outage', T0 + 100));
    const alerts = createAlertState();
    // Fired at T0 + 94; Alertmanager sent it at T0 + 125, after the page said major_outage at T0 + 100.
    foldAlerts(alerts, [firing('a1', T0 + 94, [one])], T0 + 125, DEFAULT_ALERT_LIMITS, impactShown(p.state));
    expect(alerts.pages.get(PAGE)?.response.count).toBe(1);
    expect(alerts.pages.get(PAGE)?.response.sum).toBe(6);
    // Another alert of the same outage, sent later still: the page's response was observed once.
    foldAlerts(alerts, [firing('a2', T0 + 90, [one])], T0 + 130, DEFAULT_ALERT_LIMITS, impactShown(p.state));
    expect(alerts.pages.get(PAGE)?.response.count).toBe(1);

    // One that fired after the page spoke observes nothing; one that fired before it, sent after
    // another that fired after it had resolved, answers the page's change: no alert had.
    const after = createAlertState();
    foldAlerts(after, [firing('b1', T0 + 101, [one])], T0 + 125, DEFAULT_ALERT_LIMITS, impactShown(p.state));
    foldAlerts(after, [resolved('b1', T0 + 110, [one])], T0 + 126, DEFAULT_ALERT_LIMITS, impactShown(p.state));
    expect(after.pages.get(PAGE)?.response.count).toBe(0);
    foldAlerts(after, [firing('b2', T0 + 50, [one])], T0 + 127, DEFAULT_ALERT_LIMITS, impactShown(p.state));
    expect(after.pages.get(PAGE)?.response).toMatchObject({ count: 1, sum: 50 });
    // Once only.
    foldAlerts(after, [firing('b3', T0 + 40, [one])], T0 + 128, DEFAULT_ALERT_LIMITS, impactShown(p.state));
    expect(after.pages.get(PAGE)?.response.count).toBe(1);

    // One that fired during a maintenance, sent once its silence ended, after the page spoke: from the maintenance's end.
    const q = new Player();
    q.play(componentUpdate(1, 'operational', T0));
    q.play(componentUpdate(1, 'under_maintenance', T0 + 100));
    q.play(componentUpdate(1, 'operational', T0 + 200));
    q.play(componentUpdate(1, 'partial_outage', T0 + 210));
    const silenced = createAlertState();
    foldAlerts(silenced, [firing('c1', T0 + 150, [one])], T0 + 230, DEFAULT_ALERT_LIMITS, impactShown(q.state));
    expect(silenced.pages.get(PAGE)?.response.sum).toBe(10);
    expect(silenced.pages.get(PAGE)?.response.count).toBe(1);
  });

  it('observes nothing when the page already showed the outage before the alert', () => {
    const alerts = createAlertState();
    const p = page();
    p.set(alerts, 'shop', 'checkout', 'major_outage', T0);
    foldAlerts(alerts, [firing('a1', T0 + 10)], T0 + 10, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.components.get(componentKey(...checkout))?.silentSince).toBeNull();
    expect(alerts.pages.get('shop')?.response.count).toBe(0);
  });

  it("holds a page's histograms and counters at 0 from its first held alert, before any observation", () => {
    const alerts = createAlertState();
    const p = page();
    const other = ['blog', 'posts'] as const;
    foldAlerts(alerts, [firing('a1', T0, [checkout])], T0 + 5, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.pages.get('shop')).toMatchObject({ response: { count: 0 }, recoveryLag: { count: 0 }, refused: 0, expired: 0, createdAt: T0 + 5 });
    expect(alerts.pages.has('blog')).toBe(false);
    // The page's word then observes into the series already there, from the same _created.
    p.set(alerts, 'shop', 'checkout', 'major_outage', T0 + 60);
    expect(alerts.pages.get('shop')).toMatchObject({ response: { count: 1, sum: 60 }, createdAt: T0 + 5 });
    foldAlerts(alerts, [firing('b1', T0 + 100, [other])], T0 + 100, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.pages.get('blog')?.createdAt).toBe(T0 + 100);
    // A snapshot keeps them.
    expect(alertStateOf(alertSnapshot(alerts)).pages.get('blog')?.response.count).toBe(0);
  });

  it('observes the recovery lag from the last alert resolving to the page showing operational', () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0), firing('a2', T0)], T0, DEFAULT_ALERT_LIMITS, p.impactOf);
    p.set(alerts, 'shop', 'checkout', 'major_outage', T0 + 100);
    foldAlerts(alerts, [resolved('a1', T0 + 200)], T0 + 201, DEFAULT_ALERT_LIMITS, p.impactOf);
    foldAlerts(alerts, [resolved('a2', T0 + 300)], T0 + 301, DEFAULT_ALERT_LIMITS, p.impactOf);
    p.set(alerts, 'shop', 'checkout', 'operational', T0 + 1200);
    expect(alerts.pages.get('shop')?.recoveryLag.count).toBe(1);
    expect(alerts.pages.get('shop')?.recoveryLag.sum).toBe(900);
    // Nothing left to hold: the record is gone, the histograms stay.
    expect(alerts.components.size).toBe(0);
    expect(alerts.pairs).toBe(0);
  });

  it('measures the recovery lag from the alert that ended last, in whatever order one notification lists them', () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0), firing('a2', T0)], T0, DEFAULT_ALERT_LIMITS, p.impactOf);
    p.set(alerts, 'shop', 'checkout', 'major_outage', T0 + 100);
    // One flush of the group resolves both; Alertmanager lists a2 (ended last) first.
    foldAlerts(alerts, [resolved('a2', T0 + 300), resolved('a1', T0 + 200)], T0 + 301, DEFAULT_ALERT_LIMITS, p.impactOf);
    p.set(alerts, 'shop', 'checkout', 'operational', T0 + 1200);
    expect(alerts.pages.get('shop')?.recoveryLag.count).toBe(1);
    expect(alerts.pages.get('shop')?.recoveryLag.sum).toBe(900);
  });

  it('keeps a run of alerts going when one notification resolves an alert and lists another firing before it', () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0)], T0 + 1, DEFAULT_ALERT_LIMITS, p.impactOf);
    // a2 fired at T0 + 150, before a1 ended at T0 + 200: the alerts never stopped.
    foldAlerts(alerts, [resolved('a1', T0 + 200), firing('a2', T0 + 150)], T0 + 201, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.components.get(componentKey(...checkout))?.silentSince).toBe(T0);
    p.set(alerts, 'shop', 'checkout', 'major_outage', T0 + 300);
    expect(alerts.pages.get('shop')?.response.count).toBe(1);
    expect(alerts.pages.get('shop')?.response.sum).toBe(300);
  });

  it("observes the recovery of a page that came back before Alertmanager sent the resolution (the group's next flush)", () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0)], T0 + 1, DEFAULT_ALERT_LIMITS, p.impactOf);
    p.set(alerts, 'shop', 'checkout', 'major_outage', T0 + 100);
    // Resolved at T0 + 500; the page said operational at T0 + 530; the resolution came at T0 + 800.
    p.set(alerts, 'shop', 'checkout', 'operational', T0 + 530);
    foldAlerts(alerts, [resolved('a1', T0 + 500)], T0 + 800, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.pages.get('shop')?.recoveryLag.count).toBe(1);
    expect(alerts.pages.get('shop')?.recoveryLag.sum).toBe(30);
    expect(alerts.components.size).toBe(0);

    // One that resolved after the page came back (it fired while the page said operational) is no recovery of the page's.
    const later = createAlertState();
    const q = page();
    foldAlerts(later, [firing('b1', T0)], T0 + 1, DEFAULT_ALERT_LIMITS, q.impactOf);
    q.set(later, 'shop', 'checkout', 'major_outage', T0 + 100);
    q.set(later, 'shop', 'checkout', 'operational', T0 + 530);
    foldAlerts(later, [resolved('b1', T0 + 600)], T0 + 800, DEFAULT_ALERT_LIMITS, q.impactOf);
    // Nor is an alert let go of without its end (the look at Alertmanager's alerts): resolved at the log time.
    foldAlerts(later, [firing('b2', T0 + 900)], T0 + 901, DEFAULT_ALERT_LIMITS, q.impactOf);
    q.set(later, 'shop', 'checkout', 'partial_outage', T0 + 950);
    q.set(later, 'shop', 'checkout', 'operational', T0 + 990);
    foldAlerts(later, [{ fingerprint: 'b2', status: 'resolved', startsAt: null, endsAt: null, components: [] }], T0 + 1_100, DEFAULT_ALERT_LIMITS, q.impactOf);
    expect(later.pages.get('shop')?.recoveryLag.count).toBe(0);
  });

  it('believes Alertmanager times no further than the clock skew past the log time', () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0 + 10_000)], T0, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.components.get(componentKey(...checkout))?.silentSince).toBe(T0);
  });

  it('lets a component go of an alert its entry no longer names, and counts the alerts the bounds refuse', () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0, [checkout, ['shop', 'cart']])], T0, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.pairs).toBe(2);
    foldAlerts(alerts, [firing('a1', T0, [['shop', 'cart']])], T0 + 1, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(alerts.pairs).toBe(1);
    expect(alerts.components.has(componentKey(...checkout))).toBe(false);
    const limits = { ...DEFAULT_ALERT_LIMITS, maxFiringAlerts: 2 };
    const decision = foldAlerts(alerts, [firing('b', T0), firing('c', T0)], T0 + 2, limits, p.impactOf);
    expect(decision).toEqual({ held: 1, refused: 1, unmatched: 0 });
    expect(alerts.pages.get('shop')?.refused).toBe(1);
  });

  it('serialises equal closed runs alike, whatever order the fold set their fields in (a replica restored from a snapshot and one that folded on)', () => {
    // Seed 137 of the Redis alerts drill (6 episodes): the replica that restarted held the closed
    // run's `answered` before its `recovered`, the other after, and their snapshots differed.
    const key = componentKey(...checkout);
    const run = { statusPage: checkout[0], uuid: checkout[1], end: T0 + 100, silentSince: T0 + 90 };
    const recoveredFirst = createAlertState();
    recoveredFirst.closedRuns.set(key, { ...{ ...run, recovered: T0 + 50 }, answered: null });
    const answeredFirst = createAlertState();
    answeredFirst.closedRuns.set(key, { ...{ ...run, answered: null }, recovered: T0 + 50 });
    const never = createAlertState();
    never.closedRuns.set(key, { ...run, recovered: T0 + 50 });
    const text = JSON.stringify(alertSnapshot(recoveredFirst));
    expect(JSON.stringify(alertSnapshot(answeredFirst))).toBe(text);
    // An `answered` of null is an absent one (ClosedRun), and serialises as such.
    expect(JSON.stringify(alertSnapshot(never))).toBe(text);
    expect(JSON.stringify(alertSnapshot(alertStateOf(JSON.parse(text) as ReturnType<typeof alertSnapshot>)))).toBe(text);
  });

  it('tells the alerts that name no component and let go of nothing (unmatched) from those that let go of one held', () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0)], T0, DEFAULT_ALERT_LIMITS, p.impactOf);
    // a1 is held: its alert naming no component (the matchers changed) lets go of it; b2 and c3 change nothing.
    const decision = foldAlerts(alerts, [firing('a1', T0, []), firing('b2', T0, []), resolved('c3', T0 + 5, [])], T0 + 10, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(decision).toEqual({ held: 0, refused: 0, unmatched: 2 });
    expect(alerts.pairs).toBe(0);
    expect(alerts.byFingerprint.size).toBe(0);
    // Once let go of, a1 naming none again is unmatched too.
    expect(foldAlerts(alerts, [resolved('a1', T0 + 20, [])], T0 + 30, DEFAULT_ALERT_LIMITS, p.impactOf)).toEqual({ held: 0, refused: 0, unmatched: 1 });
  });

  it('forgets, and counts, the alerts no notification named for alertStaleSeconds, measuring no recovery', () => {
    const alerts = createAlertState();
    const p = page();
    const limits = { ...DEFAULT_ALERT_LIMITS, alertStaleSeconds: 3600 };
    foldAlerts(alerts, [firing('a1', T0), firing('a2', T0)], T0, limits, p.impactOf);
    p.set(alerts, 'shop', 'checkout', 'major_outage', T0 + 60);
    // a2 is sent again (Alertmanager's repeat_interval), a1 is not.
    foldAlerts(alerts, [firing('a2', T0)], T0 + 1800, limits, p.impactOf);
    expect(expireAlerts(alerts, T0 + 3000)).toBe(0);
    expect(expireAlerts(alerts, T0 + 3600)).toBe(1);
    expect(alerts.components.get(componentKey(...checkout))?.firing.size).toBe(1);
    expect(expireAlerts(alerts, T0 + 5400)).toBe(1);
    expect(alerts.pages.get('shop')?.expired).toBe(2);
    expect(alerts.components.size).toBe(0);
    p.set(alerts, 'shop', 'checkout', 'operational', T0 + 6000);
    expect(alerts.pages.get('shop')?.recoveryLag.count).toBe(0);
  });

  it('forgets a component and a page with their alerts', () => {
    const alerts = createAlertState();
    const p = page();
    foldAlerts(alerts, [firing('a1', T0, [checkout, ['shop', 'cart']])], T0, DEFAULT_ALERT_LIMITS, p.impactOf);
    expect(forgetAlerts(alerts, 'shop', 'checkout')).toBe(true);
    expect(alerts.pairs).toBe(1);
    expect(forgetAlerts(alerts, 'shop')).toBe(true);
    expect(alerts).toEqual(createAlertState());
  });
});

/** A folded state as the fold loop keeps it: page events through the reducer, their impact changes into the alert measures. */
function foldedPage(declaredAt: number) {
  const player = new Player();
  const declared = declarationPatch(player.state, [{ statusPage: PAGE, uuids: [uuid(1)] }], declaredAt, DEFAULT_LIMITS);
  applyPatch(player.state, declared.patch);
  const alerts = player.state.alerts;
  return {
    alerts,
    page(impact: string, at: number) {
      const before = player.state.pages.get(PAGE)?.components.get(uuid(1))?.impact ?? 'operational';
      player.play(componentUpdate(1, impact, at), at + 1);
      if (before !== impact) foldImpactChanges(alerts, [{ statusPage: PAGE, uuid: uuid(1), before, after: impact, at }], at + 1);
    },
    notify(stored: StoredAlert[], at: number) {
      foldAlerts(alerts, stored, at, DEFAULT_ALERT_LIMITS, impactShown(player.state));
    },
    response: () => alerts.pages.get(PAGE)?.response,
    recovery: () => alerts.pages.get(PAGE)?.recoveryLag,
  };
}

describe('alerts measure the status page: what the drill against the docs found (test/domain/alerts-drill.test.ts)', () => {
  const one = [PAGE, uuid(1)] as const;

  it('measures the recovery lag from the alert that ended last when their resolutions come in separate notifications, in the other order', () => {
    const f = foldedPage(T0 - 100);
    f.notify([firing('a1', T0, [one]), firing('a2', T0, [one])], T0 + 30);
    f.page('major_outage', T0 + 100);
    // a2 ended at T0 + 300 and its group flushed first; a1 ended at T0 + 200, its group flushed later.
    f.notify([resolved('a2', T0 + 300, [one])], T0 + 310);
    f.notify([resolved('a1', T0 + 200, [one])], T0 + 500);
    f.page('operational', T0 + 1200);
    expect(f.recovery()).toMatchObject({ count: 1, sum: 900 });
  });

  it('closes a run that ended before the next alert fired, when one notification tells of both', () => {
    const f = foldedPage(T0 - 100);
    f.notify([firing('a1', T0, [one])], T0 + 30);
    // One flush: a1 ended at T0 + 60, a2 fired at T0 + 300 (listed first or last alike).
    f.notify([resolved('a1', T0 + 60, [one]), firing('a2', T0 + 300, [one])], T0 + 330);
    f.page('major_outage', T0 + 400);
    expect(f.response()).toMatchObject({ count: 1, sum: 100 });
  });

  it('measures the response from the run’s earliest alert, whichever Alertmanager sent first', () => {
    const f = foldedPage(T0 - 100);
    f.notify([firing('a1', T0 + 100, [one])], T0 + 130);
    // Another group's alert, fired earlier, sent at that group's next flush.
    f.notify([firing('a2', T0 + 50, [one])], T0 + 400);
    f.page('major_outage', T0 + 500);
    expect(f.response()).toMatchObject({ count: 1, sum: 450 });
  });

  it('answers a page quicker than Alertmanager with the alert that fired before it, wherever the notification lists it', () => {
    for (const order of [0, 1]) {
      const f = foldedPage(T0 - 100);
      f.page('major_outage', T0 + 100);
      const alerts = [firing('late', T0 + 150, [one]), firing('early', T0 + 40, [one])];
      f.notify(order === 0 ? alerts : alerts.reverse(), T0 + 200);
      expect(f.response()).toMatchObject({ count: 1, sum: 60 });
    }
  });

  it('measures no recovery from alerts that ended before the page left operational (their resolution came after it)', () => {
    const f = foldedPage(T0 - 100);
    f.notify([firing('a1', T0, [one])], T0 + 30);
    f.page('major_outage', T0 + 300);
    // Observed at the page's change: the resolution was not known then.
    expect(f.response()).toMatchObject({ count: 1, sum: 300 });
    f.notify([resolved('a1', T0 + 250, [one])], T0 + 320);
    f.page('operational', T0 + 900);
    expect(f.recovery()?.count).toBe(0);

    // Nor when the page came back before the resolution arrived.
    const g = foldedPage(T0 - 100);
    g.notify([firing('b1', T0, [one])], T0 + 30);
    g.page('major_outage', T0 + 300);
    g.page('operational', T0 + 310);
    g.notify([resolved('b1', T0 + 250, [one])], T0 + 320);
    expect(g.recovery()?.count).toBe(0);
  });

  it('measures the response from the alert’s start, also when the exporter first heard of it days later', () => {
    const days = 3 * 86_400;
    // A receiver newly configured (the exporter has known the component for ten days), or an
    // exporter restarted without its state (it declared the component now): startsAt is believed.
    for (const declaredAt of [T0 - 10 * 86_400, T0]) {
      const f = foldedPage(declaredAt);
      f.notify([firing('a1', T0 - days, [one])], T0 + 60);
      f.page('major_outage', T0 + 600);
      expect(f.response()).toMatchObject({ count: 1, sum: days + 600 });
    }
  });

  it('measures the recovery lag to the page showing operational, through a maintenance after the alerts resolved', () => {
    const f = foldedPage(T0 - 100);
    f.notify([firing('a1', T0, [one])], T0 + 30);
    f.page('major_outage', T0 + 100);
    f.notify([resolved('a1', T0 + 1000, [one])], T0 + 1100);
    f.page('under_maintenance', T0 + 1500);
    expect(f.recovery()?.count).toBe(0);
    f.page('operational', T0 + 4000);
    expect(f.recovery()).toMatchObject({ count: 1, sum: 3000 });
  });
});

// ---- properties -------------------------------------------------------------------------------

const PAGES = ['p0', 'p1'];
const IMPACTS = ['operational', 'degraded_performance', 'major_outage', 'under_maintenance'];

type Step =
  | { op: 'alerts'; alerts: { id: number; firing: boolean; start: number; end: number; components: number[] }[]; at: number }
  | { op: 'impact'; component: number; impact: number; at: number }
  | { op: 'expire'; at: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('alerts' as const),
    alerts: fc.array(
      fc.record({
        id: fc.integer({ min: 0, max: 6 }),
        firing: fc.boolean(),
        start: fc.integer({ min: -100, max: 500 }),
        end: fc.integer({ min: -100, max: 500 }),
        components: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
      }),
      { maxLength: 4 },
    ),
    at: fc.integer({ min: 0, max: 20 }),
  }),
  fc.record({
    op: fc.constant('impact' as const),
    component: fc.integer({ min: 0, max: 5 }),
    impact: fc.integer({ min: 0, max: 3 }),
    at: fc.integer({ min: 0, max: 20 }),
  }),
);

const ref = (n: number) => [PAGES[n % 2] as string, `c${n}`] as const;

/** Folds the steps with a model page whose log time only moves forward. */
function run(
  steps: Step[],
  limits: AlertLimits,
  snapshotEvery = 0,
  rules: AlertRules = ALERT_RULES,
): { alerts: AlertState; transitions: number; runs: number } {
  let alerts = createAlertState();
  const impacts = new Map<string, string>();
  const impactOf = (statusPage: string, uuid: string) => ({ impact: impacts.get(componentKey(statusPage, uuid)) ?? 'operational', since: null });
  let now = T0;
  let transitions = 0;
  let runs = 0;
  steps.forEach((step, index) => {
    now += step.at;
    if (step.op === 'alerts') {
      const stored = step.alerts.map((alert) => ({
        fingerprint: `f${alert.id}`,
        status: alert.firing ? ('firing' as const) : ('resolved' as const),
        startsAt: now + alert.start,
        endsAt: alert.firing ? null : now + alert.end,
        components: alert.components.map(ref),
      }));
      const before = [...alerts.components.values()].filter((record) => record.firing.size > 0).length;
      foldAlerts(alerts, stored, now, limits, impactOf, rules);
      runs += Math.max(0, [...alerts.components.values()].filter((record) => record.firing.size > 0).length - before);
    } else if (step.op === 'expire') {
      expireAlerts(alerts, now);
    } else {
      const [statusPage, uuid] = ref(step.component);
      const before = impactOf(statusPage, uuid).impact;
      const after = IMPACTS[step.impact] as string;
      impacts.set(componentKey(statusPage, uuid), after);
      if (before === 'operational' && after !== 'operational') transitions += 1;
      if (before !== after) foldImpactChanges(alerts, [{ statusPage, uuid, before, after, at: now }], now);
    }
    if (snapshotEvery > 0 && index % snapshotEvery === 0) alerts = alertStateOf(JSON.parse(JSON.stringify(alertSnapshot(alerts))));
  });
  return { alerts, transitions, runs };
}

/** The measures recomputed from the records, and the index checked against them. */
function checkInvariants(alerts: AlertState, limits: AlertLimits): void {
  const rebuilt = alertStateOf(alertSnapshot(alerts));
  expect(alerts.pairs).toBe(rebuilt.pairs);
  expect(alerts.bytes).toBe(rebuilt.bytes);
  expect(alerts.byFingerprint).toEqual(rebuilt.byFingerprint);
  expect([...alerts.seenAt.keys()].sort()).toEqual([...alerts.byFingerprint.keys()].sort());
  expect(alerts.pairs).toBeLessThanOrEqual(limits.maxFiringAlerts);
  expect(alerts.bytes).toBeLessThanOrEqual(limits.maxFiringAlertBytes);
  expect(alerts.endedBytes).toBe(rebuilt.endedBytes);
  expect(alerts.endedBytes).toBe([...alerts.components.values()].reduce((sum, record) => sum + endedCost(record.ended), 0));
  // Within the bound, or every gap bridged: a record holding firing alerts keeps one interval at least.
  if (alerts.endedBytes > limits.maxEndedIntervalBytes) for (const record of alerts.components.values()) expect(record.ended.length).toBeLessThanOrEqual(1);
  for (const record of alerts.components.values()) {
    expect(record.firing.size > 0 || record.silentSince !== null || record.resolvedAt !== null).toBe(true);
    if (record.firing.size === 0) expect(record.silentSince).toBeNull();
    if (record.firing.size > 0) expect(record.resolvedAt).toBeNull();
  }
  for (const stats of alerts.pages.values()) {
    for (const histogram of [stats.response, stats.recoveryLag]) {
      expect(histogram.counts.reduce((a, b) => a + b, 0)).toBe(histogram.count);
      expect(histogram.sum).toBeGreaterThanOrEqual(0);
    }
  }
}

describe('alert state properties', () => {
  const limitsArb = fc.record({
    maxFiringAlerts: fc.integer({ min: 1, max: 12 }),
    maxFiringAlertBytes: fc.integer({ min: 100, max: 2_000 }),
    maxClockSkewSeconds: fc.integer({ min: 0, max: 300 }),
    alertStaleSeconds: fc.integer({ min: 5, max: 200 }),
    maxEndedIntervalBytes: fc.integer({ min: 0, max: 200 }),
  });

  it('keeps its measures and bounds, and folds the same through snapshots as without', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), limitsArb, fc.integer({ min: 1, max: 5 }), (steps, limits, every) => {
        const straight = run(steps, limits);
        checkInvariants(straight.alerts, limits);
        const throughSnapshots = run(steps, limits, every);
        expect(alertSnapshot(throughSnapshots.alerts)).toEqual(alertSnapshot(straight.alerts));
        expect(alertSnapshot(cloneAlertState(straight.alerts))).toEqual(alertSnapshot(straight.alerts));
      }),
      { numRuns: 300 },
    );
  });

  it('holds and refuses the same alerts whether the ended intervals are bounded by their size (format 14) or not (format 10)', () => {
    // The bound bridges gaps between intervals of alerts let go of: it never refuses an alert.
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), limitsArb, (steps, limits) => {
        const bounded = run(steps, limits).alerts;
        const counted = run(steps, limits, 0, ENDED_BY_COUNT_ALERT_RULES).alerts;
        const held = (alerts: AlertState) => ({
          pairs: alerts.pairs,
          bytes: alerts.bytes,
          byFingerprint: alerts.byFingerprint,
          firing: [...alerts.components].map(([key, record]) => [key, record.firing]),
          refused: [...alerts.pages.values()].map((stats) => [stats.statusPage, stats.refused, stats.expired]),
        });
        expect(held(bounded)).toEqual(held(counted));
      }),
      { numRuns: 300 },
    );
  });

  it('observes at most one response per page change to an outage, and per run of alerts', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        const { alerts, transitions } = run(steps, DEFAULT_ALERT_LIMITS);
        let responses = 0;
        for (const stats of alerts.pages.values()) responses += stats.response.count;
        expect(responses).toBeLessThanOrEqual(transitions);
      }),
      { numRuns: 300 },
    );
  });

  it('holds nothing once every alert resolved and every component is operational', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        const cleanup: Step[] = [
          { op: 'alerts', alerts: Array.from({ length: 7 }, (_, id) => ({ id, firing: false, start: 0, end: 0, components: [] })), at: 1 },
          ...Array.from({ length: 6 }, (_, component): Step => ({ op: 'impact', component, impact: 1, at: 1 })),
          ...Array.from({ length: 6 }, (_, component): Step => ({ op: 'impact', component, impact: 0, at: 1 })),
        ];
        const { alerts } = run([...steps, ...cleanup], DEFAULT_ALERT_LIMITS);
        expect(alerts.components.size).toBe(0);
        expect(alerts.pairs).toBe(0);
        expect(alerts.bytes).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
