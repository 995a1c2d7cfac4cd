import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { applyPatch, createState } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { entryFields, idBefore, parseEntry, parseSnapshot, redisKeys, snapshotFields } from '../../src/store/redis-format.js';
import { affects, componentUpdate, incident, T0 } from '../support/events.js';

// What STORE=redis writes and reads back, without a Redis: the entry and snapshot formats.

describe('the Redis formats', () => {
  it('puts every key under one hash tag, from the prefix or the tag it already holds', () => {
    expect(redisKeys('statusmate:')).toEqual({ log: '{statusmate}:log', snapshot: '{statusmate}:snapshot', trimmed: '{statusmate}:trimmed' });
    expect(redisKeys('team-a:statusmate:').log).toBe('{team-a:statusmate}:log');
    expect(redisKeys('{shared}:sm:').log).toBe('{shared}:sm:log');
  });

  it('orders stream ids by time, then sequence, as Redis does', () => {
    expect(idBefore('1-0', '1-1')).toBe(true);
    expect(idBefore('9-5', '10-0')).toBe(true);
    expect(idBefore('10-0', '9-5')).toBe(false);
    expect(idBefore('5-5', '5-5')).toBe(false);
  });

  it('reads back an entry as written, with the id time as receipt time', () => {
    const event = incident('incident_created', 1, T0, [affects(1, 'major_outage')]);
    const parsed = parseEntry('1700000123456-0', entryFields('r1:7', event, DEFAULT_LIMITS, 3600));
    expect(parsed).toEqual({
      kind: 'entry',
      entry: { id: '1700000123456-0', time: 1700000123.456, origin: 'r1:7', event, limits: DEFAULT_LIMITS, retentionSeconds: 3600 },
    });
  });

  it.each([
    [['v', '2', 'e', '{}'], { kind: 'newer', format: '2' }],
    [['v', '1', 'o', 'x', 'e', '{"type":"incident_created"}', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['v', '1', 'o', 'x', 'e', 'not json', 'l', '{}', 'r', '60'], { kind: 'invalid' }],
    [['x', 'y'], { kind: 'invalid' }],
  ])('tells a newer format (refuse) from a broken entry (skip): %j', (fields, expected) => {
    expect(parseEntry('1-0', fields)).toMatchObject(expected);
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
    const fields = snapshotFields(state, { id: '5-0', time: T0 + 10 });
    const parsed = parseSnapshot({ v: fields.format, id: fields.id, t: fields.time, data: fields.data });
    if (parsed.kind !== 'snapshot') throw new Error(`not a snapshot: ${JSON.stringify(parsed)}`);
    expect(parsed.point).toEqual({ id: '5-0', time: T0 + 10 });
    expect(parsed.state.lastSeq).toBe(state.lastSeq);
    expect(parsed.state.componentCount).toBe(state.componentCount);
    expect([...parsed.state.seen]).toEqual([...state.seen]);
    // Every record as it was (the record schemas may order keys differently).
    expect(JSON.parse(snapshotFields(parsed.state, parsed.point).data)).toEqual(JSON.parse(fields.data));
  });

  it('refuses a snapshot of a newer format, and one it cannot read, and finds none in an empty hash', () => {
    expect(parseSnapshot({})).toEqual({ kind: 'none' });
    expect(parseSnapshot({ v: '3', id: '1-0', t: '0', data: '{}' })).toEqual({ kind: 'newer', format: '3' });
    expect(parseSnapshot({ v: '1', id: '1-0', t: '0', data: '{"pages":[]}' })).toMatchObject({ kind: 'invalid' });
  });
});
