import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/prometheus.js';
import { tempDir } from '../support/app.js';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

describe('an exporter process', () => {
  it('gives memory back once quiet after its start, without --expose-gc, and still answers after', async () => {
    running = await startExporterProcess({ SQLITE_PATH: join(tempDir(), 'trim.db'), LOG_LEVEL: 'debug', WEBHOOK_TOKEN: 'trim-token' });
    const exporter = running;
    const line = await waitFor(
      'the memory trim log line',
      () => Promise.resolve(exporter.logs.find((entry) => entry.msg === 'returned memory to the system after a burst')),
      10_000,
    );
    expect(line).toMatchObject({ level: 'debug', entries_folded: expect.any(Number) as number });
    expect(line.rss_after_mib).toBeGreaterThan(0);
    // The addon npm ci builds gave the C heap's free pages back too (glibc: this machine, CI, the image).
    const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
    expect(line.malloc_trim).toBe(glibc !== undefined);
    expect(exporter.logs.find((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('the malloc addon'))).toBeUndefined();
    const event = { meta: { type: 'component_impact_updated', uuid: '00000000-0000-4000-8000-000000000001', title: 'API', impact: 'major_outage' } };
    expect((await postJson(`${exporter.url}/webhook`, event, { Authorization: 'Bearer trim-token' })).status).toBe(200);
  }, 30_000);
});
