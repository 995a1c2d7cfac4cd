// StatusMate webhook bodies for the load: a realistic mix of the six event types, every one a
// distinct event that the exporter must apply (none is a duplicate and none can be stale), so
// the dedup shortcut never hides the work and the exporter's counters can be checked exactly.
//
// Ordering under 50 concurrent connections is what makes that hard: a finish that overtakes its
// create, or a component update overtaken by a newer one, would be answered `stale`. So a
// follow-up event (incident_finished, maintenance_started/finished) only ever names an object
// whose previous event has already been answered 200, and a component_impact_updated only names
// a component with no event of its own in flight (those components are touched by nothing else).

import { componentName, componentUuid, IMPACTS, incidentUuid, isoTime, maintenanceUuid, PAGE, T0 } from './ids.mjs';

// 20 slots: 25 % incident_created, 20 % incident_finished, 10 % each maintenance step, 25 % component updates.
const PATTERN = ['IC', 'CU', 'IF', 'MC', 'IC', 'CU', 'MS', 'IF', 'IC', 'MF', 'CU', 'IC', 'IF', 'MC', 'CU', 'MS', 'IC', 'IF', 'MF', 'CU'];
const INCIDENT_IMPACTS = ['degraded_performance', 'partial_outage', 'major_outage'];
const COMPONENTS_PER_INCIDENT = 5;

/**
 * Component pools (indices into componentUuid): incidents name components in [0, 400), maintenances
 * in [400, 500), direct updates go to [500, 1000). `offset` moves all of them (onto a pre-built state).
 */
export function createWorkload({ space = 1, offset = 0 } = {}) {
  // Event times grow with the sequence number; each space starts 10^6 s after the previous one,
  // so a later run on the same exporter is never older than an earlier one.
  const tBase = T0 + space * 1_000_000;
  const incidentPool = 400;
  const maintenancePool = 100;
  const updatePool = 500;
  let nextId = 0;
  let incidentSeq = 0;
  let maintenanceSeq = 0;
  let updateCursor = 0;
  const inFlight = new Map(); // id -> { body, onConfirm }
  const busyComponents = new Set();
  const toFinish = []; // incidents confirmed created: { n, startAt }
  const toStart = []; // maintenances confirmed created: { n }
  const toEnd = []; // maintenances confirmed started: { n }
  const generated = {
    incident_created: 0,
    incident_finished: 0,
    maintenance_created: 0,
    maintenance_started: 0,
    maintenance_finished: 0,
    component_impact_updated: 0,
  };
  let toFinishHead = 0;
  let toStartHead = 0;
  let toEndHead = 0;

  const affected = (indices, impactOf) =>
    indices
      .map((i) => {
        const impact = impactOf(i);
        return `{"impact":"${impact}","component_details":{"name":"${componentName(i)}","impact":"${impact}","component_uuid":"${componentUuid(i)}"}}`;
      })
      .join(',');
  const incidentComponents = (n) => Array.from({ length: COMPONENTS_PER_INCIDENT }, (_, j) => offset + ((n * COMPONENTS_PER_INCIDENT + j) % incidentPool));
  const maintenanceComponents = (n) => [offset + incidentPool + ((n * 2) % maintenancePool), offset + incidentPool + ((n * 2 + 1) % maintenancePool)];
  const envelope = (type, uuid, title, t, rest) =>
    `{"text":"${title}","meta":{"type":"${type}","uuid":"${uuid}","title":"${title}","created_at":"${isoTime(t)}","delivery_attempt":0,"status_page":"${PAGE}"${rest}}}`;

  function incidentCreated(id, t) {
    const n = incidentSeq++;
    const impact = INCIDENT_IMPACTS[n % INCIDENT_IMPACTS.length];
    const body = envelope(
      'incident_created',
      incidentUuid(n, space),
      `Elevated error rates on the API (bench incident ${n})`,
      t,
      `,"start_at":"${isoTime(t)}","end_at":null,"affected_components":[${affected(incidentComponents(n), () => impact)}]`,
    );
    return { type: 'incident_created', body, onConfirm: () => toFinish.push({ n, startAt: t }) };
  }

  function incidentFinished(id, t) {
    const { n, startAt } = toFinish[toFinishHead++];
    const body = envelope(
      'incident_finished',
      incidentUuid(n, space),
      `Elevated error rates on the API (bench incident ${n})`,
      t,
      `,"start_at":"${isoTime(startAt)}","end_at":"${isoTime(t)}","affected_components":[${affected(incidentComponents(n), () => 'operational')}]`,
    );
    return { type: 'incident_finished', body };
  }

  function maintenanceCreated(id, t) {
    const n = maintenanceSeq++;
    const body = envelope(
      'maintenance_created',
      maintenanceUuid(n, space),
      `Database upgrade (bench maintenance ${n})`,
      t,
      `,"start_at":"${isoTime(t + 3600)}","end_at":"${isoTime(t + 7200)}","affected_components":[${affected(maintenanceComponents(n), () => 'under_maintenance')}]`,
    );
    return { type: 'maintenance_created', body, onConfirm: () => toStart.push({ n, scheduled: t }) };
  }

  function maintenanceStep(type, entry, t, onConfirm) {
    const { n, scheduled } = entry;
    const body = envelope(
      type,
      maintenanceUuid(n, space),
      `Database upgrade (bench maintenance ${n})`,
      t,
      `,"start_at":"${isoTime(scheduled + 3600)}","end_at":"${isoTime(scheduled + 7200)}","affected_components":[${affected(maintenanceComponents(n), () => 'under_maintenance')}]`,
    );
    return { type, body, onConfirm };
  }

  function componentUpdate(id, t) {
    for (let tries = 0; tries < updatePool; tries += 1) {
      const index = offset + incidentPool + maintenancePool + (updateCursor++ % updatePool);
      if (busyComponents.has(index)) continue;
      busyComponents.add(index);
      const uuid = componentUuid(index);
      const body = `{"text":"${componentName(index)}","meta":{"type":"component_impact_updated","uuid":"${uuid}","title":"${componentName(index)}","impact":"${IMPACTS[id % IMPACTS.length]}","created_at":"${isoTime(t)}","delivery_attempt":0,"status_page":"${PAGE}"}}`;
      return { type: 'component_impact_updated', body, onSettle: () => busyComponents.delete(index) };
    }
    return undefined;
  }

  function choose(id, t) {
    switch (PATTERN[id % PATTERN.length]) {
      case 'IF':
        if (toFinishHead < toFinish.length) return incidentFinished(id, t);
        break;
      case 'MC':
        return maintenanceCreated(id, t);
      case 'MS':
        if (toStartHead < toStart.length) {
          const entry = toStart[toStartHead++];
          return maintenanceStep('maintenance_started', entry, t, () => toEnd.push(entry));
        }
        break;
      case 'MF':
        if (toEndHead < toEnd.length) return maintenanceStep('maintenance_finished', toEnd[toEndHead++], t);
        break;
      case 'CU':
        return componentUpdate(id, t) ?? incidentCreated(id, t);
      default:
        break;
    }
    return incidentCreated(id, t);
  }

  return {
    generated,
    /** The next distinct event: its id (for confirm) and its JSON body. */
    next() {
      const id = nextId++;
      const event = choose(id, tBase + id);
      generated[event.type] += 1;
      inFlight.set(id, event);
      return { id, body: event.body };
    },
    /** The exporter answered 200 for event `id`: it is committed, so follow-ups may name it. */
    confirm(id) {
      const event = inFlight.get(id);
      if (!event) return;
      inFlight.delete(id);
      event.onConfirm?.();
      event.onSettle?.();
    },
    /** Events generated but never answered 200 (in flight when the load stopped, or failed). */
    unconfirmed() {
      return [...inFlight.entries()].map(([id, event]) => ({ id, body: event.body }));
    },
    get total() {
      return nextId;
    },
  };
}

/** A fixed pool of bodies of the same mix, for the baselines (which neither dedupe nor order). */
export function staticBodies(count) {
  const workload = createWorkload({ space: 0xff });
  const bodies = [];
  for (let i = 0; i < count; i += 1) {
    const { id, body } = workload.next();
    workload.confirm(id);
    bodies.push(body);
  }
  return bodies;
}

export const INCIDENTS = 200;
export const MAINTENANCES = 100;

/** The bodies that build a state of `components` components, 200 active incidents and 100 scheduled maintenances. */
export function stateBodies(components) {
  const bodies = [];
  for (let i = 0; i < components; i += 1) {
    const impact = i % 7 === 0 ? 'major_outage' : 'operational';
    bodies.push(
      `{"text":"${componentName(i)}","meta":{"type":"component_impact_updated","uuid":"${componentUuid(i)}","title":"${componentName(i)}","impact":"${impact}","created_at":"${isoTime(T0 + i)}","delivery_attempt":0,"status_page":"${PAGE}"}}`,
    );
  }
  for (let i = 0; i < INCIDENTS; i += 1) {
    const t = T0 + 100_000 + i;
    const affected = Array.from({ length: 5 }, (_, j) => (i * 5 + j) % components)
      .map((c) => `{"impact":"major_outage","component_details":{"name":"${componentName(c)}","impact":"major_outage","component_uuid":"${componentUuid(c)}"}}`)
      .join(',');
    bodies.push(
      `{"text":"Incident","meta":{"type":"incident_created","uuid":"${incidentUuid(i)}","title":"Elevated error rates (bench incident ${i})","created_at":"${isoTime(t)}","delivery_attempt":0,"status_page":"${PAGE}","start_at":"${isoTime(t)}","end_at":null,"affected_components":[${affected}]}}`,
    );
  }
  for (let i = 0; i < MAINTENANCES; i += 1) {
    const t = T0 + 200_000 + i;
    const c = (components - 1 - i) % components;
    bodies.push(
      `{"text":"Maintenance","meta":{"type":"maintenance_created","uuid":"${maintenanceUuid(i)}","title":"Database upgrade (bench maintenance ${i})","created_at":"${isoTime(t)}","delivery_attempt":0,"status_page":"${PAGE}","start_at":"${isoTime(t + 3600)}","end_at":"${isoTime(t + 7200)}","affected_components":[{"impact":"under_maintenance","component_details":{"name":"${componentName(c)}","impact":"under_maintenance","component_uuid":"${componentUuid(c)}"}}]}}`,
    );
  }
  return bodies;
}
