import { describe, expect, it } from 'vitest';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { stateView } from '../../src/api/state.js';
import { affects, incident, Player, T0, uuid } from '../support/events.js';

// README, "A component's impact": an incident created twice, at two times, began at the earlier
// create, whichever arrived first. The start gauge must say so, as the holds and the ledger do.
const startLine = (p: Player) =>
  new DomainMetrics(p.state)
    .text()
    .toString('utf8')
    .split('\n')
    .find((line) => line.startsWith('statusmate_incident_start_timestamp_seconds{') && line.includes(uuid(1001)));

describe('statusmate_incident_start_timestamp_seconds', () => {
  it('is the earlier create of an incident created twice, whichever arrived first', () => {
    const earlierFirst = new Player().playAll([
      incident('incident_created', 1, T0, [affects(1, 'major_outage')]),
      incident('incident_created', 1, T0 + 40, [affects(1, 'major_outage')]),
    ]);
    const laterFirst = new Player().playAll([
      incident('incident_created', 1, T0 + 40, [affects(1, 'major_outage')]),
      incident('incident_created', 1, T0, [affects(1, 'major_outage')]),
    ]);
    expect(startLine(earlierFirst)).toMatch(new RegExp(` ${T0}$`));
    expect(startLine(laterFirst)).toBe(startLine(earlierFirst));
  });

  it('keeps a start_at before both creates', () => {
    const p = new Player().playAll([
      incident('incident_created', 1, T0 + 40, [affects(1, 'major_outage')], { startAt: T0 - 100 }),
      incident('incident_created', 1, T0, [affects(1, 'major_outage')]),
    ]);
    expect(startLine(p)).toMatch(new RegExp(` ${T0 - 100}$`));
  });
});

describe('statusmate_incident_start_timestamp_seconds of a start_at not trusted', () => {
  it('is its event time, where the incident holds its components from', () => {
    const p = new Player().playAll([incident('incident_created', 1, T0, [affects(1, 'major_outage')], { startAt: T0 + 1000 })]);
    expect(startLine(p)).toMatch(new RegExp(` ${T0}$`));
  });
});

describe('started_at of /api/v1/state', () => {
  it('is the same earlier create as the start gauge, whichever arrived first', () => {
    const p = new Player().playAll([
      incident('incident_created', 1, T0 + 40, [affects(1, 'major_outage')]),
      incident('incident_created', 1, T0, [affects(1, 'major_outage')]),
    ]);
    const view = stateView({
      state: p.state,
      declared: [],
      deliveries: [],
      now: T0 + 100,
      exporter: { version: 'test', store: 'memory', webhook_token_required: false, all_pages_token: false, page_tokens: [], status_pages_file: null },
    });
    const started = view.status_pages.flatMap((page) => page.incidents).find((i) => i.uuid === uuid(1001))?.started_at;
    expect(started).toBe(new Date(T0 * 1000).toISOString());
  });
});
