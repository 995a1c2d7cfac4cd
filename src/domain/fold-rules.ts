import type { TieOrder } from './order.js';

// The rules a log entry is folded by are those of the release that appended it, named by the
// entry's format (src/log/entry.ts): every process, whatever its version, folds an entry alike,
// so that two replicas never serve states that contradict each other, and an upgrade serves
// exactly what the release before acknowledged. A change to what an event does to the state or
// the ledger comes with a new event entry format and a new value here; a change to what
// Alertmanager's notifications do to the alert measures (src/domain/alerts.ts), with a new alerts
// entry format and rules of their own, whose fold test/fixtures/sqlite-alerts-format-3 guards.
// Each format's rules name every flag, not a copy of the newest with one flag changed: a flag a
// later release adds (true in FOLD_RULES) must not reach the entries of a release before it.

export type FoldRules = {
  /** How events of equal created_at are ordered (order.ts). */
  readonly ties: TieOrder;
  /**
   * Whether a late first event of an incident or maintenance that adds components to its record
   * brings, into their ledger evidence, the later events folded before it (lateHeld in held-evidence.ts).
   */
  readonly lateHeld: boolean;
  /**
   * Whether the end of an incident's or maintenance's hold forgets a component's direct update
   * made before that hold's own start, whatever later start another ended hold left in the
   * record (Draft.end). Without it, an update with no created_at made before the hold survived
   * its end when another hold, first seen finished, had left a later start with no place in
   * arrival order, and the component went back to that update's impact.
   */
  readonly clearsBeforeOwnStart: boolean;
  /**
   * Whether a page change is measured against the alerts by its own time (created_at), not by
   * when its webhook arrived (foldImpactChanges): a change to an outage timed before the run's
   * first alert fired measures nothing (the page had spoken first), nor does one back to
   * operational timed before the run's last alert ended or was let go of; one that left
   * operational while a run fired that has been let go of since answers that run (ClosedRun).
   * Without it, the first two measured 0 s and the last nothing.
   */
  readonly pageChangesByTheirTimes: boolean;
  /**
   * Whether the first event naming a declared component that is older than its declaration, which
   * starts the component's ledger again at the event's created_at (ledgerRestart in reducer.ts),
   * also dates the component's record from there when the event changes the record (a direct
   * update, a name the file does not give) but not its impact. Without it, the record kept the
   * declaration's time as its last change while the ledger said the event's, and whether the
   * event changed the record (a name alone) decided which the gauge served.
   */
  readonly redatesRestartedRecord: boolean;
  /**
   * Whether an incident_finished of an incident already finished (a first delivery sent again)
   * makes the components it names known, as every maintenance event does. Without it, a component
   * forgotten (or refused by MAX_COMPONENTS) since the first finish stayed unknown after an
   * incident's re-sent finish but came back after a maintenance's.
   */
  readonly staleFinishKnows: boolean;
  /**
   * Whether a stale event (one of an object already past that step, such as a finish sent again as
   * a first delivery) that names a declared component and is older than its declaration replaces
   * the declaration, as an applied one does (docs/metrics.md: "any event of an incident or a
   * maintenance that names it"): the component is known from its created_at. Without it, a
   * component the operator forgot, declared again by the forget, kept the declaration's time
   * after a re-sent finish older than it.
   */
  readonly staleReplacesDeclaration: boolean;
  /**
   * Whether an event of an incident or maintenance that adds components to its record (names one
   * its events folded before did not: a finish naming more than its create, or a create timed after
   * its finish that arrived first) brings, into their ledger evidence, the object's events folded
   * before it, whatever their times (lateHeld in held-evidence.ts; lateHeld alone brings those after it,
   * and only for a late first event). Without it, those components' evidence lacked the object's
   * earlier events, so a later-arriving older event of another object naming them replayed to
   * another state than the fold's (the incident's hold cleared from no time), and was booked as it
   * arrived, not where its created_at falls. Under it too, a maintenance's finish timed before its
   * create or start (folded first) is brought at its own time, not taken for the record's last
   * event (maintenanceEvents in reducer.ts).
   */
  readonly foldedBeforeHeld: boolean;
  /**
   * Whether a late event leaves a component's last change (its record's changedAt) alone when it
   * and the re-booked ledger's last change of impact are both older than the late event, which
   * re-books only from its own time on (lastChangeFromLedger in ledger-evidence.ts). The ledger
   * books nothing before its open interval, so an update timed before that interval's start (one
   * without created_at arrived first) is booked at the start while the record keeps the update's
   * created_at; without it, a late event that moved neither took the ledger's time.
   */
  readonly lateKeepsEarlierLastChange: boolean;
  /**
   * Whether, of two starts of ended holds, one with a trusted time and one without (ordered by its
   * arrival), the component's record keeps the timed one (`cleared`, Draft.end), whichever ended
   * first. The order is by created_at only where both stamps have one, else by arrival, so it is
   * not total: an update arrives after every start placed by arrival, which therefore never makes
   * it older, while a timed start does when the update's created_at is before it. Without it, an
   * untimed start replaced a timed one kept before, and kept itself against a timed one with no
   * place in arrival order (an incident first seen finished, from its start_at); an update timed
   * before that timed start, arriving later (a retry whose dedup record was pruned), came back
   * though the hold it was made before had ended.
   */
  readonly clearedKeepsTimedStart: boolean;
  /**
   * Whether an incident_created timed before the start its incident's record keeps (`since`: the
   * create that arrived first, or the one that brought the start of an incident first seen
   * finished) moves that start back to its own, as in created_at order, where the incident began
   * at its earliest create (a create sent again, StatusMate's clock having put the first one
   * ahead). A finished incident's holds then end from there: the start its own end left in a
   * component's record (`cleared`) is replaced, and a component the late create adds ends from it,
   * not from the later start. The incident's finish keeps its own time (`finishedAt`), which the
   * evidence of a component such a create adds is given when the finish is timed before the create
   * folded first (bringHeld in held-evidence.ts). Without it, the record kept the first create's start
   * and took its last event (that create) for the finish: the replay of those components'
   * evidence ended them from the earlier start, the state from the later, and the late create was
   * booked as it arrived (the added component operational where it was held until the finish).
   */
  readonly olderCreateStartsIncident: boolean;
  /**
   * Whether an incident's start_at is judged against its own event's time (its trusted
   * created_at), not only against its receipt: one further ahead of the event than
   * MAX_CLOCK_SKEW_SECONDS is not trusted, and the incident begins at the event (docs/api.md).
   * Without it, an event delivered late (its created_at hours back) had a start_at hours after its
   * created_at trusted, because that time had passed by its receipt: the ledger counted the
   * downtime from the event's time while the record began the incident at its start_at, after its
   * own finish when it was finished (an incident of no length, listed at its end).
   */
  readonly startAtJudgedByItsEvent: boolean;
  /**
   * Whether a late incident_created of an incident first seen finished, whose finish carried a
   * trusted start_at, begins the incident at the create's own start, as created_at order does
   * (there the finish's start_at is not read: the incident began at its create): the start the
   * finish's end left in a component's record (`cleared`) is replaced. Without it, that start
   * stayed when the finish's start_at was after the create (the start edited later), the state
   * differed from the replay of the component's evidence, and the create was booked as it
   * arrived: none of the incident's downtime was counted.
   */
  readonly createStartsFinishedFirst: boolean;
};

/** This release's rules: the fold of an event it appends, or an operator's or the ledger's own. */
export const FOLD_RULES: FoldRules = {
  ties: 'type',
  lateHeld: true,
  clearsBeforeOwnStart: true,
  pageChangesByTheirTimes: true,
  redatesRestartedRecord: true,
  staleFinishKnows: true,
  staleReplacesDeclaration: true,
  foldedBeforeHeld: true,
  lateKeepsEarlierLastChange: true,
  clearedKeepsTimedStart: true,
  olderCreateStartsIncident: true,
  startAtJudgedByItsEvent: true,
  createStartsFinishedFirst: true,
};
/**
 * An event entry of format 16: a late incident_created of an incident first seen finished, with a
 * trusted start_at on its finish, left the finish's start in the record.
 */
export const FINISH_START_KEPT_RULES: FoldRules = {
  ties: 'type',
  lateHeld: true,
  clearsBeforeOwnStart: true,
  pageChangesByTheirTimes: true,
  redatesRestartedRecord: true,
  staleFinishKnows: true,
  staleReplacesDeclaration: true,
  foldedBeforeHeld: true,
  lateKeepsEarlierLastChange: true,
  clearedKeepsTimedStart: true,
  olderCreateStartsIncident: true,
  startAtJudgedByItsEvent: true,
  createStartsFinishedFirst: false,
};
/**
 * An event entry of format 13: an incident's start_at was judged against its receipt alone, so a
 * late-delivered event's start_at far ahead of its created_at was trusted.
 */
export const START_AT_BY_RECEIPT_RULES: FoldRules = {
  ties: 'type',
  lateHeld: true,
  clearsBeforeOwnStart: true,
  pageChangesByTheirTimes: true,
  redatesRestartedRecord: true,
  staleFinishKnows: true,
  staleReplacesDeclaration: true,
  foldedBeforeHeld: true,
  lateKeepsEarlierLastChange: true,
  clearedKeepsTimedStart: true,
  olderCreateStartsIncident: true,
  startAtJudgedByItsEvent: false,
  createStartsFinishedFirst: false,
};
/**
 * An event entry of format 12: an incident_created timed before the start its incident's record
 * kept left that start in place, and the finish had no time of its own in the record.
 */
export const CREATE_AFTER_START_KEPT_RULES: FoldRules = {
  ties: 'type',
  lateHeld: true,
  clearsBeforeOwnStart: true,
  pageChangesByTheirTimes: true,
  redatesRestartedRecord: true,
  staleFinishKnows: true,
  staleReplacesDeclaration: true,
  foldedBeforeHeld: true,
  lateKeepsEarlierLastChange: true,
  clearedKeepsTimedStart: true,
  olderCreateStartsIncident: false,
  startAtJudgedByItsEvent: false,
  createStartsFinishedFirst: false,
};
/**
 * An event entry of format 11: an event adding components to its object's record left the
 * object's events folded before it out of their evidence; a late event took the ledger's last
 * change of impact for the component's, older than the late event though both were.
 */
export const FOLDED_BEFORE_UNHELD_RULES: FoldRules = {
  ties: 'type',
  lateHeld: true,
  clearsBeforeOwnStart: true,
  pageChangesByTheirTimes: true,
  redatesRestartedRecord: true,
  staleFinishKnows: true,
  staleReplacesDeclaration: true,
  foldedBeforeHeld: false,
  lateKeepsEarlierLastChange: false,
  clearedKeepsTimedStart: false,
  olderCreateStartsIncident: false,
  startAtJudgedByItsEvent: false,
  createStartsFinishedFirst: false,
};
/** An event entry of format 9: a stale event older than a declared component's declaration left the declaration in place. */
export const STALE_KEEPS_DECLARATION_RULES: FoldRules = {
  ties: 'type',
  lateHeld: true,
  clearsBeforeOwnStart: true,
  pageChangesByTheirTimes: true,
  redatesRestartedRecord: true,
  staleFinishKnows: true,
  staleReplacesDeclaration: false,
  foldedBeforeHeld: false,
  lateKeepsEarlierLastChange: false,
  clearedKeepsTimedStart: false,
  olderCreateStartsIncident: false,
  startAtJudgedByItsEvent: false,
  createStartsFinishedFirst: false,
};
/**
 * An event entry of format 7: a page change measured against the alerts by its webhook's arrival; a
 * declared component's record kept its declaration's time when an older first event changed it; an
 * incident's re-sent finish made nothing known.
 */
export const CLEARS_BEFORE_OWN_START_RULES: FoldRules = {
  ties: 'type',
  lateHeld: true,
  clearsBeforeOwnStart: true,
  pageChangesByTheirTimes: false,
  redatesRestartedRecord: false,
  staleFinishKnows: false,
  staleReplacesDeclaration: false,
  foldedBeforeHeld: false,
  lateKeepsEarlierLastChange: false,
  clearedKeepsTimedStart: false,
  olderCreateStartsIncident: false,
  startAtJudgedByItsEvent: false,
  createStartsFinishedFirst: false,
};
/** An event entry of format 6: an ended hold forgets the direct updates before the latest start kept only. */
export const LATE_HELD_RULES: FoldRules = {
  ties: 'type',
  lateHeld: true,
  clearsBeforeOwnStart: false,
  pageChangesByTheirTimes: false,
  redatesRestartedRecord: false,
  staleFinishKnows: false,
  staleReplacesDeclaration: false,
  foldedBeforeHeld: false,
  lateKeepsEarlierLastChange: false,
  clearedKeepsTimedStart: false,
  olderCreateStartsIncident: false,
  startAtJudgedByItsEvent: false,
  createStartsFinishedFirst: false,
};
/** An event entry of format 5: ties by type; a late first event's added components booked from its own time. */
export const TYPE_TIES_RULES: FoldRules = {
  ties: 'type',
  lateHeld: false,
  clearsBeforeOwnStart: false,
  pageChangesByTheirTimes: false,
  redatesRestartedRecord: false,
  staleFinishKnows: false,
  staleReplacesDeclaration: false,
  foldedBeforeHeld: false,
  lateKeepsEarlierLastChange: false,
  clearedKeepsTimedStart: false,
  olderCreateStartsIncident: false,
  startAtJudgedByItsEvent: false,
  createStartsFinishedFirst: false,
};
/** An event entry of format 1: ties by arrival, as every release before format 5. */
export const ARRIVAL_TIES_RULES: FoldRules = {
  ties: 'arrival',
  lateHeld: false,
  clearsBeforeOwnStart: false,
  pageChangesByTheirTimes: false,
  redatesRestartedRecord: false,
  staleFinishKnows: false,
  staleReplacesDeclaration: false,
  foldedBeforeHeld: false,
  lateKeepsEarlierLastChange: false,
  clearedKeepsTimedStart: false,
  olderCreateStartsIncident: false,
  startAtJudgedByItsEvent: false,
  createStartsFinishedFirst: false,
};

/**
 * How an alerts entry is folded into the alert measures (src/domain/alerts.ts): by the entry's
 * format, what the release that appended it did.
 */
export type AlertRules = {
  /**
   * Whether an alert's run is told by the alerts' times across notifications, not by the order
   * their notifications arrive in (each group is sent at its own flush): an alert that fired
   * after the run's alerts had all ended starts a run of its own even when it arrives before
   * their resolution, and one that fired before the run's last end joins it even when it arrives
   * after (the record keeps the run it closed). Without it, the first kept the older run's start
   * and the second started an episode of its own.
   */
  readonly runsByTimes: boolean;
  /**
   * Whether the page shows a component's impact since its last change of impact (impactShown),
   * not since the ledger's last point: the ledger books a point where the impact stayed (an
   * incident ending after an update made during it to operational), and a page back before an
   * alert's resolution arrived measured no recovery when such a point followed its return.
   */
  readonly sinceLastChangeOfImpact: boolean;
  /**
   * Whether a run's recovery is read from the page's impact history after the run's end (the
   * ledger's change points: the first return to operational at or after the end, when the page
   * showed the component not operational just before it), not from what the page shows when the
   * run's last resolution arrives. Without it, a page that came back after the end and left again
   * before that resolution arrived measured no recovery, nor did one that came back more than
   * once after the end (its last return taken for the one to measure, from an outage the run had
   * not ended in).
   */
  readonly recoveryByHistory: boolean;
  /**
   * Whether a run is split at every gap between its alerts' intervals that no alert spans,
   * whatever order their ends are let go of in (the record keeps the ended alerts' intervals while
   * others fire), not only when the alerts still firing all fired after the latest end let go of
   * so far. Without it, an alert whose end was let go of before an earlier one's kept the runs
   * between them one: one recovery where the page recovered from each, and an episode from the
   * page's return where the run still firing began later.
   */
  readonly runsSplitAtGaps: boolean;
  /**
   * Whether the run a component closed last (ClosedRun) is kept, for CLOSED_RUN_SECONDS, when the
   * component's next alert starts a run of its own, so that a departure of the page timed during
   * the closed run whose webhook arrives after that alert answers it (foldImpactChanges). Without
   * it, the next run's first alert forgot the closed run, and such a departure, timed before that
   * alert fired, measured nothing.
   */
  readonly closedRunOutlivesNextRun: boolean;
  /**
   * Whether the ended intervals the records keep (runsSplitAtGaps) are bounded by their size over
   * all components (AlertLimits.maxEndedIntervalBytes), the oldest gaps between them bridged first
   * past it, down to 90 % (boundEndedIntervals in alerts.ts). Without it, only MAX_ENDED_INTERVALS
   * a record bounded them: 9 999 components each firing one alert could keep 32 each, 10.4 MB of
   * snapshot and 23 MB of heap beyond the firing alerts' bound.
   */
  readonly endedIntervalsBoundedByBytes: boolean;
};

/** This release's alert rules: the fold of an alerts entry it appends. */
export const ALERT_RULES: AlertRules = {
  runsByTimes: true,
  sinceLastChangeOfImpact: true,
  recoveryByHistory: true,
  runsSplitAtGaps: true,
  closedRunOutlivesNextRun: true,
  endedIntervalsBoundedByBytes: true,
};
/** An alerts entry of format 10: the ended intervals bounded by MAX_ENDED_INTERVALS a record only. */
export const ENDED_BY_COUNT_ALERT_RULES: AlertRules = {
  runsByTimes: true,
  sinceLastChangeOfImpact: true,
  recoveryByHistory: true,
  runsSplitAtGaps: true,
  closedRunOutlivesNextRun: true,
  endedIntervalsBoundedByBytes: false,
};
/** An alerts entry of format 8: the recovery from what the page showed when the run's last resolution arrived; a run split after its latest end only. */
export const RUNS_BY_TIMES_ALERT_RULES: AlertRules = {
  runsByTimes: true,
  sinceLastChangeOfImpact: true,
  recoveryByHistory: false,
  runsSplitAtGaps: false,
  closedRunOutlivesNextRun: false,
  endedIntervalsBoundedByBytes: false,
};
/** An alerts entry of format 3: runs as the notifications arrived. */
export const ARRIVAL_RUNS_ALERT_RULES: AlertRules = {
  runsByTimes: false,
  sinceLastChangeOfImpact: false,
  recoveryByHistory: false,
  runsSplitAtGaps: false,
  closedRunOutlivesNextRun: false,
  endedIntervalsBoundedByBytes: false,
};

/** What an operator's forget entry does: by the entry's format, what the release that appended it did. */
export type ForgetRules = {
  /**
   * Whether a forget finds a page or component only the availability ledger still knows (one a
   * status pages file declared and a reload dropped: the ledger keeps what it booked, the state
   * does not), and forgets it there. Without it such a forget found nothing, and the ledger kept
   * the page's components, and their room under MAX_COMPONENTS, for good.
   */
  readonly ledgerOnly: boolean;
};

/** A forget entry of format 15, which forgets what only the ledger knows. */
export const FORGET_RULES: ForgetRules = { ledgerOnly: true };
/** A forget entry of format 2: only what the state holds. */
export const STATE_ONLY_FORGET_RULES: ForgetRules = { ledgerOnly: false };
