import { describe, expect, it } from 'vitest';
import { DAY_SECONDS } from '../../src/domain/ledger.js';
import { availabilityReport, dayText } from '../support/availability-report.js';
import { affects, incident, maintenance, Player } from '../support/events.js';

// docs/api.md, "Incidents and maintenances are those whose time overlaps the period": the period
// is [start, end), and an incident or maintenance that ended exactly at the period's start (a
// maintenance window ending at 00:00 UTC) has no time in it. Listed there, it showed in the next
// day's (or month's) SLA report with no downtime of its own (found with node dist/main.js:
// repro/s9_touches.py), while one starting exactly at the period's end was (rightly) left out.

const TODAY = Math.floor(Date.UTC(2026, 11, 5) / 1000 / DAY_SECONDS);
const NOW = TODAY * DAY_SECONDS + 10 * 3600;

function titles(p: Player, d: number): string[] {
  const body = availabilityReport(p.state, `from=${dayText(d)}&to=${dayText(d)}`, NOW) as {
    status_pages: { incidents: { title: string }[]; maintenances: { title: string }[] }[];
  };
  return body.status_pages.flatMap((page) => [...page.incidents, ...page.maintenances].map((t) => t.title)).sort();
}

describe('an incident or maintenance ending exactly at a period boundary', () => {
  it('is listed in the period it overlaps, not in the next one', () => {
    const p = new Player();
    const midnight = (TODAY - 2) * DAY_SECONDS;
    p.play(incident('incident_created', 1, midnight - 4 * 3600, [affects(1, 'major_outage')]), midnight - 4 * 3600);
    p.play(incident('incident_finished', 1, midnight, [affects(1, 'major_outage')]), midnight);
    const m = [affects(2, 'under_maintenance')];
    p.play(maintenance('maintenance_created', 2, midnight - 7200, m, { startAt: midnight - 3600, endAt: midnight }), midnight - 7200);
    p.play(maintenance('maintenance_started', 2, midnight - 3600, m, { startAt: midnight - 3600, endAt: midnight }), midnight - 3600);
    p.play(maintenance('maintenance_finished', 2, midnight, m, { startAt: midnight - 3600, endAt: midnight }), midnight);
    // Zero-length: created and finished in the same second, at the next midnight.
    const next = midnight + DAY_SECONDS;
    p.play(incident('incident_created', 3, next, [affects(1, 'major_outage')]), next);
    p.play(incident('incident_finished', 3, next, [affects(1, 'major_outage')]), next);
    expect(titles(p, TODAY - 3)).toEqual(['Incident 1', 'Maintenance 2']);
    expect(titles(p, TODAY - 2)).toEqual([]);
    expect(titles(p, TODAY - 1)).toEqual(['Incident 3']);
  });
});
