import type { EventType } from './event.js';
import { internImpact, isKnownImpact, OPERATIONAL } from './impact.js';
import type { ComponentRecord, IncidentRecord, MaintenanceRecord, Patch } from './state.js';

// The availability ledger (issue 20): for every component, the time it spent in each impact since
// the exporter first knew it, as totals (the counter statusmate_component_impact_seconds_total)
// and per UTC day (the availability API, the landing page's bars).
//
// It is folded like the rest of the state, so every process that folds the same log holds the
// same ledger. Each component keeps its change points (time, impact), and its totals and days are
// what those points say. A reducer's patch adds one at the event's time (its trusted created_at,
// else the entry's log time: the reducer's `t`) in the impact the state now shows; it never runs
// before the open interval, whose impact must stay the state's, so one with an earlier time opens
// the new interval at the open interval's start (bookImpact). An event that arrives after later
// ones of the same component (late) is then re-booked where its time falls (below).
//
// The rule: a component's impact at time τ is the impact the state would show having folded
// exactly the events with created_at up to τ (Draft.derive combining its direct update, the
// incidents and maintenances holding it, what an ended one cleared). Folded in created_at order,
// bookImpact books exactly that. For any other order, each component keeps its evidence (the
// events about it, cut to it, in created_at order, after a base of its records: see
// ledger-evidence.ts); a late event is inserted at its time, the evidence replayed through the
// reducer, and the ledger re-booked from that time by the replay's change points (rebookFrom).
//
// What holds whatever the order of arrival (issue 20): for every component (updated directly,
// held by incidents and maintenances, or both), when every event about it carries a trusted
// created_at, every order of arrival gives the same ledger (totals, days, first known, change
// points, evidence), the one their times say, provided the state itself ends the same in every
// order (it does for histories as StatusMate sends them: one lifecycle per incident and
// maintenance, whose events name the same components, incidents with their start_at; see
// test/domain/properties.test.ts and ledger-holds.test.ts), and when the later events of one name
// fewer components than its first, arriving before it (its components edited while it ran: the
// totals, days and change points are created_at order's; the evidence keeps the record's start
// and end for the later events; ledger-late-added.test.ts), or more, whatever their times (the
// evidence of a component a later event names first keeps the object's events folded before it:
// rules foldedBeforeHeld; ledger-late-added.test.ts). Equal created_at are ordered by data
// alone (type, then incident's or maintenance's uuid, impact, name: compareEvidence), not by
// arrival, as the state orders them too (type, then uuid: order.ts; ledger-ties.test.ts); where
// the state decides a tie the replay orders by more (two updates of one component in a second,
// by arrival) and ends elsewhere, the check below applies. In every case the open interval is in
// the impact the state shows.
//
// What does not (the bounds, and what the evidence cannot know):
// - an event older than the evidence kept (LEDGER_MAX_EVIDENCE events a component, the oldest
//   folded into its base past it), or than the kept days, or than the oldest change point kept
//   (LEDGER_MAX_CHANGES), is booked as it arrives: at the open interval's start;
// - an event late for a component whose evidence was forgotten (past LEDGER_MAX_EVIDENCE_WEIGHT,
//   the components quiet for longest lose theirs) is booked as it arrives, and its evidence
//   starts again from the state;
// - an event without a trusted created_at has no place in time: booked at its log time (or the
//   open interval's start), and the component's evidence restarts from the state as it is, so
//   later events with earlier created_at are booked as they arrive too;
// - a replay that does not end where the state is (record, holders): an operator's forget, a
//   finished incident the state pruned before a late event of it, two updates of one component
//   in one second the state decides by arrival. Then the late event is booked as it arrives and
//   the evidence restarts from the state. (An incident first seen finished without start_at is
//   not one: its late created brings the start, and the state clears from it as when the
//   created came first.)
// For those, the split between impacts is exact when events arrive in the order they happened,
// and otherwise depends on that order; each component is still counted without gap or overlap
// from when it was first known, in the impact the state shows.
//
// Re-booking moves time from one impact's total to another's: the counter of the impact a late
// event displaces goes down (Prometheus reads a counter reset there). It happens only when an
// event arrives after a later one about the same component.
//
// Times are kept in integer milliseconds, so the days of a component add up to its totals
// exactly. The open interval (the current impact, since `openMs`) is not booked: readers add it
// up to their own `now`, and a scrape never mutates the state.
//
// Representation: per component one small record, and its days as one Uint32Array of rows of
// STRIDE numbers (the day, then milliseconds in each non-operational slot). A day the component
// spent wholly operational has no row: its operational time is what the day covered less the
// other slots. A row costs 24 bytes; 400 days of 10,000 components that are never operational
// would be 96 MB, the realistic few outage days a fraction of that (see bench/README.md). The
// change points are an array of times (plain numbers, which V8 keeps unboxed, 8 bytes each) and an
// array of interned impacts: about 12 bytes a point, at most LEDGER_MAX_CHANGES a component. Not
// a Float64Array: the same numbers, but one took 410-540 ns to make against 80-90 ns for an array,
// and every booking makes one. The evidence is at most LEDGER_MAX_EVIDENCE small
// records a component (250-450 bytes of heap each, with its name), and a base of its records once
// past it (the component's, and the unfinished incidents and maintenances naming it, their lists
// cut to it); over all components it weighs at most LEDGER_MAX_EVIDENCE_WEIGHT, past which the
// evidence of the components quiet for longest goes.

export const DAY_MS = 86_400_000;
export const DAY_SECONDS = 86_400;

/** The impacts a day row keeps, by slot (operational is implicit; unknown impacts share the last slot). */
export const LEDGER_SLOTS = ['under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage', 'other'] as const;
export type LedgerSlot = (typeof LEDGER_SLOTS)[number];
/** Numbers per day row: the day (days since 1970-01-01, UTC), then one per slot. */
export const STRIDE = 1 + LEDGER_SLOTS.length;

const EMPTY_DAYS = new Uint32Array(0);

/**
 * A component's change points: from `ms[i]` on, it is in `impacts[i]` (until the next one).
 * Two arrays rather than an array of pairs: about 12 bytes a point instead of about 48.
 */
export type Changes = { readonly ms: readonly number[]; readonly impacts: readonly string[] };

/**
 * Change points a component keeps at most (besides dropping those before the kept days): past it
 * the oldest go, and an event older than the oldest kept one books nothing. 32 points cost about
 * 400 bytes (4 MB at 10,000 components, beside the day rows' bound); late events are late by
 * minutes, not by 32 changes of their component.
 */
export const LEDGER_MAX_CHANGES = 32;

const intern = internImpact;

export function changesFrom(points: readonly (readonly [number, string])[]): Changes {
  return { ms: points.map(([ms]) => ms), impacts: points.map(([, impact]) => intern(impact)) };
}

/**
 * `changes` with [at, impact] appended, within bounds as keepChanges keeps them: one copy of each
 * array per booking (appending, then cutting the oldest, copied them twice).
 */
function appendChange(changes: Changes, at: number, impact: string, keptFromDay: number): Changes {
  const kept = changes.ms.length;
  const count = kept + 1;
  const from = keptFromDay * DAY_MS;
  const msAt = (index: number) => (index < kept ? (changes.ms[index] as number) : at);
  let start = 0;
  while (start + 1 < count && msAt(start + 1) <= from) start += 1;
  start = Math.max(start, count - LEDGER_MAX_CHANGES);
  // concat makes each list at its length; a slice then a push grew it once more.
  const ms = (start === 0 ? changes.ms : changes.ms.slice(start)).concat(at);
  const impacts = (start === 0 ? changes.impacts : changes.impacts.slice(start)).concat(intern(impact));
  return { ms, impacts };
}

export type ComponentLedger = {
  /** When the component was first known (ms). */
  sinceMs: number;
  /** The impact of the open interval. */
  impact: string;
  /** When the open interval began (ms): everything before it is booked. */
  openMs: number;
  /** Booked milliseconds per impact, unknown ones as `other` (totalKeyOf), the open interval excluded. Never pruned: a counter. */
  totals: ReadonlyMap<string, number>;
  /** Day rows, sorted by day, STRIDE numbers each. Never mutated: a booking makes a new array. */
  days: Uint32Array;
  /**
   * The change points booked, sorted by time (equal times in the evidence's order, or folded: the
   * last counts); the last is the open interval's [openMs, impact]. Kept for the kept days (and the one
   * before them, which says the impact they begin in), at most LEDGER_MAX_CHANGES. When the first
   * is later than `sinceMs`, older ones were dropped and nothing before the first can be re-booked.
   */
  changes: Changes;
  /**
   * The events known about the component, for re-booking a late one (see ledger-evidence.ts);
   * undefined when not known (a snapshot written before evidence, a component declared before
   * any event): the next event starts it from the state as it then is.
   */
  evidence?: Evidence | undefined;
};

/**
 * One event as a component's evidence keeps it: what it says of that component alone (an
 * incident's or maintenance's other components do not change this one's impact).
 */
export type EvidenceEvent = {
  /** Its trusted created_at (seconds). */
  readonly at: number;
  readonly type: EventType;
  /** The incident's or maintenance's uuid; '' for a component_impact_updated. */
  readonly object: string;
  /** Whether the event names the component (an incident's or maintenance's may hold it through its record only). */
  readonly named: boolean;
  readonly name: string | null;
  /** The update's impact, or the incident's or maintenance's entry for the component (null: none sent). */
  readonly impact: string | null;
  readonly startAt: number | null;
  readonly endAt: number | null;
};

/** The state's records of one component as of `Evidence.fromAt`: its own, and the unfinished incidents and maintenances naming it (their lists cut to it). */
export type EvidenceBase = { component: ComponentRecord; incidents: IncidentRecord[]; maintenances: MaintenanceRecord[] };

/**
 * What a component's impact over time is a function of: `base` (the state of it at `fromAt`),
 * then `events` in created_at order (equal ones in the order folded). `fromAt` null (and `base`
 * null): the events are every event known about the component, from the first. At most
 * LEDGER_MAX_EVIDENCE events: past it the oldest are folded into `base`.
 */
export type Evidence = { readonly fromAt: number | null; readonly base: EvidenceBase | null; readonly events: readonly EvidenceEvent[] };

/** The evidence of a component first known by an event with a trusted created_at: nothing before it. */
export const NO_EVIDENCE: Evidence = { fromAt: null, base: null, events: [] };

/**
 * Events a component's evidence keeps at most: past it, the oldest are folded into its base down
 * to LEDGER_KEEP_EVIDENCE (in one go, so that not every event pays a fold), and an event older
 * than the base books as it arrives. As many as the change points a late event needs.
 */
export const LEDGER_MAX_EVIDENCE = LEDGER_MAX_CHANGES;
export const LEDGER_KEEP_EVIDENCE = 24;

/**
 * What the evidence of all components may weigh (evidenceWeight: events and base records);
 * past it, the evidence of the components quiet for longest goes, down to RELIEF of it
 * (forgetEvidenceDownTo). An evidence event costs about 230 bytes of heap (a component's name,
 * up to 200 characters, is kept once for all its events), so this is about 11 MiB, where 10,000
 * components at LEDGER_MAX_EVIDENCE each took 90-130 MiB and a 42-89 MB snapshot: past the
 * chart's memory limit.
 */
export const LEDGER_MAX_EVIDENCE_WEIGHT = 50_000;

/**
 * An incident or a started maintenance as the availability report lists it: kept with the days
 * (until its end is older than the kept days), where the state forgets finished ones after
 * FINISHED_RETENTION_SECONDS. Times in seconds; `end` null while it goes on.
 */
export type LedgerTouch = {
  kind: 'incident' | 'maintenance';
  uuid: string;
  title: string;
  start: number | null;
  end: number | null;
  components: readonly string[];
};

/** What the touches may weigh at most (each 1 + its components); past it, the oldest finished go, down to RELIEF. */
export const MAX_TOUCH_WEIGHT = 100_000;
const TOUCH_RELIEF = 0.9;

export type Ledger = {
  /**
   * Status page → component uuid → its ledger. Records are replaced, never mutated, but for their
   * evidence, which the fold updates in place (HeldEvidence in ledger-evidence.ts).
   */
  pages: Map<string, Map<string, ComponentLedger>>;
  /** The first day kept: older days were pruned (LEDGER_RETENTION_DAYS), and no longer count as covered. */
  keptFromDay: number;
  /** Status page → `kind:uuid` → the incidents and started maintenances of the kept days. */
  touches: Map<string, Map<string, LedgerTouch>>;
  /** Σ (1 + components) over the touches. */
  touchWeight: number;
  /** Σ evidenceWeight over the components' evidence, kept within LEDGER_MAX_EVIDENCE_WEIGHT by the fold. */
  evidenceWeight: number;
  /** Σ day rows over the components (putEntry keeps it), held within LEDGER_MAX_DAY_ROWS after every event by the fold. */
  dayRows: number;
};

export function createLedger(): Ledger {
  return { pages: new Map(), keptFromDay: 0, touches: new Map(), touchWeight: 0, evidenceWeight: 0, dayRows: 0 };
}

/**
 * A copy whose maps two owners can change independently (records are shared, but for the
 * evidence, which the fold updates in place: each copy has its own).
 */
export function cloneLedger(ledger: Ledger): Ledger {
  const copy = (entry: ComponentLedger): ComponentLedger => {
    const evidence = entry.evidence;
    return evidence ? { ...entry, evidence: { fromAt: evidence.fromAt, base: evidence.base, events: [...evidence.events] } } : entry;
  };
  return {
    pages: new Map([...ledger.pages].map(([name, page]) => [name, new Map([...page].map(([uuid, entry]) => [uuid, copy(entry)]))])),
    keptFromDay: ledger.keptFromDay,
    touches: new Map([...ledger.touches].map(([name, page]) => [name, new Map(page)])),
    touchWeight: ledger.touchWeight,
    evidenceWeight: ledger.evidenceWeight,
    dayRows: ledger.dayRows,
  };
}

/** Sets a component's entry, keeping `ledger.dayRows`: every write of an entry goes through it. */
export function putEntry(ledger: Ledger, page: Map<string, ComponentLedger>, uuid: string, entry: ComponentLedger): void {
  ledger.dayRows += (entry.days.length - (page.get(uuid)?.days.length ?? 0)) / STRIDE;
  page.set(uuid, entry);
}

export const touchWeight = (touch: LedgerTouch | undefined) => (touch ? 1 + touch.components.length : 0);

/** Records (or updates) an incident or a started maintenance; then keeps the touches within MAX_TOUCH_WEIGHT. */
export function bookTouch(ledger: Ledger, statusPage: string, touch: LedgerTouch): void {
  let page = ledger.touches.get(statusPage);
  if (!page) ledger.touches.set(statusPage, (page = new Map<string, LedgerTouch>()));
  const key = `${touch.kind}:${touch.uuid}`;
  ledger.touchWeight += touchWeight(touch) - touchWeight(page.get(key));
  page.set(key, touch);
  if (ledger.touchWeight > MAX_TOUCH_WEIGHT) forgetTouchesDownTo(ledger, Math.floor(MAX_TOUCH_WEIGHT * TOUCH_RELIEF));
}

/** Forgets the finished touches that ended first (then by page, kind and uuid: data, not Map order) down to `weight`. */
function forgetTouchesDownTo(ledger: Ledger, weight: number): void {
  const finished: [string, string, LedgerTouch][] = [];
  for (const [statusPage, page] of ledger.touches) for (const [key, touch] of page) if (touch.end !== null) finished.push([statusPage, key, touch]);
  finished.sort(([pa, ka, a], [pb, kb, b]) => (a.end as number) - (b.end as number) || (pa < pb ? -1 : pa > pb ? 1 : 0) || (ka < kb ? -1 : ka > kb ? 1 : 0));
  for (const [statusPage, key] of finished) {
    if (ledger.touchWeight <= weight) break;
    forgetTouch(ledger, statusPage, key);
  }
}

export function forgetTouch(ledger: Ledger, statusPage: string, key: string): void {
  const page = ledger.touches.get(statusPage);
  if (!page) return;
  ledger.touchWeight -= touchWeight(page.get(key));
  page.delete(key);
  if (page.size === 0) ledger.touches.delete(statusPage);
}

export function ledgerOf(ledger: Ledger, statusPage: string, uuid: string): ComponentLedger | undefined {
  return ledger.pages.get(statusPage)?.get(uuid);
}

/** The day slot an impact is booked in, or -1 for operational (implicit). */
export function slotOf(impact: string): number {
  if (impact === OPERATIONAL) return -1;
  const slot = (LEDGER_SLOTS as readonly string[]).indexOf(impact);
  return slot >= 0 && impact !== 'other' ? slot : LEDGER_SLOTS.length - 1;
}

export const toMs = (seconds: number): number => Math.round(seconds * 1000);

/**
 * Books what a component's record says at time `atSeconds` (a reducer's patch): the first time it
 * is seen, its ledger starts; then a change point opens a new interval (closing the open one into
 * its impact) — also when the impact is the same, since a late event may later land before it.
 * A patch is what the state shows now, so it never runs before the open interval: one with an
 * earlier time (an event whose time is not trusted, or an incident's) opens it at the open
 * interval's start. Mutates `ledger`'s maps only (applyPatch calls it).
 */
export function bookImpact(ledger: Ledger, statusPage: string, uuid: string, sent: string, atSeconds: number, evidence?: Evidence): void {
  const impact = intern(sent);
  const at = toMs(atSeconds);
  let page = ledger.pages.get(statusPage);
  if (!page) ledger.pages.set(statusPage, (page = new Map<string, ComponentLedger>()));
  const current = page.get(uuid);
  if (!current) {
    putEntry(ledger, page, uuid, { sinceMs: at, impact, openMs: at, totals: new Map(), days: EMPTY_DAYS, changes: changesFrom([[at, impact]]), evidence });
    ledger.evidenceWeight += evidenceWeight(evidence);
    return;
  }
  const end = Math.max(at, current.openMs);
  const changes = appendChange(current.changes, end, impact, ledger.keptFromDay);
  // close's booking, into the one new record (close would make one of its own first).
  const ms = end - current.openMs;
  let totals = current.totals;
  let days = current.days;
  if (ms > 0) {
    totals = copyTotals(current.totals);
    addTotal(totals as Map<string, number>, current.impact, ms);
    const slot = slotOf(current.impact);
    if (slot >= 0) days = addInterval(current.days, current.openMs, end, slot, ledger.keptFromDay);
  }
  putEntry(ledger, page, uuid, { ...current, totals, days, impact, openMs: end, changes });
}

/**
 * Re-books a component from `fromMs` on (a late event's time) by `points`: its change points
 * from a replay of its evidence (see ledger-evidence.ts). The change points before `fromMs` stay;
 * those from it on are replaced by the replay's, and the totals and day rows move by the
 * difference between what the old and the new points say of [fromMs, open interval). The last
 * point opens the interval (its impact is the state's: the caller checked). With `complete` (the
 * evidence holds every event since the first), a `fromMs` before the first known time moves that
 * time back. Books nothing and answers false when the change points kept do not reach back to
 * `fromMs` (the bound: LEDGER_MAX_CHANGES, the kept days).
 */
export function rebookFrom(
  ledger: Ledger,
  statusPage: string,
  uuid: string,
  fromMs: number,
  points: readonly (readonly [number, string])[],
  complete: boolean,
): boolean {
  const page = ledger.pages.get(statusPage);
  const current = page?.get(uuid);
  if (!page || !current) return false;
  const old = current.changes;
  let prefix = 0;
  while (prefix < old.ms.length && (old.ms[prefix] as number) < fromMs) prefix += 1;
  const fromStart = complete && old.ms[0] === current.sinceMs && fromMs <= current.sinceMs;
  if (prefix === 0 && !fromStart) return false;
  const oldPoints = [...old.ms].map((ms, i): [number, string] => [ms, old.impacts[i] as string]);
  const next = [...oldPoints.slice(0, prefix), ...points.filter(([ms]) => ms >= fromMs)];
  const last = next.at(-1);
  if (!last) return false;
  // From the last point they share: its interval ends at the next point, which may differ (or was open).
  const from = prefix > 0 ? (old.ms[prefix - 1] as number) : fromMs;
  const totals = copyTotals(current.totals);
  let days = bookPoints(totals, current.days, oldPoints, from, -1, ledger.keptFromDay);
  days = bookPoints(totals, days, next, from, 1, ledger.keptFromDay);
  putEntry(ledger, page, uuid, {
    ...current,
    sinceMs: prefix === 0 ? (next[0] as [number, string])[0] : current.sinceMs,
    impact: intern(last[1]),
    openMs: last[0],
    totals,
    days,
    changes: keepChanges(changesFrom(next), ledger.keptFromDay),
  });
  return true;
}

/** Adds (`sign` 1) or takes (-1) what change points book from `fromMs` on (up to the last) to totals and day rows. */
function bookPoints(
  totals: Map<string, number>,
  days: Uint32Array,
  points: readonly (readonly [number, string])[],
  fromMs: number,
  sign: 1 | -1,
  keptFromDay: number,
): Uint32Array {
  let out = days;
  for (let i = 0; i + 1 < points.length; i += 1) {
    const [at, impact] = points[i] as readonly [number, string];
    const from = Math.max(at, fromMs);
    const to = (points[i + 1] as readonly [number, string])[0];
    if (to <= from) continue;
    addTotal(totals, impact, sign * (to - from));
    const slot = slotOf(impact);
    if (slot >= 0) out = addInterval(out, from, to, slot, keptFromDay, sign);
  }
  return out;
}

/** Sets a component's evidence (the record is replaced). */
export function setEvidence(ledger: Ledger, statusPage: string, uuid: string, evidence: Evidence | undefined): void {
  const page = ledger.pages.get(statusPage);
  const current = page?.get(uuid);
  if (!page || !current) return;
  ledger.evidenceWeight += evidenceWeight(evidence) - evidenceWeight(current.evidence);
  putEntry(ledger, page, uuid, { ...current, evidence });
}

/**
 * What a component's evidence weighs against LEDGER_MAX_EVIDENCE_WEIGHT: its events, and its base's
 * records (the component's and the incidents and maintenances cut to it).
 */
export function evidenceWeight(evidence: Evidence | undefined): number {
  if (!evidence) return 0;
  const base = evidence.base;
  return evidence.events.length + (base ? 1 + base.incidents.length + base.maintenances.length : 0);
}

/** What the evidence of all components weighs, from scratch (what the ledger keeps in `evidenceWeight`). */
export function measureEvidence(ledger: Ledger): number {
  let weight = 0;
  for (const page of ledger.pages.values()) for (const entry of page.values()) weight += evidenceWeight(entry.evidence);
  return weight;
}

export const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Forgets the evidence of the components that heard of nothing for longest (by the newest time
 * their evidence knows, then status page and uuid: data, never the order of a Map) until the
 * evidence weighs at most `weight`. Their next event starts their evidence again from the state,
 * as one without a trusted created_at does: only an event arriving late for them is booked as it
 * arrives instead of where its time falls.
 */
export function forgetEvidenceDownTo(ledger: Ledger, weight: number): void {
  const known: { statusPage: string; uuid: string; newest: number }[] = [];
  for (const [statusPage, page] of ledger.pages) {
    for (const [uuid, entry] of page) {
      const evidence = entry.evidence;
      if (evidenceWeight(evidence) === 0) continue;
      known.push({ statusPage, uuid, newest: evidence?.events.at(-1)?.at ?? evidence?.fromAt ?? -Infinity });
    }
  }
  known.sort((a, b) => a.newest - b.newest || byText(a.statusPage, b.statusPage) || byText(a.uuid, b.uuid));
  for (const { statusPage, uuid } of known) {
    if (ledger.evidenceWeight <= weight) break;
    setEvidence(ledger, statusPage, uuid, undefined);
  }
}

/**
 * The key an impact's seconds are totalled under: its own for a known impact, `other` for any
 * other, as the day rows book them. A sender may make up an impact per webhook (any name the
 * schema takes); each kept by name would be one more total in memory, in every snapshot and in
 * every scrape (a series of statusmate_component_impact_seconds_total), without a bound.
 */
export const totalKeyOf = (impact: string): string => (isKnownImpact(impact) ? internImpact(impact) : OTHER);
const OTHER = 'other';

/** Adds `ms` to an impact's total (under totalKeyOf); a total that comes to 0 goes, so that equal ledgers hold equal maps. */
export function addTotal(totals: Map<string, number>, impact: string, ms: number): void {
  const key = totalKeyOf(impact);
  const sum = (totals.get(key) ?? 0) + ms;
  if (sum === 0) totals.delete(key);
  else totals.set(key, sum);
}

/**
 * Change points within bounds: those of the kept days, with the last before them (the impact
 * the kept days begin in), at most LEDGER_MAX_CHANGES (the newest).
 */
function keepChanges(changes: Changes, keptFromDay: number): Changes {
  const from = keptFromDay * DAY_MS;
  const count = changes.ms.length;
  let start = 0;
  while (start + 1 < count && (changes.ms[start + 1] as number) <= from) start += 1;
  start = Math.max(start, count - LEDGER_MAX_CHANGES);
  return start === 0 ? changes : { ms: changes.ms.slice(start), impacts: changes.impacts.slice(start) };
}

/** A copy of a component's totals (in their order), set one by one: the Map constructor walks them through an iterator, a pair per total. */
function copyTotals(totals: ReadonlyMap<string, number>): Map<string, number> {
  const copy = new Map<string, number>();
  totals.forEach((ms, impact) => copy.set(impact, ms));
  return copy;
}

/**
 * Day rows with [from, to) (ms) added to `slot` (`sign` -1: taken from it, where it was booked),
 * days before `keptFromDay` left out. A row left all zero (the day wholly operational) goes.
 */
export function addInterval(days: Uint32Array, from: number, to: number, slot: number, keptFromDay: number, sign: 1 | -1 = 1): Uint32Array {
  // The days [from, to) covers, kept ones only: nearly always one (a booking closes an interval of hours).
  const first = Math.max(Math.floor(from / DAY_MS), keptFromDay);
  let adds = 0;
  for (let day = first; day * DAY_MS < to; day += 1) if (msOfDay(day, from, to) > 0) adds += 1;
  if (adds === 0) return days;
  // Merged into a scratch buffer, then copied out at the rows it came to: one new array per
  // booking (a row merged into an existing day made one at the upper bound, then a slice of it).
  const out = scratchRows(days.length + adds * STRIDE);
  let rows = 0;
  let i = 0;
  let added = nextDayOf(first, from, to);
  while (i < days.length || added !== Infinity) {
    const existing = i < days.length ? (days[i] as number) : Infinity;
    const at = rows * STRIDE;
    if (existing <= added) {
      for (let s = 0; s < STRIDE; s += 1) out[at + s] = days[i + s] as number;
      i += STRIDE;
    } else {
      out.fill(0, at, at + STRIDE);
      out[at] = added;
    }
    if (added <= existing) {
      out[at + 1 + slot] = Math.max(0, (out[at + 1 + slot] as number) + sign * msOfDay(added, from, to));
      added = nextDayOf(added + 1, from, to);
    }
    // A row left all zero (the day wholly operational) goes: the next row is written over it.
    let empty = true;
    for (let s = 1; s < STRIDE; s += 1) if (out[at + s] !== 0) empty = false;
    if (!empty) rows += 1;
  }
  return out.slice(0, rows * STRIDE);
}

/** The milliseconds of [from, to) within `day`. */
const msOfDay = (day: number, from: number, to: number): number => Math.min(to, (day + 1) * DAY_MS) - Math.max(from, day * DAY_MS);

/** The first day from `day` on that [from, to) covers some of, or Infinity. */
function nextDayOf(day: number, from: number, to: number): number {
  let next = day;
  while (next * DAY_MS < to && msOfDay(next, from, to) <= 0) next += 1;
  return next * DAY_MS < to ? next : Infinity;
}

/** The merge buffer of addInterval, grown to the largest merge yet (the fold is one thread, and a merge never nests). */
let rowScratch = new Uint32Array(64 * STRIDE);
function scratchRows(length: number): Uint32Array {
  if (rowScratch.length < length) rowScratch = new Uint32Array(Math.max(length, rowScratch.length * 2));
  return rowScratch;
}

/**
 * What an incident tells the ledger's reports: when it touched which components; none without a
 * start or an end. Its start is its start_at, or when its hold began if earlier: a start_at the
 * state did not trust (far ahead of its event) holds from the event's time, and the ledger books
 * the downtime from then, so a report that counts it must list the incident. Never after its end.
 */
export function incidentTouch(incident: IncidentRecord): LedgerTouch | undefined {
  const claimed = incident.startAt ?? incident.endAt;
  const held = incident.since?.at ?? null;
  const begun = claimed === null ? held : held === null ? claimed : Math.min(claimed, held);
  if (begun === null) return undefined;
  const end = incident.state === 'finished' ? (incident.endAt ?? begun) : null;
  const start = end === null ? begun : Math.min(begun, end);
  return { kind: 'incident', uuid: incident.uuid, title: incident.title, start, end, components: incident.components.map((c) => c.uuid) };
}

/** What a maintenance tells the ledger's reports, once it started: from its start to its finish. */
export function maintenanceTouch(maintenance: MaintenanceRecord): LedgerTouch | undefined {
  if (maintenance.startedAt === null) return undefined;
  const end = maintenance.state === 'finished' ? (maintenance.finishedAt ?? maintenance.startedAt) : null;
  return {
    kind: 'maintenance',
    uuid: maintenance.uuid,
    title: maintenance.title,
    start: maintenance.startedAt,
    end,
    components: maintenance.components.map((c) => c.uuid),
  };
}

/**
 * What a patch changes in the ledger (applyPatch calls it first): with `ledgerAt` (a folded patch
 * of the reducer or a forget), its components' impacts are booked at that time, and its incidents
 * and started maintenances recorded; an operator's forget of one removes it; pruning forgets days.
 */
export function applyToLedger(ledger: Ledger, patch: Patch): void {
  applyDeclarations(ledger, patch);
  const at = patch.ledgerAt;
  if (at !== undefined) {
    // A component first known here has no evidence before this event (ledger-evidence.ts adds it).
    for (const c of patch.components) bookImpact(ledger, c.statusPage, c.uuid, c.impact, at, NO_EVIDENCE);
    for (const i of patch.incidents) {
      const touch = incidentTouch(i);
      if (touch) bookTouch(ledger, i.statusPage, touch);
    }
    for (const m of patch.maintenances) {
      const touch = maintenanceTouch(m);
      if (touch) bookTouch(ledger, m.statusPage, touch);
    }
  }
  for (const { statusPage, key } of patch.ledgerForgetTouches ?? []) forgetTouch(ledger, statusPage, key);
  if (patch.ledgerKeepFromDay !== undefined) pruneLedger(ledger, patch.ledgerKeepFromDay);
}

/** Forgets the days before `keepFromDay` of every component (the fold's pruning; totals stay). */
export function pruneLedger(ledger: Ledger, keepFromDay: number): void {
  if (keepFromDay <= ledger.keptFromDay) return;
  ledger.keptFromDay = keepFromDay;
  for (const [statusPage, page] of [...ledger.touches]) {
    for (const [key, touch] of [...page]) if (touch.end !== null && toMs(touch.end) < keepFromDay * DAY_MS) forgetTouch(ledger, statusPage, key);
  }
  for (const page of ledger.pages.values()) {
    for (const [uuid, entry] of page) {
      const changes = keepChanges(entry.changes, keepFromDay);
      if ((entry.days.length === 0 || (entry.days[0] as number) >= keepFromDay) && changes === entry.changes) continue;
      let start = 0;
      while (start < entry.days.length && (entry.days[start] as number) < keepFromDay) start += STRIDE;
      putEntry(ledger, page, uuid, { ...entry, days: start === 0 ? entry.days : entry.days.slice(start), changes });
    }
  }
}

/** The first day LEDGER_RETENTION_DAYS keeps at log time `nowSeconds`: today and the `retentionDays` before it. */
export function keepFromDay(nowSeconds: number, retentionDays: number): number {
  return Math.floor(toMs(nowSeconds) / DAY_MS) - retentionDays;
}

/**
 * The first day to keep so that the ledger holds at most RELIEF × `maxRows` day rows, when it
 * holds more than `maxRows`; else `keptFromDay` as it is. The oldest days go first, for every
 * component alike: the retention shortens, and it is decided on data alone (the same on every
 * replica). Costs a pass over the rows: prune calls it once per pruning window, boundDayRows
 * after an event that took the ledger past the bound.
 */
export function keepFromDayWithin(ledger: Ledger, maxRows: number, relief: number): number {
  let total = 0;
  for (const page of ledger.pages.values()) for (const entry of page.values()) total += entry.days.length / STRIDE;
  if (total <= maxRows) return ledger.keptFromDay;
  const perDay = new Map<number, number>();
  for (const page of ledger.pages.values()) {
    for (const entry of page.values()) {
      for (let row = 0; row < entry.days.length; row += STRIDE) perDay.set(entry.days[row] as number, (perDay.get(entry.days[row] as number) ?? 0) + 1);
    }
  }
  const target = Math.floor(maxRows * relief);
  let left = total;
  let keep = ledger.keptFromDay;
  for (const day of [...perDay.keys()].sort((a, b) => a - b)) {
    if (left <= target) break;
    left -= perDay.get(day) as number;
    keep = day + 1;
  }
  return Math.max(keep, ledger.keptFromDay);
}

/**
 * Books a component a declaration names (a `declare` log entry, src/domain/inventory.ts) as first
 * known at `atSeconds`, operational: what the status pages file assumes until a webhook says
 * otherwise. A component the ledger knows (from an event, or an earlier declaration) is left as it
 * is, so declarations are idempotent and the first wins. True when it was booked.
 */
export function declareComponent(ledger: Ledger, statusPage: string, uuid: string, atSeconds: number): boolean {
  if (ledgerOf(ledger, statusPage, uuid)) return false;
  bookImpact(ledger, statusPage, uuid, OPERATIONAL, atSeconds, NO_EVIDENCE);
  return true;
}

/**
 * What a patch changes in the ledger about declarations (applyToLedger calls it first): the
 * components a `declare` entry names are booked (declareComponent), and those whose ledger held
 * only an assumption that an older first update replaces start again (`ledgerRestart`: the
 * patch's own booking then starts them at its time).
 */
export function applyDeclarations(ledger: Ledger, patch: Patch): void {
  const at = patch.ledgerAt;
  if (at === undefined) return;
  for (const restart of patch.ledgerRestart ?? []) {
    forgetLedgerComponent(ledger, restart.statusPage, restart.uuid);
    if (restart.impact !== undefined) bookImpact(ledger, restart.statusPage, restart.uuid, restart.impact, at, NO_EVIDENCE);
  }
  for (const declared of patch.ledgerDeclare ?? []) declareComponent(ledger, declared.statusPage, declared.uuid, at);
}

export function forgetLedgerComponent(ledger: Ledger, statusPage: string, uuid: string): void {
  const page = ledger.pages.get(statusPage);
  if (!page) return;
  ledger.evidenceWeight -= evidenceWeight(page.get(uuid)?.evidence);
  ledger.dayRows -= (page.get(uuid)?.days.length ?? 0) / STRIDE;
  page.delete(uuid);
  if (page.size === 0) ledger.pages.delete(statusPage);
}

export function forgetLedgerPage(ledger: Ledger, statusPage: string): void {
  for (const entry of ledger.pages.get(statusPage)?.values() ?? []) {
    ledger.evidenceWeight -= evidenceWeight(entry.evidence);
    ledger.dayRows -= entry.days.length / STRIDE;
  }
  ledger.pages.delete(statusPage);
  for (const key of [...(ledger.touches.get(statusPage)?.keys() ?? [])]) forgetTouch(ledger, statusPage, key);
}
