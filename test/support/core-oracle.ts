// An oracle of the incident, maintenance and component series, written from the documents alone
// (docs/metrics.md "Components", "Incidents", "Maintenances"; README "How events are interpreted",
// "Forgetting", "Memory", "How the state is kept"), never from src/domain: given the deliveries of
// a timeline in the order they reach the exporter, the exact /metrics samples of those families.
//
// What it models, and where the docs say so:
// - Retries (README "Retries"): a delivery_attempt >= 1 whose body, less delivery_attempt, was
//   folded before (and its dedup record is not past FINISHED_RETENTION_SECONDS) changes nothing and
//   appends nothing; a first delivery is always a new event.
// - Order (README "Order"): two events are ordered by created_at when both carry one (ties by
//   type, then the object's uuid, then arrival), else by arrival. An event before the last one
//   applied to its object, or an update before the component's last, is stale: it changes the
//   object's fields nothing, yet each lifecycle step is counted once per object.
// - A component's impact (README): the worst impact of the holds of its active incidents and
//   in-progress maintenances that began after its last update, and the update's; an update made
//   before a hold that has ended does not come back. A maintenance holds what its created and
//   started events name from its start; an incident what its incident_created names.
// - statusmate_component_last_change_timestamp_seconds (docs/metrics.md): the time of the event
//   after which the impact last changed, as if the component's events had come in created_at
//   order; where the docs say the result depends on the order of arrival (a late event among
//   events without created_at, an object forgotten by the operator or by retention), the sample
//   is left unchecked (its value is NaN here, and the drill skips it).
// - Limits (README "Limits"): a new active incident past MAX_ACTIVE_INCIDENTS, a new unfinished
//   maintenance past MAX_ACTIVE_MAINTENANCES, refused whole with no dedup record; a new component
//   past MAX_COMPONENTS refused alone.
// - Retention (README "How the state is kept", "Memory"): when an entry's log time enters a new
//   prune window, finished objects whose finish was received more than the retention before, and
//   dedup records received then, are forgotten; a late event then meets no record.
// - Forgets (README "Forgetting"): of a page, a component, an incident, a maintenance; counters
//   keep what they counted, dedup records stay.
// - Clock skew (README "Clock skew"): a created_at more than MAX_CLOCK_SKEW_SECONDS ahead of its
//   receipt is not trusted: the event is ordered by its arrival and timed by its receipt.
// - Size bounds (README "Memory"): an event that would add holdings (component entries of active
//   incidents and unfinished maintenances) past MAX_HOLDINGS is refused whole; past
//   MAX_RETAINED_FINISHED (each finished object 1 + its components) the finished objects whose
//   finish was received first, and past MAX_DEDUP_RECORDS the oldest dedup records, are forgotten
//   down to 90 % of the bound, after the event that passed it.
// - Declared pages (README "Declare your status pages", docs/metrics.md): from start-up, their
//   counters at 0 and their components operational under the file's names, last changed when
//   declared; a forgotten one comes back at once, declared again then; a webhook's name wins; the
//   first event older than a component's declaration replaces it (known from its created_at).

export const KNOWN_IMPACTS = ['operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'] as const;
const LEVELS: Record<string, number> = { operational: 0, under_maintenance: 1, degraded_performance: 2, partial_outage: 3, major_outage: 4 };
const levelOf = (impact: string) => LEVELS[impact] ?? -1;
export const BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];

export type LifecycleType = 'incident_created' | 'incident_finished' | 'maintenance_created' | 'maintenance_started' | 'maintenance_finished';
export type EventType = LifecycleType | 'component_impact_updated';

/** A webhook as the oracle reads it: the fields of its body that the docs give a meaning. */
export type HookEvent = {
  type: EventType;
  page: string;
  /** The object's uuid, or the component's for an update. */
  uuid: string;
  title: string;
  createdAt: number | null;
  attempt: number;
  /** Updates: the impact sent. */
  impact?: string;
  startAt?: number | null;
  endAt?: number | null;
  components?: { uuid: string; name: string; impact: string | null }[];
};

export type OracleForget = { page: string; component?: string; incident?: string; maintenance?: string };

/** STATUS_PAGES_FILE: the declared pages, and their components with the names the file gives. */
export type OracleDeclared = readonly { page: string; components: readonly { uuid: string; name: string }[] }[];

export type OracleLimits = {
  maxActiveIncidents: number;
  maxActiveMaintenances: number;
  maxComponents: number;
  /** MAX_CLOCK_SKEW_SECONDS: a created_at further ahead of its receipt is not trusted (README "Clock skew"). */
  maxClockSkewSeconds: number;
  /** MAX_HOLDINGS: component entries of active incidents and unfinished maintenances; an event adding past it is refused whole. */
  maxHoldings: number;
  /** MAX_RETAINED_FINISHED: finished incidents and maintenances kept, each 1 + its components; past it the oldest are forgotten. */
  maxRetainedFinished: number;
  /** MAX_DEDUP_RECORDS: past it the oldest dedup records are forgotten. */
  maxDedupRecords: number;
};

/** Forgetting past MAX_RETAINED_FINISHED and MAX_DEDUP_RECORDS goes down to this share of the bound (README "Memory"). */
const RELIEF = 0.9;

const RANK: Record<EventType, number> = {
  maintenance_created: 0,
  maintenance_started: 1,
  maintenance_finished: 2,
  incident_created: 3,
  incident_finished: 4,
  component_impact_updated: 5,
};

/** Where an event falls in the order of README "Order". `at` is its time: created_at, else receipt. */
type Stamp = { at: number; trusted: boolean; seq: number; rank: number; uuid: string };

/** Negative when a comes before b (README "Order"). */
function order(a: Stamp, b: Stamp): number {
  if (a.trusted && b.trusted) return a.at - b.at || a.rank - b.rank || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0) || a.seq - b.seq;
  return a.seq - b.seq;
}
const before = (a: Stamp, b: Stamp) => order(a, b) < 0;

type Incident = {
  uuid: string;
  title: string;
  startAt: number | null;
  endAt: number | null;
  created: Stamp | null;
  /** When it began, for the comparison with updates: its start_at, else its incident_created. */
  since: Stamp | null;
  finished: Stamp | null;
  finishedReceivedAt: number | null;
  last: Stamp;
  /** Every component any of its events named (admitted): its finish ends them all. */
  named: Set<string>;
  /** What incident_created named, with the impacts it gave (admitted components only). */
  held: Map<string, string>;
  observed: boolean;
};

type Maintenance = {
  uuid: string;
  title: string;
  startAt: number | null;
  endAt: number | null;
  created: Stamp | null;
  started: Stamp | null;
  finished: Stamp | null;
  finishedReceivedAt: number | null;
  last: Stamp;
  /** Every component any of its events named (admitted): its end ends them all. */
  named: Set<string>;
  /** What created and started named (admitted components), under_maintenance when no impact was sent. */
  held: Map<string, string>;
  observed: boolean;
};

type Component = {
  uuid: string;
  name: string;
  update: { stamp: Stamp; impact: string } | null;
  /**
   * The start of every hold on it that has ended: an update before any of them does not come back
   * (README "A component's impact": "one made before an incident or maintenance that has since
   * ended was overridden by it and does not come back"). All of them, not the latest alone: the
   * order of README "Order" is by created_at only where both events carry a trusted one, else by
   * arrival, so it is not total, and no one start stands for the rest (a trusted start 9298 and
   * one without a place in arrival order are not ordered; keeping either forgot the other).
   */
  cleared: Stamp[];
  lastChange: number;
  /** The events that named it or ended a hold on it, for the replay in created_at order. */
  history: { stamp: Stamp; event: HookEvent }[];
  /** The docs make its last change depend on the order of arrival from here on. */
  unchecked: boolean;
  /** When STATUS_PAGES_FILE made it known (start-up, or its return after a forget); null: a webhook did. */
  declaredAt: number | null;
};

type Page = {
  id: string;
  counters: { incCreated: number; incFinished: number; mCreated: number; mStarted: number; mFinished: number };
  incidentDurations: number[];
  maintenanceDurations: number[];
  incidents: Map<string, Incident>;
  maintenances: Map<string, Maintenance>;
  components: Map<string, Component>;
  /** The arrival (seq) of each component's last forget: what came before it is no part of the component now. */
  forgotten: Map<string, number>;
  /** Every applied event of each incident and maintenance, by its uuid, for the replays. */
  objectEvents: Map<string, { stamp: Stamp; event: HookEvent }[]>;
};

export type Outcome = 'applied' | 'duplicate' | 'refused_limit';

export class CoreOracle {
  private readonly pages = new Map<string, Page>();
  private readonly seen = new Map<string, number>();
  /** The incidents and maintenances (`page\0uuid`) a limit refused an event of, whole. */
  private readonly refusedObjects = new Set<string>();
  private seq = 0;
  /** The components MAX_COMPONENTS refused in the event being applied. */
  private refusedComponents = new Set<string>();
  /** The components whose hold the event being applied ended (clear()). */
  private clearedInEvent = new Set<string>();
  private pointTime = 0;
  /**
   * `declared` at `declaredAt` (the start-up that first reads the file): README "Declare your
   * status pages": its pages have every counter and histogram at 0, its components are
   * operational under the file's names, last changed when declared (docs/metrics.md).
   */
  constructor(
    private readonly limits: OracleLimits,
    private readonly retentionSeconds: number,
    private readonly pruneWindowSeconds: number,
    private readonly declared: OracleDeclared = [],
    declaredAt = 0,
  ) {
    for (const { page } of declared) this.declare(page, declaredAt);
  }

  /**
   * Makes the declared page and those of its declared components it lacks known at `at`: at start-up,
   * and at once after a forget ("comes back at once, operational, as the file declares it").
   */
  private declare(pageId: string, at: number): void {
    const declaration = this.declared.find((d) => d.page === pageId);
    if (declaration === undefined) return;
    const page = this.pages.get(pageId) ?? this.newPage(pageId);
    for (const { uuid, name } of declaration.components) {
      if (page.components.has(uuid)) continue;
      page.components.set(uuid, { uuid, name, update: null, cleared: [], lastChange: at, history: [], unchecked: false, declaredAt: at });
    }
  }

  /** The dedup key: the body less delivery_attempt (README "Retries"). */
  private static key(event: HookEvent): string {
    const { attempt: _attempt, ...rest } = event;
    return JSON.stringify(rest);
  }

  /** An entry appended at log time `now`: pruning first, when it enters a new window (README "How the state is kept"). */
  private append(now: number): void {
    const window = this.pruneWindowSeconds;
    if (this.pointTime > 0 && Math.floor(now / window) > Math.floor(this.pointTime / window)) {
      const cutoff = now - this.retentionSeconds;
      for (const page of this.pages.values()) {
        for (const [uuid, incident] of page.incidents)
          if (incident.finishedReceivedAt !== null && incident.finishedReceivedAt < cutoff) this.dropIncident(page, uuid);
        for (const [uuid, m] of page.maintenances) if (m.finishedReceivedAt !== null && m.finishedReceivedAt < cutoff) this.dropMaintenance(page, uuid);
      }
      for (const [key, at] of this.seen) if (at < cutoff) this.seen.delete(key);
    }
    this.pointTime = now;
  }

  /** A finished object forgotten: the last change of what it named is no longer the docs' to say. */
  private dropIncident(page: Page, uuid: string): void {
    page.incidents.delete(uuid);
    this.markObjectForgotten(page, uuid);
  }
  private dropMaintenance(page: Page, uuid: string): void {
    page.maintenances.delete(uuid);
    this.markObjectForgotten(page, uuid);
  }
  private markObjectForgotten(page: Page, uuid: string): void {
    for (const c of page.components.values()) if (c.history.some((h) => h.event.uuid === uuid)) c.unchecked = true;
    // The exporter keeps nothing of it: a later event of the same uuid begins it anew, and a
    // component first named then is replayed without the events forgotten here.
    page.objectEvents.delete(uuid);
  }

  /** Component entries of active incidents and unfinished maintenances (README "Memory"). */
  private holdings(): number {
    let n = 0;
    for (const page of this.pages.values()) {
      for (const i of page.incidents.values()) if (i.finished === null) n += i.named.size;
      for (const m of page.maintenances.values()) if (m.finished === null) n += m.named.size;
    }
    return n;
  }

  /**
   * The holdings an event would add: the components it names (known ones, and new ones
   * MAX_COMPONENTS still admits) that its incident or maintenance, unfinished after it, does not
   * hold yet. A finish, an update and an event of a finished object add none.
   */
  private addedHoldings(page: Page | undefined, event: HookEvent): number {
    if (event.type === 'component_impact_updated' || event.type.endsWith('_finished')) return 0;
    const record = event.type.startsWith('incident') ? page?.incidents.get(event.uuid) : page?.maintenances.get(event.uuid);
    if (record !== undefined && record.finished !== null) return 0;
    const held = new Set(record?.named ?? []);
    let room = this.limits.maxComponents - this.componentCount();
    let added = 0;
    for (const uuid of new Set((event.components ?? []).map((c) => c.uuid))) {
      if (held.has(uuid)) continue;
      if (page?.components.has(uuid) === true) added += 1;
      else if (room > 0) {
        room -= 1;
        added += 1;
      }
    }
    return added;
  }

  /**
   * Past MAX_RETAINED_FINISHED, the finished incidents and maintenances received first (then by
   * page, uuid) are forgotten; past MAX_DEDUP_RECORDS, the oldest dedup records (by receipt): down
   * to RELIEF of each bound, after the event that passed it (README "Memory").
   */
  private forgetPastBounds(): void {
    const finished: { page: Page; kind: 'incident' | 'maintenance'; uuid: string; at: number; weight: number }[] = [];
    for (const page of this.pages.values()) {
      for (const i of page.incidents.values())
        if (i.finishedReceivedAt !== null) finished.push({ page, kind: 'incident', uuid: i.uuid, at: i.finishedReceivedAt, weight: 1 + i.named.size });
      for (const m of page.maintenances.values())
        if (m.finishedReceivedAt !== null) finished.push({ page, kind: 'maintenance', uuid: m.uuid, at: m.finishedReceivedAt, weight: 1 + m.named.size });
    }
    const retained = finished.reduce((sum, f) => sum + f.weight, 0);
    if (retained > this.limits.maxRetainedFinished) {
      const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      finished.sort((a, b) => a.at - b.at || text(a.page.id, b.page.id) || text(a.uuid, b.uuid) || text(a.kind, b.kind));
      let excess = retained - Math.floor(this.limits.maxRetainedFinished * RELIEF);
      for (const f of finished) {
        if (excess <= 0) break;
        if (f.kind === 'incident') this.dropIncident(f.page, f.uuid);
        else this.dropMaintenance(f.page, f.uuid);
        excess -= f.weight;
      }
    }
    if (this.seen.size > this.limits.maxDedupRecords) {
      const oldest = [...this.seen].sort(([, a], [, b]) => a - b);
      for (const [key] of oldest.slice(0, this.seen.size - Math.floor(this.limits.maxDedupRecords * RELIEF))) this.seen.delete(key);
    }
  }

  private componentCount(): number {
    let n = 0;
    for (const page of this.pages.values()) n += page.components.size;
    return n;
  }
  private activeIncidents(): number {
    let n = 0;
    for (const page of this.pages.values()) for (const i of page.incidents.values()) if (i.created !== null && i.finished === null) n += 1;
    return n;
  }
  private unfinishedMaintenances(): number {
    let n = 0;
    for (const page of this.pages.values()) for (const m of page.maintenances.values()) if (m.finished === null) n += 1;
    return n;
  }

  deliver(event: HookEvent, now: number): Outcome {
    const key = CoreOracle.key(event);
    if (event.attempt >= 1 && this.seen.has(key)) return 'duplicate';
    this.append(now);
    this.seq += 1;
    // Not trusted further ahead of its receipt than MAX_CLOCK_SKEW_SECONDS: ordered by its arrival
    // and timed by its receipt, as one without created_at (README "Clock skew").
    const trusted = event.createdAt !== null && event.createdAt <= now + this.limits.maxClockSkewSeconds;
    const stamp: Stamp = {
      at: trusted ? (event.createdAt as number) : now,
      trusted,
      seq: this.seq,
      rank: RANK[event.type],
      uuid: event.uuid,
    };
    // Limits refuse the whole event, before anything (README "Limits").
    const page = this.pages.get(event.page);
    const refusedWhole =
      (event.type === 'incident_created' && !page?.incidents.has(event.uuid) && this.activeIncidents() >= this.limits.maxActiveIncidents) ||
      ((event.type === 'maintenance_created' || event.type === 'maintenance_started') &&
        !page?.maintenances.has(event.uuid) &&
        this.unfinishedMaintenances() >= this.limits.maxActiveMaintenances) ||
      (this.addedHoldings(page, event) > 0 && this.holdings() + this.addedHoldings(page, event) > this.limits.maxHoldings);
    if (refusedWhole) {
      this.refusedObjects.add(`${event.page}\u0000${event.uuid}`);
      return 'refused_limit';
    }
    const p = page ?? this.newPage(event.page);
    this.seen.set(key, now);
    const before = this.impacts(p);
    this.refusedComponents = new Set();
    this.clearedInEvent = new Set();
    const touched = this.apply(p, event, stamp);
    for (const uuid of this.clearedInEvent) touched.add(uuid);
    this.afterEvent(p, event, stamp, before, touched);
    this.forgetPastBounds();
    // The rest of the event applies, and the answer says a component was refused (README "Limits").
    return this.namedRefused() ? 'refused_limit' : 'applied';
  }

  /** Set by know() while an event applies (a method, so that the flag is read after the calls that set it). */
  private namedRefused(): boolean {
    return this.refusedComponents.size > 0;
  }

  private newPage(id: string): Page {
    const page: Page = {
      id,
      counters: { incCreated: 0, incFinished: 0, mCreated: 0, mStarted: 0, mFinished: 0 },
      incidentDurations: [],
      maintenanceDurations: [],
      incidents: new Map(),
      maintenances: new Map(),
      components: new Map(),
      objectEvents: new Map(),
      forgotten: new Map(),
    };
    this.pages.set(id, page);
    return page;
  }

  /** Makes a component known (operational when new), refusing it past MAX_COMPONENTS; its latest name. */
  private know(page: Page, uuid: string, name: string, stamp: Stamp): Component | undefined {
    let c = page.components.get(uuid);
    if (c === undefined) {
      if (this.componentCount() >= this.limits.maxComponents) {
        this.refusedComponents.add(uuid);
        return undefined;
      }
      c = { uuid, name, update: null, cleared: [], lastChange: stamp.at, history: [], unchecked: false, declaredAt: null };
      page.components.set(uuid, c);
    }
    c.name = name;
    return c;
  }

  /** Applies one event that passed the dedup and the limits; returns the components it concerns. */
  private apply(page: Page, event: HookEvent, stamp: Stamp): Set<string> {
    const touched = new Set<string>();
    if (event.type === 'component_impact_updated') {
      const c = this.know(page, event.uuid, event.title, stamp);
      if (c === undefined) return touched;
      touched.add(c.uuid);
      const older = (c.update !== null && before(stamp, c.update.stamp)) || c.cleared.some((start) => before(stamp, start));
      if (!older) c.update = { stamp, impact: event.impact ?? 'operational' };
      return touched;
    }
    const admitted = new Map<string, string | null>();
    for (const named of event.components ?? []) {
      const c = this.know(page, named.uuid, named.name, stamp);
      if (c === undefined) continue;
      admitted.set(c.uuid, named.impact);
      touched.add(c.uuid);
    }
    if (event.type === 'incident_created' || event.type === 'incident_finished') {
      let incident = page.incidents.get(event.uuid);
      const fresh = incident === undefined;
      if (incident === undefined) {
        incident = {
          uuid: event.uuid,
          title: event.title,
          startAt: null,
          endAt: null,
          created: null,
          since: null,
          finished: null,
          finishedReceivedAt: null,
          last: stamp,
          held: new Map(),
          named: new Set(),
          observed: false,
        };
        page.incidents.set(event.uuid, incident);
      }
      // Lifecycles only move forward: a created after the finish is stale whatever its time.
      const stale = !fresh && (before(stamp, incident.last) || (event.type === 'incident_created' && incident.finished !== null));
      if (!stale) {
        incident.title = event.title;
        if (event.startAt != null) incident.startAt = event.startAt;
        if (event.endAt != null) incident.endAt = event.endAt;
        incident.last = stamp;
      } else if (incident.startAt === null && event.startAt != null) incident.startAt = event.startAt;
      for (const uuid of admitted.keys()) incident.named.add(uuid);
      if (event.type === 'incident_created') {
        if (incident.created === null) page.counters.incCreated += 1;
        if (incident.created === null) {
          incident.created = stamp;
          // It began at its start_at, else when it was created ("overrides the incidents that began before it").
          if (incident.since === null) {
            incident.since = event.startAt != null ? { ...stamp, at: event.startAt, trusted: true, rank: RANK.incident_created, uuid: event.uuid } : stamp;
          }
        }
        if (incident.finished === null) for (const [uuid, impact] of admitted) incident.held.set(uuid, impact ?? 'operational');
        // Known, held from its start and ended with the incident: an update older than that does not come back.
        // (Without any time, a late first event cannot say which updates came before the incident: none are cleared.)
        else if (incident.since?.trusted === true) for (const uuid of incident.named) this.clear(page, uuid, incident.since);
      } else if (incident.finished === null) {
        page.counters.incFinished += 1;
        incident.finished = stamp;
        incident.finishedReceivedAt = this.pointTime;
        // First seen finished: it began at its start_at, before anything else it is compared with.
        if (incident.since === null && event.startAt != null) {
          incident.since = { at: event.startAt, trusted: true, seq: -1, rank: RANK.incident_created, uuid: event.uuid };
        }
        if (incident.since !== null) for (const uuid of incident.named) this.clear(page, uuid, incident.since);
        for (const uuid of incident.held.keys()) touched.add(uuid);
      }
      this.observeIncident(page, incident);
      return touched;
    }
    let m = page.maintenances.get(event.uuid);
    const fresh = m === undefined;
    if (m === undefined) {
      m = {
        uuid: event.uuid,
        title: event.title,
        startAt: null,
        endAt: null,
        created: null,
        started: null,
        finished: null,
        finishedReceivedAt: null,
        last: stamp,
        named: new Set(),
        held: new Map(),
        observed: false,
      };
      page.maintenances.set(event.uuid, m);
    }
    const backwards =
      (event.type === 'maintenance_created' && (m.started !== null || m.finished !== null)) || (event.type === 'maintenance_started' && m.finished !== null);
    const stale = !fresh && (before(stamp, m.last) || backwards);
    if (!stale) {
      m.title = event.title;
      if (event.startAt != null) m.startAt = event.startAt;
      if (event.endAt != null) m.endAt = event.endAt;
      m.last = stamp;
    }
    for (const uuid of admitted.keys()) m.named.add(uuid);
    if (event.type === 'maintenance_created' || event.type === 'maintenance_started') {
      for (const [uuid, impact] of admitted) if (!m.held.has(uuid) || event.type === 'maintenance_started') m.held.set(uuid, impact ?? 'under_maintenance');
    }
    if (event.type === 'maintenance_created') {
      if (m.created === null) {
        page.counters.mCreated += 1;
        m.created = stamp;
      }
      // Named after the start: held from the start; after the finish too, so an older update is cleared.
      if (m.started !== null && m.finished !== null) for (const uuid of m.named) this.clear(page, uuid, m.started);
    } else if (event.type === 'maintenance_started') {
      if (m.started === null) {
        page.counters.mStarted += 1;
        // A start learnt after the finish has no place in arrival order (its arrival is not when it
        // happened): an update without created_at is not known to be before it, so it stands.
        m.started = m.finished === null ? stamp : { ...stamp, seq: -1 };
        // A start after the finish ends its hold as the finish would have.
        if (m.finished !== null) for (const uuid of m.named) this.clear(page, uuid, m.started);
      } else if (m.finished !== null) {
        // A start sent again after the finish (a first delivery) names what the maintenance held
        // from its start to its finish, as a late maintenance_created does above: a component the
        // operator forgot since comes back in its part ("a new event brings the object back",
        // README "Forgetting"), and an update made before that start "was overridden by it and
        // does not come back" (README "A component's impact").
        for (const uuid of admitted.keys()) this.clear(page, uuid, m.started);
      }
      for (const uuid of m.held.keys()) touched.add(uuid);
    } else {
      if (m.finished === null) {
        page.counters.mFinished += 1;
        m.finished = stamp;
        m.finishedReceivedAt = this.pointTime;
        if (m.started !== null) for (const uuid of m.named) this.clear(page, uuid, m.started);
        for (const uuid of m.held.keys()) touched.add(uuid);
      }
    }
    this.observeMaintenance(page, m);
    return touched;
  }

  private clear(page: Page, uuid: string, start: Stamp): void {
    const c = page.components.get(uuid);
    if (c === undefined) return;
    // An ended hold concerns the component even when the event ending it does not name it.
    this.clearedInEvent.add(uuid);
    c.cleared.push(start);
    // Overridden by a hold that has ended: it does not come back.
    if (c.update !== null && before(c.update.stamp, start)) c.update = null;
  }

  private observeIncident(page: Page, incident: Incident): void {
    if (incident.observed || incident.finished === null) return;
    const start = incident.startAt ?? incident.created?.at ?? null;
    if (start === null) return;
    incident.observed = true;
    const end = incident.endAt ?? incident.finished.at;
    if (end - start >= 0) page.incidentDurations.push(end - start);
  }

  private observeMaintenance(page: Page, m: Maintenance): void {
    if (m.observed || m.finished === null || m.started === null) return;
    m.observed = true;
    const duration = m.finished.at - m.started.at;
    if (duration >= 0) page.maintenanceDurations.push(duration);
  }

  /** The holds on each component of a page: active incidents, in-progress maintenances. */
  private holds(page: Page): Map<string, { start: Stamp; impact: string }[]> {
    const holds = new Map<string, { start: Stamp; impact: string }[]>();
    const add = (uuid: string, start: Stamp, impact: string) => {
      if (!page.components.has(uuid)) return;
      const list = holds.get(uuid) ?? [];
      list.push({ start, impact });
      holds.set(uuid, list);
    };
    for (const i of page.incidents.values()) if (i.created !== null && i.finished === null) for (const [uuid, impact] of i.held) add(uuid, i.last, impact);
    for (const m of page.maintenances.values()) if (m.started !== null && m.finished === null) for (const [uuid, impact] of m.held) add(uuid, m.last, impact);
    return holds;
  }

  private impacts(page: Page): Map<string, string> {
    const holds = this.holds(page);
    const impacts = new Map<string, string>();
    for (const c of page.components.values()) impacts.set(c.uuid, impactOf(c, holds.get(c.uuid) ?? []));
    return impacts;
  }

  /** Books the change of impact of each component the event concerns, in created_at order when it came late. */
  private afterEvent(page: Page, event: HookEvent, stamp: Stamp, before: Map<string, string>, touched: Set<string>): void {
    const after = this.impacts(page);
    if (event.type !== 'component_impact_updated') {
      const list = page.objectEvents.get(event.uuid) ?? [];
      // What it names less what MAX_COMPONENTS refused: the object never held those (README "Limits"),
      // so a replay for a component admitted later must not hold it from here either.
      const admitted = (event.components ?? []).filter((named) => !this.refusedComponents.has(named.uuid));
      list.push({ stamp, event: { ...event, components: admitted } });
      page.objectEvents.set(event.uuid, list);
    }
    for (const uuid of touched) {
      const c = page.components.get(uuid);
      if (c === undefined) continue;
      // Late: after a later event of the component, or of its own incident or maintenance.
      const objectEvents = event.type === 'component_impact_updated' ? [] : (page.objectEvents.get(event.uuid) ?? []);
      // Or of an incident or maintenance among its events: a finish that does not name it still
      // ended what that object's first event made it hold.
      const related = c.history.flatMap((h) => (h.event.type === 'component_impact_updated' ? [] : (page.objectEvents.get(h.event.uuid) ?? [])));
      const late = [...c.history, ...objectEvents, ...related].some((h) => order(stamp, h.stamp) < 0);
      // The first event naming a declared component older than its declaration replaces the
      // declaration: the component is known from that event's created_at (docs/metrics.md, "Declared components").
      // (Late for its own incident's or maintenance's events, the replay below says when it changed.)
      const replacesDeclaration = c.declaredAt !== null && c.history.length === 0 && stamp.trusted && stamp.at < c.declaredAt;
      c.history.push({ stamp, event });
      if (replacesDeclaration && !late) {
        c.declaredAt = null;
        c.lastChange = stamp.at;
        continue;
      }
      if (!late) {
        if (before.get(uuid) !== undefined && before.get(uuid) !== after.get(uuid)) c.lastChange = stamp.at;
        continue;
      }
      if (c.history.some((h) => !h.stamp.trusted)) {
        c.unchecked = true;
        continue;
      }
      c.lastChange = replayLastChange(page, c, this.limits, this.refusedObjects);
    }
  }

  /** A component's impact now (for the replay). */
  impactNow(page: string, uuid: string): string | undefined {
    const p = this.pages.get(page);
    if (p === undefined || !p.components.has(uuid)) return undefined;
    return this.impacts(p).get(uuid);
  }

  forget(target: OracleForget, now: number): void {
    this.append(now);
    const page = this.pages.get(target.page);
    if (page === undefined) return;
    if (target.component !== undefined) {
      page.components.delete(target.component);
      page.forgotten.set(target.component, this.seq);
      for (const i of page.incidents.values()) {
        i.held.delete(target.component);
        i.named.delete(target.component);
      }
      for (const m of page.maintenances.values()) {
        m.held.delete(target.component);
        m.named.delete(target.component);
      }
      this.declare(target.page, now);
    } else if (target.incident !== undefined) {
      if (page.incidents.has(target.incident)) {
        const touched = this.holdsOf(page.incidents.get(target.incident)?.held);
        const before = this.impacts(page);
        this.dropIncident(page, target.incident);
        this.afterForget(page, before, touched);
      }
    } else if (target.maintenance !== undefined) {
      if (page.maintenances.has(target.maintenance)) {
        const touched = this.holdsOf(page.maintenances.get(target.maintenance)?.held);
        const before = this.impacts(page);
        this.dropMaintenance(page, target.maintenance);
        this.afterForget(page, before, touched);
      }
    } else {
      this.pages.delete(target.page);
      this.declare(target.page, now);
    }
  }
  private holdsOf(held: Map<string, string> | undefined): string[] {
    return [...(held?.keys() ?? [])];
  }
  private afterForget(page: Page, before: Map<string, string>, touched: string[]): void {
    const after = this.impacts(page);
    for (const uuid of touched) {
      const c = page.components.get(uuid);
      if (c !== undefined && before.get(uuid) !== after.get(uuid)) c.unchecked = true;
    }
  }

  /** The samples the docs promise, `name{label="value",…}` (labels sorted) to value; NaN: not checked. */
  samples(): Map<string, number> {
    const out = new Map<string, number>();
    const put = (name: string, labels: Record<string, string>, value: number) => out.set(seriesKey(name, labels), value);
    for (const page of this.pages.values()) {
      const sp = page.id;
      put('statusmate_incidents_created_total', { status_page: sp }, page.counters.incCreated);
      put('statusmate_incidents_finished_total', { status_page: sp }, page.counters.incFinished);
      put('statusmate_maintenances_created_total', { status_page: sp }, page.counters.mCreated);
      put('statusmate_maintenances_started_total', { status_page: sp }, page.counters.mStarted);
      put('statusmate_maintenances_finished_total', { status_page: sp }, page.counters.mFinished);
      let active = 0;
      for (const i of page.incidents.values()) {
        if (i.created === null || i.finished !== null) continue;
        active += 1;
        put('statusmate_incident_info', { status_page: sp, incident_uuid: i.uuid, title: i.title }, 1);
        put('statusmate_incident_start_timestamp_seconds', { status_page: sp, incident_uuid: i.uuid }, i.startAt ?? i.created.at);
      }
      put('statusmate_incidents_active', { status_page: sp }, active);
      const states = { scheduled: 0, in_progress: 0 };
      for (const m of page.maintenances.values()) {
        if (m.finished !== null) continue;
        const state = m.started === null ? 'scheduled' : 'in_progress';
        states[state] += 1;
        put('statusmate_maintenance_info', { status_page: sp, maintenance_uuid: m.uuid, title: m.title, state }, 1);
        if (m.startAt !== null) put('statusmate_maintenance_scheduled_start_timestamp_seconds', { status_page: sp, maintenance_uuid: m.uuid }, m.startAt);
        if (m.endAt !== null) put('statusmate_maintenance_scheduled_end_timestamp_seconds', { status_page: sp, maintenance_uuid: m.uuid }, m.endAt);
        if (m.started !== null) put('statusmate_maintenance_start_timestamp_seconds', { status_page: sp, maintenance_uuid: m.uuid }, m.started.at);
      }
      for (const [state, n] of Object.entries(states)) put('statusmate_maintenances_active', { status_page: sp, state }, n);
      histogram(put, 'statusmate_incident_duration_seconds', sp, page.incidentDurations);
      histogram(put, 'statusmate_maintenance_duration_seconds', sp, page.maintenanceDurations);
      const impacts = this.impacts(page);
      for (const c of page.components.values()) {
        const impact = impacts.get(c.uuid) ?? 'operational';
        const labels = { status_page: sp, component_uuid: c.uuid, component: c.name };
        for (const known of KNOWN_IMPACTS) put('statusmate_component_impact', { ...labels, impact: known }, impact === known ? 1 : 0);
        if (!(impact in LEVELS)) put('statusmate_component_impact', { ...labels, impact }, 1);
        put('statusmate_component_impact_level', labels, levelOf(impact));
        put('statusmate_component_last_change_timestamp_seconds', labels, c.unchecked ? Number.NaN : c.lastChange);
      }
    }
    return out;
  }
}

function histogram(put: (name: string, labels: Record<string, string>, value: number) => void, name: string, sp: string, values: number[]): void {
  for (const le of BUCKETS) put(`${name}_bucket`, { status_page: sp, le: String(le) }, values.filter((v) => v <= le).length);
  put(`${name}_bucket`, { status_page: sp, le: '+Inf' }, values.length);
  put(
    `${name}_sum`,
    { status_page: sp },
    values.reduce((a, b) => a + b, 0),
  );
  put(`${name}_count`, { status_page: sp }, values.length);
}

/** README "A component's impact". */
function impactOf(c: Component, holds: { start: Stamp; impact: string }[]): string {
  const update = c.update;
  const counted = holds.filter((h) => update === null || before(update.stamp, h.start)).map((h) => h.impact);
  if (update !== null) counted.push(update.impact);
  if (counted.length === 0) return 'operational';
  return counted.reduce((worst, impact) => {
    const [a, b] = [levelOf(impact), levelOf(worst)];
    return a > b || (a === b && impact < worst) ? impact : worst;
  });
}

/**
 * The last change of a component's impact as if its events had come in created_at order: its
 * events replayed in that order through a fresh oracle, the time of the last event that changed it.
 */
function replayLastChange(p: Page, c: Component, limits: OracleLimits, refusedObjects: ReadonlySet<string>): number {
  const page = p.id;
  // Its own events, and every event of the incidents and maintenances among them (a finish that
  // does not name it still ends what the incident's first event made it hold).
  const events = new Map(c.history.map((h) => [h.stamp.seq, h]));
  for (const h of c.history) for (const e of p.objectEvents.get(h.event.uuid) ?? []) events.set(e.stamp.seq, e);
  // A forget took the component's part in what came before it (README "Forgetting": "a component
  // takes its part in incidents and maintenances with it"): its updates go. An incident or
  // maintenance that named it before the forget and names it again after is one whose events the
  // exporter's replay no longer holds for it (docs/metrics.md: "an operator's forget"): booked as
  // it arrives, so the split, and the last change, depend on the order of arrival.
  const forgottenAt = p.forgotten.get(c.uuid) ?? -Infinity;
  for (const [seq, h] of events) {
    if (seq > forgottenAt) continue;
    if (h.event.type === 'component_impact_updated') events.delete(seq);
    else if ((h.event.components ?? []).some((named) => named.uuid === c.uuid)) return Number.NaN;
  }
  if ([...events.values()].some((h) => !h.stamp.trusted)) return Number.NaN;
  // An incident or maintenance a limit refused an event of: whether it held the component in
  // created_at order depends on what else was active when each event arrived (README "Limits").
  if ([...events.values()].some((h) => refusedObjects.has(`${p.id}\u0000${h.event.uuid}`))) return Number.NaN;
  // Two updates of the component in one second with different impacts: the one tie left to
  // arrival, which the ledger's replay may decide otherwise than the state; it then books the
  // late event as it arrives (docs/metrics.md), so the last change depends on the order of arrival.
  const updates = [...events.values()].filter((h) => h.event.type === 'component_impact_updated');
  if (updates.some((a) => updates.some((b) => a.stamp.at === b.stamp.at && a.event.impact !== b.event.impact))) return Number.NaN;
  const sorted = [...events.values()].sort((a, b) => order(a.stamp, b.stamp));
  // Declared, it is known (operational) from its declaration, unless an event older than that
  // replaces it: one that names it (docs/metrics.md, "the first event naming a declared component
  // that is older than its declaration"), not an older event of an incident or maintenance among
  // its events that named other components only.
  const names = (event: HookEvent) =>
    event.type === 'component_impact_updated' ? event.uuid === c.uuid : (event.components ?? []).some((named) => named.uuid === c.uuid);
  const declaredAt = c.declaredAt !== null && sorted.every((h) => !names(h.event) || h.stamp.at >= (c.declaredAt as number)) ? c.declaredAt : null;
  const unbounded = Number.POSITIVE_INFINITY;
  const replay = new CoreOracle(
    {
      ...limits,
      maxActiveIncidents: unbounded,
      maxActiveMaintenances: unbounded,
      maxComponents: unbounded,
      maxHoldings: unbounded,
      maxRetainedFinished: unbounded,
      maxDedupRecords: unbounded,
    },
    unbounded,
    unbounded,
    declaredAt === null ? [] : [{ page, components: [{ uuid: c.uuid, name: c.name }] }],
    declaredAt ?? 0,
  );
  let last = declaredAt ?? Number.NaN;
  let previous: string | undefined = declaredAt === null ? undefined : 'operational';
  for (const { stamp, event } of sorted) {
    replay.deliver({ ...event, attempt: 0, createdAt: stamp.at }, stamp.at);
    const level = replay.impactNow(page, c.uuid);
    if (level === undefined) continue;
    if (previous === undefined || level !== previous) last = stamp.at;
    previous = level;
  }
  return last;
}

export function seriesKey(name: string, labels: Record<string, string>): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
  return `${name}{${inner}}`;
}
