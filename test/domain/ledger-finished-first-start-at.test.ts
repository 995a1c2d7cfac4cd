import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { ledgerOf } from '../../src/domain/ledger.js';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { secondsByImpact } from '../../src/domain/ledger-reading.js';
import { affects, componentUpdate, incident, PAGE, permutations, Player, uuid } from '../support/events.js';

// An incident first seen finished whose finish carries a start_at later than its create's time (the
// start edited after the incident was opened), the create arriving after the finish (its first
// delivery failed, its retry came late). Found against the real exporter by an independent reading
// of the ledger: the finish ended the incident's hold from its own start_at, the late create (stale)
// left that start in the component's record while created_at order began the incident at the create,
// so the replay of the component's evidence did not end in the state and the create was booked as
// it arrived: the report counted no downtime at all (0 s of major_outage instead of 2 h) and the
// component stayed known from the finish only. A late create of an incident first seen finished now
// begins it at its own start, as created_at order does, whatever start_at the finish carried.

const HOUR = 3600;
/** 2026-12-05T00:00:00Z. */
const DAY0 = Date.UTC(2026, 11, 5) / 1000;
const at = (hours: number) => DAY0 + hours * HOUR;

/** Plays events in the given order, each received after every created_at (all trusted), one second apart. */
function play(events: readonly StatusMateEvent[]): Player {
  const player = new Player();
  const last = Math.max(...events.map((e) => e.createdAt ?? 0));
  events.forEach((event, i) => player.play(event, last + 1 + i));
  return player;
}

function readings(player: Player, now: number) {
  const entry = ledgerOf(player.state.ledger, PAGE, uuid(1));
  if (!entry) throw new Error('component 1 has no ledger');
  const component = player.page().components.get(uuid(1));
  return {
    seconds: Object.fromEntries(secondsByImpact(entry, now)),
    knownSince: entry.sinceMs / 1000,
    ledger: encodeLedger(player.state.ledger),
    impact: component?.impact,
    lastChange: component?.changedAt,
    cleared: component?.cleared?.at ?? null,
    direct: component?.direct ? [component.direct.impact, component.direct.stamp.at] : null,
  };
}

describe('a late incident_created of an incident first seen finished with a start_at after the create', () => {
  const create = incident('incident_created', 1, at(10), [affects(1, 'major_outage')], { startAt: at(10) });
  // The start edited to 11:00 after the incident was opened at 10:00.
  const finish = incident('incident_finished', 1, at(12), [affects(1, 'major_outage')], { startAt: at(11) });
  const now = at(20);

  it('books the incident from its create, as created_at order does', () => {
    const late = readings(play([finish, create]), now);
    expect(late.seconds['major_outage']).toBe(2 * HOUR);
    expect(late.knownSince).toBe(at(10));
    expect(late).toEqual(readings(play([create, finish]), now));
  });

  it('books the same in every order, with an update before and one during the incident', () => {
    // In created_at order the update at 10:30, made after the incident began (at its create, 10:00),
    // overrides it and stands once it ends; the one at 8:00 is overridden by the incident.
    const during = componentUpdate(1, 'partial_outage', at(10.5));
    const events = [componentUpdate(1, 'degraded_performance', at(8)), create, during, finish];
    const inOrder = readings(play(events), now);
    expect(inOrder.seconds).toMatchObject({ degraded_performance: 2 * HOUR, major_outage: HOUR / 2, partial_outage: 9.5 * HOUR });
    // Every order in which the finish arrives before the create and the update during the incident after it (the finish first
    // would forget that update for good: it was made before the start_at the finish carries).
    const orders = permutations(events).filter((o) => o.indexOf(finish) < o.indexOf(create) && o.indexOf(during) > o.indexOf(create));
    expect(orders.length).toBeGreaterThan(0);
    for (const order of orders)
      expect(readings(play(order), now), order.map((e) => `${e.type}@${((e.createdAt ?? 0) - DAY0) / HOUR}`).join(' ')).toEqual(inOrder);
  });
});
