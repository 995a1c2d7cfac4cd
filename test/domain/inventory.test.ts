import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { declarationPatch, inventoryPatch, operationalSince } from '../../src/domain/inventory.js';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { applyPatch, emptyPageStats } from '../../src/domain/state.js';
import { affects, componentUpdate, DECLARED as declared, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';

describe('declared pages and components', () => {
  it('are operational under their names, and their page has every counter at 0, before any webhook', () => {
    const player = new Player();
    applyPatch(player.state, inventoryPatch(player.state, declared, T0));
    expect(player.page().stats).toEqual(emptyPageStats(PAGE, T0)); // counting from the load that declared it
    expect(player.page().components.get(uuid(1))).toMatchObject({ name: 'API', impact: 'operational', changedAt: T0 });
    expect(player.impact(2)).toBe('operational');
  });

  it('give way to any webhook, even one older than the start-up', () => {
    const player = new Player();
    applyPatch(player.state, inventoryPatch(player.state, declared, T0));
    const decision = player.play(componentUpdate(1, 'major_outage', T0 - 86_400, { name: null }));
    expect(decision.outcome).toBe('applied');
    expect(player.page().components.get(uuid(1))).toMatchObject({ name: 'API', impact: 'major_outage', changedAt: T0 - 86_400 });
    // The record the reducer wrote is the webhook's: it will be committed.
    expect(decision.patch.components[0]).toMatchObject({ impact: 'major_outage', direct: { impact: 'major_outage' } });
  });

  it('leave a component the state already has as it is, naming it only when no webhook did', () => {
    const player = new Player();
    player.play(componentUpdate(1, 'partial_outage', T0, { name: 'Named by StatusMate' }));
    player.play(componentUpdate(2, 'degraded_performance', T0, { name: null }));
    const patch = inventoryPatch(player.state, declared, T0 + 100);
    expect(patch.pages).toEqual([]);
    expect(patch.components).toEqual([{ ...player.page().components.get(uuid(2)), name: 'Website' }]);
    applyPatch(player.state, patch);
    expect(player.page().components.get(uuid(1))).toMatchObject({ name: 'Named by StatusMate', impact: 'partial_outage' });
    expect(player.page().components.get(uuid(2))).toMatchObject({ name: 'Website', impact: 'degraded_performance', changedAt: T0 });
  });

  it('never hold a dedup record, an incident or a maintenance', () => {
    const player = new Player();
    const patch = inventoryPatch(player.state, declared, T0);
    expect([patch.seen, patch.incidents, patch.maintenances]).toEqual([[], [], []]);
  });
});

describe('a declared component the ledger knows from its declaration', () => {
  it('has changed last at its declaration, and its page counts from it, whenever the overlay is applied again (a restart, a reload)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 86_400 }), fc.integer({ min: 0, max: 999 }), (later, ms) => {
        const declaredAt = T0 + ms / 1000;
        const player = new Player();
        applyPatch(player.state, declarationPatch(player.state, [{ statusPage: PAGE, uuids: [uuid(1), uuid(2)] }], declaredAt, DEFAULT_LIMITS).patch);
        // The state of a later start: the folded ledger, none of the overlay's records.
        const patch = inventoryPatch(player.state, declared, declaredAt + later);
        expect(patch.components.map((component) => component.changedAt)).toEqual([declaredAt, declaredAt]);
        // Its page's counters and histograms have been at 0 since then too (OpenMetrics' `_created`).
        expect(patch.pages.map((stats) => stats.createdAt)).toEqual([declaredAt]);
      }),
    );
  });

  it('keeps the start-up time for one the ledger does not know yet', () => {
    const player = new Player();
    expect(inventoryPatch(player.state, declared, T0 + 5).components.map((component) => component.changedAt)).toEqual([T0 + 5, T0 + 5]);
  });
});

describe('a declared component a scheduled maintenance named, the later-timed one first', () => {
  it('is operational since its declaration after a restart too, as the process that folded it serves', () => {
    // The core drill's seed 356 at length 80, SQLite, shrunk: component 1 declared at T0; maintenance
    // 2's create (+512) then maintenance 1's (+471, late) name it. Neither changes its impact, but
    // the first name a webhook gives it changes its record, and the ledger books a point where the
    // impact stayed (re-booked at +471). The process that folded them keeps the declaration as the
    // last change; a restart, which leaves the overlay's records out of its snapshot and puts them
    // back, dated it from the ledger's open interval: +471.
    const player = new Player();
    applyPatch(player.state, declarationPatch(player.state, [{ statusPage: PAGE, uuids: [uuid(1), uuid(2)] }], T0, DEFAULT_LIMITS).patch);
    applyPatch(player.state, inventoryPatch(player.state, declared, T0));
    const window = { startAt: T0 + 2000, endAt: T0 + 3000 };
    player.play(maintenance('maintenance_created', 2, T0 + 512, [affects(1, null)], window), T0 + 628);
    player.play(maintenance('maintenance_created', 1, T0 + 471, [affects(1, null), affects(2, null)], window), T0 + 709);
    expect(player.state.pages.get(PAGE)?.components.get(uuid(1))?.changedAt).toBe(T0);
    expect(operationalSince(player.state, PAGE, uuid(1))).toBe(T0);
  });
});
