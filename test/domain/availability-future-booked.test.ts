import { describe, expect, it } from 'vitest';
import { historyFinder } from '../../src/api/availability.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import { DAY_SECONDS } from '../../src/domain/ledger.js';
import { availabilityReport, dayText } from '../support/availability-report.js';
import { secondsByImpact } from '../../src/domain/ledger-reading.js';
import { componentUpdate, PAGE, Player, uuid } from '../support/events.js';

// A created_at up to MAX_CLOCK_SKEW_SECONDS ahead of its receipt is trusted (README, Clock skew),
// so the ledger books a change at a time still to come. docs/api.md: the period "ends at the end
// of that day, or now if sooner", "the current impact counts up to now", and known_seconds is the
// time *in the period* the component was known. A report asked before that time came counted the
// closed interval up to the future change: known_seconds past the period's length, and downtime
// that had not happened (found by driving node dist/main.js: repro/s4_skew.py).

const TODAY = Math.floor(Date.UTC(2026, 11, 5) / 1000 / DAY_SECONDS);
const NOW = TODAY * DAY_SECONDS + 10 * 3600;

function report(p: Player) {
  return availabilityReport(p.state, `from=${dayText(TODAY - 1)}`, NOW) as {
    period: { start: string; end: string };
    status_pages: { components: { uuid: string; known_seconds: number; down_seconds: number; seconds: Record<string, number> }[] }[];
  };
}

describe('a change stamped ahead of now (trusted skew) is not counted before it happens', () => {
  it('counts the impact held now up to now, not up to the future change', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'major_outage', (TODAY - 1) * DAY_SECONDS), (TODAY - 1) * DAY_SECONDS + 1);
    // Received at NOW, stamped 200 s ahead (within MAX_CLOCK_SKEW_SECONDS: trusted).
    p.play(componentUpdate(1, 'operational', NOW + 200), NOW);
    // Two future changes on another component: partial at +100, operational at +250.
    p.play(componentUpdate(2, 'operational', (TODAY - 1) * DAY_SECONDS), (TODAY - 1) * DAY_SECONDS + 1);
    p.play(componentUpdate(2, 'partial_outage', NOW + 100), NOW);
    p.play(componentUpdate(2, 'operational', NOW + 250), NOW);
    const r = report(p);
    const elapsed = NOW - (TODAY - 1) * DAY_SECONDS;
    expect(Date.parse(r.period.end) / 1000).toBe(NOW);
    const c1 = r.status_pages[0]!.components.find((c) => c.uuid === uuid(1))!;
    const c2 = r.status_pages[0]!.components.find((c) => c.uuid === uuid(2))!;
    expect(c1.known_seconds).toBe(elapsed);
    expect(c1.seconds.major_outage).toBe(elapsed);
    expect(c2.known_seconds).toBe(elapsed);
    expect(c2.seconds.partial_outage).toBe(0);
    expect(c2.down_seconds).toBe(0);
    // The landing page's bar reads the same days.
    const cells = historyFinder(p.state, [], DEFAULT_POLICY, NOW, 2)(PAGE, uuid(2))!.cells;
    expect(cells.at(-1)!.worst).toBe('operational');
  });
});

describe('the seconds counter of a change stamped ahead of now', () => {
  it('counts up to now, never past it, and grows as the time comes', () => {
    const p = new Player();
    const start = (TODAY - 1) * DAY_SECONDS;
    p.play(componentUpdate(1, 'major_outage', start), start + 1);
    p.play(componentUpdate(1, 'operational', NOW + 200), NOW);
    const entry = p.state.ledger.pages.get(PAGE)!.get(uuid(1))!;
    const seconds = (at: number) => secondsByImpact(entry, at).get('major_outage');
    expect(seconds(NOW)).toBe(NOW - start);
    expect(seconds(NOW + 100)).toBe(NOW + 100 - start);
    expect(seconds(NOW + 200)).toBe(NOW + 200 - start);
    expect(seconds(NOW + 900)).toBe(NOW + 200 - start);
    expect(secondsByImpact(entry, NOW + 900).get('operational')).toBe(700);
  });
});
