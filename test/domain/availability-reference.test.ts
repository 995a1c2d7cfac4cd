import { describe, expect, it } from 'vitest';
import { availabilityReport } from '../../src/api/availability.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { ledgerOf } from '../../src/domain/ledger.js';
import { secondsByImpact } from '../../src/domain/ledger-reading.js';
import { DAY, randomHistory, referenceReport, timelines, secondsIn, type RefEvent } from '../support/availability-reference.js';
import { affects, componentUpdate, incident, maintenance, PAGE, Player, restored, uuid } from '../support/events.js';

// GET /api/v1/availability and the impact counter against an independent calculation: the
// reference calculator (test/support/availability-reference.ts) reads only the docs. Seeded random
// histories of several components, overlapping incidents, maintenances over them and updates
// during them, across UTC days and the end of November, are played through the reducer in
// created_at order (with a restart from a snapshot halfway), and every day's report, the whole
// period, a period starting mid-incident and one ending now are compared with the reference.

const n = (id: string) => Number(id.slice(1));

/** A reference event as the reducer takes it (the incident's start_at its create's time). */
export function toDomain(event: RefEvent, history: readonly RefEvent[]): StatusMateEvent {
  switch (event.kind) {
    case 'update':
      return componentUpdate(n(event.component), event.impact, event.at);
    case 'incident_created':
    case 'incident_finished': {
      const created = history.find((e) => e.kind === 'incident_created' && e.id === event.id)!;
      const extra = { startAt: created.at, endAt: event.kind === 'incident_finished' ? event.at : null };
      return incident(
        event.kind,
        n(event.id),
        event.at,
        event.components.map((c) => affects(n(c.component), c.impact)),
        extra,
      );
    }
    default:
      return maintenance(
        event.kind,
        n(event.id),
        event.at,
        event.components.map((c) => affects(n(c), 'under_maintenance')),
      );
  }
}

const START = Date.UTC(2026, 10, 27, 7, 13, 0) / 1000;
const END = Date.UTC(2026, 11, 3, 18, 0, 0) / 1000;
const NOW = END + 5 * 3600 + 17;
const SHAPE = { components: 5, start: START, end: END, incidents: 9, maintenances: 4, updates: 25 };

/** A policy that weighs every slot and counts maintenance (down_seconds is then fractional: rounded to ms as the API does). */
const COUNTING_MAINTENANCE = {
  weights: { major_outage: 1, partial_outage: 0.75, degraded_performance: 0.5, under_maintenance: 0.25, other: 1 },
  excludeMaintenance: false,
};

type Figures = { availability: number | null; known_seconds: number; excluded_seconds: number; down_seconds: number; seconds: Record<string, number> };

function expectFigures(actual: Figures, expected: Figures, what: string) {
  expect(actual.seconds, what).toEqual(expected.seconds);
  expect(actual.known_seconds, what).toBe(expected.known_seconds);
  expect(actual.excluded_seconds, what).toBe(expected.excluded_seconds);
  expect(actual.down_seconds, what).toBe(Math.round(expected.down_seconds * 1000) / 1000);
  if (expected.availability === null) expect(actual.availability, what).toBeNull();
  else expect(actual.availability, what).toBeCloseTo(expected.availability, 12);
}

/** Compares the reducer's report for [fromDay, toDay] at `now` with the reference's. */
function compare(player: Player, history: readonly RefEvent[], now: number, fromDay: number, toDay: number, what: string, policy = DEFAULT_POLICY) {
  const report = availabilityReport({ state: player.state, declared: [], policy, now }, fromDay, toDay, null);
  const expected = referenceReport(history, now, fromDay, toDay, policy);
  const page = report.status_pages.find((p) => p.id === PAGE);
  if (expected.components.size === 0) return;
  expect(page, what).toBeDefined();
  expectFigures(page!, expected.page, `${what}, the page`);
  for (const [component, figures] of expected.components) {
    const actual = page!.components.find((c) => c.uuid === uuid(n(component)));
    expect(actual, `${what}: ${component}`).toBeDefined();
    expect(actual!.known_since, `${what}: ${component}`).toBe(new Date(figures.known_since * 1000).toISOString());
    expectFigures(actual!, figures, `${what}: ${component}`);
  }
  expect(page!.components.length, what).toBe(expected.components.size);
}

/** The counter (secondsByImpact) against the reference's totals since the component was known. */
function compareCounter(player: Player, history: readonly RefEvent[], now: number, what: string) {
  for (const [component, segments] of timelines(history, now)) {
    const entry = ledgerOf(player.state.ledger, PAGE, uuid(n(component)));
    expect(entry, `${what}: ${component}`).toBeDefined();
    const counted = Object.fromEntries(secondsByImpact(entry!, now));
    const expected = secondsIn(segments, -Infinity, Infinity);
    for (const [slot, seconds] of Object.entries(expected)) expect(counted[slot] ?? 0, `${what}: ${component} ${slot}`).toBeCloseTo(seconds, 3);
  }
}

function check(player: Player, history: readonly RefEvent[], now: number, what: string) {
  const firstDay = Math.floor(history[0]!.at / DAY);
  const today = Math.floor(now / DAY);
  compare(player, history, now, firstDay, today, `${what}, whole history`);
  compare(player, history, now, firstDay, today, `${what}, whole history, maintenance counted`, COUNTING_MAINTENANCE);
  for (let day = firstDay; day <= today; day++) compare(player, history, now, day, day, `${what}, day ${day}`);
  // Periods starting while an incident goes on: the day after each create.
  for (const event of history) {
    if (event.kind !== 'incident_created') continue;
    const day = Math.floor(event.at / DAY) + 1;
    if (day <= today) compare(player, history, now, day, Math.min(today, day + 1), `${what}, from mid-${event.id}`);
  }
  compareCounter(player, history, now, what);
}

describe('the availability report against the reference calculator', () => {
  // Without a grid one event a second; on a grid of 10 minutes or 2 hours many share one, and
  // README "Order" decides.
  for (const [seed, grid] of [[1], [2], [3], [4], [5], [6, 600], [7, 600], [8, 7200], [9, 7200]] as [number, number?][]) {
    it(`matches on seed ${seed}${grid ? `, events on a ${grid} s grid` : ''}, before and after a restart halfway`, () => {
      const history = randomHistory(seed, { ...SHAPE, grid });
      const half = Math.floor(history.length / 2);
      let player = new Player();
      for (const event of history.slice(0, half)) player.play(toDomain(event, history), event.at + 1);
      // Now is after the first half, before the second (or in the second of both, on a grid).
      const middle = Math.max(history[half - 1]!.at, history[half]!.at - 1);
      check(player, history.slice(0, half), middle, `seed ${seed}, first half`);
      player = restored(player);
      for (const event of history.slice(half)) player.play(toDomain(event, history), event.at + 1);
      check(player, history, NOW, `seed ${seed}`);
    });
  }
});

describe('the two readings the reference pinned down in the docs', () => {
  const D = Date.UTC(2026, 11, 1) / 1000;
  const day = D / DAY;
  const report = (player: Player, now: number) =>
    availabilityReport({ state: player.state, declared: [], policy: DEFAULT_POLICY, now }, day, day, null).status_pages[0]!;

  it('an update overridden by an incident that ended gives the component back to the incidents it had overridden (README)', () => {
    const player = new Player();
    player.play(incident('incident_created', 1, D + 600, [affects(1, 'partial_outage')]), D + 601);
    player.play(componentUpdate(1, 'operational', D + 1200), D + 1201);
    player.play(incident('incident_created', 2, D + 1800, [affects(1, 'degraded_performance')]), D + 1801);
    player.play(incident('incident_finished', 2, D + 2400, [affects(1, 'degraded_performance')]), D + 2401);
    expect(player.impact(1)).toBe('partial_outage');
    const seconds = report(player, D + 3000).components[0]!.seconds;
    expect(seconds).toMatchObject({ partial_outage: 600 + 600, operational: 600, degraded_performance: 600 });
  });

  it("books an incident's downtime from its event, not from a start_at before it, which only its started_at says (docs/api.md)", () => {
    const player = new Player();
    player.play(componentUpdate(1, 'operational', D + 1000), D + 1001);
    player.play(incident('incident_created', 1, D + 7200, [affects(1, 'major_outage')], { startAt: D + 3600 }), D + 7201);
    const page = report(player, D + 10_800);
    expect(page.components[0]!.seconds).toMatchObject({ operational: 6200, major_outage: 3600 });
    expect(page.incidents[0]!.started_at).toBe(new Date((D + 3600) * 1000).toISOString());
  });
});
