// One outage, one page, end to end: a real exporter receives a StatusMate webhook that puts one
// component in a major outage; a real Prometheus scrapes it and runs the shipped rules; a real
// Alertmanager (Debian's prometheus-alertmanager) runs prometheus/alertmanager.example.yml and
// notifies a webhook receiver in this test. Everything listens on 127.0.0.1.
//
// To keep it short, the rules are the shipped file with every `for` and `keep_firing_for` a
// sixtieth as long (1m becomes 1s, 3m 3s), and the example's group_wait and group_interval are
// 1s. Expressions, windows, labels, routes and inhibitions are the shipped ones.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { MAIN, postJson, startExporterProcess, stopProcess, type ExporterProcess } from './support/exporter.js';
import {
  ROOT,
  RULES_FILE,
  allRules,
  freePort,
  loadRules,
  startPrometheus,
  stop,
  waitFor,
  type Child,
  type Prometheus,
  type Rule,
} from './support/prometheus.js';
import { findAlertmanager, startAlertmanager } from './support/alertmanager.js';
import { findBinary } from './support/tools.js';
import { durationSeconds } from '../mixin/config.js';

const alertmanagerTool = findAlertmanager();
const prometheusTool = findBinary('prometheus', [process.env.PROMETHEUS_2_BIN, '/usr/bin/prometheus'], 'apt-get install -y prometheus (Debian/Ubuntu)');
const built = existsSync(MAIN);
if (!built) {
  const reason = `${MAIN} is missing; run npm run build first (npm test does)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`[skipped] the end-to-end Alertmanager suite: ${reason}`);
}

const EXAMPLE = join(ROOT, 'prometheus', 'alertmanager.example.yml');
const TOKEN = 'e2e-alertmanager-token-0123';
const PAGE = 'e2e-page';
const COMPONENT = '00000000-0000-4000-8000-000000000001';

/** The shipped rules with every duration of `for` and `keep_firing_for` a sixtieth as long. */
function fasterRules(text: string): string {
  return text.replace(/^(\s+(?:for|keep_firing_for): )(\d+)([smh])$/gm, (_whole, key: string, amount: string, unit: string) => {
    if (unit === 's') return `${key}${Math.max(1, Math.round(Number(amount) / 60))}s`;
    return `${key}${amount}${unit === 'm' ? 's' : 'm'}`;
  });
}

const exampleSchema = z
  .object({
    route: z.record(z.string(), z.unknown()),
    inhibit_rules: z.array(z.unknown()),
    receivers: z.array(z.object({ name: z.string(), webhook_configs: z.array(z.object({ url: z.string() }).loose()) }).loose()),
  })
  .loose();

/** The example with its receivers pointed at `baseUrl/<receiver>` and its waits at one second. */
function testConfig(baseUrl: string): string {
  const example = exampleSchema.parse(parseYaml(readFileSync(EXAMPLE, 'utf8')));
  return stringifyYaml({
    ...example,
    route: { ...example.route, group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
    receivers: example.receivers.map((receiver) => ({
      ...receiver,
      webhook_configs: receiver.webhook_configs.map((config) => ({ ...config, url: `${baseUrl}/${receiver.name}`, send_resolved: false })),
    })),
  });
}

const notificationSchema = z.object({
  receiver: z.string(),
  status: z.string(),
  alerts: z.array(z.object({ status: z.string(), labels: z.record(z.string(), z.string()) })),
});
type Notification = z.infer<typeof notificationSchema>;

const amAlertsSchema = z.array(
  z.object({ labels: z.record(z.string(), z.string()), status: z.object({ state: z.string(), inhibitedBy: z.array(z.string()) }) }),
);

describe.skipIf(alertmanagerTool.skipReason !== undefined || prometheusTool.skipReason !== undefined || !built)(
  'the Alertmanager example fed by Prometheus running the shipped rules against an exporter',
  () => {
    const notifications: Array<{ path: string; body: Notification }> = [];
    let receiver: Server | undefined;
    let alertmanager: Child | undefined;
    let alertmanagerUrl = '';
    let exporter: ExporterProcess | undefined;
    let prometheus: Prometheus | undefined;
    let dir = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'statusmate-alertmanager-'));
      receiver = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        request.on('end', () => {
          notifications.push({ path: request.url ?? '', body: notificationSchema.parse(JSON.parse(body)) });
          response.writeHead(200).end();
        });
      });
      const receiverPort = await freePort();
      await new Promise<void>((resolve) => receiver?.listen(receiverPort, '127.0.0.1', resolve));

      const amPort = await freePort();
      alertmanagerUrl = `http://127.0.0.1:${amPort}`;
      alertmanager = await startAlertmanager(alertmanagerTool, { storage: dir, port: amPort, config: testConfig(`http://127.0.0.1:${receiverPort}`) });

      exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: TOKEN, DEFAULT_STATUS_PAGE: PAGE });
      const rulesFile = join(dir, 'statusmate.rules.yml');
      writeFileSync(rulesFile, fasterRules(readFileSync(RULES_FILE, 'utf8')));
      prometheus = await startPrometheus(prometheusTool.path ?? 'prometheus', {
        ruleFiles: [rulesFile],
        alertmanagers: [`127.0.0.1:${amPort}`],
        scrapeConfigs: ['  - job_name: statusmate-exporter', '    static_configs:', `      - targets: ["127.0.0.1:${exporter.port}"]`].join('\n'),
      });
      await waitFor('Prometheus to scrape the exporter', async () => {
        const response = await fetch(`${prometheus?.url ?? ''}/api/v1/query?query=${encodeURIComponent('up{job="statusmate-exporter"} == 1')}`);
        const body = (await response.json()) as { data: { result: unknown[] } };
        return body.data.result.length === 1 ? true : undefined;
      });

      const response = await postJson(
        `${exporter.url}/webhook`,
        { text: 'API', meta: { title: 'API', uuid: COMPONENT, type: 'component_impact_updated', impact: 'major_outage' } },
        { authorization: `Bearer ${TOKEN}` },
      );
      expect(response.status).toBe(200);
    }, 60_000);

    afterAll(async () => {
      await prometheus?.close();
      await stopProcess(exporter);
      await stop(alertmanager);
      await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('one major outage of one component reaches the pager as exactly one critical notification, its burn-rate alerts inhibited', async () => {
      // Both page-level burn-rate alerts fire in Prometheus after the outage alert, and reach
      // Alertmanager, which mutes them: by then, anything that was to notify has notified.
      const burns = await waitFor(
        'both page-level burn-rate alerts to reach Alertmanager, inhibited',
        async () => {
          const response = await fetch(`${alertmanagerUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="StatusMateComponentErrorBudgetBurn"')}`);
          const alerts = amAlertsSchema.parse(await response.json());
          const windows = alerts.map((alert) => `${alert.labels.long_window} ${alert.status.state} ${alert.status.inhibitedBy.length}`).sort();
          return windows.length === 2 ? windows : undefined;
        },
        60_000,
      );
      expect(burns).toEqual(['1h suppressed 1', '6h suppressed 1']);
      await waitFor('the page to arrive', () => Promise.resolve(notifications.length > 0 ? true : undefined), 20_000);

      expect(notifications.map(({ path, body }) => ({ path, receiver: body.receiver, status: body.status, alerts: body.alerts.length }))).toEqual([
        { path: '/pager', receiver: 'pager', status: 'firing', alerts: 1 },
      ]);
      expect(notifications[0]?.body.alerts[0]?.labels).toEqual({
        alertname: 'StatusMateComponentMajorOutage',
        severity: 'critical',
        job: 'statusmate-exporter',
        status_page: PAGE,
        component_uuid: COMPONENT,
      });
    }, 90_000);

    it("mutes every other alert of an install while its StatusMateExporterDown fires, and no other install's", async () => {
      // Alerts as Prometheus would send them, for two installs this test makes up.
      const job = 'statusmate-exporter-made-up';
      const endsAt = new Date(Date.now() + 3_600_000).toISOString();
      const alert = (labels: Record<string, string>) => ({ labels: { job, severity: 'critical', ...labels }, endsAt });
      const major = (namespace: string) => alert({ alertname: 'StatusMateComponentMajorOutage', namespace, status_page: 'made-up', component_uuid: COMPONENT });
      const send = async (alerts: unknown[]) => {
        const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(alerts),
        });
        expect(response.status).toBe(200);
      };
      const paged = () =>
        notifications
          .flatMap(({ path, body }) =>
            body.alerts.filter((a) => a.labels.job === job).map((a) => `${path} ${a.labels.alertname ?? ''} ${a.labels.namespace ?? ''}`),
          )
          .sort();
      // The exporter goes down first, as it does for real (the component alerts outlive it by
      // their keep_firing_for at most); once it has paged, Alertmanager's inhibitor knows it.
      await send([alert({ alertname: 'StatusMateExporterDown', namespace: 'down' })]);
      await waitFor('the exporter-down alert to page', () => Promise.resolve(paged().length > 0 ? true : undefined));
      await send([major('down'), major('up')]);

      const states = await waitFor('the made-up alerts to be in Alertmanager', async () => {
        const answer = await fetch(`${alertmanagerUrl}/api/v2/alerts?filter=${encodeURIComponent(`job="${job}"`)}`);
        const alerts = amAlertsSchema.parse(await answer.json());
        return alerts.length === 3 ? alerts.map((a) => `${a.labels.alertname ?? ''} ${a.labels.namespace ?? ''} ${a.status.state}`).sort() : undefined;
      });
      expect(states).toEqual([
        'StatusMateComponentMajorOutage down suppressed',
        'StatusMateComponentMajorOutage up active',
        'StatusMateExporterDown down active',
      ]);
      const both = await waitFor('the other install to page', () => Promise.resolve(paged().length >= 2 ? paged() : undefined));
      expect(both).toEqual(['/pager StatusMateComponentMajorOutage up', '/pager StatusMateExporterDown down']);
    }, 30_000);

    it('the rules it ran are the shipped ones, with every for and keep_firing_for a sixtieth as long', () => {
      const shipped = allRules(loadRules(RULES_FILE));
      const dir = mkdtempSync(join(tmpdir(), 'statusmate-faster-'));
      try {
        writeFileSync(join(dir, 'faster.yml'), fasterRules(readFileSync(RULES_FILE, 'utf8')));
        const faster = allRules(loadRules(join(dir, 'faster.yml')));
        const strip = (rule: Rule) => ({ ...rule, for: undefined, keep_firing_for: undefined });
        expect(faster.map(strip)).toEqual(shipped.map(strip));
        const sixtieth = (value: string | undefined) => (value === undefined ? 0 : durationSeconds(value) / 60);
        expect(faster.map((rule) => [durationSeconds(rule.for ?? '0s'), durationSeconds(rule.keep_firing_for ?? '0s')])).toEqual(
          shipped.map((rule) => [sixtieth(rule.for), sixtieth(rule.keep_firing_for)]),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
