import { describe, expect, it } from 'vitest';
import { DAY_SECONDS } from '../../src/domain/ledger.js';
import { availabilityReport, dayText } from '../support/availability-report.js';
import { affects, incident, Player } from '../support/events.js';

// docs/api.md: "A start_at further ahead of its event than MAX_CLOCK_SKEW_SECONDS is not trusted:
// the incident holds its components, and its downtime is counted, from its event's time, so
// started_at is that time (and never after ended_at)". Judged against receipt only, an event
// delivered late (its created_at hours or days back) had its start_at trusted: the report counted
// the downtime from the event's time but listed the incident from its start_at, or, finished, as
// a zero-length incident at its end (found with node dist/main.js: repro/s12_startat.py).

const TODAY = Math.floor(Date.UTC(2026, 11, 5) / 1000 / DAY_SECONDS);
const NOW = TODAY * DAY_SECONDS + 10 * 3600;

function component(p: Player) {
  const body = availabilityReport(p.state, `from=${dayText(TODAY - 1)}`, NOW) as {
    status_pages: { components: { seconds: Record<string, number>; incidents: { started_at: string; ended_at: string | null }[] }[] }[];
  };
  return body.status_pages[0]!.components[0]!;
}
const iso = (s: number) => new Date(s * 1000).toISOString();

describe('an incident start_at far ahead of its event, delivered late', () => {
  const created = (TODAY - 1) * DAY_SECONDS + 6 * 3600;
  const startAt = created + 2 * 3600;
  it('is listed from its event time, as its downtime is counted', () => {
    const p = new Player();
    p.play(incident('incident_created', 1, created, [affects(1, 'major_outage')], { startAt }), NOW);
    const c = component(p);
    expect(c.incidents[0]!.started_at).toBe(iso(created));
  });
  it('finished, keeps its hour', () => {
    const p = new Player();
    p.play(incident('incident_created', 1, created, [affects(1, 'major_outage')], { startAt }), NOW);
    p.play(incident('incident_finished', 1, created + 3600, [affects(1, 'major_outage')], { startAt, endAt: created + 3600 }), NOW);
    const c = component(p);
    expect(c.seconds.major_outage).toBe(3600);
    expect(c.incidents[0]).toMatchObject({ started_at: iso(created), ended_at: iso(created + 3600) });
  });
});
