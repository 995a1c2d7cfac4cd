import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { prune } from '../../src/domain/prune.js';
import { DEFAULT_LIMITS, reduce, type Limits } from '../../src/domain/reducer.js';
import { measure } from '../../src/domain/size.js';
import { applyPatch, cloneState, createState, emptyPatch, type State } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { affects, componentUpdate, incident, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';

const components = (from: number, count: number, impact: string | null = 'major_outage') => Array.from({ length: count }, (_, n) => affects(from + n, impact));

/** Plays an event against a state under the given limits (which a test may change between events). */
function play(state: State, event: StatusMateEvent, receivedAt: number, limits: Partial<Limits> = {}) {
  const decision = reduce(state, event, dedupKey(event), receivedAt, { ...DEFAULT_LIMITS, ...limits });
  applyPatch(state, decision.patch);
  return decision;
}

describe('the size measures', () => {
  it('count the components of unfinished incidents and maintenances as holdings, and a finished one as 1 + its components, retained', () => {
    const p = new Player();
    p.play(incident('incident_created', 1, T0, components(1, 3)));
    p.play(maintenance('maintenance_created', 1, T0, components(10, 2, null)));
    p.play(maintenance('maintenance_started', 2, T0, components(20, 4, null)));
    expect(p.state.size).toEqual({ holdings: 9, retained: 0 });
    p.play(incident('incident_finished', 1, T0 + 60, []));
    p.play(maintenance('maintenance_finished', 1, T0 + 60, []));
    expect(p.state.size).toEqual({ holdings: 4, retained: 4 + 3 });
    expect(measure(p.state)).toEqual({ ...p.state.size, dedup: p.state.seen.size });
    expect(cloneState(p.state).size).toEqual(p.state.size);
  });
});

describe('MAX_HOLDINGS', () => {
  it('refuses an incident whose holdings would pass the bound', () => {
    const p = new Player({ maxHoldings: 5 });
    expect(p.play(incident('incident_created', 1, T0, components(1, 3))).outcome).toBe('applied');
    const refused = p.play(incident('incident_created', 2, T0 + 1, components(1, 3)));
    expect(refused.outcome).toBe('refused_limit');
    expect(refused.notices).toContainEqual({ kind: 'limit_refused', limit: 'holdings', statusPage: PAGE, uuids: [uuid(1002)], max: 5 });
    expect(refused.patch).toEqual(emptyPatch()); // nothing changes, and no dedup record: a later delivery is judged again
    expect(p.page().incidents.has(uuid(1002))).toBe(false);
    expect(p.page().stats.incidentsCreated).toBe(1);
    expect(p.state.size.holdings).toBe(3);
    // Up to the bound itself is fine.
    expect(p.play(incident('incident_created', 2, T0 + 2, components(1, 2))).outcome).toBe('applied');
    expect(p.state.size.holdings).toBe(5);
  });

  it('refuses a re-sent incident that adds components past the bound whole, keeping what it held', () => {
    const p = new Player({ maxHoldings: 4 });
    p.play(incident('incident_created', 1, T0, components(1, 3)));
    const refused = p.play(incident('incident_created', 1, T0 + 1, components(1, 5, 'partial_outage')));
    expect(refused.outcome).toBe('refused_limit');
    expect(
      p
        .page()
        .incidents.get(uuid(1001))
        ?.components.map((c) => c.uuid),
    ).toEqual([uuid(1), uuid(2), uuid(3)]);
    expect(p.impact(1)).toBe('major_outage');
    expect(p.impact(4)).toBeUndefined();
  });

  it('counts only the components MAX_COMPONENTS admits towards the bound', () => {
    const p = new Player({ maxHoldings: 3, maxComponents: 3 });
    const decision = p.play(incident('incident_created', 1, T0, components(1, 5)));
    expect(decision.notices.map((notice) => notice.kind === 'limit_refused' && notice.limit)).toEqual(['components']);
    expect(p.state.size.holdings).toBe(3);
  });

  it('refuses a maintenance past the bound, and counts a scheduled one as holding', () => {
    const p = new Player({ maxHoldings: 3 });
    p.play(maintenance('maintenance_created', 1, T0, components(1, 2, null)));
    expect(p.play(maintenance('maintenance_started', 2, T0, components(5, 2, null))).notices).toContainEqual(
      expect.objectContaining({ limit: 'holdings', uuids: [uuid(2002)] }),
    );
    expect(p.impact(5)).toBeUndefined();
  });

  it('lets finishes and component updates through past a lowered bound, so the state drains', () => {
    const state = createState();
    play(state, incident('incident_created', 1, T0, components(1, 4)), T0);
    play(state, incident('incident_created', 2, T0, components(1, 4)), T0);
    const lowered = { maxHoldings: 2 };
    expect(play(state, incident('incident_created', 1, T0 + 1, components(1, 4, 'partial_outage')), T0 + 1, lowered).outcome).toBe('applied');
    expect(play(state, componentUpdate(9, 'major_outage', T0 + 2), T0 + 2, lowered).outcome).toBe('applied');
    expect(play(state, incident('incident_finished', 2, T0 + 3, []), T0 + 3, lowered).outcome).toBe('applied');
    expect(state.size.holdings).toBe(4);
    expect(play(state, incident('incident_created', 3, T0 + 4, components(1, 1)), T0 + 4, lowered).outcome).toBe('refused_limit');
    // A new incident naming no component adds no holdings.
    expect(play(state, incident('incident_created', 4, T0 + 5, []), T0 + 5, lowered).outcome).toBe('applied');
  });
});

describe('MAX_RETAINED_FINISHED', () => {
  it('forgets the oldest finished incident first when retained objects pass their bound', () => {
    const p = new Player({ maxRetainedFinished: 10 });
    for (const id of [1, 2, 3]) {
      p.play(incident('incident_created', id, T0, components(id * 10, 2)), T0 + id);
      p.play(incident('incident_finished', id, T0 + 60, []), T0 + 100 + id);
    }
    expect(p.state.size.retained).toBe(9);
    // The fourth finished incident takes it to 12: the oldest are forgotten down to 90 % of the bound.
    p.play(incident('incident_created', 4, T0, components(40, 2)), T0 + 4);
    const finish = p.play(incident('incident_finished', 4, T0 + 60, []), T0 + 104);
    expect(finish.outcome).toBe('applied');
    expect(finish.patch.deleteIncidents).toEqual([{ statusPage: PAGE, uuid: uuid(1001) }]);
    expect([...p.page().incidents.keys()].sort()).toEqual([uuid(1002), uuid(1003), uuid(1004)]);
    expect(p.state.size.retained).toBe(9);
    // Counters keep what was counted; active incidents are never forgotten.
    expect(p.page().stats.incidentsFinished).toBe(4);
    p.play(incident('incident_created', 5, T0, components(50, 20)), T0 + 5);
    expect(p.page().incidents.get(uuid(1005))?.state).toBe('active');
  });

  it('forgets by receipt of the finish, then status page, then uuid, incidents and maintenances alike', () => {
    const p = new Player({ maxRetainedFinished: 4 });
    // Finished in this order of receipt: maintenance 1 and incident 2 at the same second, then incident 1.
    p.play(incident('incident_finished', 1, T0, []), T0 + 2);
    p.play(incident('incident_finished', 2, T0, []), T0 + 1);
    p.play(maintenance('maintenance_finished', 1, T0, []), T0 + 1);
    p.play(maintenance('maintenance_finished', 2, T0, []), T0 + 3);
    expect(p.state.size.retained).toBe(4);
    const fifth = p.play(incident('incident_finished', 3, T0, []), T0 + 4);
    // 5 past 4: down to 3, so the two oldest go: at T0 + 1, incident 2's uuid (…1002) sorts before maintenance 1's (…2001).
    expect(fifth.patch.deleteIncidents).toEqual([{ statusPage: PAGE, uuid: uuid(1002) }]);
    expect(fifth.patch.deleteMaintenances).toEqual([{ statusPage: PAGE, uuid: uuid(2001) }]);
  });

  it('forgets the same records in a state loaded in another order', () => {
    const p = new Player({ maxRetainedFinished: 1000 });
    for (let id = 1; id <= 6; id++) p.play(incident('incident_finished', id, T0, components(id, 1)), T0 + (id % 3));
    const page = p.page();
    const loaded = createState();
    applyPatch(loaded, {
      ...emptyPatch(),
      pages: [page.stats],
      components: [...page.components.values()].reverse(),
      incidents: [...page.incidents.values()].reverse(),
    });
    const limits = { maxRetainedFinished: 8, maxDedupRecords: 1000 };
    const forget = (state: State) => prune(state, T0 + 10, 7 * 86_400, limits).deleteIncidents;
    expect(forget(loaded)).toEqual(forget(p.state));
    expect(forget(p.state).map((key) => key.uuid)).toEqual([uuid(1003), uuid(1006), uuid(1001)]);
  });
});

describe('MAX_DEDUP_RECORDS', () => {
  it('forgets the oldest dedup records first when they pass their bound, so only their late retries are judged again', () => {
    const p = new Player({ maxDedupRecords: 10 });
    const updates = Array.from({ length: 11 }, (_, n) => componentUpdate(n + 1, 'major_outage', T0 + n));
    updates.forEach((update, n) => p.play(update, T0 + n));
    // 11 past 10: down to 9, the two received first forgotten.
    expect(p.state.seen.size).toBe(9);
    expect(p.state.seen.has(dedupKey(updates[0] as StatusMateEvent))).toBe(false);
    expect(p.state.seen.has(dedupKey(updates[1] as StatusMateEvent))).toBe(false);
    expect(p.play({ ...(updates[5] as StatusMateEvent), deliveryAttempt: 1 }, T0 + 20).outcome).toBe('duplicate');
    // A late retry of a forgotten one is judged on its stamps: older than nothing it finds, it applies the same impact again.
    expect(p.play({ ...(updates[0] as StatusMateEvent), deliveryAttempt: 1 }, T0 + 21).outcome).toBe('applied');
    expect(p.impact(1)).toBe('major_outage');
  });

  it('breaks ties of receipt time by key', () => {
    const p = new Player({ maxDedupRecords: 3 });
    const updates = [1, 2, 3, 4].map((n) => componentUpdate(n, 'operational', T0 + n));
    for (const update of updates) p.play(update, T0);
    const keys = updates.map((update) => dedupKey(update)).sort();
    // 4 past 3: down to 2 (90 % of 3, rounded down), the two smallest keys forgotten.
    expect([...p.state.seen.keys()].sort()).toEqual(keys.slice(2));
  });
});

describe('pruning with limits', () => {
  it('forgets by age without limits, as before, and the oldest past a lowered bound with them', () => {
    const p = new Player();
    for (let n = 1; n <= 5; n++) p.play(componentUpdate(n, 'operational', T0 + n), T0 + n);
    expect(prune(p.state, T0 + 10, 7 * 86_400).forgetSeen).toEqual([]);
    const patch = prune(p.state, T0 + 10, 7 * 86_400, { maxRetainedFinished: 100, maxDedupRecords: 4 });
    expect(patch.forgetSeen).toEqual([dedupKey(componentUpdate(1, 'operational', T0 + 1)), dedupKey(componentUpdate(2, 'operational', T0 + 2))]);
    applyPatch(p.state, patch);
    expect(measure(p.state)).toEqual({ holdings: 0, retained: 0, dedup: 3 });
  });
});
