import type { FoldRules } from './fold-rules.js';
import { DURATION_BUCKETS } from './buckets.js';
import { observe } from './histogram.js';
import { impactLevel, isKnownImpact, MAINTENANCE_IMPACT, OPERATIONAL, UNKNOWN_IMPACT_LEVEL } from './impact.js';
import { lastEntryOf } from './component-lookup.js';
import { cutLabel } from './labels.js';
import { asTrusted, isBefore, trustedCreatedAt, type Stamp, type TieOrder } from './order.js';
import {
  emptyPageStats,
  type ComponentRecord,
  type IncidentRecord,
  type MaintenanceRecord,
  type Page,
  type PageStats,
  type LateHeld,
  type Patch,
  type State,
} from './state.js';

/** Whether two stored stamps are one: the same time, place in arrival order and tie fields. */
const sameStamp = (a: Stamp, b: Stamp): boolean => a.at === b.at && a.seq === b.seq && a.rank === b.rank && a.object === b.object;

const NONE: readonly never[] = [];

/** A start with no time and no place in arrival order: before anything known here, so it overrides no direct update. */
const clearsNothing = (stamp: Stamp): boolean => stamp.at === null && stamp.seq < 0;

export type CounterField = 'incidentsCreated' | 'incidentsFinished' | 'maintenancesCreated' | 'maintenancesStarted' | 'maintenancesFinished';

/** What one event is reduced with besides the state: its receipt, its stamp and the limits. */
export type DraftContext = {
  statusPage: string;
  receivedAt: number;
  /** Where the event stands in the order of events (see order.ts). */
  stamp: Stamp;
  /** The rules of the release that appended its log entry (fold-rules.ts): how ties of created_at are ordered, and more. */
  rules: FoldRules;
  /** The event's time for values (start, end, last change): its trusted created_at, else its receipt. */
  t: number;
  maxComponents: number;
  maxClockSkewSeconds: number;
};

/**
 * The records one event changes, read through to the committed state for the rest. Keeps the
 * reducer's functions free of bookkeeping: they ask for a record, and put back a new one.
 *
 * Every choice here depends on data only (values, uuids, stamps), never on the order of a Map,
 * which differs between a process that built its state event by event and one that loaded it.
 */
export class Draft {
  readonly statusPage: string;
  readonly receivedAt: number;
  readonly stamp: Stamp;
  /** How ties of created_at are ordered (the entry's rules). */
  readonly ties: TieOrder;
  /** Whether a late first event brings its object's later events into the evidence of the components it adds (the entry's rules). */
  readonly lateHeld: boolean;
  /** Whether an event adding components to its object's record brings the object's events folded before it into their evidence (the entry's rules). */
  readonly foldedBeforeHeld: boolean;
  /** Whether an ended hold forgets the direct updates before its own start (the entry's rules). */
  private readonly clearsBeforeOwnStart: boolean;
  /** Whether an ended hold's start with no time leaves a kept start with one in place (the entry's rules). */
  private readonly clearedKeepsTimedStart: boolean;
  /** Whether a finished incident's re-sent finish makes the components it names known (the entry's rules). */
  readonly staleFinishKnows: boolean;
  /** Whether a create timed before the start an incident's record keeps moves that start back (the entry's rules). */
  readonly olderCreateStartsIncident: boolean;
  /** Whether a late create of an incident first seen finished begins it at the create's start (the entry's rules). */
  readonly createStartsFinishedFirst: boolean;
  /** Whether an incident's start_at is judged against its event's time too (the entry's rules). */
  private readonly startAtJudgedByItsEvent: boolean;
  readonly t: number;
  /** New components past MAX_COMPONENTS, in the order the event named them (made when one is: most events refuse none). */
  private refused: Set<string> | undefined;
  readonly unknownImpacts: { componentUuid: string; impact: string }[] = [];
  private stats: PageStats;
  /** The committed page (the state does not change while an event is reduced: the reducer is pure). */
  private readonly page: Page | undefined;
  // The drafted records, each map made when its first record is put: most events draft no
  // maintenance or no incident, and a replay of a component's evidence makes a Draft per event.
  private components: Map<string, ComponentRecord> | undefined;
  private incidents: Map<string, IncidentRecord> | undefined;
  private maintenances: Map<string, MaintenanceRecord> | undefined;
  /** Components this event may create: admitted under MAX_COMPONENTS, not yet in the state. */
  private admittedNew: Set<string> | undefined;
  /** Incidents and maintenances (`kind:uuid`) being forgotten: their committed holds no longer count. */
  private dropped: Set<string> | undefined;
  /** The components an event adds to its incident's or maintenance's record, with the object's other events, for the ledger (see lateHeld in held-evidence.ts). */
  late: LateHeld | undefined;

  constructor(
    private readonly state: State,
    private readonly context: DraftContext,
  ) {
    this.statusPage = context.statusPage;
    this.receivedAt = context.receivedAt;
    this.stamp = context.stamp;
    this.ties = context.rules.ties;
    this.lateHeld = context.rules.lateHeld;
    this.foldedBeforeHeld = context.rules.foldedBeforeHeld;
    this.clearsBeforeOwnStart = context.rules.clearsBeforeOwnStart;
    this.clearedKeepsTimedStart = context.rules.clearedKeepsTimedStart;
    this.staleFinishKnows = context.rules.staleFinishKnows;
    this.olderCreateStartsIncident = context.rules.olderCreateStartsIncident;
    this.createStartsFinishedFirst = context.rules.createStartsFinishedFirst;
    this.startAtJudgedByItsEvent = context.rules.startAtJudgedByItsEvent;
    this.t = context.t;
    this.page = state.pages.get(this.statusPage);
    const committed = this.page?.stats ?? emptyPageStats(this.statusPage, this.receivedAt);
    this.stats = { ...committed, lastReceivedAt: this.receivedAt };
  }

  /**
   * An incident's start_at, or null when it is not trusted: further ahead of receipt than the skew
   * allows, or (rules startAtJudgedByItsEvent) further ahead of its own event's time (`t`), which
   * a late-delivered event's start_at can be though its time has passed by its receipt.
   */
  trustedStart(startAt: number | null): number | null {
    if (this.startAtJudgedByItsEvent && startAt !== null && startAt - this.t > this.context.maxClockSkewSeconds) return null;
    return this.trusted(startAt);
  }

  /** A time on StatusMate's clock, or null when it is further ahead of receipt than the skew allowed. */
  trusted(time: number | null): number | null {
    return trustedCreatedAt(time, this.receivedAt, this.context.maxClockSkewSeconds);
  }

  /** Whether this event comes before the one that wrote `stamp` (so must not overwrite it). */
  isBefore(stamp: Stamp): boolean {
    return isBefore(this.stamp, asTrusted(stamp, this.receivedAt, this.context.maxClockSkewSeconds));
  }

  component(uuid: string): ComponentRecord | undefined {
    return this.components?.get(uuid) ?? this.page?.components.get(uuid);
  }

  incident(uuid: string): IncidentRecord | undefined {
    return this.incidents?.get(uuid) ?? this.page?.incidents.get(uuid);
  }

  maintenance(uuid: string): MaintenanceRecord | undefined {
    return this.maintenances?.get(uuid) ?? this.page?.maintenances.get(uuid);
  }

  putIncident(record: IncidentRecord): void {
    (this.incidents ??= new Map()).set(record.uuid, record);
  }

  putMaintenance(record: MaintenanceRecord): void {
    (this.maintenances ??= new Map()).set(record.uuid, record);
  }

  /** Forgets an incident or maintenance for derive: what it holds counts no more (see forget.ts). */
  drop(kind: 'incident' | 'maintenance', uuid: string): void {
    (this.dropped ??= new Set()).add(`${kind}:${uuid}`);
  }

  /** The components this draft changed. */
  changedComponents(): ComponentRecord[] {
    return this.components ? [...this.components.values()] : [];
  }

  count(field: CounterField): void {
    this.stats = { ...this.stats, [field]: this.stats[field] + 1 };
  }

  observeIncidentDuration(incident: IncidentRecord): IncidentRecord {
    if (incident.durationObserved || incident.startAt === null || incident.endAt === null) return incident;
    const seconds = incident.endAt - incident.startAt;
    if (seconds >= 0) {
      this.stats = { ...this.stats, incidentDuration: observe(this.stats.incidentDuration, DURATION_BUCKETS, seconds) };
    }
    return { ...incident, durationObserved: true };
  }

  observeMaintenanceDuration(maintenance: MaintenanceRecord): MaintenanceRecord {
    if (maintenance.durationObserved || maintenance.startedAt === null || maintenance.finishedAt === null) {
      return maintenance;
    }
    const seconds = maintenance.finishedAt - maintenance.startedAt;
    if (seconds >= 0) {
      this.stats = {
        ...this.stats,
        maintenanceDuration: observe(this.stats.maintenanceDuration, DURATION_BUCKETS, seconds),
      };
    }
    return { ...maintenance, durationObserved: true };
  }

  /**
   * Whether the component exists or may be created by this event: a new component past
   * MAX_COMPONENTS is refused (and remembered, for the notice). Incidents and maintenances hold
   * only admitted components, so none holds more than MAX_COMPONENTS, nor a refused one.
   */
  admit(uuid: string): boolean {
    if (this.admittedNew?.has(uuid) === true || this.component(uuid)) return true;
    if (this.state.componentCount + (this.admittedNew?.size ?? 0) >= this.context.maxComponents) {
      (this.refused ??= new Set()).add(uuid);
      return false;
    }
    (this.admittedNew ??= new Set()).add(uuid);
    return true;
  }

  /**
   * Records a component_impact_updated. One before the newest direct update, or before the start
   * of an incident or maintenance of the component that has ended since, changes nothing.
   */
  setDirect(uuid: string, name: string | null, impact: string): 'set' | 'older' | 'refused' {
    if (!isKnownImpact(impact)) this.unknownImpacts.push({ componentUuid: uuid, impact });
    const current = this.component(uuid);
    if (!current && !this.admit(uuid)) return 'refused';
    if (current?.direct && this.isBefore(current.direct.stamp)) return 'older';
    if (current?.cleared && this.isBefore(current.cleared)) return 'older';
    this.update(uuid, name, current, { direct: { stamp: this.stamp, impact } });
    return 'set';
  }

  /**
   * Makes a component known (operational when new and unheld) and shows what its holders now
   * say: called for every component an incident or maintenance event names, after the event's
   * record was put, so that the drafted record counts.
   */
  touch(uuid: string, name: string | null): void {
    const current = this.component(uuid);
    if (!current && !this.admit(uuid)) return;
    this.update(uuid, name, current, {});
  }

  /**
   * An incident or maintenance of the component that began at `since` has ended: a direct update
   * from before `since` was overridden by it and is forgotten; one after it stands. `cleared`
   * keeps the latest such start; one with no time and no place (`{ at: null, seq: -1 }`: it began
   * before anything known here) clears nothing, and gives way to any other, so that the start
   * another event brings later counts whichever of them arrived first.
   *
   * The update is checked against `since` itself too (rules clearsBeforeOwnStart): stamps are
   * ordered by time where both have one and by arrival otherwise, so an update with no time can
   * be before `since` (it arrived first) and not before a later kept start that has no place in
   * arrival order (seq -1); the hold ending now still overrode it.
   *
   * Of a kept start and `since`, one with a trusted time and one without, the timed one stays,
   * whichever came first (rules clearedKeepsTimedStart): `cleared` is only ever compared with
   * updates arriving later, which come after every start placed by arrival, so the untimed one
   * would make none older, and the timed one still does (an update timed before it).
   *
   * `replaces`: the start this hold's end kept before, superseded by `since` (an incident's create
   * timed before the start its record kept: rules olderCreateStartsIncident). A component whose
   * record kept exactly that start keeps `since` instead.
   */
  end(uuid: string, name: string | null, since: Stamp, replaces?: Stamp): void {
    const current = this.component(uuid);
    if (!current && !this.admit(uuid)) return;
    // The start this very hold's end kept before, now known to be later than its real one
    // (rules olderCreateStartsIncident): `since` stands in its place.
    const kept = replaces !== undefined && current?.cleared != null && sameStamp(current.cleared, replaces) ? null : current?.cleared;
    const byTime = this.clearedKeepsTimedStart && kept !== null && kept !== undefined && this.timed(kept) !== this.timed(since);
    const cleared = byTime ? (this.timed(kept) ? kept : since) : kept && !clearsNothing(kept) && !this.before(kept, since) ? kept : since;
    const stamp = current?.direct?.stamp;
    const overridden = stamp !== undefined && (this.before(stamp, cleared) || (this.clearsBeforeOwnStart && this.before(stamp, since)));
    const direct = overridden ? null : (current?.direct ?? null);
    this.update(uuid, name, current, { direct, cleared });
  }

  /** Whether a stored stamp has a time trusted as seen from this event (else it is ordered by arrival). */
  private timed(stamp: Stamp): boolean {
    return asTrusted(stamp, this.receivedAt, this.context.maxClockSkewSeconds).at !== null;
  }

  /** Whether stored stamp `a` comes before stored stamp `b`, as seen from this event. */
  private before(a: Stamp, b: Stamp): boolean {
    const skew = this.context.maxClockSkewSeconds;
    return isBefore(asTrusted(a, this.receivedAt, skew), asTrusted(b, this.receivedAt, skew));
  }

  private update(uuid: string, name: string | null, current: ComponentRecord | undefined, change: Partial<Pick<ComponentRecord, 'direct' | 'cleared'>>): void {
    const base: ComponentRecord = current ?? {
      statusPage: this.statusPage,
      uuid,
      name: cutLabel(name ?? uuid),
      impact: OPERATIONAL,
      changedAt: this.t,
      direct: null,
      cleared: null,
    };
    const next: ComponentRecord = { ...base, ...change };
    if (name !== null) next.name = cutLabel(name);
    next.impact = this.derive(next);
    if (current && next.impact === current.impact && next.name === current.name && next.direct === current.direct && next.cleared === current.cleared) return;
    if (current && next.impact !== current.impact) next.changedAt = this.t;
    (this.components ??= new Map()).set(uuid, next);
  }

  /**
   * A component's impact, from what is known of it: the worst impact held on it by the active
   * incidents and in-progress maintenances — those that began before its direct update are
   * overridden by that update, which counts instead — or operational when nothing holds it.
   *
   * Equal levels (two unknown impacts) are decided on the impact's text, never on the order of a
   * Map, which differs between a process that built its state event by event and one that loaded it.
   */
  private derive(component: ComponentRecord): string {
    const direct = component.direct;
    let worst: string | undefined = direct?.impact;
    let worstLevel = direct ? impactLevel(direct.impact) : -Infinity;
    // `level` is the impact's: a holder keeps it, so that a component held by many is not looked up for each.
    const consider = (impact: string | null, stamp: Stamp, level: number) => {
      if (impact === null) return;
      if (direct && !this.before(direct.stamp, stamp)) return;
      if (level > worstLevel || (level === worstLevel && worst !== undefined && impact < worst)) {
        worst = impact;
        worstLevel = level;
      }
    };
    // Committed holders, except those this event changes: their drafted record decides below.
    const holders = this.page?.holders.get(component.uuid);
    if (holders) {
      for (const holder of holders.values()) {
        const drafted = (holder.kind === 'incident' ? this.incidents : this.maintenances)?.has(holder.uuid) === true;
        if (!drafted && (this.dropped === undefined || !this.dropped.has(`${holder.kind}:${holder.uuid}`))) consider(holder.impact, holder.stamp, holder.level);
      }
    }
    for (const incident of this.incidents?.values() ?? NONE) {
      if (incident.state !== 'active') continue;
      const entry = lastEntryOf(incident.components, component.uuid);
      if (entry) consider(entry.impact, incident.lastEvent, entry.impact === null ? UNKNOWN_IMPACT_LEVEL : impactLevel(entry.impact));
    }
    for (const maintenance of this.maintenances?.values() ?? NONE) {
      if (maintenance.state !== 'in_progress') continue;
      const entry = lastEntryOf(maintenance.components, component.uuid);
      if (!entry) continue;
      const held = entry.impact ?? MAINTENANCE_IMPACT;
      consider(held, maintenance.lastEvent, impactLevel(held));
    }
    return worst ?? OPERATIONAL;
  }

  notices(): { unknownImpacts: Draft['unknownImpacts']; refused: string[] } {
    return { unknownImpacts: this.unknownImpacts, refused: this.refused ? [...this.refused] : [] };
  }

  toPatch(dedupKey: string): Patch {
    // emptyPatch's fields in its order, each list made at its length (spreading a map's values
    // into a push made an arguments list and grew the list).
    return {
      pages: [this.stats],
      components: this.components ? Array.from(this.components.values()) : [],
      incidents: this.incidents ? Array.from(this.incidents.values()) : [],
      maintenances: this.maintenances ? Array.from(this.maintenances.values()) : [],
      deleteIncidents: [],
      deleteMaintenances: [],
      deleteComponents: [],
      deletePages: [],
      seen: [{ key: dedupKey, receivedAt: this.receivedAt }],
      forgetSeen: [],
      ledgerAt: this.t,
    };
  }
}
