import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir } from '../support/app.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { freePort } from '../support/prometheus.js';
import { historyId, historyLanes, type Delivery } from '../support/history.js';

// A sender that behaves like StatusMate (retries every delivery until it gets a 200) streams a
// known history while the exporter is killed with SIGKILL twice. Every counter and gauge must
// end where the history says: nothing lost, nothing counted twice.

const INCIDENTS = 60;
const MAINTENANCES = 40;
const DIRECT_UPDATES = 40;
const id = historyId;
const history = () => historyLanes({ incidents: INCIDENTS, maintenances: MAINTENANCES, directUpdates: DIRECT_UPDATES });

/** Delivers one event until the exporter answers 200, as StatusMate does, counting attempts. */
async function deliver(url: string, delivery: Delivery, stats: { attempts: number; failures: number }): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    stats.attempts += 1;
    try {
      const response = await fetch(`${url}/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...delivery, meta: { ...delivery.meta, delivery_attempt: attempt } }),
        signal: AbortSignal.timeout(2_000),
      });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // connection refused or reset while the exporter is down: retry
    }
    stats.failures += 1;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up delivering ${JSON.stringify(delivery.meta)}`);
}

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

describe('a crash while StatusMate streams events', () => {
  it("loses nothing and counts nothing twice once the sender's retries are through", async () => {
    const port = await freePort();
    const env = { SQLITE_PATH: join(tempDir(), 'crash.db'), PORT: String(port) };
    running = await startExporterProcess(env);
    const url = running.url;
    const lanes = history();
    const total = lanes.reduce((sum, lane) => sum + lane.length, 0);
    const stats = { attempts: 0, failures: 0, acknowledged: 0 };

    const senders = lanes.map(async (lane, index) => {
      await new Promise((resolve) => setTimeout(resolve, (index % 20) * 5));
      for (const delivery of lane) {
        await deliver(url, delivery, stats);
        stats.acknowledged += 1;
      }
    });

    // Kill it hard twice while deliveries are in flight, and start it again on the same file.
    for (const threshold of [Math.floor(total / 4), Math.floor(total / 2)]) {
      while (stats.acknowledged < threshold) await new Promise((resolve) => setTimeout(resolve, 5));
      await stopProcess(running, 'SIGKILL');
      running = await startExporterProcess(env);
    }
    await Promise.all(senders);
    expect(stats.acknowledged).toBe(total);
    expect(stats.failures).toBeGreaterThan(0); // the kills really hit deliveries

    const text = await (await fetch(`${url}/metrics`)).text();
    const page = { status_page: 'default' };
    expect(sampleValue(text, 'statusmate_incidents_created_total', page)).toBe(INCIDENTS);
    expect(sampleValue(text, 'statusmate_incidents_finished_total', page)).toBe(INCIDENTS);
    expect(sampleValue(text, 'statusmate_incidents_active', page)).toBe(0);
    expect(sampleValue(text, 'statusmate_incident_duration_seconds_count', page)).toBe(INCIDENTS);
    expect(sampleValue(text, 'statusmate_incident_duration_seconds_sum', page)).toBe(INCIDENTS * 30 * 60);
    expect(sampleValue(text, 'statusmate_maintenances_created_total', page)).toBe(MAINTENANCES);
    expect(sampleValue(text, 'statusmate_maintenances_started_total', page)).toBe(MAINTENANCES);
    expect(sampleValue(text, 'statusmate_maintenances_finished_total', page)).toBe(MAINTENANCES);
    expect(sampleValue(text, 'statusmate_maintenances_active', { ...page, state: 'in_progress' })).toBe(0);
    expect(sampleValue(text, 'statusmate_maintenance_duration_seconds_sum', page)).toBe(MAINTENANCES * 20 * 60);

    const levels = text.split('\n').filter((line) => line.startsWith('statusmate_component_impact_level{'));
    expect(levels).toHaveLength(INCIDENTS + MAINTENANCES + DIRECT_UPDATES);
    const level = (uuid: string) => sampleValue(text, 'statusmate_component_impact_level', { component_uuid: uuid });
    for (let n = 0; n < INCIDENTS; n++) expect(level(id(1, n))).toBe(0);
    for (let n = 0; n < MAINTENANCES; n++) expect(level(id(3, n))).toBe(0);
    for (let n = 0; n < DIRECT_UPDATES; n++) expect(level(id(5, n))).toBe(3);
  });
});
