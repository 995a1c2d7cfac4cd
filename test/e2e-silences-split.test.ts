// An Alertmanager peer cut off from the gossip mesh (restarted on another gossip port, its
// --cluster.peer unreachable) while the exporter reaches it: it never hears the silences the
// exporter writes to another peer, nor their expiry. The exporter must not report them active
// there, and must expire on it what the others expired. Real Alertmanagers and a real exporter
// (dist/main.js), on 127.0.0.1 ports 19750-19759 only; every process stopped by PID.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, postJson, startExporterProcess, stopProcess, type ExporterProcess } from './support/exporter.js';
import { stop, waitFor, type Child } from './support/prometheus.js';
import { findAlertmanager, silenceSchema, startAlertmanager } from './support/alertmanager.js';

const tool = findAlertmanager();
const built = existsSync(MAIN);
const TOKEN = 'e2e-split-token-0123456';
const SHOP = '6b2f4e1a-8c3d-4a5b-9e7f-1d2c3b4a5f60';
const CHECKOUT = 'cccccccc-0000-4000-8000-000000000001';
const PAGES = `status_pages:\n  - id: shop\n    uuid: ${SHOP}\n    components:\n      - uuid: ${CHECKOUT}\n        name: Checkout\n        alert_matchers: ['service="checkout"']\n`;
const [WEB0, WEB1, GOSSIP0, GOSSIP1, GOSSIP1_SPLIT, NOBODY] = [19750, 19751, 19752, 19753, 19754, 19755];

let dir = '';
const children: Child[] = [];
const exporters: ExporterProcess[] = [];

async function peer(web: number, gossip: number, peers: number[], storage: string): Promise<Child> {
  const child = await startAlertmanager(tool, {
    storage,
    port: web,
    config: 'route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n',
    cluster: [
      `--cluster.listen-address=127.0.0.1:${gossip}`,
      `--cluster.advertise-address=127.0.0.1:${gossip}`,
      ...peers.map((p) => `--cluster.peer=127.0.0.1:${p}`),
      '--cluster.settle-timeout=2s',
      '--cluster.pushpull-interval=2s',
    ],
  });
  children.push(child);
  return child;
}
const live = async (web: number) =>
  silenceSchema
    .parse(await (await fetch(`http://127.0.0.1:${web}/api/v2/silences`, { signal: AbortSignal.timeout(2_000) })).json())
    .filter((s) => s.createdBy === 'statusmate-exporter' && s.status.state !== 'expired');
async function metric(exporter: ExporterProcess, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${exporter.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(2_000) })).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}
const event = (type: string, at: number) => ({
  meta: {
    type,
    uuid: 'bbbbbbbb-0000-4000-8000-0000000000e1',
    title: 'Database upgrade',
    status_page: SHOP,
    created_at: new Date().toISOString(),
    start_at: new Date(at).toISOString(),
    end_at: new Date(at + 3_600_000).toISOString(),
    affected_components: [{ impact: 'under_maintenance', component_details: { name: 'Checkout', component_uuid: CHECKOUT } }],
  },
});

describe.skipIf(tool.skipReason !== undefined || !built)('an Alertmanager peer cut off from the gossip mesh', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'statusmate-split-'));
    writeFileSync(join(dir, 'pages.yaml'), PAGES);
  });
  afterEach(async () => {
    await Promise.all(exporters.splice(0).map((e) => stopProcess(e, 'SIGKILL')));
    await Promise.all(children.splice(0).map((c) => stop(c)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a silence the cut-off peer lacks is not reported active; one it still holds after the finish is expired on it', async () => {
    const storage0 = mkdtempSync(join(dir, 'am0-'));
    const storage1 = mkdtempSync(join(dir, 'am1-'));
    await peer(WEB0, GOSSIP0, [GOSSIP1], storage0);
    let am1 = await peer(WEB1, GOSSIP1, [GOSSIP0], storage1);
    const exporter = await startExporterProcess({
      STORE: 'memory',
      WEBHOOK_TOKEN: TOKEN,
      STATUS_PAGES_FILE: join(dir, 'pages.yaml'),
      ALERTMANAGER_URL: `http://127.0.0.1:${WEB0},http://127.0.0.1:${WEB1}`,
    });
    exporters.push(exporter);
    const now = Date.now();
    expect((await postJson(`${exporter.url}/webhook`, event('maintenance_started', now), { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    await waitFor(
      'the silence on both peers',
      async () => ((await live(WEB0)).length === 1 && (await live(WEB1)).length === 1 ? true : undefined),
      10_000,
      200,
    );

    // Peer 1 restarted with its data on another gossip port, its peer unreachable: alone, and the exporter still reaches it.
    children.splice(children.indexOf(am1), 1);
    await stop(am1);
    am1 = await peer(WEB1, GOSSIP1_SPLIT, [NOBODY], mkdtempSync(join(dir, 'am1-empty-')));
    expect(await live(WEB1)).toEqual([]);
    // Peer 1 lacks the silence: not active as far as the whole cluster goes.
    await waitFor(
      'the silence missing on the cut-off peer to count as failed',
      async () => ((await metric(exporter, 'statusmate_maintenance_silences{state="failed"}')) === 1 ? true : undefined),
      40_000,
      500,
    );

    // Now the peer holds the silence (restarted with its data, still cut off); the maintenance finishes.
    children.splice(children.indexOf(am1), 1);
    await stop(am1);
    await peer(WEB1, GOSSIP1_SPLIT, [NOBODY], storage1);
    expect((await live(WEB1)).length).toBe(1);
    expect((await postJson(`${exporter.url}/webhook`, event('maintenance_finished', now), { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    await waitFor('expired on the peer the exporter writes to', async () => ((await live(WEB0)).length === 0 ? true : undefined), 10_000, 200);
    await waitFor('expired on the cut-off peer too', async () => ((await live(WEB1)).length === 0 ? true : undefined), 40_000, 500);
    expect(await metric(exporter, 'statusmate_maintenance_silences{state="lingering"}')).toBe(0);
  }, 120_000);
});
