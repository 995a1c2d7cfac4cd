import { describe, expect, it } from 'vitest';
import { Telemetry } from '../../src/metrics/telemetry.js';
import type { StoreHealth } from '../../src/ingest/sink.js';
import { sampleValue } from '../support/app.js';

const health: StoreHealth = { up: () => Promise.resolve(true), ready: () => Promise.resolve(true), notReady: () => Promise.resolve(undefined) };
const requests = (text: string, type: string, outcome: string) => sampleValue(text, 'statusmate_webhook_requests_total', { event_type: type, outcome });
const retries = (text: string, type: string) => sampleValue(text, 'statusmate_webhook_retries_total', { event_type: type });

// The webhook path's counts wait in Telemetry until a scrape collects them: each scrape must show
// every request counted before it, once, however many scrapes come between.
describe('webhook request counters', () => {
  it('show each request once, in every scrape after it, text and OpenMetrics alike', async () => {
    const telemetry = new Telemetry(health, { version: 'test', revision: 'test' });
    telemetry.webhook('incident_created', 'applied', 0.001, false);
    telemetry.webhook('incident_created', 'duplicate', 0.001, true);
    telemetry.webhook('incident_created', 'duplicate', 0.001, true);
    telemetry.webhook('unknown', 'unauthorized', 0.001, false);

    let text = await telemetry.text();
    expect(requests(text, 'incident_created', 'applied')).toBe(1);
    expect(requests(text, 'incident_created', 'duplicate')).toBe(2);
    expect(requests(text, 'unknown', 'unauthorized')).toBe(1);
    expect(requests(text, 'component_impact_updated', 'applied')).toBe(0);
    expect(retries(text, 'incident_created')).toBe(2);
    expect(retries(text, 'unknown')).toBe(0);
    expect(sampleValue(text, 'statusmate_webhook_request_duration_seconds_count')).toBe(4);

    // A scrape with nothing new between shows the same, not twice as much.
    text = await telemetry.text();
    expect(requests(text, 'incident_created', 'duplicate')).toBe(2);
    expect(retries(text, 'incident_created')).toBe(2);

    telemetry.webhook('incident_created', 'duplicate', 0.001, true);
    const open = await telemetry.openMetrics();
    expect(requests(open, 'incident_created', 'duplicate')).toBe(3);
    expect(retries(open, 'incident_created')).toBe(3);
    text = await telemetry.text();
    expect(requests(text, 'incident_created', 'duplicate')).toBe(3);
    expect(requests(text, 'incident_created', 'applied')).toBe(1);
  });
});
