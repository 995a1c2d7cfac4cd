import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { FOLD_RULES, FOLDED_BEFORE_UNHELD_RULES, type FoldRules } from '../../src/domain/fold-rules.js';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { applyPatch, createState } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { affects, componentUpdate, incident, PAGE, T0, uuid } from '../support/events.js';

// A component's last change (statusmate_component_last_change_timestamp_seconds) is its impact's
// last change: the event's created_at (docs/metrics.md). A late event re-books the ledger from
// its time on and moves the last change to where the re-booked ledger's last change of impact
// falls (lastChangeFromLedger in ledger-evidence.ts). The ledger books nothing before its open
// interval, so a change older than that interval's start (an update timed before an update
// without created_at that arrived first) is booked at the interval's start: where it differs
// from the record's own time, a late event that moves nothing must not take the ledger's.

describe("a late event that moves neither the component's last change nor the ledger's", () => {
  // The core drill's seed 277 at length 80 (memory and SQLite alike), shrunk: an update of 2
  // without created_at (received +10.5), one timed +9 (partial_outage, received after it), then
  // incident 10 (+100) and incident 11 (+50, late), both at lower impacts. The last change is +9;
  // the late incident re-booked from +50 and took the ledger's last change of impact, +10.5.
  const steps: [StatusMateEvent, number][] = [
    [componentUpdate(2, 'operational', null), T0 + 10.5],
    [componentUpdate(2, 'partial_outage', T0 + 9), T0 + 12],
    [incident('incident_created', 10, T0 + 100, [affects(2, 'under_maintenance')]), T0 + 101],
    [incident('incident_created', 11, T0 + 50, [affects(2, 'degraded_performance')]), T0 + 102],
  ];
  const lastChange = (rules: FoldRules) => {
    const state = createState();
    for (const [event, receivedAt] of steps) applyPatch(state, reduce(state, event, dedupKey(event), receivedAt, DEFAULT_LIMITS, rules).patch);
    const record = state.pages.get(PAGE)?.components.get(uuid(2)) ?? expect.fail('2 unknown');
    return { impact: record.impact, changedAt: record.changedAt - T0 };
  };

  it("keeps the update's created_at", () => {
    expect(lastChange(FOLD_RULES)).toEqual({ impact: 'partial_outage', changedAt: 9 });
  });

  it("took the ledger's for a log entry of format 11, as the release that appended it did", () => {
    expect(lastChange(FOLDED_BEFORE_UNHELD_RULES).changedAt).toBeCloseTo(10.5, 6);
  });
});
