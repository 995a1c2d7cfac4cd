import fc from 'fast-check';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { affects, componentUpdate, incident, maintenance, T0, type Player } from './events.js';

// A history as StatusMate would send it, for the order-independence properties of the state and
// of the ledger: incidents and maintenances (each with one lifecycle, every event of an object
// naming the same components) and direct component updates, every event with a created_at of
// its own.

export type LifecycleEntry =
  | { type: 'direct'; component: number; impact: string }
  | { type: 'incident'; id: number; created: boolean; finished: boolean; components: number[]; impact: string; length: number }
  | { type: 'maintenance'; id: number; steps: [boolean, boolean, boolean]; components: number[]; impact: string | null; length: number };

export const impactArb = fc.constantFrom('operational', 'degraded_performance', 'partial_outage', 'major_outage', 'zeta_impact', 'alpha_impact');
const componentsArb = fc.uniqueArray(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 });
export const lifecycleEntryArb: fc.Arbitrary<LifecycleEntry> = fc.oneof(
  fc.record({ type: fc.constant('direct' as const), component: fc.integer({ min: 1, max: 3 }), impact: impactArb }),
  fc.record({
    type: fc.constant('incident' as const),
    id: fc.integer({ min: 1, max: 3 }),
    created: fc.boolean(),
    finished: fc.boolean(),
    components: componentsArb,
    impact: impactArb,
    length: fc.integer({ min: 1, max: 5 }),
  }),
  fc.record({
    type: fc.constant('maintenance' as const),
    id: fc.integer({ min: 1, max: 3 }),
    steps: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
    components: componentsArb,
    impact: fc.constantFrom('under_maintenance', null),
    length: fc.integer({ min: 1, max: 5 }),
  }),
);

/** Where events fall: entry i starts at T0 + start + step i; the offsets (less than a step) keep every time distinct. */
export type Spacing = { step: number; start: number; direct: number; started: number; finished: number };
const DEFAULT_SPACING: Spacing = { step: 100, start: 0, direct: 13, started: 31, finished: 57 };

/**
 * The events of a history in created_at order: an incident is created at its entry's start, a
 * direct update and a maintenance's start at their offsets, and an object finishes `length` steps
 * later plus its offset, so created_at alone orders them.
 */
export function lifecycleEvents(entries: LifecycleEntry[], spacing: Spacing = DEFAULT_SPACING): StatusMateEvent[] {
  const seen = new Set<string>();
  const events: StatusMateEvent[] = [];
  entries.forEach((entry, index) => {
    const base = T0 + spacing.start + index * spacing.step;
    if (entry.type === 'direct') {
      events.push(componentUpdate(entry.component, entry.impact, base + spacing.direct));
      return;
    }
    if (seen.has(`${entry.type}:${entry.id}`)) return; // one lifecycle per object
    seen.add(`${entry.type}:${entry.id}`);
    const end = base + entry.length * spacing.step + spacing.finished;
    const components = entry.components.map((c) => affects(c, entry.impact));
    if (entry.type === 'incident') {
      if (entry.created) events.push(incident('incident_created', entry.id, base, components, { startAt: base }));
      if (entry.finished) events.push(incident('incident_finished', entry.id, end, components, { startAt: base }));
    } else {
      const window = { startAt: base + spacing.started, endAt: end };
      const [created, started, finished] = entry.steps;
      if (created) events.push(maintenance('maintenance_created', entry.id, base, components, window));
      if (started) events.push(maintenance('maintenance_started', entry.id, base + spacing.started, components, window));
      if (finished) events.push(maintenance('maintenance_finished', entry.id, end, components, window));
    }
  });
  return events.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
}

/**
 * A page's component records as its metrics read them, by uuid: what must not depend on the order
 * of arrival (a stamp's `seq` is that order itself, so only its time is compared).
 */
export function componentRecords(player: Player) {
  return [...player.page().components.values()]
    .map((c) => ({
      uuid: c.uuid,
      impact: c.impact,
      lastChange: c.changedAt,
      cleared: c.cleared?.at ?? null,
      direct: c.direct && [c.direct.impact, c.direct.stamp.at],
    }))
    .sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
}
