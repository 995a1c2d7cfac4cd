import { z } from 'zod';
import { MAX_COMPONENTS_PER_ALERT, type StoredAlert } from '../domain/alert-state.js';
import type { AffectedComponent, StatusMateEvent } from '../domain/event.js';
import type { ForgetTarget } from '../domain/forget.js';
import { internImpact } from '../domain/impact.js';
import type { Declaration } from '../domain/inventory.js';
import { MAX_LABEL_LENGTH } from '../domain/labels.js';
import {
  ALERT_RULES,
  ARRIVAL_RUNS_ALERT_RULES,
  ENDED_BY_COUNT_ALERT_RULES,
  RUNS_BY_TIMES_ALERT_RULES,
  ARRIVAL_TIES_RULES,
  CLEARS_BEFORE_OWN_START_RULES,
  CREATE_AFTER_START_KEPT_RULES,
  FOLD_RULES,
  FINISH_START_KEPT_RULES,
  FOLDED_BEFORE_UNHELD_RULES,
  FORGET_RULES,
  LATE_HELD_RULES,
  STALE_KEEPS_DECLARATION_RULES,
  START_AT_BY_RECEIPT_RULES,
  STATE_ONLY_FORGET_RULES,
  TYPE_TIES_RULES,
  type AlertRules,
  type FoldRules,
  type ForgetRules,
} from '../domain/fold-rules.js';
import type { Limits } from '../domain/reducer.js';
import type { EntryFields } from '../store/store.js';

// One log entry: a validated, normalised event with what its fold must not take from the folding
// process (the appender's limits and retention). Every store keeps these fields as they are (a
// Redis stream entry, a SQLite row's JSON, an object in memory), and reads them back through the
// schemas below: a log is a boundary like a webhook body, written by other replicas or by an
// earlier version of this code.
//
// Bump ENTRY_FORMAT when what an entry holds changes; a fold refuses (not ready, one error line)
// a format newer than the one it reads, rather than folding what it does not understand.
//
// Format 1 is an event. Format 2 adds a second kind, an operator's forget (`k: "forget"`), and
// only those entries carry it: events are still written as format 1, so a replica of the previous
// version folds them as before during a rolling upgrade, and refuses (rather than skips, and
// diverges from the others) at the first forget.
//
// Format 3 adds a third kind, Alertmanager's alerts (`k: "alerts"`), written only for them, for
// the same reason: a replica of the previous version folds events and forgets as before, and
// refuses at the first alerts entry. Each alert carries the components the appender's
// `alert_matchers` chose (see src/domain/alerts.ts for why the appender decides).

//
// Format 4 adds a fourth kind, a declaration (`k: "declare"`): the components a process's status
// pages file declares that its folded ledger did not know, per page (uuids only: the ledger keeps
// no names, and a name is the file's, per process). Written only for them, for the same reason.
// The fold books each as operational from the entry's log time (see src/domain/inventory.ts).

//
// Format 5 is an event whose fold orders events of equal created_at by type and object, not by
// arrival (src/domain/order.ts, TieOrder). Events are written as format 5 from then on, so a
// replica of the previous version refuses at the first event a new one appends, rather than
// decide the same tie another way and serve a state the others contradict; and format 1 entries
// (a log or a SQLite file written before) are still folded with ties by arrival, as the release
// that acknowledged them did, so an upgrade serves exactly what it served.
//
// Format 6 is an event whose fold, when it is the late first event of an incident or maintenance
// and adds components to its record, books them in the ledger until the times of the object's
// later events, as created_at order does (lateHeld in src/domain/held-evidence.ts). Written from then
// on for the same reason as format 5; format 5 and 1 entries are folded as their releases did.
//
// Format 7 is an event whose fold, when an incident's or maintenance's hold ends, forgets a
// direct update made before that hold's own start even when another ended hold left a later
// start with no place in arrival order (clearsBeforeOwnStart in src/domain/fold-rules.ts).
// Written from then on for the same reason as format 5; format 6, 5 and 1 entries are folded as
// their releases did.
//
// Format 8 is an alerts entry whose fold tells an alert's run by the alerts' times across
// notifications, not by the order they arrive in (runsByTimes in src/domain/fold-rules.ts).
// Alerts entries are written as format 8 from then on, so a replica of the previous version
// refuses at the first one rather than measure it otherwise; format 3 entries (a log or a SQLite
// file written before) are folded as the release that appended them did.
//
// Format 9 is an event whose fold measures a page change against the alerts by its own time, not
// by its webhook's arrival (pageChangesByTheirTimes in src/domain/fold-rules.ts); dates a declared
// component's record from its older first event, as the ledger (redatesRestartedRecord); and makes
// the components a finished incident's re-sent finish names known (staleFinishKnows). Written from then on for the same reason as format 5; format 7, 6, 5 and 1
// entries are folded as their releases did.
//
// Format 10 is an alerts entry whose fold reads a run's recovery from the page's impact history
// after the run's end (recoveryByHistory in src/domain/fold-rules.ts), not from what the page
// shows when the run's last resolution arrives, splits a run at every gap between its alerts
// whatever order their ends are let go of in (runsSplitAtGaps), and keeps a closed run past the
// next run's first alert for a late departure of the page (closedRunOutlivesNextRun). Alerts entries are written as format 10 from then
// on for the same reason as format 8; format 8 and 3 entries are folded as their releases did.
// An alerts entry also carries the alerts its appender's matchers mapped to no component (not
// only those its own state held): every alerts format folds such an alert alike (it lets go of
// the alert where held, and is nothing otherwise), so that needs no format of its own.
//
// Format 11 is an event whose fold lets a stale event older than a declared component's
// declaration replace it, as an applied one does (staleReplacesDeclaration in
// src/domain/fold-rules.ts). Written from then on for the same reason as format 5; format 9, 7, 6,
// 5 and 1 entries are folded as their releases did.
//
// Format 12 is an event whose fold, when it adds components to its incident's or maintenance's
// record (names one the object's events folded before did not), brings those events into the
// components' ledger evidence, so that a later-arriving older event naming them is booked where
// its created_at falls (foldedBeforeHeld in src/domain/fold-rules.ts), and leaves a component's
// last change alone when a late event moved neither it nor the ledger's (lateKeepsEarlierLastChange),
// and keeps an ended hold's timed start in the component's record when a hold with no trusted start
// ends after it (clearedKeepsTimedStart). Written from then on for the same reason as format 5; format 11, 9, 7, 6, 5 and 1 entries are
// folded as their releases did.
//
// Format 13 is an event whose fold, when an incident_created is timed before the start its
// incident's record keeps (a create sent again, StatusMate's clock having put the first ahead),
// moves that start back to the create's, ending a finished incident's holds from there, and keeps
// an incident's finish's own time in its record (finishedAt), which it gives the ledger evidence
// of a component such an event adds (olderCreateStartsIncident in src/domain/fold-rules.ts).
// Written from then on for the same reason as format 5; format 12, 11, 9, 7, 6, 5 and 1 entries
// are folded as their releases did.
//
// Format 14 is an alerts entry whose fold bounds the ended intervals the records keep (format 10's
// runsSplitAtGaps) by their size over all components, the oldest gaps bridged first past the
// appender's maxEndedIntervalBytes (endedIntervalsBoundedByBytes in src/domain/fold-rules.ts).
// Alerts entries are written as format 14 from then on for the same reason as format 8; format 10,
// 8 and 3 entries are folded as their releases did (format 10 with no bound but 32 intervals a
// component). Alerts formats share the numbers of the others, so it follows event format 13.
//
// Format 15 is a forget entry whose fold finds a page or component only the availability ledger
// still knows (declared by a status pages file, dropped by a reload) and forgets it there
// (ledgerOnly in src/domain/fold-rules.ts). Forgets are written as format 15 from then on for the
// same reason as format 5; format 2 entries are folded as their release did (found nothing).
//
// Format 16 is an event whose fold judges an incident's start_at against its own event's time as
// well as its receipt: one further ahead of its created_at than MAX_CLOCK_SKEW_SECONDS is not
// trusted, a late-delivered event's too (startAtJudgedByItsEvent in src/domain/fold-rules.ts).
// Written from then on for the same reason as format 5; format 13, 12, 11, 9, 7, 6, 5 and 1
// entries are folded as their releases did. Event formats share the numbers of the others, so it
// follows forget format 15.
//
// Format 17 is an event whose fold begins an incident first seen finished at its late
// incident_created's own start, whatever start_at its finish carried (createStartsFinishedFirst in
// src/domain/fold-rules.ts). Written from then on for the same reason as format 5; format 16 and
// the earlier event formats are folded as their releases did.
// What each format's fold does is src/domain/fold-rules.ts.

/** The newest entry format this version reads and writes. */
export const ENTRY_FORMAT = 17;
/** The format of an event entry. */
export const EVENT_ENTRY_FORMAT = 17;
/** The format of an event entry written before a late create of an incident first seen finished began it at the create. */
export const FINISH_START_KEPT_EVENT_ENTRY_FORMAT = 16;
/** The format of an event entry written before an incident's start_at was judged against its own event's time. */
export const START_AT_BY_RECEIPT_EVENT_ENTRY_FORMAT = 13;
/**
 * The format of an event entry written before an incident_created timed before the start its
 * incident's record kept moved that start back, and before an incident's finish kept its own time.
 */
export const CREATE_AFTER_START_KEPT_EVENT_ENTRY_FORMAT = 12;
/**
 * The format of an event entry written before an event adding components to its object's record
 * brought the object's earlier-folded events into their evidence, and before a late event left an
 * older last change alone.
 */
export const FOLDED_BEFORE_UNHELD_EVENT_ENTRY_FORMAT = 11;
/** The format of an event entry written before a stale event older than a declared component's declaration replaced it. */
export const STALE_KEEPS_DECLARATION_EVENT_ENTRY_FORMAT = 9;
/** The format of an event entry written before a page change timed before the alerts it answers measured nothing. */
export const CLEARS_BEFORE_OWN_START_EVENT_ENTRY_FORMAT = 7;
/** The format of an event entry written before an ended hold forgot the direct updates before its own start. */
export const LATE_HELD_EVENT_ENTRY_FORMAT = 6;
/** The format of an event entry written before a late first event's added components were booked until its later events. */
export const TYPE_TIES_EVENT_ENTRY_FORMAT = 5;
/** The format of an event entry written before ties were ordered by type: folded with ties by arrival. */
export const ARRIVAL_TIES_EVENT_ENTRY_FORMAT = 1;
/** The format of a forget entry. */
export const FORGET_ENTRY_FORMAT = 15;
/** The forget entries of the releases before FORGET_ENTRY_FORMAT: what the state does not hold is not found. */
export const STATE_ONLY_FORGET_ENTRY_FORMAT = 2;
/** The format of an alerts entry. */
export const ALERTS_ENTRY_FORMAT = 14;
/** The format of an alerts entry written before the ended intervals were bounded by their size over all components. */
export const ENDED_BY_COUNT_ALERTS_ENTRY_FORMAT = 10;
/** The format of an alerts entry written before a run's recovery was read from the page's impact history. */
export const RUNS_BY_TIMES_ALERTS_ENTRY_FORMAT = 8;
/** The format of an alerts entry written before runs were told by the alerts' times: runs as notifications arrived. */
export const ARRIVAL_RUNS_ALERTS_ENTRY_FORMAT = 3;
/** The format of a declare entry. */
export const DECLARE_ENTRY_FORMAT = 4;
/** The alert rules of each alerts entry format: what the release that appended it did. */
const ALERT_RULES_BY_FORMAT: ReadonlyMap<string, AlertRules> = new Map([
  [String(ALERTS_ENTRY_FORMAT), ALERT_RULES],
  [String(ENDED_BY_COUNT_ALERTS_ENTRY_FORMAT), ENDED_BY_COUNT_ALERT_RULES],
  [String(RUNS_BY_TIMES_ALERTS_ENTRY_FORMAT), RUNS_BY_TIMES_ALERT_RULES],
  [String(ARRIVAL_RUNS_ALERTS_ENTRY_FORMAT), ARRIVAL_RUNS_ALERT_RULES],
]);
/** The fold rules of each event entry format: what the release that appended it did. */
const EVENT_RULES: ReadonlyMap<string, FoldRules> = new Map([
  [String(EVENT_ENTRY_FORMAT), FOLD_RULES],
  [String(FINISH_START_KEPT_EVENT_ENTRY_FORMAT), FINISH_START_KEPT_RULES],
  [String(START_AT_BY_RECEIPT_EVENT_ENTRY_FORMAT), START_AT_BY_RECEIPT_RULES],
  [String(CREATE_AFTER_START_KEPT_EVENT_ENTRY_FORMAT), CREATE_AFTER_START_KEPT_RULES],
  [String(FOLDED_BEFORE_UNHELD_EVENT_ENTRY_FORMAT), FOLDED_BEFORE_UNHELD_RULES],
  [String(STALE_KEEPS_DECLARATION_EVENT_ENTRY_FORMAT), STALE_KEEPS_DECLARATION_RULES],
  [String(CLEARS_BEFORE_OWN_START_EVENT_ENTRY_FORMAT), CLEARS_BEFORE_OWN_START_RULES],
  [String(LATE_HELD_EVENT_ENTRY_FORMAT), LATE_HELD_RULES],
  [String(TYPE_TIES_EVENT_ENTRY_FORMAT), TYPE_TIES_RULES],
  [String(ARRIVAL_TIES_EVENT_ENTRY_FORMAT), ARRIVAL_TIES_RULES],
]);

/**
 * Every format this version reads, from the maps above: a format missing here would be read as
 * garbage and skipped (a log written by the release before losing its events), so an event or
 * alerts format is known by having rules, never by a second list to keep in step.
 */
const KNOWN_FORMATS: ReadonlySet<string> = new Set([
  ...EVENT_RULES.keys(),
  ...ALERT_RULES_BY_FORMAT.keys(),
  String(FORGET_ENTRY_FORMAT),
  String(STATE_ONLY_FORGET_ENTRY_FORMAT),
  String(DECLARE_ENTRY_FORMAT),
]);

/**
 * Component uuids one declare entry names at most: a file declaring more (up to MAX_COMPONENTS)
 * is declared in several entries, each under about 50 KB.
 */
export const MAX_DECLARED_PER_ENTRY = 1000;

const nullableNumber = z.number().nullable();
const nullableString = z.string().nullable();

/** An impact as the state keeps it: one string per impact, not a copy per log entry (internImpact). */
const impact = z.string().transform(internImpact);

const affected: z.ZodType<AffectedComponent> = z.object({ uuid: z.string(), name: nullableString, impact: impact.nullable() });

const common = { statusPage: z.string(), uuid: z.string(), createdAt: nullableNumber, deliveryAttempt: nullableNumber };

const eventSchema: z.ZodType<StatusMateEvent> = z.discriminatedUnion('type', [
  z.object({ ...common, type: z.literal('component_impact_updated'), name: nullableString, impact }),
  z.object({
    ...common,
    type: z.enum(['incident_created', 'incident_finished']),
    title: nullableString,
    startAt: nullableNumber,
    endAt: nullableNumber,
    components: z.array(affected),
  }),
  z.object({
    ...common,
    type: z.enum(['maintenance_created', 'maintenance_started', 'maintenance_finished']),
    title: nullableString,
    startAt: nullableNumber,
    endAt: nullableNumber,
    components: z.array(affected),
  }),
]);

const limitsSchema = z.record(z.string(), z.number());

/** One entry as the fold reads it. */
export type LogEntry = {
  /** Who appended it and which of its appends: lets the appender find the fold of its own entry. */
  origin: string;
  event: StatusMateEvent;
  /** What its fold does: by the entry's format, what the release that appended it did. */
  rules: FoldRules;
  /** The appender's limits, so a fold never depends on the folding process's configuration. */
  limits: Partial<Limits> & Record<string, number>;
  retentionSeconds: number;
};

/** An operator's forget as the fold reads it. */
export type ForgetEntry = {
  origin: string;
  target: ForgetTarget;
  /** What its fold does: by the entry's format, what the release that appended it did. */
  rules: ForgetRules;
  limits: Partial<Limits> & Record<string, number>;
  retentionSeconds: number;
};

const forgetTargetSchema: z.ZodType<ForgetTarget> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('page'), statusPage: z.string().min(1) }),
  z.object({ kind: z.enum(['component', 'incident', 'maintenance']), statusPage: z.string().min(1), uuid: z.string().min(1) }),
]);

/** Alertmanager's notification as the fold reads it: its alerts, each with the components it explains. */
export type AlertsEntry = {
  origin: string;
  alerts: StoredAlert[];
  /** What its fold does: by the entry's format, what the release that appended it did. */
  rules: AlertRules;
  limits: Partial<Limits> & Record<string, number>;
  retentionSeconds: number;
};

// Bounded like the webhook that carried them: a fingerprint is 16 hex digits in Alertmanager.
const storedAlertSchema = z
  .tuple([
    z.string().min(1).max(128),
    z.enum(['firing', 'resolved']),
    nullableNumber,
    nullableNumber,
    z.array(z.tuple([z.string().min(1), z.string().min(1)])).max(MAX_COMPONENTS_PER_ALERT),
  ])
  .transform(([fingerprint, status, startsAt, endsAt, components]): StoredAlert => ({ fingerprint, status, startsAt, endsAt, components }));
const storedAlertsSchema = z.array(storedAlertSchema);

/** A declaration as the fold reads it. */
export type DeclareEntry = {
  origin: string;
  declarations: Declaration[];
  limits: Partial<Limits> & Record<string, number>;
  retentionSeconds: number;
};

// Bounded like the file that declared them: a label of at most 200 characters, a uuid.
const declarationsSchema = z
  .array(z.tuple([z.string().min(1).max(MAX_LABEL_LENGTH), z.array(z.string().min(1).max(64)).min(1)]))
  .refine((pages) => pages.reduce((sum, [, uuids]) => sum + uuids.length, 0) <= MAX_DECLARED_PER_ENTRY, {
    error: `more than ${MAX_DECLARED_PER_ENTRY} components`,
  })
  .transform((pages): Declaration[] => pages.map(([statusPage, uuids]) => ({ statusPage, uuids })));

/** A process's limits change only with its configuration: serialised once, not per event. */
const limitsText = new WeakMap<Limits, string>();
function limitsJson(limits: Limits): string {
  let text = limitsText.get(limits);
  if (text === undefined) limitsText.set(limits, (text = JSON.stringify(limits)));
  return text;
}

/** The fields of a new event entry. */
export function encodeEntry(origin: string, event: StatusMateEvent, limits: Limits, retentionSeconds: number): EntryFields {
  return { v: String(EVENT_ENTRY_FORMAT), o: origin, e: JSON.stringify(event), l: limitsJson(limits), r: String(retentionSeconds) };
}

/** The fields of a new forget entry. */
export function encodeForget(origin: string, target: ForgetTarget, limits: Limits, retentionSeconds: number): EntryFields {
  return { v: String(FORGET_ENTRY_FORMAT), k: 'forget', o: origin, f: JSON.stringify(target), l: limitsJson(limits), r: String(retentionSeconds) };
}

/**
 * The fields of a new alerts entry. Each alert is a tuple (fingerprint, status, startsAt, endsAt,
 * components): a notification can carry hundreds, and keys repeated per alert would double it.
 */
export function encodeAlerts(origin: string, alerts: readonly StoredAlert[], limits: Limits & Record<string, number>, retentionSeconds: number): EntryFields {
  const tuples = alerts.map((alert) => [alert.fingerprint, alert.status, alert.startsAt, alert.endsAt, alert.components]);
  return { v: String(ALERTS_ENTRY_FORMAT), k: 'alerts', o: origin, a: JSON.stringify(tuples), l: JSON.stringify(limits), r: String(retentionSeconds) };
}

/** The fields of a new declare entry: per page, [label, uuids] (at most MAX_DECLARED_PER_ENTRY uuids: the caller cuts). */
export function encodeDeclare(origin: string, declarations: readonly Declaration[], limits: Limits, retentionSeconds: number): EntryFields {
  const pages = declarations.map(({ statusPage, uuids }) => [statusPage, uuids]);
  return { v: String(DECLARE_ENTRY_FORMAT), k: 'declare', o: origin, d: JSON.stringify(pages), l: limitsJson(limits), r: String(retentionSeconds) };
}

/** What an entry costs to keep, in bytes (roughly: its fields' text). */
export function entryBytes(fields: EntryFields): number {
  let bytes = 0;
  for (const key in fields) bytes += key.length + (fields[key]?.length ?? 0);
  return bytes;
}

export type ParsedEntry =
  | { kind: 'entry'; entry: LogEntry }
  | { kind: 'forget'; entry: ForgetEntry }
  | { kind: 'alerts'; entry: AlertsEntry }
  | { kind: 'declare'; entry: DeclareEntry }
  | { kind: 'newer'; format: string }
  | { kind: 'invalid'; problem: string };

export function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads one entry: a known format, a newer one (refuse), or garbage of a known format (skip). */
export function decodeEntry(fields: EntryFields): ParsedEntry {
  const format = fields.v ?? '';
  if (!KNOWN_FORMATS.has(format)) {
    return /^\d+$/.test(format) && Number(format) > ENTRY_FORMAT
      ? { kind: 'newer', format }
      : { kind: 'invalid', problem: `unknown entry format ${JSON.stringify(format.slice(0, 20))}` };
  }
  const limits = limitsSchema.safeParse(parseJson(fields.l));
  if (!limits.success) return { kind: 'invalid', problem: 'limits: invalid' };
  const retention = Number(fields.r);
  if (!Number.isFinite(retention) || retention <= 0) return { kind: 'invalid', problem: 'retention: invalid' };
  if (format === String(DECLARE_ENTRY_FORMAT)) {
    if (fields.k !== 'declare') return { kind: 'invalid', problem: `unknown entry kind ${JSON.stringify((fields.k ?? '').slice(0, 20))}` };
    const declarations = declarationsSchema.safeParse(parseJson(fields.d));
    if (!declarations.success) return { kind: 'invalid', problem: `declare: ${declarations.error.issues[0]?.message ?? 'invalid'}` };
    return { kind: 'declare', entry: { origin: fields.o ?? '', declarations: declarations.data, limits: limits.data, retentionSeconds: retention } };
  }
  const alertRules = ALERT_RULES_BY_FORMAT.get(format);
  if (alertRules !== undefined) {
    if (fields.k !== 'alerts') return { kind: 'invalid', problem: `unknown entry kind ${JSON.stringify((fields.k ?? '').slice(0, 20))}` };
    const alerts = storedAlertsSchema.safeParse(parseJson(fields.a));
    if (!alerts.success) return { kind: 'invalid', problem: `alerts: ${alerts.error.issues[0]?.message ?? 'invalid'}` };
    return { kind: 'alerts', entry: { origin: fields.o ?? '', alerts: alerts.data, rules: alertRules, limits: limits.data, retentionSeconds: retention } };
  }
  if (format === String(FORGET_ENTRY_FORMAT) || format === String(STATE_ONLY_FORGET_ENTRY_FORMAT)) {
    if (fields.k !== 'forget') return { kind: 'invalid', problem: `unknown entry kind ${JSON.stringify((fields.k ?? '').slice(0, 20))}` };
    const target = forgetTargetSchema.safeParse(parseJson(fields.f));
    if (!target.success) return { kind: 'invalid', problem: `forget: ${target.error.issues[0]?.message ?? 'invalid'}` };
    const rules = format === String(FORGET_ENTRY_FORMAT) ? FORGET_RULES : STATE_ONLY_FORGET_RULES;
    return { kind: 'forget', entry: { origin: fields.o ?? '', target: target.data, rules, limits: limits.data, retentionSeconds: retention } };
  }
  const event = eventSchema.safeParse(parseJson(fields.e));
  if (!event.success) return { kind: 'invalid', problem: `event: ${event.error.issues[0]?.message ?? 'invalid'}` };
  const rules = EVENT_RULES.get(format) ?? FOLD_RULES;
  return { kind: 'entry', entry: { origin: fields.o ?? '', event: event.data, rules, limits: limits.data, retentionSeconds: retention } };
}
