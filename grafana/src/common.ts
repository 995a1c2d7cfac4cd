// Small helpers shared by the dashboards: the datasource and variables every query uses, a
// Prometheus query with its legend, the impact value mappings, and the names of the recording
// rules in prometheus/statusmate.rules.yml that the overview reads.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  FieldColorModeId,
  MappingType,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DataTransformerConfig,
  type DynamicConfigValue,
  type Panel,
  type RowPanel,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { DEFAULT_CONFIG, installLabels } from '../../mixin/config.js';
import { RECORD, fromTrustedReplicas } from '../../mixin/rules.js';
import { METRIC } from '../../src/metrics/names.js';

/** Every panel, query, variable and annotation reads from the datasource the user picks. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/**
 * The labels of one install (the mixin's cluster label, namespace, job), each with a variable
 * of its own name. "All" is `.*`, which also matches series without the label (one cluster,
 * no Kubernetes).
 */
export const INSTALL_LABELS: readonly string[] = installLabels(DEFAULT_CONFIG);

/** The install labels ahead of a `by` list's own: `by (${INSTALL_BY}outcome)`. A sum without them adds installs together under "All". */
export const INSTALL_BY = `${INSTALL_LABELS.join(', ')}, `;

/** The install labels ahead of a legend's own, telling installs apart. */
export const INSTALL_LEGEND = `${INSTALL_LABELS.map((label) => `{{${label}}}`).join(' ')}: `;

/** The matchers of the install variables. */
export const INSTALL = INSTALL_LABELS.map((label) => `${label}=~"$${label}"`).join(', ');

/** The install and status_page matchers (the variables are multi-value, so regexes). */
export const PAGE = `${INSTALL}, status_page=~"$status_page"`;

/** `metric{matchers}` from the replicas that hold the install's newest state: see the mixin's fromTrustedReplicas. */
export function trusted(metric: string, matchers: string): string {
  return fromTrustedReplicas(`${metric}{${matchers}}`, (processMetric) => `${processMetric}{${INSTALL}}`, INSTALL_LABELS);
}

/** `by (<install labels>, …labels)`: an aggregation that never merges two installs. */
export function by(...labels: string[]): string {
  return `by (${[...INSTALL_LABELS, ...labels].join(', ')})`;
}

/** `on (<install labels>, …labels)`. */
export function on(...labels: string[]): string {
  return `on (${[...INSTALL_LABELS, ...labels].join(', ')})`;
}

/**
 * Recording rules of prometheus/statusmate.rules.yml, named by the mixin that writes them; a
 * test checks that each is recorded there.
 */
export const RECORDED = {
  impactLevel: RECORD.impactLevel,
  operational: RECORD.operational,
  available: RECORD.available,
  available1h: RECORD.availableOver('1h'),
  /** The availability over the budget window, from the impact seconds, recorded hourly. */
  availableBudgetWindow: RECORD.availableOver(DEFAULT_CONFIG.slo.budgetWindow),
  budgetRemaining: RECORD.budgetRemaining(DEFAULT_CONFIG.slo.budgetWindow),
  /** The impact seconds, one series per component and impact, every evaluation and every 5 minutes. */
  impactSeconds: RECORD.counter(METRIC.componentImpactSeconds),
  impactSeconds5m: RECORD.impactSecondsEvery('5m'),
  /** The impact seconds at the evaluations a series appears in: where a component first seen within the range starts. */
  impactSecondsFirst: RECORD.impactSecondsFirst,
  statusPageSilent: RECORD.statusPageSilent,
} as const;

/** The SLO the burn-rate alerts and the SLO row use. */
export const SLO = DEFAULT_CONFIG.slo;

/** Grafana's oldest version this JSON is written for: table cell options (10.0) are the newest feature it uses. */
export const MIN_GRAFANA_VERSION = '10.0.0';

export const TAGS = ['statusmate', 'statusmate-exporter'];

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/**
 * A multi-select picker of one label's values, "All" by default, refreshed with the time range.
 * "All" is `allValue`, or with null the values the query found (Grafana's own "All").
 */
export function labelVariable(name: string, label: string, query: string, allValue: string | null = '.+'): QueryVariableBuilder {
  const variable = new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.NaturalAsc)
    .multi(true)
    .includeAll(true)
    .current({ text: 'All', value: '$__all', selected: true });
  return allValue === null ? variable : variable.allValue(allValue);
}

/**
 * The status page picker. Its values come from a series every known status page has, so a
 * page appears as soon as the exporter has stored one event for it.
 */
export function statusPageVariable(): QueryVariableBuilder {
  return labelVariable('status_page', 'Status page', `label_values(${METRIC.incidentsActive}{${INSTALL}}, status_page)`);
}

/**
 * One picker per install label, each narrowed by the ones before it, from a series only
 * statusmate-exporter has. "All" of cluster and namespace (`.*`) also matches series without the
 * label; "All" of job is the exporter's jobs found, not `.*`: the health dashboard reads series
 * every target has (`up`, `process_*`, `nodejs_*`), and `.*` counted every job in Prometheus.
 */
export function installVariables(): QueryVariableBuilder[] {
  const titles: Record<string, string> = { namespace: 'Namespace', job: 'Job' };
  return INSTALL_LABELS.map((label, index) => {
    const before = INSTALL_LABELS.slice(0, index)
      .map((previous) => `${previous}=~"$${previous}"`)
      .join(', ');
    const query = `label_values(${METRIC.buildInfo}${before ? `{${before}}` : ''}, ${label})`;
    return labelVariable(label, titles[label] ?? 'Cluster', query, label === 'job' ? null : '.*').description(
      `The ${label} of the statusmate-exporter installs to show.`,
    );
  });
}

/** Links to the other dashboard, keeping the time range and the variables. */
export function linkTo(title: string, uid: string, tooltip: string): DashboardLinkBuilder {
  return new DashboardLinkBuilder(title)
    .type(DashboardLinkType.Link)
    .url(`/d/${uid}`)
    .tooltip(tooltip)
    .icon('dashboard')
    .keepTime(true)
    .includeVars(true)
    .targetBlank(false)
    .asDropdown(false);
}

type QueryOptions = {
  legend?: string;
  /** One value per series at the end of the range (tables, stats), instead of a time series. */
  instant?: boolean;
  /** Rows with one column per label, for tables. */
  table?: boolean;
  /** The smallest step, e.g. '1d' so that one point is one day. */
  interval?: string;
};

export function query(refId: string, expr: string, options: QueryOptions = {}): DataqueryBuilder {
  const builder = new DataqueryBuilder().refId(refId).datasource(DATASOURCE).expr(expr);
  builder.legendFormat(options.legend ?? '__auto');
  if (options.instant) builder.instant();
  else builder.range();
  if (options.table) builder.format(PromQueryFormat.Table);
  if (options.interval) builder.interval(options.interval);
  return builder;
}

/** Colours of the impacts, the usual status-page palette. */
export const IMPACT_COLOR = {
  unknown: '#8e8e8e',
  operational: 'green',
  under_maintenance: 'blue',
  degraded_performance: 'yellow',
  partial_outage: 'orange',
  major_outage: 'red',
} as const;

/** Impact level (statusmate_component_impact_level) to its StatusMate name and colour. */
export const IMPACT_LEVEL_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '-1': { text: 'unknown', color: IMPACT_COLOR.unknown, index: 0 },
      '0': { text: 'operational', color: IMPACT_COLOR.operational, index: 1 },
      '1': { text: 'under_maintenance', color: IMPACT_COLOR.under_maintenance, index: 2 },
      '2': { text: 'degraded_performance', color: IMPACT_COLOR.degraded_performance, index: 3 },
      '3': { text: 'partial_outage', color: IMPACT_COLOR.partial_outage, index: 4 },
      '4': { text: 'major_outage', color: IMPACT_COLOR.major_outage, index: 5 },
    },
  },
];

export function thresholds(base: string, steps: Array<[number, string]> = []): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

export function fixedColor(color: string): DynamicConfigValue {
  return { id: 'color', value: { mode: FieldColorModeId.Fixed, fixedColor: color } };
}

export function lastValue(): cog.Builder<common.ReduceDataOptions> {
  return new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
}

/** Joins instant table queries on their common label columns into one row per object. */
export const MERGE: DataTransformerConfig = { id: 'merge', options: {} };

export function organize(options: { exclude?: string[]; rename?: Record<string, string>; order?: string[] }): DataTransformerConfig {
  const excludeByName = Object.fromEntries((options.exclude ?? []).map((name) => [name, true]));
  const indexByName = Object.fromEntries((options.order ?? []).map((name, index) => [name, index]));
  return { id: 'organize', options: { excludeByName, renameByName: options.rename ?? {}, indexByName } };
}

/**
 * Gives every panel a stable id in the order the dashboard lists them, and names the datasource
 * of each panel, so the JSON is deterministic and a link to a panel survives regeneration.
 */
export function finish(dashboard: Dashboard): Dashboard {
  // What Grafana's import checks (as an exported dashboard states it): the oldest Grafana
  // version, the data source and the panel plugins the JSON needs.
  const panelTypes = [
    ...new Set(
      (dashboard.panels ?? []).flatMap((panel) => (isRow(panel) ? panel.panels.map((inner) => inner.type) : [panel.type])).filter((type) => type !== 'row'),
    ),
  ].sort();
  (dashboard as Dashboard & { __requires: unknown[] }).__requires = [
    { type: 'grafana', id: 'grafana', name: 'Grafana', version: MIN_GRAFANA_VERSION },
    { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
    ...panelTypes.map((type) => ({ type: 'panel', id: type, name: type, version: '' })),
  ];
  let id = 0;
  const number = (panel: Panel | RowPanel) => {
    id += 1;
    panel.id = id;
    if (panel.type !== 'row') panel.datasource = DATASOURCE;
  };
  for (const panel of dashboard.panels ?? []) {
    number(panel);
    if (isRow(panel)) for (const inner of panel.panels) number(inner);
  }
  return dashboard;
}

export function isRow(panel: Panel | RowPanel): panel is RowPanel {
  return panel.type === 'row' && 'collapsed' in panel;
}
