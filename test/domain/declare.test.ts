import { describe, expect, it } from 'vitest';
import { chunkDeclarations, declarationPatch, inventoryPatch, undeclaredComponents, type Declaration } from '../../src/domain/inventory.js';
import { DAY_MS, ledgerOf, toMs } from '../../src/domain/ledger.js';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { daysOf, secondsByImpact } from '../../src/domain/ledger-reading.js';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { applyPatch, emptyPatch } from '../../src/domain/state.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { affects, componentUpdate, DECLARED as declared, incident, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';

// Issue 20: a component declared in the status pages file counts as operational from its
// declaration, which goes through the log (a `declare` entry) so that every replica books it alike.

/** Folds a declaration at log time `at`, as the fold loop does; returns how many it booked. */
function declare(player: Player, declarations: readonly Declaration[], at: number, limits = DEFAULT_LIMITS): number {
  const decision = declarationPatch(player.state, declarations, at, limits);
  if (decision.declared > 0) applyPatch(player.state, decision.patch);
  return decision.declared;
}

const all = (n: number[]): Declaration[] => [{ statusPage: PAGE, uuids: n.map(uuid) }];

/** What the ledger says of a component at `now`: seconds per impact, and the day it was first known from. */
function readings(player: Player, n: number, now: number) {
  const entry = ledgerOf(player.state.ledger, PAGE, uuid(n));
  if (!entry) throw new Error(`no ledger for component ${n}`);
  const day = Math.floor(toMs(now) / DAY_MS);
  return {
    sinceMs: entry.sinceMs,
    seconds: Object.fromEntries([...secondsByImpact(entry, now)].filter(([, s]) => s !== 0).sort(([a], [b]) => (a < b ? -1 : 1))),
    days: daysOf(entry, player.state.ledger.keptFromDay, day - 2, day, toMs(now)),
  };
}

describe('declaring components in the log', () => {
  it('books each declared component the ledger does not know as operational from the entry time, and nothing else', () => {
    const player = new Player();
    const before = player.state.componentCount;
    expect(declare(player, all([1, 2]), T0 + 5)).toBe(2);
    const entry = ledgerOf(player.state.ledger, PAGE, uuid(1));
    expect(entry).toMatchObject({ sinceMs: toMs(T0 + 5), openMs: toMs(T0 + 5), impact: 'operational' });
    expect(entry?.totals.size).toBe(0);
    expect(secondsByImpact(entry as NonNullable<typeof entry>, T0 + 65).get('operational')).toBe(60);
    // The state's records are the overlay's and the webhooks', not the declaration's.
    expect(player.state.componentCount).toBe(before);
    expect(player.state.pages.has(PAGE)).toBe(false);
  });

  it('is idempotent: a later declaration changes nothing, so the first one wins', () => {
    const player = new Player();
    declare(player, all([1]), T0 + 5);
    const once = JSON.stringify(encodeLedger(player.state.ledger));
    expect(declare(player, all([1]), T0 + 500)).toBe(0);
    expect(JSON.stringify(encodeLedger(player.state.ledger))).toBe(once);
    // One naming a known and a new component books the new one only, at its own time.
    expect(declare(player, all([1, 2, 2]), T0 + 900)).toBe(1);
    expect(ledgerOf(player.state.ledger, PAGE, uuid(1))?.sinceMs).toBe(toMs(T0 + 5));
    expect(ledgerOf(player.state.ledger, PAGE, uuid(2))?.sinceMs).toBe(toMs(T0 + 900));
  });

  it('leaves a component a webhook made known first as it is', () => {
    const player = new Player();
    player.play(componentUpdate(1, 'major_outage', T0), T0 + 1);
    const known = JSON.stringify(encodeLedger(player.state.ledger));
    expect(declare(player, all([1]), T0 + 100)).toBe(0);
    expect(JSON.stringify(encodeLedger(player.state.ledger))).toBe(known);
  });

  it('lists only the declared components the ledger does not know, so a process with nothing new declares nothing', () => {
    const player = new Player();
    applyPatch(player.state, inventoryPatch(player.state, declared, T0));
    // The overlay's records alone do not make a component known to the ledger.
    expect(undeclaredComponents(player.state, declared)).toEqual(all([1, 2]));
    player.play(componentUpdate(2, 'operational', T0), T0 + 1);
    expect(undeclaredComponents(player.state, declared)).toEqual(all([1]));
    declare(player, undeclaredComponents(player.state, declared), T0 + 2);
    expect(undeclaredComponents(player.state, declared)).toEqual([]);
  });

  it('cuts a long declaration into entries of a bounded size, splitting a page across them', () => {
    const declarations: Declaration[] = [
      { statusPage: 'a', uuids: ['1', '2', '3'] },
      { statusPage: 'b', uuids: ['4', '5'] },
    ];
    expect(chunkDeclarations(declarations, 2)).toEqual([
      [{ statusPage: 'a', uuids: ['1', '2'] }],
      [
        { statusPage: 'a', uuids: ['3'] },
        { statusPage: 'b', uuids: ['4'] },
      ],
      [{ statusPage: 'b', uuids: ['5'] }],
    ]);
    expect(chunkDeclarations([], 2)).toEqual([]);
  });

  it('books no component past MAX_COMPONENTS and no page past MAX_STATUS_PAGES (the appender’s limits)', () => {
    const player = new Player();
    expect(declare(player, all([1, 2, 3]), T0, { ...DEFAULT_LIMITS, maxComponents: 2 })).toBe(2);
    expect(ledgerOf(player.state.ledger, PAGE, uuid(3))).toBeUndefined();
    expect(declare(player, [{ statusPage: 'other', uuids: [uuid(4)] }], T0, { ...DEFAULT_LIMITS, maxStatusPages: 1 })).toBe(0);
    expect(declare(player, [{ statusPage: 'other', uuids: [uuid(4)] }], T0, { ...DEFAULT_LIMITS, maxStatusPages: 2 })).toBe(1);
  });

  it('counts the components a bound left unbooked, each once, and only those', () => {
    const player = new Player();
    const limits = { ...DEFAULT_LIMITS, maxComponents: 3, maxStatusPages: 2 };
    // 1 and 2 booked; a third page is past MAX_STATUS_PAGES; 3 fills MAX_COMPONENTS; 5 and 6 are past it; 1 and the repeated 5 count once or not at all.
    const decision = declarationPatch(
      player.state,
      [
        { statusPage: PAGE, uuids: [uuid(1), uuid(2)] },
        { statusPage: 'second', uuids: [uuid(3)] },
        { statusPage: 'third', uuids: [uuid(4)] },
        { statusPage: PAGE, uuids: [uuid(1), uuid(5), uuid(5), uuid(6)] },
      ],
      T0,
      limits,
    );
    expect({ declared: decision.declared, overLimit: decision.overLimit }).toEqual({ declared: 3, overLimit: 3 });
    expect(decision.patch.ledgerDeclare).toEqual([
      { statusPage: PAGE, uuid: uuid(1) },
      { statusPage: PAGE, uuid: uuid(2) },
      { statusPage: 'second', uuid: uuid(3) },
    ]);
    applyPatch(player.state, decision.patch);
    // Known ones are not past any bound: nothing is counted for them.
    expect(declarationPatch(player.state, all([1, 2]), T0, limits)).toMatchObject({ declared: 0, overLimit: 0 });
  });

  it('lets a later webhook decide from its time on', () => {
    const player = new Player();
    declare(player, all([1]), T0);
    player.play(componentUpdate(1, 'major_outage', T0 + 100), T0 + 101);
    expect(readings(player, 1, T0 + 400).seconds).toEqual({ major_outage: 300, operational: 100 });
    expect(readings(player, 1, T0 + 400).sinceMs).toBe(toMs(T0));
  });

  it('books a first update older than the declaration, arriving after it, as if it had arrived first (sinceMs moves back)', () => {
    const createdAt = T0 - 3 * 3600;
    const declaredFirst = new Player();
    declare(declaredFirst, all([1]), T0);
    expect(declaredFirst.play(componentUpdate(1, 'partial_outage', createdAt), T0 + 10).outcome).toBe('applied');
    const eventFirst = new Player();
    eventFirst.play(componentUpdate(1, 'partial_outage', createdAt), T0 - 10);
    declare(eventFirst, all([1]), T0);
    const now = T0 + 3600;
    expect(readings(declaredFirst, 1, now)).toEqual(readings(eventFirst, 1, now));
    expect(readings(declaredFirst, 1, now)).toMatchObject({ sinceMs: toMs(createdAt), seconds: { partial_outage: 4 * 3600 } });
  });

  it('books an incident older than the declaration, arriving after it, from its own times, as if it had arrived first', () => {
    const start = T0 - 2 * 3600;
    const created = incident('incident_created', 1, start, [affects(1, 'partial_outage'), affects(2, 'major_outage')], { startAt: start });
    const finished = incident('incident_finished', 1, start + 1800, [affects(1, 'partial_outage')], { startAt: start, endAt: start + 1800 });
    const now = T0 + 3600;
    // Finished before the declaration: component 1 was in partial outage for 30 minutes, 2 in major.
    const declaredFirst = new Player();
    declare(declaredFirst, all([1, 2]), T0);
    declaredFirst.play(created, T0 + 10);
    declaredFirst.play(finished, T0 + 20);
    const eventsFirst = new Player();
    eventsFirst.play(created, start + 1);
    eventsFirst.play(finished, start + 1801);
    declare(eventsFirst, all([1, 2]), T0);
    for (const n of [1, 2]) expect(readings(declaredFirst, n, now), `component ${n}`).toEqual(readings(eventsFirst, n, now));
    expect(readings(declaredFirst, 1, now)).toMatchObject({ sinceMs: toMs(start), seconds: { partial_outage: 1800 } });
    // Still going on: its outage counts from its start, not from the declaration.
    const ongoing = new Player();
    declare(ongoing, all([3]), T0);
    ongoing.play(incident('incident_created', 2, start, [affects(3, 'major_outage')], { startAt: start, deliveryAttempt: 1 }), T0 + 10);
    expect(readings(ongoing, 3, now)).toMatchObject({ sinceMs: toMs(start), seconds: { major_outage: 3 * 3600 } });
  });

  it('books a history whose first event leaves the component as it was (a maintenance scheduled) from its own times, as if it had arrived first', () => {
    // A day before the declaration: scheduled at 07:00, in maintenance 08:00-10:00, degraded by an incident 09:00-11:00.
    const t = (hour: number) => T0 - 86_400 + hour * 3600;
    const window = { startAt: t(8), endAt: t(10) };
    const history = [
      maintenance('maintenance_created', 1, t(7), [affects(1, 'under_maintenance')], window),
      maintenance('maintenance_started', 1, t(8), [affects(1, 'under_maintenance')], window),
      incident('incident_created', 2, t(9), [affects(1, 'degraded_performance')], { startAt: t(9) }),
      maintenance('maintenance_finished', 1, t(10), [affects(1, 'operational')], window),
      incident('incident_finished', 2, t(11), [affects(1, 'operational')], { startAt: t(9), endAt: t(11) }),
    ];
    const now = T0 + 3600;
    // Declared as the exporter declares: the file's records, then the declaration in the log.
    const declaredFirst = new Player();
    applyPatch(declaredFirst.state, inventoryPatch(declaredFirst.state, declared, T0));
    declare(declaredFirst, all([1]), T0);
    history.forEach((event, n) => declaredFirst.play(event, T0 + 10 + n));
    const eventsFirst = new Player();
    history.forEach((event) => eventsFirst.play(event, (event.createdAt ?? T0) + 1));
    declare(eventsFirst, all([1]), T0);
    expect(readings(declaredFirst, 1, now)).toEqual(readings(eventsFirst, 1, now));
    expect(readings(declaredFirst, 1, now)).toMatchObject({ sinceMs: toMs(t(7)), seconds: { under_maintenance: 3600, degraded_performance: 7200 } });
  });

  it('books a backlog of updates older than the declaration, arriving after it, from their own times, as without it', () => {
    const times = [T0 - 86_400 * 20, T0 - 86_400 * 10 + 300, T0 - 86_400 * 10 + 2_820, T0 - 3600];
    const impacts = ['operational', 'major_outage', 'operational', 'degraded_performance'];
    const replay = (player: Player) => times.forEach((at, i) => player.play(componentUpdate(1, impacts[i] as string, at), T0 + 10 + i));
    const declaredFirst = new Player();
    declare(declaredFirst, all([1]), T0);
    replay(declaredFirst);
    const never = new Player();
    replay(never);
    expect(encodeLedger(declaredFirst.state.ledger)).toEqual(encodeLedger(never.state.ledger));
    expect(readings(declaredFirst, 1, T0 + 60).seconds).toMatchObject({ major_outage: 2_520, degraded_performance: 3_660 });
  });

  it('keeps a declared component counted without gap or overlap when older updates arrive late', () => {
    const player = new Player();
    declare(player, all([1]), T0);
    player.play(componentUpdate(1, 'major_outage', T0 + 600), T0 + 601);
    // Stale in the state (older than the update above): the ledger re-books from its time.
    expect(player.play(componentUpdate(1, 'degraded_performance', T0 + 300), T0 + 700).outcome).toBe('stale');
    // Older than the declaration: known from its time on, and what it says overrides the
    // declaration's assumption (operational) until the next update, as in any order of arrival.
    expect(player.play(componentUpdate(1, 'partial_outage', T0 - 200), T0 + 800).outcome).toBe('stale');
    const now = T0 + 1000;
    const { sinceMs, seconds } = readings(player, 1, now);
    expect(sinceMs).toBe(toMs(T0 - 200));
    expect(seconds).toEqual({ degraded_performance: 300, major_outage: 400, partial_outage: 500 });
    expect(Object.values(seconds).reduce((a, b) => a + b, 0)).toBe(now - sinceMs / 1000);
    // A declaration after all that still changes nothing.
    const ledger = JSON.stringify(encodeLedger(player.state.ledger));
    expect(declare(player, all([1]), T0 + 900)).toBe(0);
    expect(JSON.stringify(encodeLedger(player.state.ledger))).toBe(ledger);
  });

  it('is kept in the snapshot, without the overlay records, and read back', () => {
    const player = new Player();
    applyPatch(player.state, inventoryPatch(player.state, declared, T0));
    const overlaid = new Set<object>([...(player.state.pages.get(PAGE)?.components.values() ?? []), player.page().stats]);
    declare(player, all([1, 2]), T0 + 5);
    const data = encodeSnapshot(player.state, (record) => !overlaid.has(record));
    const parsed = decodeSnapshot(String(SNAPSHOT_FORMAT), data);
    if (parsed.kind !== 'state') throw new Error(`not a snapshot: ${JSON.stringify(parsed)}`);
    expect(parsed.state.componentCount).toBe(0);
    expect(encodeLedger(parsed.state.ledger)).toEqual(encodeLedger(player.state.ledger));
    expect(undeclaredComponents(parsed.state, declared)).toEqual([]);
  });

  it('survives a withdrawal of memory-only records (keepLedger), not an operator’s forget', () => {
    const player = new Player();
    declare(player, all([1, 2]), T0);
    const withdraw = emptyPatch();
    withdraw.deleteComponents.push({ statusPage: PAGE, uuid: uuid(1) });
    withdraw.deletePages.push(PAGE);
    withdraw.keepLedger = true;
    applyPatch(player.state, withdraw);
    expect(ledgerOf(player.state.ledger, PAGE, uuid(1))).toBeDefined();
    expect(ledgerOf(player.state.ledger, PAGE, uuid(2))).toBeDefined();
    const forget = emptyPatch();
    forget.deleteComponents.push({ statusPage: PAGE, uuid: uuid(1) });
    applyPatch(player.state, forget);
    expect(ledgerOf(player.state.ledger, PAGE, uuid(1))).toBeUndefined();
  });
});
