import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { ledgerOf } from '../../src/domain/ledger.js';
import { secondsByImpact } from '../../src/domain/ledger-reading.js';
import { affects, componentUpdate, incident, maintenance, PAGE, permutations, Player, restored, T0, uuid } from '../support/events.js';

// StatusMate stamps created_at to the second, so an incident and a component's update can share
// one. Such a tie is decided by what the events say (type, then object: order.ts), never by
// which arrived first, in the state and in the ledger alike: before, the state decided it by
// arrival and the ledger's replay by type, so the same tie was booked 4,000 s degraded when
// nothing later arrived late and 8,000 s when the incident's finish did.

const S = T0 + 1000;
const E = T0 + 5000;
const L = T0 + 9000;
const NOW = T0 + 20_000;

const tie = {
  update: componentUpdate(1, 'degraded_performance', S),
  created: incident('incident_created', 1, S, [affects(1, 'degraded_performance')], { startAt: S }),
  finished: incident('incident_finished', 1, E, [affects(1, 'degraded_performance')], { startAt: S, endAt: E }),
  operational: componentUpdate(1, 'operational', L),
} satisfies Record<string, StatusMateEvent>;

// The same with a maintenance that starts at that second too, and ends between the two.
const crowded = {
  ...tie,
  scheduled: maintenance('maintenance_created', 1, S - 600, [affects(1, null)], { startAt: S, endAt: E - 1000 }),
  started: maintenance('maintenance_started', 1, S, [affects(1, null)], { startAt: S, endAt: E - 1000 }),
  ended: maintenance('maintenance_finished', 1, E - 1000, [affects(1, null)], { startAt: S, endAt: E - 1000 }),
} satisfies Record<string, StatusMateEvent>;

/** Orders in which each lifecycle's events keep their own order (StatusMate's; the lifecycle rules' own tests reorder those). */
function ordersOf(names: readonly string[]): string[][] {
  const lifecycles = [
    ['created', 'finished'],
    ['scheduled', 'started', 'ended'],
  ].filter((steps) => steps.every((step) => names.includes(step)));
  return permutations(names).filter((order) =>
    lifecycles.every((steps) => steps.every((step, i) => i === 0 || order.indexOf(steps[i - 1] as string) < order.indexOf(step))),
  );
}

/** What a reader sees of component 1 after `order`: its impact and record, its booked seconds and change points. */
function seen(player: Player) {
  const entry = ledgerOf(player.state.ledger, PAGE, uuid(1)) ?? expect.fail('no ledger entry');
  const record = player.page().components.get(uuid(1));
  return JSON.stringify({
    impact: record?.impact,
    changedAt: record?.changedAt,
    seconds: Object.fromEntries(secondsByImpact(entry, NOW)),
    changes: [...entry.changes.ms].map((ms, i) => [ms, entry.changes.impacts[i]]),
  });
}

function fold(events: Record<string, StatusMateEvent>, order: readonly string[], player = new Player(), first = 0): Player {
  order.forEach((name, i) => player.play(events[name] as StatusMateEvent, T0 + 10_000 + first + i));
  return player;
}

describe('events of the same created_at second', () => {
  it('are ordered by type in the state and the ledger alike, whichever arrived first and whether or not a later one arrives late', () => {
    const orders = ordersOf(Object.keys(tie));
    expect(orders).toHaveLength(12);
    const results = new Set(orders.map((order) => seen(fold(tie, order))));
    // The incident's create comes before the update of its second, so the update outlives the
    // incident: degraded from S until the operational update at L.
    expect([...results]).toEqual([seen(fold(tie, ['created', 'update', 'finished', 'operational']))]);
    expect(JSON.parse([...results][0] as string).seconds).toEqual({ operational: NOW - L, degraded_performance: L - S });
  });

  it('with a maintenance starting in that second too, every order gives one state and one ledger', () => {
    const orders = ordersOf(Object.keys(crowded));
    expect(orders).toHaveLength(420);
    const results = new Set(orders.map((order) => seen(fold(crowded, order))));
    expect(results.size).toBe(1);
  });

  it('are decided alike after a restart in between: the stamps a snapshot keeps carry the tie', () => {
    const orders = ordersOf(Object.keys(tie));
    expect(orders).toHaveLength(12);
    for (const order of orders) {
      const straight = fold(tie, order);
      const resumed = fold(tie, order.slice(2), restored(fold(tie, order.slice(0, 2))), 2);
      expect(seen(resumed), order.join(' ')).toBe(seen(straight));
    }
  });
});

describe('a component first named by an incident finish, in the second another incident starts on it', () => {
  // Incident 1 is created naming component 2 and finished naming component 1 as well; incident 2
  // starts on component 1 in the second of that finish, and a later update agrees with it. So
  // component 1 is degraded from that second on in every order. When incident 1's create arrived
  // after its finish, its record already held component 1, the create joined component 1's
  // evidence at a time before the component was known, and the last change was left at the
  // update's time instead of the second the component became known degraded.
  const events = {
    created: incident('incident_created', 1, S - 500, [affects(2, 'partial_outage')], { startAt: S - 600 }),
    finished: incident('incident_finished', 1, S, [affects(2, 'operational'), affects(1, 'operational')], { startAt: S - 600, endAt: S }),
    other: incident('incident_created', 2, S, [affects(1, 'degraded_performance')], { startAt: S - 200 }),
    update: componentUpdate(1, 'degraded_performance', E),
  } satisfies Record<string, StatusMateEvent>;

  it('has one last change and one ledger in every order of arrival', () => {
    const inOrder = seen(fold(events, ['created', 'other', 'finished', 'update']));
    expect(JSON.parse(inOrder)).toMatchObject({ impact: 'degraded_performance', changedAt: S, seconds: { operational: 0, degraded_performance: NOW - S } });
    const orders = permutations(Object.keys(events));
    expect(orders).toHaveLength(24);
    for (const order of orders) expect(seen(fold(events, order)), order.join(' ')).toBe(inOrder);
  });
});
