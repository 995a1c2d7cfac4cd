import type { Histogram } from './histogram.js';
// What the alerts fold keeps (see alerts.ts): each component's firing alerts and runs, each page's
// measures, and what they may take in memory.
//
// Unlike the reducer's records, this state is changed in place by the fold functions (it is a few
// maps of numbers, never shared with a renderer's cache by identity: the renderer keys on
// State.version, which the fold loop bumps).

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
  /**
   * What the records' ended intervals (ComponentAlerts.ended) may take, roughly, in bytes
   * (ENDED_INTERVAL_COST each), under AlertRules.endedIntervalsBoundedByBytes: past it the oldest
   * gaps between them, over all components, are bridged (boundEndedIntervals in alerts.ts). Apart
   * from maxFiringAlertBytes: an interval is what an alert let go of leaves, and must not refuse
   * the alerts that fire after it.
   */
  maxEndedIntervalBytes: number;
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
 * 10 000 pairs measured 2.5 MB of heap and 0.6 MB of snapshot JSON (16-character fingerprints,
 * 5 alerts over the same 2 000 components), and 9.0 MB of heap and 2.3 MB of snapshot at worst,
 * one alert for each of 10 000 components (a record each; bench/alert-ended-memory.mjs 9999 0):
 * well within the chart's 256 MiB limit beside the state's other bounds. The byte measure (recordCost and pairCost) binds first only when fingerprints, page ids
 * or uuids are long; it is what a snapshot grows by, roughly.
 */
export const DEFAULT_ALERT_LIMITS: AlertLimits = {
  maxFiringAlerts: 10_000,
  maxFiringAlertBytes: 2 * 1024 * 1024,
  // At the bound, about 30 000 intervals: 1 MB of snapshot and 2.5 MB of heap, where the count
  // alone let 9 999 components (each firing one long alert, its short ones flapping) keep 32 each:
  // 320 000 intervals, 10.4 MB of snapshot and 23 MB of heap (bench/alert-ended-memory.mjs).
  // One interval per record holding firing alerts (at most maxFiringAlerts: 440 KB), which no
  // bridge takes, is under 90 % of it.
  maxEndedIntervalBytes: 1024 * 1024,
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
   * Empty otherwise; at most MAX_ENDED_INTERVALS, and counted in AlertState.endedBytes.
   */
  ended: (readonly [start: number, end: number])[];
};

/**
 * The intervals of a run's ended alerts kept apart at most: past it the two oldest are taken as
 * one, their gap bridged (a run whose alerts come and go more often than that, each overlapping
 * one still firing, is one run from its oldest start). Over all components they are bounded by
 * their size too (AlertLimits.maxEndedIntervalBytes, alerts entries of format 14).
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
  /**
   * The records' ended intervals' rough size (ENDED_INTERVAL_COST each), bounded by
   * maxEndedIntervalBytes under AlertRules.endedIntervalsBoundedByBytes. Not in `bytes`.
   */
  endedBytes: number;
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
    endedBytes: 0,
  };
}

/** One key per component: page and uuid cannot hold a NUL. */
/** A component's record before anything is known of its alerts. */
export function emptyRecord(statusPage: string, uuid: string): ComponentAlerts {
  return {
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
}

export const componentKey = (statusPage: string, uuid: string) => `${statusPage}\u0000${uuid}`;

const RECORD_COST = 96;
const PAIR_COST = 24;
export const recordCost = (statusPage: string, uuid: string) => RECORD_COST + statusPage.length + uuid.length;
export const pairCost = (fingerprint: string) => PAIR_COST + fingerprint.length;
/**
 * One ended interval, as a snapshot writes it: two times of Alertmanager's, in seconds with
 * milliseconds (`[1767225610.123,1767225611.234],`). Its heap is about 72 bytes.
 */
export const ENDED_INTERVAL_COST = 32;
/** A record's list of them, beside (`,"ended":[]`). */
const ENDED_LIST_COST = 12;
/** What a record's ended intervals take, roughly: what they add to its snapshot. */
export const endedCost = (ended: readonly (readonly [number, number])[]) => (ended.length === 0 ? 0 : ENDED_LIST_COST + ENDED_INTERVAL_COST * ended.length);
