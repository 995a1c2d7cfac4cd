import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, LEDGER_MAX_CHANGES, ledgerOf, toMs } from '../../src/domain/ledger.js';
import { decodeLedger, encodeLedger, type EncodedComponentLedger, type EncodedLedger } from '../../src/domain/ledger-codec.js';
import { applyPatch, replaceState } from '../../src/domain/state.js';
import { prune } from '../../src/domain/prune.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { affects, componentUpdate, incident, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';
import { formatTwoOf } from '../support/snapshot-format.js';

// Issue 20: "any permutation of events with created_at gives the same ledger", here for
// components only component_impact_updated events name; ledger-holds.test.ts has those incidents
// and maintenances name (see ledger.ts).

const IMPACTS = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance', 'brand_new_impact', 'another_new_one'];
/** Where the ledger totals an impact's seconds: unknown impacts together, as `other`. */
const totalled = (impact: string) => (IMPACTS.indexOf(impact) < 5 ? impact : 'other');

type Update = { component: number; impact: string; createdAt: number };

/** Updates of up to 3 components, at distinct times up to a few days apart (so intervals cross UTC days), in created_at order. */
const updatesArb: fc.Arbitrary<Update[]> = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom(...IMPACTS), fc.integer({ min: 1, max: 2 * 86_400 })), { minLength: 1, maxLength: 12 })
  .map((steps) => {
    let at = T0 + 0.25;
    return steps.map(([component, impact, gap]) => ({ component, impact, createdAt: (at += gap + 0.125) }));
  });

/** Folds the updates in the given order, each received after every created_at (so all are trusted), one second apart. */
function fold(updates: Update[], player = new Player()): Player {
  const last = Math.max(...updates.map((u) => u.createdAt));
  updates.forEach((u, i) => player.play(componentUpdate(u.component, u.impact, u.createdAt), last + 1 + i));
  return player;
}

/** What the ledger must be, from the times alone: per component, each impact from its update to the next. */
function expected(updates: Update[]): Map<number, { sinceMs: number; openMs: number; impact: string; totals: Map<string, number> }> {
  const out = new Map<number, { sinceMs: number; openMs: number; impact: string; totals: Map<string, number> }>();
  for (const u of [...updates].sort((a, b) => a.createdAt - b.createdAt)) {
    const at = toMs(u.createdAt);
    const entry = out.get(u.component);
    if (!entry) {
      out.set(u.component, { sinceMs: at, openMs: at, impact: u.impact, totals: new Map() });
      continue;
    }
    const key = totalled(entry.impact);
    entry.totals.set(key, (entry.totals.get(key) ?? 0) + at - entry.openMs);
    entry.openMs = at;
    entry.impact = u.impact;
  }
  return out;
}

const shuffleArb = (updates: Update[]) => fc.shuffledSubarray(updates, { minLength: updates.length, maxLength: updates.length });

describe('the ledger is a function of the events’ times, not of their arrival order', () => {
  it('every permutation of component updates with created_at gives the same encoded ledger (totals, days, first known, change points)', () => {
    fc.assert(
      fc.property(
        updatesArb.chain((updates) => fc.tuple(fc.constant(updates), shuffleArb(updates))),
        ([updates, shuffled]) => {
          const inOrder = encodeLedger(fold(updates).state.ledger);
          const player = fold(shuffled);
          expect(encodeLedger(player.state.ledger)).toEqual(inOrder);
          // And it is what the times say.
          for (const [component, want] of expected(updates)) {
            const entry = ledgerOf(player.state.ledger, PAGE, uuid(component));
            expect(entry).toMatchObject({ sinceMs: want.sinceMs, openMs: want.openMs, impact: want.impact });
            const totals = new Map([...want.totals].filter(([, ms]) => ms > 0));
            expect(new Map(entry?.totals)).toEqual(totals);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a snapshot and restore in the middle of a permutation changes nothing', () => {
    fc.assert(
      fc.property(
        updatesArb.chain((updates) => fc.tuple(fc.constant(updates), shuffleArb(updates), fc.nat({ max: updates.length }))),
        ([updates, shuffled, cut]) => {
          const inOrder = encodeLedger(fold(updates).state.ledger);
          const last = Math.max(...updates.map((u) => u.createdAt));
          const first = new Player();
          shuffled.slice(0, cut).forEach((u, i) => first.play(componentUpdate(u.component, u.impact, u.createdAt), last + 1 + i));
          const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(first.state));
          if (decoded.kind !== 'state') throw new Error(decoded.kind);
          const second = new Player();
          replaceState(second.state, decoded.state);
          shuffled.slice(cut).forEach((u, i) => second.play(componentUpdate(u.component, u.impact, u.createdAt), last + 1 + cut + i));
          expect(encodeLedger(second.state.ledger)).toEqual(inOrder);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a snapshot written when unknown impacts were totalled by name loads with them added up as `other`, as they are booked now', () => {
    const player = fold([
      { component: 1, impact: 'brand_new_impact', createdAt: T0 + 10 },
      { component: 1, impact: 'another_new_one', createdAt: T0 + 30 },
      { component: 1, impact: 'major_outage', createdAt: T0 + 70 },
    ]);
    const encoded = encodeLedger(player.state.ledger);
    const component = encoded.components[0] as EncodedComponentLedger;
    expect(component[5]).toEqual([['other', 60_000]]);
    // As the release before this one wrote it: a total per name.
    component[5] = [
      ['another_new_one', 40_000],
      ['brand_new_impact', 20_000],
    ];
    const loaded = decodeLedger(encoded);
    expect(new Map(ledgerOf(loaded, PAGE, uuid(1))?.totals)).toEqual(new Map([['other', 60_000]]));
    expect(encodeLedger(loaded)).toEqual(encodeLedger(player.state.ledger));
  });

  it('incidents and maintenances of another component change nothing of that: each component only updates name keeps its ledger in any order', () => {
    type Held = { kind: 'incident_created' | 'incident_finished' | 'maintenance_started' | 'maintenance_finished'; id: number; createdAt: number };
    const heldArb: fc.Arbitrary<Held[]> = fc.array(
      fc.record({
        kind: fc.constantFrom('incident_created' as const, 'incident_finished' as const, 'maintenance_started' as const, 'maintenance_finished' as const),
        id: fc.integer({ min: 1, max: 2 }),
        createdAt: fc.integer({ min: T0 + 1, max: T0 + 5 * 86_400 }),
      }),
      { maxLength: 6 },
    );
    const play = (player: Player, step: Update | Held, receivedAt: number) => {
      if ('component' in step) player.play(componentUpdate(step.component, step.impact, step.createdAt), receivedAt);
      else if (step.kind.startsWith('incident'))
        player.play(incident(step.kind as 'incident_created', step.id, step.createdAt + 0.5, [affects(4, 'major_outage')]), receivedAt);
      else player.play(maintenance(step.kind as 'maintenance_started', step.id, step.createdAt + 0.5, [affects(4, null)]), receivedAt);
    };
    fc.assert(
      fc.property(
        fc
          .tuple(updatesArb, heldArb)
          .chain(([updates, held]) =>
            fc.tuple(fc.constant([...updates, ...held]), fc.shuffledSubarray([...updates, ...held], { minLength: updates.length + held.length })),
          ),
        ([steps, shuffled]) => {
          const last = Math.max(...steps.map((s) => s.createdAt)) + 1;
          const inOrder = new Player();
          [...steps].sort((a, b) => a.createdAt - b.createdAt).forEach((step, i) => play(inOrder, step, last + i));
          const other = new Player();
          shuffled.forEach((step, i) => play(other, step, last + i));
          const onlyUpdated = (player: Player) => encodeLedger(player.state.ledger).components.filter(([, id]) => id !== uuid(4));
          expect(onlyUpdated(other)).toEqual(onlyUpdated(inOrder));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the example of the issue: A (10, major_outage) and B (20, operational) in either order', () => {
    const a = { component: 1, impact: 'major_outage', createdAt: T0 + 10 };
    const b = { component: 1, impact: 'operational', createdAt: T0 + 20 };
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const entry = ledgerOf(fold(order).state.ledger, PAGE, uuid(1));
      expect(entry).toMatchObject({ sinceMs: toMs(T0 + 10), openMs: toMs(T0 + 20), impact: 'operational' });
      expect(new Map(entry?.totals)).toEqual(new Map([['major_outage', 10_000]]));
    }
    // A late update inside a booked span re-books only that span: major 10→15, degraded 15→20.
    const entry = ledgerOf(fold([a, b, { component: 1, impact: 'degraded_performance', createdAt: T0 + 15 }]).state.ledger, PAGE, uuid(1));
    expect(new Map(entry?.totals)).toEqual(
      new Map([
        ['major_outage', 5_000],
        ['degraded_performance', 5_000],
      ]),
    );
  });

  it('a stale update of a component an incident holds is booked where its time falls too (ledger-holds.test.ts for the rest)', () => {
    const player = new Player();
    player.play(incident('incident_created', 1, T0 + 5, [affects(1, 'major_outage')]), T0 + 100);
    player.play(componentUpdate(1, 'operational', T0 + 30), T0 + 101);
    const decision = player.play(componentUpdate(1, 'degraded_performance', T0 + 20), T0 + 102);
    expect(decision.outcome).toBe('stale');
    // major 5→20 (the incident), degraded 20→30 (the update overrides the incident begun before it), then operational.
    const entry = ledgerOf(player.state.ledger, PAGE, uuid(1));
    expect(entry).toMatchObject({ sinceMs: toMs(T0 + 5), openMs: toMs(T0 + 30), impact: 'operational' });
    expect(new Map(entry?.totals)).toEqual(
      new Map([
        ['major_outage', 15_000],
        ['degraded_performance', 10_000],
      ]),
    );
  });

  it('keeps at most LEDGER_MAX_CHANGES change points and those of the kept days; older late updates book nothing', () => {
    const player = new Player();
    const n = LEDGER_MAX_CHANGES + 10;
    for (let i = 0; i < n; i += 1) player.play(componentUpdate(1, i % 2 ? 'major_outage' : 'operational', T0 + i * 60), T0 + i * 60 + 1);
    const entry = ledgerOf(player.state.ledger, PAGE, uuid(1));
    expect(entry?.changes.ms.length).toBe(LEDGER_MAX_CHANGES);
    const before = encodeLedger(player.state.ledger);
    // Older than the oldest kept change point (and evidence): nothing booked.
    player.play(componentUpdate(1, 'partial_outage', T0 + 30), T0 + n * 60);
    expect(withoutEvidence(encodeLedger(player.state.ledger))).toEqual(withoutEvidence(before));
    // Pruning by day drops the change points before the kept days but the one they begin in.
    const now = T0 + 30 * 86_400;
    applyPatch(player.state, prune(player.state, now, 3600, undefined, 1));
    const kept = ledgerOf(player.state.ledger, PAGE, uuid(1));
    expect(kept?.changes.ms.length).toBe(1);
    expect(kept?.changes.ms[0]).toBeLessThan(player.state.ledger.keptFromDay * DAY_MS);
  });

  it('reads a snapshot without change points (the open interval only)', () => {
    const player = fold([{ component: 1, impact: 'major_outage', createdAt: T0 + 10 }]);
    const data = formatTwoOf(encodeSnapshot(player.state));
    (data.ledger.components[0] as unknown[]).length = 7;
    const decoded = decodeSnapshot('2', JSON.stringify(data));
    if (decoded.kind !== 'state') throw new Error(decoded.kind);
    expect(ledgerOf(decoded.state.ledger, PAGE, uuid(1))?.changes).toEqual({ ms: [toMs(T0 + 10)], impacts: ['major_outage'] });
  });
});

const withoutEvidence = (encoded: EncodedLedger) => ({ ...encoded, components: encoded.components.map((c) => c.slice(0, 8)) });
