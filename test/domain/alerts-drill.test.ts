import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_LIMITS, type StoredAlert } from '../../src/domain/alert-state.js';
import { applyPatchMeasuringAlerts, expireAlerts, foldAlerts } from '../../src/domain/alerts.js';
import { impactShown } from '../../src/domain/alert-page.js';
import type { ComponentImpactUpdated, IncidentEvent, MaintenanceEvent, StatusMateEvent } from '../../src/domain/event.js';
import { ALERT_RULES, ARRIVAL_RUNS_ALERT_RULES, RUNS_BY_TIMES_ALERT_RULES, type AlertRules } from '../../src/domain/fold-rules.js';
import { declarationPatch } from '../../src/domain/inventory.js';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { applyPatch, createState, type State } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { FEATURES, randomTimeline, T0, type Timeline, type TimelineEntry, type TimelineOptions } from '../support/alert-timelines.js';
import { AlertsOracle } from '../support/alerts-oracle.js';

// A differential drill: seeded timelines of a status page and of Alertmanager's notifications,
// folded by the domain as the fold loop does (src/log/fold-loop.ts: events through the reducer
// with their impact changes into foldImpactChanges, alerts entries through foldAlerts, expiry at
// every 10-minute window of log time), against the oracle written from docs/metrics.md. The
// second part changes the page through incidents' and maintenances' events too, lets go of
// alerts without an end (an entry naming one for fewer components; the exporter's look at
// Alertmanager's alerts) and forgets those no entry named for a day (FEATURES).
//
// Knobs: ALERTS_DRILL_SEEDS seeds from ALERTS_DRILL_BASE (400 from 1 for the first part, 150 from
// 1 for each feature of the second); ALERTS_DRILL_FORMAT=8 (or 3) folds alerts entries by that
// format's rules instead of this release's; DRILL_TRACE=seed:component (and DRILL_FEATURES=name)
// drills that one seed, and when it fails shows that component's entries with the failure. E.g. ALERTS_DRILL_SEEDS=3000 npx vitest run test/domain/alerts-drill.test.ts.

const EXPIRY_WINDOW = 600;

/** The alert rules folded by: this release's (format 10), or ALERTS_DRILL_FORMAT's (8 or 3), to see what an older fold disagrees on. */
const ALERTS_RULES =
  ({ '8': RUNS_BY_TIMES_ALERT_RULES, '3': ARRIVAL_RUNS_ALERT_RULES } as Record<string, AlertRules>)[process.env.ALERTS_DRILL_FORMAT ?? ''] ?? ALERT_RULES;

/** The real fold of one entry, as FoldLoop.fold does it. */
function foldEntry(state: State, entry: TimelineEntry, previousAt: number): void {
  if (
    previousAt > 0 &&
    Math.floor(entry.at / EXPIRY_WINDOW) > Math.floor(previousAt / EXPIRY_WINDOW) &&
    (state.alerts.seenAt.size > 0 || state.alerts.closedRuns.size > 0)
  ) {
    expireAlerts(state.alerts, entry.at);
  }
  if (entry.kind === 'declare') {
    const decision = declarationPatch(
      state,
      [...groupByPage(entry.components)].map(([statusPage, uuids]) => ({ statusPage, uuids })),
      entry.at,
      DEFAULT_LIMITS,
    );
    if (decision.declared > 0) applyPatch(state, decision.patch);
  } else if (entry.kind === 'page' || entry.kind === 'hold') {
    const event: StatusMateEvent = entry.kind === 'page' ? updateOf(entry) : holdEventOf(entry);
    const decision = reduce(state, event, dedupKey(event), entry.at, DEFAULT_LIMITS);
    if (decision.outcome === 'duplicate') return;
    applyPatchMeasuringAlerts(state, decision.patch, entry.at);
  } else {
    const stored: StoredAlert[] = entry.alerts.map((alert) => ({
      fingerprint: alert.fingerprint,
      status: alert.status,
      startsAt: alert.startsAt,
      endsAt: alert.endsAt,
      components: alert.components.map(([page, uuid]) => [page, uuid] as const),
    }));
    foldAlerts(state.alerts, stored, entry.at, DEFAULT_ALERT_LIMITS, impactShown(state, ALERTS_RULES), ALERTS_RULES);
  }
}

function updateOf(entry: TimelineEntry & { kind: 'page' }): ComponentImpactUpdated {
  return {
    type: 'component_impact_updated',
    statusPage: entry.ref[0],
    uuid: entry.ref[1],
    name: entry.ref[1],
    impact: entry.impact,
    createdAt: entry.changedAt,
    deliveryAttempt: 0,
  };
}

/** An incident's or maintenance's event as StatusMate sends it: created_at, and start_at the same (a maintenance's scheduled start). */
function holdEventOf(entry: TimelineEntry & { kind: 'hold' }): IncidentEvent | MaintenanceEvent {
  const common = {
    statusPage: entry.ref[0],
    uuid: entry.object,
    createdAt: entry.changedAt,
    deliveryAttempt: 0,
    title: entry.object,
    startAt: entry.changedAt,
    endAt: null,
    components: [{ uuid: entry.ref[1], name: entry.ref[1], impact: entry.impact }],
  };
  return entry.type === 'incident_created' || entry.type === 'incident_finished' ? { ...common, type: entry.type } : { ...common, type: entry.type };
}

function groupByPage(refs: readonly (readonly [string, string])[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [page, uuid] of refs) out.set(page, [...(out.get(page) ?? []), uuid]);
  return out;
}

type Totals = Record<string, { response: [number, number]; recovery: [number, number] }>;

function realTotals(state: State): Totals {
  const out: Totals = {};
  for (const [page, stats] of state.alerts.pages) {
    if (stats.response.count + stats.recoveryLag.count === 0) continue;
    out[page] = { response: [stats.response.count, stats.response.sum], recovery: [stats.recoveryLag.count, stats.recoveryLag.sum] };
  }
  return out;
}

function oracleTotals(oracle: AlertsOracle): Totals {
  const out: Totals = {};
  for (const [page, t] of oracle.totals()) out[page] = { response: [t.response.count, t.response.sum], recovery: [t.recovery.count, t.recovery.sum] };
  return out;
}

const sorted = (totals: Totals): Totals => Object.fromEntries(Object.entries(totals).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Null when the fold and the oracle agree after every entry; else where they first differ. */
export function drill(timeline: Timeline): string | null {
  const state = createState();
  const oracle = new AlertsOracle();
  let previousAt = 0;
  for (const [index, entry] of timeline.entries.entries()) {
    foldEntry(state, entry, previousAt);
    previousAt = entry.at;
    oracle.apply(entry);
    const real = sorted(realTotals(state));
    const expected = sorted(oracleTotals(oracle));
    if (JSON.stringify(real) !== JSON.stringify(expected)) {
      const rel = (t: number) => t - T0;
      return [
        `seed ${timeline.seed}: differs after entry ${index} (log +${rel(entry.at)}): ${JSON.stringify(entry)}`,
        `  fold:   ${JSON.stringify(real)}`,
        `  oracle: ${JSON.stringify(expected)}`,
        `  oracle observations: ${JSON.stringify(oracle.observations.slice(-3))}`,
        `  notes: ${timeline.notes.join('; ')}`,
      ].join('\n');
    }
  }
  return null;
}

const seedsOf = (count: number) =>
  Array.from({ length: Number(process.env.ALERTS_DRILL_SEEDS ?? count) }, (_, i) => Number(process.env.ALERTS_DRILL_BASE ?? 1) + i);
const SEEDS = seedsOf(400);
/** The seeds the situations are counted over, whatever the knobs. */
const COUNTED_SEEDS = Array.from({ length: 400 }, (_, i) => i + 1);

describe('alerts drill: the fold against an oracle of docs/metrics.md', () => {
  it('agrees on every seeded timeline, entry by entry', () => {
    const failures: string[] = [];
    for (const seed of SEEDS) {
      const result = drill(randomTimeline(seed));
      if (result !== null) failures.push(result);
    }
    expect(failures.slice(0, 5).join('\n\n'), `${failures.length} of ${SEEDS.length} seeds differ`).toBe('');
  });

  it('meets the situations it is for, many times each', () => {
    const notes = COUNTED_SEEDS.flatMap((seed) => randomTimeline(seed).notes);
    const count = (prefix: string) => notes.filter((note) => note.startsWith(prefix)).length;
    // An alert days older than the exporter's first notice of it; a flap resolved before the page
    // spoke, then another alert; resolutions arriving in the other order than the ends; alerts
    // resolved, then a maintenance, then operational; a page quicker than Alertmanager; a page
    // back after the alert ended and away again before its resolution; two runs a short gap apart.
    for (const prefix of [
      'new-receiver',
      'restarted',
      'flap-then-outage',
      'ends-reversed',
      'resolved-then-maintenance',
      'page-first',
      'back-and-away',
      'ends-apart',
    ]) {
      expect(count(prefix), prefix).toBeGreaterThan(20);
    }
  });
});

const FEATURE_SEEDS = seedsOf(150);

describe('alerts drill: incidents, maintenances, alerts let go of and forgotten', () => {
  for (const [name, options] of Object.entries(FEATURES)) {
    it(`agrees on every seeded timeline, entry by entry (${name})`, () => {
      const failures: string[] = [];
      for (const seed of FEATURE_SEEDS) {
        const result = drill(randomTimeline(seed, options));
        if (result !== null) failures.push(result);
      }
      expect(failures.slice(0, 3).join('\n\n'), `${failures.length} of ${FEATURE_SEEDS.length} seeds differ`).toBe('');
    });
  }

  it('meets the situations it is for, many times each', () => {
    let holds = 0;
    let looks = 0;
    let renamed = 0;
    let expired = 0;
    for (const name of ['all', 'resolutions lost, expired', 'let go of']) {
      const options = FEATURES[name] as TimelineOptions;
      for (const seed of COUNTED_SEEDS.slice(0, 50)) {
        const timeline = randomTimeline(seed, options);
        const state = createState();
        let previousAt = 0;
        const components = new Map<string, number>();
        for (const entry of timeline.entries) {
          foldEntry(state, entry, previousAt);
          previousAt = entry.at;
          if (entry.kind === 'hold') holds += 1;
          if (entry.kind !== 'alerts') continue;
          if (entry.alerts.some((alert) => alert.components.length === 0)) looks += 1;
          for (const alert of entry.alerts) {
            if (alert.status !== 'firing') continue;
            if (alert.components.length < (components.get(alert.fingerprint) ?? 0)) renamed += 1;
            components.set(alert.fingerprint, alert.components.length);
          }
        }
        for (const stats of state.alerts.pages.values()) expired += stats.expired;
      }
    }
    // Incidents' and maintenances' events; the look letting go of alerts; an entry naming an
    // alert for fewer components than before; alerts forgotten after a day.
    expect({ holds: holds > 200, looks: looks > 50, renamed: renamed > 10, expired: expired > 50 }).toEqual({
      holds: true,
      looks: true,
      renamed: true,
      expired: true,
    });
  });
});

/** DRILL_TRACE=seed:component drills one seed; its failure shows what happened to the component, entry by entry. */
const trace = process.env.DRILL_TRACE;
if (trace !== undefined) {
  it(`agrees with the oracle on seed ${trace}, explaining the component when not`, () => {
    const [seedText, component] = trace.split(':');
    const timeline = randomTimeline(Number(seedText), FEATURES[process.env.DRILL_FEATURES ?? ''] ?? {});
    const state = createState();
    const oracle = new AlertsOracle();
    let previousAt = 0;
    const rel = (t: number | null | undefined) => (typeof t === 'number' ? t - T0 : t);
    const lines: string[] = [`notes: ${timeline.notes.join('; ')}`];
    for (const entry of timeline.entries) {
      foldEntry(state, entry, previousAt);
      previousAt = entry.at;
      const seen = oracle.observations.length;
      oracle.apply(entry);
      const touches =
        ((entry.kind === 'page' || entry.kind === 'hold') && entry.ref[1] === component) ||
        (entry.kind === 'alerts' && entry.alerts.some((a) => a.components.some((ref) => ref[1] === component)));
      if (!touches && oracle.observations.length === seen) continue;
      const what =
        entry.kind === 'page'
          ? `page ${entry.impact} changed ${rel(entry.changedAt)}`
          : entry.kind === 'hold'
            ? `${entry.type} ${entry.object} ${entry.impact} at ${rel(entry.changedAt)}`
            : entry.kind === 'alerts'
              ? entry.alerts
                  .map((a) => `${a.fingerprint} ${a.status} ${rel(a.startsAt)}..${rel(a.endsAt)} [${a.components.map((r) => r[1]).join(',')}]`)
                  .join('; ')
              : 'declare';
      const record = [...state.alerts.components.values()].find((r) => r.uuid === component);
      lines.push(
        `+${rel(entry.at)} ${what}\n     record firing=${JSON.stringify([...(record?.firing.entries() ?? [])].map(([f, s]) => [f, rel(s)]))} silentSince=${rel(record?.silentSince)} resolvedAt=${rel(record?.resolvedAt)}` +
          ` | fold ${JSON.stringify(realTotals(state))}` +
          (oracle.observations.length > seen ? `\n     oracle: ${JSON.stringify(oracle.observations.slice(seen).map((o) => ({ ...o, at: rel(o.at) })))}` : ''),
      );
    }
    expect(drill(timeline), lines.join('\n')).toBeNull();
  });
}
