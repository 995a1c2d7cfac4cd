import { cloneAlertState } from './alert-snapshot.js';
import { createAlertState, type AlertState } from './alert-state.js';
import { DURATION_BUCKETS } from './buckets.js';
import { emptyHistogram, type Histogram } from './histogram.js';
import { impactLevel, MAINTENANCE_IMPACT, UNKNOWN_IMPACT_LEVEL } from './impact.js';
import { applyToLedger, cloneLedger, createLedger, forgetLedgerComponent, forgetLedgerPage, type EvidenceEvent, type Ledger } from './ledger.js';
import type { StatusMateEvent } from './event.js';
import { applyEvidence } from './ledger-evidence.js';
import type { FoldRules } from './fold-rules.js';
import type { Stamp } from './order.js';

// The exporter's whole state is plain, JSON-serialisable data: what the stores persist row by
// row and what the collectors render. Records are never mutated in place; the reducer returns
// new records in a Patch, and applyPatch swaps them in after the store has committed them.

export type ComponentRecord = {
  statusPage: string;
  uuid: string;
  name: string;
  /**
   * What the exporter shows: derived from `direct`, `cleared` and the active incidents and
   * in-progress maintenances that hold the component (see Draft.derive), never set on its own,
   * so that the same events give the same impact in whatever order they arrive.
   */
  impact: string;
  /** When the impact last changed value (event time), for the last-change metric. */
  changedAt: number;
  /** The newest component_impact_updated, unless an incident or maintenance that began after it has ended since. */
  direct: { stamp: Stamp; impact: string } | null;
  /**
   * The latest start of an incident or maintenance of this component that has ended: a direct
   * update before it was overridden by that incident, and does not come back when it ends.
   */
  cleared: Stamp | null;
};

export type ComponentImpact = { uuid: string; impact: string | null };

export type IncidentRecord = {
  statusPage: string;
  uuid: string;
  title: string;
  state: 'active' | 'finished';
  startAt: number | null;
  endAt: number | null;
  components: ComponentImpact[];
  /** The newest event applied to this incident. */
  lastEvent: Stamp;
  /** The event that made it active: direct updates after it outlive the incident. Null until then. */
  since: Stamp | null;
  createdCounted: boolean;
  finishedCounted: boolean;
  durationObserved: boolean;
  /** Receipt time of the finishing event: the retention clock starts here. */
  finishedReceivedAt: number | null;
  /**
   * The finishing event's trusted created_at (null: none trusted), kept by event entries of
   * format 13 on (rules olderCreateStartsIncident): a finish timed before the create folded first
   * is not the record's last event. Absent when an earlier format's entry finished it.
   */
  finishedAt?: number | null;
};

export type MaintenanceState = 'scheduled' | 'in_progress' | 'finished';

export type MaintenanceRecord = {
  statusPage: string;
  uuid: string;
  title: string;
  state: MaintenanceState;
  scheduledStart: number | null;
  scheduledEnd: number | null;
  /** Event time of maintenance_started. */
  startedAt: number | null;
  /** Event time of maintenance_finished. */
  finishedAt: number | null;
  components: ComponentImpact[];
  /** The newest event applied to this maintenance. */
  lastEvent: Stamp;
  /** The event that started it: direct updates after it outlive the maintenance. Null until then. */
  since: Stamp | null;
  createdCounted: boolean;
  startedCounted: boolean;
  finishedCounted: boolean;
  durationObserved: boolean;
  finishedReceivedAt: number | null;
};

export type PageStats = {
  statusPage: string;
  incidentsCreated: number;
  incidentsFinished: number;
  maintenancesCreated: number;
  maintenancesStarted: number;
  maintenancesFinished: number;
  incidentDuration: Histogram;
  maintenanceDuration: Histogram;
  /** Receipt time of the last committed event for this page. */
  lastReceivedAt: number | null;
  /**
   * Receipt time of the page's first event: when its counters and histograms started from zero
   * (their OpenMetrics `_created`), in Unix seconds.
   */
  createdAt: number;
};

export type Page = {
  stats: PageStats;
  components: Map<string, ComponentRecord>;
  /** Every incident still remembered, finished ones included (until pruned). */
  incidents: Map<string, IncidentRecord>;
  maintenances: Map<string, MaintenanceRecord>;
  /**
   * The active incidents and unfinished maintenances: an index over the maps above, kept by
   * applyPatch, so that neither the reducer nor a scrape walks the finished ones retained for days.
   */
  activeIncidents: Map<string, IncidentRecord>;
  unfinishedMaintenances: Map<string, MaintenanceRecord>;
  /**
   * For each component, the active incidents and in-progress maintenances that set its impact,
   * so that restoring a component after one of them ends costs what affects that component only.
   */
  holders: Map<string, Map<string, Holder>>;
};

/**
 * An active incident or in-progress maintenance holding a component at an impact, with that
 * impact's level (kept here because restoring a component compares the levels of all its holders).
 */
export type Holder = { kind: 'incident' | 'maintenance'; uuid: string; impact: string | null; level: number; stamp: Stamp };

export type State = {
  pages: Map<string, Page>;
  /** Dedup keys of committed events, with their receipt time (pruned with the retention). */
  seen: Map<string, number>;
  componentCount: number;
  /**
   * Bumped whenever a component joins or leaves a page (a new uuid, a forget, a page dropped), so
   * that a renderer may keep each page's sorted component order while it stays the same.
   */
  membership: number;
  /** The highest stamp sequence of any record: the next event is stamped one above it (see Stamp). */
  lastSeq: number;
  /** Bumped by every applied patch, so renderers can cache per version. */
  version: number;
  /** What the records cost in memory, kept by applyPatch (see size.ts). */
  size: StateSize;
  /** Time per impact per component, in total and per UTC day (see ledger.ts). */
  ledger: Ledger;
  /** Alertmanager's alerts per component and what they measure of the page (see alerts.ts); folded apart from patches. */
  alerts: AlertState;
};

/**
 * The size measures bounded by MAX_HOLDINGS and MAX_RETAINED_FINISHED (the third, dedup
 * records, is `seen.size`). See size.ts for why counts and not bytes.
 */
export type StateSize = {
  /** Component entries of the unfinished incidents and maintenances. */
  holdings: number;
  /** Finished incidents and maintenances kept for retention, each weighing 1 + its components. */
  retained: number;
};

/**
 * When an incident began: its start_at, unless it was created again at an earlier time, where the
 * fold moved the start of its holds (`since`) back (README, "A component's impact"). The metrics
 * and the state view both say this one time.
 */
export function incidentStart(incident: IncidentRecord): number | null {
  const sinceAt = incident.since?.at ?? null;
  return incident.startAt !== null && sinceAt !== null && sinceAt < incident.startAt ? sinceAt : incident.startAt;
}

/** What one incident or maintenance record adds to the size measures. */
export function recordSize(record: IncidentRecord | MaintenanceRecord | undefined): StateSize {
  if (!record) return { holdings: 0, retained: 0 };
  return record.state === 'finished' ? { holdings: 0, retained: 1 + record.components.length } : { holdings: record.components.length, retained: 0 };
}

/** recordSize's holdings alone (a number, not a measures object: applyPatch and measureAfter swap records on every event). */
export function holdingsOf(record: IncidentRecord | MaintenanceRecord | undefined): number {
  return record === undefined || record.state === 'finished' ? 0 : record.components.length;
}

/** recordSize's retained weight alone. */
export function retainedOf(record: IncidentRecord | MaintenanceRecord | undefined): number {
  return record === undefined || record.state !== 'finished' ? 0 : 1 + record.components.length;
}

/** Swaps `before` for `after` in the size measures. */
function account(state: State, before: IncidentRecord | MaintenanceRecord | undefined, after: IncidentRecord | MaintenanceRecord | undefined): void {
  state.size.holdings += holdingsOf(after) - holdingsOf(before);
  state.size.retained += retainedOf(after) - retainedOf(before);
}

export type EntityKey = { statusPage: string; uuid: string };

/**
 * The components an event of an incident or maintenance adds to its record (its other events,
 * folded first, did not name them: a late first event's, or under rules foldedBeforeHeld any
 * event's), with what those events would have left in their evidence had the record held them
 * then: one event each, not naming the component, at its created_at (from the record's stamps).
 * See lateHeld and foldedBeforeHeld in held-evidence.ts, and keepEvidence.
 */
export type LateHeld = { components: readonly string[]; events: readonly EvidenceEvent[] };

/** Everything one event (or one pruning pass) changes: what the fold applies to the state. */
export type Patch = {
  pages: PageStats[];
  components: ComponentRecord[];
  incidents: IncidentRecord[];
  maintenances: MaintenanceRecord[];
  deleteIncidents: EntityKey[];
  deleteMaintenances: EntityKey[];
  /** Components to forget, with their holdings: a reload that no longer declares them, or an operator's `forget`. */
  deleteComponents: EntityKey[];
  /** Pages to forget whole. */
  deletePages: string[];
  seen: { key: string; receivedAt: number }[];
  forgetSeen: string[];
  /**
   * The time (seconds) at which the components of this patch have their impact, for the ledger:
   * set by the reducer and forget (folded patches) only, so that records a process merely holds
   * (the declared pages, a loaded snapshot) book nothing.
   */
  ledgerAt?: number;
  /**
   * The event a reducer's patch folds, with its trusted created_at (seconds; null when none): the
   * ledger keeps it as evidence of the components it concerns, and books it where its time falls
   * when it arrives after later ones (see ledger-evidence.ts).
   */
  ledgerEvent?: { event: StatusMateEvent; at: number | null; rules: FoldRules; late?: LateHeld };
  /** The first UTC day the ledger keeps: set by pruning (LEDGER_RETENTION_DAYS). */
  ledgerKeepFromDay?: number;
  /** Incidents and maintenances (`kind:uuid`) an operator forgot: gone from the availability report too. */
  ledgerForgetTouches?: { statusPage: string; key: string }[];
  /**
   * Components a `declare` entry names that the ledger does not know: booked as first known at
   * `ledgerAt`, operational (see declareComponent). The state's records are unchanged.
   */
  ledgerDeclare?: EntityKey[];
  /**
   * Components whose ledger holds only an assumption (a declaration) that this patch's first
   * event naming them, older than it, replaces: their ledger starts again at `ledgerAt` (see
   * restartsLedger in reducer.ts), at the patch's record of them, or at `impact` when the event
   * left their record as it was (a maintenance scheduled).
   */
  ledgerRestart?: Array<EntityKey & { impact?: string }>;
  /**
   * Set when the patch withdraws records only a process holds (a reload of its status pages file:
   * FoldLoop.reseed): the ledger is folded from the log, so the deletions leave it as it is.
   */
  keepLedger?: boolean;
};

export function emptyPatch(): Patch {
  return {
    pages: [],
    components: [],
    incidents: [],
    maintenances: [],
    deleteIncidents: [],
    deleteMaintenances: [],
    deleteComponents: [],
    deletePages: [],
    seen: [],
    forgetSeen: [],
  };
}

export function isEmptyPatch(patch: Patch): boolean {
  return (
    patch.pages.length === 0 &&
    patch.components.length === 0 &&
    patch.incidents.length === 0 &&
    patch.maintenances.length === 0 &&
    patch.deleteIncidents.length === 0 &&
    patch.deleteMaintenances.length === 0 &&
    patch.deleteComponents.length === 0 &&
    patch.deletePages.length === 0 &&
    patch.seen.length === 0 &&
    patch.forgetSeen.length === 0 &&
    patch.ledgerKeepFromDay === undefined
  );
}

export function createState(): State {
  return {
    pages: new Map(),
    seen: new Map(),
    componentCount: 0,
    membership: 0,
    lastSeq: 0,
    version: 0,
    size: { holdings: 0, retained: 0 },
    ledger: createLedger(),
    alerts: createAlertState(),
  };
}

/** A page's stats before its first event; `createdAt` is that event's receipt time. */
export function emptyPageStats(statusPage: string, createdAt = 0): PageStats {
  return {
    statusPage,
    incidentsCreated: 0,
    incidentsFinished: 0,
    maintenancesCreated: 0,
    maintenancesStarted: 0,
    maintenancesFinished: 0,
    incidentDuration: emptyHistogram(DURATION_BUCKETS),
    maintenanceDuration: emptyHistogram(DURATION_BUCKETS),
    lastReceivedAt: null,
    createdAt,
  };
}

function pageOf(state: State, statusPage: string): Page {
  let page = state.pages.get(statusPage);
  if (!page) {
    page = {
      stats: emptyPageStats(statusPage),
      components: new Map(),
      incidents: new Map(),
      maintenances: new Map(),
      activeIncidents: new Map(),
      unfinishedMaintenances: new Map(),
      holders: new Map(),
    };
    state.pages.set(statusPage, page);
  }
  return page;
}

function holds(record: IncidentRecord | MaintenanceRecord): boolean {
  return record.state === 'active' || record.state === 'in_progress';
}

function index(page: Page, kind: Holder['kind'], record: IncidentRecord | MaintenanceRecord | undefined, add: boolean): void {
  if (!record || !holds(record)) return;
  const key = `${kind}:${record.uuid}`;
  for (let i = 0; i < record.components.length; i += 1) {
    const component = record.components[i] as ComponentImpact;
    let holders = page.holders.get(component.uuid);
    if (add) {
      if (!holders) page.holders.set(component.uuid, (holders = new Map<string, Holder>()));
      const impact = component.impact ?? (kind === 'maintenance' ? MAINTENANCE_IMPACT : null);
      holders.set(key, { kind, uuid: record.uuid, impact, level: impact === null ? UNKNOWN_IMPACT_LEVEL : impactLevel(impact), stamp: record.lastEvent });
    } else if (holders) {
      holders.delete(key);
      if (holders.size === 0) page.holders.delete(component.uuid);
    }
  }
}

/**
 * Swaps a patch into the in-memory state and keeps the page indexes. The only function that
 * mutates State: the fold loop calls it with each entry's decision, after the entry is durable.
 */
export function applyPatch(state: State, patch: Patch): void {
  // Indexed loops, not for-of: the optimised applyPatch still made an iterator for each of its
  // lists (about 350 bytes a call), and a replay of a component's evidence applies a patch for
  // every event it folds.
  for (let i = 0; i < patch.pages.length; i += 1) {
    const stats = patch.pages[i] as PageStats;
    pageOf(state, stats.statusPage).stats = stats;
  }
  // The availability ledger books what a folded patch changes (see ledger.ts).
  applyToLedger(state.ledger, patch);
  for (let i = 0; i < patch.components.length; i += 1) {
    const component = patch.components[i] as ComponentRecord;
    const components = pageOf(state, component.statusPage).components;
    if (!components.has(component.uuid)) {
      state.componentCount += 1;
      state.membership += 1;
    }
    components.set(component.uuid, component);
    // `cleared` may hold the stamp of an incident since pruned: the next event must still come after it.
    if (component.direct && component.direct.stamp.seq > state.lastSeq) state.lastSeq = component.direct.stamp.seq;
    if (component.cleared && component.cleared.seq > state.lastSeq) state.lastSeq = component.cleared.seq;
  }
  for (let i = 0; i < patch.incidents.length; i += 1) {
    const incident = patch.incidents[i] as IncidentRecord;
    if (incident.lastEvent.seq > state.lastSeq) state.lastSeq = incident.lastEvent.seq;
    const page = pageOf(state, incident.statusPage);
    account(state, page.incidents.get(incident.uuid), incident);
    index(page, 'incident', page.incidents.get(incident.uuid), false);
    page.incidents.set(incident.uuid, incident);
    index(page, 'incident', incident, true);
    if (incident.state === 'active') page.activeIncidents.set(incident.uuid, incident);
    else page.activeIncidents.delete(incident.uuid);
  }
  for (let i = 0; i < patch.maintenances.length; i += 1) {
    const maintenance = patch.maintenances[i] as MaintenanceRecord;
    if (maintenance.lastEvent.seq > state.lastSeq) state.lastSeq = maintenance.lastEvent.seq;
    const page = pageOf(state, maintenance.statusPage);
    account(state, page.maintenances.get(maintenance.uuid), maintenance);
    index(page, 'maintenance', page.maintenances.get(maintenance.uuid), false);
    page.maintenances.set(maintenance.uuid, maintenance);
    index(page, 'maintenance', maintenance, true);
    if (maintenance.state !== 'finished') page.unfinishedMaintenances.set(maintenance.uuid, maintenance);
    else page.unfinishedMaintenances.delete(maintenance.uuid);
  }
  for (let i = 0; i < patch.deleteIncidents.length; i += 1) {
    const key = patch.deleteIncidents[i] as EntityKey;
    const page = state.pages.get(key.statusPage);
    if (!page) continue;
    account(state, page.incidents.get(key.uuid), undefined);
    index(page, 'incident', page.incidents.get(key.uuid), false);
    page.incidents.delete(key.uuid);
    page.activeIncidents.delete(key.uuid);
  }
  for (let i = 0; i < patch.deleteMaintenances.length; i += 1) {
    const key = patch.deleteMaintenances[i] as EntityKey;
    const page = state.pages.get(key.statusPage);
    if (!page) continue;
    account(state, page.maintenances.get(key.uuid), undefined);
    index(page, 'maintenance', page.maintenances.get(key.uuid), false);
    page.maintenances.delete(key.uuid);
    page.unfinishedMaintenances.delete(key.uuid);
  }
  for (let i = 0; i < patch.deleteComponents.length; i += 1) {
    const key = patch.deleteComponents[i] as EntityKey;
    const page = state.pages.get(key.statusPage);
    if (!patch.keepLedger) forgetLedgerComponent(state.ledger, key.statusPage, key.uuid);
    if (!page?.components.delete(key.uuid)) continue;
    state.componentCount -= 1;
    state.membership += 1;
    // `holders` indexes the incidents and maintenances, kept above as they change: a forget's
    // patch takes the component out of the records naming it; a reload's withdrawal of the
    // file's record leaves them holding it, as a restart, which indexes the records, has it.
  }
  for (let i = 0; i < patch.deletePages.length; i += 1) {
    const statusPage = patch.deletePages[i] as string;
    if (!patch.keepLedger) forgetLedgerPage(state.ledger, statusPage);
    const page = state.pages.get(statusPage);
    if (!page) continue;
    for (const record of [...page.incidents.values(), ...page.maintenances.values()]) account(state, record, undefined);
    state.componentCount -= page.components.size;
    state.membership += 1;
    state.pages.delete(statusPage);
  }
  for (let i = 0; i < patch.seen.length; i += 1) {
    const { key, receivedAt } = patch.seen[i] as { key: string; receivedAt: number };
    state.seen.set(key, receivedAt);
  }
  for (let i = 0; i < patch.forgetSeen.length; i += 1) state.seen.delete(patch.forgetSeen[i] as string);
  // Then the ledger's evidence, against the state the patch made (a late event re-books there).
  applyEvidence(state, patch);
  state.version += 1;
}

/** Copies the maps of a state (records are immutable and shared), so two owners never share a map. */
export function cloneState(state: State): State {
  const pages = new Map<string, Page>();
  for (const [name, page] of state.pages) {
    pages.set(name, {
      stats: page.stats,
      components: new Map(page.components),
      incidents: new Map(page.incidents),
      maintenances: new Map(page.maintenances),
      activeIncidents: new Map(page.activeIncidents),
      unfinishedMaintenances: new Map(page.unfinishedMaintenances),
      holders: new Map([...page.holders].map(([uuid, holders]) => [uuid, new Map(holders)])),
    });
  }
  return {
    pages,
    seen: new Map(state.seen),
    componentCount: state.componentCount,
    membership: state.membership,
    lastSeq: state.lastSeq,
    version: state.version,
    size: { ...state.size },
    ledger: cloneLedger(state.ledger),
    alerts: cloneAlertState(state.alerts),
  };
}

/**
 * Makes `target` hold what `source` holds, in place: everything that reads `target` (the metrics
 * renderer) sees the replacement. The version moves past both, so no renderer keeps a stale cache.
 */
export function replaceState(target: State, source: State): void {
  target.pages = source.pages;
  target.seen = source.seen;
  target.componentCount = source.componentCount;
  target.lastSeq = source.lastSeq;
  target.size = { ...source.size };
  target.ledger = source.ledger;
  target.alerts = source.alerts;
  target.version = Math.max(target.version, source.version) + 1;
}

/** Active incidents over all status pages (what MAX_ACTIVE_INCIDENTS bounds). */
export function activeIncidentCount(state: State): number {
  let count = 0;
  for (const page of state.pages.values()) count += page.activeIncidents.size;
  return count;
}

/** Scheduled and in-progress maintenances over all status pages (what MAX_ACTIVE_MAINTENANCES bounds). */
export function unfinishedMaintenanceCount(state: State): number {
  let count = 0;
  for (const page of state.pages.values()) count += page.unfinishedMaintenances.size;
  return count;
}
