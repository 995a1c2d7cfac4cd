import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { tempDir } from '../support/app.js';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { CHART_DIR } from '../support/helm.js';

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const MI = 1024 * 1024;

function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

function chartMemoryRequest(): number {
  const values = parseYaml(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as { resources: { requests: { memory: string } } };
  const match = /^(\d+)Mi$/.exec(values.resources.requests.memory);
  if (!match) throw new Error(`resources.requests.memory ${values.resources.requests.memory} is not in Mi`);
  return Number(match[1]) * MI;
}

describe("the chart's default memory request", () => {
  // A pod that uses more than it requests is the first one evicted when its node runs short.
  it('covers the resident memory of an exporter holding 2,000 components', async () => {
    const token = 'footprint-token';
    running = await startExporterProcess({ SQLITE_PATH: join(tempDir(), 'footprint.db'), WEBHOOK_TOKEN: token });
    const url = running.url;
    const components = 2_000;
    for (let first = 0; first < components; first += 50) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, async (_, offset) => {
          const n = first + offset;
          const uuid = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
          const event = { meta: { type: 'component_impact_updated', uuid, title: `Component ${n}`, impact: 'partial_outage' } };
          return (await postJson(`${url}/webhook`, event, { Authorization: `Bearer ${token}` })).status;
        }),
      );
      expect(statuses.every((status) => status === 200)).toBe(true);
    }
    // A plain and a gzip scrape: the rendered text and its compressed copy are part of the footprint.
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } })).status).toBe(200);
    const pid = running.child.pid;
    if (pid === undefined) throw new Error('no pid');
    const rss = residentBytes(pid);
    expect(rss).toBeGreaterThan(20 * MI);
    expect(rss).toBeLessThan(chartMemoryRequest());
  }, 60_000);
});
