// Shared by the dashboard, rules and end-to-end suites: reading the rules file, pulling every
// PromQL query out of a dashboard, filling in Grafana's variables, checking PromQL with the
// grammar Prometheus' own UI uses, and running a real Prometheus on loopback.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { VariableType, type Dashboard, type Panel, type RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { parse as parseYaml } from 'yaml';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { z } from 'zod';
import { METRIC, PROCESS_FAMILIES } from '../../src/metrics/names.js';
import { GAUGES_NAMED_LIKE_COUNTERS } from '../../src/metrics/telemetry.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RULES_FILE = join(ROOT, 'prometheus', 'statusmate.rules.yml');

// ---------------------------------------------------------------------------------------------
// The rules file

const ruleSchema = z
  .object({
    record: z.string().optional(),
    alert: z.string().optional(),
    expr: z.string(),
    for: z.string().optional(),
    keep_firing_for: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .strict();
const rulesFileSchema = z
  .object({
    groups: z.array(z.object({ name: z.string(), interval: z.string().optional(), rules: z.array(ruleSchema) }).strict()),
  })
  .strict();

export type Rule = z.infer<typeof ruleSchema>;
export type RulesFile = z.infer<typeof rulesFileSchema>;

export function loadRules(path = RULES_FILE): RulesFile {
  return rulesFileSchema.parse(parseYaml(readFileSync(path, 'utf8')));
}

export function allRules(file: RulesFile = loadRules()): Rule[] {
  return file.groups.flatMap((group) => group.rules);
}

export function recordedNames(file: RulesFile = loadRules()): Set<string> {
  return new Set(allRules(file).flatMap((rule) => (rule.record ? [rule.record] : [])));
}

/**
 * Every name a dashboard or rule may select: the exporter's (with its histograms' series), the
 * rules' own recorded names, `up`, and prom-client's real default process and Node.js metrics.
 */
export async function knownMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const left: readonly string[] = GAUGES_NAMED_LIKE_COUNTERS;
  const processMetrics = (await registry.getMetricsAsJSON()).map((metric) => metric.name).filter((name) => !left.includes(name));
  const exporter = Object.values(METRIC).flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]);
  return new Set([...exporter, ...recordedNames(), 'up', ...processMetrics]);
}

// ---------------------------------------------------------------------------------------------
// Dashboard queries

export type DashboardQuery = { where: string; expr: string; instant: boolean };

function panelsOf(dashboard: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const panel of dashboard.panels ?? []) {
    if (panel.type === 'row') out.push(...(panel as RowPanel).panels);
    else out.push(panel);
  }
  return out;
}

function stringField(value: object, key: string): string | undefined {
  const field: unknown = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

/** Every PromQL expression of a dashboard: panel targets and annotations (not variable queries). */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      const expr = stringField(target, 'expr');
      if (expr === undefined) throw new Error(`panel "${panel.title}" has a target without expr`);
      const refId = stringField(target, 'refId') ?? '?';
      queries.push({ where: `${dashboard.uid} / "${panel.title}" / ${refId}`, expr, instant: (target as { instant?: boolean }).instant === true });
    }
  }
  for (const annotation of dashboard.annotations.list ?? []) {
    const expr = stringField(annotation, 'expr');
    if (expr !== undefined) queries.push({ where: `${dashboard.uid} / annotation "${annotation.name}"`, expr, instant: false });
  }
  return queries;
}

export type VariableQuery = { name: string; metric: string; matchers: string; label: string };

/** The `label_values(<selector>, <label>)` query variables of a dashboard. */
export function variableQueries(dashboard: Dashboard): VariableQuery[] {
  const out: VariableQuery[] = [];
  for (const variable of dashboard.templating.list ?? []) {
    if (variable.type !== VariableType.Query) continue;
    const raw = typeof variable.query === 'string' ? variable.query : '';
    const match = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(raw);
    if (!match) throw new Error(`variable ${variable.name}: not a label_values(metric, label) query: ${raw}`);
    out.push({ name: variable.name, metric: match[1] ?? '', matchers: match[2] ?? '', label: match[3] ?? '' });
  }
  return out;
}

export type VariableValues = Record<string, string>;

/**
 * Fills in what Grafana would: the dashboard's own variables (`$name`, `${name}`) and the
 * built-in intervals. Throws if a `$` is left, so a new variable cannot slip through untested.
 */
export function fillVariables(expr: string, values: VariableValues): string {
  const builtIn: VariableValues = { __rate_interval: '1m', __interval: '15s', __range: '5m', ...values };
  const filled = expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = builtIn[name];
    if (value === undefined) throw new Error(`no value for variable $${name} in: ${expr}`);
    return value;
  });
  return filled;
}

// ---------------------------------------------------------------------------------------------
// PromQL

function parsePromQL(expr: string): SyntaxNode {
  return parser.parse(expr).topNode;
}

function walk(node: SyntaxNode, visit: (node: SyntaxNode) => void): void {
  visit(node);
  for (let child = node.firstChild; child; child = child.nextSibling) walk(child, visit);
}

/** Where the grammar failed to parse the expression; empty when it parses. */
export function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  walk(parsePromQL(expr), (node) => {
    if (node.type.isError) errors.push(`syntax error at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.from + 20)}…`);
  });
  return errors;
}

type Selector = { metric: string; node: SyntaxNode };

function selectors(expr: string): Selector[] {
  const found: Selector[] = [];
  walk(parsePromQL(expr), (node) => {
    if (node.name !== 'VectorSelector') return;
    const identifier = node.getChild('Identifier');
    if (identifier) found.push({ metric: expr.slice(identifier.from, identifier.to), node });
  });
  return found;
}

/** The metric names an expression selects. */
export function metricNames(expr: string): string[] {
  return [...new Set(selectors(expr).map((selector) => selector.metric))];
}

/** Metrics describing the status pages: the same on every replica, so replicas must be reduced (PROCESS_FAMILIES are per process). */
export const DOMAIN_METRICS: ReadonlySet<string> = new Set(Object.values(METRIC).filter((name) => !PROCESS_FAMILIES.includes(name)));

function baseName(metric: string): string {
  return metric.replace(/_(bucket|sum|count)$/, '');
}

function insideMax(node: SyntaxNode): boolean {
  for (let parent = node.parent; parent; parent = parent.parent) {
    if (parent.name === 'AggregateExpr' && parent.getChild('AggregateOp')?.getChild('Max')) return true;
  }
  return false;
}

/**
 * Domain-metric selectors that no `max` aggregation encloses. With two replicas scraped, such a
 * selector returns every series twice, and a sum or count over it doubles.
 */
export function unreducedDomainSelectors(expr: string): string[] {
  return selectors(expr)
    .filter(({ metric, node }) => (DOMAIN_METRICS.has(metric) || DOMAIN_METRICS.has(baseName(metric))) && !insideMax(node))
    .map(({ metric }) => metric);
}

/**
 * The domain gauges that say what is true now (impacts, what is active, when it started): a
 * replica that lost its store keeps serving its last state of them, so a `max` across replicas
 * must read them through fromTrustedReplicas (mixin/rules.ts).
 */
export const CURRENT_STATE_METRICS: ReadonlySet<string> = new Set([
  METRIC.componentImpactLevel,
  METRIC.componentImpact,
  METRIC.componentImpactSeconds,
  METRIC.componentLastChange,
  METRIC.componentAlertsFiring,
  METRIC.componentAlertMatchers,
  METRIC.incidentsActive,
  METRIC.incidentInfo,
  METRIC.incidentStart,
  METRIC.maintenancesActive,
  METRIC.maintenanceInfo,
  METRIC.maintenanceStart,
  METRIC.maintenanceScheduledStart,
  METRIC.maintenanceScheduledEnd,
]);

/**
 * Selectors of CURRENT_STATE_METRICS that are not the left side of an `unless` on
 * statusmate_store_up and statusmate_store_folded_timestamp_seconds: with them, a replica whose
 * store is down, or that folded less of the log, would keep its stale state in the fleet's view.
 */
export function untrustedStateSelectors(expr: string): string[] {
  return selectors(expr)
    .filter(({ metric, node }) => CURRENT_STATE_METRICS.has(metric) && !leftOfStoreUpFilter(node, expr))
    .map(({ metric }) => metric);
}

function leftOfStoreUpFilter(node: SyntaxNode, expr: string): boolean {
  for (let child: SyntaxNode = node, parent = node.parent; parent; child = parent, parent = parent.parent) {
    if (parent.name !== 'BinaryExpr' || parent.firstChild?.from !== child.from || parent.firstChild.to !== child.to) continue;
    const rest = expr.slice(child.to, parent.to);
    if (/^\s*unless\b/.test(rest) && rest.includes(`${METRIC.storeUp}{`) && rest.includes(`${METRIC.storeFoldedTimestamp}{`)) return true;
  }
  return false;
}

/**
 * The persisted counters that an `increase()`, `rate()` or `irate()` reads raw. A pod that
 * replaces another starts the raw series anew under its own pod and instance, so such a query
 * counts one pod's part; the recorded series (RECORD.counter) go on across pods.
 */
export function rawPersistedCounterRates(expr: string, persisted: ReadonlySet<string>): string[] {
  return [...expr.matchAll(/\b(?:increase|rate|irate)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/g)]
    .map((match) => match[1] ?? '')
    .filter((metric) => persisted.has(metric));
}

// ---------------------------------------------------------------------------------------------
// Processes on loopback

/**
 * `count` distinct free TCP ports on 127.0.0.1, all held at once before any is let go: ports asked
 * for one at a time, before anything binds them, may come back equal (an Alertmanager's web port
 * the same as its peer's gossip port: "address already in use").
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.unref();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * How a Go server of the Prometheus family (Prometheus 2.x and 3.x, Alertmanager) that could not
 * bind its port says so. freePort() hands out a port of the ephemeral range, free when asked:
 * another process's outgoing connection may take it before the server binds (seen in CI, with
 * the test files running side by side).
 */
export const PORT_TAKEN = /bind: address already in use/;

/** A free TCP port on 127.0.0.1: listen on port 0, read the port, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError instanceof Error ? String(lastError) : inspect(lastError)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export type Child = { process: ChildProcess; output: () => string };

/** Spawns a process whose stdout and stderr are kept (the last 64 KiB) for failure messages. */
export function spawnLogged(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { process: child, output: () => log };
}

/** Sends SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export async function stop(child: Child | undefined, graceMs = 5_000): Promise<void> {
  if (!child) return;
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export type Prometheus = Child & { url: string; dir: string; close: () => Promise<void> };

/**
 * Starts a real Prometheus on 127.0.0.1 with the given scrape config and rule files, its TSDB in a
 * fresh temporary directory, and waits until it is ready.
 */
export async function startPrometheus(
  binary: string,
  config: { scrapeConfigs: string; ruleFiles: string[]; interval?: string; args?: string[]; alertmanagers?: string[] },
): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'statusmate-prometheus-'));
  const interval = config.interval ?? '1s';
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(
    configPath,
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'rule_files:',
      ...config.ruleFiles.map((file) => `  - ${JSON.stringify(file)}`),
      ...(config.alertmanagers === undefined
        ? []
        : [
            'alerting:',
            '  alertmanagers:',
            '    - static_configs:',
            `        - targets: [${config.alertmanagers.map((target) => JSON.stringify(target)).join(', ')}]`,
          ]),
      'scrape_configs:',
      config.scrapeConfigs,
      '',
    ].join('\n'),
  );
  // A free port may be taken by another test file's process before Prometheus binds it: then it
  // exits saying "address already in use", and another port is tried (as for redis-server and
  // Alertmanager), each try with a TSDB of its own.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const tsdb = join(dir, `data-${attempt}`);
    const child = spawnLogged(binary, [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${tsdb}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(config.args ?? []),
    ]);
    const url = `http://127.0.0.1:${port}`;
    const prometheus: Prometheus = {
      ...child,
      url,
      dir,
      close: async () => {
        await stop(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    let outcome: 'ready' | 'exited';
    try {
      outcome = await waitFor('Prometheus to be ready', async () => {
        if (child.process.exitCode !== null) return 'exited';
        const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
        if (!response.ok) return undefined;
        // Ours, not another test file's Prometheus that holds the port ours could not bind.
        const flags = flagsResponse.safeParse(await (await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(2_000) })).json());
        return flags.success && flags.data.data['storage.tsdb.path'] === tsdb ? 'ready' : undefined;
      });
    } catch (error) {
      await prometheus.close();
      throw error;
    }
    if (outcome === 'ready') return prometheus;
    if (PORT_TAKEN.test(child.output()) && attempt < 5) continue;
    await prometheus.close();
    throw new Error(`prometheus exited with ${child.process.exitCode}:\n${child.output()}`);
  }
}

/** GET /api/v1/status/flags: the flags a Prometheus was started with. */
const flagsResponse = z.object({ data: z.record(z.string(), z.string()) });

const vectorSample = z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) });
const queryResponse = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({ resultType: z.literal('vector'), result: z.array(vectorSample) }),
      z.object({ resultType: z.literal('scalar'), result: z.tuple([z.number(), z.string()]) }),
      z.object({
        resultType: z.literal('matrix'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.tuple([z.number(), z.string()])) })),
      }),
    ]),
    warnings: z.array(z.string()).optional(),
  }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

export type Sample = { labels: Record<string, string>; value: number };
export type QueryResult = { ok: true; samples: Sample[] } | { ok: false; error: string };

/** An instant query through the HTTP API. A scalar becomes one sample without labels. */
export async function instantQuery(url: string, expr: string, time?: number): Promise<QueryResult> {
  const response = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = queryResponse.parse(await response.json());
  if (body.status === 'error') return { ok: false, error: `${body.errorType}: ${body.error}` };
  const data = body.data;
  if (data.resultType === 'scalar') return { ok: true, samples: [{ labels: {}, value: Number(data.result[1]) }] };
  if (data.resultType === 'matrix') return { ok: false, error: 'range vector result for an instant query' };
  return { ok: true, samples: data.result.map((s) => ({ labels: s.metric, value: Number(s.value[1]) })) };
}

/** A range query over the last `seconds`, as Grafana runs a time-series panel. */
export async function rangeQuery(url: string, expr: string, seconds: number, stepSeconds: number): Promise<QueryResult> {
  const end = Math.floor(Date.now() / 1000);
  const response = await fetch(`${url}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr, start: String(end - seconds), end: String(end), step: String(stepSeconds) }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = queryResponse.parse(await response.json());
  if (body.status === 'error') return { ok: false, error: `${body.errorType}: ${body.error}` };
  const data = body.data;
  if (data.resultType !== 'matrix') return { ok: false, error: `expected a matrix, got ${data.resultType}` };
  return {
    ok: true,
    samples: data.result.map((s) => ({ labels: s.metric, value: Number(s.values[s.values.length - 1]?.[1] ?? Number.NaN) })),
  };
}
