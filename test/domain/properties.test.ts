import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { affects, incident, maintenance, Player, T0 } from '../support/events.js';

type Step = { kind: 'incident_created' | 'incident_finished' | 'maintenance_created' | 'maintenance_started' | 'maintenance_finished'; id: number };

const stepArb = fc.record({
  kind: fc.constantFrom('incident_created', 'incident_finished', 'maintenance_created', 'maintenance_started', 'maintenance_finished') as fc.Arbitrary<Step['kind']>,
  id: fc.integer({ min: 1, max: 4 }),
});

/** Each step's event carries a time from its position in the original history. */
function toEvent(step: Step, index: number, attempt: number): StatusMateEvent {
  const at = T0 + index * 60;
  const components = [affects(step.id, step.kind.startsWith('incident') ? 'major_outage' : 'under_maintenance')];
  return step.kind.startsWith('incident')
    ? incident(step.kind as 'incident_created' | 'incident_finished', step.id, at, components, { deliveryAttempt: attempt })
    : maintenance(step.kind as 'maintenance_created' | 'maintenance_started' | 'maintenance_finished', step.id, at, components, { deliveryAttempt: attempt });
}

function counts(p: Player) {
  const stats = p.state.pages.values().next().value?.stats;
  return stats && {
    incidentsCreated: stats.incidentsCreated,
    incidentsFinished: stats.incidentsFinished,
    maintenancesCreated: stats.maintenancesCreated,
    maintenancesStarted: stats.maintenancesStarted,
    maintenancesFinished: stats.maintenancesFinished,
  };
}

describe('reducer properties', () => {
  it('counts every lifecycle event once per object, whatever the order and however many retries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(stepArb, fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 25 }), fc.integer(), (history, seed) => {
        const deliveries = history.flatMap(([step, copies], index) =>
          Array.from({ length: copies }, (_, attempt) => toEvent(step, index, attempt)),
        );
        const shuffled = fc.sample(fc.shuffledSubarray(deliveries, { minLength: deliveries.length, maxLength: deliveries.length }), { numRuns: 1, seed })[0] ?? deliveries;
        const p = new Player().playAll(shuffled);
        const distinct = (kind: Step['kind']) => new Set(history.filter(([step]) => step.kind === kind).map(([step]) => step.id)).size;
        expect(counts(p)).toEqual({
          incidentsCreated: distinct('incident_created'),
          incidentsFinished: distinct('incident_finished'),
          maintenancesCreated: distinct('maintenance_created'),
          maintenancesStarted: distinct('maintenance_started'),
          maintenancesFinished: distinct('maintenance_finished'),
        });
        // The holder index says exactly which active incidents and maintenances hold each component.
        for (const page of p.state.pages.values()) {
          const expected = new Map<string, Set<string>>();
          for (const i of page.incidents.values()) if (i.state === 'active') for (const c of i.components) expected.set(c.uuid, (expected.get(c.uuid) ?? new Set()).add(`incident:${i.uuid}`));
          for (const m of page.maintenances.values()) if (m.state === 'in_progress') for (const c of m.components) expected.set(c.uuid, (expected.get(c.uuid) ?? new Set()).add(`maintenance:${m.uuid}`));
          const actual = new Map([...page.holders].map(([uuid, holders]) => [uuid, new Set(holders.keys())]));
          expect(actual).toEqual(expected);
        }
        // Nothing that was finished is ever active again.
        for (const [step] of history) {
          if (step.kind === 'incident_finished') expect(p.state.pages.values().next().value?.incidents.get(toEvent(step, 0, 0).uuid)?.state).toBe('finished');
          if (step.kind === 'maintenance_finished') expect(p.state.pages.values().next().value?.maintenances.get(toEvent(step, 0, 0).uuid)?.state).toBe('finished');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reaches the same state whether or not retries are replayed after their first delivery', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 20 }), (history, retryPicks) => {
        const events = history.map((step, index) => toEvent(step, index, 0));
        const once = new Player().playAll(events);
        const withRetries: StatusMateEvent[] = [];
        events.forEach((event, index) => {
          withRetries.push(event);
          for (const pick of retryPicks) if (pick % events.length <= index && pick % 3 === 0) withRetries.push({ ...events[pick % events.length]!, deliveryAttempt: 1 + (pick % 5) });
        });
        const retried = new Player().playAll(withRetries);
        expect(retried.state.pages).toEqual(once.state.pages);
      }),
      { numRuns: 300 },
    );
  });
});
