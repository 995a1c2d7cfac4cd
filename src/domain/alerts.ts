import { ALERT_RULES, FOLD_RULES, type AlertRules, type FoldRules } from './fold-rules.js';
import { emptyHistogram, observe } from './histogram.js';
import { OPERATIONAL } from './impact.js';
import { applyPatch, type Patch, type State } from './state.js';
import type { ImpactOf, RecoveryAfter } from './alert-page.js';
import {
  CLOSED_RUN_SECONDS,
  componentKey,
  emptyRecord,
  endedCost,
  ENDED_INTERVAL_COST,
  MAX_ENDED_INTERVALS,
  pairCost,
  recordCost,
  RESPONSE_BUCKETS,
  type AlertLimits,
  type AlertState,
  type ComponentAlerts,
  type ComponentRef,
  type PageAlertStats,
  type StoredAlert,
} from './alert-state.js';

// Alerts measure the status page (issue 19): Alertmanager's alerts, already mapped to
// components, folded with the status page's impacts into how long the page takes to say what the
// alerts already know. Deterministic and free of I/O: every process folding the same entries in
// the same order holds the same AlertState, whatever its own status pages file says.
//
// What the fold keeps is alert-state.ts; how it reads the page, alert-page.ts; snapshots,
// alert-snapshot.ts. The state is changed in place by the fold functions below.
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
//
// An alert that the appender's matchers map to no component is stored too, with none: it lets go
// of the alert wherever the log holds it (its matchers changed since; a resolution), and is
// nothing otherwise. Whether it lets go of something is the fold's to say, at the entry: the
// appender's own state may be behind the log (a replica that has not folded the entry that made
// it hold the alert), and an alert it dropped for not holding it stayed held on every replica.

/**
 * What folding one notification did, for the answer to Alertmanager: (alert, component) pairs held
 * and refused, and the alerts that named no component and let go of nothing (no entry held them).
 */
export type AlertsDecision = { held: number; refused: number; unmatched: number };

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
  alerts.endedBytes -= endedCost(record.ended);
}

/** What the page's history tells of alerts of `record` that ended at `end`, under AlertRules.recoveryByHistory; undefined when it has none. */
function recoveryOf(impactOf: ImpactOf, record: ComponentAlerts, end: number, rules: AlertRules): RecoveryAfter | undefined {
  return rules.recoveryByHistory ? impactOf.recoveryAfter?.(record.statusPage, record.uuid, end) : undefined;
}

/**
 * Sets a record's ended intervals, counted in `endedBytes`. Not in `bytes`, which bounds what new
 * alerts may be held: an interval comes of an alert let go of, never refused, and counted there it
 * would refuse new alerts for what alerts already let go of left (at most MAX_ENDED_INTERVALS a
 * record; over all, boundEndedIntervals).
 */
function setEnded(alerts: AlertState, record: ComponentAlerts, ended: (readonly [number, number])[]): void {
  alerts.endedBytes += endedCost(ended) - endedCost(record.ended);
  record.ended = ended;
}

/**
 * Past `maxBytes`, bridges the oldest gaps between the records' ended intervals, over all
 * components, until they take 90 % of it (AlertRules.endedIntervalsBoundedByBytes): as
 * MAX_ENDED_INTERVALS does within a record, two intervals are taken as one, their gap no longer
 * telling two runs apart. The oldest first, by the gap's start (then its end, then the
 * component): a gap is told apart only when an alert of the run still firing, whose start is
 * before every kept interval, turns out to have ended before it (its resolution arriving late,
 * endsAt in the past), so the later a gap the likelier it is to split a run; and the runs'
 * starts, which the silent episodes run from, are kept. (A let-go without an end, the look at
 * Alertmanager's alerts, ends at the log time, after every gap: only a resolution that arrives
 * long after its end reveals an old gap.) A record keeps one interval at least: one a record
 * holding firing alerts, bounded with them. The same on every process folding the entry.
 */
function boundEndedIntervals(alerts: AlertState, maxBytes: number): void {
  if (alerts.endedBytes <= maxBytes) return;
  const gaps: { start: number; end: number; key: string }[] = [];
  for (const [key, record] of alerts.components) {
    for (let index = 0; index + 1 < record.ended.length; index += 1) {
      gaps.push({ start: (record.ended[index] as readonly [number, number])[1], end: (record.ended[index + 1] as readonly [number, number])[0], key });
    }
  }
  // Within a record its gaps' starts increase, so the oldest over all are each record's first.
  gaps.sort((a, b) => a.start - b.start || a.end - b.end || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const target = Math.floor(maxBytes * 0.9);
  const bridged = new Map<string, number>();
  let bytes = alerts.endedBytes;
  for (const gap of gaps) {
    if (bytes <= target) break;
    bridged.set(gap.key, (bridged.get(gap.key) ?? 0) + 1);
    bytes -= ENDED_INTERVAL_COST;
  }
  for (const [key, count] of bridged) {
    const record = alerts.components.get(key) as ComponentAlerts;
    const [first, last] = [record.ended[0], record.ended[count]] as [readonly [number, number], readonly [number, number]];
    setEnded(alerts, record, [[first[0], last[1]], ...record.ended.slice(count + 1)]);
  }
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
  setEnded(alerts, record, ended.slice(kept));
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
  const decision: AlertsDecision = { held: 0, refused: 0, unmatched: 0 };
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
    // Its receiver's matchers named no component, and the log held it nowhere: it changes nothing.
    if (alert.components.length === 0 && before.size === 0) decision.unmatched += 1;
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
        setEnded(alerts, record, []);
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
        record = emptyRecord(statusPage, uuid);
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
        setEnded(alerts, record, []);
        const closed = alerts.closedRuns.get(key);
        // A run of its own keeps the closed one for a departure timed during it whose webhook is still to come.
        const ownRun = closed !== undefined && !(rules.runsByTimes && startsAt < closed.end);
        if (!(ownRun && rules.closedRunOutlivesNextRun)) alerts.closedRuns.delete(key);
        if (closed?.recovered != null) record.recoveredAt = Math.max(record.recoveredAt ?? closed.recovered, closed.recovered);
        if (rules.runsByTimes && closed !== undefined && startsAt < closed.end) {
          record.endedAt = closed.end;
          // The closed run's alerts, as one interval the late alert overlaps.
          if (rules.runsSplitAtGaps) setEnded(alerts, record, [[startsAt, closed.end]]);
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
  if (rules.endedIntervalsBoundedByBytes) boundEndedIntervals(alerts, limits.maxEndedIntervalBytes);
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
        setEnded(alerts, record, []);
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
 * Applies an event's patch to the state and folds the page changes it makes into the alert
 * measures: each component whose impact the patch changes, from what the state showed before (a
 * component the state lacks is operational, as a declared one is before any webhook). The fold
 * loop's way with every event, and the tests' too.
 */
export function applyPatchMeasuringAlerts(state: State, patch: Patch, logTime: number, rules: Pick<FoldRules, 'pageChangesByTheirTimes'> = FOLD_RULES): void {
  const alerts = state.alerts;
  if (alerts.components.size === 0 && alerts.closedRuns.size === 0) {
    applyPatch(state, patch);
    return;
  }
  const changes: ImpactChange[] = [];
  for (const component of patch.components) {
    const before = state.pages.get(component.statusPage)?.components.get(component.uuid)?.impact ?? OPERATIONAL;
    if (before !== component.impact)
      changes.push({ statusPage: component.statusPage, uuid: component.uuid, before, after: component.impact, at: component.changedAt });
  }
  applyPatch(state, patch);
  foldImpactChanges(alerts, changes, logTime, rules);
}

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
          waiting = emptyRecord(change.statusPage, change.uuid);
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
    alerts.endedBytes -= endedCost(record.ended);
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
