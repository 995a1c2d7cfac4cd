// Maintenances drive Alertmanager silences, end to end: real exporters (dist/main.js) tell a real
// Alertmanager (Debian's prometheus-alertmanager, API v2) which silences to hold, alone on the
// memory store and as replicas sharing a real redis-server. Everything listens on 127.0.0.1;
// every process is started and stopped by this file, by PID.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerClient } from '../src/alertmanager/client.js';
import { MAIN, postJson, startExporterProcess, stopProcess, type ExporterProcess } from './support/exporter.js';
import { freePort, freePorts, stop, waitFor, type Child } from './support/prometheus.js';
import { redisTool, startRedis, type RedisServer } from './support/redis.js';
import { findAlertmanager, PORT_TAKEN, silenceSchema, startAlertmanager as startAlertmanagerProcess, type Silence } from './support/alertmanager.js';

const alertmanagerTool = findAlertmanager();
const built = existsSync(MAIN);
if (!built) {
  const reason = `${MAIN} is missing; run npm run build first (npm test does)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`[skipped] the maintenance silences suite: ${reason}`);
}

const TOKEN = 'e2e-silences-token-0123';
const SHOP = '6b2f4e1a-8c3d-4a5b-9e7f-1d2c3b4a5f60';
const CHECKOUT = 'cccccccc-0000-4000-8000-000000000001';
const SEARCH = 'cccccccc-0000-4000-8000-000000000002';
const DOCS = 'cccccccc-0000-4000-8000-000000000003';
const PAGES = `status_pages:
  - id: shop
    uuid: ${SHOP}
    components:
      - uuid: ${CHECKOUT}
        name: Checkout
        alert_matchers: ['service="checkout"']
      - uuid: ${SEARCH}
        name: Search
        alert_matchers: ['service="search"', 'env=~"prod|canary"']
      - uuid: ${DOCS}
        name: Docs
`;

type Alertmanager = { child: Child; url: string; port: number; dir: string };

let dir = '';
const started: Alertmanager[] = [];

async function startAlertmanager(port?: number, cluster?: { listen: number; peers: number[] }, keep?: Alertmanager): Promise<Alertmanager> {
  // A port of its own chosen here is tried again once taken (see PORT_TAKEN); one the test gave is not.
  for (let tries = 1; ; tries += 1) {
    try {
      return await startAlertmanagerOn(port ?? (await freePort()), cluster, keep);
    } catch (error) {
      if (port !== undefined || tries === 3 || !PORT_TAKEN.test(String(error))) throw error;
    }
  }
}

async function startAlertmanagerOn(amPort: number, cluster?: { listen: number; peers: number[] }, keep?: Alertmanager): Promise<Alertmanager> {
  const clustering = cluster
    ? [
        `--cluster.listen-address=127.0.0.1:${cluster.listen}`,
        `--cluster.advertise-address=127.0.0.1:${cluster.listen}`,
        ...cluster.peers.map((peer) => `--cluster.peer=127.0.0.1:${peer}`),
        '--cluster.settle-timeout=2s',
        '--cluster.pushpull-interval=2s',
      ]
    : ['--cluster.listen-address='];
  // A fresh storage directory every time (an Alertmanager restarted without its data), or `keep`'s.
  const storage = keep?.dir ?? mkdtempSync(join(dir, 'am-'));
  const child = await startAlertmanagerProcess(alertmanagerTool, {
    storage,
    port: amPort,
    config: 'route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n',
    cluster: clustering,
  });
  const am = { child, url: `http://127.0.0.1:${amPort}`, port: amPort, dir: storage };
  started.push(am);
  return am;
}

async function silences(am: Alertmanager): Promise<Silence[]> {
  const response = await fetch(`${am.url}/api/v2/silences`, { signal: AbortSignal.timeout(2_000) });
  return silenceSchema.parse(await response.json()).filter((silence) => silence.createdBy === 'statusmate-exporter');
}
/** The live silences' keys (from their markers), sorted. */
const liveKeys = async (am: Alertmanager) => (await live(am)).map((s) => /silence (\S+)\]$/.exec(s.comment)?.[1] ?? '').sort();
const live = async (am: Alertmanager) => (await silences(am)).filter((silence) => silence.status.state !== 'expired');
/** The live silences by component, as `component matchers`. */
const liveByMatchers = async (am: Alertmanager) =>
  (await live(am))
    .map((s) =>
      s.matchers
        .map((m) => `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '=~' : '='}${m.value}`)
        .sort()
        .join(','),
    )
    .sort();

const maintenance = (type: string, id: string, startAt: Date, endAt: Date) => ({
  meta: {
    type,
    uuid: id,
    title: `Database upgrade ${id.slice(-2)}`,
    status_page: SHOP,
    created_at: new Date().toISOString(),
    start_at: startAt.toISOString(),
    end_at: endAt.toISOString(),
    affected_components: [CHECKOUT, SEARCH, DOCS].map((uuid, n) => ({
      impact: 'under_maintenance',
      component_details: { name: ['Checkout', 'Search', 'Docs'][n], component_uuid: uuid },
    })),
  },
});
async function send(exporter: ExporterProcess, body: unknown): Promise<void> {
  const response = await postJson(`${exporter.url}/webhook`, body, { authorization: `Bearer ${TOKEN}` });
  expect(response.status).toBe(200);
}
async function metric(exporter: ExporterProcess, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${exporter.url}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const hour = 3_600_000;
let exporters: ExporterProcess[] = [];
function exporterEnv(am: string, extra: Record<string, string> = {}): Record<string, string> {
  return { STORE: 'memory', WEBHOOK_TOKEN: TOKEN, STATUS_PAGES_FILE: join(dir, 'pages.yaml'), ALERTMANAGER_URL: am, ...extra };
}
async function startExporter(env: Record<string, string>): Promise<ExporterProcess> {
  const exporter = await startExporterProcess(env);
  exporters.push(exporter);
  return exporter;
}

/**
 * An Alertmanager, an exporter pointed at it, and maintenance `id` started now (ending at
 * `end(now)`), once its two silences are live: where most tests of a silence's life begin.
 */
async function silencedMaintenance(id: string, end: (now: number) => Date) {
  const am = await startAlertmanager();
  const exporter = await startExporter(exporterEnv(am.url));
  const now = Date.now();
  await send(exporter, maintenance('maintenance_started', id, new Date(now), end(now)));
  const created = await waitFor('two silences', async () => ((await live(am)).length === 2 ? live(am) : undefined), 5_000, 100);
  return { am, exporter, now, created };
}

describe.skipIf(alertmanagerTool.skipReason !== undefined || !built)('maintenances drive Alertmanager silences', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'statusmate-silences-'));
    writeFileSync(join(dir, 'pages.yaml'), PAGES);
  });
  afterEach(async () => {
    await Promise.all(exporters.map((exporter) => stopProcess(exporter, 'SIGKILL')));
    exporters = [];
    await Promise.all(started.splice(0).map((am) => stop(am.child)));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists a silenced alert among Alertmanager's firing ones and a resolved one not: what lets go of alerts resolved under a silence", async () => {
    const am = await startAlertmanager();
    const client = new AlertmanagerClient({ urls: [am.url], auth: { kind: 'none' } });
    const labels = { alertname: 'SearchDown', service: 'search' };
    const post = async (endsAt: Date) => {
      const response = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify([{ labels, startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: endsAt.toISOString() }]),
      });
      expect(response.status).toBe(200);
    };
    await post(new Date(Date.now() + hour));
    const silence = await fetch(`${am.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'service', value: 'search', isRegex: false, isEqual: true }],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + hour).toISOString(),
        createdBy: 'e2e',
        comment: 'maintenance',
      }),
    });
    expect(silence.status).toBe(200);
    const firing = await waitFor(
      'the silenced alert listed',
      async () => ((await client.firingFingerprints()).size === 1 ? client.firingFingerprints() : undefined),
      5_000,
      100,
    );
    const [fingerprint] = [...firing];
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // Listed as suppressed: Alertmanager will send no resolution of it, so a look lets go of it.
    expect([...(await client.firingAlerts())]).toEqual([[fingerprint, { suppressed: true }]]);
    await post(new Date(Date.now() - 1_000));
    await waitFor('the resolved alert gone from the list', async () => ((await client.firingFingerprints()).size === 0 ? true : undefined), 5_000, 100);
  });

  it('a maintenance started silences its components with their matchers within 5 s, and its finish expires them within 5 s', async () => {
    const am = await startAlertmanager();
    const exporter = await startExporter(exporterEnv(am.url));
    const id = 'bbbbbbbb-0000-4000-8000-000000000001';
    const now = Date.now();
    await send(exporter, maintenance('maintenance_created', id, new Date(now), new Date(now + hour)));
    await send(exporter, maintenance('maintenance_started', id, new Date(now), new Date(now + hour)));
    const sent = Date.now();
    const created = await waitFor('two active silences', async () => ((await live(am)).length === 2 ? live(am) : undefined), 5_000, 100);
    expect(Date.now() - sent).toBeLessThan(5_000);
    expect(await liveByMatchers(am)).toEqual(['env=~prod|canary,service=search', 'service=checkout']);
    for (const silence of created) {
      expect(silence.status.state).toBe('active');
      expect(silence.comment).toMatch(
        new RegExp(`^Maintenance "Database upgrade 01" on status page shop \\(stamp [0-9a-f]{12}\\) \\[statusmate-exporter silence shop/${id}/`),
      );
      // The scheduled end plus the 15-minute margin.
      expect(Math.abs(Date.parse(silence.endsAt) - (now + hour + 900_000))).toBeLessThan(2_000);
    }
    await waitFor('the metrics to show them', async () =>
      (await metric(exporter, 'statusmate_maintenance_silences{state="active"}')) === 2 ? true : undefined,
    );
    expect(await metric(exporter, 'statusmate_maintenance_silences{state="failed"}')).toBe(0);
    expect(await metric(exporter, 'statusmate_alertmanager_requests_total{operation="create",outcome="ok"}')).toBe(2);

    await send(exporter, maintenance('maintenance_finished', id, new Date(now), new Date(now + hour)));
    const finished = Date.now();
    await waitFor('the silences to be expired', async () => ((await live(am)).length === 0 ? true : undefined), 5_000, 100);
    expect(Date.now() - finished).toBeLessThan(5_000);
    expect((await silences(am)).map((s) => s.status.state)).toEqual(['expired', 'expired']);
  }, 30_000);

  it('recreates the silences of an Alertmanager restarted without its data, and leaves one an operator expired by hand', async () => {
    const id = 'bbbbbbbb-0000-4000-8000-000000000002';
    const { am: first, exporter } = await silencedMaintenance(id, (at) => new Date(at + hour));

    await stop(first.child);
    const second = await startAlertmanager(first.port); // same address, empty storage
    expect(await silences(second)).toEqual([]);
    await waitFor('the silences to be recreated', async () => ((await live(second)).length === 2 ? true : undefined), 15_000, 200);

    // An operator lifts the checkout silence: it stays lifted for this maintenance.
    const checkout = (await live(second)).find((s) => s.matchers.some((m) => m.value === 'checkout'));
    const deleted = await fetch(`${second.url}/api/v2/silence/${checkout?.id ?? ''}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    await waitFor('the lift to be seen', async () =>
      (await metric(exporter, 'statusmate_maintenance_silences{state="overridden"}')) === 1 ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 6_000)); // more than one reconcile interval
    expect(await liveByMatchers(second)).toEqual(['env=~prod|canary,service=search']);
    expect(await metric(exporter, 'statusmate_maintenance_silences{state="failed"}')).toBe(0);
  }, 60_000);

  it("leaves a silence an operator edited by hand as they left it: not put back, not extended, not expired at the maintenance's finish", async () => {
    const id = 'bbbbbbbb-0000-4000-8000-000000000009';
    const { am, exporter, now, created } = await silencedMaintenance(id, (at) => new Date(at + hour));
    // As Alertmanager's UI edits one: the silence as listed, its createdBy and comment kept.
    const edit = async (silence: Silence, change: Partial<Silence>) => {
      const { id: silenceId, matchers, startsAt, endsAt, createdBy, comment } = { ...silence, ...change };
      const response = await postJson(`${am.url}/api/v2/silences`, { id: silenceId, matchers, startsAt, endsAt, createdBy, comment });
      expect(response.status).toBe(200);
    };
    const checkout = created.find((s) => s.matchers.some((m) => m.value === 'checkout')) as Silence;
    const search = created.find((s) => s.matchers.some((m) => m.value === 'search')) as Silence;
    // One lets critical alerts through (new matchers: Alertmanager replaces the silence), one ends it sooner.
    await edit(checkout, { matchers: [...checkout.matchers, { name: 'severity', value: 'critical', isRegex: false, isEqual: false }] });
    const sooner = new Date(Date.now() + 120_000).toISOString();
    await edit(search, { endsAt: sooner });
    const edited = (await liveByMatchers(am)).join(' ');
    expect(edited).toBe('env=~prod|canary,service=search service=checkout,severity!=critical');

    // The look that sees the edits decides to leave them (its view is set after its writes).
    await waitFor('the edits to be seen', async () =>
      (await metric(exporter, 'statusmate_maintenance_silences{state="overridden"}')) === 2 ? true : undefined,
    );
    expect((await liveByMatchers(am)).join(' ')).toBe(edited);
    expect((await live(am)).find((s) => s.matchers.some((m) => m.value === 'search'))?.endsAt).toBe(sooner);
    expect(await metric(exporter, 'statusmate_maintenance_silences{state="failed"}')).toBe(0);

    // They are the operator's now: the finish does not expire them (each ends when its end says).
    await send(exporter, maintenance('maintenance_finished', id, new Date(now), new Date(now + hour)));
    await waitFor('the finish to be reconciled', async () =>
      (await metric(exporter, 'statusmate_maintenance_silences{state="desired"}')) === 0 ? true : undefined,
    );
    expect((await liveByMatchers(am)).join(' ')).toBe(edited);

    // The next maintenance of the components is silenced as usual.
    const next = 'bbbbbbbb-0000-4000-8000-000000000010';
    await send(exporter, maintenance('maintenance_started', next, new Date(now), new Date(now + hour)));
    await waitFor(
      'the next maintenance silenced',
      async () => ((await live(am)).filter((s) => s.comment.includes(next)).length === 2 ? true : undefined),
      5_000,
      100,
    );
  }, 40_000);

  it('a maintenance scheduled to end at the end of time is silenced: its end plus the margin is brought within what Alertmanager takes', async () => {
    const id = 'bbbbbbbb-0000-4000-8000-000000000011';
    const { exporter, created } = await silencedMaintenance(id, () => new Date('9999-12-31T23:50:00Z'));
    for (const silence of created) expect(silence.endsAt).toBe('9999-01-01T00:00:00.000Z');
    expect(await metric(exporter, 'statusmate_alertmanager_requests_total{operation="create",outcome="refused"}')).toBe(0);
  }, 30_000);

  it('an Alertmanager down when the maintenance starts gets its silences once it is back; webhooks are unaffected', async () => {
    const port = await freePort();
    const exporter = await startExporter(exporterEnv(`http://127.0.0.1:${port}`));
    const id = 'bbbbbbbb-0000-4000-8000-000000000003';
    const now = Date.now();
    await send(exporter, maintenance('maintenance_started', id, new Date(now), new Date(now + hour)));
    await waitFor('the failure to show', async () => ((await metric(exporter, 'statusmate_maintenance_silences{state="failed"}')) === 2 ? true : undefined));
    expect(await metric(exporter, 'statusmate_alertmanager_requests_total{operation="list",outcome="error"}')).toBeGreaterThan(0);
    const am = await startAlertmanager(port);
    await waitFor('the silences to be created', async () => ((await live(am)).length === 2 ? true : undefined), 15_000, 200);
    expect(await liveByMatchers(am)).toEqual(['env=~prod|canary,service=search', 'service=checkout']);
  }, 40_000);

  it('silences of a finished maintenance that Alertmanager could not be told to expire show as lingering until it expires them', async () => {
    const id = 'bbbbbbbb-0000-4000-8000-000000000012';
    const { am: first, exporter, now } = await silencedMaintenance(id, (at) => new Date(at + hour));
    expect(await metric(exporter, 'statusmate_maintenance_silences{state="lingering"}')).toBe(0);

    await stop(first.child);
    await send(exporter, maintenance('maintenance_finished', id, new Date(now), new Date(now + hour)));
    // They still mute the alerts wherever Alertmanager runs on: the exporter says so.
    await waitFor('the silences to show as lingering', async () =>
      (await metric(exporter, 'statusmate_maintenance_silences{state="lingering"}')) === 2 ? true : undefined,
    );
    expect(await metric(exporter, 'statusmate_maintenance_silences{state="desired"}')).toBe(0);

    const back = await startAlertmanager(first.port, undefined, first); // with its data
    await waitFor('the silences to be expired', async () => ((await live(back)).length === 0 ? true : undefined), 15_000, 200);
    await waitFor('nothing to linger', async () => ((await metric(exporter, 'statusmate_maintenance_silences{state="lingering"}')) === 0 ? true : undefined));
  }, 60_000);

  it("another install whose status page has the same id (its own page, its own components) leaves this install's silences alone", async () => {
    // A page's id is a local name: staging and production, or two teams, may each call theirs
    // "shop". The other install's components are StatusMate's other uuids.
    const am = await startAlertmanager();
    const otherFile = join(dir, 'pages-other-install.yaml');
    writeFileSync(otherFile, PAGES.replaceAll('cccccccc-', 'dddddddd-').replace(SHOP, '0d0d0d0d-8c3d-4a5b-9e7f-1d2c3b4a5f60'));
    const ours = await startExporter(exporterEnv(am.url));
    const other = await startExporter(exporterEnv(am.url, { STATUS_PAGES_FILE: otherFile }));
    const id = 'bbbbbbbb-0000-4000-8000-000000000013';
    const now = Date.now();
    await send(ours, maintenance('maintenance_started', id, new Date(now), new Date(now + hour)));
    const created = await waitFor('two silences', async () => ((await live(am)).length === 2 ? live(am) : undefined), 5_000, 100);
    // The other install has looked at Alertmanager twice since: it saw them, and decided.
    const looks = async () => (await metric(other, 'statusmate_alertmanager_requests_total{operation="list",outcome="ok"}')) ?? 0;
    const before = await looks();
    await waitFor('two more looks of the other install', async () => ((await looks()) >= before + 2 ? true : undefined), 15_000, 200);
    expect((await live(am)).map((silence) => silence.id).sort()).toEqual(created.map((silence) => silence.id).sort());
    expect(await metric(other, 'statusmate_alertmanager_requests_total{operation="expire",outcome="ok"}')).toBe(0);
    expect(await metric(other, 'statusmate_maintenance_silences{state="lingering"}')).toBe(0);
    expect(await metric(ours, 'statusmate_maintenance_silences{state="active"}')).toBe(2);

    await send(ours, maintenance('maintenance_finished', id, new Date(now), new Date(now + hour)));
    await waitFor('the silences to be expired', async () => ((await live(am)).length === 0 ? true : undefined), 5_000, 100);
  }, 40_000);

  it('an exporter on SQLite SIGKILLed mid-maintenance and restarted finds its silences: none twice, none orphaned, expired at the finish', async () => {
    const am = await startAlertmanager();
    const env = exporterEnv(am.url, { STORE: 'sqlite', SQLITE_PATH: join(mkdtempSync(join(dir, 'sqlite-')), 'state.db') });
    const first = await startExporter(env);
    const id = 'bbbbbbbb-0000-4000-8000-000000000008';
    const now = Date.now();
    await send(first, maintenance('maintenance_started', id, new Date(now), new Date(now + hour)));
    await waitFor('two silences', async () => ((await live(am)).length === 2 ? true : undefined), 5_000, 100);
    const ids = (await live(am)).map((silence) => silence.id).sort();
    await stopProcess(first, 'SIGKILL');

    const second = await startExporter(env);
    await waitFor('the restarted exporter to look', async () =>
      (await metric(second, 'statusmate_maintenance_silences{state="active"}')) === 2 ? true : undefined,
    );
    expect((await live(am)).map((silence) => silence.id).sort()).toEqual(ids);
    await send(second, maintenance('maintenance_finished', id, new Date(now), new Date(now + hour)));
    await waitFor('the silences to be expired', async () => ((await live(am)).length === 0 ? true : undefined), 5_000, 100);
  }, 40_000);

  it("a silence the exporter expired (its component's matchers removed) is recreated by the exporter restarted since, once the matchers are back: the note in its comment says whose expiry it was", async () => {
    const am = await startAlertmanager();
    const file = join(dir, 'pages-own-expiry.yaml');
    writeFileSync(file, PAGES);
    const env = exporterEnv(am.url, {
      STORE: 'sqlite',
      SQLITE_PATH: join(mkdtempSync(join(dir, 'sqlite-')), 'state.db'),
      STATUS_PAGES_FILE: file,
      STATUS_PAGES_WATCH_SECONDS: '1',
    });
    const first = await startExporter(env);
    const id = 'bbbbbbbb-0000-4000-8000-000000000009';
    const now = Date.now();
    await send(first, maintenance('maintenance_started', id, new Date(now), new Date(now + hour)));
    await waitFor('two silences', async () => ((await live(am)).length === 2 ? true : undefined), 5_000, 100);
    const checkout = (await live(am)).find((silence) => silence.matchers.some((m) => m.value === 'checkout'));
    writeFileSync(file, PAGES.replace(`        alert_matchers: ['service="checkout"']\n`, ''));
    await waitFor('the checkout silence to be expired', async () => ((await live(am)).length === 1 ? true : undefined), 10_000, 200);
    // Noted in place before its expiry: the same silence, expired by request, with the note.
    const expired = (await silences(am)).find((silence) => silence.id === checkout?.id);
    expect(expired?.status.state).toBe('expired');
    expect(expired?.updatedAt).toBe(expired?.endsAt);
    expect(expired?.comment).toMatch(/\(expired by statusmate-exporter at [0-9T:.-]+Z\) \(stamp [0-9a-f]{12}\) \[statusmate-exporter silence [^\]]+\]$/);
    await stopProcess(first, 'SIGTERM');

    writeFileSync(file, PAGES);
    const second = await startExporter(env);
    await waitFor('the checkout silence again', async () => ((await live(am)).length === 2 ? true : undefined), 10_000, 200);
    expect(await metric(second, 'statusmate_maintenance_silences{state="overridden"}')).toBe(0);
  }, 40_000);

  it('an Alertmanager cluster: created in one peer, seen in both; with one peer down, none created twice; expired at the finish', async () => {
    // Four ports at once: asked one at a time, a web port could be the other peer's gossip port.
    const [gossip0, gossip1, web0, web1] = (await freePorts(4)) as [number, number, number, number];
    const peers = [await startAlertmanager(web0, { listen: gossip0, peers: [gossip1] })];
    peers.push(await startAlertmanager(web1, { listen: gossip1, peers: [gossip0] }));
    const [am0, am1] = peers as [Alertmanager, Alertmanager];
    const exporter = await startExporter(exporterEnv(`${am0.url},${am1.url}`));
    const id = 'bbbbbbbb-0000-4000-8000-000000000006';
    const now = Date.now();
    await send(exporter, maintenance('maintenance_started', id, new Date(now), new Date(now + hour)));
    await waitFor('two silences in the first peer', async () => ((await live(am0)).length === 2 ? true : undefined), 5_000, 100);
    const keys = await liveKeys(am0);
    await waitFor('the second peer to hear them by gossip', async () => ((await liveKeys(am1)).join() === keys.join() ? true : undefined), 20_000, 200);

    await stop(am0.child);
    await new Promise((resolve) => setTimeout(resolve, 6_000)); // more than one reconcile interval
    expect(await liveKeys(am1)).toEqual(keys);
    expect(await metric(exporter, 'statusmate_maintenance_silences{state="active"}')).toBe(2);
    expect(await metric(exporter, 'statusmate_alertmanager_requests_total{operation="create",outcome="ok"}')).toBe(2);

    await send(exporter, maintenance('maintenance_finished', id, new Date(now), new Date(now + hour)));
    await waitFor('the silences to be expired in the peer left', async () => ((await live(am1)).length === 0 ? true : undefined), 5_000, 100);
  }, 60_000);

  it('a reload that changes the matchers of a component replaces its silence; MAINTENANCE_SILENCE_FROM=scheduled silences ahead, from the scheduled start', async () => {
    const am = await startAlertmanager();
    const file = join(dir, 'pages-reloaded.yaml');
    writeFileSync(file, PAGES);
    const exporter = await startExporter(
      exporterEnv(am.url, {
        STATUS_PAGES_FILE: file,
        STATUS_PAGES_WATCH_SECONDS: '1',
        MAINTENANCE_SILENCE_FROM: 'scheduled',
        MAINTENANCE_SILENCE_MARGIN_SECONDS: '60',
      }),
    );
    const id = 'bbbbbbbb-0000-4000-8000-000000000007';
    const start = new Date(Date.now() + hour);
    const end = new Date(Date.now() + 2 * hour);
    await send(exporter, maintenance('maintenance_created', id, start, end));
    const pending = await waitFor('two pending silences', async () => ((await live(am)).length === 2 ? live(am) : undefined), 5_000, 100);
    for (const silence of pending) {
      expect(silence.status.state).toBe('pending');
      expect(Math.abs(Date.parse(silence.endsAt) - (end.getTime() + 60_000))).toBeLessThan(2_000);
    }

    writeFileSync(file, PAGES.replace(`'service="checkout"'`, `'service="checkout-v2"'`));
    await waitFor(
      'the checkout silence to take the new matcher',
      async () => ((await liveByMatchers(am)).join(' ') === 'env=~prod|canary,service=search service=checkout-v2' ? true : undefined),
      10_000,
      200,
    );
    expect(await live(am)).toHaveLength(2);

    // Rescheduled a day later: the pending silences take the new window.
    const later = { start: new Date(Date.now() + 24 * hour), end: new Date(Date.now() + 25 * hour) };
    await send(exporter, maintenance('maintenance_created', id, later.start, later.end));
    await waitFor(
      'the silences to move to the new window',
      async () => ((await live(am)).every((silence) => Math.abs(Date.parse(silence.startsAt) - later.start.getTime()) < 2_000) ? true : undefined),
      10_000,
      200,
    );
    expect(await live(am)).toHaveLength(2);
    // Started early, before its scheduled start: silenced from now, not from the scheduled start.
    await send(exporter, maintenance('maintenance_started', id, later.start, later.end));
    const active = await waitFor(
      'the silences to be active',
      async () => {
        const current = await live(am);
        return current.length === 2 && current.every((silence) => silence.status.state === 'active') ? current : undefined;
      },
      10_000,
      200,
    );
    for (const silence of active) expect(Date.parse(silence.startsAt)).toBeLessThanOrEqual(Date.now());
  }, 45_000);

  describe.skipIf(redisTool.skipReason !== undefined)('replicas sharing a Redis', () => {
    let redis: RedisServer | undefined;
    beforeAll(async () => {
      redis = await startRedis({ appendfsync: 'everysec' });
    });
    afterAll(async () => redis?.stop('SIGKILL'));

    it('two, then three replicas hold exactly one silence per maintenance and component; the leader SIGKILLed, another takes over and expires them at the finish', async () => {
      const am = await startAlertmanager();
      const env = exporterEnv(am.url, { STORE: 'redis', REDIS_URL: (redis as RedisServer).url, REDIS_KEY_PREFIX: 'silences-e2e:' });
      const replicas = [await startExporter(env), await startExporter(env)];
      const one = 'bbbbbbbb-0000-4000-8000-000000000004';
      const two = 'bbbbbbbb-0000-4000-8000-000000000005';
      const now = Date.now();
      await send(replicas[0] as ExporterProcess, maintenance('maintenance_started', one, new Date(now), new Date(now + hour)));
      await send(replicas[1] as ExporterProcess, maintenance('maintenance_started', two, new Date(now), new Date(now + hour)));
      await waitFor('four silences', async () => ((await live(am)).length === 4 ? true : undefined), 5_000, 100);

      replicas.push(await startExporter(env));
      // Over several reconcile intervals, never a duplicate.
      const ids = (await live(am)).map((s) => s.id).sort();
      const deadline = Date.now() + 11_000;
      while (Date.now() < deadline) {
        const current = await live(am);
        const keys = current.map((s) => /silence (\S+)\]/.exec(s.comment)?.[1]);
        expect(keys.length).toBe(4);
        expect(new Set(keys).size).toBe(4);
        // Nothing changed: nothing rewritten.
        expect(current.map((s) => s.id).sort()).toEqual(ids);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const leaders = async () =>
        Promise.all(
          replicas.map((r) =>
            r.child.exitCode === null && r.child.signalCode === null ? metric(r, 'statusmate_maintenance_silences_leader') : Promise.resolve(0),
          ),
        );
      const before = await leaders();
      expect(before.filter((v) => v === 1)).toHaveLength(1);
      const leader = replicas[before.indexOf(1)] as ExporterProcess;
      await stopProcess(leader, 'SIGKILL');
      const others = replicas.filter((r) => r !== leader);
      await waitFor('another replica to take the lease', async () => ((await leaders()).filter((v) => v === 1).length === 1 ? true : undefined), 25_000, 250);
      expect((await live(am)).length).toBe(4);

      await send(others[0] as ExporterProcess, maintenance('maintenance_finished', one, new Date(now), new Date(now + hour)));
      const finished = Date.now();
      await waitFor('the finished maintenance to lose its silences', async () => ((await live(am)).length === 2 ? true : undefined), 5_000, 100);
      expect(Date.now() - finished).toBeLessThan(5_000);
      expect((await live(am)).every((s) => s.comment.includes(two))).toBe(true);
      await send(others[1] as ExporterProcess, maintenance('maintenance_finished', two, new Date(now), new Date(now + hour)));
      await waitFor('no silence left', async () => ((await live(am)).length === 0 ? true : undefined), 5_000, 100);
    }, 90_000);
  });
});
