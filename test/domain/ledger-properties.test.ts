import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { DAY_MS, LEDGER_SLOTS, slotOf, toMs, type ComponentLedger } from '../../src/domain/ledger.js';
import { encodeLedger, packDays, unpackDays } from '../../src/domain/ledger-codec.js';
import { daysOf, secondsByImpact } from '../../src/domain/ledger-reading.js';
import { prune } from '../../src/domain/prune.js';
import { applyPatch } from '../../src/domain/state.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { formatTwoOf, type FormatTwo } from '../support/snapshot-format.js';
import { availabilityReport } from '../../src/api/availability.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import { forget } from '../../src/domain/forget.js';
import { affects, componentUpdate, incident, maintenance, Player, T0, uuid } from '../support/events.js';

// Properties of the availability ledger (issue 20) over random histories of updates, incidents
// and maintenances, delivered in random orders, with and without created_at.

const IMPACTS = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance', 'brand_new_impact'];

type Step =
  | { kind: 'update'; component: number; impact: string }
  | { kind: 'incident_created' | 'incident_finished'; id: number; component: number; impact: string }
  | { kind: 'maintenance_started' | 'maintenance_finished'; id: number; component: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('update' as const), component: fc.integer({ min: 1, max: 3 }), impact: fc.constantFrom(...IMPACTS) }),
  fc.record({
    kind: fc.constantFrom('incident_created' as const, 'incident_finished' as const),
    id: fc.integer({ min: 1, max: 3 }),
    component: fc.integer({ min: 1, max: 3 }),
    impact: fc.constantFrom('partial_outage', 'major_outage', 'degraded_performance'),
  }),
  fc.record({
    kind: fc.constantFrom('maintenance_started' as const, 'maintenance_finished' as const),
    id: fc.integer({ min: 1, max: 2 }),
    component: fc.integer({ min: 1, max: 3 }),
  }),
);

/** A history: steps `gap` seconds apart (up to two days, so intervals cross UTC days), some without created_at. */
const historyArb = fc.array(fc.tuple(stepArb, fc.integer({ min: 1, max: 2 * 86_400 }), fc.boolean()), { minLength: 1, maxLength: 30 });

type Timed = { event: StatusMateEvent; receivedAt: number };

function timed(history: [Step, number, boolean][]): Timed[] {
  let at = T0 + 0.25;
  return history.map(([step, gap, withCreatedAt]) => {
    at += gap + 0.125;
    const createdAt = withCreatedAt ? at : null;
    let event: StatusMateEvent;
    if (step.kind === 'update') event = componentUpdate(step.component, step.impact, createdAt);
    else if (step.kind === 'incident_created' || step.kind === 'incident_finished')
      event = incident(step.kind, step.id, createdAt, [affects(step.component, step.impact)]);
    else event = maintenance(step.kind, step.id, createdAt, [affects(step.component, null)]);
    // Received a little after it was sent.
    return { event, receivedAt: at + 2 };
  });
}

function play(deliveries: Timed[]): Player {
  const player = new Player();
  for (const { event, receivedAt } of deliveries) player.play(event, receivedAt);
  return player;
}

function entries(player: Player): ComponentLedger[] {
  return [...player.state.ledger.pages.values()].flatMap((page) => [...page.values()]);
}

const shuffle = <T>(items: T[], seed: number): T[] =>
  fc.sample(fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }), { numRuns: 1, seed })[0] ?? items;

describe('availability ledger properties', () => {
  it('for each component, the seconds over all impacts equal the time since it was first known', () => {
    fc.assert(
      fc.property(historyArb, fc.integer(), fc.integer({ min: 0, max: 10 * 86_400 }), (history, seed, after) => {
        const deliveries = shuffle(timed(history), seed);
        const player = play(deliveries);
        const now = Math.max(...deliveries.map((d) => d.receivedAt)) + after;
        for (const entry of entries(player)) {
          const seconds = [...secondsByImpact(entry, now).values()].reduce((a, b) => a + b, 0);
          expect(seconds).toBeCloseTo(now - entry.sinceMs / 1000, 6);
          // Booked intervals are contiguous: the totals are exactly the time up to the open interval.
          expect([...entry.totals.values()].reduce((a, b) => a + b, 0)).toBe(entry.openMs - entry.sinceMs);
        }
        // Every component the state knows from a webhook has a ledger, and no other.
        const known = [...player.state.pages.values()].flatMap((page) => [...page.components.keys()]);
        expect(entries(player).length).toBe(known.length);
      }),
      { numRuns: 300 },
    );
  });

  it("the ledger's days add up to the counter, impact by impact", () => {
    fc.assert(
      fc.property(historyArb, fc.integer(), (history, seed) => {
        const player = play(shuffle(timed(history), seed));
        for (const entry of entries(player)) {
          // Up to the open interval (now = its start): what is booked.
          const days = daysOf(entry, 0, Math.floor(entry.sinceMs / DAY_MS), Math.floor(entry.openMs / DAY_MS), entry.openMs);
          const bySlot = LEDGER_SLOTS.map((_, slot) => days.reduce((sum, day) => sum + (day.slots[slot] as number), 0));
          const operational = days.reduce((sum, day) => sum + day.covered - day.slots.reduce((a, b) => a + b, 0), 0);
          const expected = LEDGER_SLOTS.map(() => 0);
          let expectedOperational = 0;
          for (const [impact, ms] of entry.totals) {
            const slot = slotOf(impact);
            if (slot < 0) expectedOperational += ms;
            else expected[slot] = (expected[slot] as number) + ms;
          }
          expect(bySlot).toEqual(expected);
          expect(operational).toBe(expectedOperational);
          for (const day of days) expect(day.covered).toBeLessThanOrEqual(DAY_MS);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('events delivered in created_at order give the same ledger however their retries are interleaved', () => {
    fc.assert(
      fc.property(historyArb, fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), (history, choices) => {
        const inOrder = timed(history.map(([step, gap]) => [step, gap, true]));
        const alone = play(inOrder);
        // After each event, a retry (attempt 1) of it or of an earlier one: a duplicate, which changes nothing.
        const merged: Timed[] = [];
        inOrder.forEach((delivery, i) => {
          merged.push(delivery);
          const earlier = inOrder[(choices[i] ?? 0) % (i + 1)] as Timed;
          merged.push({ event: { ...earlier.event, deliveryAttempt: 1 }, receivedAt: delivery.receivedAt });
        });
        expect(encodeLedger(play(merged).state.ledger)).toEqual(encodeLedger(alone.state.ledger));
      }),
      { numRuns: 150 },
    );
  });

  it('any permutation of events with created_at: each component counted without gap or overlap up to the last event, open in the impact shown', () => {
    // What the fold guarantees for any order, whatever the history (see ledger.ts): each component
    // counted without gap or overlap from when it was first known, in the impact the state shows.
    // That the split between impacts is the same too holds where the state itself ends the same in
    // every order (ledger-order.test.ts, ledger-holds.test.ts); these histories (an incident's
    // events naming different components, several created for one incident) are not all such.
    fc.assert(
      fc.property(historyArb, fc.integer(), (history, seed) => {
        const events = timed(history.map(([step, gap]) => [step, gap, true]));
        const a = play(events);
        const b = play(shuffle(events, seed));
        const last = Math.max(...events.map((d) => d.receivedAt));
        for (const p of [a, b]) {
          for (const [page, components] of p.state.ledger.pages) {
            // The open interval is in the impact the state shows.
            for (const [uuid, entry] of components) expect(entry.impact).toBe(p.state.pages.get(page)?.components.get(uuid)?.impact);
          }
          for (const entry of entries(p)) {
            const total = [...secondsByImpact(entry, last).values()].reduce((x, y) => x + y, 0);
            expect(toMs(total)).toBe(toMs(last) - entry.sinceMs);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a snapshot and its restore change nothing, from either format; pruning keeps the last days', () => {
    fc.assert(
      fc.property(historyArb, fc.integer(), fc.integer({ min: 1, max: 5 }), (history, seed, retentionDays) => {
        const player = play(shuffle(timed(history), seed));
        const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(player.state));
        if (decoded.kind !== 'state') throw new Error(decoded.kind);
        expect(encodeLedger(decoded.state.ledger)).toEqual(encodeLedger(player.state.ledger));

        // Pruning: only days before the kept ones go, totals stay.
        const now = Math.max(...entries(player).map((e) => e.openMs)) / 1000;
        const patch = prune(player.state, now, 3600, undefined, retentionDays);
        const before = encodeLedger(player.state.ledger);
        applyPatch(player.state, patch);
        const keep = Math.floor(toMs(now) / DAY_MS) - retentionDays;
        for (const entry of entries(player)) {
          for (let row = 0; row < entry.days.length; row += LEDGER_SLOTS.length + 1) expect(entry.days[row]).toBeGreaterThanOrEqual(keep);
        }
        expect(encodeLedger(player.state.ledger).components.map((c) => c[5])).toEqual(before.components.map((c) => c[5]));
      }),
      { numRuns: 200 },
    );
  });

  it('an older snapshot (format 1) starts each component at its last change, in its impact', () => {
    const player = play(timed([[{ kind: 'update', component: 1, impact: 'major_outage' }, 100, true]]));
    const v2: Partial<FormatTwo> = formatTwoOf(encodeSnapshot(player.state));
    delete v2.ledger;
    const decoded = decodeSnapshot('1', JSON.stringify(v2));
    if (decoded.kind !== 'state') throw new Error(decoded.kind);
    const [entry] = [...decoded.state.ledger.pages.values()].flatMap((page) => [...page.values()]);
    const record = [...decoded.state.pages.values()][0]?.components.values().next().value;
    expect(entry).toMatchObject({ impact: 'major_outage', sinceMs: toMs(record?.changedAt ?? 0), openMs: toMs(record?.changedAt ?? 0) });
    expect(entry?.totals.size).toBe(0);
  });
});

describe('the ledger in a snapshot', () => {
  it('packs day rows losslessly, whatever their values, and refuses days that do not unpack', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 500 }), fc.array(fc.integer({ min: 0, max: DAY_MS }), { minLength: 5, maxLength: 5 }))),
        (rows) => {
          let day = 19_000;
          const flat = rows.flatMap(([gap, slots]) => [(day += gap), ...slots]);
          const days = Uint32Array.from(flat);
          expect([...unpackDays(packDays(days), 'x')]).toEqual(flat);
        },
      ),
    );
    expect(() => unpackDays(Buffer.from([0x80]), 'page/c')).toThrow(/end inside a number/);
    const player = play(timed([[{ kind: 'update', component: 1, impact: 'major_outage' }, 100, true]]));
    const data = formatTwoOf(encodeSnapshot(player.state));
    (data.ledger.components[0] as unknown[])[6] = Buffer.from([5, 1, 0x80]).toString('base64');
    expect(decodeSnapshot('2', JSON.stringify(data))).toMatchObject({
      kind: 'invalid',
      problem: expect.stringMatching(/ledger of page-a/),
    });
  });
});

describe('the ledger bound (LEDGER_MAX_DAY_ROWS)', () => {
  it('forgets the oldest days for every component, down to 90 % of the bound, never today, and keeps the counter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 8 }), (maxRows, components) => {
        const player = new Player();
        // Each component down an hour a day for 30 days.
        for (let day = 0; day < 30; day++) {
          for (let c = 1; c <= components; c++) {
            const at = T0 + day * 86_400;
            player.play(componentUpdate(c, 'major_outage', at), at + 1);
            player.play(componentUpdate(c, 'operational', at + 3600), at + 3601);
          }
        }
        const totals = encodeLedger(player.state.ledger).components.map((c) => c[5]);
        const newest = Math.max(...entries(player).map((e) => e.days[e.days.length - (LEDGER_SLOTS.length + 1)] ?? 0));
        const now = T0 + 29 * 86_400 + 7200;
        applyPatch(player.state, prune(player.state, now, 3600, undefined, 400, maxRows));
        const rows = entries(player).reduce((sum, e) => sum + e.days.length / (LEDGER_SLOTS.length + 1), 0);
        const today = Math.floor(toMs(now) / DAY_MS);
        // Within the bound (pruned to 90 % of it once past it), but for the newest day, never forgotten.
        expect(rows).toBeLessThanOrEqual(Math.max(maxRows, components));
        if (30 * components > maxRows) expect(rows).toBeLessThanOrEqual(Math.max(Math.floor(maxRows * 0.9), components));
        expect(player.state.ledger.keptFromDay).toBeLessThanOrEqual(today);
        // Whatever is kept is the newest days.
        for (const entry of entries(player)) {
          const days = [...entry.days].filter((_, i) => i % (LEDGER_SLOTS.length + 1) === 0);
          if (days.length > 0) expect(days.at(-1)).toBe(newest);
          for (const day of days) expect(day).toBeGreaterThanOrEqual(player.state.ledger.keptFromDay);
        }
        expect(encodeLedger(player.state.ledger).components.map((c) => c[5])).toEqual(totals);
      }),
      { numRuns: 50 },
    );
  });
});

describe('incidents and maintenances in the ledger', () => {
  it('outlive the state’s retention of finished ones, go with the kept days, and with an operator’s forget', () => {
    const player = new Player();
    player.play(incident('incident_created', 1, T0, [affects(1, 'major_outage')], { startAt: T0 }), T0 + 1);
    player.play(incident('incident_finished', 1, T0 + 600, [affects(1, null)]), T0 + 601);
    player.play(maintenance('maintenance_started', 1, T0 + 700, [affects(2, null)]), T0 + 701);
    player.play(maintenance('maintenance_finished', 1, T0 + 800, [affects(2, null)]), T0 + 801);
    // A week and a day later the state forgets them (FINISHED_RETENTION_SECONDS)…
    const later = T0 + 8 * 86_400;
    applyPatch(player.state, prune(player.state, later, 7 * 86_400, undefined, 400));
    expect(player.page().incidents.size).toBe(0);
    // …the availability report still lists them, on the components they named.
    const day = Math.floor(toMs(T0) / DAY_MS);
    const report = availabilityReport({ state: player.state, declared: [], policy: DEFAULT_POLICY, now: later }, day, day + 8, null);
    const page = report.status_pages[0];
    expect(page?.incidents.map((i) => i.title)).toEqual(['Incident 1']);
    expect(page?.maintenances.map((m) => m.title)).toEqual(['Maintenance 1']);
    expect(page?.components.find((c) => c.uuid === uuid(1))?.incidents).toEqual([
      { uuid: uuid(1001), title: 'Incident 1', started_at: new Date(T0 * 1000).toISOString(), ended_at: new Date((T0 + 600) * 1000).toISOString() },
    ]);
    // In the snapshot too.
    const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(player.state));
    if (decoded.kind !== 'state') throw new Error(decoded.kind);
    expect(decoded.state.ledger.touches).toEqual(player.state.ledger.touches);
    // Days past LEDGER_RETENTION_DAYS take them along.
    applyPatch(player.state, prune(player.state, later, 7 * 86_400, undefined, 2));
    expect(player.state.ledger.touches.size).toBe(0);
    expect(player.state.ledger.touchWeight).toBe(0);
  });

  it('forgets an incident an operator forgets', () => {
    const player = new Player();
    player.play(incident('incident_created', 1, T0, [affects(1, 'major_outage')]), T0 + 1);
    expect(player.state.ledger.touches.get('page-a')?.size).toBe(1);
    applyPatch(player.state, forget(player.state, { kind: 'incident', statusPage: 'page-a', uuid: uuid(1001) }, T0 + 100, 300).patch);
    expect(player.state.ledger.touches.size).toBe(0);
  });
});
