import type { StatusMateEvent } from '../../src/domain/event.js';
import { affects, componentUpdate, incident, maintenance, T0 } from './events.js';

// Histories of an incident or maintenance whose components were edited while it ran (StatusMate
// allows it), so that its later events name fewer components than its first: component 1 (A) is
// named by the first only, component 2 (B) by all. Shared by the state's test
// (lifecycle-components.test.ts) and the ledger's (ledger-late-added.test.ts).

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

/** Midnight (UTC) after T0: an incident across it books into two day rows. */
export const MIDNIGHT = (Math.floor(T0 / 86_400) + 1) * 86_400;

/** More such histories, for the ledger: a direct update of A while the object runs, a late start that adds A, an incident without start_at, a day boundary. */
export const EDITED_MORE = {
  updateDuringMaintenance: [
    maintenance('maintenance_created', 1, T0, [affects(A, null), affects(B, null)], window),
    maintenance('maintenance_started', 1, T0 + 100, [affects(B, null)], window),
    componentUpdate(A, 'major_outage', T0 + 200),
    maintenance('maintenance_finished', 1, T0 + 400, [affects(B, null)], window),
  ],
  maintenanceStartNamesMore: [
    maintenance('maintenance_created', 1, T0, [affects(B, null)], window),
    maintenance('maintenance_started', 1, T0 + 100, [affects(A, null), affects(B, null)], window),
    maintenance('maintenance_finished', 1, T0 + 400, [affects(B, null)], window),
  ],
  incidentWithoutStart: [
    incident('incident_created', 1, T0 + 100, [affects(A, 'major_outage'), affects(B, 'major_outage')]),
    incident('incident_finished', 1, T0 + 300, [affects(B, 'major_outage')]),
  ],
  incidentOverMidnight: [
    incident('incident_created', 1, MIDNIGHT - 100, [affects(A, 'major_outage'), affects(B, 'partial_outage')], { startAt: MIDNIGHT - 100 }),
    componentUpdate(A, 'degraded_performance', MIDNIGHT - 50),
    incident('incident_finished', 1, MIDNIGHT + 100, [affects(B, 'partial_outage')], { startAt: MIDNIGHT - 100, endAt: MIDNIGHT + 100 }),
    componentUpdate(A, 'operational', MIDNIGHT + 200),
  ],
} satisfies Record<string, StatusMateEvent[]>;
