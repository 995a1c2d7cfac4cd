import { describe, expect, it } from 'vitest';
import { forgetEvidenceDownTo, LEDGER_MAX_EVIDENCE_WEIGHT, ledgerOf, measureEvidence, toMs } from '../../src/domain/ledger.js';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { RELIEF } from '../../src/domain/size.js';
import { applyPatch, emptyPatch } from '../../src/domain/state.js';
import { componentUpdate, PAGE, Player, restored, T0, uuid } from '../support/events.js';

// The ledger's evidence is bounded per component (LEDGER_MAX_EVIDENCE events) and, since 10,000
// busy components at that bound took 90-130 MiB of heap and a 42-89 MB snapshot, over all of them
// too: past LEDGER_MAX_EVIDENCE_WEIGHT the evidence of the components quiet for longest goes.

const IMPACTS = ['operational', 'degraded_performance', 'partial_outage', 'major_outage'];

type Update = { component: number; at: number; impact: string };

/** `rounds` updates of each component in [from, to), round after round, one second apart from `start` on. */
function rounds(from: number, to: number, count: number, start: number): Update[] {
  const updates: Update[] = [];
  for (let round = 0; round < count; round += 1) {
    for (let component = from; component < to; component += 1) {
      updates.push({ component, at: start + updates.length, impact: IMPACTS[(round + component) % IMPACTS.length] as string });
    }
  }
  return updates;
}

/** Plays updates, each received a second after its created_at (all trusted). */
function play(player: Player, updates: Update[]): Player {
  for (const { component, at, impact } of updates) player.play(componentUpdate(component, impact, at), at + 1);
  return player;
}

const evidenceOf = (player: Player, component: number) => ledgerOf(player.state.ledger, PAGE, uuid(component))?.evidence;

describe('the evidence of all components together (LEDGER_MAX_EVIDENCE_WEIGHT)', () => {
  // 1,000 components with 30 updates each, then 2,000 others with 15 each: 60,000 events, whose
  // evidence would weigh about 60,000.
  const early = rounds(0, 1000, 30, T0);
  const late = rounds(1000, 3000, 15, T0 + early.length);

  it('stays within its bound, forgetting the evidence of the components quiet for longest first', () => {
    const player = play(new Player(), [...early, ...late]);
    const ledger = player.state.ledger;
    expect(ledger.evidenceWeight).toBe(measureEvidence(ledger));
    expect(ledger.evidenceWeight).toBeLessThanOrEqual(LEDGER_MAX_EVIDENCE_WEIGHT);
    // Every component updated later keeps all it heard.
    for (let component = 1000; component < 3000; component += 1) expect(evidenceOf(player, component)?.events).toHaveLength(15);
    // Of the others, those whose last update is oldest lost their evidence: a prefix, by that time.
    const kept = Array.from({ length: 1000 }, (_, component) => evidenceOf(player, component) !== undefined);
    const forgotten = kept.indexOf(true);
    expect(forgotten).toBeGreaterThan(0);
    expect(kept.slice(forgotten).every(Boolean)).toBe(true);
    // Each went once, down to RELIEF of the bound: the weight never came back above it.
    expect(ledger.evidenceWeight).toBeGreaterThan(LEDGER_MAX_EVIDENCE_WEIGHT * RELIEF - 1000);
    // The ledger itself is whole: every component still counted from when it was first known.
    for (let component = 0; component < 3000; component += 1) {
      const entry = ledgerOf(ledger, PAGE, uuid(component));
      expect([...(entry?.totals.values() ?? [])].reduce((a, b) => a + b, 0)).toBe((entry?.openMs ?? 0) - (entry?.sinceMs ?? 0));
      expect(entry?.impact).toBe(player.impact(component));
    }
  });

  it('forgets the same evidence in every process: a snapshot and restore in the middle changes nothing', () => {
    const straight = play(new Player(), [...early, ...late]);
    const half = late.length / 2;
    const resumed = play(restored(play(new Player(), [...early, ...late.slice(0, half)])), late.slice(half));
    expect(encodeLedger(resumed.state.ledger)).toEqual(encodeLedger(straight.state.ledger));
    expect(resumed.state.ledger.evidenceWeight).toBe(straight.state.ledger.evidenceWeight);
    expect(restored(straight).state.ledger.evidenceWeight).toBe(measureEvidence(straight.state.ledger));
  });

  it('a component that lost its evidence starts it again at its next event; a late one is booked as it arrives, the counts whole', () => {
    const player = play(new Player(), [...early, ...late]);
    expect(evidenceOf(player, 0)).toBeUndefined();
    expect(evidenceOf(player, 2999)?.events).toHaveLength(15);
    const last = T0 + early.length + late.length;
    // Late updates, sent between two of their component's earlier ones, arriving now: older than
    // the newest update, so the state keeps what it shows.
    const before = [player.impact(0), player.impact(2999)];
    player.play(componentUpdate(0, 'major_outage', T0 + 1500), last + 10);
    player.play(componentUpdate(2999, 'major_outage', T0 + early.length + late.length - 2500), last + 11);
    expect([player.impact(0), player.impact(2999)]).toEqual(before);
    for (const component of [0, 2999]) {
      const entry = ledgerOf(player.state.ledger, PAGE, uuid(component));
      expect(entry?.impact).toBe(player.impact(component));
      expect([...(entry?.totals.values() ?? [])].reduce((a, b) => a + b, 0)).toBe((entry?.openMs ?? 0) - (entry?.sinceMs ?? 0));
    }
    // Component 0's evidence starts again from the state; component 2999 keeps the late one among its own.
    expect(evidenceOf(player, 0)).toMatchObject({ events: [] });
    expect(toMs(evidenceOf(player, 0)?.fromAt ?? 0)).toBe(ledgerOf(player.state.ledger, PAGE, uuid(0))?.openMs);
    expect(evidenceOf(player, 0)?.base?.component).toMatchObject({ impact: player.impact(0) });
    expect(evidenceOf(player, 2999)?.events).toHaveLength(16);
    expect(player.state.ledger.evidenceWeight).toBe(measureEvidence(player.state.ledger));
  });
});

describe('when the evidence is forgotten', () => {
  it('only at a folded patch, the same entry in every process: never at records one process merely holds', () => {
    const player = new Player();
    for (const component of [1, 2]) player.play(componentUpdate(component, 'major_outage', T0 + component), T0 + 10);
    // Stands for a snapshot an earlier version wrote past the bound.
    player.state.ledger.evidenceWeight = LEDGER_MAX_EVIDENCE_WEIGHT + 1;
    // A declared component, as a process's status pages file puts it in memory (no log time).
    const declared = emptyPatch();
    declared.components = [{ statusPage: PAGE, uuid: uuid(3), name: 'Declared', impact: 'operational', changedAt: T0, direct: null, cleared: null }];
    applyPatch(player.state, declared);
    expect([1, 2].map((component) => evidenceOf(player, component) !== undefined)).toEqual([true, true]);
    // The next folded event forgets, quietest first, down to RELIEF of the bound.
    player.play(componentUpdate(2, 'operational', T0 + 20), T0 + 30);
    expect(evidenceOf(player, 1)).toBeUndefined();
  });
});

describe('forgetEvidenceDownTo', () => {
  it('orders components heard of at the same time by status page and uuid, never by arrival', () => {
    for (const order of [
      [3, 1, 2],
      [2, 3, 1],
    ]) {
      const player = new Player();
      for (const component of order) player.play(componentUpdate(component, 'major_outage', T0), T0 + 1);
      const ledger = player.state.ledger;
      expect(ledger.evidenceWeight).toBe(3);
      forgetEvidenceDownTo(ledger, 2);
      expect([1, 2, 3].map((component) => evidenceOf(player, component) !== undefined)).toEqual([false, true, true]);
      forgetEvidenceDownTo(ledger, 1);
      expect([1, 2, 3].map((component) => evidenceOf(player, component) !== undefined)).toEqual([false, false, true]);
      expect(ledger.evidenceWeight).toBe(1);
    }
  });

  it('keeps the weight of forgotten components and pages out of the sum', () => {
    const player = new Player();
    for (const component of [1, 2]) player.play(componentUpdate(component, 'major_outage', T0 + component), T0 + 10);
    player.play(componentUpdate(1, 'operational', T0 + 5), T0 + 11);
    expect(player.state.ledger.evidenceWeight).toBe(3);
    forgetEvidenceDownTo(player.state.ledger, 0);
    expect(player.state.ledger.evidenceWeight).toBe(0);
    expect(measureEvidence(player.state.ledger)).toBe(0);
  });
});
