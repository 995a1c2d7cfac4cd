import { describe, expect, it } from 'vitest';
import { availabilityAnswer, historyFinder } from '../../src/api/availability.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import { DAY_SECONDS } from '../../src/domain/ledger.js';
import { prune } from '../../src/domain/prune.js';
import { applyPatch, emptyPatch } from '../../src/domain/state.js';
import { affects, componentUpdate, incident, maintenance, PAGE, Player, uuid } from '../support/events.js';

// LEDGER_RETENTION_DAYS as the reports read it. The fold prunes the ledger's days by log time,
// once per ten minutes of it and only when it folds an entry: after a start, after midnight, or
// while no webhook arrives, it still holds days older than the retention. A report, or a bar, of
// such a day read its data, and "no data" for the same day after the next webhook (found by
// test/process/availability-drill.test.ts: a day before the first kept day answered 345,600
// seconds for a page of four components, then none).

const RETENTION_DAYS = 3;
const TODAY = Math.floor(Date.UTC(2026, 11, 5) / 1000 / DAY_SECONDS);
const NOW = TODAY * DAY_SECONDS + 20 * 3600;
const day = (n: number) => new Date(n * DAY_SECONDS * 1000).toISOString().slice(0, 10);

/**
 * A component down since six days before today, folded without a prune (none has run yet); with
 * `booked`, down for an hour on each of the six days before today (day rows), else down throughout
 * (the open interval).
 */
function player(booked = false): Player {
  const p = new Player({ ledgerRetentionDays: RETENTION_DAYS });
  for (let d = TODAY - 6; d < (booked ? TODAY : TODAY - 5); d += 1) {
    p.play(componentUpdate(1, 'major_outage', d * DAY_SECONDS + 3600), d * DAY_SECONDS + 3601);
    if (booked) p.play(componentUpdate(1, 'operational', d * DAY_SECONDS + 7200), d * DAY_SECONDS + 7201);
  }
  expect(p.state.ledger.keptFromDay).toBeLessThan(TODAY - RETENTION_DAYS);
  return p;
}

function report(p: Player, query: string) {
  const answer = availabilityAnswer({
    state: p.state,
    declared: [],
    policy: DEFAULT_POLICY,
    query: new URLSearchParams(query),
    now: NOW,
    maxDays: RETENTION_DAYS + 1,
  });
  const text = Buffer.concat(answer.body).toString('utf8');
  return {
    status: answer.status,
    body: JSON.parse(text) as {
      from: string;
      to: string;
      kept_from: string;
      status_pages: { components: { known_seconds: number; availability: number | null }[] }[];
    },
  };
}

describe('days before LEDGER_RETENTION_DAYS, pruned by the fold or not yet', () => {
  it('are no data in the report: the first kept day counts, the day before it does not', () => {
    const p = player();
    const before = report(p, `from=${day(TODAY - RETENTION_DAYS - 1)}&to=${day(TODAY - RETENTION_DAYS - 1)}`);
    expect(before.status).toBe(200);
    expect(before.body.status_pages[0]!.components[0]).toMatchObject({ known_seconds: 0, availability: null });
    // The report says which day is the oldest it holds, pruned yet or not.
    expect(before.body.kept_from).toBe(day(TODAY - RETENTION_DAYS));
    const first = report(p, `from=${day(TODAY - RETENTION_DAYS)}&to=${day(TODAY - RETENTION_DAYS)}`);
    expect(first.body.status_pages[0]!.components[0]).toMatchObject({ known_seconds: DAY_SECONDS, availability: 0 });
    // A period over the edge counts the kept days only.
    const across = report(p, `from=${day(TODAY - RETENTION_DAYS - 1)}&to=${day(TODAY)}`);
    expect(across.status).toBe(400);
    const kept = report(p, `from=${day(TODAY - RETENTION_DAYS)}&to=${day(TODAY)}`);
    expect(kept.body.status_pages[0]!.components[0]!.known_seconds).toBe(RETENTION_DAYS * DAY_SECONDS + 20 * 3600);
  });

  it('are no data when the ledger has day rows of them: their outages count in no report', () => {
    const p = player(true);
    type Component = { known_seconds: number; down_seconds: number; availability: number | null; seconds: Record<string, number> };
    const component = (query: string) => report(p, query).body.status_pages[0]!.components[0] as unknown as Component;
    expect(component(`from=${day(TODAY - RETENTION_DAYS - 1)}&to=${day(TODAY - RETENTION_DAYS - 1)}`)).toMatchObject({
      known_seconds: 0,
      down_seconds: 0,
      availability: null,
      seconds: { operational: 0, major_outage: 0 },
    });
    const across = component(`from=${day(TODAY - RETENTION_DAYS - 1)}&to=${day(TODAY - 1)}`);
    expect(across).toMatchObject({ known_seconds: RETENTION_DAYS * DAY_SECONDS, down_seconds: RETENTION_DAYS * 3600 });
    expect(across.seconds.major_outage).toBe(RETENTION_DAYS * 3600);
    const cells = historyFinder(p.state, [], DEFAULT_POLICY, NOW, 90, RETENTION_DAYS)(PAGE, uuid(1))!.cells;
    expect(cells.find((cell) => cell.day === TODAY - RETENTION_DAYS - 1)).toEqual({ day: TODAY - RETENTION_DAYS - 1, worst: null, availability: null });
  });

  it('are named by the report: kept_from is the later of the retention and what LEDGER_MAX_DAY_ROWS left', () => {
    const p = player(true);
    expect(report(p, '').body.kept_from).toBe(day(TODAY - RETENTION_DAYS));
    // The day-row bound forgot more (as boundDayRows does): the report's oldest day moves with it.
    applyPatch(p.state, { ...emptyPatch(), ledgerKeepFromDay: TODAY - 1 });
    const answer = report(p, `from=${day(TODAY - RETENTION_DAYS)}&to=${day(TODAY)}`).body;
    expect(answer.kept_from).toBe(day(TODAY - 1));
    expect(answer.status_pages[0]!.components[0]!.known_seconds).toBe(DAY_SECONDS + 20 * 3600);
  });

  it("are no data in the landing page's bar, and outside its 30-day figure", () => {
    const history = historyFinder(player().state, [], DEFAULT_POLICY, NOW, 90, RETENTION_DAYS)(PAGE, uuid(1))!;
    const cells = new Map(history.cells.map((cell) => [cell.day, cell]));
    expect(cells.get(TODAY - RETENTION_DAYS - 1)).toEqual({ day: TODAY - RETENTION_DAYS - 1, worst: null, availability: null });
    expect(cells.get(TODAY - RETENTION_DAYS)).toEqual({ day: TODAY - RETENTION_DAYS, worst: 'major_outage', availability: 0 });
    expect(history.cells.filter((cell) => cell.worst !== null).length).toBe(RETENTION_DAYS + 1);
  });
});

describe('the default period under a LEDGER_RETENTION_DAYS below 29', () => {
  it('is the days the ledger keeps, not a 400 for the plain GET', () => {
    const plain = report(player(), '');
    expect(plain.status).toBe(200);
    expect([plain.body.from, plain.body.to]).toEqual([day(TODAY - RETENTION_DAYS), day(TODAY)]);
    // With `to` alone, as many days back from it.
    const upTo = report(player(), `to=${day(TODAY - 1)}`);
    expect([upTo.body.from, upTo.body.to]).toEqual([day(TODAY - 1 - RETENTION_DAYS), day(TODAY - 1)]);
  });
});

describe('incidents and maintenances that ended before the first kept day', () => {
  /** An incident and a maintenance that ended the day before the first kept day, and an incident that ended on it. */
  function history(): Player {
    const p = new Player({ ledgerRetentionDays: RETENTION_DAYS });
    const before = (TODAY - RETENTION_DAYS - 1) * DAY_SECONDS;
    const first = (TODAY - RETENTION_DAYS) * DAY_SECONDS;
    // Each received a second after its created_at.
    const play = (event: Parameters<Player['play']>[0], at: number) => p.play(event, at + 1);
    play(incident('incident_created', 1, before + 3600, [affects(1, 'major_outage')], { startAt: before + 3600 }), before + 3600);
    play(incident('incident_finished', 1, before + 7200, [affects(1, 'major_outage')], { startAt: before + 3600, endAt: before + 7200 }), before + 7200);
    play(maintenance('maintenance_started', 1, before + 3600, [affects(1, 'under_maintenance')]), before + 3600);
    play(maintenance('maintenance_finished', 1, before + 7200, [affects(1, 'under_maintenance')]), before + 7200);
    play(incident('incident_created', 2, before + 80_000, [affects(1, 'partial_outage')], { startAt: before + 80_000 }), before + 80_000);
    play(incident('incident_finished', 2, first + 600, [affects(1, 'partial_outage')], { startAt: before + 80_000, endAt: first + 600 }), first + 600);
    return p;
  }
  type Listed = { status_pages: { incidents: { uuid: string }[]; maintenances: { uuid: string }[]; components: { incidents: { uuid: string }[] }[] }[] };
  const listed = (p: Player, from: number) => {
    const body = report(p, `from=${day(from)}&to=${day(Math.min(TODAY, from + RETENTION_DAYS))}`).body as unknown as Listed;
    const page = body.status_pages[0]!;
    return {
      incidents: page.incidents.map((i) => i.uuid),
      maintenances: page.maintenances.map((m) => m.uuid),
      ofComponent: page.components[0]!.incidents.map((i) => i.uuid),
    };
  };

  it('are not listed, while the ledger still keeps them (not pruned yet) or the state still remembers them (pruned)', () => {
    const unpruned = history();
    const pruned = history();
    applyPatch(pruned.state, prune(pruned.state, NOW, 7 * DAY_SECONDS, undefined, RETENTION_DAYS));
    expect(pruned.state.ledger.keptFromDay).toBe(TODAY - RETENTION_DAYS);
    // The state remembers both finished incidents for FINISHED_RETENTION_SECONDS (7 days).
    expect(pruned.state.pages.get(PAGE)!.incidents.size).toBe(2);
    for (const p of [pruned, unpruned]) {
      // From the day before the first kept one: only the incident that ended on the first kept day.
      expect(listed(p, TODAY - RETENTION_DAYS - 1)).toEqual({ incidents: [uuid(1002)], maintenances: [], ofComponent: [uuid(1002)] });
      expect(listed(p, TODAY - RETENTION_DAYS)).toEqual({ incidents: [uuid(1002)], maintenances: [], ofComponent: [uuid(1002)] });
    }
  });
});
