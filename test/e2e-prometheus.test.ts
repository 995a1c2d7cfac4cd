// End to end: two real exporter processes (two replicas of one deployment) receive a scripted
// sequence of StatusMate webhooks, a real Prometheus scrapes both every second and evaluates the
// rules file, and every dashboard query and rule expression runs through Prometheus' HTTP API.
// The whole suite runs twice: against Debian's Prometheus 2.42, and against a current 3.x (built
// with `go install`, see .ci/run) that scrapes OpenMetrics and ingests created timestamps.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORDED } from '../grafana/src/common.js';
import { DASHBOARDS } from '../grafana/src/dashboards.js';
import { METRIC } from '../src/metrics/names.js';
import {
  ROOT,
  RULES_FILE,
  allRules,
  dashboardQueries,
  loadRules,
  fillVariables,
  freePort,
  instantQuery,
  rangeQuery,
  spawnLogged,
  startPrometheus,
  stop,
  variableQueries,
  waitFor,
  type Child,
  type Prometheus,
  type Sample,
} from './support/prometheus.js';
import { findBinary, goBinDir } from './support/tools.js';

/** The two Prometheus versions users run: Debian's 2.42 (2023), and a current 3.x. */
const TARGETS = [
  {
    name: 'Prometheus 2.42',
    tool: findBinary('prometheus 2.x', [process.env.PROMETHEUS_2_BIN, '/usr/bin/prometheus'], 'apt-get install -y prometheus (Debian/Ubuntu)'),
    v3: false,
  },
  {
    name: 'Prometheus 3.x',
    tool: findBinary(
      'prometheus 3.x',
      [process.env.PROMETHEUS_3_BIN, ...(goBinDir() === undefined ? [] : [join(goBinDir() ?? '', 'prometheus')])],
      'go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0 (or set PROMETHEUS_3_BIN)',
    ),
    v3: true,
  },
] as const;
const MAIN = join(ROOT, 'dist', 'main.js');
const built = existsSync(MAIN);
if (!built) {
  const reason = `${MAIN} is missing; run npm run build first (npm test does)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`[skipped] the end-to-end Prometheus suite: ${reason}`);
}

const TOKEN = 'e2e-token-0123456789';
const AM_TOKEN = 'e2e-alertmanager-token-0123456789';
const JOB = 'statusmate-exporter';
/** The seed's status page; the seed examples without one land here through DEFAULT_STATUS_PAGE. */
const PAGE = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const OTHER_PAGE = 'e2e-other-page';
/** The overview's stats of durations measured over the range: empty while nothing was measured in it. */
const DURATION_PANELS = ['Incident duration', 'Maintenance duration', 'Time to communicate', 'Recovery lag'];

type Exporter = Child & { url: string; port: number };

/**
 * PAGE declares the components whose Alertmanager alerts are measured (the rest it learns from
 * the webhooks, as without a file): Website, Search, CDN and the seed's Component, each by a
 * `service` label. API is not declared: it has no history before its major outage.
 */
function statusPagesFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'statusmate-e2e-')), 'status-pages.json');
  const declared = (n: number, name: string, service: string) => ({ uuid: uuid(n), name, alert_matchers: [`service="${service}"`] });
  writeFileSync(
    file,
    JSON.stringify({
      status_pages: [
        {
          id: PAGE,
          components: [
            declared(2, 'Website', 'website'),
            declared(3, 'Search', 'search'),
            declared(6, 'CDN', 'cdn'),
            // The seed incident's component (degraded_performance), whose alerts never fire.
            { uuid: '88337a51-852b-48f3-ac8d-840e5f5326a0', name: 'Component', alert_matchers: ['service="component"'] },
          ],
        },
      ],
    }),
  );
  return file;
}

async function startExporter(name: string, file: string): Promise<Exporter> {
  const port = await freePort();
  const child = spawnLogged(process.execPath, [MAIN], {
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    PORT: String(port),
    STORE: 'memory',
    WEBHOOK_TOKEN: TOKEN,
    DEFAULT_STATUS_PAGE: PAGE,
    ALERTMANAGER_WEBHOOK_TOKEN: AM_TOKEN,
    STATUS_PAGES_FILE: file,
    LEARN_STATUS_PAGES: 'true',
    LOG_LEVEL: 'warn',
    BUILD_REVISION: `e2e-${name}`,
    // An Alertmanager that never answers (nothing listens there): the silence families exist,
    // for the dashboard's panels, and no silence is desired.
    ALERTMANAGER_URL: 'http://127.0.0.1:9',
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`exporter ${name} to be ready`, async () => {
      if (child.process.exitCode !== null) throw new Error(`exporter exited with ${child.process.exitCode}:\n${child.output()}`);
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      return response.ok ? true : undefined;
    });
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { ...child, url, port };
}

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', name), 'utf8'));
}

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
/** One reference time for the whole sequence, so durations between its events are exact. */
const NOW = Math.floor(Date.now() / 1000) * 1000;
const iso = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();

function componentEvent(n: number, name: string, impact: string, extra: Record<string, unknown> = {}): unknown {
  return { text: name, meta: { title: name, uuid: uuid(n), type: 'component_impact_updated', impact, ...extra } };
}

function maintenanceEvent(type: string, n: number, title: string, window: [number, number], component: [number, string], createdAt?: number): unknown {
  return {
    text: title,
    meta: {
      title,
      uuid: uuid(n),
      type,
      ...(createdAt === undefined ? {} : { created_at: iso(createdAt) }),
      start_at: iso(window[0]),
      end_at: iso(window[1]),
      affected_components: [
        { impact: 'under_maintenance', component_details: { name: component[1], impact: 'under_maintenance', component_uuid: uuid(component[0]) } },
      ],
    },
  };
}

/** Alertmanager's notification (payload version 4) of one alert for a `service`. */
function alertNotification(fingerprint: string, service: string, status: 'firing' | 'resolved', startsAt: number, endsAt?: number): unknown {
  return {
    version: '4',
    groupKey: `{}:{service="${service}"}`,
    status,
    receiver: 'statusmate-exporter',
    groupLabels: { service },
    commonLabels: { alertname: 'ServiceDown', service },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status,
        labels: { alertname: 'ServiceDown', service },
        annotations: {},
        startsAt: iso(startsAt),
        endsAt: endsAt === undefined ? '0001-01-01T00:00:00Z' : iso(endsAt),
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint,
      },
    ],
  };
}

/**
 * The scripted sequence: every event type, the seed's four examples first. Posted to both
 * replicas, as if both had received every event, so their domain metrics agree.
 */
const SEQUENCE: Array<{ what: string; body: unknown; query?: string; path?: string }> = [
  // Alerts the page has not told yet: Website's (it goes to a partial outage below), Search's (it never does).
  { what: "Alertmanager: Website's alert fires", body: alertNotification('a0000000000000a2', 'website', 'firing', -900), path: '/alertmanager' },
  { what: "Alertmanager: Search's alert fires", body: alertNotification('a0000000000000a3', 'search', 'firing', -600), path: '/alertmanager' },
  { what: 'seed: incident_created (general example)', body: fixture('seed-incident-created-example.json') },
  { what: 'seed: maintenance_created', body: fixture('seed-maintenance-created.json') },
  { what: 'seed: incident_created', body: fixture('seed-incident-created.json') },
  { what: 'seed: component_impact_updated', body: fixture('seed-component-impact-updated.json') },
  { what: 'API in a major outage', body: componentEvent(1, 'API', 'major_outage') },
  { what: 'Website in a partial outage', body: componentEvent(2, 'Website', 'partial_outage') },
  { what: 'Search operational', body: componentEvent(3, 'Search', 'operational') },
  { what: 'Legacy at an impact the exporter does not know', body: componentEvent(4, 'Legacy', 'under_investigation') },
  {
    what: 'the general example incident finishes one hour after it was created',
    body: {
      text: 'Incident caption',
      meta: {
        title: 'Incident caption',
        uuid: 'cd5879b7-104e-4c20-ae84-39e4e26a6eb7',
        type: 'incident_finished',
        created_at: '2023-05-19T19:43:00+03:00',
        end_at: '2023-05-19T19:43:00+03:00',
        status_page: PAGE,
      },
    },
  },
  {
    what: 'a maintenance that should have ended an hour ago is created',
    body: maintenanceEvent('maintenance_created', 10, 'Database upgrade', [-7200, -3600], [5, 'Database']),
  },
  { what: '… and started', body: maintenanceEvent('maintenance_started', 10, 'Database upgrade', [-7200, -3600], [5, 'Database']) },
  { what: 'a maintenance is created', body: maintenanceEvent('maintenance_created', 11, 'CDN switch', [-3600, -600], [6, 'CDN'], -3600) },
  {
    what: "Alertmanager: CDN's alert fires before the maintenance starts",
    body: alertNotification('a0000000000000a6', 'cdn', 'firing', -2400),
    path: '/alertmanager',
  },
  { what: '… started', body: maintenanceEvent('maintenance_started', 11, 'CDN switch', [-3600, -600], [6, 'CDN'], -1800) },
  { what: "Alertmanager: CDN's alert resolves", body: alertNotification('a0000000000000a6', 'cdn', 'resolved', -2400, -1200), path: '/alertmanager' },
  { what: '… and finished 20 minutes later', body: maintenanceEvent('maintenance_finished', 11, 'CDN switch', [-3600, -600], [6, 'CDN'], -600) },
  {
    // The page's first event is an incident: its counter appears already at 1.
    what: "another status page's first event: an incident that puts its component Other in a major outage",
    body: {
      text: 'Other is down',
      meta: {
        title: 'Other is down',
        uuid: uuid(20),
        type: 'incident_created',
        created_at: iso(0),
        affected_components: [{ impact: 'major_outage', component_details: { name: 'Other', impact: 'major_outage', component_uuid: uuid(7) } }],
      },
    },
    query: `?status_page=${OTHER_PAGE}`,
  },
];

/** Expected impact level of each component of PAGE after the sequence. */
const LEVELS: Record<string, number> = {
  Component: 2, // the seed incident's affected component, degraded_performance
  'Component Name': 1, // the seed component_impact_updated
  'Component name': 0, // announced by the seed maintenance_created: scheduled, so operational
  API: 4,
  Website: 3,
  Search: 0,
  Legacy: -1,
  Database: 1, // in the maintenance in progress
  CDN: 0, // back to operational when its maintenance finished
};

async function post(exporter: Exporter, body: unknown, options: { token?: string; query?: string; raw?: string; path?: string } = {}): Promise<number> {
  const path = options.path ?? '/webhook';
  const response = await fetch(`${exporter.url}${path}${options.query ?? ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token ?? (path === '/alertmanager' ? AM_TOKEN : TOKEN)}` },
    body: options.raw ?? JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

function suite(target: (typeof TARGETS)[number]): void {
  const replicas: Exporter[] = [];
  let prometheus: Prometheus | undefined;
  /** When the scripted sequence began and ended (Unix seconds): every page's last webhook of it was stored between the two. */
  let sequenceStart = 0;
  let sequenceEnd = 0;
  const VARIABLES = { status_page: PAGE, cluster: '.*', namespace: '.*', job: JOB, datasource: 'prometheus', __range: '5m' };

  async function query(expr: string, time?: number): Promise<Sample[]> {
    if (!prometheus) throw new Error('Prometheus is not running');
    const result = await instantQuery(prometheus.url, expr, time);
    if (!result.ok) throw new Error(`${expr}: ${result.error}`);
    return result.samples;
  }

  async function scalar(expr: string): Promise<number> {
    const samples = await query(expr);
    if (samples.length !== 1) throw new Error(`${expr}: expected one sample, got ${JSON.stringify(samples)}`);
    return samples[0]?.value ?? Number.NaN;
  }

  beforeAll(async () => {
    // Kept as they start, so that afterAll stops the first even if the second fails.
    const file = statusPagesFile();
    for (const name of ['0', '1']) replicas.push(await startExporter(name, file));
    prometheus = await startPrometheus(target.tool.path ?? 'prometheus', {
      ruleFiles: [RULES_FILE],
      // 3.x: OpenMetrics first, and _created samples become a zero sample at creation time.
      args: target.v3 ? ['--enable-feature=created-timestamp-zero-ingestion'] : [],
      // Two target groups, labelled like two pods of one deployment.
      scrapeConfigs: [
        `  - job_name: ${JOB}`,
        ...(target.v3 ? ['    scrape_protocols: [OpenMetricsText1.0.0, PrometheusText0.0.4]'] : []),
        '    static_configs:',
        ...replicas.flatMap((replica, index) => [`      - targets: ["127.0.0.1:${replica.port}"]`, `        labels: { pod: "statusmate-exporter-${index}" }`]),
      ].join('\n'),
    });
    // Telemetry counters start at 0: let Prometheus see that before the first webhook, so
    // increase() and rate() count every request that follows.
    await waitFor('two successful scrapes of both replicas', async () => {
      const samples = await query(`(count_over_time(up{job="${JOB}"}[1m]) >= 2) and (up{job="${JOB}"} == 1)`);
      return samples.length === 2 ? true : undefined;
    });

    sequenceStart = Date.now() / 1000;
    for (const step of SEQUENCE) {
      for (const replica of replicas) {
        const status = await post(replica, step.body, { query: step.query, path: step.path });
        if (status !== 200) throw new Error(`${step.what}: replica answered ${status}\n${replica.output()}`);
      }
    }
    // Requests only replica 0 sees: a retry (a duplicate), a wrong token, a body that is not StatusMate's.
    const [first] = replicas;
    if (!first) throw new Error('no replica');
    const retry = fixture('seed-component-impact-updated.json') as { meta: Record<string, unknown> };
    expect(await post(first, { ...retry, meta: { ...retry.meta, delivery_attempt: 1 } })).toBe(200);
    expect(await post(first, componentEvent(1, 'API', 'operational'), { token: 'wrong-token' })).toBe(401);
    expect(await post(first, undefined, { raw: '{"meta":{}}' })).toBe(400);
    // And an Alertmanager notification of another payload version, which Alertmanager would not retry.
    expect(await post(first, undefined, { raw: '{"version":"3","alerts":[]}', path: '/alertmanager' })).toBe(400);
    sequenceEnd = Date.now() / 1000;

    // Wait until Prometheus has scraped all of it and the recording rules have run on it.
    await waitFor(
      'the sequence to reach Prometheus and the recording rules',
      async () => {
        const rejected = await query(`sum(${METRIC.webhookRequests}{outcome=~"invalid|unauthorized|duplicate"})`);
        const recorded = await query(`count(status_page_component:statusmate_component_available:bool)`);
        const rate = await query(`sum(rate(${METRIC.webhookRequests}{outcome="unauthorized"}[1m])) > 0`);
        const notifications = await query(`sum(increase(${METRIC.alertmanagerNotifications}{outcome="invalid"}[1h])) > 0`);
        // increase() and range queries need a few samples of the series the sequence created.
        const scraped = await query(`count_over_time(${METRIC.incidentsCreated}{status_page="${PAGE}"}[1m]) >= 3`);
        // Every component but Legacy (unknown impact) on PAGE, and Other on OTHER_PAGE.
        const components = Object.keys(LEVELS).length - 1 + 1;
        // The burn-rate windows read how much each component's impact seconds grew since the
        // window's smallest recorded value: a series recorded once has grown by nothing yet, so
        // every recorded series needs a few evaluations (two intervals at least; a scrape may come late
        // under load), Other's, the last event's, coming last.
        const impactSeries = await query(`count(${RECORDED.impactSeconds})`);
        const recordedFewTimes = await query(`count_over_time(${RECORDED.impactSeconds}[5m]) < 3`);
        return rejected[0]?.value === 3 &&
          recorded[0]?.value === components &&
          rate.length === 1 &&
          notifications.length === 1 &&
          scraped.length === 2 &&
          (impactSeries[0]?.value ?? 0) > 0 &&
          recordedFewTimes.length === 0
          ? true
          : undefined;
      },
      30_000,
    );
  });

  afterAll(async () => {
    await prometheus?.close();
    await Promise.all(replicas.map((replica) => stop(replica)));
  });

  const queries = DASHBOARDS.flatMap(({ build }) => dashboardQueries(build()));

  /**
   * Read from a group with its own interval (the error budget and the 30-day availability hourly,
   * the 5-minute copy of the impact seconds): no sample before the group's first evaluation, which
   * Prometheus places anywhere in the interval.
   */
  const hourly = (expr: string) =>
    expr.includes(RECORDED.budgetRemaining) || expr.includes(RECORDED.availableBudgetWindow) || expr.includes(RECORDED.impactSeconds5m);

  it.each(queries)('$where runs without error and returns data', async ({ expr, where }) => {
    // Series recorded by a slower group must still evaluate.
    if (hourly(expr)) {
      await query(fillVariables(expr, VARIABLES));
      return;
    }
    // A duration stat answers nothing while nothing was measured in the range (its NaN dropped):
    // the seed's alert responses precede the first scrape, so their increase is 0 here. What it
    // answers must be a number; that it answers one where something finished is tested below.
    if (DURATION_PANELS.some((title) => where.includes(`"${title}"`))) {
      for (const sample of await query(fillVariables(expr, VARIABLES))) expect(Number.isFinite(sample.value), expr).toBe(true);
      return;
    }
    // A per-day query counts the day after its point, and Grafana puts its points at midnights:
    // read it at today's, as its last bar is.
    const day = 86_400;
    const at = expr.includes('offset -1d') ? Math.floor(Date.now() / 1000 / day) * day : undefined;
    // Recording rules and increase() need a few evaluations and scrapes: wait for the data.
    const samples = await waitFor(expr, async () => {
      const found = await query(fillVariables(expr, VARIABLES), at);
      return found.length > 0 ? found : undefined;
    });
    expect(samples.length).toBeGreaterThan(0);
  });

  it.each(queries.filter((q) => !q.instant && !hourly(q.expr)))('$where runs as a range query without error', async ({ expr }) => {
    if (!prometheus) throw new Error('Prometheus is not running');
    const url = prometheus.url;
    // A range query sees a recorded series only once its rule has run: wait for it.
    const result = await waitFor(expr, async () => {
      const answer = await rangeQuery(url, fillVariables(expr, VARIABLES), 60, 1);
      return !answer.ok || answer.samples.length > 0 ? answer : undefined;
    });
    expect(result.ok ? 'ok' : result.error).toBe('ok');
    expect(result.ok && result.samples.length).toBeGreaterThan(0);
  });

  it('the status_page and job variables list both status pages and the job', async () => {
    if (!prometheus) throw new Error('Prometheus is not running');
    const variables = DASHBOARDS.flatMap(({ build }) => variableQueries(build()));
    for (const variable of variables) {
      const matcher = `${variable.metric}${fillVariables(variable.matchers, VARIABLES)}`;
      const response = await fetch(`${prometheus.url}/api/v1/label/${variable.label}/values?${String(new URLSearchParams({ 'match[]': matcher }))}`);
      const body = (await response.json()) as { status: string; data: string[] };
      expect(body.status).toBe('success');
      // Static targets have no cluster or namespace label: those pickers are empty ("All" matches).
      const expected: Record<string, string[]> = { job: [JOB], cluster: [], namespace: [], status_page: [PAGE, OTHER_PAGE].sort() };
      expect(body.data, variable.name).toEqual(expected[variable.name]);
    }
  });

  it('the component timeline shows each component once, at the impact level the webhooks set', async () => {
    const timeline = queries.find((q) => q.where.includes('"Component impact"'));
    const samples = await query(fillVariables(timeline?.expr ?? '', VARIABLES));
    const levels = Object.fromEntries(samples.map((s) => [s.labels.component ?? '', s.value]));
    expect(levels).toEqual(LEVELS);
  });

  it('the components-by-impact stat counts each component once per impact', async () => {
    const stat = queries.filter((q) => q.where.includes('"Components by current impact"'));
    const counts: number[] = [];
    for (const q of stat) counts.push(await scalar(fillVariables(q.expr, VARIABLES)));
    // major, partial, degraded, under maintenance, operational, unknown
    expect(counts).toEqual([1, 1, 1, 2, 3, 1]); // operational: Search, CDN, and the seed maintenance's component
  });

  it('the status_page variable keeps other status pages out', async () => {
    const timeline = queries.find((q) => q.where.includes('"Component impact"'));
    const samples = await query(fillVariables(timeline?.expr ?? '', { ...VARIABLES, status_page: OTHER_PAGE }));
    expect(samples.map((s) => [s.labels.component, s.value])).toEqual([['Other', 4]]);
  });

  it('the count stats show one active incident, one maintenance in progress and one scheduled, not two', async () => {
    const stat = async (title: string) => scalar(fillVariables(queries.find((q) => q.where.includes(`"${title}"`))?.expr ?? '', VARIABLES));
    expect(await stat('Active incidents')).toBe(1);
    expect(await stat('Maintenances in progress')).toBe(1);
    expect(await stat('Maintenances scheduled')).toBe(1);
  });

  it('the health panels show both replicas and their stores up, one version line a replica, and how long ago each page got its last webhook', async () => {
    // Both status pages picked ("All"), so that the per-page panel shows each.
    const panel = (title: string) =>
      queries.filter((q) => q.where.includes(`"${title}"`)).map((q) => fillVariables(q.expr, { ...VARIABLES, status_page: `${PAGE}|${OTHER_PAGE}` }));
    const [up, targets] = panel('Replicas up');
    expect((await query(up ?? '')).map((s) => s.value)).toEqual([2]);
    expect((await query(targets ?? '')).map((s) => s.value)).toEqual([2]);
    expect((await query(panel('Store up')[0] ?? '')).map((s) => s.value)).toEqual([1, 1]);
    const versions = await query(panel('Version')[0] ?? '');
    expect(versions.map((s) => s.labels.revision).sort()).toEqual(['e2e-0', 'e2e-1']);
    expect(new Set(versions.map((s) => s.labels.version)).size).toBe(1);
    // Each page's last webhook was stored while the sequence ran: between its first and last post.
    const at = Math.floor(Date.now() / 1000);
    const since = await query(panel('Time since the last webhook')[0] ?? '', at);
    expect(since.map((s) => s.labels.status_page).sort()).toEqual([PAGE, OTHER_PAGE].sort());
    for (const sample of since) {
      expect(sample.value).toBeGreaterThanOrEqual(at - sequenceEnd);
      expect(sample.value).toBeLessThanOrEqual(at - sequenceStart);
    }
  });

  it('the active incidents table lists the seed incident with its start and age', async () => {
    const [started, age] = queries.filter((q) => q.where.includes('"Active incidents by age"'));
    const startedSamples = await query(fillVariables(started?.expr ?? '', VARIABLES));
    expect(startedSamples.map((s) => [s.labels.title, s.value])).toEqual([['Incident title', Date.parse('2023-05-19T17:05:00+03:00')]]);
    const ageSamples = await query(fillVariables(age?.expr ?? '', VARIABLES));
    expect(ageSamples[0]?.value).toBeGreaterThan(2 * 365 * 86400);
  });

  it('the annotations place the incident at its start and the maintenance in progress at its start, in ms', async () => {
    const annotations = queries.filter((q) => q.where.includes('annotation'));
    const incidents = await query(fillVariables(annotations.find((q) => q.where.includes('"Incidents"'))?.expr ?? '', VARIABLES));
    expect(incidents.map((s) => [s.labels.title, s.value])).toEqual([['Incident title', Date.parse('2023-05-19T17:05:00+03:00')]]);
    const maintenances = await query(fillVariables(annotations.find((q) => q.where.includes('"Maintenances started"'))?.expr ?? '', VARIABLES));
    expect(maintenances.map((s) => s.labels.title)).toEqual(['Database upgrade']);
    // Started when the exporter received maintenance_started (it carried no created_at): before now, after NOW.
    expect(maintenances[0]?.value).toBeGreaterThanOrEqual(NOW - 1000);
    expect(maintenances[0]?.value).toBeLessThanOrEqual(Date.now());
  });

  it('the unfinished maintenances table lists both unfinished maintenances with their state', async () => {
    const [titles] = queries.filter((q) => q.where.includes('"Unfinished maintenances"'));
    const samples = await query(fillVariables(titles?.expr ?? '', VARIABLES));
    expect(samples.map((s) => `${s.labels.title} ${s.labels.state}`).sort()).toEqual(['Database upgrade in_progress', 'Maintenance name scheduled']);
  });

  it('domain counters and histograms count each event once, whatever the number of replicas', async () => {
    const page = `status_page="${PAGE}"`;
    const once = (metric: string) => scalar(`sum(max by (status_page) (${metric}{${page}}))`);
    expect(await once(METRIC.incidentsCreated)).toBe(2);
    expect(await once(METRIC.incidentsFinished)).toBe(1);
    expect(await once(METRIC.maintenancesCreated)).toBe(3);
    expect(await once(METRIC.maintenancesStarted)).toBe(2);
    expect(await once(METRIC.maintenancesFinished)).toBe(1);
    expect(await once(`${METRIC.incidentDuration}_count`)).toBe(1);
    expect(await once(`${METRIC.incidentDuration}_sum`)).toBe(3600);
    expect(await once(`${METRIC.maintenanceDuration}_count`)).toBe(1);
    expect(await once(`${METRIC.maintenanceDuration}_sum`)).toBe(1200);
    // The raw series are there twice, once per replica: the max above is what keeps them single.
    expect(await scalar(`count(${METRIC.incidentsCreated}{${page}})`)).toBe(2);
    // The recorded series the dashboards take increase() of: one per install and page, same value.
    const recorded = await waitFor('the recorded incident counter', async () => {
      const samples = await query(`status_page:${METRIC.incidentsCreated}:max{${page}}`);
      return samples.length > 0 ? samples : undefined;
    });
    expect(recorded.map((sample) => [sample.labels.job, sample.labels.pod, sample.value])).toEqual([[JOB, undefined, 2]]);
  });

  it('the duration panels answer no value rather than NaN for a page on which nothing finished, and a number where something did', async () => {
    const panel = (title: string) => queries.filter((q) => q.where.includes(`"${title}"`));
    for (const title of DURATION_PANELS) {
      expect(panel(title)).toHaveLength(3);
      for (const q of panel(title)) {
        const samples = await query(fillVariables(q.expr, { ...VARIABLES, status_page: OTHER_PAGE }));
        expect(samples, `${title}: ${q.expr}`).toEqual([]);
      }
    }
    // The seed finished one incident on PAGE: its median, p90 and mean are numbers.
    for (const q of panel('Incident duration')) {
      const samples = await query(fillVariables(q.expr, { ...VARIABLES, __range: '1h' }));
      expect(samples).toHaveLength(1);
      expect(Number.isFinite(samples[0]?.value)).toBe(true);
    }
  });

  it('the per-day panels, queried as Grafana queries them, count the incidents of today', async () => {
    if (!prometheus) throw new Error('Prometheus is not running');
    // Grafana rounds both ends of a range query down to a multiple of the step (1 day here,
    // in UTC for a browser at UTC): the last point is today's midnight, before the sequence.
    const day = 86_400;
    const now = Math.floor(Date.now() / 1000);
    const panel = queries.filter((q) => q.where.includes('"Incidents per day"'));
    expect(panel).toHaveLength(2);
    const perDay = async (expr: string) => {
      const response = await fetch(`${prometheus?.url}/api/v1/query_range`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          query: fillVariables(expr, { ...VARIABLES, __interval: '1d' }),
          start: String(Math.floor((now - 2 * day) / day) * day),
          end: String(Math.floor(now / day) * day),
          step: String(day),
        }),
      });
      const body = (await response.json()) as { status: string; data: { result: Array<{ values: Array<[number, string]> }> } };
      expect(body.status).toBe('success');
      // The days' bars together, should the sequence straddle midnight.
      return body.data.result.flatMap((series) => series.values).reduce((total, [, value]) => total + Number(value), 0);
    };
    // The two incidents the seed creates on PAGE and the one it finishes, today.
    expect(Math.round(await perDay(panel[0]?.expr ?? ''))).toBe(2);
    expect(Math.round(await perDay(panel[1]?.expr ?? ''))).toBe(1);
  });

  it(
    target.v3
      ? "counts a status page's first incident with increase(): its _created became a zero sample"
      : "misses a status page's first incident in increase() (2.42 ingests no created timestamps)",
    async () => {
      const first = await query(`max by (status_page) (increase(${METRIC.incidentsCreated}{status_page="${OTHER_PAGE}"}[5m]))`);
      expect(first).toHaveLength(1);
      if (target.v3) {
        expect(first[0]?.value).toBeGreaterThanOrEqual(1);
        expect(first[0]?.value).toBeLessThan(2);
      } else {
        expect(first[0]?.value).toBe(0);
      }
    },
  );

  it('scrapes OpenMetrics, as Prometheus prefers it', async () => {
    if (!prometheus) throw new Error('Prometheus is not running');
    const body = (await (await fetch(`${prometheus.url}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ health: string; lastError: string; scrapeUrl: string }> };
    };
    expect(body.data.activeTargets.map((t) => `${t.health} ${t.lastError}`)).toEqual(['up ', 'up ']);
    const metadata = (await (await fetch(`${prometheus.url}/api/v1/metadata?metric=statusmate_incidents_created`)).json()) as {
      data: Record<string, Array<{ type: string }>>;
    };
    // The OpenMetrics family name, without _total: only the OpenMetrics parser records it so.
    expect(metadata.data.statusmate_incidents_created?.[0]?.type).toBe('counter');
  });

  it('webhook counters add up the requests each replica answered', async () => {
    const byOutcome = await query(`sum by (outcome) (${METRIC.webhookRequests}{outcome=~"applied|duplicate|unauthorized|invalid"})`);
    const counts = Object.fromEntries(byOutcome.map((s) => [s.labels.outcome, s.value]));
    const webhooks = SEQUENCE.filter((step) => step.path === undefined).length;
    expect(counts).toEqual({ applied: webhooks * 2, duplicate: 1, unauthorized: 1, invalid: 1 });
    expect(await scalar(`sum(${METRIC.webhookRetries})`)).toBe(1);
  });

  it('the rejected-webhooks panel shows invalid and unauthorized requests', async () => {
    const rejected = queries.find((q) => q.where.includes('"Rejected and failed webhooks"'));
    const samples = await query(fillVariables(rejected?.expr ?? '', VARIABLES));
    const positive = samples.filter((s) => s.value > 0).map((s) => s.labels.outcome);
    expect(positive.sort()).toEqual(['invalid', 'unauthorized']);
  });

  it('the availability table reads recording rules that the rules file produced', async () => {
    const [operational, available] = queries.filter((q) => q.where.includes('"Availability over the selected range"'));
    const byComponent = async (expr: string) =>
      Object.fromEntries((await query(fillVariables(expr, VARIABLES))).map((s) => [s.labels.component ?? '', s.value]));
    const op = await byComponent(operational?.expr ?? '');
    // Available reads the impact seconds from the range's first 5-minute copy; the 5m group may
    // not have run yet, so the same expression is read from the per-evaluation series.
    // (statusmate_component_impact_seconds_total comes from the exporter's ledger, issue 20.)
    const av = await byComponent((available?.expr ?? '').replaceAll(RECORDED.impactSeconds5m, RECORDED.impactSeconds));
    // Search has been operational all along; API has never been available; Component is degraded,
    // which counts as available; Legacy's impact is unknown.
    expect(op.Search).toBe(1);
    expect(av.Search).toBe(1);
    expect(av.API).toBe(0);
    expect(av.Component).toBe(1);
    expect(op['Component Name']).toBe(0);
    expect(op.Legacy).toBeUndefined();
    expect(av.Legacy).toBeUndefined();
  });

  it("the availability table's Available counts from the range's start, not from the first 5-minute copy in it", async () => {
    const available = queries.filter((q) => q.where.includes('"Availability over the selected range"'))[1];
    // A range of a few seconds, long after the 5m group's first copy or before it: API has been
    // in a major outage all along, Search operational. Counted from the first 5-minute copy in the
    // range, the range held none and the column was empty (a longer range lost its first minutes).
    const av = await waitFor('Available over the last 3 seconds', async () => {
      const samples = await query(fillVariables(available?.expr ?? '', { ...VARIABLES, __range: '3s' }));
      const byComponent = Object.fromEntries(samples.map((s) => [s.labels.component ?? '', s.value]));
      return byComponent.API === undefined ? undefined : byComponent;
    });
    expect(av.API).toBe(0);
    expect(av.Search).toBe(1);
  });

  const rules = allRules();
  it.each(rules.map((rule) => ({ name: rule.alert ?? rule.record ?? '', expr: rule.expr })))('rule $name evaluates without error', async ({ expr }) => {
    await query(expr);
  });

  it('alert expressions select exactly the components, incidents and maintenances the webhooks put in trouble', async () => {
    // The day-long burn-rate pairs read windows recorded by a group evaluated every 5 minutes:
    // whether it has run yet depends on when Prometheus started, so their expressions are only
    // checked to evaluate.
    const slowRecords = loadRules()
      .groups.filter((group) => group.interval !== undefined)
      .flatMap((group) => group.rules.flatMap((rule) => (rule.record === undefined ? [] : [rule.record])));
    const readsSlow = (expr: string) => slowRecords.some((record) => new RegExp(`\\b${record.replace(/[.:]/g, '\\$&')}\\b`).test(expr));
    const alerts = allRules().filter((rule) => rule.alert !== undefined && !readsSlow(rule.expr));
    // Alerts name objects by uuid; look the names up to compare readable lists.
    const names = new Map<string, string>();
    for (const [metric, id, name] of [
      [METRIC.componentImpactLevel, 'component_uuid', 'component'],
      [METRIC.incidentInfo, 'incident_uuid', 'title'],
      [METRIC.maintenanceInfo, 'maintenance_uuid', 'title'],
    ] as const) {
      for (const sample of await query(`max by (${id}, ${name}) (${metric})`)) names.set(sample.labels[id] ?? '', sample.labels[name] ?? '');
    }
    const hits: Record<string, string[]> = {};
    for (const rule of alerts) {
      const samples = await query(rule.expr);
      const key = rule.alert === 'StatusMateComponentErrorBudgetBurn' ? `${rule.alert} ${rule.labels?.long_window}` : (rule.alert ?? '');
      hits[key] = samples
        .map((s) => {
          const uuid = s.labels.component_uuid ?? s.labels.incident_uuid ?? s.labels.maintenance_uuid;
          return uuid !== undefined ? (names.get(uuid) ?? uuid) : (s.labels.outcome ?? s.labels.instance ?? s.labels.job ?? '');
        })
        .sort();
    }
    expect(hits).toEqual({
      // Unavailable since the sequence: every burn-rate window is all error.
      // Partial and major outages count against availability; degraded performance does not.
      'StatusMateComponentErrorBudgetBurn 1h': ['API', 'Other', 'Website'],
      'StatusMateComponentErrorBudgetBurn 6h': ['API', 'Other', 'Website'],
      StatusMateComponentMajorOutage: ['API', 'Other'],
      StatusMateComponentPartialOutage: ['Website'],
      StatusMateComponentDegradedPerformance: ['Component'],
      // under_investigation is no impact the exporter knows.
      StatusMateComponentUnknownImpact: ['Legacy'],
      StatusMateIncidentLongRunning: ['Incident title'],
      StatusMateMaintenanceOverrunning: ['Database upgrade'],
      StatusMateMaintenanceNotStarted: ['Maintenance name'],
      StatusMateExporterDown: [],
      StatusMateExporterReplicaDown: [],
      StatusMateExporterAbsent: [],
      // One invalid and one unauthorized request are no sustained rate.
      StatusMateWebhooksRejected: [],
      StatusMateWebhookStoreErrors: [],
      StatusMateWebhooksRefusedLimit: [],
      // One notification refused after its token matched is enough: Alertmanager never retries it.
      StatusMateAlertmanagerNotificationsRejected: ['invalid'],
      StatusMateStoreDown: [],
      // Memory stores: no Redis epoch.
      StatusMateStoreEpochsDiffer: [],
      StatusMateStoreFoldLagging: [],
      StatusMateStoreSnapshotStale: [],
      StatusMateStatusPagesFileInvalid: [],
      // Nothing listens at ALERTMANAGER_URL, but the alert waits 10 minutes before it fires.
      StatusMateMaintenanceSilencesMissing: [],
      // No maintenance silence was ever live: none lingers.
      StatusMateMaintenanceSilencesLingering: [],
      // Search's alert fires and the page says operational; Website's fires and the page says so.
      StatusMateStatusPageSilent: ['Search'],
      // The seed's Component has alert_matchers, degraded performance, and no alert.
      StatusMateStatusPageForgottenIncident: ['Component'],
    });
  });

  it("measures the page against Alertmanager's alerts the same on both replicas: two responses (Website, CDN), one recovery (CDN)", async () => {
    const perReplica = async (metric: string) => (await query(`${metric}{status_page="${PAGE}"}`)).map((sample) => sample.value).sort((a, b) => a - b);
    expect(await perReplica(`${METRIC.statusPageResponse}_count`)).toEqual([2, 2]);
    expect(await perReplica(`${METRIC.statusPageRecoveryLag}_count`)).toEqual([1, 1]);
    // CDN: its alert fired 40 minutes before now, the maintenance started 30 (600 s); the alert
    // resolved 20 minutes before now, the maintenance finished 10 (600 s).
    expect(await perReplica(`${METRIC.statusPageRecoveryLag}_sum`)).toEqual([600, 600]);
    expect(await perReplica(METRIC.componentAlertsFiring)).toEqual([1, 1, 1, 1]);
  });

  it('Prometheus evaluates every rule group without error and renders the alert annotations', async () => {
    if (!prometheus) throw new Error('Prometheus is not running');
    const body = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    // Groups with a long interval may not have run yet ("unknown"); their expressions ran above.
    const slow = new Set(
      loadRules()
        .groups.filter((g) => g.interval !== undefined)
        .map((g) => g.name),
    );
    const unhealthy = body.data.groups.flatMap((g) =>
      g.rules
        .filter((r) => !(r.health === 'ok' || (r.health === 'unknown' && slow.has(g.name) && !r.lastError)))
        .map((r) => `${g.name}/${r.name}: ${r.health} ${r.lastError ?? ''}`),
    );
    expect(body.data.groups.filter((g) => !slow.has(g.name)).length).toBeGreaterThan(3);
    expect(unhealthy).toEqual([]);
    expect(body.data.groups.flatMap((g) => g.rules).length).toBe(rules.length);

    const alerts = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
      data: { alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }> };
    };
    const major = alerts.data.alerts.find((a) => a.labels.alertname === 'StatusMateComponentMajorOutage' && a.labels.component_uuid === uuid(1));
    expect(major?.labels).toEqual({ alertname: 'StatusMateComponentMajorOutage', severity: 'critical', job: JOB, status_page: PAGE, component_uuid: uuid(1) });
    // The name comes from the query in the annotation template.
    expect(major?.annotations.description).toBe(`Component "API" on status page ${PAGE} (job ${JOB}) has reported major_outage for more than 1 minute.`);
    expect(alerts.data.alerts.filter((a) => a.labels.alertname === 'StatusMateWebhooksRejected')).toEqual([]);
  });

  // Last: Flaky's outage would change the alerts and records the tests above expect.
  it('the availability table counts a component first seen within the range from its first sample, not from its first 5-minute copy', async () => {
    const available = queries.filter((q) => q.where.includes('"Availability over the selected range"'))[1];
    const flaky = uuid(8);
    const recorded = (impact: string) => `${RECORDED.impactSeconds}{component_uuid="${flaky}", impact="${impact}"}`;
    // First seen in a major outage, operational a few evaluations later. The 5-minute group takes
    // its copy of Flaky whenever Prometheus placed it: after the outage, or not yet.
    for (const replica of replicas) expect(await post(replica, componentEvent(8, 'Flaky', 'major_outage'))).toBe(200);
    await waitFor("Flaky's outage recorded for a few seconds", async () => ((await query(`${recorded('major_outage')} > 3`)).length ? true : undefined));
    for (const replica of replicas) expect(await post(replica, componentEvent(8, 'Flaky', 'operational'))).toBe(200);
    // The instant queries below read a whole second: wait for a few seconds of operational.
    await waitFor('Flaky operational for a few seconds', async () => ((await query(`${recorded('operational')} > 3`)).length ? true : undefined));
    const at = Math.floor(Date.now() / 1000);
    const flakyAt = async (expr: string) =>
      (await query(fillVariables(expr, { ...VARIABLES, __range: '5m' }), at)).find((s) => s.labels.component_uuid === flaky)?.value;
    // The share from the per-evaluation series (its smallest in the range is its first sample).
    const expected = await flakyAt((available?.expr ?? '').replaceAll(RECORDED.impactSeconds5m, RECORDED.impactSeconds));
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(1);
    expect(await flakyAt(available?.expr ?? '')).toBeCloseTo(expected ?? Number.NaN, 9);
  });
}

for (const target of TARGETS) {
  describe.skipIf(target.tool.skipReason !== undefined || !built)(`dashboards and rules against ${target.name} scraping two exporter replicas`, () =>
    suite(target),
  );
}
