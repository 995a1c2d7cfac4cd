import { describe, expect, it } from 'vitest';
import { declarationPatch, inventoryPatch, undeclaredComponents } from '../../src/domain/inventory.js';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { applyPatch } from '../../src/domain/state.js';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { componentUpdate, Player, T0, uuid } from '../support/events.js';

// Issue 20: a declared component has its statusmate_component_impact_seconds_total series from its
// declaration in the log (a folded `declare` entry), before any webhook.

const series = (text: string) => text.split('\n').filter((line) => line.startsWith('statusmate_component_impact_seconds_total{'));

describe('statusmate_component_impact_seconds_total of declared components', () => {
  it('has series for a declared component from its declaration in the log, before any webhook; the overlay alone makes none', () => {
    const p = new Player();
    const declared = [{ id: 'page-a', uuid: null, name: null, components: [{ uuid: uuid(9), name: 'Declared' }] }];
    applyPatch(p.state, inventoryPatch(p.state, declared, T0));
    // The memory-only record alone: this process's assumption, which replicas would not share.
    expect(series(new DomainMetrics(p.state).impactSeconds(T0 + 100).toString())).toEqual([]);
    // Its declaration folded from the log at T0 + 10: operational from then on.
    applyPatch(p.state, declarationPatch(p.state, undeclaredComponents(p.state, declared), T0 + 10, DEFAULT_LIMITS).patch);
    const line = (impact: string, seconds: number) =>
      `statusmate_component_impact_seconds_total{status_page="page-a",component_uuid="${uuid(9)}",component="Declared",impact="${impact}"} ${seconds}`;
    let lines = series(new DomainMetrics(p.state).impactSeconds(T0 + 100).toString());
    expect(lines).toHaveLength(5);
    expect(lines).toContain(line('operational', 90));
    expect(lines.filter((text) => text.endsWith(' 0'))).toHaveLength(4);
    // A webhook later decides, from its time.
    p.play(componentUpdate(9, 'major_outage', T0 + 50), T0 + 51);
    lines = series(new DomainMetrics(p.state).impactSeconds(T0 + 100).toString());
    expect(lines).toContain(line('operational', 40).replace('component="Declared"', 'component="Component 9"'));
    expect(lines).toContain(line('major_outage', 50).replace('component="Declared"', 'component="Component 9"'));
  });

  it('renders what a fresh render gives when an older first update moves declared components to the end of their ledger', () => {
    const p = new Player();
    // Three declared components, with the file's records: their ledger entries come in the order declared.
    const declared = [{ id: 'page-a', uuid: null, name: null, components: [7, 8, 9].map((n) => ({ uuid: uuid(n), name: `Declared ${n}` })) }];
    applyPatch(p.state, inventoryPatch(p.state, declared, T0));
    applyPatch(p.state, declarationPatch(p.state, undeclaredComponents(p.state, declared), T0 + 100, DEFAULT_LIMITS).patch);
    const kept = new DomainMetrics(p.state);
    const render = (metrics: DomainMetrics) => series(metrics.impactSeconds(T0 + 1000).toString());
    expect(render(kept)).toHaveLength(15);
    // An update older than the declaration starts component 7 again at its own time: its ledger
    // entry is made again, at the end of the page's map, while no record joined or left.
    p.play(componentUpdate(7, 'major_outage', T0 + 50), T0 + 200);
    const fresh = render(new DomainMetrics(p.state));
    expect(fresh).toContain(
      `statusmate_component_impact_seconds_total{status_page="page-a",component_uuid="${uuid(7)}",component="Component 7",impact="major_outage"} 950`,
    );
    expect(render(kept)).toEqual(fresh);
  });
});
