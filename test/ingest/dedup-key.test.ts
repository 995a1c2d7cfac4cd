import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { decodeEntry, encodeEntry } from '../../src/log/entry.js';
import { parseWebhook } from '../../src/webhook/schema.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

function keyOf(body: unknown): string {
  const parsed = parseWebhook(body, 'main');
  if (parsed.kind !== 'event') throw new Error(`not an event: ${JSON.stringify(parsed)}`);
  return dedupKey(parsed.event);
}

const payloadEvent = (deliveryAttempt: number) => ({
  text: 'Payment API',
  meta: {
    type: 'incident_finished',
    uuid: 'AAAAAAAA-0000-4000-8000-000000000001',
    delivery_attempt: deliveryAttempt,
    payload: {
      start_at: '2026-01-01T10:00:00Z',
      end_at: '2026-01-01T10:42:00+01:00',
      affected_components: [{ impact: 'operational', component_details: { name: 'Оплата', component_uuid: 'BBBBBBBB-0000-4000-8000-0000000000C1' } }],
    },
  },
});

describe('dedup keys', () => {
  // The keys are stored with the state: a retry delivered after an upgrade must still be known
  // as a duplicate, so the key of an event may never change from one version to the next.
  it('are the same as the first stored ones, for every kind of body', () => {
    expect(keyOf(fixture('seed-incident-created.json'))).toBe('-qgUGUnwAg8WmZHdu33ymYYb5Ls7CAP3');
    expect(keyOf(fixture('seed-component-impact-updated.json'))).toBe('FG3SW7Z5XzlJbiXSg_0x9Uzz6HHJrp4w');
    expect(keyOf(fixture('seed-maintenance-created.json'))).toBe('w1TnkAtI8T08_1-UktNgRhLFQt1HcspY');
    expect(keyOf(payloadEvent(2))).toBe('QJ4RzsY8R8XYadfxMbMZX9qnsH_HcskQ');
  });

  it('ignore the delivery attempt, key order and case of uuids', () => {
    const reordered = { meta: { ...payloadEvent(0).meta, uuid: 'aaaaaaaa-0000-4000-8000-000000000001' }, text: 'Payment API' };
    expect(keyOf(payloadEvent(0))).toBe(keyOf(payloadEvent(5)));
    expect(keyOf(reordered)).toBe(keyOf(payloadEvent(2)));
  });

  it('are the same for an event decoded from a log entry as for the one parsed from its body', () => {
    for (const body of [
      fixture('seed-incident-created.json'),
      fixture('seed-component-impact-updated.json'),
      fixture('seed-maintenance-created.json'),
      payloadEvent(1),
    ]) {
      const parsed = parseWebhook(body, 'main');
      if (parsed.kind !== 'event') throw new Error('not an event');
      const decoded = decodeEntry(encodeEntry('test:1', parsed.event, DEFAULT_LIMITS, 60));
      if (decoded.kind !== 'entry') throw new Error('not an entry');
      expect(Object.keys(decoded.entry.event)).not.toEqual(Object.keys(parsed.event));
      expect(dedupKey(decoded.entry.event)).toBe(dedupKey(parsed.event));
    }
  });
});
