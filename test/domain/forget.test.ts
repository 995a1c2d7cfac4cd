import { describe, expect, it } from 'vitest';
import { forget } from '../../src/domain/forget.js';
import { STATE_ONLY_FORGET_RULES } from '../../src/domain/fold-rules.js';
import { declarationPatch } from '../../src/domain/inventory.js';
import { ledgerOf, measureEvidence } from '../../src/domain/ledger.js';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { measure } from '../../src/domain/size.js';
import { applyPatch, createState } from '../../src/domain/state.js';
import { affects, componentUpdate, incident, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';

const SKEW = DEFAULT_LIMITS.maxClockSkewSeconds;
const NOW = T0 + 20_000;

/** Forgets on the player's state and checks that the kept size measures match a count from scratch. */
function apply(p: Player, target: Parameters<typeof forget>[1]) {
  const decision = forget(p.state, target, NOW, SKEW);
  applyPatch(p.state, decision.patch);
  expect(measure(p.state)).toEqual({ ...p.state.size, dedup: p.state.seen.size });
  expect(measureEvidence(p.state.ledger)).toBe(p.state.ledger.evidenceWeight);
  return { decision };
}

const impactOf = (p: Player, component: number) => p.state.pages.get(PAGE)?.components.get(uuid(component))?.impact;

describe('forgetting', () => {
  it('forgets a page with everything on it', () => {
    const p = new Player();
    p.play(incident('incident_created', 1, T0, [affects(1, 'major_outage')]));
    p.play(maintenance('maintenance_created', 1, T0, [affects(2, null)]));
    const { decision } = apply(p, { kind: 'page', statusPage: PAGE });
    expect(decision.found).toBe(true);
    expect(p.state.pages.has(PAGE)).toBe(false);
    expect(p.state.componentCount).toBe(0);
    expect(p.state.size).toEqual({ holdings: 0, retained: 0 });
  });

  it('forgets a component and its holdings, keeping the incident that named it with its other components', () => {
    const p = new Player();
    p.play(incident('incident_created', 1, T0, [affects(1, 'major_outage'), affects(2, 'partial_outage')]));
    expect(p.state.size.holdings).toBe(2);
    const { decision } = apply(p, { kind: 'component', statusPage: PAGE, uuid: uuid(1) });
    expect(decision.found).toBe(true);
    const page = p.state.pages.get(PAGE);
    expect(page?.components.has(uuid(1))).toBe(false);
    expect(page?.incidents.get(uuid(1001))?.components).toEqual([{ uuid: uuid(2), impact: 'partial_outage' }]);
    expect(page?.holders.has(uuid(1))).toBe(false);
    expect(p.state.size.holdings).toBe(1);
    expect(p.state.componentCount).toBe(1);
  });

  it('forgets an active incident, and its components show what is left without its hold', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'degraded_performance', T0 - 60));
    p.play(incident('incident_created', 1, T0, [affects(1, 'major_outage'), affects(2, 'major_outage')]));
    p.play(maintenance('maintenance_started', 1, T0 + 1, [affects(2, 'under_maintenance')]));
    expect([impactOf(p, 1), impactOf(p, 2)]).toEqual(['major_outage', 'major_outage']);
    const { decision } = apply(p, { kind: 'incident', statusPage: PAGE, uuid: uuid(1001) });
    expect(decision.found).toBe(true);
    expect(p.state.pages.get(PAGE)?.incidents.has(uuid(1001))).toBe(false);
    expect(p.state.pages.get(PAGE)?.activeIncidents.size).toBe(0);
    // Component 1 goes back to its direct update, component 2 to the maintenance still holding it.
    expect([impactOf(p, 1), impactOf(p, 2)]).toEqual(['degraded_performance', 'under_maintenance']);
    expect(p.state.pages.get(PAGE)?.components.get(uuid(1))?.changedAt).toBe(NOW);
    // Counters are counters: what was counted stays.
    expect(p.state.pages.get(PAGE)?.stats.incidentsCreated).toBe(1);
  });

  it('forgets a maintenance, and a component it alone held is operational again', () => {
    const p = new Player();
    p.play(maintenance('maintenance_started', 1, T0, [affects(3, null)]));
    expect(impactOf(p, 3)).toBe('under_maintenance');
    apply(p, { kind: 'maintenance', statusPage: PAGE, uuid: uuid(2001) });
    expect(impactOf(p, 3)).toBe('operational');
    expect(p.state.size).toEqual({ holdings: 0, retained: 0 });
  });

  it('finds nothing, and changes nothing, for what is not there', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'major_outage', T0));
    for (const target of [
      { kind: 'page', statusPage: 'nosuch' },
      { kind: 'component', statusPage: PAGE, uuid: uuid(9) },
      { kind: 'incident', statusPage: PAGE, uuid: uuid(1009) },
      { kind: 'maintenance', statusPage: PAGE, uuid: uuid(2009) },
    ] as const) {
      const decision = forget(p.state, target, NOW, SKEW);
      expect(decision.found, target.kind).toBe(false);
      expect(decision.patch.deletePages.length + decision.patch.deleteComponents.length + decision.patch.components.length).toBe(0);
    }
  });

  it('is pure: the state it reads is unchanged until the patch is applied', () => {
    const p = new Player();
    p.play(incident('incident_created', 1, T0, [affects(1, 'major_outage')]));
    const version = p.state.version;
    forget(p.state, { kind: 'incident', statusPage: PAGE, uuid: uuid(1001) }, NOW, SKEW);
    forget(p.state, { kind: 'page', statusPage: PAGE }, NOW, SKEW);
    expect(p.state.version).toBe(version);
    expect(p.state.pages.get(PAGE)?.incidents.size).toBe(1);
    expect(createState().pages.size).toBe(0);
  });

  it('forgets a page or a component only the ledger knows (declared, then dropped by a reload) from the ledger, where a forget of format 2 found nothing', () => {
    const declaredOnly = () => {
      const p = new Player();
      applyPatch(p.state, declarationPatch(p.state, [{ statusPage: 'gone', uuids: [uuid(7), uuid(8)] }], T0, DEFAULT_LIMITS).patch);
      expect(p.state.pages.has('gone')).toBe(false);
      expect(ledgerOf(p.state.ledger, 'gone', uuid(7))).toBeDefined();
      return p;
    };
    const page = { kind: 'page', statusPage: 'gone' } as const;
    const component = { kind: 'component', statusPage: 'gone', uuid: uuid(7) } as const;

    const before = declaredOnly();
    expect(forget(before.state, page, NOW, SKEW, STATE_ONLY_FORGET_RULES)).toMatchObject({ found: false });
    expect(forget(before.state, component, NOW, SKEW, STATE_ONLY_FORGET_RULES)).toMatchObject({ found: false });

    const byComponent = declaredOnly();
    expect(apply(byComponent, component).decision.found).toBe(true);
    expect(ledgerOf(byComponent.state.ledger, 'gone', uuid(7))).toBeUndefined();
    expect(ledgerOf(byComponent.state.ledger, 'gone', uuid(8))).toBeDefined();

    const byPage = declaredOnly();
    expect(apply(byPage, page).decision.found).toBe(true);
    expect(byPage.state.ledger.pages.has('gone')).toBe(false);
    // Nothing the ledger does not know either is found.
    expect(forget(byPage.state, page, NOW, SKEW).found).toBe(false);
    expect(forget(byPage.state, { kind: 'incident', statusPage: 'gone', uuid: uuid(1) }, NOW, SKEW).found).toBe(false);
  });
});
