import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { LEDGER_MAX_EVIDENCE, ledgerOf, measureEvidence } from '../../src/domain/ledger.js';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { applyPatch, cloneState, type State } from '../../src/domain/state.js';
import { affects, componentUpdate, incident, PAGE, Player, T0, uuid } from '../support/events.js';

// The fold appends an event in order to its component's evidence in place, and folds the oldest
// into the base in place (HeldEvidence in ledger-evidence.ts), rather than copying the evidence at
// every event. Nothing else may then hold that evidence: a cloned state must keep its own.

const IMPACTS = ['degraded_performance', 'partial_outage', 'operational', 'major_outage'];

/** Folds `event` into `state`, received a second after its created_at. */
function fold(state: State, event: Parameters<typeof reduce>[1], at: number): void {
  applyPatch(state, reduce(state, event, dedupKey(event), at + 1, DEFAULT_LIMITS).patch);
}

/** Updates of components 0-2 and incidents naming them, in created_at order, from `start` on. */
function events(start: number, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const at = start + i;
    return i % 5 === 4
      ? incident('incident_created', start + i, at, [affects(0, 'major_outage'), affects(1, null)])
      : componentUpdate(i % 3, IMPACTS[i % IMPACTS.length] as string, at);
  });
}

describe('the evidence the fold updates in place', () => {
  it('is not shared with a clone of the state: folding into one leaves the other as it was', () => {
    const player = new Player();
    const first = events(T0, 3 * LEDGER_MAX_EVIDENCE);
    first.forEach((event, i) => player.play(event, T0 + i + 1));
    const clone = cloneState(player.state);
    const before = JSON.stringify(encodeLedger(clone.ledger));
    // Enough more events to append in place and to fold the oldest into the base, in the original only.
    events(T0 + first.length, 2 * LEDGER_MAX_EVIDENCE).forEach((event, i) => fold(player.state, event, T0 + first.length + i));
    expect(JSON.stringify(encodeLedger(clone.ledger))).toBe(before);
    expect(JSON.stringify(encodeLedger(player.state.ledger))).not.toBe(before);
  });

  it('folds into a clone exactly as into the state it was cloned from', () => {
    const player = new Player();
    const first = events(T0, 2 * LEDGER_MAX_EVIDENCE);
    first.forEach((event, i) => player.play(event, T0 + i + 1));
    const clone = cloneState(player.state);
    const more = events(T0 + first.length, 2 * LEDGER_MAX_EVIDENCE);
    for (const state of [player.state, clone]) more.forEach((event, i) => fold(state, event, T0 + first.length + i));
    expect(JSON.stringify(encodeLedger(clone.ledger))).toBe(JSON.stringify(encodeLedger(player.state.ledger)));
  });

  it('keeps the evidence weight the ledger counts equal to what its evidence weighs', () => {
    const player = new Player();
    events(T0, 5 * LEDGER_MAX_EVIDENCE + 3).forEach((event, i) => {
      player.play(event, T0 + i + 1);
      expect(player.state.ledger.evidenceWeight).toBe(measureEvidence(player.state.ledger));
    });
    const evidence = ledgerOf(player.state.ledger, PAGE, uuid(0))?.evidence;
    expect(evidence?.base).not.toBeNull();
    expect(evidence?.events.length).toBeLessThanOrEqual(LEDGER_MAX_EVIDENCE);
  });
});
