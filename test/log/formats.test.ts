import {
  ALERT_RULES,
  ARRIVAL_RUNS_ALERT_RULES,
  ARRIVAL_TIES_RULES,
  CLEARS_BEFORE_OWN_START_RULES,
  CREATE_AFTER_START_KEPT_RULES,
  START_AT_BY_RECEIPT_RULES,
  FINISH_START_KEPT_RULES,
  ENDED_BY_COUNT_ALERT_RULES,
  FOLD_RULES,
  FOLDED_BEFORE_UNHELD_RULES,
  LATE_HELD_RULES,
  RUNS_BY_TIMES_ALERT_RULES,
  STALE_KEEPS_DECLARATION_RULES,
  TYPE_TIES_RULES,
} from '../../src/domain/fold-rules.js';
import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { applyPatch, createState } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { DEFAULT_ALERT_LIMITS, type StoredAlert } from '../../src/domain/alert-state.js';
import { foldAlerts } from '../../src/domain/alerts.js';
import { decodeEntry, encodeAlerts, encodeDeclare, encodeEntry, encodeForget, ENTRY_FORMAT, MAX_DECLARED_PER_ENTRY } from '../../src/log/entry.js';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotPieces, SNAPSHOT_FORMAT, snapshotLength } from '../../src/log/snapshot.js';
import { idBefore, redisKeys } from '../../src/store/redis-format.js';
import { affects, componentUpdate, incident, T0 } from '../support/events.js';
import { formatTwoOf, kindsOf, linesOf, type FormatTwo } from '../support/snapshot-format.js';

// What every store writes and reads back, without a store: the entry and snapshot formats, and
// the Redis key layout.

describe('the log formats', () => {
  it('puts every key under one hash tag, from the prefix or the tag it already holds', () => {
    expect(redisKeys('statusmate:')).toEqual({
      log: '{statusmate}:log',
      snapshot: '{statusmate}:snapshot',
      snapshotPieces: '{statusmate}:snapshot:pieces:',
      trimmed: '{statusmate}:trimmed',
      epoch: '{statusmate}:epoch',
      lost: '{statusmate}:lost',
      owner: '{statusmate}:owner',
      probe: '{statusmate}:probe',
      lease: '{statusmate}:lease:',
    });
    expect(redisKeys('team-a:statusmate:').log).toBe('{team-a:statusmate}:log');
    expect(redisKeys('{shared}:sm:').log).toBe('{shared}:sm:log');
  });

  it('orders stream ids by time, then sequence, as Redis does', () => {
    expect(idBefore('1-0', '1-1')).toBe(true);
    expect(idBefore('9-5', '10-0')).toBe(true);
    expect(idBefore('10-0', '9-5')).toBe(false);
    expect(idBefore('5-5', '5-5')).toBe(false);
  });

  it('reads back an entry as written', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    expect(decodeEntry(encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600))).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:7', event, rules: FOLD_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
  });

  it('reads the event entries of the releases before format 5 (format 1), to fold with ties by arrival as they did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600);
    // The same fields as format 1's: only the version differs.
    expect(Object.keys(fields)).toEqual(['v', 'o', 'e', 'l', 'r']);
    expect(decodeEntry({ ...fields, v: '1' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:7', event, rules: ARRIVAL_TIES_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
  });

  it('reads the event entries of the release before format 6 (format 5), to fold with ties by type and without lateHeld, as it did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600);
    expect(decodeEntry({ ...fields, v: '5' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:7', event, rules: TYPE_TIES_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
    expect(TYPE_TIES_RULES).toEqual({
      ties: 'type',
      lateHeld: false,
      clearsBeforeOwnStart: false,
      pageChangesByTheirTimes: false,
      redatesRestartedRecord: false,
      staleFinishKnows: false,
      staleReplacesDeclaration: false,
      foldedBeforeHeld: false,
      lateKeepsEarlierLastChange: false,
      clearedKeepsTimedStart: false,
      olderCreateStartsIncident: false,
      startAtJudgedByItsEvent: false,
      createStartsFinishedFirst: false,
    });
  });

  it('reads the event entries of the release before format 7 (format 6), to fold with lateHeld and without clearsBeforeOwnStart, as it did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600);
    expect(decodeEntry({ ...fields, v: '6' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:7', event, rules: LATE_HELD_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
    expect(LATE_HELD_RULES).toEqual({
      ties: 'type',
      lateHeld: true,
      clearsBeforeOwnStart: false,
      pageChangesByTheirTimes: false,
      redatesRestartedRecord: false,
      staleFinishKnows: false,
      staleReplacesDeclaration: false,
      foldedBeforeHeld: false,
      lateKeepsEarlierLastChange: false,
      clearedKeepsTimedStart: false,
      olderCreateStartsIncident: false,
      startAtJudgedByItsEvent: false,
      createStartsFinishedFirst: false,
    });
  });

  it('reads the event entries of the release before format 9 (format 7), to fold with clearsBeforeOwnStart and without pageChangesByTheirTimes, as it did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600);
    expect(decodeEntry({ ...fields, v: '7' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:7', event, rules: CLEARS_BEFORE_OWN_START_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
    expect(CLEARS_BEFORE_OWN_START_RULES).toEqual({
      ties: 'type',
      lateHeld: true,
      clearsBeforeOwnStart: true,
      pageChangesByTheirTimes: false,
      redatesRestartedRecord: false,
      staleFinishKnows: false,
      staleReplacesDeclaration: false,
      foldedBeforeHeld: false,
      lateKeepsEarlierLastChange: false,
      clearedKeepsTimedStart: false,
      olderCreateStartsIncident: false,
      startAtJudgedByItsEvent: false,
      createStartsFinishedFirst: false,
    });
  });

  it('reads the event entries of the release before format 11 (format 9), to fold without staleReplacesDeclaration, as it did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:9', event, DEFAULT_LIMITS, 3600);
    expect(decodeEntry({ ...fields, v: '9' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:9', event, rules: STALE_KEEPS_DECLARATION_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
    expect(STALE_KEEPS_DECLARATION_RULES).toEqual({
      ties: 'type',
      lateHeld: true,
      clearsBeforeOwnStart: true,
      pageChangesByTheirTimes: true,
      redatesRestartedRecord: true,
      staleFinishKnows: true,
      staleReplacesDeclaration: false,
      foldedBeforeHeld: false,
      lateKeepsEarlierLastChange: false,
      clearedKeepsTimedStart: false,
      olderCreateStartsIncident: false,
      startAtJudgedByItsEvent: false,
      createStartsFinishedFirst: false,
    });
  });

  it('reads the event entries of the release before format 12 (format 11), to fold without foldedBeforeHeld, lateKeepsEarlierLastChange and clearedKeepsTimedStart, as it did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:11', event, DEFAULT_LIMITS, 3600);
    expect(decodeEntry({ ...fields, v: '11' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:11', event, rules: FOLDED_BEFORE_UNHELD_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
    expect(FOLDED_BEFORE_UNHELD_RULES).toEqual({
      ties: 'type',
      lateHeld: true,
      clearsBeforeOwnStart: true,
      pageChangesByTheirTimes: true,
      redatesRestartedRecord: true,
      staleFinishKnows: true,
      staleReplacesDeclaration: true,
      foldedBeforeHeld: false,
      lateKeepsEarlierLastChange: false,
      clearedKeepsTimedStart: false,
      olderCreateStartsIncident: false,
      startAtJudgedByItsEvent: false,
      createStartsFinishedFirst: false,
    });
  });

  it('reads the event entries of the release before format 13 (format 12), to fold without olderCreateStartsIncident, as it did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:12', event, DEFAULT_LIMITS, 3600);
    expect(decodeEntry({ ...fields, v: '12' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:12', event, rules: CREATE_AFTER_START_KEPT_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
    expect(CREATE_AFTER_START_KEPT_RULES).toEqual({ ...START_AT_BY_RECEIPT_RULES, olderCreateStartsIncident: false });
    expect(FOLD_RULES).toEqual({
      ties: 'type',
      lateHeld: true,
      clearsBeforeOwnStart: true,
      pageChangesByTheirTimes: true,
      redatesRestartedRecord: true,
      staleFinishKnows: true,
      staleReplacesDeclaration: true,
      foldedBeforeHeld: true,
      lateKeepsEarlierLastChange: true,
      clearedKeepsTimedStart: true,
      olderCreateStartsIncident: true,
      startAtJudgedByItsEvent: true,
      createStartsFinishedFirst: true,
    });
  });

  it('reads the event entries of the release before format 16 (format 13), to fold without startAtJudgedByItsEvent, as it did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:13', event, DEFAULT_LIMITS, 3600);
    expect(decodeEntry({ ...fields, v: '13' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:13', event, rules: START_AT_BY_RECEIPT_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
    expect(START_AT_BY_RECEIPT_RULES).toEqual({ ...FINISH_START_KEPT_RULES, startAtJudgedByItsEvent: false });
    expect(FOLD_RULES.startAtJudgedByItsEvent).toBe(true);
  });

  it('reads the event entries of the release before format 17 (format 16), to fold without createStartsFinishedFirst, as it did', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:16', event, DEFAULT_LIMITS, 3600);
    expect(decodeEntry({ ...fields, v: '16' })).toEqual({
      kind: 'entry',
      entry: { origin: 'r1:16', event, rules: FINISH_START_KEPT_RULES, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
    expect(FINISH_START_KEPT_RULES).toEqual({ ...FOLD_RULES, createStartsFinishedFirst: false });
    expect(FOLD_RULES.createStartsFinishedFirst).toBe(true);
  });

  it('knows every format a release has written, 1 to the newest: none is read as garbage and skipped', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const fields = encodeEntry('r1:1', event, DEFAULT_LIMITS, 3600);
    for (let format = 1; format <= ENTRY_FORMAT; format += 1) {
      const parsed = decodeEntry({ ...fields, v: String(format) });
      expect([format, parsed.kind === 'invalid' ? parsed.problem : 'known']).not.toEqual([format, `unknown entry format "${format}"`]);
    }
    expect(decodeEntry({ ...fields, v: String(ENTRY_FORMAT + 1) }).kind).toBe('newer');
  });

  it('writes events as format 17 and forgets as format 15, and reads both; forgets of format 2 by their own rules', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    expect(encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600).v).toBe('17');
    const target = { kind: 'component', statusPage: 'shop', uuid: '88337a51-852b-48f3-ac8d-840e5f5326a0' } as const;
    const fields = encodeForget('r1:8', target, DEFAULT_LIMITS, 3600);
    expect(fields.v).toBe('15');
    expect(decodeEntry(fields)).toEqual({
      kind: 'forget',
      entry: { origin: 'r1:8', target, rules: { ledgerOnly: true }, limits: { ...DEFAULT_LIMITS }, retentionSeconds: 3600 },
    });
    expect(decodeEntry({ ...fields, v: '2' })).toEqual({
      kind: 'forget',
      entry: { origin: 'r1:8', target, rules: { ledgerOnly: false }, limits: { ...DEFAULT_LIMITS }, retentionSeconds: 3600 },
    });
  });

  it('writes alerts as format 14, each with the components the appender matched, and reads them back; formats 10, 8 and 3 by their own rules', () => {
    const alerts: StoredAlert[] = [
      { fingerprint: 'a1b2c3d4e5f60718', status: 'firing', startsAt: T0, endsAt: null, components: [['shop', 'checkout']] },
      { fingerprint: '0718a1b2c3d4e5f6', status: 'resolved', startsAt: T0 - 60, endsAt: T0, components: [] },
    ];
    const limits = { ...DEFAULT_LIMITS, ...DEFAULT_ALERT_LIMITS };
    const fields = encodeAlerts('r1:9', alerts, limits, 3600);
    expect(fields.v).toBe('14');
    expect(fields.k).toBe('alerts');
    expect(decodeEntry(fields)).toEqual({ kind: 'alerts', entry: { origin: 'r1:9', alerts, rules: ALERT_RULES, limits, retentionSeconds: 3600 } });
    // The appender's bound of the ended intervals travels with the entry, as its other limits do.
    expect(JSON.parse(fields.l as string)).toMatchObject({ maxEndedIntervalBytes: DEFAULT_ALERT_LIMITS.maxEndedIntervalBytes });
    // Entries the releases before appended: the ended intervals bounded by their count a record
    // only (format 10), the recovery from what the page showed at the run's last resolution
    // (format 8), runs as the notifications arrived (format 3), as they folded them.
    expect(decodeEntry({ ...fields, v: '10' })).toEqual({
      kind: 'alerts',
      entry: { origin: 'r1:9', alerts, rules: ENDED_BY_COUNT_ALERT_RULES, limits, retentionSeconds: 3600 },
    });
    expect(ENDED_BY_COUNT_ALERT_RULES).toEqual({ ...ALERT_RULES, endedIntervalsBoundedByBytes: false });
    expect(ALERT_RULES).toEqual({
      runsByTimes: true,
      sinceLastChangeOfImpact: true,
      recoveryByHistory: true,
      runsSplitAtGaps: true,
      closedRunOutlivesNextRun: true,
      endedIntervalsBoundedByBytes: true,
    });
    expect(decodeEntry({ ...fields, v: '8' })).toEqual({
      kind: 'alerts',
      entry: { origin: 'r1:9', alerts, rules: RUNS_BY_TIMES_ALERT_RULES, limits, retentionSeconds: 3600 },
    });
    expect(decodeEntry({ ...fields, v: '3' })).toEqual({
      kind: 'alerts',
      entry: { origin: 'r1:9', alerts, rules: ARRIVAL_RUNS_ALERT_RULES, limits, retentionSeconds: 3600 },
    });
  });

  it.each([
    ['14', ALERT_RULES],
    ['10', ENDED_BY_COUNT_ALERT_RULES],
    ['8', RUNS_BY_TIMES_ALERT_RULES],
    ['3', ARRIVAL_RUNS_ALERT_RULES],
  ] as const)(
    'folds an alert the appender matched to no component alike under format %s: it lets go of one held, and is nothing otherwise (no format of its own)',
    (_format, rules) => {
      const state = createState();
      const operational = () => ({ impact: 'operational', since: null });
      const held: StoredAlert = { fingerprint: 'a1', status: 'firing', startsAt: T0, endsAt: null, components: [['shop', 'checkout']] };
      foldAlerts(state.alerts, [held], T0 + 10, DEFAULT_ALERT_LIMITS, operational, rules);
      const unmatched = (fingerprint: string): StoredAlert => ({ fingerprint, status: 'resolved', startsAt: T0, endsAt: T0 + 50, components: [] });
      const before = JSON.stringify([...state.alerts.components.entries()].map(([key, record]) => [key, [...record.firing]]));
      expect(foldAlerts(state.alerts, [unmatched('b2')], T0 + 60, DEFAULT_ALERT_LIMITS, operational, rules)).toEqual({ held: 0, refused: 0, unmatched: 1 });
      expect(JSON.stringify([...state.alerts.components.entries()].map(([key, record]) => [key, [...record.firing]]))).toBe(before);
      expect(foldAlerts(state.alerts, [unmatched('a1')], T0 + 70, DEFAULT_ALERT_LIMITS, operational, rules)).toEqual({ held: 0, refused: 0, unmatched: 0 });
      expect(state.alerts.pairs).toBe(0);
      expect(state.alerts.byFingerprint.has('a1')).toBe(false);
    },
  );

  it('writes declarations as format 4, per page its component uuids, and reads them back', () => {
    const declarations = [
      { statusPage: 'shop', uuids: ['88337a51-852b-48f3-ac8d-840e5f5326a0', '0935e96c-34b6-46e8-82cb-def6d3d74d9c'] },
      { statusPage: 'blog', uuids: ['e2b1a7c4-5d3f-4a8e-9b6c-1f2d3e4a5b6c'] },
    ];
    const fields = encodeDeclare('r1:10', declarations, DEFAULT_LIMITS, 3600);
    expect(fields.v).toBe('4');
    expect(fields.k).toBe('declare');
    expect(decodeEntry(fields)).toEqual({ kind: 'declare', entry: { origin: 'r1:10', declarations, limits: { ...DEFAULT_LIMITS }, retentionSeconds: 3600 } });
  });

  it('refuses a declaration naming more components than one entry holds', () => {
    const uuids = Array.from({ length: MAX_DECLARED_PER_ENTRY + 1 }, (_, i) => `u${i}`);
    expect(decodeEntry(encodeDeclare('r1:11', [{ statusPage: 'shop', uuids }], DEFAULT_LIMITS, 3600))).toMatchObject({ kind: 'invalid' });
    expect(decodeEntry(encodeDeclare('r1:11', [{ statusPage: 'shop', uuids: uuids.slice(1) }], DEFAULT_LIMITS, 3600))).toMatchObject({ kind: 'declare' });
  });

  it.each([
    [['v', String(ENTRY_FORMAT + 1), 'e', '{}'], { kind: 'newer', format: String(ENTRY_FORMAT + 1) }],
    [['v', '9', 'k', 'alerts', 'o', 'x', 'a', '[]', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '8', 'k', 'alerts', 'o', 'x', 'a', '[["f","burning",null,null,[]]]', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '4', 'k', 'declare', 'o', 'x', 'd', '[["shop",[]]]', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '4', 'k', 'declare', 'o', 'x', 'd', '{"shop":["u"]}', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '4', 'k', 'alerts', 'o', 'x', 'd', '[["shop",["u"]]]', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '3', 'k', 'alerts', 'o', 'x', 'a', '[["f","burning",null,null,[]]]', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '3', 'k', 'other', 'o', 'x', 'a', '[]', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '2', 'k', 'other', 'o', 'x', 'f', '{}', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '2', 'k', 'forget', 'o', 'x', 'f', '{"kind":"component","statusPage":"p"}', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '1', 'o', 'x', 'e', '{"type":"incident_created"}', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '1', 'o', 'x', 'e', 'not json', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['x', 'y'], { kind: 'invalid' }],
  ])('tells a newer format (refuse) from a broken entry (skip): %j', (fields, expected) => {
    const map: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i] as string] = fields[i + 1] as string;
    expect(decodeEntry(map)).toMatchObject(expected);
  });

  it('restores from a snapshot the state it was taken of, its stamps included', () => {
    const state = createState();
    for (const event of [
      componentUpdate(1, 'major_outage', T0),
      incident('incident_created', 1, T0 + 1, [affects(2, 'partial_outage')]),
      componentUpdate(3, 'operational', null),
    ]) {
      applyPatch(state, reduce(state, event, dedupKey(event), T0 + 10, DEFAULT_LIMITS).patch);
    }
    const data = encodeSnapshot(state);
    const parsed = decodeSnapshot(String(SNAPSHOT_FORMAT), data);
    if (parsed.kind !== 'state') throw new Error(`not a snapshot: ${JSON.stringify(parsed)}`);
    expect(parsed.state.lastSeq).toBe(state.lastSeq);
    expect(parsed.state.componentCount).toBe(state.componentCount);
    expect([...parsed.state.seen]).toEqual([...state.seen]);
    // Every record as it was (the record schemas may order keys differently).
    expect(linesOf(encodeSnapshot(parsed.state))).toEqual(linesOf(data));
  });

  it('cuts the text into pieces of whole lines, no longer than asked but for a longer line, which read back as the one text', () => {
    const state = busyState(300);
    const whole = encodeSnapshot(state);
    const pieces = encodeSnapshotPieces(state, () => true, 4_096);
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.join('\n')).toBe(whole);
    expect(snapshotLength(pieces)).toBe(whole.length);
    const longest = Math.max(...whole.split('\n').map((line) => line.length));
    for (const piece of pieces) {
      expect(piece.length <= 4_096 || !piece.includes('\n')).toBe(true);
      expect(piece.length).toBeLessThanOrEqual(Math.max(4_096, longest));
      // Whole lines: each piece's lines are JSON on their own.
      for (const line of piece.split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
    }
    // A bad line is named by its number in the whole text, whichever piece holds it.
    const spoiled = [...pieces];
    spoiled[3] = `${spoiled[3] ?? ''}\n["ledger", 5]`;
    const at = pieces.slice(0, 4).reduce((lines, piece) => lines + piece.split('\n').length, 0) + 1;
    expect(decodeSnapshot(String(SNAPSHOT_FORMAT), spoiled)).toEqual({ kind: 'invalid', problem: expect.stringContaining(`line ${at}`) });
    const parsed = decodeSnapshot(String(SNAPSHOT_FORMAT), pieces);
    if (parsed.kind !== 'state') throw new Error(`not a snapshot: ${JSON.stringify(parsed)}`);
    expect(linesOf(encodeSnapshot(parsed.state))).toEqual(linesOf(whole));
    // The pieces are given up as they are read: none is left whole beside the state.
    expect(pieces.every((piece) => piece === '')).toBe(true);
  });

  it('writes one JSON value a line: a header, then records, keys, touches, alerts, and the ledger last', () => {
    const state = busyState(2_500);
    const lines = linesOf(encodeSnapshot(state));
    expect(lines[0]).toEqual({ lastSeq: state.lastSeq, keptFromDay: state.ledger.keptFromDay });
    const kinds = lines.slice(1).map((line) => (line as [string, unknown])[0]);
    // The dedup keys in lines of at most 1,000; the ledger's components, one a line, last.
    expect(kinds.filter((kind) => kind === 'seen').length).toBe(Math.ceil(state.seen.size / 1000));
    expect(kinds.filter((kind) => kind === 'ledger').length).toBe(2_500);
    expect(kinds.indexOf('ledger')).toBe(kinds.length - 2_500);
    expect(new Set(kinds)).toEqual(new Set(['page', 'component', 'incident', 'seen', 'touch', 'ledger']));
  });

  it('reads a format 2 snapshot (one JSON document) as the same state as format 3', () => {
    const state = busyState(50);
    const three = encodeSnapshot(state);
    const parsed = decodeSnapshot('2', JSON.stringify(formatTwoOf(three)));
    if (parsed.kind !== 'state') throw new Error(`not a snapshot: ${JSON.stringify(parsed)}`);
    // The same lines (the record schemas may order keys differently).
    expect(linesOf(encodeSnapshot(parsed.state))).toEqual(linesOf(three));
  });

  it('writes alerts into the snapshot only when some are held, and restores them', () => {
    const state = createState();
    const event = componentUpdate(1, 'major_outage', T0);
    applyPatch(state, reduce(state, event, dedupKey(event), T0 + 10, DEFAULT_LIMITS).patch);
    expect(kindsOf(encodeSnapshot(state))).not.toContain('alerts');
    foldAlerts(
      state.alerts,
      [{ fingerprint: 'f1', status: 'firing', startsAt: T0, endsAt: null, components: [['shop', 'checkout']] }],
      T0,
      DEFAULT_ALERT_LIMITS,
      () => ({ impact: 'operational', since: null }),
    );
    expect(kindsOf(encodeSnapshot(state))).toContain('alerts');
    const parsed = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(state));
    if (parsed.kind !== 'state') throw new Error(`not a snapshot: ${JSON.stringify(parsed)}`);
    expect(parsed.state.alerts).toEqual(state.alerts);
  });

  it('reads a format 1 snapshot (written before the ledger and alerts) as a state without alerts', () => {
    const state = createState();
    const event = componentUpdate(1, 'major_outage', T0);
    applyPatch(state, reduce(state, event, dedupKey(event), T0 + 10, DEFAULT_LIMITS).patch);
    const { ledger: _ledger, ...formatOne } = formatTwoOf(encodeSnapshot(state));
    const parsed = decodeSnapshot('1', JSON.stringify(formatOne));
    if (parsed.kind !== 'state') throw new Error(`not a snapshot: ${JSON.stringify(parsed)}`);
    expect(parsed.state.componentCount).toBe(1);
    expect(parsed.state.alerts.components.size).toBe(0);
  });

  it('refuses a snapshot of a newer format, and one it cannot read', () => {
    expect(decodeSnapshot('6', '{}')).toEqual({ kind: 'newer', format: '6' });
    expect(decodeSnapshot('1', '{"pages":[]}')).toMatchObject({ kind: 'invalid' });
    expect(decodeSnapshot('1', 'not json')).toMatchObject({ kind: 'invalid' });
    expect(decodeSnapshot('3', '')).toMatchObject({ kind: 'invalid' });
    expect(decodeSnapshot('3', '{}')).toMatchObject({ kind: 'invalid' });
    expect(decodeSnapshot('x', '{}')).toMatchObject({ kind: 'invalid' });
  });

  it('names the line of a format 3 snapshot it cannot read, and refuses the whole snapshot', () => {
    const good = encodeSnapshot(busyState(3));
    const lines = good.split('\n');
    const spoil = (index: number, line: string) => lines.map((kept, i) => (i === index ? line : kept)).join('\n');
    const ledgerAt = lines.findIndex((line) => line.startsWith('["ledger"'));
    const componentAt = lines.findIndex((line) => line.startsWith('["component"'));
    const invalid = (text: string) => {
      const decoded = decodeSnapshot('3', text);
      return decoded.kind === 'invalid' ? decoded.problem : `read as ${decoded.kind}`;
    };
    expect(invalid(spoil(ledgerAt + 2, lines[ledgerAt + 2]!.replace('"operational"', '7').replace('"major_outage"', '7')))).toMatch(
      new RegExp(`^snapshot data: line ${ledgerAt + 3} \\(ledger\\): `),
    );
    expect(invalid(spoil(componentAt, '["component",{"uuid":5}]'))).toMatch(new RegExp(`^snapshot data: line ${componentAt + 1} \\(component\\): `));
    expect(invalid(spoil(1, '["weather",{}]'))).toBe('snapshot data: line 2: not a [kind, value] pair of a known kind');
    expect(invalid(spoil(2, '{not json'))).toBe('snapshot data: line 3: not JSON');
    expect(invalid(spoil(0, '{"lastSeq":-1,"keptFromDay":0}'))).toMatch(/^snapshot data: line 1 \(header\): lastSeq /);
    expect(invalid(`${good}\n["page",${JSON.stringify(linesOf(good).find((line) => (line as unknown[])[0] === 'page')![1 as never])}]`)).toMatch(
      /a page line after the ledger's components$/,
    );
    expect(invalid(good)).toBe('read as state');
  });

  it('names the element of a large array that a format 2 snapshot cannot read, whichever array it is in', () => {
    // The large arrays are checked element by element (checkedInPlace); a bad element deep in
    // one must still refuse the whole snapshot and say where it is.
    const good = formatTwoOf(encodeSnapshot(busyState(3)));
    const spoil = (change: (data: FormatTwo) => void): string => {
      const data = structuredClone(good);
      change(data);
      return JSON.stringify(data);
    };
    expect(
      decodeSnapshot(
        '2',
        spoil((d) => (d.ledger.components[2]![3] = 7)),
      ),
    ).toEqual({
      kind: 'invalid',
      problem: expect.stringMatching(/^snapshot data: ledger\.components\.2\.3 /) as unknown,
    });
    expect(
      decodeSnapshot(
        '2',
        spoil((d) => ((d.components[1] as Record<string, unknown>).uuid = 5)),
      ),
    ).toEqual({
      kind: 'invalid',
      problem: expect.stringMatching(/^snapshot data: components\.1\.uuid /) as unknown,
    });
    expect(
      decodeSnapshot(
        '2',
        spoil((d) => (d.seen[2] = ['k'] as unknown as [string, number])),
      ),
    ).toEqual({
      kind: 'invalid',
      problem: expect.stringMatching(/^snapshot data: seen\.2/) as unknown,
    });
    expect(
      decodeSnapshot(
        '2',
        spoil((d) => ((d as unknown as Record<string, unknown>).incidents = {})),
      ),
    ).toMatchObject({ kind: 'invalid' });
    // Unspoilt, the same data reads back as the state it was taken of.
    const parsed = decodeSnapshot('2', JSON.stringify(good));
    if (parsed.kind !== 'state') throw new Error(`not a snapshot: ${JSON.stringify(parsed)}`);
    expect(formatTwoOf(encodeSnapshot(parsed.state))).toEqual(good);
  });
});

/** A state of `components` components, each changed a few times, with an incident over some of them. */
function busyState(components: number) {
  const state = createState();
  const fold = (event: StatusMateEvent) => applyPatch(state, reduce(state, event, dedupKey(event), T0 + 100_000, DEFAULT_LIMITS).patch);
  const impacts = ['major_outage', 'operational', 'partial_outage'] as const;
  for (let round = 0; round < 3; round += 1) {
    for (let c = 1; c <= components; c += 1) fold(componentUpdate(c, impacts[(round + c) % 3]!, T0 + round * 10_000 + c));
  }
  fold(incident('incident_created', 1, T0 + 50_000, [affects(1, 'partial_outage'), affects(2, 'major_outage')]));
  return state;
}
