import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { prune } from '../../src/domain/prune.js';
import { DEFAULT_LIMITS, reduce, type Limits } from '../../src/domain/reducer.js';
import { measure } from '../../src/domain/size.js';
import { applyPatch, cloneState, createState, emptyPatch, type State } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { affects, componentUpdate, incident, maintenance, T0 } from '../support/events.js';

const KINDS = [
  'incident_created',
  'incident_finished',
  'maintenance_created',
  'maintenance_started',
  'maintenance_finished',
  'component_impact_updated',
] as const;

type Step =
  | { op: 'event'; kind: (typeof KINDS)[number]; id: number; components: number[]; page: number; retry: boolean; at: number; receivedAt: number }
  | { op: 'prune'; now: number; withLimits: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      op: fc.constant('event' as const),
      kind: fc.constantFrom(...KINDS),
      id: fc.integer({ min: 1, max: 5 }),
      components: fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { maxLength: 6 }),
      page: fc.integer({ min: 0, max: 1 }),
      retry: fc.boolean(),
      at: fc.integer({ min: 0, max: 50 }),
      receivedAt: fc.integer({ min: 0, max: 200 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('prune' as const), now: fc.integer({ min: 0, max: 400 }), withLimits: fc.boolean() }) },
);

const limitsArb = fc.record({
  maxHoldings: fc.integer({ min: 1, max: 14 }),
  maxRetainedFinished: fc.integer({ min: 1, max: 14 }),
  maxDedupRecords: fc.integer({ min: 1, max: 14 }),
});

function eventOf(step: Extract<Step, { op: 'event' }>): StatusMateEvent {
  const extra = { statusPage: `page-${step.page}`, deliveryAttempt: step.retry ? 1 : 0 };
  const at = T0 + step.at;
  if (step.kind === 'component_impact_updated') return componentUpdate(step.id, step.components.length % 2 ? 'major_outage' : 'operational', at, extra);
  if (step.kind.startsWith('incident')) {
    return incident(
      step.kind as 'incident_created',
      step.id,
      at,
      step.components.map((c) => affects(c, 'partial_outage')),
      extra,
    );
  }
  return maintenance(
    step.kind as 'maintenance_created',
    step.id,
    at,
    step.components.map((c) => affects(c, null)),
    extra,
  );
}

/** What a store holds of a state, applied to an empty one in key order: what a restart loads. */
function reloaded(state: State): State {
  const patch = emptyPatch();
  const byKey = <T extends { statusPage: string; uuid: string }>(records: T[]) =>
    records.sort((a, b) => (a.statusPage + a.uuid < b.statusPage + b.uuid ? -1 : 1));
  for (const page of state.pages.values()) {
    patch.pages.push(page.stats);
    patch.components.push(...page.components.values());
    patch.incidents.push(...page.incidents.values());
    patch.maintenances.push(...page.maintenances.values());
  }
  patch.components = byKey(patch.components);
  patch.incidents = byKey(patch.incidents);
  patch.maintenances = byKey(patch.maintenances);
  patch.seen = [...state.seen].map(([key, receivedAt]) => ({ key, receivedAt })).sort((a, b) => (a.key < b.key ? -1 : 1));
  const loaded = createState();
  applyPatch(loaded, patch);
  return loaded;
}

describe('size properties', () => {
  it('keeps the size measures equal to a recomputation from scratch, and within their bounds, after any events and prunes, also past a lowered bound', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), limitsArb, fc.integer({ min: 1, max: 60 }), (steps, sizeLimits, lowerAt) => {
        let limits: Limits = { ...DEFAULT_LIMITS, ...sizeLimits };
        const state = createState();
        for (const [index, step] of steps.entries()) {
          if (step.op === 'event') {
            const event = eventOf(step);
            const decision = reduce(state, event, dedupKey(event), T0 + step.receivedAt, limits);
            if (decision.notices.some((notice) => notice.kind === 'limit_refused' && notice.limit === 'holdings')) {
              // Refused only when, unbounded, it would have added holdings past the bound.
              const unbounded = cloneState(state);
              applyPatch(unbounded, reduce(unbounded, event, dedupKey(event), T0 + step.receivedAt, { ...limits, maxHoldings: Infinity }).patch);
              expect(unbounded.size.holdings).toBeGreaterThan(Math.max(state.size.holdings, limits.maxHoldings));
            }
            applyPatch(state, decision.patch);
          } else {
            applyPatch(state, prune(state, T0 + step.now, 100, step.withLimits ? limits : undefined));
          }
          const fromScratch = measure(state);
          expect(state.size).toEqual({ holdings: fromScratch.holdings, retained: fromScratch.retained });
          // Until the bound is lowered (a restart with another configuration), the holdings stay within it.
          if (index < lowerAt) expect(fromScratch.holdings).toBeLessThanOrEqual(limits.maxHoldings);
          if (index + 1 === lowerAt) limits = { ...limits, maxHoldings: Math.max(1, Math.floor(limits.maxHoldings / 3)) };
          expect(fromScratch.retained).toBeLessThanOrEqual(limits.maxRetainedFinished);
          expect(fromScratch.dedup).toBeLessThanOrEqual(limits.maxDedupRecords);
        }
        // A restart measures the same, and forgets the same next.
        const loaded = reloaded(state);
        expect(loaded.size).toEqual(state.size);
        const tight = { maxRetainedFinished: 1, maxDedupRecords: 1 };
        const sorted = (patch: ReturnType<typeof prune>) => [patch.deleteIncidents, patch.deleteMaintenances, [...patch.forgetSeen].sort()];
        expect(sorted(prune(loaded, T0, 1000, tight))).toEqual(sorted(prune(state, T0, 1000, tight)));
      }),
      { numRuns: 400 },
    );
  });
});
