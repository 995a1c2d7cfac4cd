import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { FOLD_RULES, CLEARS_BEFORE_OWN_START_RULES } from '../../src/domain/fold-rules.js';
import { forget } from '../../src/domain/forget.js';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { applyPatch, createState, type State } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { affects, incident, maintenance, PAGE, T0, uuid } from '../support/events.js';

// README "Retries": a first delivery equal to an earlier one is a new event; "Maintenances": every
// maintenance event makes its components known. The core drill (CORE_BASE=3136 CORE_LENGTH=60)
// found an incident_finished sent again after its incident finished, naming a component the
// operator had forgotten in between: a maintenance_finished sent again brings its component back,
// the incident's did not, so whether an event made a component known hung on its object's kind.

const known = (state: State, component: number) => state.pages.get(PAGE)?.components.get(uuid(component));

function play(state: State, event: StatusMateEvent, rules = FOLD_RULES) {
  const decision = reduce(state, event, dedupKey(event), T0 + 10_000, DEFAULT_LIMITS, rules);
  applyPatch(state, decision.patch);
  return decision.outcome;
}

function afterForget(first: StatusMateEvent, finish: StatusMateEvent, rules = FOLD_RULES): State {
  const state = createState();
  play(state, first);
  play(state, finish);
  applyPatch(state, forget(state, { kind: 'component', statusPage: PAGE, uuid: uuid(1) }, T0 + 10_000, DEFAULT_LIMITS.maxClockSkewSeconds).patch);
  expect(known(state, 1)).toBeUndefined();
  expect(play(state, finish, rules)).toBe('stale');
  return state;
}

describe('a finish sent again after its object finished, naming a forgotten component', () => {
  it('makes it known, operational, for an incident as for a maintenance', () => {
    const inc = afterForget(
      incident('incident_created', 1, T0, [affects(1, 'major_outage')]),
      incident('incident_finished', 1, T0 + 60, [affects(1, 'major_outage')]),
    );
    expect(known(inc, 1)).toMatchObject({ impact: 'operational' });
    const main = afterForget(
      maintenance('maintenance_started', 1, T0, [affects(1, null)]),
      maintenance('maintenance_finished', 1, T0 + 60, [affects(1, null)]),
    );
    expect(known(main, 1)).toMatchObject({ impact: 'operational' });
  });

  it('did not, for an incident, by the rules of an event entry of format 7', () => {
    const inc = afterForget(
      incident('incident_created', 1, T0, [affects(1, 'major_outage')]),
      incident('incident_finished', 1, T0 + 60, [affects(1, 'major_outage')]),
      CLEARS_BEFORE_OWN_START_RULES,
    );
    expect(known(inc, 1)).toBeUndefined();
  });
});
