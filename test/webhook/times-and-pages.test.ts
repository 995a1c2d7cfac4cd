import { describe, expect, it } from 'vitest';
import { parseWebhook } from '../../src/webhook/schema.js';

// The date-times and meta.status_page of a webhook, as the reducer receives them: date-times in
// Unix seconds (null when not sent), an empty status_page as none. Checked for both kinds of event.
const COMPONENT = '55555555-5555-4555-8555-555555555555';
const INCIDENT = '66666666-6666-4666-8666-666666666666';
const update = (meta: Record<string, unknown>) => ({ meta: { type: 'component_impact_updated', uuid: COMPONENT, impact: 'operational', ...meta } });
const incident = (meta: Record<string, unknown>) => ({ meta: { type: 'incident_created', uuid: INCIDENT, affected_components: [], ...meta } });

describe('webhook date-times', () => {
  it('are Unix seconds, whatever the offset they were sent with, and null when absent or null', () => {
    const parsed = parseWebhook(incident({ created_at: '2023-05-19T18:43:00+03:00', start_at: '2023-05-19T15:43:00.500Z', end_at: null }), 'default');
    expect(parsed.kind === 'event' && parsed.event).toMatchObject({ createdAt: 1684510980, startAt: 1684510980.5, endAt: null });
    const absent = parseWebhook(update({}), 'default');
    expect(absent.kind === 'event' && absent.event.createdAt).toBeNull();
    const withTime = parseWebhook(update({ created_at: '2023-05-19T18:43:00+03:00' }), 'default');
    expect(withTime.kind === 'event' && withTime.event.createdAt).toBe(1684510980);
  });

  it('without a time zone are refused, naming the field', () => {
    const parsed = parseWebhook(incident({ start_at: '2023-05-19T18:43:00' }), 'default');
    expect(parsed).toEqual({
      kind: 'invalid',
      type: 'incident_created',
      error: 'invalid webhook: meta.start_at: must be an ISO 8601 date-time with a time zone, like 2023-05-19T18:43:00+03:00',
      issues: [{ path: 'meta.start_at', message: 'must be an ISO 8601 date-time with a time zone, like 2023-05-19T18:43:00+03:00' }],
    });
  });
});

describe('meta.status_page', () => {
  it('empty counts as none: the page given to the parser applies', () => {
    for (const body of [update({ status_page: '' }), incident({ status_page: '' }), update({}), update({ status_page: null })]) {
      const parsed = parseWebhook(body, 'default');
      expect(parsed.kind === 'event' && parsed.event.statusPage).toBe('default');
    }
    const named = parseWebhook(update({ status_page: 'shop' }), 'default');
    expect(named.kind === 'event' && named.event.statusPage).toBe('shop');
  });

  it('is handed to the page naming as sent, null when empty or absent', () => {
    const sent: (string | null)[] = [];
    for (const page of ['', 'shop', null]) parseWebhook(incident({ status_page: page }), (page) => (sent.push(page), 'x'));
    expect(sent).toEqual([null, 'shop', null]);
  });

  it('that is not a string is refused, naming the field', () => {
    const parsed = parseWebhook(update({ status_page: 5 }), 'default');
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.issues.map((issue) => issue.path)).toEqual(['meta.status_page']);
  });
});
