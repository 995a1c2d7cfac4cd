// "statusmate-exporter health": is the exporter receiving, accepting and storing webhooks, and
// how is the process doing?
//
// Webhook counters count distinct requests on each replica, so they are summed across replicas;
// process metrics are shown per replica (legend: instance).

import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  FieldColorBuilder,
  FieldColorModeId,
  MappingType,
  RowBuilder,
  TimePickerBuilder,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { METRIC } from '../../src/metrics/names.js';
import {
  INSTALL,
  INSTALL_BY,
  INSTALL_LABELS,
  INSTALL_LEGEND,
  PAGE,
  TAGS,
  by,
  datasourceVariable,
  finish,
  fixedColor,
  installVariables,
  lastValue,
  linkTo,
  query,
  statusPageVariable,
  thresholds,
} from './common.js';

export const HEALTH_UID = 'statusmate-exporter-health';

/** The installs picked by the cluster, namespace and job variables: process metrics share names with other jobs. */
const JOB = INSTALL;
const OVERVIEW_UID = 'statusmate-overview';

function timeseries(title: string, description: string, unit: string, span = 12): TimeseriesPanel {
  return new TimeseriesPanel()
    .title(title)
    .description(description)
    .span(span)
    .height(8)
    .unit(unit)
    .fillOpacity(10)
    .lineWidth(1)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .calcs(['lastNotNull', 'max']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
}

const requests = (matchers: string) => `${METRIC.webhookRequests}{${JOB}${matchers ? `, ${matchers}` : ''}}`;

export function healthDashboard(): Dashboard {
  const builder = new DashboardBuilder('statusmate-exporter health')
    .uid(HEALTH_UID)
    .description('Whether statusmate-exporter receives, accepts and stores StatusMate webhooks, and how its process is doing.')
    .tags(TAGS)
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .timepicker(new TimePickerBuilder().refreshIntervals(['10s', '30s', '1m', '5m', '15m']))
    .refresh('30s')
    .timezone('browser')
    .variables([datasourceVariable(), ...installVariables(), statusPageVariable()])
    .link(linkTo('StatusMate overview', OVERVIEW_UID, 'What the status pages say (same time range and variables)'))

    .withRow(new RowBuilder('Status'))
    .withPanel(
      new StatPanel()
        .title('Replicas up')
        .description(
          'Targets of each install that Prometheus scraped successfully, of all its targets. One pair per install: a sum over "All" kept a dead install green beside a live one.',
        )
        .span(6)
        .height(5)
        .withTarget(query('A', `sum ${by()} (up{${JOB}})`, { legend: `${INSTALL_LEGEND}up`, instant: true }))
        .withTarget(query('B', `count ${by()} (up{${JOB}})`, { legend: `${INSTALL_LEGEND}targets`, instant: true }))
        .reduceOptions(lastValue())
        .textMode(common.BigValueTextMode.ValueAndName)
        .graphMode(common.BigValueGraphMode.None)
        .colorMode(common.BigValueColorMode.Value)
        .decimals(0)
        .thresholds(thresholds('red', [[1, 'green']])),
    )
    .withPanel(
      new StatPanel()
        .title('Store up')
        .description("Whether each replica's store answers. A replica whose store is down answers webhooks with 503 and is not ready.")
        .span(6)
        .height(5)
        .withTarget(query('A', `min ${by('instance')} (${METRIC.storeUp}{${JOB}})`, { legend: `${INSTALL_LEGEND}{{instance}}`, instant: true }))
        .reduceOptions(lastValue())
        .textMode(common.BigValueTextMode.ValueAndName)
        .graphMode(common.BigValueGraphMode.None)
        .colorMode(common.BigValueColorMode.Background)
        .mappings([
          {
            type: MappingType.ValueToText,
            options: { '0': { text: 'down', color: 'red', index: 0 }, '1': { text: 'up', color: 'green', index: 1 } },
          },
        ])
        .thresholds(thresholds('red', [[1, 'green']]))
        .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.Thresholds)),
    )
    .withPanel(
      new StatPanel()
        .title('Time since the last webhook')
        .description(
          'How long ago the last event of each status page was stored. Status pages can be quiet for days; a long time here is only a problem if StatusMate did send something.',
        )
        .span(12)
        .height(5)
        .withTarget(
          query('A', `time() - max by (${INSTALL_LABELS.join(', ')}, status_page) (${METRIC.webhookLastReceived}{${PAGE}})`, {
            legend: '{{status_page}}',
            instant: true,
          }),
        )
        .reduceOptions(lastValue())
        .unit('dtdurations')
        .textMode(common.BigValueTextMode.ValueAndName)
        .graphMode(common.BigValueGraphMode.None)
        .colorMode(common.BigValueColorMode.None),
    )

    .withRow(new RowBuilder('Webhooks'))
    .withPanel(
      timeseries('Webhooks by type and outcome', 'Webhook requests per second, by event type and outcome, across replicas.', 'reqps', 24).withTarget(
        query('A', `sum by (${INSTALL_BY}event_type, outcome) (rate(${requests('')}[$__rate_interval]))`, {
          legend: `${INSTALL_LEGEND}{{event_type}} {{outcome}}`,
        }),
      ),
    )
    .withPanel(
      timeseries(
        'Rejected and failed webhooks',
        'Requests answered without applying them: invalid (400/415/422), unauthorized (401/403), too large (413), busy (503: request bodies held at once past 32 MiB), new components refused past MAX_COMPONENTS, and store errors (503).',
        'reqps',
      )
        .withTarget(
          query(
            'A',
            `sum by (${INSTALL_BY}outcome) (rate(${requests('outcome=~"invalid|unauthorized|too_large|busy|refused_limit|error"')}[$__rate_interval]))`,
            {
              legend: `${INSTALL_LEGEND}{{outcome}}`,
            },
          ),
        )
        .overrideByName('unauthorized', [fixedColor('orange')])
        .overrideByName('error', [fixedColor('red')]),
    )
    .withPanel(
      timeseries(
        'Duplicates, stale events and retries',
        'Events StatusMate sent again (duplicate), events older than the applied state (stale), and deliveries StatusMate marked as retries.',
        'reqps',
      )
        .withTarget(
          query('A', `sum by (${INSTALL_BY}outcome) (rate(${requests('outcome=~"duplicate|stale"')}[$__rate_interval]))`, {
            legend: `${INSTALL_LEGEND}{{outcome}}`,
          }),
        )
        .withTarget(
          query('B', `sum by (${INSTALL_LABELS.join(', ')}) (rate(${METRIC.webhookRetries}{${JOB}}[$__rate_interval]))`, {
            legend: `${INSTALL_LEGEND}retries`,
          }),
        ),
    )
    .withPanel(
      timeseries('Webhook latency', 'Time to answer POST /webhook, commit included, across replicas.', 's', 24)
        .withTarget(
          query('A', `histogram_quantile(0.5, sum by (${INSTALL_BY}le) (rate(${METRIC.webhookRequestDuration}_bucket{${JOB}}[$__rate_interval])))`, {
            legend: `${INSTALL_LEGEND}p50`,
          }),
        )
        .withTarget(
          query('B', `histogram_quantile(0.99, sum by (${INSTALL_BY}le) (rate(${METRIC.webhookRequestDuration}_bucket{${JOB}}[$__rate_interval])))`, {
            legend: `${INSTALL_LEGEND}p99`,
          }),
        ),
    )

    .withRow(new RowBuilder('Store'))
    .withPanel(
      timeseries(
        'Fold lag',
        "How far each replica's state is behind the end of its log, in seconds of log time. Normally 0; a replica that stays behind is not ready (alert StatusMateStoreFoldLagging).",
        's',
        8,
      ).withTarget(query('A', `${METRIC.storeFoldLagSeconds}{${JOB}}`, { legend: '{{instance}}' })),
    )
    .withPanel(
      timeseries(
        'Log entries folded',
        'Log entries each replica folds per second: the event rate its store sees (replays after a restart included).',
        'ops',
        8,
      ).withTarget(query('A', `rate(${METRIC.storeEntriesFolded}{${JOB}}[$__rate_interval])`, { legend: '{{instance}}' })),
    )
    .withPanel(
      timeseries(
        'Snapshot age and failures',
        'Age of the newest snapshot each replica knows of (snapshots trim the log; alert StatusMateStoreSnapshotStale), and snapshots it failed to write.',
        's',
        8,
      )
        .withTarget(query('A', `${METRIC.storeSnapshotAge}{${JOB}}`, { legend: '{{instance}} age' }))
        .withTarget(query('B', `increase(${METRIC.storeSnapshotFailures}{${JOB}}[$__rate_interval])`, { legend: '{{instance}} failures' }))
        // A count, not seconds: the panel's unit is the age's.
        .overrideByQuery('B', [{ id: 'unit', value: 'none' }]),
    )

    .withRow(new RowBuilder('Alertmanager'))
    .withPanel(
      timeseries(
        'Notifications received',
        'Notifications Alertmanager sent to POST /alertmanager per second, by outcome, across replicas: stored, unmatched (no alert matched a component), and refused. Alertmanager does not retry invalid (400/415) or too_large (413): their alerts are lost until the group is sent again (alert StatusMateAlertmanagerNotificationsRejected). Only with ALERTMANAGER_WEBHOOK_TOKEN.',
        'reqps',
        8,
      )
        .withTarget(
          query('A', `sum by (${INSTALL_BY}outcome) (rate(${METRIC.alertmanagerNotifications}{${JOB}}[$__rate_interval]))`, {
            legend: `${INSTALL_LEGEND}{{outcome}}`,
          }),
        )
        .overrideByName('invalid', [fixedColor('red')])
        .overrideByName('too_large', [fixedColor('red')]),
    )
    .withPanel(
      timeseries(
        'Silences',
        'Silences that maintenances should hold in Alertmanager (desired), and of those the ones it holds (active), the ones missing (failed: alert StatusMateMaintenanceSilencesMissing) and the ones an operator expired or edited by hand (overridden), and the ones of finished maintenances still live, not expired yet (lingering: alert StatusMateMaintenanceSilencesLingering), as each replica last saw them. Only with ALERTMANAGER_URL.',
        'short',
        8,
      ).withTarget(query('A', `${METRIC.maintenanceSilences}{${JOB}}`, { legend: '{{instance}} {{state}}' })),
    )
    .withPanel(
      timeseries(
        'Alertmanager requests',
        'Requests to Alertmanager per second, by operation and outcome, over the replicas; only the replica holding the lease creates, updates and expires silences.',
        'reqps',
        8,
      ).withTarget(
        query('A', `sum by (${INSTALL_BY}operation, outcome) (rate(${METRIC.alertmanagerRequests}{${JOB}}[$__rate_interval]))`, {
          legend: `${INSTALL_LEGEND}{{operation}} {{outcome}}`,
        }),
      ),
    )

    .withRow(new RowBuilder('Process'))
    .withPanel(
      timeseries('Memory', 'Resident memory and V8 heap in use, per replica.', 'bytes', 8)
        .withTarget(query('A', `process_resident_memory_bytes{${JOB}}`, { legend: '{{instance}} resident' }))
        .withTarget(query('B', `nodejs_heap_size_used_bytes{${JOB}}`, { legend: '{{instance}} heap used' })),
    )
    .withPanel(
      timeseries('CPU', 'CPU time used per second, per replica (1 = one core).', 'percentunit', 8).withTarget(
        query('A', `rate(process_cpu_seconds_total{${JOB}}[$__rate_interval])`, { legend: '{{instance}}' }),
      ),
    )
    .withPanel(
      timeseries('Event-loop lag', 'How late the Node.js event loop runs timers, per replica: p50 and p99 since the last scrape.', 's', 8)
        .withTarget(query('A', `nodejs_eventloop_lag_p50_seconds{${JOB}}`, { legend: '{{instance}} p50' }))
        .withTarget(query('B', `nodejs_eventloop_lag_p99_seconds{${JOB}}`, { legend: '{{instance}} p99' })),
    )
    .withPanel(
      timeseries(
        'Log lines dropped',
        'Log lines each replica dropped because stdout could not take them (a full disk, a stopped reader), per second. The exporter drops them rather than stop answering; normally 0.',
        'short',
        24,
      ).withTarget(query('A', `rate(${METRIC.logLinesDropped}{${JOB}}[$__rate_interval])`, { legend: '{{instance}}' })),
    )
    .withPanel(
      new StatPanel()
        .title('Version')
        .description('The exporter version and revision each replica runs.')
        .span(24)
        .height(4)
        .withTarget(
          query('A', `max ${by('instance', 'version', 'revision')} (${METRIC.buildInfo}{${JOB}})`, {
            legend: `${INSTALL_LEGEND}{{instance}}: {{version}} ({{revision}})`,
            instant: true,
          }),
        )
        .reduceOptions(lastValue())
        .textMode(common.BigValueTextMode.Name)
        .graphMode(common.BigValueGraphMode.None)
        .colorMode(common.BigValueColorMode.None),
    );
  return finish(builder.build());
}
