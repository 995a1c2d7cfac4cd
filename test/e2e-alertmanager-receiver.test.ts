// Alerts measure the status page, end to end: a real Prometheus runs a rule that fires for
// service="checkout" and sends it to a real Alertmanager (Debian's prometheus-alertmanager),
// whose receiver is a real exporter's POST /alertmanager with its bearer token; the exporter's
// status pages file declares a component with alert_matchers: ['service="checkout"']. The alert
// reaches the exporter, statusmate_component_alerts_firing becomes 1, and StatusMate's
// component_impact_updated to major_outage records one observation of the response histogram.
// Everything listens on 127.0.0.1; evaluation and group waits are one second.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { MAIN, postJson, startExporterProcess, stopProcess, type ExporterProcess } from './support/exporter.js';
import { freePort, instantQuery, startPrometheus, stop, waitFor, type Child, type Prometheus } from './support/prometheus.js';
import { sampleValue } from './support/app.js';
import { findAlertmanager, startAlertmanager } from './support/alertmanager.js';
import { findBinary } from './support/tools.js';

const alertmanagerTool = findAlertmanager();
const prometheusTool = findBinary('prometheus', [process.env.PROMETHEUS_2_BIN, '/usr/bin/prometheus'], 'apt-get install -y prometheus (Debian/Ubuntu)');
const built = existsSync(MAIN);
if (!built) {
  const reason = `${MAIN} is missing; run npm run build first (npm test does)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`[skipped] the end-to-end Alertmanager receiver suite: ${reason}`);
}

const WEBHOOK_TOKEN = 'e2e-statusmate-token-0123';
const AM_TOKEN = 'e2e-alertmanager-receiver-token-4567';
const CHECKOUT = '0b7f3f5e-6a51-4c1e-9d3c-5a0e8f1b2c3d';

describe.skipIf(alertmanagerTool.skipReason !== undefined || prometheusTool.skipReason !== undefined || !built)(
  "a real Alertmanager's alerts measure the status page",
  () => {
    let alertmanager: Child | undefined;
    let exporter: ExporterProcess | undefined;
    let prometheus: Prometheus | undefined;
    let dir = '';
    let amUrl = '';
    const metrics = async () => {
      const response = await fetch(`${exporter?.url ?? ''}/metrics`, { headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` } });
      return response.text();
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'statusmate-am-receiver-'));
      const statusPages = join(dir, 'status-pages.yaml');
      writeFileSync(
        statusPages,
        stringifyYaml({ status_pages: [{ id: 'shop', components: [{ uuid: CHECKOUT, name: 'Checkout', alert_matchers: ['service="checkout"'] }] }] }),
      );
      exporter = await startExporterProcess({
        STORE: 'memory',
        WEBHOOK_TOKEN,
        ALERTMANAGER_WEBHOOK_TOKEN: AM_TOKEN,
        STATUS_PAGES_FILE: statusPages,
      });

      const amPort = await freePort();
      amUrl = `http://127.0.0.1:${amPort}`;
      alertmanager = await startAlertmanager(alertmanagerTool, {
        storage: dir,
        port: amPort,
        config: stringifyYaml({
          route: { receiver: 'statusmate', group_by: ['alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
          receivers: [
            {
              name: 'statusmate',
              webhook_configs: [
                {
                  url: `${exporter.url}/alertmanager`,
                  send_resolved: true,
                  http_config: { authorization: { type: 'Bearer', credentials: AM_TOKEN } },
                },
              ],
            },
          ],
        }),
      });

      const rules = join(dir, 'checkout.rules.yml');
      writeFileSync(
        rules,
        stringifyYaml({
          groups: [{ name: 'checkout', rules: [{ alert: 'CheckoutDown', expr: 'vector(1)', labels: { service: 'checkout', severity: 'critical' } }] }],
        }),
      );
      prometheus = await startPrometheus(prometheusTool.path ?? 'prometheus', {
        ruleFiles: [rules],
        alertmanagers: [`127.0.0.1:${amPort}`],
        // Prometheus finds its Alertmanager a moment after its first evaluation, and would resend
        // the alert dropped then only a minute later.
        args: ['--rules.alert.resend-delay=1s'],
        scrapeConfigs: ['  - job_name: statusmate-exporter', '    static_configs:', `      - targets: ["127.0.0.1:${exporter.port}"]`].join('\n'),
      });
    }, 60_000);

    afterAll(async () => {
      await prometheus?.close();
      await stop(alertmanager);
      await stopProcess(exporter);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the alert reaches the exporter, counts against the component, and the outage posted after it is one response observation', async () => {
      const firing = await waitFor(
        'the alert to reach the exporter through Alertmanager',
        async () => sampleValue(await metrics(), 'statusmate_component_alerts_firing', { status_page: 'shop', component_uuid: CHECKOUT }),
        30_000,
      ).catch(async (error: unknown) => {
        const text = await metrics();
        const said = text.split('\n').filter((line) => line.startsWith('statusmate_alertmanager_'));
        said.push(await (await fetch(`${prometheus?.url ?? ''}/api/v1/alerts`)).text());
        said.push(await (await fetch(`${amUrl}/api/v2/alerts`)).text());
        throw new Error(
          `${String(error)}\nexporter: ${said.join('\n')}\n${JSON.stringify(exporter?.logs.slice(-10))}\nalertmanager: ${alertmanager?.output() ?? ''}\nprometheus: ${prometheus?.output() ?? ''}`,
        );
      });
      expect(firing).toBe(1);
      let text = await metrics();
      expect(sampleValue(text, 'statusmate_alertmanager_notifications_total', { outcome: 'stored' })).toBeGreaterThanOrEqual(1);
      expect(sampleValue(text, 'statusmate_alertmanager_notifications_total', { outcome: 'unauthorized' })).toBe(0);
      // The page's histogram is there at 0 from its first alert, before the page speaks: a series
      // born at 1 would hide the page's first response from increase(), which the dashboards read.
      expect(sampleValue(text, 'statusmate_status_page_response_seconds_count', { status_page: 'shop' })).toBe(0);
      const count = 'statusmate_status_page_response_seconds_count{job="statusmate-exporter", status_page="shop"}';
      await waitFor('Prometheus to scrape the histogram at 0', async () => {
        const result = await instantQuery(prometheus?.url ?? '', `count_over_time(${count}[1m]) >= 2 and max_over_time(${count}[1m]) == 0`);
        return result.ok && result.samples.length === 1 ? true : undefined;
      });

      const response = await postJson(
        `${exporter?.url ?? ''}/webhook`,
        { text: 'Checkout', meta: { title: 'Checkout', uuid: CHECKOUT, type: 'component_impact_updated', impact: 'major_outage' } },
        { authorization: `Bearer ${WEBHOOK_TOKEN}` },
      );
      expect(response.status).toBe(200);
      text = await metrics();
      expect(sampleValue(text, 'statusmate_status_page_response_seconds_count', { status_page: 'shop' })).toBe(1);
      // The page spoke within seconds of the alert's start (Alertmanager's startsAt, from Prometheus).
      expect(sampleValue(text, 'statusmate_status_page_response_seconds_bucket', { status_page: 'shop', le: '120' })).toBe(1);
      expect(sampleValue(text, 'statusmate_component_alerts_firing', { status_page: 'shop', component_uuid: CHECKOUT })).toBe(1);
      // What the overview's "Time to communicate" reads: the increase sees the first response.
      const increase = await waitFor(
        'increase() of the response count to see the observation',
        async () => {
          const result = await instantQuery(prometheus?.url ?? '', `increase(${count}[1m])`);
          const value = result.ok ? result.samples[0]?.value : undefined;
          return value !== undefined && value > 0 ? value : undefined;
        },
        15_000,
      );
      expect(increase).toBeGreaterThan(0);
      expect(exporter?.logs.filter((line) => line.level === 'error' || line.level === 'fatal' || 'stderr' in line)).toEqual([]);
    }, 60_000);
  },
);
