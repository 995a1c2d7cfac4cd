import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { sampleValue, tempDir } from '../support/app.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { CHART_DIR } from '../support/helm.js';

// Issue 16's fat-incident load: incidents that each name the same 2,500 components, within every
// count limit, sent to the real process on a real SQLite file with the default settings.

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const MI = 1024 * 1024;
const COMPONENTS = 2_500;
const id = (prefix: string, n: number) => `${prefix}0000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;

function residentBytes(running: ExporterProcess): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${String(running.child.pid)}/status`, 'utf8'));
  if (!match) throw new Error('no VmRSS');
  return Number(match[1]) * 1024;
}

function chartMemoryLimit(): number {
  const values = parseYaml(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as { resources: { limits: { memory: string } } };
  const match = /^(\d+)Mi$/.exec(values.resources.limits.memory);
  if (!match) throw new Error(`resources.limits.memory ${values.resources.limits.memory} is not in Mi`);
  return Number(match[1]) * MI;
}

/** About 250 KB: the same 2,500 components, as small as a valid body gets (under MAX_BODY_BYTES). */
const fat = (type: 'incident_created' | 'incident_finished', n: number) => ({
  meta: {
    type,
    uuid: id('1', n),
    affected_components: Array.from({ length: COMPONENTS }, (_, c) => ({ component_details: { impact: 'major_outage', component_uuid: id('c', c) } })),
  },
});

async function send(url: string, body: unknown): Promise<string> {
  const response = await fetch(`${url}/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { status: string }).status;
}

/** A plain and a gzip scrape, as Prometheus and a person would: the rendered text is part of the footprint. */
async function scrape(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  expect((await fetch(`${url}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } })).status).toBe(200);
  return text;
}

describe('memory bounded by size, through the real process on a real SQLite file, with the default settings', () => {
  it('refuses fat incidents past MAX_HOLDINGS with refused_limit, counts and logs them, and stays under the chart limit, also after a restart', async () => {
    const env = { SQLITE_PATH: join(tempDir(), 'fat.db') };
    const events = 160;
    const fits = Math.floor(DEFAULT_LIMITS.maxHoldings / COMPONENTS);
    expect(fits).toBeLessThan(events);
    running = await startExporterProcess(env);
    const answers: string[] = [];
    for (let n = 0; n < events; n++) answers.push(await send(running.url, fat('incident_created', n)));
    expect(answers.slice(0, fits)).toEqual(Array<string>(fits).fill('applied'));
    expect(answers.slice(fits)).toEqual(Array<string>(events - fits).fill('refused_limit'));

    const text = await scrape(running.url);
    expect(sampleValue(text, 'statusmate_limit_refusals_total', { limit: 'holdings' })).toBe(events - fits);
    expect(sampleValue(text, 'statusmate_webhook_requests_total', { type: 'incident_created', outcome: 'refused_limit' })).toBe(events - fits);
    expect(sampleValue(text, 'statusmate_incidents_active')).toBe(fits);
    expect(running.logs.some((line) => line.level === 'warn' && line.limit === 'holdings' && line.msg === 'refused: MAX_HOLDINGS reached')).toBe(true);
    const atEnd = residentBytes(running);
    expect(atEnd).toBeLessThan(chartMemoryLimit());

    await stopProcess(running, 'SIGTERM');
    running = await startExporterProcess(env);
    expect(sampleValue(await scrape(running.url), 'statusmate_incidents_active')).toBe(fits);
    const afterRestart = residentBytes(running);
    expect(afterRestart).toBeLessThan(chartMemoryLimit());
    console.log(`fat incidents: RSS ${(atEnd / MI).toFixed(0)} MiB at the end, ${(afterRestart / MI).toFixed(0)} MiB after restart`);
  }, 180_000);

  it('forgets the oldest fat finished incidents past MAX_RETAINED_FINISHED, keeping the counters, and stays under the chart limit, also after a restart', async () => {
    const env = { SQLITE_PATH: join(tempDir(), 'fat-finished.db') };
    const pairs = 40;
    running = await startExporterProcess(env);
    for (let n = 0; n < pairs; n++) {
      expect(await send(running.url, fat('incident_created', n))).toBe('applied');
      expect(await send(running.url, fat('incident_finished', n))).toBe('applied');
    }
    const text = await scrape(running.url);
    expect(sampleValue(text, 'statusmate_incidents_created_total')).toBe(pairs);
    expect(sampleValue(text, 'statusmate_incidents_finished_total')).toBe(pairs);
    const atEnd = residentBytes(running);
    expect(atEnd).toBeLessThan(chartMemoryLimit());

    await stopProcess(running, 'SIGTERM');
    running = await startExporterProcess(env);
    expect(sampleValue(await scrape(running.url), 'statusmate_incidents_finished_total')).toBe(pairs);
    // The newest finished incidents are still remembered: their re-sent finish is stale, not counted again.
    expect(await send(running.url, fat('incident_finished', pairs - 1))).toBe('stale');
    // The oldest was forgotten: a late re-send of its creation opens it again (the cost of the bound).
    expect(await send(running.url, fat('incident_created', 0))).toBe('applied');
    const afterRestart = residentBytes(running);
    expect(afterRestart).toBeLessThan(chartMemoryLimit());
    console.log(`fat finished incidents: RSS ${(atEnd / MI).toFixed(0)} MiB at the end, ${(afterRestart / MI).toFixed(0)} MiB after restart`);
  }, 180_000);
});
