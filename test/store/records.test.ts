import { describe, expect, it } from 'vitest';
import { applyPatch, emptyPatch } from '../../src/domain/state.js';
import { parseRecord } from '../../src/store/records.js';
import { componentUpdate, incident, affects, PAGE, Player, T0, uuid } from '../support/events.js';

const YEAR_2100 = Date.parse('2100-01-01T00:00:00Z') / 1000;

/** Rows as the exporter wrote them before stamps: one time per ordering field. */
const legacyComponent = (impact: string, at: number, direct: boolean) =>
  JSON.stringify({ statusPage: PAGE, uuid: uuid(1), name: 'API', impact, changedAt: at, updatedAt: at, directUpdateAt: direct ? at : null });

describe('stored records', () => {
  it('lets a component frozen in an existing store by a far-future created_at recover on its next update', () => {
    const p = new Player();
    applyPatch(p.state, { ...emptyPatch(), components: [parseRecord('components', legacyComponent('major_outage', YEAR_2100, true))] });
    const next = p.play(componentUpdate(1, 'operational', T0), T0 + 1);
    expect(next.outcome).toBe('applied');
    expect(p.impact(1)).toBe('operational');
  });

  it('reads a row written before stamps so that its incident still holds the component and ends as before', () => {
    const p = new Player();
    const row = JSON.stringify({
      statusPage: PAGE,
      uuid: uuid(1001),
      title: 'Incident 1',
      state: 'active',
      startAt: T0,
      endAt: null,
      components: [{ uuid: uuid(1), impact: 'major_outage' }],
      lastEventAt: T0,
      createdCounted: true,
      finishedCounted: false,
      durationObserved: false,
      finishedReceivedAt: null,
    });
    applyPatch(p.state, {
      ...emptyPatch(),
      components: [parseRecord('components', legacyComponent('major_outage', T0, false))],
      incidents: [parseRecord('incidents', row)],
    });
    p.play(componentUpdate(2, 'operational', T0 + 5));
    expect(p.impact(1)).toBe('major_outage');
    p.play(incident('incident_finished', 1, T0 + 60, [affects(1, 'major_outage')]));
    expect(p.impact(1)).toBe('operational');
  });

  it('refuses a row that is not a record, naming its kind and the field', () => {
    expect(() => parseRecord('components', '{"statusPage":"a"}')).toThrow(/^stored components row is not readable: uuid: /);
    expect(() => parseRecord('incidents', 'not json')).toThrow(/^stored incidents row is not JSON/);
  });
});
