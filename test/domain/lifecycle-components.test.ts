import { ARRIVAL_TIES_RULES } from '../../src/domain/fold-rules.js';
import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { applyPatch, createState } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { A, B, EDITED } from '../support/edited-lifecycles.js';
import { affects, componentUpdate, incident, PAGE, permutations, Player, restored, T0, uuid } from '../support/events.js';

// StatusMate lets an incident's or a maintenance's components be edited while it runs, so its
// later events may name fewer components than its first. When the later ones arrive first, the
// late event still names a component the object held from its start: the state must end where
// the created_at order leaves it, whatever the order of arrival (before, a late create naming
// A and B after its finish naming B left A unknown, or at an update the incident had overridden;
// a late maintenance_created naming A and B after its start naming B left A operational).

/** What the state shows of the components: impact, direct update, holders; unknown ones as such. */
function shown(player: Player): string {
  const page = player.state.pages.get(PAGE);
  return JSON.stringify(
    [A, B].map((n) => {
      const record = page?.components.get(uuid(n));
      if (!record) return [n, 'unknown'];
      const holders = [...(page?.holders.get(uuid(n))?.keys() ?? [])].sort();
      return [n, record.impact, record.direct?.impact ?? null, holders];
    }),
  );
}

/** Every order of `events` (receipt after all of their times) ends as the created_at order does, with or without a restart in the middle. */
function expectOrderFree(events: readonly StatusMateEvent[], expected: string): void {
  const byTime = [...events].sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
  const fold = (order: readonly StatusMateEvent[]) => {
    const player = new Player();
    order.forEach((event, i) => player.play(event, T0 + 100_000 + i));
    return player;
  };
  expect(shown(fold(byTime))).toBe(expected);
  for (const order of permutations(events)) {
    const names = order.map((e) => `${e.type}@${(e.createdAt ?? 0) - T0}`).join(' ');
    expect(shown(fold(order)), names).toBe(expected);
    const half = Math.floor(order.length / 2);
    const resumed = restored(fold(order.slice(0, half)));
    order.slice(half).forEach((event, i) => resumed.play(event, T0 + 100_000 + half + i));
    expect(shown(resumed), `${names}, restarted after ${half}`).toBe(expected);
  }
}

describe('an incident or maintenance whose later events name fewer components', () => {
  it('a late incident_created naming a component its finish does not: the component is known, and its hold ended with the incident', () => {
    const events = EDITED.incidentNamesFewer;
    expectOrderFree(
      events,
      JSON.stringify([
        [A, 'operational', null, []],
        [B, 'operational', null, []],
      ]),
    );
  });

  it('an update older than the incident is overridden by it and stays cleared, whichever of its events arrived first', () => {
    const events = EDITED.updateBeforeIncident;
    expectOrderFree(
      events,
      JSON.stringify([
        [A, 'operational', null, []],
        [B, 'operational', null, []],
      ]),
    );
  });

  it('an update after the incident began stands after its finish, whichever of its events arrived first', () => {
    const events = EDITED.updateDuringIncident;
    expectOrderFree(
      events,
      JSON.stringify([
        [A, 'degraded_performance', 'degraded_performance', []],
        [B, 'operational', null, []],
      ]),
    );
  });

  it('a late maintenance_created naming a component its start does not: the running maintenance holds it', () => {
    const events = EDITED.maintenanceStartNamesFewer;
    const held = [`maintenance:${uuid(2001)}`];
    expectOrderFree(
      events,
      JSON.stringify([
        [A, 'under_maintenance', null, held],
        [B, 'under_maintenance', null, held],
      ]),
    );
  });

  it('a late maintenance_created naming a component its start and finish do not: the component is known, and its hold ended with the maintenance', () => {
    const events = EDITED.maintenanceStartAndFinishNameFewer;
    expectOrderFree(
      events,
      JSON.stringify([
        [A, 'operational', null, []],
        [B, 'operational', null, []],
      ]),
    );
  });
  it('folds the log entries of the release before (ties by arrival) as that release did: the late event holds nothing it adds', () => {
    // Replicas of both releases fold those entries during a rolling upgrade: they must agree.
    const state = createState();
    for (const [i, event] of [
      componentUpdate(A, 'major_outage', T0),
      incident('incident_finished', 1, T0 + 200, [affects(B, 'partial_outage')], { startAt: T0 + 100, endAt: T0 + 200 }),
      incident('incident_created', 1, T0 + 100, [affects(A, 'partial_outage'), affects(B, 'partial_outage')], { startAt: T0 + 100 }),
    ].entries()) {
      applyPatch(state, reduce(state, event, dedupKey(event), T0 + 100_000 + i, DEFAULT_LIMITS, ARRIVAL_TIES_RULES).patch);
    }
    expect(state.pages.get(PAGE)?.components.get(uuid(A))?.impact).toBe('major_outage');
    expect(
      state.pages
        .get(PAGE)
        ?.incidents.get(uuid(1001))
        ?.components.map((c) => c.uuid),
    ).toEqual([uuid(B)]);
  });
});
