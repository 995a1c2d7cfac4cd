// Two releases of the chart in one Prometheus: the rules `helm template` renders for each are
// loaded side by side into promtool (2.x and 3.x), over the series of both installs. Each
// release must alert on its own install only (with its own additionalRuleLabels), and record
// series of its own install only.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { findHelm, onlyOfKind, OPERATOR_APIS, renderObjects } from './support/helm.js';
import { promtools } from './support/tools.js';

const helm = findHelm();
const PROMTOOLS = promtools();

type Release = { release: string; namespace: string; team: string; job: string; component: string; rulesFile: string };

const RELEASES: Array<Omit<Release, 'job' | 'rulesFile'>> = [
  { release: 'shop', namespace: 'shop', team: 'shop-sre', component: 'c-cart' },
  { release: 'blog', namespace: 'blog', team: 'blog-sre', component: 'c-feed' },
];

/** The series one install's two pods serve: up, a component in a major outage (its level and its seconds), a persisted counter. */
function inputSeries(release: Release): Array<{ series: string; values: string }> {
  return [0, 1].flatMap((pod) => {
    const target = `job="${release.job}",namespace="${release.namespace}",instance="10.0.${release.release.length}.${pod}:9877",pod="${release.release}-${pod}"`;
    return [
      { series: `up{${target}}`, values: '1x30' },
      { series: `statusmate_component_impact_level{${target},status_page="main",component_uuid="${release.component}",component="C"}`, values: '_ 4x30' },
      {
        series: `statusmate_component_impact_seconds_total{${target},status_page="main",component_uuid="${release.component}",component="C",impact="major_outage"}`,
        values: '_ 0+60x30',
      },
      { series: `statusmate_incidents_created_total{${target},status_page="main"}`, values: '0 1x30' },
    ];
  });
}

/** One promtool unit test file, of the given rule files, over both installs' series. */
function testFile(ruleFiles: string[], releases: Release[], checks: { alerts: unknown[]; exprs: unknown[] }): string {
  return stringify({
    rule_files: ruleFiles,
    evaluation_interval: '1m',
    tests: [
      {
        name: 'two releases in one Prometheus',
        interval: '1m',
        input_series: releases.flatMap(inputSeries),
        alert_rule_test: checks.alerts,
        promql_expr_test: checks.exprs,
      },
    ],
  });
}

describe.skipIf(helm.skipReason !== undefined)('the rules of two releases in one Prometheus', () => {
  let dir = '';
  const releases: Release[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'statusmate-releases-'));
    for (const release of RELEASES) {
      const { objects } = renderObjects(helm.path ?? 'helm', {
        release: release.release,
        namespace: release.namespace,
        apiVersions: OPERATOR_APIS,
        set: { 'prometheusRule.additionalRuleLabels.team': release.team },
        // The chart renders nothing without a token it does not generate.
        setString: { 'webhook.token': `token-of-${release.release}` },
      });
      const rule = onlyOfKind(objects, 'PrometheusRule');
      const rulesFile = join(dir, `${release.release}.rules.yml`);
      writeFileSync(rulesFile, stringify({ groups: rule.spec.groups }));
      // The job the chart's ServiceMonitor gives the release's series, as its rules select it.
      const job = /job="([^"]+)", namespace="/.exec(JSON.stringify(rule.spec.groups).replace(/\\"/g, '"'))?.[1];
      if (job === undefined) throw new Error(`no job selector in the rules of ${release.release}`);
      releases.push({ ...release, job, rulesFile });
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders a different job and namespace into each release', () => {
    expect(releases.map((release) => `${release.job} ${release.namespace}`)).toEqual(['shop-statusmate-exporter shop', 'blog-statusmate-exporter blog']);
  });

  /** The firing alerts of a name at 10m, one row per install and team. */
  const firing = (alertname: string) => ({
    expr: `count by (alertname, job, namespace, team) (ALERTS{alertstate="firing", alertname="${alertname}"})`,
    eval_time: '10m',
  });
  const row = (alertname: string, release: Release) => ({
    labels: `{alertname="${alertname}", job="${release.job}", namespace="${release.namespace}", team="${release.team}"}`,
    value: 1,
  });
  /** Which installs a recorded series exists for, one row per install. */
  const recordedFor = (record: string) => ({ expr: `count by (job, namespace) (${record})`, eval_time: '10m' });
  const install = (release: Release) => ({ labels: `{job="${release.job}", namespace="${release.namespace}"}`, value: 1 });
  const RECORDS = [
    'status_page:statusmate_incidents_created_total:max',
    'status_page_component:statusmate_component_impact_level:max',
    'status_page_component:statusmate_component_available:bool',
    'status_page_component_impact:statusmate_component_impact_seconds_total:max',
    'status_page_component:statusmate_component_available:avg_over_time1h',
  ];

  describe.each(PROMTOOLS)('$version', ({ tool }) => {
    const run = (name: string, content: string) => {
      const file = join(dir, `${name}.test.yml`);
      writeFileSync(file, content);
      try {
        return { ok: true, output: execFileSync(tool.path ?? 'promtool', ['test', 'rules', file], { encoding: 'utf8', stdio: 'pipe' }) };
      } catch (error) {
        const failed = error as { stdout?: string; stderr?: string };
        return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
      }
    };

    it.skipIf(tool.skipReason !== undefined)(
      'each release raises the outage and burn-rate alerts of its own install only, with its own rule labels, and never the absent alert',
      () => {
        const [shop, blog] = releases as [Release, Release];
        const result = run(
          'both',
          testFile([shop.rulesFile, blog.rulesFile], releases, {
            alerts: [],
            exprs: [
              // One row per install: a release reading the other's series would add a row with the other team.
              {
                ...firing('StatusMateComponentMajorOutage'),
                exp_samples: [row('StatusMateComponentMajorOutage', shop), row('StatusMateComponentMajorOutage', blog)],
              },
              {
                ...firing('StatusMateComponentErrorBudgetBurn'),
                exp_samples: [row('StatusMateComponentErrorBudgetBurn', shop), row('StatusMateComponentErrorBudgetBurn', blog)],
              },
              { expr: 'count(ALERTS{alertname=~"StatusMateExporter.*"}) or vector(0)', eval_time: '10m', exp_samples: [{ labels: '{}', value: 0 }] },
            ],
          }),
        );
        expect(result.ok, result.output).toBe(true);
      },
    );

    it.skipIf(tool.skipReason !== undefined)("each release's recording rules write series of its own install only", () => {
      for (const release of releases) {
        const result = run(
          `only-${release.release}`,
          testFile([release.rulesFile], releases, {
            alerts: [],
            exprs: [
              ...RECORDS.map((record) => ({ ...recordedFor(record), exp_samples: [install(release)] })),
              { ...firing('StatusMateComponentMajorOutage'), exp_samples: [row('StatusMateComponentMajorOutage', release)] },
            ],
          }),
        );
        expect(result.ok, `${release.release}: ${result.output}`).toBe(true);
      }
    });

    it.skipIf(tool.skipReason !== undefined)('a wrong expectation fails, so a passing run means something', () => {
      const [shop] = releases as [Release];
      const result = run(
        'broken',
        testFile([shop.rulesFile], releases, {
          alerts: [],
          exprs: [{ ...recordedFor(RECORDS[0] ?? ''), exp_samples: releases.map(install) }],
        }),
      );
      expect(result.ok).toBe(false);
    });
  });
});
