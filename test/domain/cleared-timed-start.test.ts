import { describe, expect, it } from 'vitest';
import { applyPatch, createState } from '../../src/domain/state.js';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { FOLD_RULES, FOLDED_BEFORE_UNHELD_RULES, type FoldRules } from '../../src/domain/fold-rules.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { affects, componentUpdate, incident, maintenance, T0, uuid } from '../support/events.js';

// Found by the core drill (test/store/core-series-drill.test.ts, CORE_SEEDS=1 CORE_BASE=396
// CORE_LENGTH=80, step 100). README "A component's impact": a component_impact_updated "made
// before an incident or maintenance that has since ended was overridden by it and does not come
// back". The record kept only the latest start of an ended hold (`cleared`), and the order of
// README "Order" is by created_at only where both events carry a trusted one, else by arrival: a
// hold whose start had no trusted time (StatusMate's clock far ahead) ended after one that began
// at a known time, and its start, later by arrival, replaced the timed one. An update timed before
// the first hold's start, arriving after (its first delivery lost, its dedup record pruned), was
// then before nothing kept, and came back. Under format 12 a start with no time never replaces one
// with a time (clearedKeepsTimedStart in src/domain/fold-rules.ts): an update arrives after every
// start placed by arrival, so such a start never made one older; format 11 entries keep the old fold.

const RECEIVED = T0 + 10_000;
const FAR_AHEAD = RECEIVED + 86_400;

// Timed before maintenance 1 began, arriving last.
const lateUpdate = componentUpdate(1, 'partial_outage', T0 + 100);

const timedThenUntimed = [
  maintenance('maintenance_started', 1, T0 + 200, [affects(1, null)]),
  maintenance('maintenance_finished', 1, T0 + 400, [affects(1, null)]),
  // Another maintenance of the component, StatusMate's clock a day ahead: ordered by arrival.
  maintenance('maintenance_started', 2, FAR_AHEAD, [affects(1, null)]),
  maintenance('maintenance_finished', 2, FAR_AHEAD + 60, [affects(1, null)]),
  lateUpdate,
];

// The other way round (core drill seed 373, step 124, once the oracle kept every ended start): the
// untimed start kept first, then an incident first seen finished, which began at its start_at
// (no place in arrival order: seq -1), did not replace it.
const untimedThenTimed = [
  incident('incident_created', 1, FAR_AHEAD, [affects(1, 'major_outage')]),
  incident('incident_finished', 1, FAR_AHEAD + 60, [affects(1, 'major_outage')]),
  incident('incident_finished', 2, T0 + 400, [affects(1, 'major_outage')], { startAt: T0 + 200 }),
  lateUpdate,
];

function impactAfter(events: StatusMateEvent[], rules: FoldRules): string | undefined {
  const state = createState();
  for (const event of events) applyPatch(state, reduce(state, event, dedupKey(event), RECEIVED, DEFAULT_LIMITS, rules).patch);
  return state.pages.get(events[0]?.statusPage ?? '')?.components.get(uuid(1))?.impact;
}

describe('an update timed before a hold that has ended, arriving after another hold with no trusted start ended', () => {
  it('does not come back', () => {
    expect(impactAfter(timedThenUntimed, FOLD_RULES)).toBe('operational');
  });

  it('does not come back when the hold with no trusted start ended first', () => {
    expect(impactAfter(untimedThenTimed, FOLD_RULES)).toBe('operational');
  });

  it('came back under the rules of format 11 entries', () => {
    expect(impactAfter(timedThenUntimed, FOLDED_BEFORE_UNHELD_RULES)).toBe('partial_outage');
    expect(impactAfter(untimedThenTimed, FOLDED_BEFORE_UNHELD_RULES)).toBe('partial_outage');
  });
});
