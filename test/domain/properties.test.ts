import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { affects, componentUpdate, incident, maintenance, Player, T0, uuid } from '../support/events.js';
import { impactArb, lifecycleEntryArb, lifecycleEvents } from '../support/lifecycles.js';

type Step = { kind: 'incident_created' | 'incident_finished' | 'maintenance_created' | 'maintenance_started' | 'maintenance_finished'; id: number };

const stepArb = fc.record({
  kind: fc.constantFrom<Step['kind']>('incident_created', 'incident_finished', 'maintenance_created', 'maintenance_started', 'maintenance_finished'),
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
  return (
    stats && {
      incidentsCreated: stats.incidentsCreated,
      incidentsFinished: stats.incidentsFinished,
      maintenancesCreated: stats.maintenancesCreated,
      maintenancesStarted: stats.maintenancesStarted,
      maintenancesFinished: stats.maintenancesFinished,
    }
  );
}

describe('reducer properties', () => {
  it('counts every lifecycle event once per object, whatever the order and however many retries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(stepArb, fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 25 }), fc.integer(), (history, seed) => {
        const deliveries = history.flatMap(([step, copies], index) => Array.from({ length: copies }, (_, attempt) => toEvent(step, index, attempt)));
        const shuffled =
          fc.sample(fc.shuffledSubarray(deliveries, { minLength: deliveries.length, maxLength: deliveries.length }), { numRuns: 1, seed })[0] ?? deliveries;
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
          for (const i of page.incidents.values())
            if (i.state === 'active') for (const c of i.components) expected.set(c.uuid, (expected.get(c.uuid) ?? new Set()).add(`incident:${i.uuid}`));
          for (const m of page.maintenances.values())
            if (m.state === 'in_progress') for (const c of m.components) expected.set(c.uuid, (expected.get(c.uuid) ?? new Set()).add(`maintenance:${m.uuid}`));
          const actual = new Map([...page.holders].map(([uuid, holders]) => [uuid, new Set(holders.keys())]));
          expect(actual).toEqual(expected);
        }
        // Nothing that was finished is ever active again.
        for (const [step] of history) {
          if (step.kind === 'incident_finished')
            expect(
              p.state.pages
                .values()
                .next()
                .value?.incidents.get(toEvent(step, 0, 0).uuid)?.state,
            ).toBe('finished');
          if (step.kind === 'maintenance_finished')
            expect(
              p.state.pages
                .values()
                .next()
                .value?.maintenances.get(toEvent(step, 0, 0).uuid)?.state,
            ).toBe('finished');
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
          for (const pick of retryPicks)
            if (pick % events.length <= index && pick % 3 === 0) withRetries.push({ ...events[pick % events.length]!, deliveryAttempt: 1 + (pick % 5) });
        });
        const retried = new Player().playAll(withRetries);
        expect(retried.state.pages).toEqual(once.state.pages);
      }),
      { numRuns: 300 },
    );
  });
});

/** What /metrics shows of a state, less the times of last change (which record when a change was seen). */
function observable(p: Player) {
  return [...p.state.pages.values()].map((page) => ({
    stats: { ...page.stats, lastReceivedAt: null },
    components: [...page.components.values()].map(({ uuid: id, name, impact }) => ({ id, name, impact })).sort((a, b) => a.id.localeCompare(b.id)),
    incidents: [...page.incidents.values()]
      .map(({ uuid: id, state, startAt, endAt, title }) => ({ id, state, startAt, endAt, title }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    maintenances: [...page.maintenances.values()]
      .map(({ uuid: id, state, scheduledStart, scheduledEnd, startedAt, finishedAt }) => ({ id, state, scheduledStart, scheduledEnd, startedAt, finishedAt }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  }));
}

describe('order independence', () => {
  it('ends in the state of the created_at order, whatever the arrival order and however many retries', () => {
    fc.assert(
      fc.property(
        fc.array(lifecycleEntryArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer(),
        (entries, retryPicks, seed) => {
          const events = lifecycleEvents(entries);
          const truth = new Player().playAll(events);
          const deliveries = [...events];
          for (const pick of retryPicks) {
            const original = events[pick % events.length];
            if (original) deliveries.push({ ...original, deliveryAttempt: 1 + (pick % 3) });
          }
          const arrival =
            fc.sample(fc.shuffledSubarray(deliveries, { minLength: deliveries.length, maxLength: deliveries.length }), { numRuns: 1, seed })[0] ?? deliveries;
          expect(observable(new Player().playAll(arrival))).toEqual(observable(truth));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('ends in the same state whatever the arrival order of incidents and maintenances that carry no created_at', () => {
    fc.assert(
      fc.property(fc.array(lifecycleEntryArb, { minLength: 1, maxLength: 12 }), fc.integer(), (entries, seed) => {
        // Without created_at only arrival orders events, so direct updates (last one wins) are left out.
        const events = lifecycleEvents(entries.filter((entry) => entry.type !== 'direct')).map((event) => ({ ...event, createdAt: null }));
        const inOrder = new Player().playAll(events);
        const arrival = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { numRuns: 1, seed })[0] ?? events;
        expect(observable(new Player().playAll(arrival))).toEqual(observable(inOrder));
      }),
      { numRuns: 500 },
    );
  });

  it('returns a component to its first impact after a flap A → B → A, with or without created_at', () => {
    fc.assert(
      fc.property(impactArb, impactArb, fc.boolean(), (a, b, withCreatedAt) => {
        const p = new Player();
        [a, b, a].forEach((impact, i) => p.play(componentUpdate(1, impact, withCreatedAt ? T0 + i : null), T0 + i + 1));
        expect(p.decisions.map((d) => d.outcome)).toEqual(['applied', 'applied', 'applied']);
        expect(p.impact(1)).toBe(a);
      }),
    );
  });

  it('lets no single event, whatever its created_at, make a later current update stale', () => {
    fc.assert(
      fc.property(
        lifecycleEntryArb,
        fc.oneof(fc.constant(null), fc.integer({ min: -10 * 365 * 86_400, max: 100 * 365 * 86_400 })),
        impactArb,
        fc.boolean(),
        (entry, offset, impact, currentHasCreatedAt) => {
          const p = new Player();
          // Whatever the first event is, and however far its created_at is from its receipt...
          for (const event of lifecycleEvents([entry])) p.play({ ...event, createdAt: offset === null ? null : T0 + offset }, T0);
          // ...an update made and received after the skew allowed has passed is applied and shown.
          const now = T0 + DEFAULT_LIMITS.maxClockSkewSeconds + 1;
          const current = p.play(componentUpdate(1, impact, currentHasCreatedAt ? now : null), now);
          expect(current.outcome).toBe('applied');
          expect(p.page().components.get(uuid(1))?.direct?.impact).toBe(impact);
        },
      ),
      { numRuns: 300 },
    );
  });
});
