import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { differences, playShrunk, type ShrunkStep } from '../support/core-drill.js';
import { seriesKey, type HookEvent, type OracleDeclared } from '../support/core-oracle.js';
import { cuid, iuid } from '../support/core-timelines.js';

// The core drill's seed 866 at length 80 (CORE_BASE=866 CORE_SEEDS=1 CORE_LENGTH=80, step 102),
// shrunk to four deliveries. C5 is declared at start-up. Incident 9, created before that
// declaration, named C6 only; its finish named C5 too; then an update of C5 and, late after it,
// incident 13 naming C5. C5 stayed operational throughout, so its last change is its declaration
// (docs/metrics.md: "For a declared component no webhook has mentioned yet: when it was declared").
// The oracle's replay of C5's events in created_at order dropped the declaration because incident
// 9's create is older than it, though it does not name C5; docs/metrics.md: "the first event
// naming a declared component that is older than its declaration [...] replaces the declaration".
// No event naming C5 is older than the declaration: the oracle was wrong, the exporter right.

const START = Date.UTC(2026, 2, 1, 6) / 1000;
const DECLARED: OracleDeclared = [{ page: 'p2', components: [{ uuid: cuid(5), name: 'Declared C5' }] }];
const incident = (
  n: number,
  type: 'incident_created' | 'incident_finished',
  createdAt: number,
  components: { uuid: string; name: string; impact: string | null }[],
): HookEvent => ({
  type,
  page: 'p2',
  uuid: iuid(n),
  title: `Incident ${n}`,
  createdAt,
  attempt: 0,
  startAt: null,
  endAt: null,
  components,
});
const C5 = (impact: string | null) => ({ uuid: cuid(5), name: 'C5', impact });
const STEPS: ShrunkStep[] = [
  { at: START + 1, deliver: incident(9, 'incident_created', START - 100, [{ uuid: cuid(6), name: 'C6', impact: 'operational' }]) },
  { at: START + 11, deliver: incident(9, 'incident_finished', START + 10, [C5('under_maintenance')]) },
  {
    at: START + 51,
    deliver: { type: 'component_impact_updated', page: 'p2', uuid: cuid(5), title: 'C5', impact: 'operational', createdAt: START + 50, attempt: 0 },
  },
  { at: START + 61, deliver: incident(13, 'incident_created', START + 20, [C5('operational')]) },
];
const C5_LAST_CHANGE = seriesKey('statusmate_component_last_change_timestamp_seconds', { status_page: 'p2', component_uuid: cuid(5), component: 'C5' });

describe('a declared component named only by events after its declaration, of an incident created before it', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps its declaration as its last change while it stays operational (app and oracle alike)', async () => {
    const { served, expected } = await playShrunk(START, STEPS, DECLARED);
    expect(served.get(C5_LAST_CHANGE)).toBe(START);
    expect(expected.get(C5_LAST_CHANGE)).toBe(START);
    expect(differences(expected, served)).toEqual([]);
  });
});
