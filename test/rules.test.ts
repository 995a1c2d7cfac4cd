import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  DOMAIN_METRICS,
  ROOT,
  RULES_FILE,
  allRules,
  loadRules,
  metricNames,
  promqlErrors,
  unreducedDomainSelectors,
  knownMetricNames,
  rawPersistedCounterRates,
} from './support/prometheus.js';
import { promtools } from './support/tools.js';
import { collectStateFamilies } from './support/exposition-families.js';
import { DEFAULT_CONFIG, installLabels, runbookUrl } from '../mixin/config.js';
import { PERSISTED_COUNTERS, RECORD } from '../mixin/rules.js';
import { PROCESS_FAMILIES } from '../src/metrics/names.js';

const PROMTOOLS = promtools();
/** How long one rules test file may take under promtool (see where it is used). */
const PROMTOOL_TEST_TIMEOUT_MS = 300_000;
const TESTS_DIR = join(ROOT, 'prometheus', 'tests');
const testFiles = readdirSync(TESTS_DIR)
  .filter((file) => file.endsWith('.test.yml'))
  .map((file) => join(TESTS_DIR, file));

const rules = allRules();
const alerts = rules.filter((rule) => rule.alert !== undefined);
const records = rules.filter((rule) => rule.record !== undefined);
const alertNames = [...new Set(alerts.map((rule) => rule.alert ?? ''))];
const INSTALL = installLabels(DEFAULT_CONFIG);

function promtoolRun(promtool: string, args: string[]): { ok: boolean; output: string } {
  try {
    const output = execFileSync(promtool, args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    return { ok: true, output };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe.each(PROMTOOLS)('$version', ({ tool }) => {
  if (tool.skipReason !== undefined) {
    it.skip(tool.skipReason, () => undefined);
    return;
  }
  const promtool = tool.path ?? 'promtool';

  it.each([{ file: 'prometheus/statusmate.rules.yml' }, { file: 'helm/statusmate-exporter/files/prometheus/statusmate.rules.yml' }])(
    'accepts $file (promtool check rules)',
    ({ file }) => {
      const result = promtoolRun(promtool, ['check', 'rules', join(ROOT, file)]);
      expect(result.output).toContain('SUCCESS');
      expect(result.ok, result.output).toBe(true);
    },
  );

  // promtool evaluates every rule group at every step of every test: the longest files took 75 to
  // 90 s each with other suites on the machine's two cores (load 7), past the default 60 s.
  it.each(testFiles.map((file) => ({ file: file.slice(ROOT.length + 1) })))(
    'passes the unit tests of $file (promtool test rules)',
    ({ file }) => {
      const result = promtoolRun(promtool, ['test', 'rules', file]);
      expect(result.ok, result.output).toBe(true);
      expect(result.output).toContain('SUCCESS');
    },
    PROMTOOL_TEST_TIMEOUT_MS,
  );

  it('fails a unit test whose expected alert is wrong, so a passing run means something', () => {
    // The components tests with one expected label changed, in a temporary directory.
    const original = readFileSync(join(TESTS_DIR, 'components.test.yml'), 'utf8');
    const broken = original.replace('severity: critical', 'severity: page').replace('../statusmate.rules.yml', RULES_FILE);
    expect(broken).not.toBe(original);
    const dir = mkdtempSync(join(tmpdir(), 'statusmate-rules-'));
    try {
      writeFileSync(join(dir, 'broken.test.yml'), broken);
      const result = promtoolRun(promtool, ['test', 'rules', join(dir, 'broken.test.yml')]);
      expect(result.ok).toBe(false);
      expect(result.output).toContain('StatusMateComponentMajorOutage');
      expect(result.output).toContain('severity="page"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// What the unit tests cover

const unitTestSchema = z.object({
  rule_files: z.array(z.string()),
  evaluation_interval: z.string().optional(),
  tests: z.array(
    z.object({
      name: z.string(),
      interval: z.string(),
      input_series: z.array(z.object({ series: z.string(), values: z.string() })),
      alert_rule_test: z.array(z.object({ eval_time: z.string(), alertname: z.string(), exp_alerts: z.array(z.unknown()) })).optional(),
      promql_expr_test: z.array(z.object({ expr: z.string(), eval_time: z.string(), exp_samples: z.array(z.unknown()) })).optional(),
    }),
  ),
});
const unitTests = testFiles.flatMap((file) => unitTestSchema.parse(parseYaml(readFileSync(file, 'utf8'))).tests);

describe('rule unit tests', () => {
  it.each(alertNames.map((alert) => ({ alert })))('$alert has a case where it fires and one where it does not', ({ alert }) => {
    const checks = unitTests.flatMap((test) => (test.alert_rule_test ?? []).filter((check) => check.alertname === alert));
    expect(
      checks.some((check) => check.exp_alerts.length > 0),
      'a firing case',
    ).toBe(true);
    expect(
      checks.some((check) => check.exp_alerts.length === 0),
      'a not-firing case',
    ).toBe(true);
  });

  // Absent is about there being no target at all, so it has no two-replica case.
  const replicated = alertNames.filter((alert) => alert !== 'StatusMateExporterAbsent');
  it.each(replicated.map((alert) => ({ alert })))('$alert fires as expected in a case with two replicas scraped at once', ({ alert }) => {
    const twoReplicaFiring = unitTests.filter((test) => {
      const instances = new Set(test.input_series.map((input) => /instance="([^"]+)"/.exec(input.series)?.[1]).filter(Boolean));
      return instances.size >= 2 && (test.alert_rule_test ?? []).some((check) => check.alertname === alert && check.exp_alerts.length > 0);
    });
    expect(twoReplicaFiring.map((test) => test.name)).not.toEqual([]);
  });

  it('docs/alerts.md names as per-replica exactly the alerts whose promtool cases expect an `instance` label', () => {
    // A route or silence per replica matches on `instance`: the list is the reader's only way to
    // know which alerts have it.
    const expected = z.array(z.object({ exp_labels: z.record(z.string(), z.string()).optional() }));
    const perReplica = new Set(
      unitTests.flatMap((test) =>
        (test.alert_rule_test ?? [])
          .filter((check) => expected.parse(check.exp_alerts).some((alert) => 'instance' in (alert.exp_labels ?? {})))
          .map((check) => check.alertname),
      ),
    );
    const sentence = /the per-replica alerts \(([^)]*)\) `instance`/.exec(alertsDoc.replace(/\s+/g, ' '))?.[1] ?? '';
    expect([...sentence.matchAll(/`(StatusMate\w+)`/g)].map((match) => match[1]).sort()).toEqual([...perReplica].sort());
  });

  const counterTests = unitTests.filter((test) => test.promql_expr_test?.some((check) => check.expr.includes('increase(')));
  // A counter that grows at scrape time is read as its growth over a window, in the availability.
  const availabilityTests = unitTests.filter((test) => test.promql_expr_test?.some((check) => check.expr.startsWith(RECORD.availableOver(''))));
  it.each(PERSISTED_COUNTERS.map(({ metric, grows }) => ({ metric, grows, record: RECORD.counter(metric) })))(
    '$record has a promtool case for a pod replacement and one for two replicas, each checking increase() or the availability it gives',
    ({ metric, grows, record }) => {
      const cases = grows
        ? availabilityTests.filter((test) => test.input_series.some((input) => input.series.startsWith(`${metric}{`)))
        : counterTests.filter((test) => test.promql_expr_test?.some((check) => check.expr.includes(`increase(${record}[`)));
      const pods = (test: (typeof cases)[number]) =>
        new Set(test.input_series.filter((input) => input.series.startsWith(`${metric}{`)).map((input) => /pod="([^"]+)"/.exec(input.series)?.[1]));
      // A replacement: the old pod's series ends (stale) and a new pod's begins later.
      const replacement = cases.some((test) => pods(test).size === 2 && test.input_series.some((input) => input.values.includes('stale')));
      const replicas = cases.some((test) => pods(test).size === 2 && test.input_series.every((input) => !input.values.includes('stale')));
      expect({ replacement, replicas }).toEqual({ replacement: true, replicas: true });
    },
  );

  it('the recording rules the dashboards read have expression tests', () => {
    const tested = new Set(unitTests.flatMap((test) => (test.promql_expr_test ?? []).map((check) => check.expr)));
    for (const record of [
      'status_page_component:statusmate_component_impact_level:max',
      'status_page_component:statusmate_component_operational:bool',
      'status_page_component:statusmate_component_available:bool',
      'status_page_component:statusmate_component_available:avg_over_time1h',
      'status_page_component:statusmate_component_available:avg_over_time30d',
      'status_page_component:statusmate_component_error_budget:remaining30d',
      'status_page_component_impact:statusmate_component_impact_seconds_total:max',
      'status_page_component_impact:statusmate_component_impact_seconds_total:max_first',
      'status_page_component:statusmate_component_status_page_silent:bool',
    ]) {
      expect(tested.has(record), record).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The rules themselves

let knownMetrics: Set<string>;
beforeAll(async () => {
  // ALERTS: the burn alerts read which outage alerts fired, so an outage pages once.
  knownMetrics = new Set([...(await knownMetricNames()), 'ALERTS']);
});

const alertsDoc = readFileSync(join(ROOT, 'docs', 'alerts.md'), 'utf8');
/** GitHub's anchors for `## Heading` lines: lower case, spaces to dashes, punctuation dropped. */
const docAnchors = new Set(
  [...alertsDoc.matchAll(/^#{2,3} (.+)$/gm)].map((match) =>
    (match[1] ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, '')
      .replace(/ /g, '-'),
  ),
);

describe('rules file', () => {
  it('is a plain `groups:` file whose rules are all distinct (an alert name repeats only with other windows)', () => {
    const file = loadRules();
    expect(file.groups.length).toBeGreaterThan(0);
    const names = rules.map((rule) => `${rule.alert ?? rule.record} ${JSON.stringify(rule.labels ?? {})}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has the alerts the issue asks for', () => {
    expect(alertNames.sort()).toEqual(
      [
        'StatusMateAlertmanagerNotificationsRejected',
        'StatusMateComponentDegradedPerformance',
        'StatusMateComponentErrorBudgetBurn',
        'StatusMateWebhookStoreErrors',
        'StatusMateWebhooksRefusedLimit',
        'StatusMateComponentMajorOutage',
        'StatusMateComponentPartialOutage',
        'StatusMateComponentUnknownImpact',
        'StatusMateExporterAbsent',
        'StatusMateExporterDown',
        'StatusMateExporterReplicaDown',
        'StatusMateIncidentLongRunning',
        'StatusMateMaintenanceNotStarted',
        'StatusMateMaintenanceOverrunning',
        'StatusMateMaintenanceSilencesLingering',
        'StatusMateMaintenanceSilencesMissing',
        'StatusMateStatusPagesFileInvalid',
        'StatusMateStatusPageSilent',
        'StatusMateStatusPageForgottenIncident',
        'StatusMateStoreDown',
        'StatusMateStoreEpochsDiffer',
        'StatusMateStoreFoldLagging',
        'StatusMateStoreSnapshotStale',
        'StatusMateWebhooksRejected',
      ].sort(),
    );
  });

  it('records every counter and histogram the store keeps (every one outside PROCESS_FAMILIES), and no per-process one', () => {
    const persisted = collectStateFamilies().filter((family) => !PROCESS_FAMILIES.includes(family.name));
    const expected = persisted.flatMap((family) =>
      family.type === 'histogram' ? [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`] : family.type === 'counter' ? [family.name] : [],
    );
    expect(PERSISTED_COUNTERS.map(({ metric }) => metric).sort()).toEqual(expected.sort());
  });

  it.each(rules.map((rule) => ({ name: rule.alert ?? rule.record ?? '', expr: rule.expr })))(
    '$name takes increase() and rate() of persisted counters only from their recorded series',
    ({ expr }) => {
      expect(rawPersistedCounterRates(expr, new Set(PERSISTED_COUNTERS.map(({ metric }) => metric)))).toEqual([]);
    },
  );

  it('documents every recording rule in the table of docs/alerts.md', () => {
    // The table names rules by pattern: `<counter>` for any name, `{5m,1h}` for each window, and
    // `…:max_every1h` for the name of the row's first rule with its last part replaced.
    const section = alertsDoc.slice(alertsDoc.indexOf('## Recording rules'));
    const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| rule |')));
    const patterns = table.split('\n').flatMap((row) => {
      const names = [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
      const first = names[0] ?? '';
      return names.map((name) => {
        const whole = name.startsWith('…:') ? first.replace(/:[^:]*$/, name.slice(1)) : name;
        const source = whole
          .split(/(<[a-z]+>|\{[^}]+\})/)
          .map((part) =>
            part.startsWith('<')
              ? '[a-z_]+'
              : part.startsWith('{')
                ? `(?:${part.slice(1, -1).split(',').join('|')})`
                : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'),
          )
          .join('');
        return new RegExp(`^${source}$`);
      });
    });
    const undocumented = [...new Set(records.map((rule) => rule.record as string))].filter((name) => !patterns.some((pattern) => pattern.test(name)));
    expect(undocumented).toEqual([]);
  });

  it('names recording rules level:metric:operations', () => {
    for (const rule of records) expect(rule.record).toMatch(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
  });

  it.each(rules.map((rule) => ({ name: rule.alert ?? rule.record ?? '', expr: rule.expr })))(
    '$name parses as PromQL and selects only metrics the exporter exposes or the rules record',
    ({ expr }) => {
      expect(promqlErrors(expr)).toEqual([]);
      const names = metricNames(expr);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((name) => !knownMetrics.has(name))).toEqual([]);
    },
  );

  it.each(rules.map((rule) => ({ name: rule.alert ?? rule.record ?? '', expr: rule.expr })))(
    '$name reduces replicas with max before comparing or joining domain metrics',
    ({ expr }) => {
      expect(unreducedDomainSelectors(expr)).toEqual([]);
    },
  );

  it.each(alerts.map((rule) => ({ alert: rule.alert ?? '', rule })))(
    '$alert has a severity, a summary, a description and a runbook in docs/alerts.md',
    ({ alert, rule }) => {
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toMatch(/\S/);
      expect(rule.annotations?.description).toMatch(/\S/);
      expect(rule.annotations?.runbook_url).toBe(runbookUrl(DEFAULT_CONFIG, alert));
      expect(docAnchors.has(alert.toLowerCase()), `docs/alerts.md has no "## ${alert}" section`).toBe(true);
    },
  );

  const domainAlerts = alerts.filter((rule) => metricNames(rule.expr).some((name) => DOMAIN_METRICS.has(name) || name.startsWith('status_page_component:')));
  it('alerts on status pages exist for components (with four burn-rate windows), incidents and maintenances', () => {
    expect(DEFAULT_CONFIG.slo.burnRateAlerts.map((pair) => `${pair.long}/${pair.short} ${pair.severity}`)).toEqual([
      '1h/5m critical',
      '6h/30m critical',
      '1d/2h warning',
      '3d/6h warning',
    ]);
    // 7, and the two that compare Alertmanager's alerts with the page.
    expect(domainAlerts.length).toBe(9 + DEFAULT_CONFIG.slo.burnRateAlerts.length);
  });

  it.each(domainAlerts.map((rule) => ({ alert: rule.alert ?? '', rule })))(
    '$alert is identified by uuid, and looks the name or title up for its description',
    ({ rule }) => {
      const description = rule.annotations?.description ?? '';
      expect(description).toContain('{{ $labels.status_page }}');
      expect(description).toMatch(/\{\{ \$(component|title) \}\}/);
      expect(description).toMatch(/\| query \}\}/);
      // No name or title in the expression's output labels: `by`/`on`/`group_left` lists hold uuids only.
      for (const list of rule.expr.matchAll(/\b(?:by|on|group_left) \(([^)]*)\)/g)) {
        expect(list[1]?.split(/,\s*/)).not.toContain('component');
        expect(list[1]?.split(/,\s*/)).not.toContain('title');
      }
    },
  );

  it.each(rules.map((rule) => ({ name: rule.alert ?? rule.record ?? '', expr: rule.expr })))(
    '$name keeps the install labels (cluster, namespace, job) in every aggregation and join, so two installs never merge',
    ({ expr }) => {
      for (const list of expr.matchAll(/\b(by|on) \(([^)]*)\)/g)) {
        const labels = (list[2] ?? '').split(/,\s*/);
        for (const label of INSTALL) expect(labels, `${list[0]} in ${expr}`).toContain(label);
      }
    },
  );

  it.each(
    alerts
      .filter((rule) => metricNames(rule.expr).some((name) => DOMAIN_METRICS.has(name) && !name.endsWith('_info')))
      .map((rule) => ({ alert: rule.alert ?? '', rule })),
  )('$alert keeps firing through a scrape gap (keep_firing_for)', ({ rule }) => {
    expect(rule.keep_firing_for).toMatch(/^\d+m$/);
  });
});
