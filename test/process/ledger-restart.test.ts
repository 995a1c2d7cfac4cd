import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir } from '../support/app.js';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// Issue 20 against the built exporter process (node dist/main.js): a measured major outage, then a
// SIGTERM and a start on the same SQLite file, and a SIGKILL (no last snapshot: the log is folded
// again) and a start: the counter and GET /api/v1/availability agree with the outage within a
// second each time, and the CSV names the component.

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const TOKEN = 't0ken';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const update = (url: string, impact: string) =>
  postJson(`${url}/webhook?status_page=shop`, { meta: { type: 'component_impact_updated', uuid: API, title: 'Checkout API', impact } }, AUTH);
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('the availability ledger across restarts of the process', () => {
  it('keeps the outage to the second through a SIGTERM and a SIGKILL', async () => {
    const env = { SQLITE_PATH: join(tempDir(), 'ledger.db'), WEBHOOK_TOKEN: TOKEN };
    running = await startExporterProcess(env);
    const before = Date.now();
    expect((await update(running.url, 'major_outage')).status).toBe(200);
    const started = Date.now();
    await sleep(1_200);
    const ending = Date.now();
    expect((await update(running.url, 'operational')).status).toBe(200);
    const ended = Date.now();
    const [shortest, longest] = [(ending - started) / 1000, (ended - before) / 1000];

    const check = async (url: string) => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const counted = sampleValue(metrics, 'statusmate_component_impact_seconds_total', { component_uuid: API, impact: 'major_outage' }) ?? NaN;
      expect(counted).toBeGreaterThanOrEqual(shortest - 1);
      expect(counted).toBeLessThanOrEqual(longest + 1);
      const report = (await (await fetch(`${url}/api/v1/availability?from=${day(-1)}&to=${day(0)}`, { headers: AUTH })).json()) as {
        status_pages: { components: { uuid: string; seconds: Record<string, number> }[] }[];
      };
      const api = report.status_pages[0]?.components.find((c) => c.uuid === API);
      expect(Math.abs((api?.seconds.major_outage ?? NaN) - counted)).toBeLessThan(0.002);
      const csv = await (await fetch(`${url}/api/v1/availability?format=csv&from=${day(-1)}&to=${day(0)}`, { headers: AUTH })).text();
      expect(csv).toMatch(new RegExp(`^component,shop,${API},Checkout API,`, 'm'));
      return counted;
    };
    const first = await check(running.url);

    await stopProcess(running, 'SIGTERM');
    running = await startExporterProcess(env);
    expect(await check(running.url)).toBe(first);

    await stopProcess(running, 'SIGKILL');
    running = await startExporterProcess(env);
    expect(await check(running.url)).toBe(first);
  });
});
