// Alertmanager sends an alert group_wait after it starts (30 s by default) and its resolution at
// the group's next flush (group_interval, 5 minutes by default): a status page quicker than that
// has spoken before the exporter hears of the alert. A real Alertmanager (Debian's
// prometheus-alertmanager) is given alerts as Prometheus gives them (POST /api/v2/alerts) and
// sends them to a real exporter's POST /alertmanager; the page's events carry their own times
// (created_at), so every observation is exact, whenever the notification comes.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { findAlertmanager, startAlertmanager } from './support/alertmanager.js';
import { sampleValue } from './support/app.js';
import { MAIN, postJson, startExporterProcess, stopProcess, type ExporterProcess } from './support/exporter.js';
import { freePort, stop, waitFor, type Child } from './support/prometheus.js';

const alertmanagerTool = findAlertmanager();
const built = existsSync(MAIN);
if (!built) {
  const reason = `${MAIN} is missing; run npm run build first (npm test does)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`[skipped] the Alertmanager notification delay suite: ${reason}`);
}

const WEBHOOK_TOKEN = 'e2e-delay-statusmate-token-0123';
const AM_TOKEN = 'e2e-delay-alertmanager-token-4567';
const PAGE = 'a3c1e0f2-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const CHECKOUT = '0b7f3f5e-6a51-4c1e-9d3c-5a0e8f1b2c3d';
const INCIDENT = '7d2e9c41-3b5a-4f6e-8d7c-1a2b3c4d5e6f';

/** A real Alertmanager on `port` whose one receiver is the exporter's POST /alertmanager, grouping by alertname. */
async function startReceivingAlertmanager(dir: string, exporterUrl: string, port: number, groupInterval: string): Promise<Child> {
  return startAlertmanager(alertmanagerTool, {
    storage: dir,
    port,
    config: stringifyYaml({
      route: { receiver: 'statusmate', group_by: ['alertname'], group_wait: '1s', group_interval: groupInterval, repeat_interval: '1h' },
      receivers: [
        {
          name: 'statusmate',
          webhook_configs: [
            { url: `${exporterUrl}/alertmanager`, send_resolved: true, http_config: { authorization: { type: 'Bearer', credentials: AM_TOKEN } } },
          ],
        },
      ],
    }),
  });
}

/**
 * An exporter (memory store) whose page `shop` has Checkout with alert_matchers, and a real
 * Alertmanager sending to it every `groupInterval`; `env` gets Alertmanager's URL.
 */
function setUp(groupInterval: string, env: (amUrl: string) => Record<string, string> = () => ({})) {
  let alertmanager: Child | undefined;
  let exporter: ExporterProcess | undefined;
  let dir = '';
  let amUrl = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'statusmate-am-delay-'));
    const statusPages = join(dir, 'status-pages.yaml');
    writeFileSync(
      statusPages,
      stringifyYaml({ status_pages: [{ id: 'shop', uuid: PAGE, components: [{ uuid: CHECKOUT, name: 'Checkout', alert_matchers: ['service="checkout"'] }] }] }),
    );
    const amPort = await freePort();
    amUrl = `http://127.0.0.1:${amPort}`;
    exporter = await startExporterProcess({
      STORE: 'memory',
      WEBHOOK_TOKEN,
      ALERTMANAGER_WEBHOOK_TOKEN: AM_TOKEN,
      STATUS_PAGES_FILE: statusPages,
      ...env(amUrl),
    });
    alertmanager = await startReceivingAlertmanager(dir, exporter.url, amPort, groupInterval);
  }, 60_000);
  afterAll(async () => {
    await stop(alertmanager);
    await stopProcess(exporter);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const metrics = async () => (await fetch(`${exporter?.url ?? ''}/metrics`, { headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` } })).text();
  return {
    logs: () => exporter?.logs ?? [],
    value: async (name: string) => sampleValue(await metrics(), name, { status_page: 'shop' }),
    firing: async () => sampleValue(await metrics(), 'statusmate_component_alerts_firing', { status_page: 'shop', component_uuid: CHECKOUT }),
    /** The page's word on Checkout, at `createdAt` (ms). */
    incident: async (type: 'incident_created' | 'incident_finished', impact: string, createdAt: number) => {
      const response = await postJson(
        `${exporter?.url ?? ''}/webhook`,
        {
          meta: {
            type,
            uuid: INCIDENT,
            title: 'Checkout down',
            status_page: PAGE,
            created_at: new Date(createdAt).toISOString(),
            start_at: new Date(createdAt).toISOString(),
            end_at: null,
            affected_components: [{ impact, component_details: { name: 'Checkout', impact, component_uuid: CHECKOUT } }],
          },
        },
        { authorization: `Bearer ${WEBHOOK_TOKEN}` },
      );
      expect(response.status).toBe(200);
      expect(((await response.json()) as { status: string }).status).toBe('applied');
    },
    /** Gives Alertmanager the alert, as Prometheus does (with endsAt in the past: resolved). */
    alert: async (startsAt: number, endsAt?: number) => {
      const body = [
        {
          labels: { alertname: 'CheckoutDown', service: 'checkout', severity: 'critical' },
          startsAt: new Date(startsAt).toISOString(),
          ...(endsAt === undefined ? {} : { endsAt: new Date(endsAt).toISOString() }),
        },
      ];
      const response = await postJson(`${amUrl}/api/v2/alerts`, body);
      expect(response.status).toBe(200);
    },
  };
}

const errorLines = (logs: Record<string, unknown>[]) => logs.filter((line) => line.level === 'error' || line.level === 'fatal' || 'stderr' in line);

describe.skipIf(alertmanagerTool.skipReason !== undefined || !built)('a status page quicker than Alertmanager’s notifications', () => {
  const t = setUp('1s');
  /** When the first test's page left operational (ms). */
  let outageAt = 0;

  it('an outage the page posted after the alert started, before Alertmanager sent it, is one response observation from the alert’s start', async () => {
    const now = Date.now();
    outageAt = now;
    // The alert started 6 s ago; the page says major_outage now, before the alert reaches the
    // exporter (here for certain: Alertmanager is given the alert only after).
    await t.incident('incident_created', 'major_outage', now);
    await t.alert(now - 6_000);
    await waitFor('the alert to reach the exporter', async () => ((await t.firing()) === 1 ? true : undefined), 15_000);
    expect(await t.value('statusmate_status_page_response_seconds_count')).toBe(1);
    expect(await t.value('statusmate_status_page_response_seconds_sum')).toBeCloseTo(6, 3);
  }, 30_000);

  it('the page back to operational after the alert resolved, before Alertmanager sent the resolution, is one recovery observation', async () => {
    const now = Date.now();
    // The alert resolved 3 s ago, after the page spoke (else the page had nothing to recover
    // from); the page says operational now, before the resolution reaches the exporter.
    const endedAt = Math.max(now - 3_000, outageAt + 1);
    await t.incident('incident_finished', 'operational', now);
    await t.alert(now - 6_000, endedAt);
    await waitFor('the resolution to reach the exporter', async () => ((await t.firing()) === undefined ? true : undefined), 15_000);
    expect(await t.value('statusmate_status_page_recovery_lag_seconds_count')).toBe(1);
    expect(await t.value('statusmate_status_page_recovery_lag_seconds_sum')).toBeCloseTo((now - endedAt) / 1000, 3);
    // Observed once, and the response of the first test stays the only one.
    expect(await t.value('statusmate_status_page_response_seconds_count')).toBe(1);
    expect(errorLines(t.logs())).toEqual([]);
  }, 30_000);
});

describe.skipIf(alertmanagerTool.skipReason !== undefined || !built)('the look at Alertmanager’s alerts and a resolution on its way', () => {
  // Looks every second; the resolution comes at the group's next flush, 12 s after the last.
  const t = setUp('12s', (amUrl) => ({ ALERTMANAGER_URL: amUrl, ALERTMANAGER_ALERTS_CHECK_SECONDS: '1' }));

  it('does not let go of an alert Alertmanager notified of: its resolution, with its end, measures the recovery', async () => {
    const start = Date.now();
    await t.alert(start - 6_000);
    await waitFor('the alert to reach the exporter', async () => ((await t.firing()) === 1 ? true : undefined), 15_000);
    await t.incident('incident_created', 'major_outage', Date.now());
    const resolved = Date.now();
    await t.alert(start - 6_000, resolved);
    // Back 2 s after the alert's end; the looks (every second) miss it long before the resolution comes.
    await t.incident('incident_finished', 'operational', resolved + 2_000);
    await waitFor('the resolution to reach the exporter', async () => ((await t.firing()) === undefined ? true : undefined), 30_000);
    expect(t.logs().filter((line) => line.msg === 'let go of held alerts that Alertmanager no longer has (resolved unseen, under a silence)')).toEqual([]);
    expect(await t.value('statusmate_status_page_recovery_lag_seconds_count')).toBe(1);
    expect(await t.value('statusmate_status_page_recovery_lag_seconds_sum')).toBeCloseTo(2, 3);
    expect(errorLines(t.logs())).toEqual([]);
  }, 45_000);
});
