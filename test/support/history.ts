// A StatusMate history for the tests that deliver one through real processes (a crash, several
// replicas): incidents, maintenances and direct updates, each with its own created_at, one lane
// per object holding its events in order (a sender interleaves the lanes).

export type Delivery = { meta: Record<string, unknown> };

/** The uuid of the n-th object of a kind (1 incident components, 2 incidents, 3 maintained components, 4 maintenances, 5 direct updates). */
export const historyId = (kind: number, n: number) => `${String(kind).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

/**
 * Every incident lasts 30 minutes and sets its component to major_outage; every maintenance is
 * in progress for 20 minutes; every direct update sets its component to partial_outage.
 */
export function historyLanes(size: { incidents: number; maintenances: number; directUpdates: number }): Delivery[][] {
  const id = historyId;
  const lanes: Delivery[][] = [];
  for (let n = 0; n < size.incidents; n++) {
    const component = { impact: 'major_outage', component_details: { name: `Incident component ${n}`, component_uuid: id(1, n) } };
    lanes.push([
      { meta: { type: 'incident_created', uuid: id(2, n), title: `Incident ${n}`, created_at: at(n), start_at: at(n), affected_components: [component] } },
      {
        meta: {
          type: 'incident_finished',
          uuid: id(2, n),
          title: `Incident ${n}`,
          created_at: at(n + 30),
          start_at: at(n),
          end_at: at(n + 30),
          affected_components: [component],
        },
      },
    ]);
  }
  for (let n = 0; n < size.maintenances; n++) {
    const component = { impact: 'under_maintenance', component_details: { name: `Maintained ${n}`, component_uuid: id(3, n) } };
    const meta = { uuid: id(4, n), title: `Maintenance ${n}`, start_at: at(n), end_at: at(n + 60), affected_components: [component] };
    lanes.push([
      { meta: { ...meta, type: 'maintenance_created', created_at: at(n) } },
      { meta: { ...meta, type: 'maintenance_started', created_at: at(n + 1) } },
      { meta: { ...meta, type: 'maintenance_finished', created_at: at(n + 21) } },
    ]);
  }
  for (let n = 0; n < size.directUpdates; n++) {
    lanes.push([{ meta: { type: 'component_impact_updated', uuid: id(5, n), title: `Direct ${n}`, impact: 'partial_outage', created_at: at(n) } }]);
  }
  return lanes;
}
