import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { availabilityReport } from '../../src/api/availability.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { DAY_MS, ledgerOf, toMs } from '../../src/domain/ledger.js';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { secondsByImpact } from '../../src/domain/ledger-reading.js';
import { affects, incident, PAGE, Player, uuid } from '../support/events.js';
import { componentRecords, lifecycleEntryArb, lifecycleEvents } from '../support/lifecycles.js';

// An incident whose start_at lies far past its own created_at (a typo, a clock, a token holder):
// the state does not trust that start (its hold begins at the event's time), so the ledger books
// the component's downtime from the event on. The reports list the incidents that explain the
// downtime of a period; one listed from its untrusted start_at alone was missing from every
// report that counted its downtime. Its start in the reports is where its hold began.

const HOUR = 3600;
/** 2026-12-03T09:00:00Z. */
const NINE = Date.UTC(2026, 11, 3, 9) / 1000;
const FAR = NINE + 400 * 24 * HOUR;

function play(events: readonly StatusMateEvent[]): Player {
  const player = new Player();
  events.forEach((event, i) => player.play(event, NINE + 4 * HOUR + i));
  return player;
}

function dayReport(player: Player) {
  const day = Math.floor(toMs(NINE) / DAY_MS);
  const report = availabilityReport({ state: player.state, declared: [], policy: DEFAULT_POLICY, now: NINE + 15 * HOUR }, day, day, PAGE);
  const page = report.status_pages[0];
  if (!page) throw new Error('no page');
  return page;
}

describe('an incident with an untrusted start_at far in the future', () => {
  const created = incident('incident_created', 7, NINE, [affects(1, 'major_outage')], { startAt: FAR });
  const finished = incident('incident_finished', 7, NINE + 2 * HOUR, [affects(1, 'operational')], { startAt: FAR, endAt: NINE + 2 * HOUR });

  for (const [name, order] of [
    ['in order', [created, finished]],
    ['finish first', [finished, created]],
  ] as const) {
    it(`is listed where its downtime is counted (${name})`, () => {
      const player = play(order);
      const entry = ledgerOf(player.state.ledger, PAGE, uuid(1));
      expect(secondsByImpact(entry!, NINE + 15 * HOUR).get('major_outage')).toBe(2 * HOUR);
      const page = dayReport(player);
      const component = page.components.find((c) => c.uuid === uuid(1));
      expect(component?.down_seconds).toBe(2 * HOUR);
      expect(page.incidents.map((i) => i.uuid)).toEqual([uuid(1007)]);
      expect(page.incidents[0]?.started_at).toBe(new Date(toMs(NINE)).toISOString());
      expect(page.incidents[0]?.ended_at).toBe(new Date(toMs(NINE + 2 * HOUR)).toISOString());
    });
  }

  it('books the same ledger and component in either order', () => {
    const [inOrder, late] = [play([created, finished]), play([finished, created])];
    expect(encodeLedger(late.state.ledger)).toEqual(encodeLedger(inOrder.state.ledger));
    // The component as its metrics read it (a stamp's seq is the order of arrival itself).
    const read = (player: Player) => {
      const c = player.page().components.get(uuid(1));
      return [c?.impact, c?.changedAt, c?.cleared?.at ?? null, c?.direct ?? null];
    };
    expect(read(late)).toEqual(read(inOrder));
  });

  it('while active, is listed from when its hold began', () => {
    const page = dayReport(play([created]));
    expect(page.incidents.map((i) => [i.uuid, i.started_at, i.ended_at])).toEqual([[uuid(1007), new Date(toMs(NINE)).toISOString(), null]]);
  });
});

describe('histories of several components whose incidents carry an untrusted start_at', () => {
  // As ledger-finished-first.test.ts's property (one lifecycle per incident and maintenance, every
  // created_at distinct and trusted), but every incident's start_at is a year past its events: the
  // hold begins at the creation, whichever of its events arrives first.
  const spacing = { step: 30_000, start: 0.25, direct: 1300, started: 3100, finished: 5700 };
  const historyArb = fc
    .array(lifecycleEntryArb, { minLength: 1, maxLength: 12 })
    .map((entries) =>
      lifecycleEvents(entries, spacing).map(
        (e): StatusMateEvent => (e.type.startsWith('incident') ? { ...e, startAt: (e.createdAt ?? 0) + 365 * 24 * HOUR } : e) as StatusMateEvent,
      ),
    )
    .filter((events) => events.length > 0)
    .chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length })));

  const latest = (events: readonly StatusMateEvent[]) => Math.max(...events.map((e) => e.createdAt ?? 0));
  const playAfter = (events: readonly StatusMateEvent[], last: number) => {
    const player = new Player();
    events.forEach((event, i) => player.play(event, last + 1 + i));
    return player;
  };
  const touches = (player: Player) => [...(player.state.ledger.touches.get(PAGE)?.values() ?? [])].sort((a, b) => (a.uuid < b.uuid ? -1 : 1));

  it('every order of arrival gives the ledger, the component records and the reports of the created_at order', () => {
    fc.assert(
      fc.property(historyArb, ([events, shuffled]) => {
        const inOrder = playAfter(events, latest(events));
        const other = playAfter(shuffled, latest(events));
        expect(encodeLedger(other.state.ledger)).toEqual(encodeLedger(inOrder.state.ledger));
        expect(componentRecords(other)).toEqual(componentRecords(inOrder));
        for (const touch of touches(other)) if (touch.end !== null) expect(touch.start).toBeLessThanOrEqual(touch.end);
      }),
      { numRuns: 300 },
    );
  });
});
