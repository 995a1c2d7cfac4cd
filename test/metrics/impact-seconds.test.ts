import { describe, expect, it } from 'vitest';
import { inventoryPatch } from '../../src/domain/inventory.js';
import { applyPatch } from '../../src/domain/state.js';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { componentUpdate, Player, T0, uuid } from '../support/events.js';

const series = (text: string) => text.split('\n').filter((line) => line.startsWith('statusmate_component_impact_seconds_total{'));

describe('statusmate_component_impact_seconds_total', () => {
  it('counts closed intervals from the fold and grows the open one at scrape time, without changing the state', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'major_outage', T0), T0 + 1);
    p.play(componentUpdate(1, 'operational', T0 + 600), T0 + 601);
    const metrics = new DomainMetrics(p.state);
    const version = p.state.version;
    const at = (now: number) => series(metrics.impactSeconds(now).toString()).sort();
    const line = (impact: string, seconds: number) =>
      `statusmate_component_impact_seconds_total{status_page="page-a",component_uuid="${uuid(1)}",component="Component 1",impact="${impact}"} ${seconds}`;
    // Every known impact from the start, at 0 until entered: no series appears with seconds already counted.
    expect(at(T0 + 700)).toEqual(
      [line('degraded_performance', 0), line('major_outage', 600), line('operational', 100), line('partial_outage', 0), line('under_maintenance', 0)].sort(),
    );
    expect(at(T0 + 1600)).toContain(line('operational', 1000));
    expect(p.state.version).toBe(version);
    // In the whole text too, once, as a counter.
    const text = metrics.text().toString() + metrics.impactSeconds(T0 + 700).toString();
    expect(text).toContain('# TYPE statusmate_component_impact_seconds_total counter');
    expect(series(text)).toHaveLength(5);
    // OpenMetrics names the family without _total.
    expect(metrics.impactSeconds(T0 + 700, 'openmetrics').toString()).toContain('# TYPE statusmate_component_impact_seconds counter');
  });

  it('has no series for a component only the overlay holds, until its declaration is folded (see impact-seconds-declared.test.ts)', () => {
    const p = new Player();
    applyPatch(p.state, inventoryPatch(p.state, [{ id: 'page-a', uuid: null, name: null, components: [{ uuid: uuid(9), name: 'Declared' }] }], T0));
    expect(series(new DomainMetrics(p.state).impactSeconds(T0 + 100).toString())).toEqual([]);
    // Its first webhook starts it, at the event's time.
    p.play(componentUpdate(9, 'operational', T0 + 50), T0 + 51);
    const lines = series(new DomainMetrics(p.state).impactSeconds(T0 + 100).toString());
    expect(lines).toHaveLength(5);
    expect(lines).toContain(
      `statusmate_component_impact_seconds_total{status_page="page-a",component_uuid="${uuid(9)}",component="Component 9",impact="operational"} 50`,
    );
    expect(lines.filter((text) => text.endsWith(' 0'))).toHaveLength(4);
  });
});
