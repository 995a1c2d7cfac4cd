import { ALERT_RULES, FOLD_RULES, type AlertRules, type FoldRules } from './fold-rules.js';
import { emptyHistogram, observe, type Histogram } from './histogram.js';
import { OPERATIONAL } from './impact.js';
import { ledgerOf, toMs, type Changes } from './ledger.js';
import type { State } from './state.js';

// Alerts measure the status page (issue 19): Alertmanager's alerts, already mapped to
// components, folded with the status page's impacts into how long the page takes to say what the
// alerts already know. Deterministic and free of I/O: every process folding the same entries in
// the same order holds the same AlertState, whatever its own status pages file says.
//
// Unlike the reducer's records, this state is changed in place by the fold functions below (it
// is a few maps of numbers, never shared with a renderer's cache by identity: the renderer keys
// on State.version, which the fold loop bumps).
//
// Where the mapping from an alert to components happens: at append time, by the appender's
// inventory (its `alert_matchers`), and the entry stores the components it chose. Matching at
// read time would make the fold depend on the folding process's status pages file, and replicas
// hold different files during a rollout (or a ConfigMap update that reaches pods at different
// moments): they would diverge for good, and a restart would re-fold old alerts with new
// matchers. Storing the decision makes the log the truth, as with the appender's limits; the
// cost is that a matcher change applies to alerts received after it, which Alertmanager's next
// notification of the group (every group_interval while it changes, every repeat_interval
// otherwise) brings anyway, since it re-sends every alert of the group.

/** The components one alert explains, as `[status_page, component_uuid]`. */
export type ComponentRef = readonly [statusPage: string, uuid: string];

/** One alert as the log stores it: its fingerprint, status, trusted-or-not times, and its components. */
export type StoredAlert = {
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** Alertmanager's startsAt, in Unix seconds; null when absent or unparseable. */
  startsAt: number | null;
  /** Alertmanager's endsAt for a resolved alert, in Unix seconds; null otherwise. */
  endsAt: number | null;
  components: ComponentRef[];
};

/** What bounds the firing alerts held: the appender's, carried in the entry like the reducer's limits. */
export type AlertLimits = {
  /** Firing (alert, component) pairs held at most, over every component. */
  maxFiringAlerts: number;
  /** What the alert records may take in memory (and in a snapshot), roughly, in bytes. */
  maxFiringAlertBytes: number;
  /** How far in the future of the entry's log time an alert's startsAt or endsAt is still believed. */
  maxClockSkewSeconds: number;
  /**
   * A firing alert no notification named for this long (log time) is forgotten: Alertmanager
   * re-sends every firing alert of a group each repeat_interval, so one it stopped sending
   * (lost on its restart, a receiver removed, send_resolved off) does not fire here for ever.
   */
  alertStaleSeconds: number;
};

/**
 * 10 000 pairs measured about 5 MiB of heap and 0.7 MiB of snapshot JSON (16-character
 * fingerprints, 10 pages, 2 000 components): well within the chart's 256 MiB limit beside the
 * state's other bounds. The byte measure (recordCost and pairCost) binds first only when fingerprints, page ids
 * or uuids are long; it is what a snapshot grows by, roughly.
 */
export const DEFAULT_ALERT_LIMITS: AlertLimits = {
  maxFiringAlerts: 10_000,
  maxFiringAlertBytes: 2 * 1024 * 1024,
  maxClockSkewSeconds: 300,
  // Alertmanager's default repeat_interval is 4h: six of them.
  alertStaleSeconds: 24 * 3600,
};

/** The components one alert may name in an entry (the appender keeps the first, sorted). */
export const MAX_COMPONENTS_PER_ALERT = 100;

/** Upper bounds of the response and recovery lag histograms, in seconds (30 s … 1 day). */
export const RESPONSE_BUCKETS: readonly number[] = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400];

export type ComponentAlerts = {
  statusPage: string;
  uuid: string;
  /** Firing alerts by fingerprint, with their trusted start (Unix seconds). */
  firing: Map<string, number>;
  /** When the first alert of the current run fired while the page showed the component operational; null when no episode is open. */
  silentSince: number | null;
  /** When the last alert resolved while the page showed the component not operational; null unless waiting for recovery. */
  resolvedAt: number | null;
  /**
   * The latest end of the alerts of the current run let go of so far: Alertmanager resolves
   * alerts of different groups at their own flushes, so the one let go of last may have ended
   * first, and the recovery lag runs from the last end. Null when none ended yet.
   */
  endedAt: number | null;
  /**
   * When the page left operational, for the change whose response was observed: a page change
   * is answered once, by the first alert known to fire before it, whichever arrived first.
   * Null when the page shows operational, or its change was not answered yet.
   */
  answered: number | null;
  /**
   * The end of the last run, while the page showed the component not operational, when a new run
   * fired before the page's return arrived (AlertRules.runsByTimes): a return timed before the new
   * run's first alert recovers from it (FoldRules.pageChangesByTheirTimes). Null otherwise.
   */
  recoveryFrom: number | null;
  /**
   * The page's return last observed as a recovery of this component's alerts (AlertRules.recoveryByHistory):
   * a return is one recovery, so a run that ended before it, known only after (a late alert's
   * group_wait), does not observe it again. Null when none.
   */
  recoveredAt: number | null;
  /**
   * The alerts of the current run let go of so far while others still fire, as intervals
   * [start, end] merged where they overlap, sorted (AlertRules.runsSplitAtGaps): a later let-go
   * may leave a gap between them that no alert spans, where one run ended and another began.
   * Empty otherwise; at most MAX_ENDED_INTERVALS.
   */
  ended: (readonly [start: number, end: number])[];
};

/**
 * The intervals of a run's ended alerts kept apart at most: past it the two oldest are taken as
 * one, their gap bridged (a run whose alerts come and go more often than that, each overlapping
 * one still firing, is one run from its oldest start).
 */
export const MAX_ENDED_INTERVALS = 32;

/**
 * The run a component closed last (all its alerts let go of): its latest end, and its silent
 * episode's start if one was open. An alert that fired before that end, arriving after it, is of
 * that run (AlertRules.runsByTimes); the component's next alert, or CLOSED_RUN_SECONDS of log
 * time, forgets it. Only format-8 entries make them.
 */
export type ClosedRun = {
  statusPage: string;
  uuid: string;
  end: number;
  silentSince: number | null;
  /** When the page left operational, if a change of it answered this run after it closed (a late webhook). Absent: null. */
  answered?: number | null;
  /** The page's return last observed as a recovery (ComponentAlerts.recoveredAt), for the component's next alert. Absent: null. */
  recovered?: number | null;
};

/**
 * How long a closed run waits for an alert that fired before its end: Alertmanager sends a new
 * group's first alert after group_wait (30 s by default), while the run's last alert may have been
 * let go of by its resolution at another group's flush or by the look at Alertmanager's alerts at
 * any time before. An hour of log time holds any such notification; the record is dropped then.
 */
export const CLOSED_RUN_SECONDS = 3600;

export type PageAlertStats = {
  statusPage: string;
  /** From the first firing alert (page operational) to the page showing the component not operational. */
  response: Histogram;
  /** From the last alert resolving to the page showing the component operational again. */
  recoveryLag: Histogram;
  /** Firing alerts the bounds refused (not held). */
  refused: number;
  /** Firing alerts forgotten because no notification named them for alertStaleSeconds. */
  expired: number;
  /** Log time of the first entry that touched this page's alert stats (its first held or refused alert): their `_created`. */
  createdAt: number;
};

export type AlertState = {
  components: Map<string, ComponentAlerts>;
  pages: Map<string, PageAlertStats>;
  /** Which components hold each firing fingerprint: what a resolution (or a new match) withdraws. */
  byFingerprint: Map<string, Set<string>>;
  /** Log time of the last entry that named each held fingerprint firing. */
  seenAt: Map<string, number>;
  /** alertStaleSeconds of the last alerts entry folded: expiry reads it, so it is the appender's, not the folding process's. */
  staleSeconds: number;
  /**
   * The run each component closed last, by component key, kept apart from the records: a
   * component whose alerts all resolved holds no record (no series, nothing to bound) while its
   * closed run waits. At most one per component of the inventory, for an hour: not counted in
   * `bytes`.
   */
  closedRuns: Map<string, ClosedRun>;
  /** Firing (alert, component) pairs held. */
  pairs: number;
  /** The records' rough size (recordCost and pairCost), bounded by maxFiringAlertBytes. */
  bytes: number;
};

export function createAlertState(): AlertState {
  return {
    components: new Map(),
    pages: new Map(),
    byFingerprint: new Map(),
    seenAt: new Map(),
    closedRuns: new Map(),
    staleSeconds: DEFAULT_ALERT_LIMITS.alertStaleSeconds,
    pairs: 0,
    bytes: 0,
  };
}

/** One key per component: page and uuid cannot hold a NUL. */
export const componentKey = (statusPage: string, uuid: string) => `${statusPage}\u0000${uuid}`;

const RECORD_COST = 96;
const PAIR_COST = 24;
const recordCost = (statusPage: string, uuid: string) => RECORD_COST + statusPage.length + uuid.length;
const pairCost = (fingerprint: string) => PAIR_COST + fingerprint.length;

/**
 * When a page that shows a component not operational left `operational` (the start of the run of
 * other impacts it shows now), and since when it had shown it operational before (null: since it
 * was first known).
 */
export type LeftOperational = { at: number; operationalSince: number | null };

/**
 * The component's impact as the folded state shows it, and since when (its last change of
 * impact); a component it lacks is operational, as a declared one would be, since ever (null).
 * `left`, for one not operational: when the page left operational, if it is known (undefined or
 * null otherwise). `cameBackFrom`, for one back to operational (`since`): when it had left operational before.
 */
export type ImpactOf = ((
  statusPage: string,
  uuid: string,
) => { impact: string; since: number | null; left?: LeftOperational | null; cameBackFrom?: number | null }) & {
  /**
   * What the page's impact history says of alerts of the component that ended at `end`
   * (AlertRules.recoveryByHistory). Absent, or undefined for a component without one: the fold
   * reads the recovery from what the page shows now, as alerts entries of format 8 did.
   */
  recoveryAfter?: (statusPage: string, uuid: string, end: number) => RecoveryAfter | undefined;
};

/**
 * What the page's impact history says of a run that ended at `end`, for its recovery lag: the
 * page showed the component not operational just before `end` and came back to operational at
 * `back` (the first return at or after it, whatever it did after); or it shows it not operational
 * still (`outage`: the return is still to come); or nothing to recover from (null): it showed it
 * operational then (the run ended before the page spoke, or after it came back), or the history
 * kept does not reach back to `end`.
 */
export type RecoveryAfter = { back: number } | 'outage' | null;

/**
 * RecoveryAfter from a component's change points (the ledger's, sorted by time; of equal times
 * the last counts). An end before the oldest point kept measures nothing: the points before it
 * were dropped (LEDGER_MAX_CHANGES, the kept days), or the component was not known then, and the
 * exporter takes a component as operational until it knows it.
 */
export function recoveryIn(changes: Changes, end: number): RecoveryAfter {
  const endMs = toMs(end);
  const { ms, impacts } = changes;
  let before = ms.length - 1;
  while (before >= 0 && (ms[before] as number) >= endMs) before -= 1;
  if (before < 0 || impacts[before] === OPERATIONAL) return null;
  for (let index = before + 1; index < ms.length; index += 1) {
    const last = index + 1 === ms.length || (ms[index + 1] as number) > (ms[index] as number);
    if (impacts[index] === OPERATIONAL && last) return { back: (ms[index] as number) / 1000 };
  }
  return 'outage';
}

/**
 * ImpactOf over a folded state. Since when only if the component came back to its impact (the
 * ledger's open interval follows another one): one operational since it was first known
 * (declared, or its first event) has been so for as long as any alert could have fired. When it
 * left operational, from the ledger's change points (null when they do not reach back to an
 * operational one).
 */
export function impactShown(state: State, rules: AlertRules = ALERT_RULES): ImpactOf {
  const shown: ImpactOf = (statusPage, uuid) => {
    const impact = state.pages.get(statusPage)?.components.get(uuid)?.impact ?? OPERATIONAL;
    const ledger = ledgerOf(state.ledger, statusPage, uuid);
    const cameBack = ledger !== undefined && ledger.impact === impact && ledger.openMs > ledger.sinceMs;
    let since = cameBack ? ledger.openMs / 1000 : null;
    if (ledger === undefined || ledger.impact !== impact) return { impact, since };
    const { ms, impacts } = ledger.changes;
    // The point the impact last changed at: the ledger also books a point where it stayed (an
    // incident's end the update made during it outlives).
    let last = impacts.length - 1;
    if (rules.sinceLastChangeOfImpact) {
      while (last > 0 && impacts[last - 1] === impact) last -= 1;
      if (since !== null) since = last > 0 ? (ms[last] as number) / 1000 : null;
    }
    if (impact === OPERATIONAL) {
      if (since === null) return { impact, since };
      // Back from the open interval over the other impacts, to where they began.
      let from = last;
      while (from > 0 && impacts[from - 1] !== OPERATIONAL) from -= 1;
      const cameBackFrom = from < last && from > 0 ? (ms[from] as number) / 1000 : null;
      return { impact, since, cameBackFrom };
    }
    // Back from the open interval over the other impacts, to the last operational point.
    let index = impacts.length - 1;
    while (index >= 0 && impacts[index] !== OPERATIONAL) index -= 1;
    if (index < 0 || index === impacts.length - 1) return { impact, since, left: null };
    const at = (ms[index + 1] as number) / 1000;
    let first = index;
    while (first > 0 && impacts[first - 1] === OPERATIONAL) first -= 1;
    const from = ms[first] as number;
    // Operational since it was first known (or since before the oldest point kept): as long as any alert could have fired.
    return { impact, since, left: { at, operationalSince: first === 0 || from <= ledger.sinceMs ? null : from / 1000 } };
  };
  shown.recoveryAfter = (statusPage, uuid, end) => {
    const impact = state.pages.get(statusPage)?.components.get(uuid)?.impact ?? OPERATIONAL;
    const ledger = ledgerOf(state.ledger, statusPage, uuid);
    // A ledger that does not end in the impact shown (none kept for it) tells nothing the state does not.
    return ledger === undefined || ledger.impact !== impact ? undefined : recoveryIn(ledger.changes, end);
  };
  return shown;
}

/** What folding one notification did, for the answer to Alertmanager. */
export type AlertsDecision = { held: number; refused: number };

/** A time from Alertmanager, believed unless it is past the log time by more than the skew, or missing. */
function trusted(time: number | null, logTime: number, maxSkew: number): number {
  return time === null || !Number.isFinite(time) || time > logTime + maxSkew ? logTime : Math.min(time, logTime);
}

function pageStats(alerts: AlertState, statusPage: string, logTime: number): PageAlertStats {
  let stats = alerts.pages.get(statusPage);
  if (!stats) {
    stats = {
      statusPage,
      response: emptyHistogram(RESPONSE_BUCKETS),
      recoveryLag: emptyHistogram(RESPONSE_BUCKETS),
      refused: 0,
      expired: 0,
      createdAt: logTime,
    };
    alerts.pages.set(statusPage, stats);
  }
  return stats;
}

/** Drops a record that holds nothing and waits for nothing: the state keeps only what is live. */
function tidy(alerts: AlertState, key: string, record: ComponentAlerts): void {
  if (record.firing.size > 0 || record.silentSince !== null || record.resolvedAt !== null || record.answered !== null || record.recoveryFrom !== null) return;
  alerts.components.delete(key);
  alerts.bytes -= recordCost(record.statusPage, record.uuid);
}

/** What the page's history tells of alerts of `record` that ended at `end`, under AlertRules.recoveryByHistory; undefined when it has none. */
function recoveryOf(impactOf: ImpactOf, record: ComponentAlerts, end: number, rules: AlertRules): RecoveryAfter | undefined {
  return rules.recoveryByHistory ? impactOf.recoveryAfter?.(record.statusPage, record.uuid, end) : undefined;
}

/**
 * Sets a record's ended intervals. Not counted in `bytes`, which bounds what new alerts may be held
 * (an interval comes of an alert let go of, never refused): at most MAX_ENDED_INTERVALS a record.
 */
function setEnded(record: ComponentAlerts, ended: (readonly [number, number])[]): void {
  record.ended = ended;
}

/** `intervals` (sorted, disjoint) with `added` merged into those it overlaps (or touches: an alert firing in the second another ended keeps the run). */
function withInterval(intervals: readonly (readonly [number, number])[], added: readonly [number, number]): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  let merged: readonly [number, number] = added;
  let placed = false;
  for (const interval of intervals) {
    if (interval[1] < merged[0]) out.push(interval);
    else if (interval[0] > merged[1]) {
      if (!placed) out.push(merged);
      placed = true;
      out.push(interval);
    } else merged = [Math.min(interval[0], merged[0]), Math.max(interval[1], merged[1])];
  }
  if (!placed) out.push(merged);
  while (out.length > MAX_ENDED_INTERVALS) {
    const [first, second] = out as [readonly [number, number], readonly [number, number]];
    out.splice(0, 2, [first[0], Math.max(first[1], second[1])]);
  }
  return out;
}

/**
 * Lets go of one alert of `record` (its interval [start, end]) under AlertRules.runsSplitAtGaps:
 * the run still firing reaches back from its first firing alert through the ended alerts that
 * overlap it; every run of ended alerts before it, apart from it and from each other by a gap no
 * alert spans, closed (docs/metrics.md: an alert that fired after the others had all ended starts
 * a new run), whatever order their ends were let go of in. Each closed run recovers at the page's
 * first return after its end, if before the next run began; the last one, when no alert fires any
 * more, is the caller's to close. The silent episode of the run still firing runs from its start.
 * `firingNext`: the earliest start of the alerts the notification names firing, folded after or
 * not. Returns the end of the last run closed (the run's end when no alert fires any more).
 */
function splitAtGaps(
  alerts: AlertState,
  record: ComponentAlerts,
  interval: readonly [number, number],
  firingNext: number,
  impactOf: ImpactOf,
  logTime: number,
  rules: AlertRules,
): number {
  const ended = withInterval(record.ended, interval);
  let runFrom = record.firing.size > 0 ? Math.min(...record.firing.values()) : Number.POSITIVE_INFINITY;
  let kept = ended.length;
  while (kept > 0 && (ended[kept - 1] as readonly [number, number])[1] >= runFrom) {
    kept -= 1;
    runFrom = Math.min(runFrom, (ended[kept] as readonly [number, number])[0]);
  }
  const closed = ended.slice(0, kept);
  setEnded(record, ended.slice(kept));
  record.endedAt = record.ended.at(-1)?.[1] ?? null;
  const last = closed.at(-1);
  if (last === undefined) return record.endedAt ?? interval[1];
  const measured = record.firing.size > 0 ? closed.length : closed.length - 1;
  for (let index = 0; index < measured; index += 1) {
    const end = (closed[index] as readonly [number, number])[1];
    const next = Math.min(index + 1 < closed.length ? (closed[index + 1] as readonly [number, number])[0] : runFrom, firingNext);
    const recovery = recoveryOf(impactOf, record, end, rules);
    // Still not operational: a return timed before the run firing now fired recovers from the last (foldImpactChanges).
    if (recovery === 'outage') record.recoveryFrom = index + 1 === closed.length ? end : record.recoveryFrom;
    else if (recovery != null && recovery.back < next) observeRecovery(alerts, record, recovery.back, end, logTime);
  }
  if (record.firing.size > 0 && record.silentSince !== null) {
    const shown = impactOf(record.statusPage, record.uuid);
    record.silentSince = Math.max(runFrom, shown.impact === OPERATIONAL ? (shown.since ?? runFrom) : runFrom);
  }
  return last[1];
}

/** Observes the recovery from `end` to the page's return at `back`, once per return. */
function observeRecovery(alerts: AlertState, record: ComponentAlerts, back: number, end: number, logTime: number): void {
  if (record.recoveredAt !== null && back <= record.recoveredAt) return;
  const stats = pageStats(alerts, record.statusPage, logTime);
  stats.recoveryLag = observe(stats.recoveryLag, RESPONSE_BUCKETS, Math.max(0, back - end));
  record.recoveredAt = back;
}

/**
 * A notification's alerts in the order they happened: each firing one at its start, each resolved
 * one at its end (a firing one first at the same second, then as sent). Alertmanager lists a
 * group's alerts in an order of its own, and one flush tells of what happened over a whole
 * group_interval: an alert that fired before another ended keeps the run going, one that fired
 * after it ended starts a new run (the first closed before the page spoke); of two resolving,
 * the one that ended last ends the run; of two firing, the one that fired first answers a page
 * quicker than Alertmanager. A function of the entry alone, so every replica folds it alike.
 */
function inFoldOrder(stored: readonly StoredAlert[], logTime: number, maxSkew: number): readonly StoredAlert[] {
  if (stored.length < 2) return stored;
  return stored
    .map((alert, index) => {
      const firing = alert.status === 'firing';
      return { alert, index, firing, at: trusted(firing ? alert.startsAt : alert.endsAt, logTime, maxSkew) };
    })
    .sort((a, b) => a.at - b.at || Number(b.firing) - Number(a.firing) || a.index - b.index)
    .map(({ alert }) => alert);
}

/**
 * Folds the alerts of one notification (firing first, then resolved by their end: inFoldOrder)
 * at `logTime` (the entry's log time). A firing alert is held by exactly the components its entry
 * names (those it held before and no longer names let go of it); a resolved one is let go of
 * everywhere. `rules`: the entry format's (src/domain/fold-rules.ts); with runsByTimes, a run is
 * told by the alerts' times across notifications (ClosedRun, and the split where the alerts still
 * firing all fired after the run's last end).
 */
export function foldAlerts(
  alerts: AlertState,
  stored: readonly StoredAlert[],
  logTime: number,
  limits: AlertLimits,
  impactOf: ImpactOf,
  rules: AlertRules = ALERT_RULES,
): AlertsDecision {
  const decision: AlertsDecision = { held: 0, refused: 0 };
  alerts.staleSeconds = limits.alertStaleSeconds;
  // The earliest start of the alerts this notification names firing, per component: a return of
  // the page after it is none of a run the notification closes (an alert of the component fired
  // before the page came back; docs/metrics.md), whichever the notification's order folds first.
  const firstFiring = new Map<string, number>();
  if (rules.recoveryByHistory) {
    for (const alert of stored) {
      if (alert.status !== 'firing') continue;
      const start = trusted(alert.startsAt, logTime, limits.maxClockSkewSeconds);
      for (const [statusPage, uuid] of alert.components) {
        const key = componentKey(statusPage, uuid);
        firstFiring.set(key, Math.min(firstFiring.get(key) ?? start, start));
      }
    }
  }
  for (const alert of inFoldOrder(stored, logTime, limits.maxClockSkewSeconds)) {
    const before = alerts.byFingerprint.get(alert.fingerprint) ?? new Set<string>();
    const target = new Map<string, ComponentRef>();
    if (alert.status === 'firing') for (const ref of alert.components) target.set(componentKey(ref[0], ref[1]), ref);
    const after = new Set<string>();
    const resolvedAt = alert.status === 'resolved' ? trusted(alert.endsAt, logTime, limits.maxClockSkewSeconds) : logTime;
    for (const key of before) {
      if (target.has(key)) {
        after.add(key);
        continue;
      }
      const record = alerts.components.get(key);
      const startedAt = record?.firing.get(alert.fingerprint) ?? resolvedAt;
      if (!record?.firing.delete(alert.fingerprint)) continue;
      alerts.pairs -= 1;
      alerts.bytes -= pairCost(alert.fingerprint);
      // The run ended when its last alert did, whichever was let go of last.
      let endedAt = Math.max(record.endedAt ?? resolvedAt, resolvedAt);
      record.endedAt = endedAt;
      if (rules.runsSplitAtGaps) {
        const firing = firstFiring.get(key) ?? Number.POSITIVE_INFINITY;
        endedAt = splitAtGaps(alerts, record, [Math.min(startedAt, resolvedAt), resolvedAt], firing, impactOf, logTime, rules);
      } else if (rules.runsByTimes && record.firing.size > 0) {
        const nextStart = Math.min(...record.firing.values());
        if (nextStart > endedAt) {
          // The alerts still firing all fired after the run's last end, whichever arrived first:
          // a run of their own, with its own silent episode from its first start (docs/metrics.md).
          record.endedAt = null;
          const recovery = recoveryOf(impactOf, record, endedAt, rules);
          if (recovery !== undefined) {
            // The ended run's recovery: the page's first return after its end, if before the alerts still firing fired.
            if (recovery === 'outage') record.recoveryFrom = endedAt;
            else if (recovery !== null && recovery.back < Math.min(nextStart, firstFiring.get(key) ?? nextStart))
              observeRecovery(alerts, record, recovery.back, endedAt, logTime);
          }
          if (record.silentSince !== null) {
            const shown = impactOf(record.statusPage, record.uuid);
            // The page came back while the ended run was held, after it had ended, and before the
            // alerts still firing fired: its recovery, as when a run closes below.
            const cameBackAt = shown.impact === OPERATIONAL ? shown.since : null;
            if (
              recovery === undefined &&
              cameBackAt !== null &&
              Math.abs(record.silentSince - cameBackAt) < 0.001 &&
              endedAt < cameBackAt &&
              nextStart > cameBackAt &&
              !(shown.cameBackFrom != null && endedAt <= shown.cameBackFrom)
            ) {
              const stats = pageStats(alerts, record.statusPage, logTime);
              stats.recoveryLag = observe(stats.recoveryLag, RESPONSE_BUCKETS, cameBackAt - endedAt);
            }
            record.silentSince = Math.max(nextStart, shown.impact === OPERATIONAL ? (shown.since ?? nextStart) : nextStart);
          }
        }
      }
      if (record.firing.size === 0) {
        // The alerts stopped: a silent episode the page never answered closes unobserved; a page
        // that shows an outage now has something to recover from, if it already showed it when
        // they ended (alerts that ended before the page spoke leave it nothing to recover from).
        const silentSince = record.silentSince;
        record.silentSince = null;
        record.endedAt = null;
        setEnded(record, []);
        const recovery = recoveryOf(impactOf, record, endedAt, rules);
        if (recovery !== undefined) {
          // The page's first return after the run's end, whatever it did after (came back and
          // left again before this resolution arrived); or still to come, while it shows the outage.
          record.resolvedAt = recovery === 'outage' ? endedAt : null;
          record.recoveryFrom = null;
          const firing = firstFiring.get(key) ?? Number.POSITIVE_INFINITY;
          if (recovery !== null && recovery !== 'outage' && recovery.back < firing) observeRecovery(alerts, record, recovery.back, endedAt, logTime);
        } else {
          const shown = impactOf(record.statusPage, record.uuid);
          const endedInOutage = shown.impact !== OPERATIONAL && !(shown.left && endedAt <= shown.left.at);
          record.resolvedAt = endedInOutage ? endedAt : null;
          record.recoveryFrom = null;
          // A page quicker than Alertmanager, which sends a resolution at the group's next flush
          // (group_interval, 5 minutes by default): it came back to operational while this alert
          // was held (the episode opened then), after the alert had resolved. That was its recovery.
          const cameBackAt = shown.impact === OPERATIONAL ? shown.since : null;
          const endedInOutageBefore = endedAt < (cameBackAt ?? endedAt) && !(shown.cameBackFrom != null && endedAt <= shown.cameBackFrom);
          if (silentSince !== null && cameBackAt !== null && Math.abs(silentSince - cameBackAt) < 0.001 && endedInOutageBefore) {
            const stats = pageStats(alerts, record.statusPage, logTime);
            stats.recoveryLag = observe(stats.recoveryLag, RESPONSE_BUCKETS, cameBackAt - endedAt);
          }
        }
        // An alert that fired before this end may still arrive (its group's own flush): it is of this run.
        if (rules.runsByTimes) {
          alerts.closedRuns.set(key, {
            statusPage: record.statusPage,
            uuid: record.uuid,
            end: endedAt,
            silentSince,
            ...(record.recoveredAt !== null ? { recovered: record.recoveredAt } : {}),
          });
        }
      }
      tidy(alerts, key, record);
    }
    const startsAt = trusted(alert.startsAt, logTime, limits.maxClockSkewSeconds);
    for (const [key, [statusPage, uuid]] of target) {
      if (after.has(key)) continue;
      let record = alerts.components.get(key);
      const cost = pairCost(alert.fingerprint) + (record ? 0 : recordCost(statusPage, uuid));
      if (alerts.pairs + 1 > limits.maxFiringAlerts || alerts.bytes + cost > limits.maxFiringAlertBytes) {
        pageStats(alerts, statusPage, logTime).refused += 1;
        decision.refused += 1;
        continue;
      }
      if (!record) {
        record = {
          statusPage,
          uuid,
          firing: new Map(),
          silentSince: null,
          resolvedAt: null,
          endedAt: null,
          answered: null,
          recoveryFrom: null,
          recoveredAt: null,
          ended: [],
        };
        alerts.components.set(key, record);
      }
      // The page's histograms and counters exist, at 0, from its first held alert: an episode
      // lasts from an alert to the page's word, so they are scraped at 0 before its observation,
      // and increase() sees a page's first response (a series born at 1 shows none).
      pageStats(alerts, statusPage, logTime);
      // The run this alert is of, if it fired before the end of the one the record closed last.
      let runFrom = startsAt;
      if (record.firing.size === 0) {
        // A recovery still to come: the page may have come back before this alert fired, its webhook not here yet.
        record.recoveryFrom = rules.runsByTimes ? record.resolvedAt : null;
        record.resolvedAt = null;
        record.endedAt = null;
        setEnded(record, []);
        const closed = alerts.closedRuns.get(key);
        // A run of its own keeps the closed one for a departure timed during it whose webhook is still to come.
        const ownRun = closed !== undefined && !(rules.runsByTimes && startsAt < closed.end);
        if (!(ownRun && rules.closedRunOutlivesNextRun)) alerts.closedRuns.delete(key);
        if (closed?.recovered != null) record.recoveredAt = Math.max(record.recoveredAt ?? closed.recovered, closed.recovered);
        if (rules.runsByTimes && closed !== undefined && startsAt < closed.end) {
          record.endedAt = closed.end;
          // The closed run's alerts, as one interval the late alert overlaps.
          if (rules.runsSplitAtGaps) setEnded(record, [[startsAt, closed.end]]);
          record.recoveryFrom = null;
          if (closed.answered != null) record.answered = closed.answered;
          if (closed.silentSince !== null) runFrom = Math.min(startsAt, closed.silentSince);
        }
      }
      const shown = impactOf(statusPage, uuid);
      if (shown.impact === OPERATIONAL) {
        // The page has this long to say so: from the earliest start of the run's alerts, whichever
        // arrived first (Alertmanager sends each group at its own flush). From when the page shows
        // it operational, if later: an alert that fired during a maintenance (silenced, so it
        // reaches the exporter only once the silence ends) is the page's to report from the
        // maintenance's end, not from the alert's start. A component operational since the
        // exporter first knew it has been so for as long as any alert could have fired.
        const from = Math.max(runFrom, shown.since ?? runFrom);
        record.silentSince = record.silentSince === null ? from : Math.min(record.silentSince, from);
      } else if (shown.left && record.answered !== shown.left.at) {
        // The page left operational after the alert fired, before Alertmanager sent it (its
        // group_wait, 30 s by default): that change was the page's response to this alert, due
        // now, unless an alert of this outage already answered it.
        const from = Math.max(runFrom, shown.left.operationalSince ?? runFrom);
        if (shown.left.at > from) {
          const stats = pageStats(alerts, statusPage, logTime);
          stats.response = observe(stats.response, RESPONSE_BUCKETS, shown.left.at - from);
          record.answered = shown.left.at;
        }
      }
      record.firing.set(alert.fingerprint, startsAt);
      alerts.pairs += 1;
      alerts.bytes += cost;
      after.add(key);
      decision.held += 1;
    }
    if (after.size > 0) {
      alerts.byFingerprint.set(alert.fingerprint, after);
      alerts.seenAt.set(alert.fingerprint, logTime);
    } else {
      alerts.byFingerprint.delete(alert.fingerprint);
      alerts.seenAt.delete(alert.fingerprint);
    }
  }
  return decision;
}

/**
 * Forgets the firing alerts no entry named for `alerts.staleSeconds` of log time, counting each
 * (alert, component) pair on its page. When it resolved is unknown, so a component left without
 * alerts measures no recovery; an open silent episode closes unobserved. Returns how many went.
 */
export function expireAlerts(alerts: AlertState, logTime: number): number {
  let expired = 0;
  for (const [key, closed] of alerts.closedRuns) if (closed.end <= logTime - CLOSED_RUN_SECONDS) alerts.closedRuns.delete(key);
  for (const [fingerprint, seenAt] of alerts.seenAt) {
    if (seenAt > logTime - alerts.staleSeconds) continue;
    for (const key of alerts.byFingerprint.get(fingerprint) ?? []) {
      const record = alerts.components.get(key);
      if (!record?.firing.delete(fingerprint)) continue;
      alerts.pairs -= 1;
      alerts.bytes -= pairCost(fingerprint);
      pageStats(alerts, record.statusPage, logTime).expired += 1;
      expired += 1;
      if (record.firing.size === 0) {
        // When they ended is unknown: the record starts over.
        record.silentSince = null;
        record.resolvedAt = null;
        record.endedAt = null;
        setEnded(record, []);
        record.answered = null;
        record.recoveryFrom = null;
      }
      tidy(alerts, key, record);
    }
    alerts.byFingerprint.delete(fingerprint);
    alerts.seenAt.delete(fingerprint);
  }
  return expired;
}

/** A component whose impact an event changed: what it was, what it is, and when (its changedAt). */
export type ImpactChange = { statusPage: string; uuid: string; before: string; after: string; at: number };

/**
 * Folds the page's own word: a component leaving operational closes its silent episode (one
 * observation of the response histogram), one coming back to operational after its alerts
 * resolved closes its recovery (one observation of the recovery lag). Back to operational while
 * alerts still fire opens a new silent episode from then. A change timed before the alerts it
 * would answer (its webhook arriving after them) measures nothing under the rules of event
 * entries from format 9, 0 s under those before (`rules`).
 */
export function foldImpactChanges(
  alerts: AlertState,
  changes: readonly ImpactChange[],
  logTime: number,
  rules: Pick<FoldRules, 'pageChangesByTheirTimes'> = FOLD_RULES,
): void {
  if (alerts.components.size === 0 && alerts.closedRuns.size === 0) return;
  for (const change of changes) {
    const key = componentKey(change.statusPage, change.uuid);
    const record = alerts.components.get(key);
    const wasOperational = change.before === OPERATIONAL;
    const isOperational = change.after === OPERATIONAL;
    if (rules.pageChangesByTheirTimes && wasOperational && !isOperational) {
      // The page left operational while a run fired that was let go of before its webhook came: it
      // answered that run, also when a run of its own fired since (AlertRules.closedRunOutlivesNextRun),
      // before this change's webhook and after its time.
      const closed = alerts.closedRuns.get(key);
      const silentSince = record?.silentSince ?? null;
      if (closed?.silentSince != null && closed.silentSince <= change.at && change.at < closed.end && (silentSince === null || change.at < silentSince)) {
        const stats = pageStats(alerts, change.statusPage, logTime);
        stats.response = observe(stats.response, RESPONSE_BUCKETS, change.at - closed.silentSince);
        alerts.closedRuns.set(key, { ...closed, silentSince: null, answered: change.at });
        // Its alerts ended while the page showed the outage: the page has that to recover from.
        let waiting = record;
        if (!waiting) {
          waiting = {
            statusPage: change.statusPage,
            uuid: change.uuid,
            firing: new Map(),
            silentSince: null,
            resolvedAt: null,
            endedAt: null,
            answered: null,
            recoveryFrom: null,
            recoveredAt: null,
            ended: [],
          };
          alerts.components.set(key, waiting);
          alerts.bytes += recordCost(change.statusPage, change.uuid);
        }
        waiting.answered = change.at;
        if (waiting.firing.size === 0) waiting.resolvedAt = Math.max(waiting.resolvedAt ?? closed.end, closed.end);
        else {
          // The run firing now fired while the page showed this outage: no episode of its own; a
          // return timed before it fired recovers from the closed run's end.
          waiting.silentSince = null;
          waiting.recoveryFrom = Math.max(waiting.recoveryFrom ?? closed.end, closed.end);
        }
        continue;
      }
    }
    if (rules.pageChangesByTheirTimes && !wasOperational && isOperational && (record?.firing.size ?? 0) === 0) {
      // Back while a run fired that was let go of before this webhook came: a new silent episode
      // of that run from the return, for a departure arriving after it too.
      const closed = alerts.closedRuns.get(key);
      if (closed !== undefined && change.at < closed.end) alerts.closedRuns.set(key, { ...closed, silentSince: change.at, answered: null });
    }
    if (!record) continue;
    if (wasOperational && !isOperational) {
      if (record.silentSince !== null && rules.pageChangesByTheirTimes && change.at < record.silentSince) {
        // The page showed the outage before the alerts fired (its webhook came after them): it
        // had already spoken, nothing to measure (docs/metrics.md).
        record.silentSince = null;
      } else if (record.silentSince !== null) {
        const stats = pageStats(alerts, record.statusPage, logTime);
        stats.response = observe(stats.response, RESPONSE_BUCKETS, Math.max(0, change.at - record.silentSince));
        record.silentSince = null;
        record.answered = change.at;
      }
    } else if (!wasOperational && isOperational) {
      record.answered = null;
      // Back before the last alert ended (or was let go of; the webhook came after): the page
      // came back first, no recovery to measure.
      if (record.resolvedAt !== null && rules.pageChangesByTheirTimes && change.at < record.resolvedAt) record.resolvedAt = null;
      if (record.resolvedAt !== null) {
        const stats = pageStats(alerts, record.statusPage, logTime);
        stats.recoveryLag = observe(stats.recoveryLag, RESPONSE_BUCKETS, Math.max(0, change.at - record.resolvedAt));
        record.resolvedAt = null;
        recovered(alerts, key, record, change.at);
      }
      const firstStart = record.firing.size > 0 ? Math.min(...record.firing.values()) : Number.POSITIVE_INFINITY;
      if (rules.pageChangesByTheirTimes && record.recoveryFrom !== null && record.recoveryFrom <= change.at && change.at < firstStart) {
        // Back after the last run ended and before the alerts firing now fired (their notification came first).
        const stats = pageStats(alerts, record.statusPage, logTime);
        stats.recoveryLag = observe(stats.recoveryLag, RESPONSE_BUCKETS, change.at - record.recoveryFrom);
        recovered(alerts, key, record, change.at);
      }
      record.recoveryFrom = null;
      if (record.firing.size > 0) {
        // From the return, or from the run's first alert if it fired after (its notification before the return's webhook).
        record.silentSince = rules.pageChangesByTheirTimes && record.endedAt === null ? Math.max(change.at, firstStart) : change.at;
      }
    }
    tidy(alerts, key, record);
  }
}

/** Notes the page's return `back` as observed, on the record and on the run it closed last (for the component's next alert). */
function recovered(alerts: AlertState, key: string, record: ComponentAlerts, back: number): void {
  record.recoveredAt = Math.max(record.recoveredAt ?? back, back);
  const closed = alerts.closedRuns.get(key);
  if (closed !== undefined) alerts.closedRuns.set(key, { ...closed, recovered: Math.max(closed.recovered ?? back, back) });
}

/** Forgets what an operator's forget removes: a component's alerts, or a whole page's. True when something went. */
export function forgetAlerts(alerts: AlertState, statusPage: string, uuid?: string): boolean {
  let found = false;
  for (const [key, record] of alerts.components) {
    if (record.statusPage !== statusPage || (uuid !== undefined && record.uuid !== uuid)) continue;
    for (const fingerprint of record.firing.keys()) {
      const holders = alerts.byFingerprint.get(fingerprint);
      holders?.delete(key);
      if (holders?.size === 0) {
        alerts.byFingerprint.delete(fingerprint);
        alerts.seenAt.delete(fingerprint);
      }
      alerts.pairs -= 1;
      alerts.bytes -= pairCost(fingerprint);
    }
    alerts.components.delete(key);
    alerts.bytes -= recordCost(record.statusPage, record.uuid);
    found = true;
  }
  for (const [key, closed] of alerts.closedRuns) {
    if (closed.statusPage !== statusPage || (uuid !== undefined && closed.uuid !== uuid)) continue;
    alerts.closedRuns.delete(key);
    found = true;
  }
  if (uuid === undefined && alerts.pages.delete(statusPage)) found = true;
  return found;
}

/** Copies the maps, so two owners never share one. */
export function cloneAlertState(alerts: AlertState): AlertState {
  const components = new Map<string, ComponentAlerts>();
  for (const [key, record] of alerts.components) components.set(key, { ...record, firing: new Map(record.firing) });
  return {
    components,
    pages: new Map([...alerts.pages].map(([page, stats]) => [page, { ...stats }])),
    byFingerprint: new Map([...alerts.byFingerprint].map(([fingerprint, keys]) => [fingerprint, new Set(keys)])),
    seenAt: new Map(alerts.seenAt),
    closedRuns: new Map(alerts.closedRuns),
    staleSeconds: alerts.staleSeconds,
    pairs: alerts.pairs,
    bytes: alerts.bytes,
  };
}

/** The serialised form (snapshot): plain arrays, sorted so that equal states serialise alike. */
export type AlertSnapshot = {
  components: {
    statusPage: string;
    uuid: string;
    firing: [string, number][];
    silentSince: number | null;
    resolvedAt: number | null;
    /** Absent: null (snapshots written before these fields). */
    endedAt?: number | null;
    answered?: number | null;
    recoveryFrom?: number | null;
    recoveredAt?: number | null;
    /** Absent: none. */
    ended?: [number, number][];
  }[];
  /** Absent: none (snapshots written before format-8 alerts entries). */
  closedRuns?: ClosedRun[];
  pages: PageAlertStats[];
  /** Log time each held fingerprint was last named firing. */
  seen: [string, number][];
  staleSeconds: number;
};

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function alertSnapshot(alerts: AlertState): AlertSnapshot {
  return {
    components: [...alerts.components.keys()].sort(byText).map((key) => {
      const record = alerts.components.get(key) as ComponentAlerts;
      return {
        statusPage: record.statusPage,
        uuid: record.uuid,
        firing: [...record.firing].sort((a, b) => byText(a[0], b[0])),
        silentSince: record.silentSince,
        resolvedAt: record.resolvedAt,
        endedAt: record.endedAt,
        answered: record.answered,
        ...(record.recoveryFrom !== null ? { recoveryFrom: record.recoveryFrom } : {}),
        ...(record.recoveredAt !== null ? { recoveredAt: record.recoveredAt } : {}),
        ...(record.ended.length > 0 ? { ended: record.ended.map(([start, end]): [number, number] => [start, end]) } : {}),
      };
    }),
    pages: [...alerts.pages.keys()].sort(byText).map((page) => alerts.pages.get(page) as PageAlertStats),
    seen: [...alerts.seenAt].sort((a, b) => byText(a[0], b[0])),
    ...(alerts.closedRuns.size > 0 ? { closedRuns: [...alerts.closedRuns.keys()].sort(byText).map((key) => alerts.closedRuns.get(key) as ClosedRun) } : {}),
    staleSeconds: alerts.staleSeconds,
  };
}

/** The state a snapshot holds, with its indexes and measures rebuilt. */
export function alertStateOf(snapshot: AlertSnapshot): AlertState {
  const alerts = createAlertState();
  for (const { statusPage, uuid, firing, silentSince, resolvedAt, endedAt, answered, recoveryFrom, recoveredAt, ended } of snapshot.components) {
    const key = componentKey(statusPage, uuid);
    alerts.components.set(key, {
      statusPage,
      uuid,
      firing: new Map(firing),
      silentSince,
      resolvedAt,
      endedAt: endedAt ?? null,
      answered: answered ?? null,
      recoveryFrom: recoveryFrom ?? null,
      recoveredAt: recoveredAt ?? null,
      ended: ended ?? [],
    });
    alerts.bytes += recordCost(statusPage, uuid);
    for (const [fingerprint] of firing) {
      let holders = alerts.byFingerprint.get(fingerprint);
      if (!holders) alerts.byFingerprint.set(fingerprint, (holders = new Set()));
      holders.add(key);
      alerts.pairs += 1;
      alerts.bytes += pairCost(fingerprint);
    }
  }
  for (const stats of snapshot.pages) alerts.pages.set(stats.statusPage, { ...stats });
  alerts.seenAt = new Map(snapshot.seen);
  for (const closed of snapshot.closedRuns ?? []) alerts.closedRuns.set(componentKey(closed.statusPage, closed.uuid), { ...closed });
  alerts.staleSeconds = snapshot.staleSeconds;
  return alerts;
}

/** Whether nothing is held: a snapshot of such a state is written in the format before alerts. */
export function isEmptyAlertState(alerts: AlertState): boolean {
  return alerts.components.size === 0 && alerts.pages.size === 0 && alerts.closedRuns.size === 0;
}
