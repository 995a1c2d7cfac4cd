import { describe, expect, it } from 'vitest';
import { affects, componentUpdate, incident, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';

describe('limits', () => {
  it('refuses a new incident past MAX_ACTIVE_INCIDENTS whole, and takes it once one has finished', () => {
    const p = new Player({ maxActiveIncidents: 2 });
    p.playAll([incident('incident_created', 1, T0, [affects(1, 'major_outage')]), incident('incident_created', 2, T0, [])]);
    const refused = p.play(incident('incident_created', 3, T0 + 1, [affects(3, 'major_outage')]));
    expect(refused.outcome).toBe('refused_limit');
    expect(refused.notices).toContainEqual({ kind: 'limit_refused', limit: 'active_incidents', statusPage: PAGE, uuids: [uuid(1003)], max: 2 });
    expect(refused.patch.seen).toEqual([]); // no dedup record: a later delivery is judged again
    expect(p.page().incidents.has(uuid(1003))).toBe(false);
    expect(p.impact(3)).toBeUndefined();
    expect(p.page().stats.incidentsCreated).toBe(2);

    // Known incidents go on: re-sent, and finished.
    expect(p.play(incident('incident_created', 1, T0 + 2, [affects(1, 'partial_outage')])).outcome).toBe('applied');
    expect(p.play(incident('incident_finished', 2, T0 + 3, [])).outcome).toBe('applied');
    expect(p.play(incident('incident_created', 3, T0 + 4, [affects(3, 'major_outage')], { deliveryAttempt: 1 })).outcome).toBe('applied');
    expect(p.impact(3)).toBe('major_outage');
  });

  it('refuses a new maintenance past MAX_ACTIVE_MAINTENANCES, counting scheduled and in-progress ones', () => {
    const p = new Player({ maxActiveMaintenances: 1 });
    p.play(maintenance('maintenance_created', 1, T0, [affects(1, null)]));
    expect(p.play(maintenance('maintenance_started', 2, T0, [affects(2, null)])).outcome).toBe('refused_limit');
    expect(p.play(maintenance('maintenance_created', 3, T0, [])).notices).toContainEqual({
      kind: 'limit_refused',
      limit: 'active_maintenances',
      statusPage: PAGE,
      uuids: [uuid(2003)],
      max: 1,
    });
    expect(p.impact(2)).toBeUndefined();
    expect(p.play(maintenance('maintenance_started', 1, T0 + 1, [affects(1, null)])).outcome).toBe('applied');
    expect(p.impact(1)).toBe('under_maintenance');
  });

  it('refuses events of a new status page past MAX_STATUS_PAGES, and keeps serving the known ones', () => {
    const p = new Player({ maxStatusPages: 2 });
    p.playAll([componentUpdate(1, 'operational', T0), componentUpdate(1, 'operational', T0, { statusPage: 'page-b' })]);
    const refused = p.play(componentUpdate(1, 'major_outage', T0, { statusPage: 'page-c' }));
    expect(refused).toMatchObject({
      outcome: 'refused_limit',
      notices: [{ kind: 'limit_refused', limit: 'status_pages', statusPage: 'page-c', uuids: ['page-c'], max: 2 }],
    });
    expect(p.state.pages.has('page-c')).toBe(false);
    expect(p.play(componentUpdate(1, 'major_outage', T0 + 1, { statusPage: 'page-b' })).outcome).toBe('applied');
  });

  it('never lets an incident hold more than MAX_COMPONENTS components, nor a refused one', () => {
    const p = new Player({ maxComponents: 3 });
    for (let round = 0; round < 5; round++) {
      const components = [1, 2, 3, 4, 5].map((n) => affects(round * 5 + n, 'major_outage'));
      p.play(incident('incident_created', 1, T0 + round, components));
    }
    const held = p
      .page()
      .incidents.get(uuid(1001))
      ?.components.map((c) => c.uuid);
    expect(held).toEqual([uuid(1), uuid(2), uuid(3)]);
    expect(p.state.componentCount).toBe(3);
    p.play(incident('incident_finished', 1, T0 + 10, [affects(99, 'major_outage')]));
    expect(p.page().incidents.get(uuid(1001))?.components).toHaveLength(3);
    expect([1, 2, 3].map((n) => p.impact(n))).toEqual(['operational', 'operational', 'operational']);
  });

  it('finishes an incident of many components with one write per component, and shows each back at operational', () => {
    const size = 20_000;
    const components = Array.from({ length: size }, (_, n) => affects(n + 1, 'major_outage'));
    const p = new Player({ maxComponents: size, maxHoldings: size });
    p.play(incident('incident_created', 1, T0, components));
    const finished = p.play(incident('incident_finished', 1, T0 + 60, []));
    expect(finished.patch.components).toHaveLength(size);
    expect(finished.patch.components.every((c) => c.impact === 'operational')).toBe(true);
  });
});
