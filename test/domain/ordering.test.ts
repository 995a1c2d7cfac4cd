import { describe, expect, it } from 'vitest';
import { emptyPatch, applyPatch } from '../../src/domain/state.js';
import { affects, componentUpdate, incident, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';

const YEAR_2100 = Date.parse('2100-01-01T00:00:00Z') / 1000;

describe('retries and repeats', () => {
  it('applies a component returning to an earlier impact when StatusMate sends no created_at', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'operational', null), T0);
    p.play(componentUpdate(1, 'major_outage', null), T0 + 1);
    const back = p.play(componentUpdate(1, 'operational', null), T0 + 2);
    expect(back.outcome).toBe('applied');
    expect(p.impact(1)).toBe('operational');
  });

  it('treats a delivery without delivery_attempt as a first delivery, never a duplicate', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'operational', null, { deliveryAttempt: null }), T0);
    p.play(componentUpdate(1, 'major_outage', null, { deliveryAttempt: null }), T0 + 1);
    expect(p.play(componentUpdate(1, 'operational', null, { deliveryAttempt: null }), T0 + 2).outcome).toBe('applied');
    expect(p.impact(1)).toBe('operational');
  });

  it('answers a retry of an update already applied as a duplicate, even after the component moved on', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'major_outage', null), T0);
    p.play(componentUpdate(1, 'operational', null), T0 + 60);
    // StatusMate retries the first update late (it missed our 200): it must not bring the outage back.
    const late = p.play(componentUpdate(1, 'major_outage', null, { deliveryAttempt: 2 }), T0 + 120);
    expect(late.outcome).toBe('duplicate');
    expect(p.impact(1)).toBe('operational');
  });

  it('orders a late retry of an older update by its created_at when the update carries one', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'operational', T0 + 60), T0 + 61);
    // Never delivered before (its first attempt failed), so not a duplicate: created_at says it is older.
    const late = p.play(componentUpdate(1, 'major_outage', T0, { deliveryAttempt: 1 }), T0 + 120);
    expect(late.outcome).toBe('stale');
    expect(p.impact(1)).toBe('operational');
  });
});

describe('clock skew', () => {
  it('does not let a created_at far in the future freeze a component, and says so', () => {
    const p = new Player();
    const future = p.play(componentUpdate(1, 'major_outage', YEAR_2100), T0);
    expect(future.outcome).toBe('applied');
    expect(future.notices).toContainEqual({ kind: 'clock_skew', statusPage: PAGE, uuid: uuid(1), createdAt: YEAR_2100, receivedAt: T0 });
    expect(p.page().components.get(uuid(1))?.changedAt).toBe(T0); // the receipt time, not 2100

    expect(p.play(componentUpdate(1, 'operational', T0 + 5), T0 + 6).outcome).toBe('applied');
    expect(p.impact(1)).toBe('operational');
    p.play(incident('incident_created', 1, T0 + 10, [affects(1, 'partial_outage')]), T0 + 11);
    expect(p.impact(1)).toBe('partial_outage');
  });

  it('trusts a created_at ahead of receipt by no more than MAX_CLOCK_SKEW_SECONDS', () => {
    const p = new Player({ maxClockSkewSeconds: 300 });
    const ahead = p.play(componentUpdate(1, 'major_outage', T0 + 299), T0);
    expect(ahead.notices).toEqual([]);
    expect(p.play(componentUpdate(1, 'operational', T0 + 200), T0 + 1).outcome).toBe('stale');
  });
});

describe('two clocks', () => {
  it('lets an incident created just before an update without created_at was received set its impact', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'operational', null), T0 + 10);
    // Created 1.5 s before the update above was received (ordinary delivery delay), received after it.
    const created = p.play(incident('incident_created', 1, T0 + 8.5, [affects(1, 'major_outage')], { startAt: T0 + 8.5 }), T0 + 11);
    expect(created.outcome).toBe('applied');
    expect(p.impact(1)).toBe('major_outage');
  });

  it('orders two updates by created_at when both carry one, whatever their arrival', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'degraded_performance', T0 + 20), T0 + 30);
    expect(p.play(componentUpdate(1, 'major_outage', T0 + 10), T0 + 31).outcome).toBe('stale');
    expect(p.impact(1)).toBe('degraded_performance');
  });

  it('orders an update without created_at after every event that arrived before it', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'major_outage', T0 + 1000), T0 + 10); // within the skew, a little ahead
    expect(p.play(componentUpdate(1, 'operational', null), T0 + 20).outcome).toBe('applied');
    expect(p.impact(1)).toBe('operational');
  });
});

describe('ties', () => {
  it('breaks a tie between two unknown impacts on the impact, whichever incident came first', () => {
    const play = (first: number, second: number) => {
      const p = new Player();
      const impacts: Record<number, string> = { 1: 'zeta_impact', 2: 'alpha_impact' };
      p.play(incident('incident_created', first, T0 + 10, [affects(1, impacts[first] ?? '')], { startAt: T0 + 10 }));
      p.play(incident('incident_created', second, T0 + 10, [affects(1, impacts[second] ?? '')], { startAt: T0 + 10 }));
      return p.impact(1);
    };
    expect(play(1, 2)).toBe('alpha_impact');
    expect(play(2, 1)).toBe('alpha_impact');
  });

  it('gives a loaded state the impact of the state it was saved from, whatever order the maps were filled in', () => {
    const p = new Player().playAll([
      incident('incident_created', 1, T0, [affects(1, 'zeta_impact')], { startAt: T0 }),
      incident('incident_created', 2, T0, [affects(1, 'alpha_impact')], { startAt: T0 }),
      incident('incident_created', 3, T0 + 5, [affects(1, 'major_outage')], { startAt: T0 + 5 }),
    ]);
    // The same records applied in the reverse order, as a store without ORDER BY may return them.
    const page = p.page();
    const reloaded = new Player();
    applyPatch(reloaded.state, {
      ...emptyPatch(),
      pages: [page.stats],
      components: [...page.components.values()].reverse(),
      incidents: [...page.incidents.values()].reverse(),
    });
    const finish = incident('incident_finished', 3, T0 + 9, []);
    p.play(finish);
    reloaded.play(finish);
    expect(p.impact(1)).toBe('alpha_impact');
    expect(reloaded.impact(1)).toBe('alpha_impact');
  });
});

describe('maintenances in any order', () => {
  const events = [
    maintenance('maintenance_created', 1, T0, [affects(1, 'under_maintenance')], { startAt: T0 + 100, endAt: T0 + 200 }),
    maintenance('maintenance_started', 1, T0 + 100, [affects(1, 'under_maintenance')], { startAt: T0 + 100, endAt: T0 + 200 }),
    maintenance('maintenance_finished', 1, T0 + 200, [affects(1, 'under_maintenance')], { startAt: T0 + 100, endAt: T0 + 200 }),
  ];
  const orders = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];

  it.each(orders)('leaves the component operational and the maintenance finished after %i, %i, %i', (...order) => {
    const p = new Player().playAll(order.map((i) => events[i]!));
    expect(p.impact(1)).toBe('operational');
    expect(p.page().maintenances.get(uuid(2001))?.state).toBe('finished');
    expect(p.page().stats).toMatchObject({ maintenancesCreated: 1, maintenancesStarted: 1, maintenancesFinished: 1 });
  });

  it("makes a scheduled maintenance's components known at operational", () => {
    const p = new Player().playAll([events[0]!]);
    expect(p.page().components.get(uuid(1))).toMatchObject({ impact: 'operational', name: 'Component 1' });
  });
});

describe('direct updates and incidents', () => {
  it('shows the worst impact of the active incidents begun after the last direct update, and never brings back an update one of them overrode', () => {
    const p = new Player().playAll([
      incident('incident_created', 1, T0, [affects(1, 'major_outage')], { startAt: T0 }),
      componentUpdate(1, 'operational', T0 + 10), // someone marked it fixed by hand
      incident('incident_created', 2, T0 + 20, [affects(1, 'degraded_performance')], { startAt: T0 + 20 }),
    ]);
    expect(p.impact(1)).toBe('degraded_performance');
    p.play(incident('incident_finished', 2, T0 + 30, [], { startAt: T0 + 20 }));
    // Incident 2 overrode the update by hand; incident 1 still holds the component.
    expect(p.impact(1)).toBe('major_outage');
    p.play(incident('incident_finished', 1, T0 + 40, [], { startAt: T0 }));
    expect(p.impact(1)).toBe('operational');
  });

  it("keeps a direct update made during an incident when the incident's finish arrives first", () => {
    const start = { startAt: T0 };
    const p = new Player().playAll([
      incident('incident_finished', 1, T0 + 30, [affects(1, 'major_outage')], start),
      componentUpdate(1, 'partial_outage', T0 + 20),
      incident('incident_created', 1, T0, [affects(1, 'major_outage')], start),
    ]);
    expect(p.impact(1)).toBe('partial_outage');
  });

  it('forgets a direct update made before an incident that has ended, whichever arrives last', () => {
    const start = { startAt: T0 };
    const p = new Player().playAll([
      incident('incident_finished', 1, T0 + 30, [affects(1, 'major_outage')], start),
      componentUpdate(1, 'degraded_performance', T0 - 10),
    ]);
    expect(p.decisions[1]?.outcome).toBe('stale');
    expect(p.impact(1)).toBe('operational');
  });
});
