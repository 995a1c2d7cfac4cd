import type { Draft } from './draft.js';
import type { EventType } from './event.js';
import type { EvidenceEvent } from './ledger.js';
import type { Stamp } from './order.js';
import type { ComponentImpact, IncidentRecord, MaintenanceRecord } from './state.js';

// What an event that adds components to its incident's or maintenance's record tells the
// ledger's evidence (draft.late): the object's other events, which did not name those components,
// so that a later-arriving older event re-books them where created_at order puts them. Which
// events, by the entry's rules (lateHeld, foldedBeforeHeld, olderCreateStartsIncident in
// fold-rules.ts). Pure; called by the reducer's event handlers.

/**
 * Tells the ledger which components a late event added to its incident's or maintenance's record
 * (held in `next`, not in `before`), and what the object's later events, folded before it without
 * naming them, would have left in their evidence in created_at order, when the record held them:
 * one event each, naming none of them, at its time, known from the record's stamps (an incident's
 * last event: its finish, or a later create; a maintenance's start, `since`, and its last event).
 * Only events after the late one, with a trusted time; none when the entry's rules say so (an
 * entry of format 5 or 1, which the ledger books as the release that appended it did). Under
 * rules foldedBeforeHeld, every event the object folded before this one (the stamps of
 * `current`, the record they left), whatever its time, as for an applied event (foldedBeforeHeld).
 */
export function lateHeld(
  draft: Draft,
  current: IncidentRecord | MaintenanceRecord,
  next: IncidentRecord | MaintenanceRecord,
  before: ComponentImpact[],
  after: ComponentImpact[],
): void {
  if (!draft.lateHeld) return;
  if (draft.foldedBeforeHeld) bringHeld(draft, current, next, before, after, false);
  else bringHeld(draft, next, next, before, after, true);
}

/**
 * Tells the ledger which components an applied event added to its incident's or maintenance's
 * record (named by it, held by none of the object's events folded before: a finish naming more
 * than its create, a start more than the schedule), and the object's events folded before it,
 * whatever their times (rules foldedBeforeHeld). Their evidence lacks those events, which did not
 * name them: a later-arriving event of another object, older than both, replays them (an
 * incident's finish then ends its hold from its create's start, as the fold did), where without
 * them the replay ended elsewhere than the state and the event was booked as it arrived.
 */
export function foldedBeforeHeld(
  draft: Draft,
  current: IncidentRecord | MaintenanceRecord | undefined,
  next: IncidentRecord | MaintenanceRecord,
  after: ComponentImpact[],
): void {
  if (draft.foldedBeforeHeld && current !== undefined) bringHeld(draft, current, next, current.components, after, false);
}

/**
 * Sets draft.late: the components in `after` not in `before`, with one event for each stamp of
 * `stamps` (the record whose events to bring), naming none of them, with `next`'s start and end;
 * `onlyAfter`: only the stamps after this event's.
 */
function bringHeld(
  draft: Draft,
  stamps: IncidentRecord | MaintenanceRecord,
  next: IncidentRecord | MaintenanceRecord,
  before: ComponentImpact[],
  after: ComponentImpact[],
  onlyAfter: boolean,
): void {
  if (after.length === before.length) return;
  const had = new Set(before.map((c) => c.uuid));
  const components = after.filter((c) => !had.has(c.uuid)).map((c) => c.uuid);
  const incident = !('scheduledStart' in stamps);
  const later: [EventType, Stamp | null, boolean?][] = incident
    ? incidentEvents(stamps, draft.olderCreateStartsIncident)
    : onlyAfter
      ? [
          ['maintenance_started', stamps.since],
          [maintenanceStep(stamps), stamps.lastEvent],
        ]
      : maintenanceEvents(stamps);
  const [startAt, endAt] = 'scheduledStart' in next ? [next.scheduledStart, next.scheduledEnd] : [next.startAt, next.endAt];
  const events: EvidenceEvent[] = [];
  for (const [type, stamp, began] of later) {
    if (stamp === null || stamp.at === null || (onlyAfter && !draft.isBefore(stamp))) continue;
    if (events.some((e) => e.type === type && e.at === stamp.at)) continue;
    // The create an incident began at starts it there: the record's start_at is a later create's.
    events.push({ at: stamp.at, type, object: next.uuid, named: false, name: null, impact: null, startAt: began === true ? stamp.at : startAt, endAt });
  }
  if (components.length > 0 && events.length > 0) draft.late = { components, events };
}

/**
 * The events of an incident whose times its record keeps: its last event, the finish when it is
 * finished. Under rules olderCreateStartsIncident (`ownFinish`), also the create it began at
 * (`since`, flagged: its start is its own time, not the record's start_at, a later create's) when
 * that is before the last event; and a finish timed before the create folded first is not the
 * last event: its own time is `finishedAt`, and the last event is that create. Without them (or
 * for a finish with no trusted time, or one an earlier format's entry folded), the last event is
 * taken for the finish, as before.
 */
function incidentEvents(record: IncidentRecord, ownFinish: boolean): [EventType, Stamp | null, boolean?][] {
  const last = record.lastEvent;
  // Its start, when before the last event: the create that began it (its start_at, when trusted).
  const since = record.since;
  const began: [EventType, Stamp | null, boolean?][] =
    ownFinish && since !== null && since.at !== null && last.at !== null && since.at < last.at ? [['incident_created', since, true]] : [];
  if (record.state !== 'finished') return [...began, ['incident_created', last]];
  const finishAt = ownFinish && record.finishedAt != null && record.finishedAt !== last.at ? record.finishedAt : null;
  if (finishAt === null) return [...began, ['incident_finished', last]];
  return [...began, ['incident_finished', { ...last, at: finishAt }], ['incident_created', last]];
}

/** The event that left a maintenance's record in its state. */
function maintenanceStep(record: MaintenanceRecord): EventType {
  return record.state === 'finished' ? 'maintenance_finished' : record.state === 'in_progress' ? 'maintenance_started' : 'maintenance_created';
}

/**
 * The events of a maintenance whose times its record keeps (rules foldedBeforeHeld): its start
 * (`since`), its last event, and its finish. A finish timed before the create or start folded
 * first (StatusMate's clock put one ahead) is not the last event: its own time is `finishedAt`,
 * when that was its created_at (it differs from its receipt; when StatusMate's clock was not
 * trusted it is the receipt, and the last event is taken for the finish, as before). Taking the
 * last event for the finish booked a component the start added as held until the create's time.
 */
function maintenanceEvents(record: MaintenanceRecord): [EventType, Stamp | null][] {
  const finishAt =
    record.state === 'finished' && record.finishedAt !== null && record.finishedReceivedAt !== null && record.finishedAt !== record.finishedReceivedAt
      ? record.finishedAt
      : null;
  const last = record.lastEvent;
  const lastType: EventType =
    finishAt === null
      ? maintenanceStep(record)
      : last.at === finishAt
        ? 'maintenance_finished'
        : record.since !== null && record.since.at === last.at
          ? 'maintenance_started'
          : 'maintenance_created';
  const events: [EventType, Stamp | null][] = [
    ['maintenance_started', record.since],
    [lastType, last],
  ];
  if (finishAt !== null && last.at !== finishAt) events.push(['maintenance_finished', { ...last, at: finishAt }]);
  return events;
}
