import { DEFAULT_ALERT_LIMITS, type AlertLimits } from '../domain/alert-state.js';
import { applyPatchMeasuringAlerts, expireAlerts, foldAlerts, forgetAlerts, type AlertsDecision } from '../domain/alerts.js';
import { impactShown } from '../domain/alert-page.js';
import { forget, type ForgetDecision } from '../domain/forget.js';
import { declarationPatch, type DeclareDecision } from '../domain/inventory.js';
import { boundDayRows, prune } from '../domain/prune.js';
import { reduce, type Decision, type Limits } from '../domain/reducer.js';
import { applyPatch, isEmptyPatch, type EntityKey, type State } from '../domain/state.js';
import { dedupKey } from '../ingest/dedup-key.js';
import type { Logger } from '../logger.js';
import type { StoredEntry } from '../store/store.js';
import type { AlertsEntry, DeclareEntry, ForgetEntry, LogEntry, ParsedEntry } from './entry.js';

/** What the fold of an appended entry answers its appender with. */
export type Answer = Decision | ForgetDecision | AlertsDecision | DeclareDecision;

/** An entry this version reads: what decodeEntry answers when it is neither newer nor invalid. */
export type ReadableEntry = Exclude<ParsedEntry, { kind: 'newer' } | { kind: 'invalid' }>;

/**
 * The fold of one entry: the answer for the process that appended it (its `origin`), or the error
 * it is failed with when the fold threw (the entry is then skipped, by every process of this
 * version alike, so that their states stay equal).
 */
export type EntryFolded = { origin: string } & ({ answer: Answer } | { error: Error });

/** What folding an entry needs besides the state and the entry: the same for every entry (made once, not per entry). */
export type EntryFoldContext = {
  /** This process's limits; an entry's own (the appender's) override them. */
  limits: Limits;
  pruneWindowSeconds: number;
  logger: Logger;
  /**
   * Components whose ledger a late event started again, or that a declaration booked: records the
   * overlay made for them change from then on (see the loop's redateOverlaid).
   */
  redate: (keys: readonly EntityKey[]) => void;
  /** A forget removed records: the declared pages and components come back from the overlay. */
  forgot: () => void;
};

/**
 * Folds one entry into `state`, as every process that folds the same log does at the same entry:
 * first what the log's time passing does (pruning, when the entry opens a new window after
 * `previousTime`, the log time of the entry folded before it, 0 before any), then the entry
 * itself, by kind.
 */
export function foldEntry(state: State, stored: StoredEntry, parsed: ReadableEntry, previousTime: number, context: EntryFoldContext): EntryFolded {
  // An entry this process appended carries this process's limits object itself: no copy to merge.
  const limits: Limits = parsed.entry.limits === context.limits ? context.limits : { ...context.limits, ...parsed.entry.limits };
  const window = context.pruneWindowSeconds;
  if (previousTime > 0 && Math.floor(stored.time / window) > Math.floor(previousTime / window)) {
    pruneAtWindow(state, stored, parsed.entry.retentionSeconds, limits, context.logger);
  }
  switch (parsed.kind) {
    case 'forget':
      return foldForget(state, stored, parsed.entry, limits, context);
    case 'alerts':
      return foldAlertsEntry(state, stored, parsed.entry, context.logger);
    case 'declare':
      return foldDeclare(state, stored, parsed.entry, limits, context);
    case 'entry':
      return foldEvent(state, stored, parsed.entry, limits, context);
  }
}

/** Forgets what retention let go of, and the alerts Alertmanager stopped sending: at the same entry on every process (the window is the log's time). */
function pruneAtWindow(state: State, stored: StoredEntry, retentionSeconds: number, limits: Limits, logger: Logger): void {
  const patch = prune(state, stored.time, retentionSeconds, undefined, limits.ledgerRetentionDays, limits.ledgerMaxDayRows);
  if (!isEmptyPatch(patch)) {
    applyPatch(state, patch);
    const forgotten = patch.deleteIncidents.length + patch.deleteMaintenances.length + patch.forgetSeen.length;
    logger.info({ forgotten, entry: stored.position }, 'pruned finished objects and dedup records past retention');
  }
  // A component's closed run is forgotten there too, alerts firing or not.
  const alerts = state.alerts;
  const expired = alerts.seenAt.size === 0 && alerts.closedRuns.size === 0 ? 0 : expireAlerts(alerts, stored.time);
  if (expired > 0) {
    state.version += 1;
    logger.info({ expired, entry: stored.position }, 'forgot firing alerts that Alertmanager has not sent again for too long');
  }
}

/** A fold that threw: a bug of this version, which every process of it meets alike. Logged; the entry is skipped. */
function skipped(stored: StoredEntry, origin: string, error: unknown, logger: Logger, logged: string, answered: string): EntryFolded {
  const message = asError(error).message;
  logger.error({ entry: stored.position, err: message }, `folding ${logged} failed; skipped`);
  return { origin, error: new Error(`${answered} could not be folded: ${message}`) };
}

function foldEvent(state: State, stored: StoredEntry, entry: LogEntry, limits: Limits, context: EntryFoldContext): EntryFolded {
  const event = entry.event;
  let decision: Decision;
  try {
    decision = reduce(state, event, dedupKey(event), stored.time, limits, entry.rules);
  } catch (error) {
    return skipped(stored, entry.origin, error, context.logger, 'a log entry', 'the event');
  }
  if (decision.outcome !== 'duplicate') {
    // The impacts the patch changes are folded into the alert measures as it is applied.
    applyPatchMeasuringAlerts(state, decision.patch, stored.time, entry.rules);
    // A late first event that starts a declared component's ledger again, at its older time,
    // may leave the component's record as the file made it: that record then changes from the
    // new start, as the overlay of a later start has it (operationalSince).
    if (decision.patch.ledgerRestart) context.redate(decision.patch.ledgerRestart);
    const bounded = boundDayRows(state, stored.time, limits.ledgerMaxDayRows);
    if (bounded) applyPatch(state, bounded);
  }
  return { origin: entry.origin, answer: decision };
}

/** Folds Alertmanager's alerts: every process holds the same alerts for the same components at the same entry. */
function foldAlertsEntry(state: State, stored: StoredEntry, entry: AlertsEntry, logger: Logger): EntryFolded {
  const limits: AlertLimits = { ...DEFAULT_ALERT_LIMITS, ...entry.limits };
  let decision: AlertsDecision;
  try {
    decision = foldAlerts(state.alerts, entry.alerts, stored.time, limits, impactShown(state, entry.rules), entry.rules);
  } catch (error) {
    return skipped(stored, entry.origin, error, logger, 'alerts', 'the alerts');
  }
  state.version += 1;
  return { origin: entry.origin, answer: decision };
}

/**
 * Folds a declaration: every process books the same components, those its ledger does not
 * know, as operational from the entry's log time (see declarationPatch).
 */
function foldDeclare(state: State, stored: StoredEntry, entry: DeclareEntry, limits: Limits, context: EntryFoldContext): EntryFolded {
  let decision: DeclareDecision;
  try {
    decision = declarationPatch(state, entry.declarations, stored.time, limits);
  } catch (error) {
    return skipped(stored, entry.origin, error, context.logger, 'a declaration', 'the declaration');
  }
  if (decision.declared > 0) {
    applyPatch(state, decision.patch);
    context.redate(decision.patch.ledgerDeclare ?? []);
  }
  return { origin: entry.origin, answer: decision };
}

/**
 * Folds an operator's forget: every process removes the same records at the same entry. The
 * declared pages and components come back at once from the overlay (they are in the file).
 */
function foldForget(state: State, stored: StoredEntry, entry: ForgetEntry, limits: Limits, context: EntryFoldContext): EntryFolded {
  let decision: ForgetDecision;
  try {
    decision = forget(state, entry.target, stored.time, limits.maxClockSkewSeconds, entry.rules);
  } catch (error) {
    return skipped(stored, entry.origin, error, context.logger, 'a forget', 'the forget');
  }
  // The alerts of a forgotten page or component go with it, found in the records or not.
  if (entry.target.kind === 'page' || entry.target.kind === 'component') {
    const uuid = entry.target.kind === 'component' ? entry.target.uuid : undefined;
    if (forgetAlerts(state.alerts, entry.target.statusPage, uuid)) state.version += 1;
  }
  if (decision.found) {
    applyPatch(state, decision.patch);
    context.forgot();
    context.logger.info({ entry: stored.position, forget: entry.target }, 'forgot what an operator asked to');
  }
  return { origin: entry.origin, answer: decision };
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
