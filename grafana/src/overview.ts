// "StatusMate overview": what the status pages say right now and over the selected range.
//
// Domain metrics describe the same state on every replica of the exporter, so each query first
// reduces replicas with `max by (<identity labels>)` and only then counts or sums.

import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  FieldColorBuilder,
  FieldColorModeId,
  RowBuilder,
  TimePickerBuilder,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { DEFAULT_CONFIG } from '../../mixin/config.js';
import { RECORD, availabilityExpr } from '../../mixin/rules.js';
import { METRIC } from '../../src/metrics/names.js';
import {
  DATASOURCE,
  INSTALL_BY,
  INSTALL_LABELS,
  SLO,
  installVariables,
  linkTo,
  IMPACT_COLOR,
  IMPACT_LEVEL_MAPPINGS,
  MERGE,
  PAGE,
  RECORDED,
  TAGS,
  datasourceVariable,
  finish,
  fixedColor,
  lastValue,
  organize,
  query,
  statusPageVariable,
  thresholds,
  trusted,
} from './common.js';

export const OVERVIEW_UID = 'statusmate-overview';
const HEALTH_UID = 'statusmate-exporter-health';

/** The install labels first in every `by`/`on`, so that two installs never merge. */

/** One series per component, whatever the number of replicas. */
const componentLevel = `max by (${INSTALL_BY}status_page, component_uuid, component) ${trusted(METRIC.componentImpactLevel, PAGE)}`;

/** 1 per component, carrying its current name: joined into series identified by uuid (recorded availability). */
const componentNames = `(${componentLevel} * 0 + 1)`;
const withName = (expr: string) => `${expr} * on (${INSTALL_BY}status_page, component_uuid) group_left (component) ${componentNames}`;

/** The incident or maintenance title, one series per object, for `group_left` joins. */
const incidentTitle = `max by (${INSTALL_BY}status_page, incident_uuid, title) ${trusted(METRIC.incidentInfo, PAGE)}`;
const maintenanceTitle = `max by (${INSTALL_BY}status_page, maintenance_uuid, title, state) ${trusted(METRIC.maintenanceInfo, PAGE)}`;

/**
 * A persisted counter's increase, from its recorded series: one per install and status page,
 * continuous when a pod is replaced and single however many replicas serve it.
 */
function pageIncrease(counter: string, range: string): string {
  return `sum(increase(${RECORD.counter(counter)}{${PAGE}}[${range}]))`;
}

function componentsByImpact(): StatPanel {
  // Known levels in order of severity, then the impacts the exporter does not know (level -1).
  const levels: Array<[string, string, number]> = [
    ['A', 'major_outage', 4],
    ['B', 'partial_outage', 3],
    ['C', 'degraded_performance', 2],
    ['D', 'under_maintenance', 1],
    ['E', 'operational', 0],
    ['F', 'unknown', -1],
  ];
  const panel = new StatPanel()
    .title('Components by current impact')
    .description('How many components of the selected status pages are at each impact now.')
    .span(12)
    .height(5)
    .reduceOptions(lastValue())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .decimals(0)
    .noValue('0');
  for (const [refId, impact, level] of levels) {
    panel.withTarget(query(refId, `count(${componentLevel} == ${level}) or vector(0)`, { legend: impact, instant: true }));
    const color = IMPACT_COLOR[impact as keyof typeof IMPACT_COLOR];
    panel.overrideByName(impact, [fixedColor(color)]);
  }
  return panel;
}

function countStat(title: string, description: string, expr: string, activeColor: string): StatPanel {
  return new StatPanel()
    .title(title)
    .description(description)
    .span(4)
    .height(5)
    .withTarget(query('A', expr, { legend: title, instant: true }))
    .reduceOptions(lastValue())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.Value)
    .decimals(0)
    .thresholds(thresholds('green', [[1, activeColor]]))
    .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.Thresholds));
}

function componentTimeline(): StateTimelinePanel {
  return new StateTimelinePanel()
    .title('Component impact')
    .description('The impact of every component over time, coloured as on a status page.')
    .span(24)
    .height(10)
    .withTarget(query('A', componentLevel, { legend: '{{component}}' }))
    .mappings(IMPACT_LEVEL_MAPPINGS)
    .thresholds(thresholds(IMPACT_COLOR.unknown))
    .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.Thresholds))
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .rowHeight(0.8)
    .fillOpacity(80)
    .lineWidth(0)
    .legend(new common.VizLegendOptionsBuilder().showLegend(false));
}

/**
 * The availability over the selected range, from the impact seconds as the SLO rules count them
 * (weights and maintenance from mixin/config.ts): the seconds grown since the range's start (the
 * per-evaluation series then; for a component first seen within the range, the value it was
 * first recorded at, or its first 5-minute copy if smaller), so continuous across pod
 * replacements and restarts, and counted once however many replicas serve them.
 */
const availableOverRange = availabilityExpr(DEFAULT_CONFIG, {
  window: '$__range',
  now: RECORDED.impactSeconds,
  source: RECORDED.impactSeconds5m,
  atStart: RECORDED.impactSeconds,
  firstSeen: RECORDED.impactSecondsFirst,
  select: (extra) => `{${PAGE}${extra ? `, ${extra}` : ''}}`,
  by: `by (${INSTALL_BY}status_page, component_uuid)`,
});

/**
 * An availability cut (floored) to the 3 decimals of percent the tables show: Grafana rounds,
 * and 0.9999996 (a second down in 30 days) read 100.000 %. As the exporter's API and CSV cut, a
 * period with downtime never reads 100.
 */
const cutAvailability = (expr: string) => `floor(\n(\n${expr}\n) * 1e5\n) / 1e5`;

function availabilityTable(): TablePanel {
  const percent = (name: string) => ({
    matcher: { id: 'byName', options: name },
    properties: [
      { id: 'unit', value: 'percentunit' },
      { id: 'decimals', value: 3 },
      { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
      { id: 'color', value: { mode: FieldColorModeId.Thresholds } },
      {
        id: 'thresholds',
        value: thresholds('red', [
          [0.99, 'orange'],
          [0.999, 'green'],
        ]).build(),
      },
    ],
  });
  return new TablePanel()
    .title('Availability over the selected range')
    .description(
      'Operational: share of the selected range each component was operational (sampled). ' +
        'Available: share of the counted seconds of the range each component was available, from statusmate_component_impact_seconds_total as the SLO counts them ' +
        '(partial and major outages down, degraded performance up, maintenance left out, by default; see mixin/config.ts), ' +
        "from the range's start (for a component first seen within the range, from its first 5-minute copy). " +
        'Unknown impacts count neither way. Reads the recording rules of prometheus/statusmate.rules.yml.',
    )
    .span(24)
    .height(10)
    .withTarget(query('A', withName(`avg_over_time(${RECORDED.operational}{${PAGE}}[$__range])`), { instant: true, table: true }))
    .withTarget(query('B', withName(cutAvailability(availableOverRange)), { instant: true, table: true }))
    .withTarget(query('C', componentLevel, { instant: true, table: true }))
    .withTarget(
      query('D', `time() - max by (${INSTALL_BY}status_page, component_uuid, component) ${trusted(METRIC.componentLastChange, PAGE)}`, {
        instant: true,
        table: true,
      }),
    )
    .withTransformation(MERGE)
    .withTransformation(
      organize({
        exclude: ['Time', 'component_uuid'],
        rename: {
          status_page: 'Status page',
          component: 'Component',
          'Value #A': 'Operational',
          'Value #B': 'Available',
          'Value #C': 'Impact now',
          'Value #D': 'In this impact for',
        },
        order: ['status_page', 'component', 'Value #C', 'Value #D', 'Value #A', 'Value #B'],
      }),
    )
    .withOverride(percent('Operational'))
    .withOverride(percent('Available'))
    .overrideByName('Impact now', [
      { id: 'mappings', value: IMPACT_LEVEL_MAPPINGS },
      { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
    ])
    .overrideByName('In this impact for', [{ id: 'unit', value: 'dtdurations' }])
    .sortBy([new common.TableSortByFieldStateBuilder().displayName('Available').desc(false)]);
}

function activeIncidentsTable(): TablePanel {
  const start = `max by (${INSTALL_BY}status_page, incident_uuid) ${trusted(METRIC.incidentStart, PAGE)}`;
  return new TablePanel()
    .title('Active incidents by age')
    .description('Incidents created and not yet finished, oldest first.')
    .span(24)
    .height(7)
    .withTarget(
      query('A', `${start} * 1000 * on (${INSTALL_BY}status_page, incident_uuid) group_left (title) ${incidentTitle}`, {
        instant: true,
        table: true,
      }),
    )
    .withTarget(
      query('B', `(time() - ${start}) * on (${INSTALL_BY}status_page, incident_uuid) group_left (title) ${incidentTitle}`, {
        instant: true,
        table: true,
      }),
    )
    .withTransformation(MERGE)
    .withTransformation(
      organize({
        exclude: ['Time', 'incident_uuid'],
        rename: { status_page: 'Status page', title: 'Title', 'Value #A': 'Started', 'Value #B': 'Age' },
        order: ['status_page', 'title', 'Value #A', 'Value #B'],
      }),
    )
    .overrideByName('Started', [{ id: 'unit', value: 'dateTimeAsIso' }])
    .overrideByName('Age', [{ id: 'unit', value: 'dtdurations' }])
    .sortBy([new common.TableSortByFieldStateBuilder().displayName('Age').desc(true)]);
}

function unfinishedMaintenancesTable(): TablePanel {
  const window = (metric: string) =>
    `max by (${INSTALL_BY}status_page, maintenance_uuid) ${trusted(metric, PAGE)} * 1000 * on (${INSTALL_BY}status_page, maintenance_uuid) group_left (title, state) ${maintenanceTitle}`;
  return new TablePanel()
    .title('Unfinished maintenances')
    .description('Maintenances scheduled or in progress, with their scheduled window.')
    .span(24)
    .height(7)
    .withTarget(query('A', maintenanceTitle, { instant: true, table: true }))
    .withTarget(query('B', window(METRIC.maintenanceScheduledStart), { instant: true, table: true }))
    .withTarget(query('C', window(METRIC.maintenanceScheduledEnd), { instant: true, table: true }))
    .withTransformation(MERGE)
    .withTransformation(
      organize({
        exclude: ['Time', 'maintenance_uuid', 'Value #A'],
        rename: {
          status_page: 'Status page',
          title: 'Title',
          state: 'State',
          'Value #B': 'Scheduled start',
          'Value #C': 'Scheduled end',
        },
        order: ['status_page', 'title', 'state', 'Value #B', 'Value #C'],
      }),
    )
    .overrideByName('Scheduled start', [{ id: 'unit', value: 'dateTimeAsIso' }])
    .overrideByName('Scheduled end', [{ id: 'unit', value: 'dateTimeAsIso' }])
    .overrideByName('State', [
      {
        id: 'mappings',
        value: [
          {
            type: 'value',
            options: {
              scheduled: { text: 'scheduled', color: 'text', index: 0 },
              in_progress: { text: 'in progress', color: IMPACT_COLOR.under_maintenance, index: 1 },
            },
          },
        ],
      },
      { id: 'custom.cellOptions', value: { type: 'color-text' } },
    ])
    .sortBy([new common.TableSortByFieldStateBuilder().displayName('Scheduled start').desc(false)]);
}

/**
 * A persisted counter's increase over the day that starts at each point. Grafana rounds both ends
 * of a range query down to a multiple of the step (local midnights, for a 1-day step), so its last
 * point is today's midnight: `[1d]` there would be yesterday, and today's incidents would show
 * nowhere until tomorrow, every bar a day late. `offset -1d` makes each point the day after it
 * (today's up to now), drawn after its point (BarAlignment.After), over the day it counts.
 */
function dayIncrease(counter: string): string {
  return `sum(increase(${RECORD.counter(counter)}{${PAGE}}[1d] offset -1d))`;
}

function perDay(title: string, description: string, series: Array<[string, string, string]>): TimeseriesPanel {
  const panel = new TimeseriesPanel()
    .title(title)
    .description(description)
    .span(16)
    .height(8)
    .drawStyle(common.GraphDrawStyle.Bars)
    .barAlignment(common.BarAlignment.After)
    .fillOpacity(80)
    .lineWidth(1)
    .decimals(0)
    .min(0)
    .unit('short')
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom));
  for (const [refId, counter, legend] of series) {
    // One point per day (the step is at least 1d), each the increase over the day it starts.
    panel.withTarget(query(refId, dayIncrease(counter), { legend, interval: '1d' }));
  }
  return panel;
}

/**
 * A quantile of a histogram over the range, or nothing when nothing finished in it: the quantile
 * of empty buckets is NaN, which a stat shows as "NaN". A duration is never negative (the exporter
 * observes none), so `>= 0` drops only the NaN, and the panel shows its noValue instead.
 */
const observed = (expr: string): string => `${expr} >= 0`;

/**
 * The mean of a histogram over the range: nothing, rather than NaN (0 / 0) or +Inf (a sum that
 * rose, by extrapolation or a replica's lead, over a count that did not), unless its count rose.
 */
const meanOf = (sum: string, count: string): string => `${sum} / (${count} > 0)`;
const NOTHING_FINISHED = 'none finished in range';

function durationStat(title: string, description: string, histogram: string): StatPanel {
  const quantile = (q: number) => observed(`histogram_quantile(${q}, sum by (le) (increase(${RECORD.counter(`${histogram}_bucket`)}{${PAGE}}[$__range])))`);
  const mean = meanOf(pageIncrease(`${histogram}_sum`, '$__range'), pageIncrease(`${histogram}_count`, '$__range'));
  return new StatPanel()
    .title(title)
    .description(description)
    .span(8)
    .height(8)
    .withTarget(query('A', quantile(0.5), { legend: 'median', instant: true }))
    .withTarget(query('B', quantile(0.9), { legend: 'p90', instant: true }))
    .withTarget(query('C', mean, { legend: 'mean', instant: true }))
    .reduceOptions(lastValue())
    .noValue(NOTHING_FINISHED)
    .unit('s')
    .decimals(1)
    .colorMode(common.BigValueColorMode.None)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .orientation(common.VizOrientation.Vertical);
}

/**
 * Time to communicate (or to recover) per status page over the selected range: median and 90th
 * percentile, interpolated within the histogram's buckets, and the mean, exact. A page measures a
 * handful a month, and with few observations the quantiles are the buckets' shape more than the
 * data's: one response of 120 s read p50 90 s, p90 114 s.
 */
function pageQuantiles(title: string, description: string, histogram: string): StatPanel {
  const quantile = (q: number) =>
    observed(`histogram_quantile(${q}, sum by (${INSTALL_BY}status_page, le) (increase(${RECORD.counter(`${histogram}_bucket`)}{${PAGE}}[$__range])))`);
  const total = (suffix: string) => `sum by (${INSTALL_BY}status_page) (increase(${RECORD.counter(`${histogram}_${suffix}`)}{${PAGE}}[$__range]))`;
  return new StatPanel()
    .title(title)
    .description(description)
    .span(8)
    .height(8)
    .withTarget(query('A', quantile(0.5), { legend: '{{status_page}} p50', instant: true }))
    .withTarget(query('B', quantile(0.9), { legend: '{{status_page}} p90', instant: true }))
    .withTarget(query('C', meanOf(total('sum'), total('count')), { legend: '{{status_page}} mean', instant: true }))
    .reduceOptions(lastValue())
    .noValue('none measured in range')
    .unit('s')
    .decimals(0)
    .colorMode(common.BigValueColorMode.None)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .orientation(common.VizOrientation.Horizontal);
}

/**
 * An incident or maintenance drawn at its real start: the series' value is the start time (ms),
 * which Grafana uses as the annotation's time, not the time a scrape first saw it.
 */
function annotation(name: string, expr: string, titleFormat: string, color: string): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder()
    .name(name)
    .datasource(DATASOURCE)
    .enable(true)
    .iconColor(color)
    .expr(expr)
    .step('1m')
    .useValueForTime(true)
    .titleFormat(titleFormat)
    .tagKeys('status_page');
}

function budgetTable(): TablePanel {
  // Recorded hourly: the last sample within two hours.
  const availability = `last_over_time(${RECORDED.availableBudgetWindow}{${PAGE}}[2h])`;
  const budget = `last_over_time(${RECORDED.budgetRemaining}{${PAGE}}[2h])`;
  const percent = (decimals: number, steps: Array<[number, string]>) => [
    { id: 'unit', value: 'percentunit' },
    { id: 'decimals', value: decimals },
    { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
    { id: 'color', value: { mode: FieldColorModeId.Thresholds } },
    { id: 'thresholds', value: thresholds('red', steps).build() },
  ];
  return new TablePanel()
    .title(`Availability and error budget (${SLO.budgetWindow})`)
    .description(
      `Each component's availability over the last ${SLO.budgetWindow}, from statusmate_component_impact_seconds_total (the seconds it spent at each impact, ` +
        'continuous across restarts and pod replacements, counted once across replicas): partial and major outages count as down, degraded performance as up, ' +
        'and maintenance is left out of the period, by default (mixin/config.ts). ' +
        `Budget left: share of the ${SLO.budgetWindow} error budget left, for an availability objective of ${SLO.availabilityObjective * 100}% ` +
        '(1 = untouched, 0 = spent, below 0 = overspent). Recorded hourly by prometheus/statusmate.rules.yml: empty for the first hour after the rules are loaded; ' +
        'a component seen for less than the period gets the share of the time it was seen.',
    )
    .span(12)
    .height(8)
    .withTarget(query('A', withName(cutAvailability(availability)), { instant: true, table: true }))
    .withTarget(query('B', withName(budget), { instant: true, table: true }))
    .withTransformation(MERGE)
    .withTransformation(
      organize({
        exclude: ['Time', 'component_uuid', ...INSTALL_LABELS.filter((label) => label !== 'namespace')],
        rename: {
          namespace: 'Namespace',
          status_page: 'Status page',
          component: 'Component',
          'Value #A': `Availability (${SLO.budgetWindow})`,
          'Value #B': 'Budget left',
        },
        order: ['namespace', 'status_page', 'component', 'Value #A', 'Value #B'],
      }),
    )
    .overrideByName(
      `Availability (${SLO.budgetWindow})`,
      percent(3, [
        // Orange from ten times the budget spent, green at the objective.
        [Number((1 - 10 * (1 - SLO.availabilityObjective)).toPrecision(6)), 'orange'],
        [SLO.availabilityObjective, 'green'],
      ]),
    )
    .overrideByName(
      'Budget left',
      percent(1, [
        [0, 'orange'],
        [0.5, 'green'],
      ]),
    )
    .sortBy([new common.TableSortByFieldStateBuilder().displayName('Budget left').desc(false)]);
}

function burnRate(): TimeseriesPanel {
  const [fast, slow] = SLO.burnRateAlerts;
  return new TimeseriesPanel()
    .title('Error budget burn rate (1 hour)')
    .description(
      `How many times faster than allowed each component spent its error budget over the last hour (1 = exactly the ${SLO.availabilityObjective * 100}% objective). ` +
        `StatusMateComponentErrorBudgetBurn ${SLO.burnRateAlerts.map((pair) => `${pair.severity === 'critical' ? 'pages' : 'opens a ticket'} above ${pair.burnRate} (over ${pair.long} and ${pair.short})`).join(', ')}.`,
    )
    .span(12)
    .height(8)
    .withTarget(
      query('A', withName(`(1 - ${RECORDED.available1h}{${PAGE}}) / ${Number((1 - SLO.availabilityObjective).toPrecision(6))}`), { legend: '{{component}}' }),
    )
    .unit('short')
    .min(0)
    .thresholds(
      thresholds('green', [
        [slow?.burnRate ?? 6, 'orange'],
        [fast?.burnRate ?? 14.4, 'red'],
      ]),
    )
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom));
}

export function overviewDashboard(): Dashboard {
  const builder = new DashboardBuilder('StatusMate overview')
    .uid(OVERVIEW_UID)
    .description('What the StatusMate status pages report: component impacts, incidents, maintenances and availability.')
    .tags(TAGS)
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-7d', to: 'now' })
    .timepicker(new TimePickerBuilder().refreshIntervals(['30s', '1m', '5m', '15m', '1h']))
    .refresh('1m')
    .timezone('browser')
    .variables([datasourceVariable(), ...installVariables(), statusPageVariable()])
    .link(linkTo('Exporter health', HEALTH_UID, 'Is the exporter receiving and storing webhooks? (same time range and variables)'))
    // Incidents and maintenances are drawn at their real start, from their start timestamps.
    .annotation(
      annotation(
        'Incidents',
        `max by (${INSTALL_BY}status_page, incident_uuid) ${trusted(METRIC.incidentStart, PAGE)} * 1000 * on (${INSTALL_BY}status_page, incident_uuid) group_left (title) ${incidentTitle}`,
        'Incident: {{title}}',
        IMPACT_COLOR.major_outage,
      ),
    )
    .annotation(
      annotation(
        'Maintenances started',
        `max by (${INSTALL_BY}status_page, maintenance_uuid) ${trusted(METRIC.maintenanceStart, PAGE)} * 1000 * on (${INSTALL_BY}status_page, maintenance_uuid) group_left (title) max by (${INSTALL_BY}status_page, maintenance_uuid, title) ${trusted(METRIC.maintenanceInfo, `${PAGE}, state="in_progress"`)}`,
        'Maintenance: {{title}}',
        IMPACT_COLOR.under_maintenance,
      ),
    )

    .withRow(new RowBuilder('Now'))
    .withPanel(componentsByImpact())
    .withPanel(
      countStat(
        'Active incidents',
        'Incidents created and not yet finished.',
        `sum(max by (${INSTALL_BY}status_page) ${trusted(METRIC.incidentsActive, PAGE)}) or vector(0)`,
        'red',
      ),
    )
    .withPanel(
      countStat(
        'Maintenances in progress',
        'Maintenances started and not yet finished.',
        `sum(max by (${INSTALL_BY}status_page) ${trusted(METRIC.maintenancesActive, `${PAGE}, state="in_progress"`)}) or vector(0)`,
        IMPACT_COLOR.under_maintenance,
      ),
    )
    .withPanel(
      countStat(
        'Maintenances scheduled',
        'Maintenances scheduled and not yet started.',
        `sum(max by (${INSTALL_BY}status_page) ${trusted(METRIC.maintenancesActive, `${PAGE}, state="scheduled"`)}) or vector(0)`,
        IMPACT_COLOR.under_maintenance,
      ),
    )

    .withRow(new RowBuilder('Components'))
    .withPanel(componentTimeline())
    .withPanel(availabilityTable())

    .withRow(new RowBuilder(`SLO: ${SLO.availabilityObjective * 100}% availability over ${SLO.budgetWindow}`))
    .withPanel(budgetTable())
    .withPanel(burnRate())

    .withRow(new RowBuilder('Incidents'))
    .withPanel(activeIncidentsTable())
    .withPanel(
      perDay('Incidents per day', 'Incidents created and finished on each day.', [
        ['A', METRIC.incidentsCreated, 'created'],
        ['B', METRIC.incidentsFinished, 'finished'],
      ]),
    )
    .withPanel(
      durationStat(
        'Incident duration',
        'Durations of the incidents that finished in the selected range: median and 90th percentile from the histogram buckets, and the mean.',
        METRIC.incidentDuration,
      ),
    )

    .withRow(new RowBuilder('Status page honesty (Alertmanager alerts)'))
    .withPanel(
      countStat(
        'Silent components now',
        'Components whose Alertmanager alerts (their alert_matchers) fire while the status page shows them operational. StatusMateStatusPageSilent fires after it lasts; see docs/alerts.md.',
        `count(${RECORDED.statusPageSilent}{${PAGE}} == 1) or vector(0)`,
        'red',
      ),
    )
    .withPanel(
      pageQuantiles(
        'Time to communicate',
        "From a component's first firing alert, while the page showed it operational, to the page showing it not operational, per status page over the selected range: median and 90th percentile (estimated within the histogram's buckets, coarse for a few responses) and mean (exact).",
        METRIC.statusPageResponse,
      ),
    )
    .withPanel(
      pageQuantiles(
        'Recovery lag',
        "From a component's last alert resolving to the page showing it operational again, per status page over the selected range: median and 90th percentile (estimated within the histogram's buckets, coarse for a few recoveries) and mean (exact).",
        METRIC.statusPageRecoveryLag,
      ),
    )

    .withRow(new RowBuilder('Maintenances'))
    .withPanel(unfinishedMaintenancesTable())
    .withPanel(
      perDay('Maintenances per day', 'Maintenances scheduled, started and finished on each day.', [
        ['A', METRIC.maintenancesCreated, 'scheduled'],
        ['B', METRIC.maintenancesStarted, 'started'],
        ['C', METRIC.maintenancesFinished, 'finished'],
      ]),
    )
    .withPanel(
      durationStat(
        'Maintenance duration',
        'Durations of the maintenances that finished in the selected range, from start to finish: median, 90th percentile and mean.',
        METRIC.maintenanceDuration,
      ),
    );
  return finish(builder.build());
}
