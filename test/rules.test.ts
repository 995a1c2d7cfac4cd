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
} from './support/prometheus.js';
import { findTool } from './support/tools.js';

const promtool = findTool('promtool', 'apt-get install -y prometheus (Debian/Ubuntu; it brings promtool)');
const TESTS_DIR = join(ROOT, 'prometheus', 'tests');
const testFiles = readdirSync(TESTS_DIR)
  .filter((file) => file.endsWith('.test.yml'))
  .map((file) => join(TESTS_DIR, file));

const rules = allRules();
const alerts = rules.filter((rule) => rule.alert !== undefined);
const records = rules.filter((rule) => rule.record !== undefined);
const RUNBOOK_BASE = 'https://github.com/statusmate-exporter/statusmate-exporter/blob/main/docs/alerts.md#';

function promtoolRun(args: string[]): { ok: boolean; output: string } {
  try {
    const output = execFileSync(promtool.path ?? 'promtool', args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    return { ok: true, output };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe.skipIf(promtool.skipReason !== undefined)('promtool', () => {
  it('accepts the rules file (promtool check rules)', () => {
    const result = promtoolRun(['check', 'rules', RULES_FILE]);
    expect(result.output).toContain('SUCCESS');
    expect(result.ok, result.output).toBe(true);
  });

  it.each(testFiles.map((file) => ({ file: file.slice(ROOT.length + 1) })))('passes the unit tests of $file (promtool test rules)', ({ file }) => {
    const result = promtoolRun(['test', 'rules', file]);
    expect(result.ok, result.output).toBe(true);
    expect(result.output).toContain('SUCCESS');
  });

  it('fails a unit test whose expected alert is wrong, so a passing run means something', () => {
    // The components tests with one expected label changed, in a temporary directory.
    const original = readFileSync(join(TESTS_DIR, 'components.test.yml'), 'utf8');
    const broken = original.replace('severity: critical', 'severity: page').replace('../statusmate.rules.yml', RULES_FILE);
    expect(broken).not.toBe(original);
    const dir = mkdtempSync(join(tmpdir(), 'statusmate-rules-'));
    try {
      writeFileSync(join(dir, 'broken.test.yml'), broken);
      const result = promtoolRun(['test', 'rules', join(dir, 'broken.test.yml')]);
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
      alert_rule_test: z
        .array(z.object({ eval_time: z.string(), alertname: z.string(), exp_alerts: z.array(z.unknown()) }))
        .optional(),
      promql_expr_test: z.array(z.object({ expr: z.string(), eval_time: z.string(), exp_samples: z.array(z.unknown()) })).optional(),
    }),
  ),
});
const unitTests = testFiles.flatMap((file) => unitTestSchema.parse(parseYaml(readFileSync(file, 'utf8'))).tests);

describe('rule unit tests', () => {
  it.each(alerts.map((rule) => ({ alert: rule.alert ?? '' })))('$alert has a case where it fires and one where it does not', ({ alert }) => {
    const checks = unitTests.flatMap((test) => (test.alert_rule_test ?? []).filter((check) => check.alertname === alert));
    expect(checks.some((check) => check.exp_alerts.length > 0), 'a firing case').toBe(true);
    expect(checks.some((check) => check.exp_alerts.length === 0), 'a not-firing case').toBe(true);
  });

  // Absent is about there being no target at all, so it has no two-replica case.
  const replicated = alerts.filter((rule) => rule.alert !== 'StatusMateExporterAbsent');
  it.each(replicated.map((rule) => ({ alert: rule.alert ?? '' })))('$alert fires as expected in a case with two replicas scraped at once', ({ alert }) => {
    const twoReplicaFiring = unitTests.filter((test) => {
      const instances = new Set(test.input_series.map((input) => /instance="([^"]+)"/.exec(input.series)?.[1]).filter(Boolean));
      return instances.size >= 2 && (test.alert_rule_test ?? []).some((check) => check.alertname === alert && check.exp_alerts.length > 0);
    });
    expect(twoReplicaFiring.map((test) => test.name)).not.toEqual([]);
  });

  it('the recording rules the dashboards read have expression tests', () => {
    const tested = new Set(unitTests.flatMap((test) => (test.promql_expr_test ?? []).map((check) => check.expr)));
    for (const record of [
      'status_page_component:statusmate_component_impact_level:max',
      'status_page_component:statusmate_component_operational:bool',
      'status_page_component:statusmate_component_available:bool',
    ]) {
      expect(tested.has(record), record).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The rules themselves

let knownMetrics: Set<string>;
beforeAll(async () => {
  knownMetrics = await knownMetricNames();
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
  it('is a plain `groups:` file whose rules all have unique names', () => {
    const file = loadRules();
    expect(file.groups.length).toBeGreaterThan(0);
    const names = rules.map((rule) => rule.alert ?? rule.record);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has the alerts the issue asks for', () => {
    expect(alerts.map((rule) => rule.alert).sort()).toEqual(
      [
        'StatusMateComponentDegradedPerformance',
        'StatusMateComponentMajorOutage',
        'StatusMateComponentPartialOutage',
        'StatusMateExporterAbsent',
        'StatusMateExporterDown',
        'StatusMateExporterReplicaDown',
        'StatusMateIncidentLongRunning',
        'StatusMateMaintenanceNotStarted',
        'StatusMateMaintenanceOverrunning',
        'StatusMateStatusPagesFileInvalid',
        'StatusMateStoreDown',
        'StatusMateWebhooksRejected',
      ].sort(),
    );
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

  it.each(alerts.map((rule) => ({ alert: rule.alert ?? '', rule })))('$alert has a severity, a summary, a description and a runbook in docs/alerts.md', ({ alert, rule }) => {
    expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary).toMatch(/\S/);
    expect(rule.annotations?.description).toMatch(/\S/);
    expect(rule.annotations?.runbook_url).toBe(`${RUNBOOK_BASE}${alert.toLowerCase()}`);
    expect(docAnchors.has(alert.toLowerCase()), `docs/alerts.md has no "## ${alert}" section`).toBe(true);
  });

  const domainAlerts = alerts.filter((rule) => metricNames(rule.expr).some((name) => DOMAIN_METRICS.has(name)));
  it('alerts on status pages exist for components, incidents and maintenances', () => {
    expect(domainAlerts.length).toBe(6);
  });

  it.each(domainAlerts.map((rule) => ({ alert: rule.alert ?? '', rule })))('$alert names the status page and the component or title in its description', ({ rule }) => {
    const description = rule.annotations?.description ?? '';
    expect(description).toContain('{{ $labels.status_page }}');
    expect(description).toMatch(/\{\{ \$labels\.(component|title) \}\}/);
  });
});
