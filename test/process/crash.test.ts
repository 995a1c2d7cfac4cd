import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir } from '../support/app.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { freePort } from '../support/prometheus.js';

// A sender that behaves like StatusMate (retries every delivery until it gets a 200) streams a
// known history while the exporter is killed with SIGKILL twice. Every counter and gauge must
// end where the history says: nothing lost, nothing counted twice.

const INCIDENTS = 60;
const MAINTENANCES = 40;
const DIRECT_UPDATES = 40;
const id = (kind: number, n: number) => `${String(kind).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

type Delivery = { meta: Record<string, unknown> };

function history(): Delivery[][] {
  // One lane per object, its events in order; lanes are interleaved by the sender.
  const lanes: Delivery[][] = [];
  for (let n = 0; n < INCIDENTS; n++) {
    const component = { impact: 'major_outage', component_details: { name: `Incident component ${n}`, component_uuid: id(1, n) } };
    lanes.push([
      { meta: { type: 'incident_created', uuid: id(2, n), title: `Incident ${n}`, created_at: at(n), start_at: at(n), affected_components: [component] } },
      {
        meta: {
          type: 'incident_finished',
          uuid: id(2, n),
          title: `Incident ${n}`,
          created_at: at(n + 30),
          start_at: at(n),
          end_at: at(n + 30),
          affected_components: [component],
        },
      },
    ]);
  }
  for (let n = 0; n < MAINTENANCES; n++) {
    const component = { impact: 'under_maintenance', component_details: { name: `Maintained ${n}`, component_uuid: id(3, n) } };
    const meta = { uuid: id(4, n), title: `Maintenance ${n}`, start_at: at(n), end_at: at(n + 60), affected_components: [component] };
    lanes.push([
      { meta: { ...meta, type: 'maintenance_created', created_at: at(n) } },
      { meta: { ...meta, type: 'maintenance_started', created_at: at(n + 1) } },
      { meta: { ...meta, type: 'maintenance_finished', created_at: at(n + 21) } },
    ]);
  }
  for (let n = 0; n < DIRECT_UPDATES; n++) {
    lanes.push([{ meta: { type: 'component_impact_updated', uuid: id(5, n), title: `Direct ${n}`, impact: 'partial_outage', created_at: at(n) } }]);
  }
  return lanes;
}

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
