import type { StatusMateEvent } from './event.js';
import { internImpact } from './impact.js';
import type { FoldRules } from './fold-rules.js';
import { typeRank } from './order.js';
import {
  DAY_MS,
  evidenceWeight,
  forgetEvidenceDownTo,
  LEDGER_KEEP_EVIDENCE,
  LEDGER_MAX_EVIDENCE,
  LEDGER_MAX_EVIDENCE_WEIGHT,
  ledgerOf,
  rebookFrom,
  setEvidence,
  toMs,
  type Evidence,
  type EvidenceBase,
  type EvidenceEvent,
} from './ledger.js';
import { entriesOf, firstEntryOf, lastEntryOf } from './component-lookup.js';
import { DEFAULT_LIMITS, reduce, type Limits } from './reducer.js';
import { RELIEF } from './size.js';
import {
  applyPatch,
  createState,
  emptyPatch,
  type ComponentImpact,
  type ComponentRecord,
  type Holder,
  type IncidentRecord,
  type MaintenanceRecord,
  type Patch,
  type State,
} from './state.js';

// Why the ledger needs more than the state keeps (issue 20). A component's impact at a time is
// what the state would show had it folded exactly the events up to that time: the events known
// about the component then, combined by the state's own rule (Draft.derive: its direct update,
// the incidents and maintenances holding it, what an ended one cleared). Folded in created_at
// order, each event books its change at its time and the ledger is that timeline. Folded in
// another order, an event that arrives after later ones (late) changes the timeline from its
// time on, in a way that depends on events the state no longer keeps (finished holders, older
// direct updates). So each component's ledger keeps its evidence: the events known about it,
// each cut to what it says of that component, with trusted created_at, in created_at order
// (equal ones in the order folded, as in the state), after a base (the component's records at
// the time of the oldest events folded away). A late event is inserted where its time falls, and
// the evidence replayed through the reducer itself, into a scratch state that holds that one
// component: the replay's change points from the late event's time on replace the ledger's, and
// the totals and days move by the difference (rebookFrom). A late first event of an incident or
// maintenance may add a component to its record that its later events, folded first, did not
// name: that component's evidence then lacks them, so the late event first brings the events they
// would have left there in created_at order (the patch's `late`: lateHeld in held-evidence.ts). So too
// for any event that adds a component to its object's record (a finish naming more than its
// create, whatever their times): the object's events folded before it did not name the component,
// and without them a later-arriving older event of another object replays to another state than
// the fold's (rules foldedBeforeHeld: foldedBeforeHeld in held-evidence.ts).
//
// The replay must end where the state is: its component record (impact, direct update, what was
// cleared) and its holders must be the state's. When not (events the evidence does not hold:
// an operator's forget, a finished incident pruned from the state before a late event of it, or
// two updates of one component in a second, which the state decides by arrival), nothing is re-booked and the evidence restarts from
// the state as it is now, like after an event without a trusted created_at (whose place in time
// the ledger does not know): later events are placed after it. An event at or before the base's
// time, or before the kept days, is booked as it arrives (never before the open interval, as
// bookImpact does), and restarts the evidence too.

const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * The reducer's limits for a replay: its scratch state holds one component, which none of them
 * bounds. Made at the first replay (frozen: the reducer only reads its limits), not per replay: a
 * component's evidence is replayed every few of its events (foldOldest). Not at load: this module
 * and the reducer's import each other, and DEFAULT_LIMITS may not be there yet.
 */
let replayLimits: Readonly<Limits> | undefined;
const limitsForReplay = (): Readonly<Limits> =>
  (replayLimits ??= Object.freeze({
    ...DEFAULT_LIMITS,
    maxComponents: UNBOUNDED,
    maxActiveIncidents: UNBOUNDED,
    maxActiveMaintenances: UNBOUNDED,
    maxStatusPages: UNBOUNDED,
    maxHoldings: UNBOUNDED,
    maxRetainedFinished: UNBOUNDED,
    maxDedupRecords: UNBOUNDED,
  }));

/**
 * Keeps the evidence of the components a folded patch concerns, and re-books a late event's
 * (applyPatch calls it last, with the state the patch made). A patch with `ledgerEvent` (the
 * reducer's) concerns the component an update names, or the components an incident or
 * maintenance event names or its record holds; one without (an operator's forget) restarts the
 * evidence of the components it changed.
 */
export function applyEvidence(state: State, patch: Patch): void {
  keepEvidence(state, patch);
  // Only a folded patch (one with a log time) forgets, so that every process forgets at the same
  // entry: not the records one process merely holds (its declared pages), applied when it loads a
  // snapshot, which an earlier version may have written past the bound.
  if (patch.ledgerAt === undefined) return;
  const ledger = state.ledger;
  if (ledger.evidenceWeight > LEDGER_MAX_EVIDENCE_WEIGHT) forgetEvidenceDownTo(ledger, Math.floor(LEDGER_MAX_EVIDENCE_WEIGHT * RELIEF));
}

function keepEvidence(state: State, patch: Patch): void {
  const folded = patch.ledgerEvent;
  if (!folded) {
    if (patch.ledgerAt !== undefined) for (const c of patch.components) restart(state, c.statusPage, c.uuid, patch.ledgerAt);
    return;
  }
  const { event, at, rules, late } = folded;
  const t = patch.ledgerAt ?? at ?? 0;
  for (const uuid of concerned(state, patch, event)) {
    const entry = ledgerOf(state.ledger, event.statusPage, uuid);
    const evidence = entry?.evidence;
    if (!entry) continue;
    if (at === null || !evidence || (evidence.fromAt !== null && at <= evidence.fromAt) || toMs(at) < state.ledger.keptFromDay * DAY_MS) {
      restart(state, event.statusPage, uuid, t);
      continue;
    }
    // A component the event adds to its object's record: first what the object's other events,
    // folded before it, would have left here in created_at order (lateHeld, foldedBeforeHeld in held-evidence.ts).
    const known = late?.components.includes(uuid) === true ? late.events.reduce(insertHeld, evidence.events) : evidence.events;
    const last = known.at(-1);
    const item = evidenceOf(event, uuid, at, last?.name ?? null);
    if (known === evidence.events && evidence instanceof HeldEvidence && (last === undefined || compareEvidence(last, item) <= 0)) {
      // In order (nearly every event): appended where it stands, and the oldest folded there too
      // (see HeldEvidence). A copy per event made the evidence's arrays and records live just long
      // enough to reach the old generation, and die there.
      const before = evidenceWeight(evidence);
      evidence.events.push(item);
      if (evidence.events.length > LEDGER_MAX_EVIDENCE) foldOldest(event.statusPage, uuid, evidence, rules);
      state.ledger.evidenceWeight += evidenceWeight(evidence) - before;
      continue;
    }
    const events = insertEvidence(known, item);
    const next = new HeldEvidence(evidence.fromAt, evidence.base, events);
    if (events.at(-1) !== item) {
      // Late: the timeline from its time on is the replay's.
      const points: [number, string][] = [];
      const replayed = replay(event.statusPage, uuid, next.base, next.events, next.events.length, rules, points);
      if (!sameComponent(state, replayed, event.statusPage, uuid)) {
        restart(state, event.statusPage, uuid, t);
        continue;
      }
      rebookFrom(state.ledger, event.statusPage, uuid, toMs(at), points, next.base === null);
      lastChangeFromLedger(state, event.statusPage, uuid, next, rules.lateKeepsEarlierLastChange ? toMs(at) : undefined);
    }
    if (next.events.length > LEDGER_MAX_EVIDENCE) foldOldest(event.statusPage, uuid, next, rules);
    setEvidence(state.ledger, event.statusPage, uuid, next);
  }
}

/**
 * Evidence this module made, with an events array of its own: set on one ledger entry alone
 * (setEvidence; cloneLedger copies it), and read only while the fold, its one writer, waits (a
 * snapshot is written between entries). So an event in order is appended to it in place, and its
 * oldest folded into its base in place, instead of copying its events and records at every event
 * naming the component. Evidence made elsewhere (read from a snapshot, NO_EVIDENCE, shared by
 * every new entry) is copied into one of these at its component's next event.
 */
class HeldEvidence implements Evidence {
  constructor(
    public fromAt: number | null,
    public base: EvidenceBase | null,
    public events: EvidenceEvent[],
  ) {}
}

/** `events` with `item` inserted where compareEvidence places it (after equal ones). */
function insertEvidence(events: readonly EvidenceEvent[], item: EvidenceEvent): EvidenceEvent[] {
  let index = events.length;
  while (index > 0 && compareEvidence(events[index - 1] as EvidenceEvent, item) > 0) index -= 1;
  // One copy of exactly the new length (nearly always appending: events mostly arrive in order).
  // Copying, then splicing in, grew the copy's store once more and made a removed-items array.
  // (`item` is a plain record, not an array: concat appends it as one element.)
  return index === events.length ? events.concat(item) : events.slice(0, index).concat(item, events.slice(index));
}

/** `events` with a later event of the object inserted, unless they hold it already. */
const insertHeld = (events: readonly EvidenceEvent[], item: EvidenceEvent): readonly EvidenceEvent[] =>
  events.some((e) => compareEvidence(e, item) === 0) ? events : insertEvidence(events, item);

/**
 * After a late event re-booked a component: its last change is the ledger's last change point
 * that changed its impact. The record's own `changedAt` moves only when an event changes the
 * impact as it arrives, which a late one (a `maintenance_started` after its finish, an incident
 * before a later update) does not: the time would depend on the order of arrival. When the
 * points hold no change and reach back to the component's first event (`evidence` complete from
 * it), its impact never changed since that event made it known: the time it became known, as in
 * created_at order (an update older than an incident's finish, arriving after it, set the time
 * to its own as it changed the impact back). Unchanged otherwise (the last change is older than
 * the kept points, or the component was declared before its first event), and, under rules
 * lateKeepsEarlierLastChange (`lateMs`: the late event's time), when both the record's last change
 * and the ledger's are older than the late event.
 */
function lastChangeFromLedger(state: State, statusPage: string, uuid: string, evidence: Evidence, lateMs: number | undefined): void {
  const page = state.pages.get(statusPage);
  const record = page?.components.get(uuid);
  const entry = ledgerOf(state.ledger, statusPage, uuid);
  if (!page || !record || !entry) return;
  const changes = entry.changes;
  // Both older than the late event, which re-booked only from its time on: it moved neither
  // (rules lateKeepsEarlierLastChange). The ledger's may differ from the record's when the change
  // was older than the open interval it was booked at (bookImpact never books before it).
  const kept = (at: number) => lateMs !== undefined && toMs(at) < lateMs && toMs(record.changedAt) < lateMs;
  // A new record, so that what caches a component's lines by its record sees the change.
  const set = (at: number) => {
    if (at !== record.changedAt && !kept(at)) page.components.set(uuid, { ...record, changedAt: at });
  };
  for (let i = changes.ms.length - 1; i > 0; i -= 1) {
    if (changes.impacts[i] === changes.impacts[i - 1]) continue;
    set((changes.ms[i] as number) / 1000);
    return;
  }
  // The first event kept may be older than the component: one of an incident or maintenance
  // whose record held the component only after a later event of it had arrived (a finish naming
  // a component its create did not, the create arriving late) joins the evidence without naming
  // it. The component became known at sinceMs all the same, by an event the evidence holds.
  const first = evidence.events[0];
  if (evidence.base === null && first && toMs(first.at) <= entry.sinceMs && changes.ms[0] === entry.sinceMs) set(entry.sinceMs / 1000);
}

/** The components an event concerns: the one an update names; those an incident or maintenance event names or its record holds. Known ones only. */
function concerned(state: State, patch: Patch, event: StatusMateEvent): string[] {
  const known = state.pages.get(event.statusPage)?.components;
  if (!known) return [];
  if (event.type === 'component_impact_updated') return known.has(event.uuid) ? [event.uuid] : [];
  const records: { uuid: string; components: ComponentImpact[] }[] = event.type.startsWith('incident') ? patch.incidents : patch.maintenances;
  // Each uuid once, in the order first named (the event's, then its record's), known ones only.
  const uuids = new Set<string>();
  const out: string[] = [];
  const add = (uuid: string) => {
    if (uuids.has(uuid)) return;
    uuids.add(uuid);
    if (known.has(uuid)) out.push(uuid);
  };
  for (const c of event.components) add(c.uuid);
  for (const record of records) if (record.uuid === event.uuid) for (const c of record.components) add(c.uuid);
  return out;
}

const byText = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : a > b ? 1 : 0);

/**
 * The order of a component's evidence: by created_at, then (equal times) by data alone, so that
 * it is the same whatever order they arrived in: the event's type (EVENT_TYPES' order), its
 * incident's or maintenance's uuid, the impact, the name.
 */
export function compareEvidence(a: EvidenceEvent, b: EvidenceEvent): number {
  return (
    a.at - b.at ||
    typeRank(a.type) - typeRank(b.type) ||
    byText(a.object, b.object) ||
    byText(a.impact, b.impact) ||
    byText(a.name, b.name) ||
    Number(a.named) - Number(b.named)
  );
}

/**
 * What `event` says of component `uuid`. A name equal to the one the component's evidence last
 * kept (`known`) is that very string: each webhook's body brings its own copy, up to 200
 * characters, and a component's evidence repeats its name in up to LEDGER_MAX_EVIDENCE events.
 */
function evidenceOf(event: StatusMateEvent, uuid: string, at: number, known: string | null): EvidenceEvent {
  const shared = (name: string | null) => (name !== null && name === known ? known : name);
  if (event.type === 'component_impact_updated') {
    return { at, type: event.type, object: '', named: true, name: shared(event.name), impact: internImpact(event.impact), startAt: null, endAt: null };
  }
  const entry = firstEntryOf(event.components, uuid);
  return {
    at,
    type: event.type,
    object: event.uuid,
    named: entry !== undefined,
    name: shared(entry?.name ?? null),
    impact: entry === undefined || entry.impact === null ? null : internImpact(entry.impact),
    startAt: event.startAt,
    endAt: event.endAt,
  };
}

/** The event an evidence event stands for, cut to its component. */
function eventOf(statusPage: string, uuid: string, e: EvidenceEvent): StatusMateEvent {
  // Literals, not a spread of common fields: a replay makes one per event it folds.
  if (e.type === 'component_impact_updated') {
    return { statusPage, createdAt: e.at, deliveryAttempt: 0, type: e.type, uuid, name: e.name, impact: e.impact ?? '' };
  }
  const components = e.named ? [{ uuid, name: e.name, impact: e.impact }] : [];
  return { statusPage, createdAt: e.at, deliveryAttempt: 0, type: e.type, uuid: e.object, title: null, startAt: e.startAt, endAt: e.endAt, components };
}

/**
 * A scratch state holding `base`. A new one for each replay, not one emptied each time: the one
 * kept lived in the old generation, and every record a replay put in its maps was then a pointer
 * from old to young for the collector to track (measured: the fold 10 % slower in process).
 */
function scratchOf(base: EvidenceBase | null): State {
  const state = createState();
  if (!base) return state;
  const patch = emptyPatch();
  patch.components = [base.component];
  patch.incidents = base.incidents;
  patch.maintenances = base.maintenances;
  applyPatch(state, patch);
  return state;
}

/**
 * Folds the first `count` of `events` onto `base` through the reducer; answers the scratch state,
 * and pushes onto `points` (when given) the component's change points (one at each event that changed its
 * record, as bookImpact books them when events arrive in order). Every created_at counts as trusted: each was when its event was folded.
 * `rules` are the folded entry's (fold-rules.ts): a log entry of an earlier release is replayed
 * as that release replayed it, so that an upgrade books what it booked.
 */
function replay(
  statusPage: string,
  uuid: string,
  base: EvidenceBase | null,
  events: readonly EvidenceEvent[],
  count: number,
  rules: FoldRules,
  points: [number, string][] | undefined,
): State {
  const state = scratchOf(base);
  const receivedAt = count > 0 ? (events[count - 1] as EvidenceEvent).at : 0;
  const limits = limitsForReplay();
  for (let i = 0; i < count; i += 1) {
    const e = events[i] as EvidenceEvent;
    // One dedup key for all: a replayed event is a first delivery (eventOf: attempt 0), which the
    // reducer never looks up, and the replay's limits forget no dedup record; a key per event
    // made a string and grew the scratch state's map, for nothing.
    const { patch } = reduce(state, eventOf(statusPage, uuid, e), REPLAY_DEDUP_KEY, receivedAt, limits, rules);
    if (points !== undefined) {
      const record = recordOf(patch.components, uuid);
      if (record) points.push([toMs(e.at), record.impact]);
    }
    // The scratch state books nothing and keeps no evidence (unset, not deleted: a delete turns the patch into a slow dictionary object).
    patch.ledgerAt = undefined;
    patch.ledgerEvent = undefined;
    applyPatch(state, patch);
  }
  return state;
}

const REPLAY_DEDUP_KEY = 'evidence';

/** The record of component `uuid` among a patch's (a loop, not find: no closure per replayed event). */
function recordOf(components: readonly ComponentRecord[], uuid: string): ComponentRecord | undefined {
  for (let i = 0; i < components.length; i += 1) if ((components[i] as ComponentRecord).uuid === uuid) return components[i];
  return undefined;
}

/**
 * Whether the replay ends where the state is: the same record (impact, direct update, clearing)
 * and holders (each as the text `key=impact@time`, compared as sorted lists). Compared field by
 * field, as their JSON texts compare (null and non-finite numbers alike), without making those
 * texts on every late event; holders that differ there are compared as those texts (holderTexts):
 * a key and an impact holding `=`, or two NaN times, could make them equal still.
 */
function sameComponent(state: State, replayed: State, statusPage: string, uuid: string): boolean {
  const page = state.pages.get(statusPage);
  const other = replayed.pages.get(statusPage);
  const want = page?.components.get(uuid);
  const got = other?.components.get(uuid);
  if (!want || !got) return false;
  if (
    got.impact !== want.impact ||
    (got.direct?.impact ?? null) !== (want.direct?.impact ?? null) ||
    !sameJsonNumber(got.direct?.stamp.at ?? null, want.direct?.stamp.at ?? null) ||
    !sameJsonNumber(got.cleared?.at ?? null, want.cleared?.at ?? null)
  ) {
    return false;
  }
  const holders = page?.holders.get(uuid);
  const replayedHolders = other?.holders.get(uuid);
  if ((holders?.size ?? 0) !== (replayedHolders?.size ?? 0)) return false;
  for (const [key, holder] of holders ?? []) {
    const twin = replayedHolders?.get(key);
    if (!twin || (twin.impact ?? '') !== (holder.impact ?? '') || twin.stamp.at !== holder.stamp.at) {
      const want = holderTexts(holders);
      const have = holderTexts(replayedHolders);
      return want.every((text, i) => text === have[i]);
    }
  }
  return true;
}

const holderText = (key: string, holder: Holder): string => `${key}=${holder.impact ?? ''}@${holder.stamp.at ?? ''}`;
const holderTexts = (holders: ReadonlyMap<string, Holder> | undefined): string[] => [...(holders ?? [])].map(([key, holder]) => holderText(key, holder)).sort();

/** Whether two times write the same JSON: equal, or both null or not finite (JSON writes those as null). */
const sameJsonNumber = (a: number | null, b: number | null): boolean => a === b || ((a === null || !Number.isFinite(a)) && (b === null || !Number.isFinite(b)));

/**
 * The component's records in `state`: its own, and the unfinished incidents and maintenances
 * naming it, their lists cut to it, each list sorted by uuid (data, not the order a Map was
 * filled in, which differs between a process that folded and one that loaded a snapshot).
 * The active incidents naming it are its incident holders (the page's index): a base costs what
 * concerns the component, not a walk over the page's active incidents, which an event naming
 * five components paid five times.
 */
function baseOf(state: State, statusPage: string, uuid: string): EvidenceBase | null {
  const page = state.pages.get(statusPage);
  const component = page?.components.get(uuid);
  if (!page || !component) return null;
  // A record naming this component alone (a replay's scratch record: its events were cut to it) is its own cut.
  const cut = <R extends { components: ComponentImpact[] }>(record: R): R => {
    const components = entriesOf(record.components, uuid) ?? [];
    return components.length === record.components.length ? record : { ...record, components };
  };
  const incidents: IncidentRecord[] = [];
  for (const holder of page.holders.get(uuid)?.values() ?? []) {
    const incident = holder.kind === 'incident' ? page.activeIncidents.get(holder.uuid) : undefined;
    if (incident) incidents.push(cut(incident));
  }
  // Scheduled maintenances hold nothing yet, so the index does not list them: these are walked (few).
  const maintenances: MaintenanceRecord[] = [];
  for (const maintenance of page.unfinishedMaintenances.values())
    if (lastEntryOf(maintenance.components, uuid) !== undefined) maintenances.push(cut(maintenance));
  return { component, incidents: incidents.sort(byRecordUuid), maintenances: maintenances.sort(byRecordUuid) };
}

const byRecordUuid = (a: { uuid: string }, b: { uuid: string }) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);

/**
 * Starts a component's evidence again from the state as it is, at the latest time it knows of
 * (an event from then on is placed after everything the state holds), or forgets it when the
 * state does not hold the component.
 */
function restart(state: State, statusPage: string, uuid: string, t: number): void {
  const entry = ledgerOf(state.ledger, statusPage, uuid);
  if (!entry) return;
  const base = baseOf(state, statusPage, uuid);
  if (!base) {
    setEvidence(state.ledger, statusPage, uuid, undefined);
    return;
  }
  const latest = Math.max(t, entry.openMs / 1000, entry.evidence?.fromAt ?? -Infinity, entry.evidence?.events.at(-1)?.at ?? -Infinity);
  setEvidence(state.ledger, statusPage, uuid, new HeldEvidence(latest, base, []));
}

/** Folds the evidence's oldest events into its base, down to LEDGER_KEEP_EVIDENCE, in place (see HeldEvidence). */
function foldOldest(statusPage: string, uuid: string, evidence: HeldEvidence, rules: FoldRules): void {
  const events = evidence.events;
  const cut = events.length - LEDGER_KEEP_EVIDENCE;
  // Only the state it ends in: no change points (the ledger booked these events already).
  const state = replay(statusPage, uuid, evidence.base, events, cut, rules, undefined);
  const base = baseOf(state, statusPage, uuid);
  // A component the folded events do not make known cannot be: they name it.
  if (!base) return;
  evidence.fromAt = (events[cut - 1] as EvidenceEvent).at;
  evidence.base = base;
  events.copyWithin(0, cut);
  events.length -= cut;
}
