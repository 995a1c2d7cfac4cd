import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { DAY_MS, ledgerOf, toMs, type ComponentLedger } from '../../src/domain/ledger.js';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { daysOf, secondsByImpact } from '../../src/domain/ledger-reading.js';
import { replaceState } from '../../src/domain/state.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { affects, componentUpdate, incident, maintenance, PAGE, permutations, Player, uuid } from '../support/events.js';
import { componentRecords, lifecycleEntryArb, lifecycleEvents } from '../support/lifecycles.js';

// An incident first seen finished, without start_at, whose `incident_created` arrives after it
// (an auditor's report against the real exporter): its finish ended its hold from "before
// anything known here", and the late `created` used to leave the component's record as that
// finish left it, so the ledger's replay of the component's evidence (which folds `created`
// first) did not end in the state, and the late event was booked as it arrived: the incident's
// time was never booked, and the component stayed known only from the finish. Now the late
// `created` brings the start the finish lacked, and the state, the ledger and the last change
// are those of the created_at order.

const HOUR = 3600;
/** 2026-12-03T09:00:00Z, as in the report. */
const NINE = Date.UTC(2026, 11, 3, 9) / 1000;

/** Plays events in the given order, each received after every created_at (all trusted), one second apart. */
function play(events: readonly StatusMateEvent[], player = new Player(), from = 0, last = latest(events)): Player {
  events.forEach((event, i) => player.play(event, last + 1 + from + i));
  return player;
}

const latest = (events: readonly StatusMateEvent[]) => Math.max(...events.map((e) => e.createdAt ?? 0));

/** Plays the first `cut` events, takes a snapshot, restores it into a new process, plays the rest (received later still). */
function playAcrossSnapshot(events: readonly StatusMateEvent[], cut: number): Player {
  const first = play(events.slice(0, cut), new Player(), 0, latest(events));
  const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(first.state));
  if (decoded.kind !== 'state') throw new Error(decoded.kind);
  const second = new Player();
  replaceState(second.state, decoded.state);
  return play(events.slice(cut), second, cut, latest(events));
}

function entryOf(player: Player): ComponentLedger {
  const entry = ledgerOf(player.state.ledger, PAGE, uuid(1));
  if (!entry) throw new Error('component 1 has no ledger');
  return entry;
}

/** What must not depend on the order of arrival: the ledger (totals, days, first known, change points, evidence), and the component's record as its metrics read it. */
function readings(player: Player) {
  const component = player.page().components.get(uuid(1));
  return {
    ledger: encodeLedger(player.state.ledger),
    impact: component?.impact,
    lastChange: component?.changedAt,
    cleared: component?.cleared?.at ?? null,
    direct: component?.direct ? [component.direct.impact, component.direct.stamp.at] : null,
  };
}

const short = (events: readonly StatusMateEvent[]) => events.map((e) => e.type).join(' ');

describe('an incident first seen finished, without start_at, whose creation arrives after it', () => {
  const created = incident('incident_created', 6, NINE, [affects(1, 'degraded_performance')]);
  const finished = incident('incident_finished', 6, NINE + 2 * HOUR, [affects(1, 'operational')]);

  it('on a component first known by the finish: booked from its creation, as when it arrives first', () => {
    const inOrder = play([created, finished]);
    const late = play([finished, created]);
    expect(late.decisions.map((d) => d.outcome)).toEqual(['applied', 'stale']);
    for (const player of [inOrder, late]) {
      const entry = entryOf(player);
      expect(entry.sinceMs).toBe(toMs(NINE));
      const now = NINE + 15 * HOUR; // the end of 2026-12-03
      const seconds = secondsByImpact(entry, now);
      expect(seconds.get('degraded_performance')).toBe(2 * HOUR);
      expect(seconds.get('operational')).toBe(13 * HOUR);
      const day = Math.floor(toMs(NINE) / DAY_MS);
      const [usage] = daysOf(entry, 0, day, day, toMs(now));
      expect(usage?.covered).toBe(15 * HOUR * 1000);
      expect(usage?.slots[1]).toBe(2 * HOUR * 1000); // degraded_performance
      // statusmate_component_last_change_timestamp_seconds: the finish.
      expect(player.page().components.get(uuid(1))?.changedAt).toBe(NINE + 2 * HOUR);
    }
    expect(readings(late)).toEqual(readings(inOrder));
  });

  it('on a component known before: the update it overrode is cleared from its start, in either order', () => {
    // Partial outage from 08:00 (a direct update), the incident 09:00–11:00 ends it: operational after.
    const before = componentUpdate(1, 'partial_outage', NINE - HOUR);
    const want = play([before, created, finished]);
    expect(want.impact(1)).toBe('operational');
    for (const order of [
      [before, finished, created],
      [finished, before, created],
      [finished, created, before],
    ]) {
      const player = play(order);
      expect(player.impact(1), short(order)).toBe('operational');
      expect(readings(player), short(order)).toEqual(readings(want));
    }
    expect(new Map(entryOf(want).totals)).toEqual(new Map([['partial_outage', 3 * HOUR * 1000]]));
  });
});

describe('a maintenance and an incident of one component: every order of arrival gives the readings of the created_at order', () => {
  type Timeline = {
    maintenance: [number, number, number];
    incident: [number, number];
    incidentStart: boolean;
    window: boolean;
    direct: { at: number; impact: string } | null;
  };

  /** Distinct times (hours from 09:00), each lifecycle in its order: maintenance created < started < finished, incident created < finished. */
  const timelineArb = (withDirect: boolean): fc.Arbitrary<Timeline> =>
    fc
      .record({
        times: fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 6, maxLength: 6 }),
        incidentStart: fc.boolean(),
        window: fc.boolean(),
        impact: fc.constantFrom('partial_outage', 'operational', 'major_outage'),
      })
      .map(({ times, incidentStart, window, impact }) => {
        const [m0, m1, m2] = times.slice(0, 3).sort((a, b) => a - b) as [number, number, number];
        const [i0, i1] = times.slice(3, 5).sort((a, b) => a - b) as [number, number];
        return { maintenance: [m0, m1, m2], incident: [i0, i1], incidentStart, window, direct: withDirect ? { at: times[5] as number, impact } : null };
      });

  function eventsOf(t: Timeline): StatusMateEvent[] {
    const at = (hours: number) => NINE + hours * HOUR + 0.5;
    const [m0, m1, m2] = t.maintenance.map(at) as [number, number, number];
    const [i0, i1] = t.incident.map(at) as [number, number];
    const window = t.window ? { startAt: m1, endAt: m2 } : {};
    const start = t.incidentStart ? { startAt: i0 } : {};
    const events: StatusMateEvent[] = [
      maintenance('maintenance_created', 1, m0, [affects(1, null)], window),
      maintenance('maintenance_started', 1, m1, [affects(1, 'under_maintenance')], window),
      maintenance('maintenance_finished', 1, m2, [affects(1, 'operational')], window),
      incident('incident_created', 1, i0, [affects(1, 'major_outage')], start),
      incident('incident_finished', 1, i1, [affects(1, 'operational')], start),
    ];
    if (t.direct) events.push(componentUpdate(1, t.direct.impact, at(t.direct.at)));
    return events.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
  }

  it('the auditor’s five events, arriving maintenance finished, created, incident finished, created, maintenance started: the downtime is booked', () => {
    // A maintenance 09:00 (scheduled) / 10:00–12:00, an incident 13:00–15:00 without start_at.
    const t: Timeline = { maintenance: [0, 1, 3], incident: [4, 6], incidentStart: false, window: true, direct: null };
    const [mc, ms, mf, ic, inf] = eventsOf(t) as [StatusMateEvent, StatusMateEvent, StatusMateEvent, StatusMateEvent, StatusMateEvent];
    const want = play([mc, ms, mf, ic, inf]);
    const late = play([mf, mc, inf, ic, ms]);
    expect(new Map(entryOf(late).totals)).toEqual(
      new Map([
        ['under_maintenance', 2 * HOUR * 1000],
        ['major_outage', 2 * HOUR * 1000],
        ['operational', 2 * HOUR * 1000],
      ]),
    );
    expect(readings(late)).toEqual(readings(want));
  });

  it('every permutation of maintenance created, started, finished and incident created, finished (with and without start_at, window)', () => {
    fc.assert(
      fc.property(timelineArb(false), (t) => {
        const events = eventsOf(t);
        const want = readings(play(events));
        permutations(events).forEach((order, i) => {
          expect(readings(play(order)), short(order)).toEqual(want);
          // And across a snapshot and restore, at some point of the order.
          if (i % 7 === 0) expect(readings(playAcrossSnapshot(order, i % (order.length + 1))), short(order)).toEqual(want);
        });
      }),
      { numRuns: 30 },
    );
  });

  it('the same with a direct update of the component anywhere among them', () => {
    fc.assert(
      fc.property(timelineArb(true), (t) => {
        const events = eventsOf(t);
        const want = readings(play(events));
        for (const order of permutations(events)) expect(readings(play(order)), short(order)).toEqual(want);
      }),
      { numRuns: 8 },
    );
  });
});

describe('histories of several components whose incidents carry no start_at', () => {
  // As ledger-holds.test.ts's property (one lifecycle per incident and maintenance, every event
  // of one naming the same components, every created_at distinct and trusted), but incidents
  // without start_at: one whose finish arrives first learns its start from its creation.
  const spacing = { step: 30_000, start: 0.25, direct: 1300, started: 3100, finished: 5700 };
  const historyArb = fc
    .array(lifecycleEntryArb, { minLength: 1, maxLength: 12 })
    .map((entries) =>
      lifecycleEvents(entries, spacing).map((e): StatusMateEvent => (e.type.startsWith('incident') ? { ...e, startAt: null } : e) as StatusMateEvent),
    )
    .filter((events) => events.length > 0)
    .chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length })));

  it('every order of arrival gives the ledger and the component records of the created_at order', () => {
    fc.assert(
      fc.property(historyArb, ([events, shuffled]) => {
        const inOrder = play(events);
        const other = play(shuffled, new Player(), 0, latest(events));
        expect(encodeLedger(other.state.ledger)).toEqual(encodeLedger(inOrder.state.ledger));
        expect(componentRecords(other)).toEqual(componentRecords(inOrder));
      }),
      { numRuns: 300 },
    );
  });
});
