import { DURATION_BUCKETS } from './buckets.js';
import {
  eventTime,
  type AffectedComponent,
  type ComponentImpactUpdated,
  type IncidentEvent,
  type MaintenanceEvent,
  type StatusMateEvent,
} from './event.js';
import { observe } from './histogram.js';
import { impactLevel, isKnownImpact, MAINTENANCE_IMPACT, OPERATIONAL } from './impact.js';
import { cutLabel } from './labels.js';
import {
  emptyPageStats,
  emptyPatch,
  type ComponentImpact,
  type ComponentRecord,
  type IncidentRecord,
  type MaintenanceRecord,
  type PageStats,
  type Patch,
  type State,
} from './state.js';

export type Limits = { maxComponents: number };

export type ReduceOutcome = 'applied' | 'duplicate' | 'stale' | 'refused_limit';

/** Something worth a log line that the pure reducer cannot write itself. */
export type Notice =
  | { kind: 'unknown_impact'; statusPage: string; componentUuid: string; impact: string }
  | { kind: 'components_refused'; statusPage: string; componentUuids: string[]; maxComponents: number };

export type Decision = { outcome: ReduceOutcome; patch: Patch; notices: Notice[] };

/**
 * The semantics of the exporter: given the current state and one validated event, decides
 * what changes. Pure: it reads `state` and returns a Patch, never mutating anything, so that
 * the store can commit the patch (with the dedup record) before memory changes.
 */
export function reduce(
  state: State,
  event: StatusMateEvent,
  dedupKey: string,
  receivedAt: number,
  limits: Limits,
): Decision {
  if (state.seen.has(dedupKey)) return { outcome: 'duplicate', patch: emptyPatch(), notices: [] };

  const draft = new Draft(state, event.statusPage, receivedAt, limits);
  const t = eventTime(event, receivedAt);
  let outcome: 'applied' | 'stale';
  switch (event.type) {
    case 'component_impact_updated':
      outcome = componentImpactUpdated(draft, event, t);
      break;
    case 'incident_created':
      outcome = incidentCreated(draft, event, t);
      break;
    case 'incident_finished':
      outcome = incidentFinished(draft, event, t);
      break;
    case 'maintenance_created':
      outcome = maintenanceCreated(draft, event, t);
      break;
    case 'maintenance_started':
      outcome = maintenanceStarted(draft, event, t);
      break;
    case 'maintenance_finished':
      outcome = maintenanceFinished(draft, event, t);
      break;
  }
  const notices = draft.notices();
  return {
    outcome: draft.refused.length > 0 ? 'refused_limit' : outcome,
    patch: draft.toPatch(dedupKey),
    notices,
  };
}

function componentImpactUpdated(draft: Draft, event: ComponentImpactUpdated, t: number): 'applied' | 'stale' {
  const result = draft.setImpact(event.uuid, event.name, event.impact, t, true);
  return result === 'older' ? 'stale' : 'applied';
}

function incidentCreated(draft: Draft, event: IncidentEvent, t: number): 'applied' | 'stale' {
  const current = draft.incident(event.uuid);
  if (!current?.createdCounted) draft.count('incidentsCreated');

  if (current && (current.state === 'finished' || t < current.lastEventAt)) {
    // Superseded: the incident keeps its state, but a late `created` may still bring the
    // start that an earlier `finished` lacked, so its duration can be observed now.
    let next: IncidentRecord = { ...current, createdCounted: true };
    if (next.startAt === null) next = { ...next, startAt: event.startAt ?? t };
    if (next.state === 'finished') next = draft.observeIncidentDuration(next);
    draft.putIncident(next);
    return 'stale';
  }

  draft.putIncident({
    statusPage: draft.statusPage,
    uuid: event.uuid,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'active',
    startAt: event.startAt ?? current?.startAt ?? t,
    endAt: event.endAt ?? current?.endAt ?? null,
    components: mergeComponents(current?.components, event.components),
    lastEventAt: Math.max(t, current?.lastEventAt ?? t),
    createdCounted: true,
    finishedCounted: current?.finishedCounted ?? false,
    durationObserved: current?.durationObserved ?? false,
    finishedReceivedAt: null,
  });
  for (const component of event.components) {
    if (component.impact !== null) draft.setImpact(component.uuid, component.name, component.impact, t, false);
  }
  return 'applied';
}

function incidentFinished(draft: Draft, event: IncidentEvent, t: number): 'applied' | 'stale' {
  const current = draft.incident(event.uuid);
  if (!current?.finishedCounted) draft.count('incidentsFinished');

  if (current?.state === 'finished') {
    if (!current.finishedCounted) draft.putIncident({ ...current, finishedCounted: true });
    return 'stale';
  }

  const startAt = event.startAt ?? current?.startAt ?? null;
  const components = mergeComponents(current?.components, event.components);
  const finished = draft.observeIncidentDuration({
    statusPage: draft.statusPage,
    uuid: event.uuid,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'finished',
    startAt,
    endAt: event.endAt ?? t,
    components,
    lastEventAt: Math.max(t, current?.lastEventAt ?? t),
    createdCounted: current?.createdCounted ?? false,
    finishedCounted: true,
    durationObserved: current?.durationObserved ?? false,
    finishedReceivedAt: draft.receivedAt,
  });
  draft.putIncident(finished);
  for (const component of components) draft.restore(component.uuid, startAt, t, event.components);
  return 'applied';
}

function maintenanceCreated(draft: Draft, event: MaintenanceEvent, t: number): 'applied' | 'stale' {
  const current = draft.maintenance(event.uuid);
  if (!current?.createdCounted) draft.count('maintenancesCreated');

  if (current && (current.state !== 'scheduled' || t < current.lastEventAt)) {
    draft.putMaintenance({
      ...current,
      createdCounted: true,
      scheduledStart: current.scheduledStart ?? event.startAt,
      scheduledEnd: current.scheduledEnd ?? event.endAt,
    });
    return 'stale';
  }

  draft.putMaintenance({
    ...newMaintenance(draft.statusPage, event.uuid, t),
    ...current,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'scheduled',
    scheduledStart: event.startAt ?? current?.scheduledStart ?? null,
    scheduledEnd: event.endAt ?? current?.scheduledEnd ?? null,
    components: mergeComponents(current?.components, event.components),
    lastEventAt: Math.max(t, current?.lastEventAt ?? t),
    createdCounted: true,
  });
  return 'applied';
}

function maintenanceStarted(draft: Draft, event: MaintenanceEvent, t: number): 'applied' | 'stale' {
  const current = draft.maintenance(event.uuid);
  if (!current?.startedCounted) draft.count('maintenancesStarted');

  if (current && (current.state === 'finished' || (current.state === 'in_progress' && t < current.lastEventAt))) {
    let next: MaintenanceRecord = { ...current, startedCounted: true };
    if (next.startedAt === null) next = { ...next, startedAt: t };
    if (next.state === 'finished') next = draft.observeMaintenanceDuration(next);
    draft.putMaintenance(next);
    return 'stale';
  }

  draft.putMaintenance({
    ...newMaintenance(draft.statusPage, event.uuid, t),
    ...current,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'in_progress',
    scheduledStart: event.startAt ?? current?.scheduledStart ?? null,
    scheduledEnd: event.endAt ?? current?.scheduledEnd ?? null,
    startedAt: current?.startedAt ?? t,
    components: mergeComponents(current?.components, event.components),
    lastEventAt: Math.max(t, current?.lastEventAt ?? t),
    startedCounted: true,
  });
  for (const component of event.components) {
    draft.setImpact(component.uuid, component.name, component.impact ?? MAINTENANCE_IMPACT, t, false);
  }
  return 'applied';
}

function maintenanceFinished(draft: Draft, event: MaintenanceEvent, t: number): 'applied' | 'stale' {
  const current = draft.maintenance(event.uuid);
  if (!current?.finishedCounted) draft.count('maintenancesFinished');

  if (current?.state === 'finished') {
    if (!current.finishedCounted) draft.putMaintenance({ ...current, finishedCounted: true });
    return 'stale';
  }

  const components = mergeComponents(current?.components, event.components);
  const finished = draft.observeMaintenanceDuration({
    ...newMaintenance(draft.statusPage, event.uuid, t),
    ...current,
    title: titleOf(event.title, current?.title, event.uuid),
    state: 'finished',
    scheduledStart: current?.scheduledStart ?? event.startAt,
    scheduledEnd: current?.scheduledEnd ?? event.endAt,
    finishedAt: t,
    components,
    lastEventAt: Math.max(t, current?.lastEventAt ?? t),
    finishedCounted: true,
    finishedReceivedAt: draft.receivedAt,
  });
  draft.putMaintenance(finished);
  // A maintenance that never started never set any component, so finishing it changes none.
  if (current === undefined || current.state === 'in_progress') {
    const startedAt = current?.startedAt ?? current?.scheduledStart ?? event.startAt;
    for (const component of components) draft.restore(component.uuid, startedAt, t, event.components);
  }
  return 'applied';
}

function newMaintenance(statusPage: string, uuid: string, t: number): MaintenanceRecord {
  return {
    statusPage,
    uuid,
    title: uuid,
    state: 'scheduled',
    scheduledStart: null,
    scheduledEnd: null,
    startedAt: null,
    finishedAt: null,
    components: [],
    lastEventAt: t,
    createdCounted: false,
    startedCounted: false,
    finishedCounted: false,
    durationObserved: false,
    finishedReceivedAt: null,
  };
}

function titleOf(sent: string | null, known: string | undefined, uuid: string): string {
  if (sent !== null) return cutLabel(sent);
  return known ?? uuid;
}

/** The union of two affected-component lists; the newer entry for a component wins. */
function mergeComponents(known: ComponentImpact[] | undefined, sent: AffectedComponent[]): ComponentImpact[] {
  const merged = new Map<string, ComponentImpact>();
  for (const component of known ?? []) merged.set(component.uuid, component);
  for (const component of sent) merged.set(component.uuid, { uuid: component.uuid, impact: component.impact });
  return [...merged.values()];
}

type CounterField = 'incidentsCreated' | 'incidentsFinished' | 'maintenancesCreated' | 'maintenancesStarted' | 'maintenancesFinished';

/**
 * The records one event changes, read through to the committed state for the rest. Keeps the
 * reducer's functions free of bookkeeping: they ask for a record, and put back a new one.
 */
class Draft {
  readonly refused: string[] = [];
  private readonly unknownImpacts: { componentUuid: string; impact: string }[] = [];
  private stats: PageStats;
  private readonly components = new Map<string, ComponentRecord>();
  private readonly incidents = new Map<string, IncidentRecord>();
  private readonly maintenances = new Map<string, MaintenanceRecord>();
  private newComponents = 0;

  constructor(
    private readonly state: State,
    readonly statusPage: string,
    readonly receivedAt: number,
    private readonly limits: Limits,
  ) {
    const committed = state.pages.get(statusPage)?.stats ?? emptyPageStats(statusPage, receivedAt);
    this.stats = { ...committed, lastReceivedAt: receivedAt };
  }

  private get page() {
    return this.state.pages.get(this.statusPage);
  }

  component(uuid: string): ComponentRecord | undefined {
    return this.components.get(uuid) ?? this.page?.components.get(uuid);
  }

  incident(uuid: string): IncidentRecord | undefined {
    return this.incidents.get(uuid) ?? this.page?.incidents.get(uuid);
  }

  maintenance(uuid: string): MaintenanceRecord | undefined {
    return this.maintenances.get(uuid) ?? this.page?.maintenances.get(uuid);
  }

  putIncident(record: IncidentRecord): void {
    this.incidents.set(record.uuid, record);
  }

  putMaintenance(record: MaintenanceRecord): void {
    this.maintenances.set(record.uuid, record);
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
   * Sets a component's impact as of event time `t`. An event older than the one that last set
   * the component does not overwrite it; a new component past the limit is refused.
   */
  setImpact(uuid: string, name: string | null, impact: string, t: number, direct: boolean): 'set' | 'older' | 'refused' {
    const current = this.component(uuid);
    if (!isKnownImpact(impact)) this.unknownImpacts.push({ componentUuid: uuid, impact });
    if (!current) {
      if (!this.admitNewComponent(uuid)) return 'refused';
      this.components.set(uuid, {
        statusPage: this.statusPage,
        uuid,
        name: cutLabel(name ?? uuid),
        impact,
        changedAt: t,
        updatedAt: t,
        directUpdateAt: direct ? t : null,
      });
      return 'set';
    }
    if (t < current.updatedAt) return 'older';
    this.components.set(uuid, {
      ...current,
      name: name === null ? current.name : cutLabel(name),
      impact,
      changedAt: impact === current.impact ? current.changedAt : t,
      updatedAt: t,
      directUpdateAt: direct ? t : current.directUpdateAt,
    });
    return 'set';
  }

  /**
   * After an incident or maintenance ends, a component goes back to the worst impact among the
   * other active incidents and in-progress maintenances that affect it, or to operational —
   * unless it was updated directly after the one that ended had begun: that update stands.
   */
  restore(uuid: string, endedStartAt: number | null, t: number, sent: AffectedComponent[]): void {
    const current = this.component(uuid);
    if (current?.directUpdateAt != null && (endedStartAt === null || current.directUpdateAt > endedStartAt)) return;
    const impact = this.worstOtherImpact(uuid);
    if (!current) {
      if (!this.admitNewComponent(uuid)) return;
      const name = sent.find((component) => component.uuid === uuid)?.name ?? null;
      this.components.set(uuid, {
        statusPage: this.statusPage,
        uuid,
        name: cutLabel(name ?? uuid),
        impact,
        changedAt: t,
        updatedAt: t,
        directUpdateAt: null,
      });
      return;
    }
    this.components.set(uuid, {
      ...current,
      impact,
      changedAt: impact === current.impact ? current.changedAt : t,
      updatedAt: Math.max(t, current.updatedAt),
    });
  }

  private worstOtherImpact(componentUuid: string): string {
    // Starts below every level (an unknown impact is -1), so the first impact found is taken and
    // a later one only when strictly worse: ties go to the first.
    let worst: string | undefined;
    let worstLevel = -Infinity;
    const consider = (impact: string | null) => {
      if (impact === null) return;
      const level = impactLevel(impact);
      if (level > worstLevel) {
        worst = impact;
        worstLevel = level;
      }
    };
    // Committed holders, except those this event changes: their drafted record decides below.
    const holders = this.page?.holders.get(componentUuid);
    if (holders) {
      for (const holder of holders.values()) {
        if (holder.impact === null || holder.level <= worstLevel) continue;
        const drafted = holder.kind === 'incident' ? this.incidents.has(holder.uuid) : this.maintenances.has(holder.uuid);
        if (drafted) continue;
        worst = holder.impact;
        worstLevel = holder.level;
      }
    }
    for (const incident of this.incidents.values()) {
      if (incident.state !== 'active') continue;
      for (const component of incident.components) if (component.uuid === componentUuid) consider(component.impact);
    }
    for (const maintenance of this.maintenances.values()) {
      if (maintenance.state !== 'in_progress') continue;
      for (const component of maintenance.components) {
        if (component.uuid === componentUuid) consider(component.impact ?? MAINTENANCE_IMPACT);
      }
    }
    return worst ?? OPERATIONAL;
  }

  private admitNewComponent(uuid: string): boolean {
    if (this.state.componentCount + this.newComponents >= this.limits.maxComponents) {
      if (!this.refused.includes(uuid)) this.refused.push(uuid);
      return false;
    }
    this.newComponents += 1;
    return true;
  }

  notices(): Notice[] {
    const notices: Notice[] = this.unknownImpacts.map(({ componentUuid, impact }) => ({
      kind: 'unknown_impact',
      statusPage: this.statusPage,
      componentUuid,
      impact,
    }));
    if (this.refused.length > 0) {
      notices.push({
        kind: 'components_refused',
        statusPage: this.statusPage,
        componentUuids: this.refused,
        maxComponents: this.limits.maxComponents,
      });
    }
    return notices;
  }

  toPatch(dedupKey: string): Patch {
    const patch = emptyPatch();
    patch.pages.push(this.stats);
    patch.components.push(...this.components.values());
    patch.incidents.push(...this.incidents.values());
    patch.maintenances.push(...this.maintenances.values());
    patch.seen.push({ key: dedupKey, receivedAt: this.receivedAt });
    return patch;
  }
}
