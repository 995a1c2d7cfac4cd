import type { StatusMateEvent } from '../../src/domain/event.js';
import { affects, componentUpdate, incident, maintenance, T0 } from './events.js';

// Histories of an incident or maintenance whose components were edited while it ran (StatusMate
// allows it), so that its later events name fewer components than its first: component 1 (A) is
// named by the first only, component 2 (B) by all (lifecycle-components.test.ts), so that the
// ledger's tests can fold the same histories.

export const A = 1;
export const B = 2;

const window = { startAt: T0 + 100, endAt: T0 + 400 };

export const EDITED = {
  incidentNamesFewer: [
    incident('incident_created', 1, T0 + 100, [affects(A, 'major_outage'), affects(B, 'major_outage')], { startAt: T0 + 100 }),
    incident('incident_finished', 1, T0 + 200, [affects(B, 'major_outage')], { startAt: T0 + 100, endAt: T0 + 200 }),
  ],
  updateBeforeIncident: [
    componentUpdate(A, 'major_outage', T0),
    incident('incident_created', 1, T0 + 100, [affects(A, 'partial_outage'), affects(B, 'partial_outage')], { startAt: T0 + 100 }),
    incident('incident_finished', 1, T0 + 200, [affects(B, 'partial_outage')], { startAt: T0 + 100, endAt: T0 + 200 }),
  ],
  updateDuringIncident: [
    incident('incident_created', 1, T0 + 100, [affects(A, 'partial_outage'), affects(B, 'partial_outage')], { startAt: T0 + 100 }),
    componentUpdate(A, 'degraded_performance', T0 + 150),
    incident('incident_finished', 1, T0 + 200, [affects(B, 'partial_outage')], { startAt: T0 + 100, endAt: T0 + 200 }),
  ],
  maintenanceStartNamesFewer: [
    maintenance('maintenance_created', 1, T0, [affects(A, null), affects(B, null)], window),
    maintenance('maintenance_started', 1, T0 + 100, [affects(B, null)], window),
  ],
  maintenanceStartAndFinishNameFewer: [
    componentUpdate(A, 'major_outage', T0 - 50),
    maintenance('maintenance_created', 1, T0, [affects(A, null), affects(B, null)], window),
    maintenance('maintenance_started', 1, T0 + 100, [affects(B, null)], window),
    maintenance('maintenance_finished', 1, T0 + 400, [affects(B, null)], window),
  ],
} satisfies Record<string, StatusMateEvent[]>;
