import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { applyPatch, createState } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { decodeEntry, encodeEntry, encodeForget } from '../../src/log/entry.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { idBefore, redisKeys } from '../../src/store/redis-format.js';
import { affects, componentUpdate, incident, T0 } from '../support/events.js';

// What every store writes and reads back, without a store: the entry and snapshot formats, and
// the Redis key layout.

describe('the log formats', () => {
  it('puts every key under one hash tag, from the prefix or the tag it already holds', () => {
    expect(redisKeys('statusmate:')).toEqual({
      log: '{statusmate}:log',
      snapshot: '{statusmate}:snapshot',
      trimmed: '{statusmate}:trimmed',
      epoch: '{statusmate}:epoch',
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
      entry: { origin: 'r1:7', event, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
  });

  it('writes the entry fields that Redis logs of the previous release hold, so they fold after an upgrade', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    expect(Object.keys(encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600))).toEqual(['v', 'o', 'e', 'l', 'r']);
    expect(encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600).v).toBe('1');
  });

  it('writes events as format 1 and forgets as format 2, and reads both', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    expect(encodeEntry('r1:7', event, DEFAULT_LIMITS, 3600).v).toBe('1');
    const target = { kind: 'component', statusPage: 'shop', uuid: '88337a51-852b-48f3-ac8d-840e5f5326a0' } as const;
    const fields = encodeForget('r1:8', target, DEFAULT_LIMITS, 3600);
    expect(fields.v).toBe('2');
    expect(decodeEntry(fields)).toEqual({ kind: 'forget', entry: { origin: 'r1:8', target, limits: { ...DEFAULT_LIMITS }, retentionSeconds: 3600 } });
  });

  it.each([
    [['v', '3', 'e', '{}'], { kind: 'newer', format: '3' }],
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
    expect(JSON.parse(encodeSnapshot(parsed.state))).toEqual(JSON.parse(data));
  });

  it('refuses a snapshot of a newer format, and one it cannot read', () => {
    expect(decodeSnapshot('3', '{}')).toEqual({ kind: 'newer', format: '3' });
    expect(decodeSnapshot('1', '{"pages":[]}')).toMatchObject({ kind: 'invalid' });
    expect(decodeSnapshot('1', 'not json')).toMatchObject({ kind: 'invalid' });
    expect(decodeSnapshot('x', '{}')).toMatchObject({ kind: 'invalid' });
  });
});
