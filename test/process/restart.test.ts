import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { domainSamples, tempDir } from '../support/app.js';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();

describe('a restart on the same SQLite file', () => {
  it('serves the same domain metrics, byte for byte', async () => {
    const env = { SQLITE_PATH: join(tempDir(), 'restart.db'), WEBHOOK_TOKEN: 't0ken' };
    running = await startExporterProcess(env);
    const events = [
      fixture('seed-component-impact-updated.json'),
      fixture('seed-incident-created.json'),
      fixture('seed-incident-created-example.json'),
      fixture('seed-maintenance-created.json'),
      {
        text: 'Сбой оплаты 💳',
        meta: {
          type: 'incident_created',
          uuid: 'aaaaaaaa-0000-4000-8000-000000000001',
          start_at: '2026-01-01T10:00:00Z',
          affected_components: [{ impact: 'major_outage', component_details: { name: 'Оплата', component_uuid: 'aaaaaaaa-0000-4000-8000-0000000000c1' } }],
        },
      },
      {
        meta: {
          type: 'incident_finished',
          uuid: 'aaaaaaaa-0000-4000-8000-000000000001',
          start_at: '2026-01-01T10:00:00Z',
          end_at: '2026-01-01T10:42:00Z',
          affected_components: [],
        },
      },
      {
        meta: {
          type: 'maintenance_started',
          uuid: 'aaaaaaaa-0000-4000-8000-000000000002',
          title: 'DB upgrade',
          affected_components: [{ component_details: { name: 'DB', component_uuid: 'aaaaaaaa-0000-4000-8000-0000000000c2' } }],
        },
      },
    ];
    for (const event of events) {
      const response = await postJson(`${running.url}/webhook`, event, { Authorization: 'Bearer t0ken' });
      expect(response.status).toBe(200);
    }
    const before = domainSamples(await scrape(running.url));
    expect(before.length).toBeGreaterThan(50);
    await stopProcess(running, 'SIGTERM');

    running = await startExporterProcess(env);
    const after = domainSamples(await scrape(running.url));
    expect(after).toEqual(before);
  });
});

describe('start-up with a bad environment', () => {
  it('stops with one line naming the variable', async () => {
    await expect(startExporterProcess({ PORT: 'nine', STORE: 'memory' })).rejects.toThrow(/PORT/);
  });
});
