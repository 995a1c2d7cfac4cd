import { describe, expect, it } from 'vitest';
import { impactLevel } from '../../src/domain/impact.js';
import { affects, componentUpdate, incident, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';

describe('component_impact_updated', () => {
  it('sets the component impact, its name and the time of the change', () => {
    const p = new Player();
    const decision = p.play(componentUpdate(1, 'partial_outage', T0));
    expect(decision.outcome).toBe('applied');
    const component = p.page().components.get(uuid(1));
    expect(component).toMatchObject({ impact: 'partial_outage', name: 'Component 1', changedAt: T0 });
  });

  it('keeps the time of the last change when the impact is sent again unchanged', () => {
    const p = new Player().playAll([componentUpdate(1, 'major_outage', T0), componentUpdate(1, 'major_outage', T0 + 60)]);
    expect(p.page().components.get(uuid(1))?.changedAt).toBe(T0);
  });

  it('ignores an update older than the one applied, as stale', () => {
    const p = new Player().playAll([componentUpdate(1, 'major_outage', T0 + 60)]);
    const decision = p.play(componentUpdate(1, 'operational', T0));
    expect(decision.outcome).toBe('stale');
    expect(p.impact(1)).toBe('major_outage');
  });

  it('keeps an unknown impact as sent, at level -1, and says so', () => {
    const p = new Player();
    const decision = p.play(componentUpdate(1, 'partially_degraded', T0));
    expect(p.impact(1)).toBe('partially_degraded');
    expect(impactLevel('partially_degraded')).toBe(-1);
    expect(decision.notices).toEqual([{ kind: 'unknown_impact', statusPage: PAGE, componentUuid: uuid(1), impact: 'partially_degraded' }]);
  });

  it('renames a component to the latest name seen', () => {
    const p = new Player().playAll([componentUpdate(1, 'operational', T0), componentUpdate(1, 'operational', T0 + 1, { name: 'API (EU)' })]);
    expect(p.page().components.get(uuid(1))?.name).toBe('API (EU)');
    expect(p.page().components.size).toBe(1);
  });

  it('uses the component uuid as its name when StatusMate sends none', () => {
    const p = new Player().playAll([componentUpdate(1, 'operational', T0, { name: null })]);
    expect(p.page().components.get(uuid(1))?.name).toBe(uuid(1));
  });

  it('answers a second delivery of the same event as a duplicate that changes nothing', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'major_outage', T0));
    const version = p.state.version;
    const retry = p.play(componentUpdate(1, 'major_outage', T0, { deliveryAttempt: 3 }));
    expect(retry.outcome).toBe('duplicate');
    expect(retry.patch.components).toEqual([]);
    expect(p.state.version).toBe(version + 1); // the test driver applies even the empty patch
  });

  it('takes a retry that equals an applied delivery for that delivery: a flap back whose first delivery failed needs created_at (README, Retries)', () => {
    // major → operational → major, the third's first delivery lost: without created_at its retry
    // is the first update's body, and answers duplicate.
    const bare = new Player();
    bare.play(componentUpdate(1, 'major_outage', null), T0);
    bare.play(componentUpdate(1, 'operational', null), T0 + 60);
    expect(bare.play(componentUpdate(1, 'major_outage', null, { deliveryAttempt: 1 }), T0 + 120).outcome).toBe('duplicate');
    expect(bare.impact(1)).toBe('operational');
    // With created_at the three are three events, and the retry is applied.
    const timed = new Player();
    timed.play(componentUpdate(1, 'major_outage', T0), T0);
    timed.play(componentUpdate(1, 'operational', T0 + 60), T0 + 60);
    expect(timed.play(componentUpdate(1, 'major_outage', T0 + 90, { deliveryAttempt: 1 }), T0 + 120).outcome).toBe('applied');
    expect(timed.impact(1)).toBe('major_outage');
  });
});

describe('incidents', () => {
  it('activates an incident and gives each affected component its impact', () => {
    const p = new Player();
    p.play(incident('incident_created', 1, T0, [affects(1, 'major_outage'), affects(2, 'degraded_performance')], { startAt: T0 - 60 }));
    const record = p.page().incidents.get(uuid(1001));
    expect(record).toMatchObject({ state: 'active', startAt: T0 - 60, title: 'Incident 1' });
    expect(p.impact(1)).toBe('major_outage');
    expect(p.impact(2)).toBe('degraded_performance');
    expect(p.page().stats.incidentsCreated).toBe(1);
  });

  it('takes the start from created_at when StatusMate sends no start_at', () => {
    const p = new Player().playAll([incident('incident_created', 1, T0, [])]);
    expect(p.page().incidents.get(uuid(1001))?.startAt).toBe(T0);
  });

  it('returns components to operational when the only incident finishes', () => {
    const p = new Player().playAll([
      incident('incident_created', 1, T0, [affects(1, 'major_outage')]),
      incident('incident_finished', 1, T0 + 600, [affects(1, 'major_outage')]),
    ]);
    expect(p.impact(1)).toBe('operational');
    expect(p.page().incidents.get(uuid(1001))?.state).toBe('finished');
    expect(p.page().stats.incidentsFinished).toBe(1);
  });

  it('returns a component to the worst impact among the incidents and maintenances still affecting it', () => {
    const p = new Player().playAll([
      maintenance('maintenance_started', 1, T0, [affects(1, 'under_maintenance')]),
      incident('incident_created', 1, T0 + 10, [affects(1, 'degraded_performance')]),
      incident('incident_created', 2, T0 + 20, [affects(1, 'major_outage')]),
      incident('incident_finished', 2, T0 + 30, []),
    ]);
    expect(p.impact(1)).toBe('degraded_performance');
    p.play(incident('incident_finished', 1, T0 + 40, []));
    expect(p.impact(1)).toBe('under_maintenance');
    p.play(maintenance('maintenance_finished', 1, T0 + 50, []));
    expect(p.impact(1)).toBe('operational');
  });

  it('keeps a direct component update made after the incident began when the incident finishes', () => {
    const p = new Player().playAll([
      incident('incident_created', 1, T0, [affects(1, 'major_outage')], { startAt: T0 }),
      componentUpdate(1, 'partial_outage', T0 + 100),
      incident('incident_finished', 1, T0 + 200, []),
    ]);
    expect(p.impact(1)).toBe('partial_outage');
  });

  it('overrides a direct component update made before the incident began when the incident finishes', () => {
    const p = new Player().playAll([
      componentUpdate(1, 'degraded_performance', T0 - 100),
      incident('incident_created', 1, T0, [affects(1, 'major_outage')], { startAt: T0 }),
      incident('incident_finished', 1, T0 + 200, []),
    ]);
    expect(p.impact(1)).toBe('operational');
  });

  it('keeps an outage updated before a maintenance began through the maintenance, the worse of the two, and clears it at the finish (README, A component impact)', () => {
    const p = new Player().playAll([
      componentUpdate(1, 'major_outage', T0 - 100),
      maintenance('maintenance_created', 1, T0 - 50, [affects(1, 'under_maintenance')]),
      maintenance('maintenance_started', 1, T0, [affects(1, 'under_maintenance')]),
    ]);
    expect(p.impact(1)).toBe('major_outage');
    // StatusMate's own update for the maintenance, after its start, counts instead.
    p.play(componentUpdate(1, 'under_maintenance', T0 + 10));
    expect(p.impact(1)).toBe('under_maintenance');
    p.play(maintenance('maintenance_finished', 1, T0 + 100, [affects(1, 'under_maintenance')]));
    expect(p.impact(1)).toBe('under_maintenance');

    // Without that update: the outage stays shown through the maintenance, and is gone after it.
    const q = new Player().playAll([
      componentUpdate(1, 'major_outage', T0 - 100),
      maintenance('maintenance_started', 1, T0, [affects(1, 'under_maintenance')]),
    ]);
    expect(q.impact(1)).toBe('major_outage');
    q.play(maintenance('maintenance_finished', 1, T0 + 100, [affects(1, 'under_maintenance')]));
    expect(q.impact(1)).toBe('operational');
  });

  it('counts each lifecycle event once per incident however often it is re-sent with other content', () => {
    const p = new Player().playAll([
      incident('incident_created', 1, T0, [affects(1, 'major_outage')]),
      incident('incident_created', 1, T0 + 5, [affects(1, 'partial_outage')], { title: 'Incident 1 (updated)' }),
      incident('incident_finished', 1, T0 + 60, [], { title: null }),
      incident('incident_finished', 1, T0 + 70, [], { title: 'again' }),
    ]);
    expect(p.page().stats.incidentsCreated).toBe(1);
    expect(p.page().stats.incidentsFinished).toBe(1);
    expect(p.page().incidents.get(uuid(1001))?.title).toBe('Incident 1 (updated)');
    expect(p.decisions.map((d) => d.outcome)).toEqual(['applied', 'applied', 'applied', 'stale']);
  });

  it('does not resurrect an incident whose created event arrives after its finished event, but counts it', () => {
    const p = new Player().playAll([
      componentUpdate(1, 'operational', T0 - 500),
      incident('incident_finished', 1, T0 + 600, [affects(1, 'major_outage')], { startAt: T0 }),
    ]);
    const late = p.play(incident('incident_created', 1, T0, [affects(1, 'major_outage')], { startAt: T0 }));
    expect(late.outcome).toBe('stale');
    expect(p.page().incidents.get(uuid(1001))?.state).toBe('finished');
    expect(p.impact(1)).toBe('operational');
    expect(p.page().stats.incidentsCreated).toBe(1);
    expect(p.page().stats.incidentsFinished).toBe(1);
  });

  it('observes the duration as end_at minus start_at when both are known', () => {
    const p = new Player().playAll([
      incident('incident_created', 1, T0, [], { startAt: T0 }),
      incident('incident_finished', 1, T0 + 9999, [], { startAt: T0, endAt: T0 + 1200 }),
    ]);
    const h = p.page().stats.incidentDuration;
    expect(h.count).toBe(1);
    expect(h.sum).toBe(1200);
    expect(h.counts[3]).toBe(1); // 900 < 1200 <= 1800
  });

  it("observes the duration up to the finishing event's created_at, else its receipt time", () => {
    const withCreatedAt = new Player().playAll([incident('incident_created', 1, T0, [], { startAt: T0 }), incident('incident_finished', 1, T0 + 120, [])]);
    expect(withCreatedAt.page().stats.incidentDuration.sum).toBe(120);

    const withReceipt = new Player();
    withReceipt.play(incident('incident_created', 1, T0, [], { startAt: T0 }));
    withReceipt.play(incident('incident_finished', 1, null, []), T0 + 45);
    expect(withReceipt.page().stats.incidentDuration.sum).toBe(45);
  });

  it('observes the duration of an incident whose start is learnt only from a late created event', () => {
    const p = new Player().playAll([incident('incident_finished', 1, T0 + 300, [])]);
    expect(p.page().stats.incidentDuration.count).toBe(0);
    p.play(incident('incident_created', 1, T0, [], { startAt: T0 }));
    expect(p.page().stats.incidentDuration).toMatchObject({ count: 1, sum: 300 });
  });
});

describe('maintenances', () => {
  it('schedules a maintenance without touching its components', () => {
    const p = new Player().playAll([
      componentUpdate(1, 'operational', T0 - 10),
      maintenance('maintenance_created', 1, T0, [affects(1, 'under_maintenance')], { startAt: T0 + 3600, endAt: T0 + 7200 }),
    ]);
    expect(p.page().maintenances.get(uuid(2001))).toMatchObject({ state: 'scheduled', scheduledStart: T0 + 3600, scheduledEnd: T0 + 7200 });
    expect(p.impact(1)).toBe('operational');
    expect(p.page().stats.maintenancesCreated).toBe(1);
  });

  it('puts components under maintenance when it starts and back when it finishes, observing its duration', () => {
    const p = new Player().playAll([
      maintenance('maintenance_created', 1, T0, [affects(1, 'under_maintenance')]),
      maintenance('maintenance_started', 1, T0 + 100, [affects(1, 'under_maintenance')]),
    ]);
    expect(p.impact(1)).toBe('under_maintenance');
    expect(p.page().maintenances.get(uuid(2001))?.state).toBe('in_progress');
    p.play(maintenance('maintenance_finished', 1, T0 + 1900, []));
    expect(p.impact(1)).toBe('operational');
    expect(p.page().stats).toMatchObject({ maintenancesCreated: 1, maintenancesStarted: 1, maintenancesFinished: 1 });
    expect(p.page().stats.maintenanceDuration).toMatchObject({ count: 1, sum: 1800 });
  });

  it('defaults an affected component without impact to under_maintenance when the maintenance starts', () => {
    const p = new Player().playAll([maintenance('maintenance_started', 1, T0, [affects(1, null)])]);
    expect(p.impact(1)).toBe('under_maintenance');
  });

  it('leaves components alone when a maintenance that never started finishes', () => {
    const p = new Player().playAll([
      componentUpdate(1, 'major_outage', T0 - 10),
      maintenance('maintenance_created', 1, T0, [affects(1, 'under_maintenance')]),
      maintenance('maintenance_finished', 1, T0 + 100, []),
    ]);
    expect(p.impact(1)).toBe('major_outage');
    expect(p.page().stats.maintenanceDuration.count).toBe(0);
  });

  it('does not move a started maintenance back to scheduled when a late created event arrives', () => {
    const p = new Player().playAll([
      maintenance('maintenance_started', 1, T0 + 100, [affects(1, 'under_maintenance')]),
      maintenance('maintenance_created', 1, T0, [affects(1, 'under_maintenance')], { startAt: T0 + 100, endAt: T0 + 200 }),
    ]);
    const record = p.page().maintenances.get(uuid(2001));
    expect(record).toMatchObject({ state: 'in_progress', scheduledStart: T0 + 100, scheduledEnd: T0 + 200 });
    expect(p.decisions[1]?.outcome).toBe('stale');
    expect(p.page().stats.maintenancesCreated).toBe(1);
  });
});

describe('limits and labels', () => {
  it('refuses new components past MAX_COMPONENTS but keeps updating the known ones', () => {
    const p = new Player({ maxComponents: 2 });
    p.playAll([componentUpdate(1, 'operational', T0), componentUpdate(2, 'operational', T0)]);
    const refused = p.play(componentUpdate(3, 'major_outage', T0));
    expect(refused.outcome).toBe('refused_limit');
    expect(refused.notices).toContainEqual({ kind: 'limit_refused', limit: 'components', statusPage: PAGE, uuids: [uuid(3)], max: 2 });
    expect(p.impact(3)).toBeUndefined();
    expect(p.state.componentCount).toBe(2);

    const partly = p.play(incident('incident_created', 1, T0 + 1, [affects(1, 'major_outage'), affects(4, 'major_outage')]));
    expect(partly.outcome).toBe('refused_limit');
    expect(p.impact(1)).toBe('major_outage');
    expect(p.page().incidents.get(uuid(1001))?.state).toBe('active');
  });

  it('cuts names and titles at 200 characters and 200 bytes without splitting an emoji, and keeps Cyrillic intact', () => {
    const p = new Player().playAll([
      componentUpdate(1, 'operational', T0, { name: 'x'.repeat(150) + 'я'.repeat(100) }),
      componentUpdate(2, 'operational', T0, { name: 'я'.repeat(40) + '🔥'.repeat(150) }),
      incident('incident_created', 1, T0, [], { title: 'Сбой оплаты 💳' }),
    ]);
    const name = (n: number) => p.page().components.get(uuid(n))?.name ?? '';
    // Code points, as the label limit counts them; and bytes as /metrics writes them (UTF-8).
    expect(name(1)).toBe('x'.repeat(150) + 'я'.repeat(25));
    expect(name(2)).toBe('я'.repeat(40) + '🔥'.repeat(30));
    expect(p.page().incidents.get(uuid(1001))?.title).toBe('Сбой оплаты 💳');
  });

  it('keeps status pages apart', () => {
    const p = new Player().playAll([componentUpdate(1, 'major_outage', T0), componentUpdate(1, 'operational', T0, { statusPage: 'page-b' })]);
    expect(p.impact(1)).toBe('major_outage');
    expect(p.impact(1, 'page-b')).toBe('operational');
  });
});
