import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertSnapshot, alertStateOf, type AlertSnapshot } from '../../src/domain/alert-snapshot.js';
import {
  DEFAULT_ALERT_LIMITS,
  ENDED_INTERVAL_COST,
  endedCost,
  MAX_ENDED_INTERVALS,
  type AlertLimits,
  type AlertState,
  type StoredAlert,
} from '../../src/domain/alert-state.js';
import { applyPatchMeasuringAlerts, foldAlerts } from '../../src/domain/alerts.js';
import { impactShown } from '../../src/domain/alert-page.js';
import type { ComponentImpactUpdated } from '../../src/domain/event.js';
import { ALERT_RULES, ENDED_BY_COUNT_ALERT_RULES, FOLD_RULES, type AlertRules } from '../../src/domain/fold-rules.js';
import { OPERATIONAL } from '../../src/domain/impact.js';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { createState, type State } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';

// The ended intervals a record keeps while other alerts of its run still fire (AlertRules.runsSplitAtGaps,
// alerts entries of format 10) were bounded by MAX_ENDED_INTERVALS a record only, not counted in
// maxFiringAlertBytes: 9 999 components each firing one long alert, their short alerts firing and
// ending one after another, kept 320 000 intervals, 10.4 MB of snapshot and 23 MB of heap
// beyond the firing alerts' 2 MiB (bench/alert-ended-memory.mjs). Alerts entries of format 14
// bound them by their size over all components (AlertLimits.maxEndedIntervalBytes), bridging the
// oldest gaps first (AlertRules.endedIntervalsBoundedByBytes); format 10 entries fold as before.

const T = 1_700_000_000;

/** What a snapshot writes of the records' ended intervals, in characters (`"ended":[…]`, a comma). */
function endedText(snapshot: AlertSnapshot): number {
  let chars = 0;
  for (const record of snapshot.components) if (record.ended) chars += ',"ended":'.length + JSON.stringify(record.ended).length;
  return chars;
}

const intervals = (alerts: AlertState) => [...alerts.components.values()].reduce((sum, record) => sum + record.ended.length, 0);

describe('the ended intervals of alerts let go of while others of their run fire', () => {
  /**
   * The worst case, through the fold: each of `components` components fires one long alert, then,
   * `shorts` times, a short alert that ends 1.111 s later, 10 s after the one before (times with
   * milliseconds, as Alertmanager's are). Each short one is let go of while the long one fires:
   * an interval of its own, kept apart from the others.
   */
  function flapping(components: number, shorts: number, rules: AlertRules, limits: AlertLimits = DEFAULT_ALERT_LIMITS): AlertState {
    const state = createState();
    const operational = () => ({ impact: OPERATIONAL, since: null });
    // Alertmanager's times as the receiver reads them: milliseconds / 1000 (src/webhook/alertmanager.ts).
    const ms = (seconds: number) => Math.round(seconds * 1000) / 1000;
    // Each notification's log time after the times it tells of (a time past it is not believed).
    const notify = (logTime: number, alerts: StoredAlert[]) => foldAlerts(state.alerts, alerts, logTime, limits, operational, rules);
    const refs = (n: number) => [['shop', `c0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`] as const];
    for (let n = 0; n < components; n += 1)
      notify(T + 1 + n / 10_000, [{ fingerprint: `long${n}`, status: 'firing', startsAt: ms(T + 0.123), endsAt: null, components: refs(n) }]);
    for (let step = 1; step <= shorts; step += 1) {
      for (let n = 0; n < components; n += 1) {
        const fingerprint = `short${n}.${step}`;
        const startsAt = ms(T + 10 * step + 0.123);
        const logTime = T + 10 * step + 3 + n / 10_000;
        expect(notify(logTime, [{ fingerprint, status: 'firing', startsAt, endsAt: null, components: refs(n) }]).held).toBe(1);
        notify(logTime, [{ fingerprint, status: 'resolved', startsAt, endsAt: ms(startsAt + 1.111), components: refs(n) }]);
      }
    }
    return state.alerts;
  }

  it('keeps them within maxEndedIntervalBytes of snapshot text, however many components flap (format 14)', () => {
    // 2 000 components × 32 intervals: 64 000, over 2 MB of snapshot by format 10's count alone.
    const counted = flapping(2000, MAX_ENDED_INTERVALS, ENDED_BY_COUNT_ALERT_RULES);
    expect(intervals(counted)).toBe(2000 * MAX_ENDED_INTERVALS);
    expect(endedText(alertSnapshot(counted))).toBeGreaterThan(2_000_000);
    const bounded = flapping(2000, MAX_ENDED_INTERVALS, ALERT_RULES);
    const snapshot = alertSnapshot(bounded);
    expect(endedText(snapshot)).toBeLessThanOrEqual(DEFAULT_ALERT_LIMITS.maxEndedIntervalBytes);
    expect(bounded.endedBytes).toBeLessThanOrEqual(DEFAULT_ALERT_LIMITS.maxEndedIntervalBytes);
    expect(bounded.endedBytes).toBe([...bounded.components.values()].reduce((sum, record) => sum + endedCost(record.ended), 0));
    // The measure is what the snapshot writes, or more: an interval of two times with milliseconds takes 32 characters.
    expect(endedText(snapshot)).toBeLessThanOrEqual(bounded.endedBytes);
    expect(endedText(snapshot)).toBeGreaterThan(0.95 * bounded.endedBytes);
    // Bridged down to 90 % of the bound, never below: the newest gaps are kept.
    expect(bounded.endedBytes).toBeGreaterThan(0.9 * DEFAULT_ALERT_LIMITS.maxEndedIntervalBytes - ENDED_INTERVAL_COST);
    // The firing alerts are not touched: the same pairs, nothing refused.
    expect([bounded.pairs, bounded.bytes]).toEqual([counted.pairs, counted.bytes]);
    // Through a snapshot, the same measure.
    expect(alertStateOf(JSON.parse(JSON.stringify(snapshot)) as AlertSnapshot).endedBytes).toBe(bounded.endedBytes);
  });

  it('leaves them to MAX_ENDED_INTERVALS a record in format 10 entries, whatever maxEndedIntervalBytes their appender wrote', () => {
    const small = { ...DEFAULT_ALERT_LIMITS, maxEndedIntervalBytes: 1024 };
    expect(alertSnapshot(flapping(20, 40, ENDED_BY_COUNT_ALERT_RULES, small))).toEqual(alertSnapshot(flapping(20, 40, ENDED_BY_COUNT_ALERT_RULES)));
    expect(intervals(flapping(20, 40, ENDED_BY_COUNT_ALERT_RULES, small))).toBe(20 * MAX_ENDED_INTERVALS);
    const bounded = flapping(20, 40, ALERT_RULES, small);
    expect(bounded.endedBytes).toBeLessThanOrEqual(1024);
    expect(endedText(alertSnapshot(bounded))).toBeLessThanOrEqual(1024);
  });

  describe('bridges the oldest gaps first, so that the recent runs are still told apart', () => {
    const pages = { a: 'pa', b: 'pb' } as const;
    type Side = keyof typeof pages;

    /**
     * Per component: a long alert L fired at o+100 and ended at o+150, its resolution arriving
     * last; `shorts` short alerts, the i-th fired at o+200+200i and ended 100 s later, each
     * resolved 5 s after its end. The page leaves 50 s after each short one fires and is back 50
     * s after it ends: once L's resolution tells that L ended before them, each short alert is a
     * run of its own, recovered in 50 s. Component a's runs (o = 0) are all older than b's (o = 5000).
     */
    function history(limits: AlertLimits, rules: AlertRules) {
      const state = createState();
      type Step = { at: number; run: () => void };
      const steps: Step[] = [];
      const ref = (side: Side) => [[pages[side], `c-${side}`] as const];
      const notify = (at: number, alerts: StoredAlert[]) =>
        steps.push({ at, run: () => foldAlerts(state.alerts, alerts, T + at, limits, impactShown(state, rules), rules) });
      const page = (side: Side, at: number, impact: string) => steps.push({ at, run: () => change(state, pages[side], `c-${side}`, impact, T + at) });
      const component = (side: Side, o: number, shorts: number, resolvedAt: number) => {
        notify(o + 101, [{ fingerprint: `L${side}`, status: 'firing', startsAt: T + o + 100, endsAt: null, components: ref(side) }]);
        for (let i = 0; i < shorts; i += 1) {
          const start = o + 200 + 200 * i;
          notify(start + 1, [{ fingerprint: `${side}${i}`, status: 'firing', startsAt: T + start, endsAt: null, components: ref(side) }]);
          page(side, start + 50, 'major_outage');
          notify(start + 105, [{ fingerprint: `${side}${i}`, status: 'resolved', startsAt: T + start, endsAt: T + start + 100, components: ref(side) }]);
          page(side, start + 150, OPERATIONAL);
        }
        notify(resolvedAt, [{ fingerprint: `L${side}`, status: 'resolved', startsAt: T + o + 100, endsAt: T + o + 150, components: ref(side) }]);
      };
      component('a', 0, 9, 9000);
      component('b', 5000, 2, 9001);
      let highest = 0;
      for (const step of steps.sort((x, y) => x.at - y.at)) {
        step.run();
        highest = Math.max(highest, state.alerts.endedBytes);
      }
      const measured = (side: Side) => {
        const stats = state.alerts.pages.get(pages[side]);
        return { response: [stats?.response.count, stats?.response.sum], recovery: [stats?.recoveryLag.count, stats?.recoveryLag.sum] };
      };
      return { a: measured('a'), b: measured('b'), highest };
    }

    // a keeps 9 intervals, b 1 then 2: endedCost 344, then 376, past 360; down to 90 % (324): two
    // gaps bridged, a's two oldest (312).
    const bound = { ...DEFAULT_ALERT_LIMITS, maxEndedIntervalBytes: 360 };
    const cost = (...counts: number[]) => counts.reduce((sum, count) => sum + endedCost(Array.from({ length: count }, () => [0, 0] as const)), 0);

    it('measures every run where the bound is not reached, as format 10 does', () => {
      const unbounded = history(DEFAULT_ALERT_LIMITS, ALERT_RULES);
      expect(unbounded.a.recovery).toEqual([9, 9 * 50]);
      expect(unbounded.b.recovery).toEqual([2, 2 * 50]);
      expect(unbounded.highest).toBe(cost(9, 2));
      expect(cost(9, 1)).toBeLessThanOrEqual(360);
      expect(cost(9, 2)).toBeGreaterThan(360);
      expect(history(DEFAULT_ALERT_LIMITS, ENDED_BY_COUNT_ALERT_RULES)).toEqual(unbounded);
      // Format 10 ignores the appender's bound: the same with it at 360 bytes.
      expect(history(bound, ENDED_BY_COUNT_ALERT_RULES)).toEqual(unbounded);
    });

    it("past it, takes a's three oldest runs for one (one recovery instead of three), and still tells b's apart", () => {
      const unbounded = history(DEFAULT_ALERT_LIMITS, ALERT_RULES);
      const bounded = history(bound, ALERT_RULES);
      expect(bounded.highest).toBeLessThanOrEqual(360);
      expect(bounded.b).toEqual(unbounded.b);
      expect(bounded.a.recovery).toEqual([7, 7 * 50]);
      // The responses were observed as the page spoke, before any gap was bridged.
      expect(bounded.a.response).toEqual(unbounded.a.response);
    });
  });

  describe('properties', () => {
    type Step =
      | { op: 'long'; component: number; back: number }
      | { op: 'short'; component: number; length: number }
      | { op: 'resolveLong'; component: number; back: number }
      | { op: 'page'; component: number; outage: boolean };
    const component = fc.integer({ min: 0, max: 3 });
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      { weight: 1, arbitrary: fc.record({ op: fc.constant('long' as const), component, back: fc.integer({ min: 0, max: 400 }) }) },
      { weight: 5, arbitrary: fc.record({ op: fc.constant('short' as const), component, length: fc.integer({ min: 1, max: 60 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('resolveLong' as const), component, back: fc.integer({ min: 0, max: 400 }) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('page' as const), component, outage: fc.boolean() }) },
    );
    const limitsArb = fc.record({
      maxFiringAlerts: fc.integer({ min: 2, max: 12 }),
      maxEndedIntervalBytes: fc.integer({ min: 0, max: 12 * ENDED_INTERVAL_COST }),
    });

    /** Folds the steps as the fold loop does (alerts through foldAlerts, the page through the reducer), one clock moving forward. */
    function run(steps: readonly Step[], bounds: { maxFiringAlerts: number; maxEndedIntervalBytes: number }, rules: AlertRules, snapshotEvery = 0) {
      const limits: AlertLimits = { ...DEFAULT_ALERT_LIMITS, ...bounds };
      const state = createState();
      const ref = (n: number) => [[`p${n % 2}`, `c${n}`] as const];
      let now = T;
      let long = 0;
      const within: boolean[] = [];
      const notify = (alerts: StoredAlert[]) => {
        foldAlerts(state.alerts, alerts, now, limits, impactShown(state, rules), rules);
        // Within the bound, or no gap left to bridge.
        within.push(
          state.alerts.endedBytes <= limits.maxEndedIntervalBytes || [...state.alerts.components.values()].every((record) => record.ended.length <= 1),
        );
      };
      steps.forEach((step, index) => {
        now += 7;
        if (step.op === 'long')
          notify([
            { fingerprint: `L${step.component}.${(long += 1)}`, status: 'firing', startsAt: now - step.back, endsAt: null, components: ref(step.component) },
          ]);
        else if (step.op === 'resolveLong') {
          for (const fingerprint of state.alerts.byFingerprint.keys())
            if (fingerprint.startsWith(`L${step.component}.`))
              notify([{ fingerprint, status: 'resolved', startsAt: null, endsAt: now - step.back, components: [] }]);
        } else if (step.op === 'short') {
          const fingerprint = `s${index}`;
          notify([{ fingerprint, status: 'firing', startsAt: now, endsAt: null, components: ref(step.component) }]);
          now += step.length;
          notify([{ fingerprint, status: 'resolved', startsAt: now - step.length, endsAt: now - 1, components: ref(step.component) }]);
        } else change(state, `p${step.component % 2}`, `c${step.component}`, step.outage ? 'major_outage' : OPERATIONAL, now);
        if (snapshotEvery > 0 && index % snapshotEvery === 0)
          state.alerts = alertStateOf(JSON.parse(JSON.stringify(alertSnapshot(state.alerts))) as AlertSnapshot);
      });
      return { state, within };
    }

    it('keeps the ended intervals within maxEndedIntervalBytes after every alerts entry, or bridges every gap (format 14)', () => {
      fc.assert(
        fc.property(fc.array(stepArb, { maxLength: 80 }), limitsArb, (steps, bounds) => {
          const { state, within } = run(steps, bounds, ALERT_RULES);
          expect(within.every(Boolean)).toBe(true);
          expect(state.alerts.endedBytes).toBe(alertStateOf(alertSnapshot(state.alerts)).endedBytes);
        }),
        { numRuns: 200 },
      );
    });

    it('folds the same through snapshots as without (the measure is rebuilt, the bound decided alike)', () => {
      fc.assert(
        fc.property(fc.array(stepArb, { maxLength: 80 }), limitsArb, fc.integer({ min: 1, max: 9 }), (steps, bounds, every) => {
          const straight = run(steps, bounds, ALERT_RULES).state;
          const throughSnapshots = run(steps, bounds, ALERT_RULES, every).state;
          expect(alertSnapshot(throughSnapshots.alerts)).toEqual(alertSnapshot(straight.alerts));
          expect(throughSnapshots.alerts.endedBytes).toBe(straight.alerts.endedBytes);
        }),
        { numRuns: 150 },
      );
    });

    it('folds format 10 entries as before, whatever their bound; format 14 alike until the bound is passed', () => {
      fc.assert(
        fc.property(fc.array(stepArb, { maxLength: 80 }), limitsArb, (steps, bounds) => {
          const before = run(steps, { ...bounds, maxEndedIntervalBytes: DEFAULT_ALERT_LIMITS.maxEndedIntervalBytes }, ENDED_BY_COUNT_ALERT_RULES).state;
          const counted = run(steps, bounds, ENDED_BY_COUNT_ALERT_RULES);
          expect(alertSnapshot(counted.state.alerts)).toEqual(alertSnapshot(before.alerts));
          if (counted.within.every(Boolean)) expect(alertSnapshot(run(steps, bounds, ALERT_RULES).state.alerts)).toEqual(alertSnapshot(before.alerts));
        }),
        { numRuns: 150 },
      );
    });
  });
});

/** A component_impact_updated made and received at `at`, folded as FoldLoop.applyEventPatch does. */
function change(state: State, statusPage: string, uuid: string, impact: string, at: number): void {
  const event: ComponentImpactUpdated = { type: 'component_impact_updated', statusPage, uuid, name: uuid, impact, createdAt: at, deliveryAttempt: 0 };
  const decision = reduce(state, event, dedupKey(event), at, DEFAULT_LIMITS);
  applyPatchMeasuringAlerts(state, decision.patch, at, FOLD_RULES);
}
