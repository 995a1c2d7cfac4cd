import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { differences, playShrunk, type ShrunkStep } from '../support/core-drill.js';
import { seriesKey, type HookEvent } from '../support/core-oracle.js';
import { cuid, muid } from '../support/core-timelines.js';

// The core drill's seed 681 at length 80 (CORE_BASE=681 CORE_SEEDS=1 CORE_LENGTH=80, step 68),
// shrunk to four deliveries and a forget. Maintenance 6 held C6 from its start (+5176) to its
// finish (+5322); the operator forgot C6; the start was sent again (a first delivery), naming C6;
// then an update of C6 timed +2426 arrived (a retry whose dedup record was pruned). The exporter
// kept C6 operational; the oracle brought the update back. README "Forgetting": "a new event
// brings the object back", so C6 is in the maintenance's part again, and in created_at order the
// maintenance held it from +5176 to +5322; README "A component's impact": an update "made before
// an incident or maintenance that has since ended was overridden by it and does not come back".
// The oracle said so of a late maintenance_created, not of a start sent again: it was wrong.

const START = Date.UTC(2026, 2, 1, 6) / 1000;
const maintenanceEvent = (type: 'maintenance_started' | 'maintenance_finished', createdAt: number): HookEvent => ({
  type,
  page: 'p2',
  uuid: muid(6),
  title: 'Maintenance 6',
  createdAt,
  attempt: 0,
  startAt: START + 5176,
  endAt: START + 6976,
  components: [{ uuid: cuid(6), name: 'C6', impact: null }],
});
const STEPS: ShrunkStep[] = [
  { at: START + 5177, deliver: maintenanceEvent('maintenance_started', START + 5176) },
  { at: START + 5323, deliver: maintenanceEvent('maintenance_finished', START + 5322) },
  { at: START + 5436, deliver: { forget: { page: 'p2', component: cuid(6) } } },
  { at: START + 5437, deliver: maintenanceEvent('maintenance_started', START + 5176) },
  {
    at: START + 7421,
    deliver: { type: 'component_impact_updated', page: 'p2', uuid: cuid(6), title: 'C6', impact: 'zeta_custom', createdAt: START + 2426, attempt: 2 },
  },
];
const C6_OPERATIONAL = seriesKey('statusmate_component_impact', { status_page: 'p2', component_uuid: cuid(6), component: 'C6', impact: 'operational' });

describe('a maintenance start sent again after the operator forgot a component it names', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends the hold on it from the start, so an update made before that start does not come back (app and oracle alike)', async () => {
    const { served, expected } = await playShrunk(START, STEPS);
    expect(served.get(C6_OPERATIONAL)).toBe(1);
    expect(expected.get(C6_OPERATIONAL)).toBe(1);
    expect(differences(expected, served)).toEqual([]);
  });
});
