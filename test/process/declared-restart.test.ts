import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { domainSamples, sampleValue, tempDir } from '../support/app.js';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// A declared component no webhook has named is operational since its declaration, which the log
// keeps (the ledger's first known time): a deploy, or a SIGKILL, is not a change of its impact.

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const TOKEN = 't0ken';
const QUIET = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const BUSY = '88337a51-852b-48f3-ac8d-840e5f5326a0';
/** The one component of a page no webhook has named. */
const QUIET_PAGE = 'cd5879b7-104e-4c20-ae84-39e4e26a6eb7';
const scrape = async (url: string) => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
// OpenMetrics, as Prometheus asks by default: when each page's counters and histograms started from zero.
const pageCreated = async (url: string) =>
  (await (await fetch(`${url}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' }, signal: AbortSignal.timeout(5_000) })).text())
    .split('\n')
    .filter((line) => /^statusmate_\w+_created\{status_page="/.test(line));
const lastChange = (text: string, uuid: string) => sampleValue(text, 'statusmate_component_last_change_timestamp_seconds', { component_uuid: uuid });

describe('a declared component no webhook has named, across restarts', () => {
  it('keeps the time of its declaration as its last change, and its page its start from zero, through a SIGTERM and a SIGKILL', async () => {
    const dir = tempDir();
    const file = join(dir, 'pages.yaml');
    writeFileSync(
      file,
      `status_pages:\n  - id: shop\n    components:\n      - uuid: ${QUIET}\n        name: Search\n      - uuid: ${BUSY}\n        name: API\n  - id: blog\n    components:\n      - uuid: ${QUIET_PAGE}\n        name: Posts\n`,
    );
    const env = { SQLITE_PATH: join(dir, 'declared.db'), WEBHOOK_TOKEN: TOKEN, STATUS_PAGES_FILE: file };
    running = await startExporterProcess(env);
    const update = { meta: { type: 'component_impact_updated', uuid: BUSY, title: 'API', impact: 'major_outage' } };
    expect((await postJson(`${running.url}/webhook?status_page=shop`, update, { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const first = await scrape(running.url);
    const created = await pageCreated(running.url);
    expect(created.filter((line) => line.includes('status_page="blog"')).length).toBeGreaterThan(5);
    const declaredAt = lastChange(first, QUIET) ?? NaN;
    const known = (await (await fetch(`${running.url}/api/v1/state`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as {
      status_pages: { components: { uuid: string; last_change_at: string }[] }[];
    };
    expect(Date.parse(known.status_pages.flatMap((page) => page.components).find((c) => c.uuid === QUIET)?.last_change_at ?? '') / 1000).toBeCloseTo(
      declaredAt,
      3,
    );

    // Later starts are later in time: a start's own clock would show in the value.
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await sleep(1_100);
      await stopProcess(running, signal);
      running = await startExporterProcess(env);
      const again = await scrape(running.url);
      expect(lastChange(again, QUIET)).toBe(declaredAt);
      expect(domainSamples(again)).toEqual(domainSamples(first));
      expect(await pageCreated(running.url)).toEqual(created);
    }
  });
});
