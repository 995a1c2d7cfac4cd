import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import {
  DAY_MS,
  LEDGER_KEEP_EVIDENCE,
  LEDGER_MAX_EVIDENCE,
  LEDGER_SLOTS,
  ledgerOf,
  measureEvidence,
  slotOf,
  toMs,
  type ComponentLedger,
} from '../../src/domain/ledger.js';
import { encodeLedger, type EncodedLedger } from '../../src/domain/ledger-codec.js';
import { daysOf, secondsByImpact } from '../../src/domain/ledger-reading.js';
import { replaceState } from '../../src/domain/state.js';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { affects, componentUpdate, incident, maintenance, PAGE, permutations, Player, T0, uuid } from '../support/events.js';
import { lifecycleEntryArb, lifecycleEvents, type LifecycleEntry } from '../support/lifecycles.js';

// Issue 20's property for every component: "any permutation of events with created_at gives the
// same ledger", for components that incidents and maintenances name as well as those only
// updates name. The histories are those the state itself reaches in any order (as in
// properties.test.ts): each incident and maintenance with one lifecycle whose events name the same
// components, incidents with their start_at, every created_at distinct and trusted.

/** Entries this far apart (so intervals cross UTC days); offsets keep every time distinct. */
const SPACING = { step: 30_000, start: 0.25, direct: 1300, started: 3100, finished: 5700 };
const eventsOf = (entries: LifecycleEntry[]) => lifecycleEvents(entries, SPACING);

/** Plays events in the given order, each received after every created_at (all trusted), one second apart. */
function play(events: StatusMateEvent[], player = new Player(), from = 0): Player {
  const last = Math.max(...events.map((e) => e.createdAt ?? 0), T0);
  events.forEach((event, i) => player.play(event, last + 1 + from + i));
  return player;
}

const historyArb = fc
  .array(lifecycleEntryArb, { minLength: 1, maxLength: 12 })
  .map(eventsOf)
  .filter((events) => events.length > 0);
const withShuffle = historyArb.chain((events) =>
  fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length })),
);

function entries(player: Player): [string, ComponentLedger][] {
  return [...(player.state.ledger.pages.get(PAGE) ?? new Map<string, ComponentLedger>())];
}

/** What the ledger must say whatever the order: each component's first known time, open interval, totals, days. */
function booked(player: Player) {
  return entries(player).map(([id, e]) => ({ id, sinceMs: e.sinceMs, openMs: e.openMs, impact: e.impact, totals: new Map(e.totals), days: [...e.days] }));
}

describe('the ledger of components incidents and maintenances name is a function of the events, not of their arrival order', () => {
  it('every permutation gives the ledger of the created_at order: totals, days, first known, change points, evidence', () => {
    fc.assert(
      fc.property(withShuffle, ([events, shuffled]) => {
        const inOrder = play(events);
        const other = play(shuffled);
        expect(encodeLedger(other.state.ledger)).toEqual(encodeLedger(inOrder.state.ledger));
        // The weight the bound on all evidence reads is kept exactly, whatever the order.
        for (const player of [inOrder, other]) expect(player.state.ledger.evidenceWeight).toBe(measureEvidence(player.state.ledger));
        // The open interval is the state's impact; the state is the same too.
        for (const [id, entry] of entries(other)) expect(entry.impact).toBe(other.page().components.get(id)?.impact);
      }),
      { numRuns: 400 },
    );
  });

  it('every permutation of a short history, all of them', () => {
    fc.assert(
      fc.property(
        historyArb.filter((events) => events.length <= 5),
        (events) => {
          const want = encodeLedger(play(events).state.ledger);
          for (const order of permutations(events)) expect(encodeLedger(play(order).state.ledger)).toEqual(want);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a snapshot and restore in the middle of a permutation changes nothing', () => {
    fc.assert(
      fc.property(
        withShuffle.chain(([events, shuffled]) => fc.tuple(fc.constant(events), fc.constant(shuffled), fc.nat({ max: events.length }))),
        ([events, shuffled, cut]) => {
          const want = encodeLedger(play(events).state.ledger);
          const first = play(shuffled.slice(0, cut));
          const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(first.state));
          if (decoded.kind !== 'state') throw new Error(decoded.kind);
          const second = new Player();
          replaceState(second.state, decoded.state);
          const last = Math.max(...events.map((e) => e.createdAt ?? 0));
          shuffled.slice(cut).forEach((event, i) => second.play(event, last + 1 + cut + i));
          expect(encodeLedger(second.state.ledger)).toEqual(want);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('in any order, each component counted without gap or overlap, its days adding up to its totals', () => {
    fc.assert(
      fc.property(withShuffle, fc.integer({ min: 0, max: 5 * 86_400 }), ([, shuffled], after) => {
        const player = play(shuffled);
        const now = Math.max(...shuffled.map((e) => e.createdAt ?? 0)) + after;
        for (const [, entry] of entries(player)) {
          const seconds = [...secondsByImpact(entry, now).values()].reduce((a, b) => a + b, 0);
          expect(toMs(seconds)).toBe(toMs(now) - entry.sinceMs);
          expect([...entry.totals.values()].reduce((a, b) => a + b, 0)).toBe(entry.openMs - entry.sinceMs);
          for (const ms of entry.totals.values()) expect(ms).toBeGreaterThan(0);
          const days = daysOf(entry, 0, Math.floor(entry.sinceMs / DAY_MS), Math.floor(entry.openMs / DAY_MS), entry.openMs);
          const bySlot = LEDGER_SLOTS.map((_, slot) => days.reduce((sum, day) => sum + (day.slots[slot] as number), 0));
          const expected = LEDGER_SLOTS.map(() => 0);
          for (const [impact, ms] of entry.totals) if (slotOf(impact) >= 0) expected[slotOf(impact)] = (expected[slotOf(impact)] as number) + ms;
          expect(bySlot).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('an incident whose events arrive after a later update: its hold is booked from its start to its finish', () => {
    const created = incident('incident_created', 1, T0 + 10, [affects(1, 'major_outage')], { startAt: T0 + 10 });
    const finished = incident('incident_finished', 1, T0 + 40, [affects(1, 'major_outage')], { startAt: T0 + 10 });
    const first = componentUpdate(1, 'degraded_performance', T0);
    const fixed = componentUpdate(1, 'operational', T0 + 60);
    for (const order of [
      [first, created, finished, fixed],
      [fixed, finished, created, first],
      [first, fixed, created, finished],
      [finished, first, fixed, created],
    ]) {
      const entry = ledgerOf(play(order).state.ledger, PAGE, uuid(1));
      // degraded 0–10, major 10–40, then operational (the update before the incident was cleared by it) up to 60.
      expect(entry).toMatchObject({ sinceMs: toMs(T0), openMs: toMs(T0 + 60), impact: 'operational' });
      expect(new Map(entry?.totals)).toEqual(
        new Map([
          ['degraded_performance', 10_000],
          ['major_outage', 30_000],
          ['operational', 20_000],
        ]),
      );
    }
  });

  it('a maintenance started late, and a stale update of a component it held: both where their times say', () => {
    const window = { startAt: T0 + 100, endAt: T0 + 200 };
    const created = maintenance('maintenance_created', 1, T0, [affects(1, null)], window);
    const started = maintenance('maintenance_started', 1, T0 + 100, [affects(1, null)], window);
    const finished = maintenance('maintenance_finished', 1, T0 + 200, [affects(1, null)], window);
    const during = componentUpdate(1, 'partial_outage', T0 + 150);
    const after = componentUpdate(1, 'operational', T0 + 300);
    const want = encodeLedger(play([created, started, during, finished, after]).state.ledger);
    expect(new Map(ledgerOf(play([created, started, during, finished, after]).state.ledger, PAGE, uuid(1))?.totals)).toEqual(
      new Map([
        ['operational', 100_000],
        ['under_maintenance', 50_000],
        ['partial_outage', 150_000],
      ]),
    );
    expect(encodeLedger(play([after, finished, created, during, started]).state.ledger)).toEqual(want);
    expect(encodeLedger(play([created, finished, after, during, started]).state.ledger)).toEqual(want);
  });
});

describe('when a component last changed (statusmate_component_last_change_timestamp_seconds)', () => {
  it('is where the times say, whatever order a maintenance, an incident and an update arrive in', () => {
    // An update at 0; a maintenance 100–400 (scheduled at -50); an incident (major) 200–250 within it.
    const window = { startAt: T0 + 100, endAt: T0 + 400 };
    const mc = maintenance('maintenance_created', 1, T0 - 50, [affects(1, null)], window);
    const ms = maintenance('maintenance_started', 1, T0 + 100, [affects(1, null)], window);
    const mf = maintenance('maintenance_finished', 1, T0 + 400, [affects(1, null)], window);
    const ic = incident('incident_created', 1, T0 + 200, [affects(1, 'major_outage')], { startAt: T0 + 200 });
    const fin = incident('incident_finished', 1, T0 + 250, [affects(1, 'major_outage')], { startAt: T0 + 200, endAt: T0 + 250 });
    const cu = componentUpdate(1, 'operational', T0);
    for (const order of [
      [cu, mc, ms, ic, fin, mf],
      [cu, mc, mf, ms, fin, ic],
      [cu, mc, ms, mf, ic, fin],
      [mc, mf, ic, cu, fin, ms],
    ]) {
      const player = play(order);
      // The maintenance's end, the last time the impact changed (under_maintenance → operational).
      expect(player.page().components.get(uuid(1))?.changedAt, order.map((e) => e.type).join(' ')).toBe(T0 + 400);
    }
  });

  it("is an incident's finish that arrives before its creation, after the component was last updated", () => {
    const cu = componentUpdate(1, 'operational', T0);
    const fin = incident('incident_finished', 1, T0 + 75, [affects(1, 'major_outage')], { startAt: T0 + 60, endAt: T0 + 75 });
    const ic = incident('incident_created', 1, T0 + 60, [affects(1, 'major_outage')], { startAt: T0 + 60 });
    expect(play([cu, ic, fin]).page().components.get(uuid(1))?.changedAt).toBe(T0 + 75);
    // Scraped before and after the late creation: the series moves to the finish.
    const player = play([cu, fin]);
    const metrics = new DomainMetrics(player.state);
    const lastChange = () => /statusmate_component_last_change_timestamp_seconds\{[^}]*\} (\S+)/.exec(metrics.text().toString())?.[1];
    expect(lastChange()).toBe(String(T0));
    player.play(ic, T0 + 1_000);
    expect(lastChange()).toBe(String(T0 + 75));
  });
});

describe('the evidence a component keeps, and its bounds', () => {
  it(`keeps at most LEDGER_MAX_EVIDENCE (${LEDGER_MAX_EVIDENCE}) events; a late one within them is still booked where it falls`, () => {
    // A component flapping under maintenances, 3 events an hour for 40 hours.
    const events: StatusMateEvent[] = [];
    for (let h = 0; h < 40; h += 1) {
      const at = T0 + h * 3600;
      const window = { startAt: at, endAt: at + 1800 };
      events.push(maintenance('maintenance_started', h, at, [affects(1, null)], window));
      events.push(maintenance('maintenance_finished', h, at + 1800, [affects(1, null)], window));
      events.push(componentUpdate(1, h % 2 ? 'major_outage' : 'operational', at + 2700));
    }
    const inOrder = play(events);
    const evidence = ledgerOf(inOrder.state.ledger, PAGE, uuid(1))?.evidence;
    expect(evidence?.events.length).toBeLessThanOrEqual(LEDGER_MAX_EVIDENCE);
    expect(evidence?.events.length).toBeGreaterThanOrEqual(LEDGER_KEEP_EVIDENCE);
    // The last update delayed behind the next few events: the same bookings.
    const late = [...events];
    const [update] = late.splice(events.length - 7, 1);
    late.push(update as StatusMateEvent);
    expect(booked(play(late))).toEqual(booked(inOrder));
    // One older than the evidence kept books as it arrives: the counts stay whole, the split may not.
    const old = [...events];
    const [first] = old.splice(2, 1);
    old.push(first as StatusMateEvent);
    const player = play(old);
    const entry = ledgerOf(player.state.ledger, PAGE, uuid(1));
    expect([...(entry?.totals.values() ?? [])].reduce((a, b) => a + b, 0)).toBe((entry?.openMs ?? 0) - (entry?.sinceMs ?? 0));
    expect(entry?.impact).toBe(player.impact(1));
  });

  it('an event without a trusted created_at starts the evidence again from the state: later events are placed after it', () => {
    const player = new Player();
    player.play(componentUpdate(1, 'major_outage', T0), T0 + 1);
    player.play(componentUpdate(1, 'operational', null), T0 + 100);
    const evidence = ledgerOf(player.state.ledger, PAGE, uuid(1))?.evidence;
    expect(evidence).toMatchObject({ fromAt: T0 + 100, events: [] });
    expect(evidence?.base?.component).toMatchObject({ impact: 'operational' });
    // An update with a created_at before it comes after it for the state (arrival orders an event without created_at), and
    // for the ledger: booked at the open interval's start.
    player.play(componentUpdate(1, 'partial_outage', T0 + 50), T0 + 101);
    expect(player.impact(1)).toBe('partial_outage');
    const entry = ledgerOf(player.state.ledger, PAGE, uuid(1));
    expect(entry).toMatchObject({ impact: 'partial_outage', openMs: toMs(T0 + 100) });
    expect(new Map(entry?.totals)).toEqual(new Map([['major_outage', 100_000]]));
    expect(withoutEvidence(encodeLedger(player.state.ledger)).components[0]?.length).toBe(8);
  });
});

describe('the base a component’s evidence starts from', () => {
  it('lists the incidents holding it by uuid, not in the order they were created or restored in', () => {
    // Three incidents hold component 1, created in descending uuid order; an update without a
    // trusted created_at then starts its evidence again from the state (its base).
    const restarted = (player: Player) => {
      player.play(componentUpdate(1, 'operational', null), T0 + 100);
      return ledgerOf(player.state.ledger, PAGE, uuid(1))?.evidence?.base?.incidents.map((i) => i.uuid);
    };
    const folded = new Player();
    [3, 2, 1].forEach((id, i) => folded.play(incident('incident_created', id, T0 + i, [affects(1, 'major_outage'), affects(2, 'major_outage')]), T0 + 10 + i));
    const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(folded.state));
    if (decoded.kind !== 'state') throw new Error(decoded.kind);
    const loaded = new Player();
    replaceState(loaded.state, decoded.state);
    const want = [uuid(1001), uuid(1002), uuid(1003)];
    expect(restarted(folded)).toEqual(want);
    expect(restarted(loaded)).toEqual(want);
    // Each cut to the component, finished ones left out.
    const finishing = new Player();
    [3, 2, 1].forEach((id, i) =>
      finishing.play(incident('incident_created', id, T0 + i, [affects(1, 'major_outage'), affects(2, 'major_outage')]), T0 + 10 + i),
    );
    finishing.play(incident('incident_finished', 2, T0 + 20, [affects(1, 'operational')]), T0 + 30);
    finishing.play(componentUpdate(1, 'operational', null), T0 + 100);
    const base = ledgerOf(finishing.state.ledger, PAGE, uuid(1))?.evidence?.base;
    expect(base?.incidents.map((i) => [i.uuid, i.components.map((c) => c.uuid)])).toEqual([
      [uuid(1001), [uuid(1)]],
      [uuid(1003), [uuid(1)]],
    ]);
  });
});

const withoutEvidence = (encoded: EncodedLedger) => ({ ...encoded, components: encoded.components.map((c) => c.slice(0, 8)) });
