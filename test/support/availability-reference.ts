// A reference calculator for GET /api/v1/availability and the impact counter, written from the
// documents alone (README "A component's impact" and "Maintenances", docs/metrics.md
// `statusmate_component_impact_seconds_total`, docs/api.md "What is counted", StatusMate's webhook
// doc), never from src/domain: what it computes is what the docs promise, so a test that compares
// the exporter with it compares the exporter with its contract. It takes only histories whose
// meaning the docs leave no doubt about: events in created_at order, every one at its own second,
// incidents whose create and finish name the same components at fixed impacts, maintenances
// created, started and finished naming their components.

import { seeded } from './seeded.js';

export const DAY = 86_400;

/** Whole seconds since the epoch, one event per second. */
export type RefEvent =
  | { kind: 'update'; at: number; component: string; impact: string }
  | { kind: 'incident_created' | 'incident_finished'; at: number; id: string; components: { component: string; impact: string }[] }
  | { kind: 'maintenance_created' | 'maintenance_started' | 'maintenance_finished'; at: number; id: string; components: string[] };

/** An operator's forget (README "Forgetting"): of an incident or maintenance by its id, or of a component. */
export type RefForget =
  { kind: 'forget_incident' | 'forget_maintenance'; at: number; id: string } | { kind: 'forget_component'; at: number; component: string };
/** What the reference folds: StatusMate's events, and an operator's forgets. */
export type RefStep = RefEvent | RefForget;

export const KNOWN_IMPACTS = ['operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'] as const;
/** docs/metrics.md "Impact levels"; any other impact is -1 and is booked as `other`. */
const LEVELS: Record<string, number> = { operational: 0, under_maintenance: 1, degraded_performance: 2, partial_outage: 3, major_outage: 4 };
const levelOf = (impact: string) => LEVELS[impact] ?? -1;
export const slotOf = (impact: string) => (impact in LEVELS ? impact : 'other');

/** One stretch of a component's time in one impact: [from, to). */
export type Segment = { from: number; to: number; impact: string };

/** `start` and an update's `seq` are positions in the order of events, so that events of one second compare too. */
type Hold = { start: number; impact: string };
type Component = { since: number; update: { seq: number; impact: string } | null; holds: Map<string, Hold>; segments: Segment[] };

/**
 * README, "A component's impact": the worst impact held by its active incidents and in-progress
 * maintenances, or operational when none holds it; an update overrides the holds that began
 * before it (its impact counts instead of theirs) and stands when they end; an update made before
 * a hold that has since ended was overridden by it and does not come back, and the holds it had
 * overridden that still go on count again. Equal levels (two unknown impacts) are decided on the
 * name.
 */
function impactOf(c: Component): string {
  const counted: string[] = [];
  for (const hold of c.holds.values()) if (c.update === null || hold.start > c.update.seq) counted.push(hold.impact);
  if (c.update !== null) counted.push(c.update.impact);
  if (counted.length === 0) return 'operational';
  return counted.reduce((worst, impact) => {
    const [a, b] = [levelOf(impact), levelOf(worst)];
    return a > b || (a === b && impact > worst) ? impact : worst;
  });
}

/**
 * README, "Order": events are ordered by created_at; in one second, by type (a maintenance's
 * create, start and finish, an incident's create and finish, then a component's update), then by
 * the incident's or maintenance's uuid (here its number, which the callers' uuids sort alike), and
 * only then by arrival.
 */
const TYPE_ORDER = [
  'maintenance_created',
  'maintenance_started',
  'maintenance_finished',
  'incident_created',
  'incident_finished',
  'update',
  // Not events StatusMate sends: a test gives them a second of their own.
  'forget_incident',
  'forget_maintenance',
  'forget_component',
];
export function compareEvents(a: RefStep, b: RefStep): number {
  const number = (e: RefStep) => (e.kind === 'update' || e.kind === 'forget_component' ? 0 : Number(e.id.slice(1)));
  return a.at - b.at || TYPE_ORDER.indexOf(a.kind) - TYPE_ORDER.indexOf(b.kind) || number(a) - number(b);
}

/** Each component's segments from when it was first known up to `now`, from the events up to `now` (sorted by `at`). */
export function timelines(events: readonly RefStep[], now: number): Map<string, Segment[]> {
  const components = new Map<string, Component>();
  const touch = (uuid: string, at: number): Component => {
    let c = components.get(uuid);
    if (!c) {
      // Known from the first webhook naming it, at operational until something says otherwise.
      c = { since: at, update: null, holds: new Map(), segments: [{ from: at, to: now, impact: 'operational' }] };
      components.set(uuid, c);
    }
    return c;
  };
  const settle = (c: Component, at: number) => {
    const impact = impactOf(c);
    const open = c.segments[c.segments.length - 1]!;
    if (open.impact === impact) return;
    if (open.from === at) open.impact = impact;
    else {
      open.to = at;
      c.segments.push({ from: at, to: now, impact });
    }
  };
  let last: RefStep | undefined;
  for (const [seq, event] of events.entries()) {
    if (event.at > now) break;
    if (last !== undefined && compareEvents(last, event) > 0) throw new Error('the reference takes events in the order README "Order" gives');
    last = event;
    switch (event.kind) {
      case 'update': {
        const c = touch(event.component, event.at);
        c.update = { seq, impact: event.impact };
        settle(c, event.at);
        break;
      }
      case 'incident_created':
        for (const { component, impact } of event.components) {
          const c = touch(component, event.at);
          c.holds.set(`i:${event.id}`, { start: seq, impact });
          settle(c, event.at);
        }
        break;
      case 'maintenance_started':
        for (const component of event.components) {
          const c = touch(component, event.at);
          c.holds.set(`m:${event.id}`, { start: seq, impact: 'under_maintenance' });
          settle(c, event.at);
        }
        break;
      case 'maintenance_created':
        // Makes its components known; a maintenance not started holds nothing.
        for (const component of event.components) touch(component, event.at);
        break;
      case 'forget_component':
        components.delete(event.component);
        break;
      case 'forget_incident':
      case 'forget_maintenance': {
        // README "Forgetting": the components it held show what is left without it: their direct
        // updates, or other holders. Not an end: nothing it overrode is cleared.
        const key = `${event.kind === 'forget_incident' ? 'i' : 'm'}:${event.id}`;
        for (const c of components.values()) {
          if (!c.holds.delete(key)) continue;
          settle(c, event.at);
        }
        break;
      }
      case 'incident_finished':
      case 'maintenance_finished': {
        const key = `${event.kind === 'incident_finished' ? 'i' : 'm'}:${event.id}`;
        const names = event.components.map((c) => (typeof c === 'string' ? c : c.component));
        for (const component of names) {
          const c = touch(component, event.at);
          const hold = c.holds.get(key);
          if (!hold) continue;
          c.holds.delete(key);
          // An update made before this hold was overridden by it and does not come back: it is
          // gone, and the holds it had overridden that still go on count again (README).
          if (c.update !== null && hold.start > c.update.seq) c.update = null;
          settle(c, event.at);
        }
        break;
      }
    }
  }
  return new Map([...components].map(([uuid, c]) => [uuid, c.segments]));
}

/** Seconds per impact slot (the five known impacts and `other`) within [from, to). */
export function secondsIn(segments: readonly Segment[], from: number, to: number): Record<string, number> {
  const seconds: Record<string, number> = Object.fromEntries([...KNOWN_IMPACTS, 'other'].map((slot) => [slot, 0]));
  for (const s of segments) {
    const overlap = Math.min(s.to, to) - Math.max(s.from, from);
    if (overlap > 0) seconds[slotOf(s.impact)]! += overlap;
  }
  return seconds;
}

export type Policy = { weights: Record<string, number>; excludeMaintenance: boolean };
/** docs/api.md, "Policy": the defaults. */
export const DEFAULT_REF_POLICY: Policy = { weights: { major_outage: 1, partial_outage: 1, degraded_performance: 0 }, excludeMaintenance: true };

export type RefFigures = {
  known_seconds: number;
  excluded_seconds: number;
  down_seconds: number;
  availability: number | null;
  seconds: Record<string, number>;
};

/** docs/api.md: down = Σ seconds × weight (maintenance left out when excluded); excluded = maintenance time when excluded; availability = 1 − down / (known − excluded), null when nothing counts. */
export function figuresOf(seconds: Record<string, number>, policy: Policy = DEFAULT_REF_POLICY): RefFigures {
  const known = Object.values(seconds).reduce((a, b) => a + b, 0);
  const excluded = policy.excludeMaintenance ? seconds.under_maintenance! : 0;
  // Excluded maintenance is "neither up nor down" (README, AVAILABILITY_EXCLUDE_MAINTENANCE), whatever its weight.
  const weighed = Object.entries(seconds).filter(([slot]) => !(policy.excludeMaintenance && slot === 'under_maintenance'));
  const down = weighed.reduce((sum, [slot, s]) => sum + s * (policy.weights[slot] ?? 0), 0);
  const counted = known - excluded;
  return { known_seconds: known, excluded_seconds: excluded, down_seconds: down, availability: counted > 0 ? 1 - down / counted : null, seconds };
}

export type RefReport = {
  period: { start: number; end: number };
  components: Map<string, RefFigures & { known_since: number }>;
  page: RefFigures;
};

/**
 * The report for the UTC days [fromDay, toDay] (day numbers since the epoch): the period starts at
 * the first day's midnight and ends at the end of the last day, or now if sooner; a component
 * counts from when it was first known; the page adds up its components' seconds.
 */
export function referenceReport(
  events: readonly RefStep[],
  now: number,
  fromDay: number,
  toDay: number,
  policy: Policy = DEFAULT_REF_POLICY,
  options: LedgerOptions = {},
): RefReport {
  const start = fromDay * DAY;
  const end = Math.min((toDay + 1) * DAY, Math.max(start, now));
  const components = new Map<string, RefFigures & { known_since: number }>();
  const total: Record<string, number> = Object.fromEntries([...KNOWN_IMPACTS, 'other'].map((slot) => [slot, 0]));
  for (const [uuid, segments] of ledgerTimelines(events, now, options)) {
    // docs/api.md "Known time": not before the oldest day kept.
    const seconds = secondsIn(segments, Math.max(start, options.keptFrom ?? -Infinity), end);
    for (const [slot, s] of Object.entries(seconds)) total[slot]! += s;
    components.set(uuid, { ...figuresOf(seconds, policy), known_since: segments[0]!.from });
  }
  return { period: { start, end }, components, page: figuresOf(total, policy) };
}

/** What a ledger adds to the events: declarations, and the days it keeps. */
export type LedgerOptions = {
  /** Declared components (STATUS_PAGES_FILE) and when their declaration was folded (seconds). */
  declared?: ReadonlyMap<string, number>;
  /** The first second of the oldest day kept (LEDGER_RETENTION_DAYS). */
  keptFrom?: number;
};

/**
 * timelines() with declarations (docs/metrics.md, "Declared components"): a declared component
 * counts as operational from its declaration; the first event naming it that is older than the
 * declaration (an update, to operational too, or an incident's or maintenance's event, a
 * maintenance only scheduled too) replaces the declaration: the component is known from that
 * event's time, the events after it booking from their times.
 */
export function ledgerTimelines(events: readonly RefStep[], now: number, options: LedgerOptions = {}): Map<string, Segment[]> {
  const plain = timelines(events, now);
  for (const [component, declaredAt] of options.declared ?? []) {
    if (declaredAt > now) continue;
    const segments = plain.get(component);
    const first = segments?.[0];
    if (first !== undefined && first.from < declaredAt) continue;
    // Known from the declaration, operational until an event names it.
    const after = segments ?? [];
    if (first === undefined) after.push({ from: declaredAt, to: now, impact: 'operational' });
    else if (first.impact === 'operational') first.from = declaredAt;
    else after.unshift({ from: declaredAt, to: first.from, impact: 'operational' });
    plain.set(component, after);
  }
  return plain;
}

/** Seconds per impact slot per UTC day (day number → slot → seconds), up to `now`. */
export function secondsByDay(segments: readonly Segment[], now: number): Map<number, Record<string, number>> {
  const days = new Map<number, Record<string, number>>();
  const first = Math.floor(segments[0]!.from / DAY);
  for (let day = first; day * DAY < now; day++) days.set(day, secondsIn(segments, day * DAY, Math.min((day + 1) * DAY, now)));
  return days;
}

/** `grid`: events fall on multiples of it (seconds), so that many share a second; else one event a second. */
export type HistoryShape = { components: number; start: number; end: number; incidents: number; maintenances: number; updates: number; grid?: number };

/**
 * A random history over [start, end): overlapping incidents of different impacts, maintenances
 * overlapping them, direct updates in between and during them (a few in impacts the exporter does
 * not know, booked as `other`), each event at its own second.
 * Component ids are `c1`…`cN`, incidents `i1`…, maintenances `m1`…; the caller maps them to uuids.
 */
export function randomHistory(seed: number, shape: HistoryShape): RefEvent[] {
  const next = seeded(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const when = () => shape.start + Math.floor(next() * (shape.end - shape.start));
  const some = () => {
    const names = Array.from({ length: shape.components }, (_, i) => `c${i + 1}`).filter(() => next() < 0.5);
    return names.length > 0 ? names : [`c${1 + Math.floor(next() * shape.components)}`];
  };
  const events: RefEvent[] = [];
  for (let i = 1; i <= shape.incidents; i++) {
    const a = when();
    const b = Math.min(shape.end - 1, a + 60 + Math.floor(next() * next() * 2 * DAY));
    const components = some().map((component) => ({
      component,
      impact: pick(['degraded_performance', 'partial_outage', 'major_outage', 'major_outage', 'partial_outage', 'zeta_custom']),
    }));
    events.push({ kind: 'incident_created', at: a, id: `i${i}`, components });
    if (next() < 0.85) events.push({ kind: 'incident_finished', at: b, id: `i${i}`, components });
  }
  for (let m = 1; m <= shape.maintenances; m++) {
    const a = when();
    const b = Math.min(shape.end - 1, a + 60 + Math.floor(next() * 6 * 3600));
    const c = Math.min(shape.end - 1, b + 60 + Math.floor(next() * 8 * 3600));
    const components = some();
    events.push({ kind: 'maintenance_created', at: a, id: `m${m}`, components });
    if (next() < 0.9) events.push({ kind: 'maintenance_started', at: b, id: `m${m}`, components });
    if (next() < 0.8) events.push({ kind: 'maintenance_finished', at: c, id: `m${m}`, components });
  }
  for (let u = 0; u < shape.updates; u++) {
    events.push({
      kind: 'update',
      at: when(),
      component: `c${1 + Math.floor(next() * shape.components)}`,
      impact: pick(['operational', 'operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance', 'alpha_custom']),
    });
  }
  if (shape.grid !== undefined) {
    const grid = shape.grid;
    for (const event of events) event.at = Math.floor(event.at / grid) * grid;
    // Stable: a lifecycle's steps keep their order, and so do two updates of one second.
    return events.sort(compareEvents);
  }
  events.sort((x, y) => x.at - y.at);
  // One event a second: nudge a collision forward (keeping a lifecycle's steps in order).
  for (let i = 1; i < events.length; i++) if (events[i]!.at <= events[i - 1]!.at) events[i]!.at = events[i - 1]!.at + 1;
  return events;
}

/** An incident or maintenance as a report lists it (docs/api.md, "Incidents and maintenances"). */
export type RefTouch = { id: string; kind: 'incident' | 'maintenance'; start: number; end: number | null; components: string[] };

/**
 * docs/api.md "Incidents and maintenances": every incident, and every maintenance that started,
 * whose time overlaps the period [start, end), kept until it ended before `keptFrom`; an operator's
 * forget removes it (a component's forget removes the component from it). `started_at` is the
 * incident's start_at (here its create's time, which the callers send as start_at) or the
 * maintenance's maintenance_started; `ended_at` its finish, null while it goes on.
 */
export function referenceTouches(events: readonly RefStep[], start: number, end: number, keptFrom = -Infinity): RefTouch[] {
  const touches = new Map<string, RefTouch>();
  const forgottenComponents = new Set<string>();
  for (const event of events) {
    switch (event.kind) {
      case 'incident_created':
        touches.set(`i:${event.id}`, { id: event.id, kind: 'incident', start: event.at, end: null, components: event.components.map((c) => c.component) });
        break;
      case 'maintenance_started':
        touches.set(`m:${event.id}`, { id: event.id, kind: 'maintenance', start: event.at, end: null, components: [...event.components] });
        break;
      case 'incident_finished':
      case 'maintenance_finished': {
        const touch = touches.get(`${event.kind === 'incident_finished' ? 'i' : 'm'}:${event.id}`);
        if (touch) touch.end = event.at;
        break;
      }
      case 'forget_incident':
      case 'forget_maintenance':
        touches.delete(`${event.kind === 'forget_incident' ? 'i' : 'm'}:${event.id}`);
        break;
      case 'forget_component':
        forgottenComponents.add(event.component);
        break;
      default:
        break;
    }
  }
  return [...touches.values()]
    .filter((t) => t.start < end && (t.end === null || t.end > Math.max(start, keptFrom) || (t.end === Math.max(start, keptFrom) && t.start >= t.end)))
    .map((t) => ({ ...t, components: t.components.filter((c) => !forgottenComponents.has(c)) }));
}
