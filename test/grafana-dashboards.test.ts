import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VariableType } from '@grafana/grafana-foundation-sdk/dashboard';
import { beforeAll, describe, expect, it } from 'vitest';
import { IMPACT_LEVEL_MAPPINGS, INSTALL, INSTALL_LABELS, MIN_GRAFANA_VERSION, RECORDED } from '../grafana/src/common.js';
import { DASHBOARDS, render } from '../grafana/src/dashboards.js';
import { PERSISTED_COUNTERS, RECORD } from '../mixin/rules.js';
import { METRIC } from '../src/metrics/names.js';
import {
  ROOT,
  rawPersistedCounterRates,
  dashboardQueries,
  fillVariables,
  metricNames,
  promqlErrors,
  recordedNames,
  unreducedDomainSelectors,
  untrustedStateSelectors,
  variableQueries,
  knownMetricNames,
} from './support/prometheus.js';

const built = DASHBOARDS.map(({ file, build }) => ({ file, dashboard: build() }));
const FILLED = { status_page: 'main', cluster: '.*', namespace: 'prod', job: 'statusmate-exporter', datasource: 'prometheus' };

let knownMetrics: Set<string>;
beforeAll(async () => {
  knownMetrics = await knownMetricNames();
});

describe('generated dashboards', () => {
  it.each(built)('$file is committed exactly as `npm run mixin` generates it', ({ file, dashboard }) => {
    const committed = readFileSync(join(ROOT, 'grafana', 'dashboards', file), 'utf8');
    expect(committed, `grafana/dashboards/${file} is stale: edit grafana/src/ (never the JSON), run npm run mixin and commit the result`).toBe(
      render(dashboard),
    );
  });

  it('every dashboard has its own fixed uid', () => {
    const uids = built.map(({ dashboard }) => dashboard.uid);
    expect(uids).toEqual(['statusmate-overview', 'statusmate-exporter-health']);
  });

  it.each(built)('$file has tags, a default time range, a refresh, and the datasource and status_page variables', ({ dashboard }) => {
    expect(dashboard.tags).toContain('statusmate');
    expect(dashboard.time?.from).toMatch(/^now-\d+[hd]$/);
    expect(dashboard.time?.to).toBe('now');
    expect(dashboard.refresh).toMatch(/^\d+[sm]$/);
    const variables = dashboard.templating.list ?? [];
    const datasource = variables.find((variable) => variable.name === 'datasource');
    expect(datasource?.type).toBe('datasource');
    expect(datasource?.query).toBe('prometheus');
    const statusPage = variables.find((variable) => variable.name === 'status_page');
    expect(statusPage?.type).toBe('query');
    expect(statusPage?.query).toMatch(new RegExp(`^label_values\\((${METRIC.incidentsActive}|${METRIC.componentImpactLevel})[{,]`));
  });

  it.each(built)('every panel, query, variable and annotation of $file reads from the $datasource variable', ({ dashboard }) => {
    const refs: unknown[] = [];
    for (const panel of dashboard.panels ?? []) {
      if (panel.type === 'row') continue;
      refs.push(panel.datasource);
      for (const target of 'targets' in panel ? (panel.targets ?? []) : []) refs.push((target as { datasource?: unknown }).datasource);
    }
    for (const variable of dashboard.templating.list ?? []) if (variable.type === VariableType.Query) refs.push(variable.datasource);
    for (const annotation of dashboard.annotations.list ?? []) refs.push(annotation.datasource);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) expect(ref).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });

  it.each(built)('panels of $file tile the 24-column grid without overlapping', ({ dashboard }) => {
    const taken = new Set<string>();
    for (const panel of dashboard.panels ?? []) {
      const pos = panel.gridPos;
      expect(pos, `panel ${panel.title} has no gridPos`).toBeDefined();
      if (!pos) continue;
      expect(pos.x + pos.w, `panel ${panel.title} is wider than the grid`).toBeLessThanOrEqual(24);
      for (let x = pos.x; x < pos.x + pos.w; x += 1) {
        for (let y = pos.y; y < pos.y + pos.h; y += 1) {
          expect(taken.has(`${x},${y}`), `panel ${panel.title} overlaps another at ${x},${y}`).toBe(false);
          taken.add(`${x},${y}`);
        }
      }
    }
  });

  it.each(built)('every panel of $file has a title and a description saying what it shows', ({ dashboard }) => {
    for (const panel of dashboard.panels ?? []) {
      expect(panel.title).toMatch(/\S/);
      if (panel.type !== 'row') expect((panel as { description?: string }).description, panel.title).toMatch(/\S/);
    }
  });

  it.each(built)('$file has cluster, namespace and job variables, narrowed in that order; "All" of job is the jobs found, not every job', ({ dashboard }) => {
    const variables = dashboard.templating.list ?? [];
    const byName = (name: string) => variables.find((variable) => variable.name === name);
    expect(variables.map((variable) => variable.name)).toEqual(['datasource', 'cluster', 'namespace', 'job', 'status_page']);
    expect(byName('cluster')?.query).toBe(`label_values(${METRIC.buildInfo}, cluster)`);
    expect(byName('namespace')?.query).toBe(`label_values(${METRIC.buildInfo}{cluster=~"$cluster"}, namespace)`);
    expect(byName('job')?.query).toBe(`label_values(${METRIC.buildInfo}{cluster=~"$cluster", namespace=~"$namespace"}, job)`);
    // Cluster and namespace: also series without the label (one cluster, no Kubernetes).
    for (const name of ['cluster', 'namespace']) expect(byName(name)?.allValue).toBe('.*');
    // Job: Grafana's own "All", the exporter's jobs: `.*` made up{}, process_* and nodejs_* count every job in Prometheus.
    expect(byName('job')?.allValue).toBeUndefined();
    expect(byName('job')?.includeAll).toBe(true);
  });

  it('links each dashboard to the other, keeping the time range and the variables', () => {
    const links = built.map(({ dashboard }) => (dashboard.links ?? []).map((link) => `${link.url} ${link.keepTime} ${link.includeVars}`));
    expect(links).toEqual([['/d/statusmate-exporter-health true true'], ['/d/statusmate-overview true true']]);
  });

  it.each(built)('$file states the minimum Grafana version, the data source and the panels it needs (__requires)', ({ dashboard }) => {
    const requires = (dashboard as { __requires?: Array<{ type: string; id: string; version: string }> }).__requires ?? [];
    expect(requires[0]).toEqual({ type: 'grafana', id: 'grafana', name: 'Grafana', version: MIN_GRAFANA_VERSION });
    const panelTypes = new Set((dashboard.panels ?? []).filter((panel) => panel.type !== 'row').map((panel) => panel.type));
    expect(new Set(requires.filter((r) => r.type === 'panel').map((r) => r.id))).toEqual(panelTypes);
  });

  it('places incident and maintenance annotations at their start timestamps, not at first sight', () => {
    const overview = built.find(({ dashboard }) => dashboard.uid === 'statusmate-overview')?.dashboard;
    const annotations = (overview?.annotations.list ?? []).filter((annotation) => 'expr' in annotation);
    expect(annotations.map((annotation) => (annotation as { useValueForTime?: boolean }).useValueForTime)).toEqual([true, true]);
    const exprs = annotations.map((annotation) => String((annotation as { expr?: string }).expr));
    expect(exprs[0]).toContain(`${METRIC.incidentStart}{`);
    expect(exprs[1]).toContain(`${METRIC.maintenanceStart}{`);
    for (const expr of exprs) expect(expr).toContain(' * 1000 ');
  });

  // Grafana rounds both ends of a range query down to a multiple of the step: with a 1-day step
  // the last point is today's midnight, so a point must count the day after it, or today's
  // incidents show nowhere and every bar is a day late.
  it('per-day panels count the day each point starts (today included), drawn over that day', () => {
    const daily = built.flatMap(({ dashboard }) =>
      (dashboard.panels ?? []).flatMap((panel) =>
        ('targets' in panel ? (panel.targets ?? []) : [])
          .filter((target) => (target as { interval?: string }).interval === '1d')
          .map((target) => ({ panel, expr: String((target as { expr?: string }).expr) })),
      ),
    );
    expect(daily.map(({ panel }) => panel.title)).toEqual([
      'Incidents per day',
      'Incidents per day',
      'Maintenances per day',
      'Maintenances per day',
      'Maintenances per day',
    ]);
    for (const { panel, expr } of daily) {
      const windows = [...expr.matchAll(/\[(\w+)\]( offset -?\w+)?/g)].map((match) => match[0]);
      expect(windows, expr).toEqual(['[1d] offset -1d']);
      const custom = (panel as { fieldConfig?: { defaults?: { custom?: { barAlignment?: number } } } }).fieldConfig?.defaults?.custom;
      expect(custom?.barAlignment, panel.title).toBe(1);
    }
  });

  // The 5-minute copies start the range at their first sample in it, up to 5 minutes late: an
  // outage in the first minutes of "Last 1 hour", or of a component first seen within it, counted nowhere.
  it("the availability table's Available counts from the range's start, read from the per-evaluation series", () => {
    const overview = built.find(({ dashboard }) => dashboard.uid === 'statusmate-overview')?.dashboard;
    const available = dashboardQueries(overview as NonNullable<typeof overview>).find((q) => q.where.endsWith('"Availability over the selected range" / B'));
    const starts = [...(available?.expr ?? '').matchAll(/min_over_time\(([a-zA-Z0-9_:]+)\{[^}]*\}\[\$__range\]\)/g)];
    expect(starts.length).toBeGreaterThan(0);
    // A component first seen within the range starts at the smaller of its first recorded value
    // and its first 5-minute copy (taken up to 5 minutes after it was first seen).
    expect(starts.map((start) => start[1])).toEqual(starts.map((_, index) => (index % 2 === 0 ? RECORDED.impactSecondsFirst : RECORDED.impactSeconds5m)));
    const atStart = [
      ...(available?.expr ?? '').matchAll(/\(([a-zA-Z0-9_:]+)\{[^}]*\} offset \$__range or min without \(first_seen\) \(label_replace\(min_over_time\(/g),
    ];
    expect(atStart.map((match) => match[1])).toEqual(starts.filter((_, index) => index % 2 === 0).map(() => RECORDED.impactSeconds));
  });

  // A page measures a few responses a month: the quantiles interpolated within the buckets read
  // one response of 120 s as p50 90 s; the mean from _sum and _count is exact.
  it('time to communicate and recovery lag show the exact mean beside the bucket-estimated quantiles', () => {
    const overview = built.find(({ dashboard }) => dashboard.uid === 'statusmate-overview')?.dashboard;
    const all = dashboardQueries(overview as NonNullable<typeof overview>);
    for (const [title, histogram] of [
      ['Time to communicate', METRIC.statusPageResponse],
      ['Recovery lag', METRIC.statusPageRecoveryLag],
    ] as const) {
      const exprs = all.filter((q) => q.where.includes(`"${title}"`)).map((q) => q.expr);
      const mean = exprs.find((expr) => expr.includes(RECORD.counter(`${histogram}_sum`)));
      expect(mean, title).toBeDefined();
      expect(mean).toContain(`/ (sum by (${INSTALL_LABELS.join(', ')}, status_page) (increase(${RECORD.counter(`${histogram}_count`)}{`);
    }
  });

  it.each(built)('panel ids of $file are unique', ({ dashboard }) => {
    const ids = (dashboard.panels ?? []).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('dashboard queries', () => {
  const queries = built.flatMap(({ dashboard }) => dashboardQueries(dashboard));

  it('the overview and health dashboards together have the queries the issue lists', () => {
    expect(queries.length).toBeGreaterThanOrEqual(35);
  });

  it.each(queries)('$where parses as PromQL once the variables are filled in', ({ expr }) => {
    expect(promqlErrors(fillVariables(expr, FILLED))).toEqual([]);
  });

  it.each(queries)('$where selects only metrics the exporter exposes or the rules record', ({ expr }) => {
    const names = metricNames(fillVariables(expr, FILLED));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !knownMetrics.has(name))).toEqual([]);
  });

  it.each(queries)('$where reduces replicas with max before it counts or joins domain metrics', ({ expr }) => {
    expect(unreducedDomainSelectors(fillVariables(expr, FILLED))).toEqual([]);
  });

  it.each(queries)('$where reads the current state only from replicas whose store is up, when an install has one', ({ expr }) => {
    expect(untrustedStateSelectors(fillVariables(expr, FILLED))).toEqual([]);
  });

  it('a query reading the current state from every replica is caught', () => {
    expect(untrustedStateSelectors(`max by (job, status_page) (${METRIC.incidentsActive}{job="x"})`)).toEqual([METRIC.incidentsActive]);
    expect(
      untrustedStateSelectors(
        `max by (job, status_page) (${METRIC.incidentsActive}{job="x"} unless on (job, instance) (${METRIC.storeUp}{job="x"} == 0 or ${METRIC.storeFoldedTimestamp}{job="x"} < 1))`,
      ),
    ).toEqual([]);
    expect(
      untrustedStateSelectors(`max by (job, status_page) (${METRIC.incidentsActive}{job="x"} unless on (job, instance) ${METRIC.storeUp}{job="x"} == 0)`),
    ).toEqual([METRIC.incidentsActive]);
  });

  it.each(queries)('$where filters by the cluster, namespace and job variables, so two installs never mix', ({ expr }) => {
    expect(expr).toContain(INSTALL);
  });

  it.each(queries)('$where keeps the install labels in every by and on of domain metrics', ({ expr }) => {
    for (const list of expr.matchAll(/\b(max by|on) \(([^)]*)\)/g)) {
      const labels = (list[2] ?? '').split(/,\s*/);
      if (labels.includes('instance')) continue;
      for (const label of INSTALL_LABELS) expect(labels, `${list[0]} in ${expr}`).toContain(label);
    }
  });

  // The health dashboard tells installs apart (their webhooks, latency, Alertmanager requests):
  // with "All", a sum without their labels added production and staging together. The overview
  // sums what is selected on purpose (incidents per day over the pages picked).
  // A sum with no by at all, too: "Replicas up" summed up over every install kept a dead one green.
  // And a by instance alone: two clusters' pods may have the same address (each cluster's own pod
  // network), so "Store up" took the min of both and "Version" listed them as one replica.
  it.each(queries.filter(({ where }) => where.startsWith('statusmate-exporter-health')))(
    '$where keeps the install labels in every aggregation too',
    ({ expr }) => {
      for (const list of expr.matchAll(/\b(?:sum|count|min|max|avg)(?: by \(([^)]*)\))? ?\(/g)) {
        const labels = (list[1] ?? '').split(/,\s*/);
        for (const label of INSTALL_LABELS) expect(labels, `${list[0]} in ${expr}`).toContain(label);
      }
    },
  );

  it('every variable query reads a metric the exporter exposes', () => {
    const variables = built.flatMap(({ dashboard }) => variableQueries(dashboard));
    expect(variables.map((variable) => variable.name).sort()).toEqual([
      'cluster',
      'cluster',
      'job',
      'job',
      'namespace',
      'namespace',
      'status_page',
      'status_page',
    ]);
    for (const variable of variables) expect(knownMetrics.has(variable.metric), variable.metric).toBe(true);
  });

  it('the recording rules the overview reads are recorded by prometheus/statusmate.rules.yml', () => {
    const recorded = recordedNames();
    for (const name of Object.values(RECORDED)) expect(recorded.has(name), name).toBe(true);
    const used = queries.flatMap(({ expr }) => metricNames(fillVariables(expr, FILLED))).filter((name) => name.includes(':'));
    const counters = new Set(PERSISTED_COUNTERS.map(({ metric }) => RECORD.counter(metric)));
    expect(new Set(used.filter((name) => !counters.has(name)))).toEqual(
      new Set([
        RECORDED.operational,
        RECORDED.impactSeconds5m,
        RECORDED.impactSecondsFirst,
        RECORDED.available1h,
        RECORDED.availableBudgetWindow,
        RECORDED.budgetRemaining,
        RECORDED.statusPageSilent,
      ]),
    );
    for (const name of used.filter((name) => counters.has(name))) expect(recorded.has(name), name).toBe(true);
  });

  it.each(queries.map((q) => ({ where: q.where, expr: q.expr })))(
    '$where takes increase() and rate() of persisted counters from their recorded series, which go on across pod replacements',
    ({ expr }) => {
      expect(rawPersistedCounterRates(expr, new Set(PERSISTED_COUNTERS.map(({ metric }) => metric)))).toEqual([]);
    },
  );

  it('a query that counts a domain metric without max is caught as doubling with two replicas', () => {
    expect(unreducedDomainSelectors(`sum(${METRIC.incidentsActive})`)).toEqual([METRIC.incidentsActive]);
    expect(unreducedDomainSelectors(`sum(max by (status_page) (${METRIC.incidentsActive}))`)).toEqual([]);
  });

  it('a query naming a metric the exporter does not expose is caught', () => {
    const names = metricNames('sum(rate(statusmate_webhooks_total[5m]))');
    expect(names.filter((name) => !knownMetrics.has(name))).toEqual(['statusmate_webhooks_total']);
  });

  it('a query with a syntax error is caught', () => {
    expect(promqlErrors('sum(rate(foo[5m])')).not.toEqual([]);
  });
});

describe('impact level mappings', () => {
  it('name and colour all six levels as a status page does', () => {
    const [mapping] = IMPACT_LEVEL_MAPPINGS;
    expect(mapping?.type).toBe('value');
    const options = mapping && 'options' in mapping ? (mapping.options as Record<string, { text?: string; color?: string }>) : {};
    expect(Object.fromEntries(Object.entries(options).map(([level, result]) => [level, `${result.text} ${result.color}`]))).toEqual({
      '-1': 'unknown #8e8e8e',
      '0': 'operational green',
      '1': 'under_maintenance blue',
      '2': 'degraded_performance yellow',
      '3': 'partial_outage orange',
      '4': 'major_outage red',
    });
  });

  it('are what the component timeline and the availability table show', () => {
    const overview = built.find(({ dashboard }) => dashboard.uid === 'statusmate-overview')?.dashboard;
    const timeline = overview?.panels?.find((panel) => panel.type === 'state-timeline');
    expect(timeline && 'fieldConfig' in timeline ? timeline.fieldConfig?.defaults.mappings : undefined).toEqual(IMPACT_LEVEL_MAPPINGS);
  });
});
