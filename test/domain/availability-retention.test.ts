import { describe, expect, it } from 'vitest';
import { availabilityAnswer, historyFinder } from '../../src/api/availability.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import { DAY_SECONDS } from '../../src/domain/ledger.js';
import { componentUpdate, PAGE, Player, uuid } from '../support/events.js';

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
    body: JSON.parse(text) as { from: string; to: string; status_pages: { components: { known_seconds: number; availability: number | null }[] }[] },
  };
}

describe('days before LEDGER_RETENTION_DAYS, pruned by the fold or not yet', () => {
  it('are no data in the report: the first kept day counts, the day before it does not', () => {
    const p = player();
    const before = report(p, `from=${day(TODAY - RETENTION_DAYS - 1)}&to=${day(TODAY - RETENTION_DAYS - 1)}`);
    expect(before.status).toBe(200);
    expect(before.body.status_pages[0]!.components[0]).toMatchObject({ known_seconds: 0, availability: null });
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
