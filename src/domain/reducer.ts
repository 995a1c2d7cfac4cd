import { Draft } from './draft.js';
import type { AffectedComponent, ComponentImpactUpdated, IncidentEvent, MaintenanceEvent, StatusMateEvent } from './event.js';
import { OPERATIONAL } from './impact.js';
import { cutLabel } from './labels.js';
import { foldedBeforeHeld, lateHeld } from './held-evidence.js';
import { ledgerOf, toMs } from './ledger.js';
import { FOLD_RULES, type FoldRules } from './fold-rules.js';
import { lastEntryOf } from './component-lookup.js';
import { trustedCreatedAt, typeRank, type Stamp } from './order.js';
import { forgetPastBounds, measureAfter, type SizeLimits } from './size.js';
import {
  activeIncidentCount,
  emptyPatch,
  unfinishedMaintenanceCount,
  type ComponentImpact,
  type ComponentRecord,
  type EntityKey,
  type IncidentRecord,
  type MaintenanceRecord,
  type Patch,
  type State,
} from './state.js';

/** What the reducer bounds (counts, and sizes: see size.ts), and how far ahead of receipt a created_at is still trusted. */
export type Limits = SizeLimits & {
  maxComponents: number;
  maxActiveIncidents: number;
  maxActiveMaintenances: number;
  maxStatusPages: number;
  maxClockSkewSeconds: number;
  /** Days of the availability ledger kept (LEDGER_RETENTION_DAYS); in every entry, so every fold prunes alike. */
  ledgerRetentionDays: number;
  /** Day rows the ledger holds at most over all components (LEDGER_MAX_DAY_ROWS, 24 bytes each); past it the oldest days go. */
  ledgerMaxDayRows: number;
};

export const DEFAULT_LIMITS: Limits = {
  maxComponents: 10_000,
  maxActiveIncidents: 1000,
  maxActiveMaintenances: 1000,
  maxStatusPages: 100,
  maxClockSkewSeconds: 300,
  maxHoldings: 10_000,
  maxRetainedFinished: 10_000,
  maxDedupRecords: 100_000,
  ledgerRetentionDays: 400,
  ledgerMaxDayRows: 1_000_000,
};

/**
 * The `limit` label of statusmate_limit_refusals_total: the bounds past which an event is
 * refused. MAX_RETAINED_FINISHED and MAX_DEDUP_RECORDS refuse nothing (they forget), so have none.
 */
export const LIMIT_NAMES = ['components', 'active_incidents', 'active_maintenances', 'status_pages', 'holdings'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export type ReduceOutcome = 'applied' | 'duplicate' | 'stale' | 'refused_limit';

/** Something worth a log line (or a counter) that the pure reducer cannot write itself. */
export type Notice =
  | { kind: 'unknown_impact'; statusPage: string; componentUuid: string; impact: string }
  | { kind: 'limit_refused'; limit: LimitName; statusPage: string; uuids: string[]; max: number }
  | { kind: 'clock_skew'; statusPage: string; uuid: string; createdAt: number; receivedAt: number };

export type Decision = { outcome: ReduceOutcome; patch: Patch; notices: Notice[] };

/**
 * The semantics of the exporter: given the current state and one validated event, decides
 * what changes. Pure: it reads `state` and returns a Patch, never mutating anything, so that
 * the store can commit the patch (with the dedup record) before memory changes. Its inputs are
 * all it depends on — time included (`receivedAt`) — so any process that reduces the same
 * events in the same order reaches the same state. `rules` are those of the release that appended
 * the event's log entry (fold-rules.ts): how events of equal created_at are ordered, and more.
 */
export function reduce(state: State, event: StatusMateEvent, dedupKey: string, receivedAt: number, limits: Limits, rules: FoldRules = FOLD_RULES): Decision {
  const ties = rules.ties;
  // Only a retry can repeat an earlier delivery. A first delivery (attempt 0, or none) is a new
  // event even when its body equals an earlier one's: a component that returns to an earlier
  // impact sends the same body again when StatusMate sends no created_at.
  if ((event.deliveryAttempt ?? 0) >= 1 && state.seen.has(dedupKey)) {
    return { outcome: 'duplicate', patch: emptyPatch(), notices: [] };
  }

  const notices: Notice[] = [];
  const at = trustedCreatedAt(event.createdAt, receivedAt, limits.maxClockSkewSeconds);
  if (event.createdAt !== null && at === null) {
    notices.push({ kind: 'clock_skew', statusPage: event.statusPage, uuid: event.uuid, createdAt: event.createdAt, receivedAt });
  }
  if (!state.pages.has(event.statusPage) && state.pages.size >= limits.maxStatusPages) {
    return refusedWhole(notices, 'status_pages', event.statusPage, event.statusPage, limits.maxStatusPages);
  }

  const draft = new Draft(state, {
    statusPage: event.statusPage,
    receivedAt,
    stamp:
      ties === 'type'
        ? { at, seq: state.lastSeq + 1, rank: typeRank(event.type), object: event.type === 'component_impact_updated' ? '' : event.uuid }
        : { at, seq: state.lastSeq + 1 },
    t: at ?? receivedAt,
    maxComponents: limits.maxComponents,
    maxClockSkewSeconds: limits.maxClockSkewSeconds,
    rules,
  });
  // A new incident or maintenance past its limit is refused before anything is drafted.
  const isNew = event.type.startsWith('incident') ? !draft.incident(event.uuid) : !draft.maintenance(event.uuid);
  if (isNew && event.type === 'incident_created' && activeIncidentCount(state) >= limits.maxActiveIncidents) {
    return refusedWhole(notices, 'active_incidents', event.statusPage, event.uuid, limits.maxActiveIncidents);
  }
  if (
    isNew &&
    (event.type === 'maintenance_created' || event.type === 'maintenance_started') &&
    unfinishedMaintenanceCount(state) >= limits.maxActiveMaintenances
  ) {
    return refusedWhole(notices, 'active_maintenances', event.statusPage, event.uuid, limits.maxActiveMaintenances);
  }
  // A new incident or maintenance whose components alone pass MAX_HOLDINGS is refused before
  // anything is drafted: the check below would refuse it too, after drafting every component.
  if (isNew && event.type !== 'component_impact_updated' && !event.type.endsWith('_finished')) {
    const adds = newHoldings(state, event, limits.maxComponents);
    if (adds > 0 && state.size.holdings + adds > limits.maxHoldings) {
      return refusedWhole(notices, 'holdings', event.statusPage, event.uuid, limits.maxHoldings);
    }
  }

  let outcome: 'applied' | 'stale';
  switch (event.type) {
    case 'component_impact_updated':
      outcome = componentImpactUpdated(draft, event);
      break;
    case 'incident_created':
      outcome = incidentCreated(draft, event);
      break;
    case 'incident_finished':
      outcome = incidentFinished(draft, event);
      break;
    case 'maintenance_created':
      outcome = maintenanceCreated(draft, event);
      break;
    case 'maintenance_started':
      outcome = maintenanceStarted(draft, event);
      break;
    case 'maintenance_finished':
      outcome = maintenanceFinished(draft, event);
      break;
  }

  // An event that would take the holdings past their bound is refused whole; one that keeps or
  // lowers them (a finish, a re-send) goes on, so a state past a lowered bound can drain.
  const patch = draft.toPatch(dedupKey);
  // Stale or not, the ledger keeps it: it books time, and a late event's time is in the past (see ledger-evidence.ts).
  // Its replay folds by this fold's rules, so that it re-books as the release that appended the entry did.
  patch.ledgerEvent = draft.late ? { event, at, rules, late: draft.late } : { event, at, rules };
  const after = measureAfter(state, patch);
  if (after.holdings > state.size.holdings && after.holdings > limits.maxHoldings) {
    return refusedWhole(notices, 'holdings', event.statusPage, event.uuid, limits.maxHoldings);
  }
  forgetPastBounds(state, patch, limits, after);
  // A declared component's first event, older than its declaration, restarts its ledger: an
  // update naming it, or an incident or maintenance naming it, whether or not it changes its
  // impact (a maintenance scheduled first, started later, would otherwise find its history held
  // by the declaration's assumption and be booked from the declaration on). A stale one too
  // (rules staleReplacesDeclaration): a finish sent again names the component as much.
  if ((outcome === 'applied' || rules.staleReplacesDeclaration) && at !== null) {
    // The components named, first mention first, that restart: looked for without a copy of the
    // names, and the list made at the first one (nearly every event restarts none, and every
    // event a replay of a component's evidence folds pays this too).
    let restarts: Array<EntityKey & { impact?: string }> | undefined;
    if (event.type === 'component_impact_updated') restarts = restartOf(state, patch, event.statusPage, event.uuid, at, restarts);
    else
      for (let i = 0; i < event.components.length; i += 1)
        restarts = restartOf(state, patch, event.statusPage, (event.components[i] as AffectedComponent).uuid, at, restarts);
    if (restarts !== undefined) {
      patch.ledgerRestart = restarts;
      // The component is known from this event, in the impact it shows: so is its record's last
      // change, as the ledger starts it (an unchanged record is redated by the fold's overlay).
      if (rules.redatesRestartedRecord) patch.components = redated(patch.components, event.statusPage, restarts, at);
    }
  }

  const { unknownImpacts, refused } = draft.notices();
  for (const { componentUuid, impact } of unknownImpacts) {
    notices.push({ kind: 'unknown_impact', statusPage: event.statusPage, componentUuid, impact });
  }
  if (refused.length > 0) {
    notices.push({ kind: 'limit_refused', limit: 'components', statusPage: event.statusPage, uuids: refused, max: limits.maxComponents });
  }
  return { outcome: refused.length > 0 ? 'refused_limit' : outcome, patch, notices };
}

/**
 * `restarts` with component `uuid` added when its ledger restarts at this event (restartsLedger)
 * and it is not listed yet: without the impact when the patch has its record, else with the
 * impact its record shows. Made at the first component added.
 */
function restartOf(
  state: State,
  patch: Patch,
  statusPage: string,
  uuid: string,
  at: number,
  restarts: Array<EntityKey & { impact?: string }> | undefined,
): Array<EntityKey & { impact?: string }> | undefined {
  if (!restartsLedger(state, statusPage, uuid, at) || restarts?.some((r) => r.uuid === uuid) === true) return restarts;
  const list = restarts ?? [];
  if (patch.components.some((c) => c.uuid === uuid && c.statusPage === statusPage)) list.push({ statusPage, uuid });
  else list.push({ statusPage, uuid, impact: state.pages.get(statusPage)?.components.get(uuid)?.impact ?? OPERATIONAL });
  return list;
}

/**
 * The patch's component records with each restarted one that has a record there (no `impact`)
 * dated `at`. Apart from reduce, so that the closures here do not make reduce keep its variables
 * in a context of their own on every call.
 */
function redated(components: ComponentRecord[], statusPage: string, restarts: Array<EntityKey & { impact?: string }>, at: number): ComponentRecord[] {
  const restarted = new Set(restarts.filter((restart) => restart.impact === undefined).map((restart) => restart.uuid));
  return components.map((c) => (c.statusPage === statusPage && restarted.has(c.uuid) && c.changedAt !== at ? { ...c, changedAt: at } : c));
}

/**
 * The holdings a new incident or maintenance would have: the distinct components it names that
 * exist, and those new ones MAX_COMPONENTS still admits (as Draft.admit decides).
 */
function newHoldings(state: State, event: IncidentEvent | MaintenanceEvent, maxComponents: number): number {
  const known = state.pages.get(event.statusPage)?.components;
  const sent = new Set<string>();
  for (const component of event.components) sent.add(component.uuid);
  let existing = 0;
  for (const uuid of sent) if (known?.has(uuid)) existing += 1;
  return existing + Math.min(sent.size - existing, Math.max(0, maxComponents - state.componentCount));
}

/**
 * An event refused whole changes nothing, and leaves no dedup record: a later delivery of it is
 * judged again, and applied once there is room.
 */
function refusedWhole(notices: Notice[], limit: LimitName, statusPage: string, uuid: string, max: number): Decision {
  return { outcome: 'refused_limit', patch: emptyPatch(), notices: [...notices, { kind: 'limit_refused', limit, statusPage, uuids: [uuid], max }] };
}

function componentImpactUpdated(draft: Draft, event: ComponentImpactUpdated): 'applied' | 'stale' {
  return draft.setDirect(event.uuid, event.name, event.impact) === 'older' ? 'stale' : 'applied';
}

function incidentCreated(draft: Draft, event: IncidentEvent): 'applied' | 'stale' {
  const current = draft.incident(event.uuid);
  if (!current?.createdCounted) draft.count('incidentsCreated');

  if (current && (current.state === 'finished' || draft.isBefore(current.lastEvent))) {
    // Superseded: the incident keeps its state, but a late `created` may still bring the
    // start that an earlier `finished` lacked, so its duration can be observed now.
    let next: IncidentRecord = { ...current, createdCounted: true };
    if (next.startAt === null) next = { ...next, startAt: event.startAt ?? draft.t };
    // First seen finished with no start: its finish ended its hold from "before anything known
    // here" (no time), which clears nothing a direct update with a time could be older than.
    // Its `created` brings the start, so the hold ends from there, as when `created` came first
    // (a direct update older than it was overridden, one after it stands): the state, and the
    // ledger's replay of the component's evidence, are then the same in either order.
    // So too with a start_at the finish could not trust (far ahead of its event): its hold ended from no time either.
    const untimed = current.startAt === null || draft.trustedStart(current.startAt) === null;
    // And (rules createStartsFinishedFirst) with a start_at it trusted: in created_at order the
    // incident began at this create, the finish's start_at unread, so its hold ends from here too,
    // in place of the start the finish left (a start_at edited to after the create, or before it).
    const finishedFirst = current.state === 'finished' && current.since === null;
    const since = finishedFirst && (untimed || draft.createStartsFinishedFirst) ? startStamp(draft, event.uuid, event.startAt) : undefined;
    const replaces = finishedFirst && draft.createStartsFinishedFirst ? finishStart(draft, current, event.uuid) : undefined;
    const ends = since !== undefined && since.at !== null;
    const late = lateComponents(draft, current.components, event.components);
    const earlier = since === undefined ? earlierStart(draft, current, event) : undefined;
    if (ends) next = { ...next, since, components: held(draft, current.components, event.components) };
    else next = { ...next, components: late.components };
    if (earlier !== undefined) next = { ...next, since: earlier };
    if (next.state === 'finished') next = draft.observeIncidentDuration(next);
    draft.putIncident(next);
    lateHeld(draft, current, next, current.components, next.components);
    if (ends) endAll(draft, next.components, event.components, since, replaces);
    // It began at this create, before the start its end ended its holds from: they end from here.
    else if (next.state === 'finished' && earlier !== undefined) endAll(draft, next.components, event.components, earlier, current.since ?? undefined);
    else if (next.state === 'finished') {
      // Held from its start, like the rest, and ended with the finish that came first.
      const start = current.since ?? { at: draft.trustedStart(current.startAt), seq: -1, ...startTie(draft, 'incident_created', event.uuid) };
      endAll(draft, late.added, event.components, start);
    } else touchAll(draft, late.added, event.components);
    return 'stale';
  }

  const components = held(draft, current?.components, event.components);
  const created: IncidentRecord = {
    statusPage: draft.statusPage,
    uuid: event.uuid,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'active',
    startAt: event.startAt ?? current?.startAt ?? draft.t,
    endAt: event.endAt ?? current?.endAt ?? null,
    components,
    lastEvent: draft.stamp,
    since: current?.since ?? startStamp(draft, event.uuid, event.startAt),
    createdCounted: true,
    finishedCounted: current?.finishedCounted ?? false,
    durationObserved: current?.durationObserved ?? false,
    finishedReceivedAt: null,
  };
  draft.putIncident(created);
  foldedBeforeHeld(draft, current, created, components);
  touchAll(draft, components, event.components);
  return 'applied';
}

/**
 * The start of a late incident_created that is before the start its incident's record keeps
 * (rules olderCreateStartsIncident), both with a trusted time: in created_at order the incident
 * began at its earliest create. Undefined otherwise (equal times included: nothing moves).
 */
function earlierStart(draft: Draft, current: IncidentRecord, event: IncidentEvent): Stamp | undefined {
  if (!draft.olderCreateStartsIncident || current.since === null || current.since.at === null) return undefined;
  const start = startStamp(draft, event.uuid, event.startAt);
  return start.at !== null && start.at < current.since.at ? start : undefined;
}

/**
 * The start an incident first seen finished left in its components' records when its finish
 * ended their holds (incidentFinished): its start_at when that finish trusted it, else no time.
 * Its time as stored, not judged again from a later event (Draft.end replaces only an equal stamp).
 */
function finishStart(draft: Draft, current: IncidentRecord, uuid: string): Stamp {
  return { at: current.startAt, seq: -1, ...startTie(draft, 'incident_created', uuid) };
}

function incidentFinished(draft: Draft, event: IncidentEvent): 'applied' | 'stale' {
  const current = draft.incident(event.uuid);
  if (!current?.finishedCounted) draft.count('incidentsFinished');

  if (current?.state === 'finished') {
    if (!current.finishedCounted) draft.putIncident({ ...current, finishedCounted: true });
    // Known, as after every other event of an incident or maintenance (a maintenance's re-sent finish too).
    if (draft.staleFinishKnows) touchAll(draft, held(draft, undefined, event.components), event.components);
    return 'stale';
  }

  const components = held(draft, current?.components, event.components);
  const finished = draft.observeIncidentDuration({
    statusPage: draft.statusPage,
    uuid: event.uuid,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'finished',
    startAt: event.startAt ?? current?.startAt ?? null,
    endAt: event.endAt ?? draft.t,
    components,
    lastEvent: current && draft.isBefore(current.lastEvent) ? current.lastEvent : draft.stamp,
    since: current?.since ?? null,
    createdCounted: current?.createdCounted ?? false,
    finishedCounted: true,
    durationObserved: current?.durationObserved ?? false,
    finishedReceivedAt: draft.receivedAt,
    // Its own time, which its last event is not when it is timed before the create folded first.
    ...(draft.olderCreateStartsIncident ? { finishedAt: draft.stamp.at } : {}),
  });
  draft.putIncident(finished);
  foldedBeforeHeld(draft, current, finished, components);
  // An incident first seen finished began at its start_at, else before anything known here
  // (until its `incident_created`, arriving late, says when: incidentCreated).
  endAll(
    draft,
    components,
    event.components,
    current?.since ?? { at: draft.trustedStart(event.startAt), seq: -1, ...startTie(draft, 'incident_created', event.uuid) },
  );
  return 'applied';
}

function maintenanceCreated(draft: Draft, event: MaintenanceEvent): 'applied' | 'stale' {
  const current = draft.maintenance(event.uuid);
  if (!current?.createdCounted) draft.count('maintenancesCreated');

  if (current && (current.state !== 'scheduled' || draft.isBefore(current.lastEvent))) {
    const late = lateComponents(draft, current.components, event.components);
    const next: MaintenanceRecord = {
      ...current,
      createdCounted: true,
      scheduledStart: current.scheduledStart ?? event.startAt,
      scheduledEnd: current.scheduledEnd ?? event.endAt,
      components: late.components,
    };
    draft.putMaintenance(next);
    lateHeld(draft, current, next, current.components, next.components);
    // Held from its start, like the rest (a running one holds them now), and ended with its
    // finish when one came first; a maintenance not known to have started holds nothing yet.
    if (current.state === 'finished' && current.since !== null) endAll(draft, late.added, event.components, current.since);
    touchAll(draft, held(draft, undefined, event.components), event.components);
    return 'stale';
  }

  const components = held(draft, current?.components, event.components);
  const scheduled: MaintenanceRecord = {
    ...newMaintenance(draft, event.uuid),
    ...current,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'scheduled',
    scheduledStart: event.startAt ?? current?.scheduledStart ?? null,
    scheduledEnd: event.endAt ?? current?.scheduledEnd ?? null,
    components,
    lastEvent: draft.stamp,
    createdCounted: true,
  };
  draft.putMaintenance(scheduled);
  foldedBeforeHeld(draft, current, scheduled, components);
  touchAll(draft, components, event.components);
  return 'applied';
}

function maintenanceStarted(draft: Draft, event: MaintenanceEvent): 'applied' | 'stale' {
  const current = draft.maintenance(event.uuid);
  if (!current?.startedCounted) draft.count('maintenancesStarted');

  if (current && (current.state === 'finished' || (current.state === 'in_progress' && draft.isBefore(current.lastEvent)))) {
    const late = lateComponents(draft, current.components, event.components);
    let next: MaintenanceRecord = { ...current, startedCounted: true, components: late.components };
    if (next.startedAt === null) next = { ...next, startedAt: draft.t };
    const components = held(draft, undefined, event.components);
    if (next.state === 'finished' && current.since === null) {
      // Finished before we learnt it had started: it held its components after all (every one
      // its events named), from a time known only by created_at, and its end overrides the
      // direct updates before that start.
      const since: Stamp = { at: draft.stamp.at, seq: -1, ...startTie(draft, 'maintenance_started', event.uuid) };
      next = draft.observeMaintenanceDuration({ ...next, since });
      draft.putMaintenance(next);
      lateHeld(draft, current, next, current.components, next.components);
      endAll(draft, draft.ties === 'type' ? late.components : components, event.components, since);
    } else {
      if (next.state === 'finished') next = draft.observeMaintenanceDuration(next);
      draft.putMaintenance(next);
      lateHeld(draft, current, next, current.components, next.components);
      if (next.state === 'finished' && current.since !== null) endAll(draft, late.added, event.components, current.since);
      touchAll(draft, components, event.components);
    }
    return 'stale';
  }

  const components = held(draft, current?.components, event.components);
  const started: MaintenanceRecord = {
    ...newMaintenance(draft, event.uuid),
    ...current,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'in_progress',
    scheduledStart: event.startAt ?? current?.scheduledStart ?? null,
    scheduledEnd: event.endAt ?? current?.scheduledEnd ?? null,
    startedAt: current?.startedAt ?? draft.t,
    components,
    lastEvent: draft.stamp,
    since: current?.since ?? draft.stamp,
    startedCounted: true,
  };
  draft.putMaintenance(started);
  foldedBeforeHeld(draft, current, started, components);
  touchAll(draft, components, event.components);
  return 'applied';
}

function maintenanceFinished(draft: Draft, event: MaintenanceEvent): 'applied' | 'stale' {
  const current = draft.maintenance(event.uuid);
  if (!current?.finishedCounted) draft.count('maintenancesFinished');

  if (current?.state === 'finished') {
    if (!current.finishedCounted) draft.putMaintenance({ ...current, finishedCounted: true });
    touchAll(draft, held(draft, undefined, event.components), event.components);
    return 'stale';
  }

  const components = held(draft, current?.components, event.components);
  const finished = draft.observeMaintenanceDuration({
    ...newMaintenance(draft, event.uuid),
    ...current,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'finished',
    scheduledStart: current?.scheduledStart ?? event.startAt,
    scheduledEnd: current?.scheduledEnd ?? event.endAt,
    finishedAt: draft.t,
    components,
    lastEvent: current && draft.isBefore(current.lastEvent) ? current.lastEvent : draft.stamp,
    finishedCounted: true,
    finishedReceivedAt: draft.receivedAt,
  });
  draft.putMaintenance(finished);
  foldedBeforeHeld(draft, current, finished, components);
  if (current?.state === 'in_progress') {
    endAll(draft, components, event.components, current.since ?? { at: null, seq: -1 });
  } else {
    // Not known to have started: it may never have (a cancelled maintenance), so finishing it
    // overrides nothing. Should its maintenance_started arrive late, that event ends its hold.
    touchAll(draft, components, event.components);
  }
  return 'applied';
}

function newMaintenance(draft: Draft, uuid: string): MaintenanceRecord {
  return {
    statusPage: draft.statusPage,
    uuid,
    title: uuid,
    state: 'scheduled',
    scheduledStart: null,
    scheduledEnd: null,
    startedAt: null,
    finishedAt: null,
    components: [],
    lastEvent: draft.stamp,
    since: null,
    createdCounted: false,
    startedCounted: false,
    finishedCounted: false,
    durationObserved: false,
    finishedReceivedAt: null,
  };
}

/**
 * The tie fields of an incident's or maintenance's start (see Stamp.rank): those of the event
 * that starts it, whichever event brought the start, so that a tie at that time is decided alike
 * whether the start came with its own event or with a later one that arrived first. None when
 * the event's ties go by arrival.
 */
function startTie(draft: Draft, type: 'incident_created' | 'maintenance_started', uuid: string): Pick<Stamp, 'rank' | 'object'> {
  return draft.ties === 'arrival' ? {} : { rank: typeRank(type), object: uuid };
}

/** The stamp of an incident's start: its start_at (if trusted), else the creating event's. */
function startStamp(draft: Draft, uuid: string, startAt: number | null): Stamp {
  return { at: draft.trustedStart(startAt) ?? draft.stamp.at, seq: draft.stamp.seq, ...startTie(draft, 'incident_created', uuid) };
}

function titleOf(sent: string | null, known: string | undefined, uuid: string): string {
  if (sent !== null) return cutLabel(sent);
  return known ?? uuid;
}

/**
 * The components an incident or maintenance holds: the union of what it held and what the event
 * names (the newer entry for a component wins), less the components refused by MAX_COMPONENTS.
 */
function held(draft: Draft, known: ComponentImpact[] | undefined, sent: AffectedComponent[]): ComponentImpact[] {
  const merged = new Map<string, ComponentImpact>();
  for (const component of known ?? []) merged.set(component.uuid, component);
  for (const component of sent) {
    if (draft.admit(component.uuid)) merged.set(component.uuid, { uuid: component.uuid, impact: component.impact });
  }
  return [...merged.values()];
}

/**
 * Shows, for each component an event names or its record holds, what its holders now say.
 * Every event of an incident or maintenance does this, whichever arrives first, so that each
 * order of its events leaves its components the same (known, and at the same impact).
 */
function touchAll(draft: Draft, components: ComponentImpact[], sent: AffectedComponent[]): void {
  for (const component of components) draft.touch(component.uuid, nameOf(sent, component.uuid));
}

/**
 * The components of an incident or maintenance with those a superseded (stale) event of it names
 * that it does not hold: its components may be edited while it runs, so an earlier event may name
 * more than the later ones that arrived first, and in created_at order it held those from its
 * start. Its own entries win (the late event's are older). `added` are the ones it did not hold.
 */
function lateComponents(draft: Draft, known: ComponentImpact[], sent: AffectedComponent[]): { components: ComponentImpact[]; added: ComponentImpact[] } {
  // A log entry of format 1 (ties by arrival) is folded as the release that appended it did,
  // which held none of these: replicas of both fold the same entries during a rolling upgrade,
  // and an upgrade serves what was served.
  if (draft.ties === 'arrival') return { components: known, added: [] };
  const have = new Set(known.map((component) => component.uuid));
  const added: ComponentImpact[] = [];
  for (const component of sent) {
    if (have.has(component.uuid) || !draft.admit(component.uuid)) continue;
    have.add(component.uuid);
    added.push({ uuid: component.uuid, impact: component.impact });
  }
  return { components: added.length === 0 ? known : [...known, ...added], added };
}

/**
 * Ends the hold of an incident or maintenance that began at `since` on each of its components;
 * `replaces`: the later start its end ended them from before (Draft.end).
 */
function endAll(draft: Draft, components: ComponentImpact[], sent: AffectedComponent[], since: Stamp, replaces?: Stamp): void {
  for (const component of components) draft.end(component.uuid, nameOf(sent, component.uuid), since, replaces);
}

/**
 * The name an event gives a component: its last entry's, as a map of the entries would keep it.
 * Looked up in the list (a map made once per long list), not in a map of names made per call:
 * a replay of a component's evidence made one for every event it folded.
 */
const nameOf = (sent: AffectedComponent[], uuid: string): string | null => lastEntryOf(sent, uuid)?.name ?? null;

/**
 * Whether the first event changing a component, older than its ledger's start, restarts the
 * ledger there (issue 20): when the ledger holds only an assumption, its first point
 * (operational, from a declaration of the status pages file, or a scheduled maintenance naming
 * it) and nothing booked since, and nothing else set the component (no `direct`, nothing
 * `cleared`, no holder). Then the event is booked as if it had arrived first, which the
 * assumption would not have changed: the component is known from the event's created_at, in its
 * impact, and the events after it (a backlog delivered late, a replay, an incident's finish)
 * book from their times, not from the assumption's.
 */
function restartsLedger(state: State, statusPage: string, uuid: string, at: number): boolean {
  const entry = ledgerOf(state.ledger, statusPage, uuid);
  if (!entry || toMs(at) >= entry.sinceMs || entry.changes.ms.length !== 1 || entry.totals.size !== 0 || entry.impact !== OPERATIONAL) return false;
  // Only a declaration's assumption: a component an event made known keeps that event as
  // evidence, which re-books an older event where it falls (see ledger-evidence.ts).
  if (entry.evidence !== undefined && (entry.evidence.base !== null || entry.evidence.events.length > 0)) return false;
  const page = state.pages.get(statusPage);
  const component = page?.components.get(uuid);
  if (component && (component.direct !== null || component.cleared !== null)) return false;
  return !page?.holders.has(uuid);
}
