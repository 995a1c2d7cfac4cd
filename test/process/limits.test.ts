import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir } from '../support/app.js';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const id = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();
const send = async (url: string, meta: Record<string, unknown>) => {
  const response = await postJson(`${url}/webhook`, { meta });
  return { status: response.status, body: (await response.json()) as { status?: string } };
};
const incidentCreated = (n: number, components: number[], extra: Record<string, unknown> = {}) => ({
  type: 'incident_created',
  uuid: id(1000 + n),
  affected_components: components.map((c) => ({ impact: 'major_outage', component_details: { name: `C${c}`, component_uuid: id(c) } })),
  ...extra,
});

describe('limits, through the real process on a real SQLite file', () => {
  it('refuses incidents, maintenances and status pages past their limits with 200 refused_limit, and counts each', async () => {
    const env = { SQLITE_PATH: join(tempDir(), 'limits.db'), MAX_ACTIVE_INCIDENTS: '2', MAX_ACTIVE_MAINTENANCES: '1', MAX_STATUS_PAGES: '2' };
    running = await startExporterProcess(env);
    const url = running.url;
    expect((await send(url, incidentCreated(1, [1]))).body.status).toBe('applied');
    expect((await send(url, incidentCreated(2, [2]))).body.status).toBe('applied');
    const third = await send(url, incidentCreated(3, [3]));
    expect(third).toEqual({ status: 200, body: expect.objectContaining({ status: 'refused_limit' }) });

    expect((await send(url, { type: 'maintenance_created', uuid: id(2001), affected_components: [] })).body.status).toBe('applied');
    expect((await send(url, { type: 'maintenance_started', uuid: id(2002), affected_components: [] })).body.status).toBe('refused_limit');

    expect((await send(url, { type: 'component_impact_updated', uuid: id(9), impact: 'operational', status_page: 'second' })).body.status).toBe('applied');
    expect((await send(url, { type: 'component_impact_updated', uuid: id(9), impact: 'operational', status_page: 'third' })).body.status).toBe('refused_limit');

    const text = await scrape(url);
    expect(sampleValue(text, 'statusmate_limit_refusals_total', { limit: 'active_incidents' })).toBe(1);
    expect(sampleValue(text, 'statusmate_limit_refusals_total', { limit: 'active_maintenances' })).toBe(1);
    expect(sampleValue(text, 'statusmate_limit_refusals_total', { limit: 'status_pages' })).toBe(1);
    expect(sampleValue(text, 'statusmate_webhook_requests_total', { event_type: 'incident_created', outcome: 'refused_limit' })).toBe(1);
    expect(sampleValue(text, 'statusmate_incidents_active')).toBe(2);
    expect(text).not.toContain('status_page="third"');
    expect(
      running.logs.some((line) => line.level === 'warn' && line.limit === 'active_incidents' && line.msg === 'refused: MAX_ACTIVE_INCIDENTS reached'),
    ).toBe(true);
  });

  it('keeps an incident re-sent with ever new components at MAX_COMPONENTS, across a restart', async () => {
    const env = { SQLITE_PATH: join(tempDir(), 'components.db'), MAX_COMPONENTS: '30' };
    running = await startExporterProcess(env);
    for (let round = 0; round < 10; round++) {
      const components = Array.from({ length: 20 }, (_, n) => round * 20 + n + 1);
      const { status } = await send(running.url, incidentCreated(1, components));
      expect(status).toBe(200);
    }
    const levels = (text: string) => text.split('\n').filter((line) => line.startsWith('statusmate_component_impact_level{')).length;
    expect(levels(await scrape(running.url))).toBe(30);
    expect((await send(running.url, { type: 'incident_finished', uuid: id(1001), affected_components: [] })).body.status).toBe('applied');
    await stopProcess(running, 'SIGTERM');

    running = await startExporterProcess(env);
    const text = await scrape(running.url);
    expect(levels(text)).toBe(30);
    expect(text.split('\n').filter((line) => line.startsWith('statusmate_component_impact_level{') && !line.endsWith(' 0'))).toEqual([]);
  });

  it('orders by arrival, logs and counts an event whose created_at is far ahead of its receipt', async () => {
    running = await startExporterProcess({ SQLITE_PATH: join(tempDir(), 'skew.db') });
    const update = (impact: string, createdAt?: string) => ({
      type: 'component_impact_updated',
      uuid: id(1),
      impact,
      ...(createdAt ? { created_at: createdAt } : {}),
    });
    expect((await send(running.url, update('major_outage', '2100-01-01T00:00:00Z'))).body.status).toBe('applied');
    expect((await send(running.url, update('operational', new Date().toISOString()))).body.status).toBe('applied');
    const text = await scrape(running.url);
    expect(sampleValue(text, 'statusmate_webhook_clock_skew_total')).toBe(1);
    expect(sampleValue(text, 'statusmate_component_impact_level')).toBe(0);
    expect(running.logs.some((line) => line.level === 'warn' && line.created_at === '2100-01-01T00:00:00.000Z')).toBe(true);
  });
});
