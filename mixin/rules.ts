// The alerting and recording rules, built from the mixin configuration. `npm run mixin` writes
// them to prometheus/statusmate.rules.yml (fleet-wide: every install a Prometheus scrapes) and to
// the Helm chart's files/prometheus/statusmate.rules.yml (scoped to one release by placeholders).
//
// Identity, in one place:
// - An install is its cluster label (when configured) and `installLabels` (namespace, job). Every
//   aggregation groups by them, so two installs never merge and every alert can be routed.
// - Replicas of one install differ in `instance` and `pod`. Domain metrics describe the same state
//   on every replica, so they are reduced with `max by (<install>, <object identity>)`; webhook
//   counters count distinct requests on each replica, so they are summed.
// - Components, incidents and maintenances are identified by their uuid, never by their name: a
//   rename neither resolves an alert nor splits availability history. Names and titles are looked
//   up for the annotations with a query on the current series.

import { KNOWN_IMPACTS } from '../src/domain/impact.js';
import { LABEL, METRIC } from '../src/metrics/names.js';
import { durationSeconds, installLabels, runbookUrl, type MixinConfig } from './config.js';

export type Rule = {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};
export type RuleGroup = { name: string; interval?: string; rules: Rule[] };
export type RulesFile = { groups: RuleGroup[] };

/** The recording rules the dashboards and alerts read, by role. */
export const RECORD = {
  impactLevel: 'status_page_component:statusmate_component_impact_level:max',
  operational: 'status_page_component:statusmate_component_operational:bool',
  available: 'status_page_component:statusmate_component_available:bool',
  /**
   * The weighted share of the window's counted time a component was available, from
   * statusmate_component_impact_seconds_total. The name predates the counter (it was an average
   * of `available:bool`); it is kept because dashboards and alerts read it.
   */
  availableOver: (window: string) => `status_page_component:statusmate_component_available:avg_over_time${window}`,
  budgetRemaining: (window: string) => `status_page_component:statusmate_component_error_budget:remaining${window}`,
  /** 1 while a component's Alertmanager alerts fire and its page says operational, 0 while they fire and it does not. */
  statusPageSilent: 'status_page_component:statusmate_component_status_page_silent:bool',
  /** One series per install and label set of a persisted counter, continuous across pods (see PERSISTED_COUNTERS). */
  counter: (metric: string) => {
    const family = PERSISTED_COUNTERS.find((counter) => counter.metric === metric);
    if (family === undefined) throw new Error(`${metric} is not a persisted counter`);
    return `${family.level ?? family.labels.join('_')}:${metric}:max`;
  },
  /** The impact seconds' recorded series, copied every `interval` (5m, 1h): what the long windows read. */
  impactSecondsEvery: (interval: string) => `${RECORD.counter(METRIC.componentImpactSeconds)}_every${interval}`,
  /**
   * The impact seconds' recorded series at the evaluations it (re)appears in, and nowhere else: a
   * few samples per component and impact, where the long windows and the dashboard find the
   * value a component first seen within the window started at (see availabilityExpr).
   */
  impactSecondsFirst: `status_page_component_impact:${METRIC.componentImpactSeconds}:max_first`,
} as const;

/**
 * How far back the recorded impact seconds must have had no sample for an evaluation to count as
 * the one a series appears in (RECORD.impactSecondsFirst): any evaluation interval under the
 * lookback (5 minutes) finds the previous evaluation's sample there, so a series is kept for its
 * first minute only (2 samples at 30 s); beyond the lookback every evaluation is kept, which only
 * costs samples.
 */
const FIRST_SEEN_OFFSET = '1m';

/** How long a pod's last value of a persisted counter holds after it left (see the counters group). */
const COUNTER_HOLD = '5m';

/**
 * How long the rules hold an install's last state while none of its replicas is up (see
 * heldThroughGaps): the component alerts' keep_firing_for, so that a gap a firing alert survives
 * does not restart a pending alert's `for` either.
 */
const GAP_HOLD = '5m';

/**
 * The counters kept in the store with the state (every counter and histogram series outside
 * PROCESS_FAMILIES), with the labels that tell their series apart within an install. A pod that
 * replaces another (or a second replica) serves the same value under a new `instance` and `pod`:
 * `increase()` of the raw series would count each pod's part only, and `increase()` of their sum
 * would double. The recording rules keep the highest value per install and label set, one series
 * that goes on across pods, and every `increase()`/`rate()` in the rules and dashboards reads it.
 *
 * `grows` marks a counter that grows at scrape time (the impact seconds: the open interval of
 * the current impact). Replicas scraped a few seconds apart serve values a few seconds apart, so
 * the recorded maximum dips by those seconds when the replica ahead leaves. increase() would take
 * the dip for a counter reset and add the whole counter (years of seconds); the rules read such a
 * counter as its last value minus the smallest in the window instead (see availabilityExpr).
 */
export const PERSISTED_COUNTERS: ReadonlyArray<{ metric: string; labels: readonly string[]; level?: string; grows?: boolean }> = [
  ...[METRIC.incidentsCreated, METRIC.incidentsFinished, METRIC.maintenancesCreated, METRIC.maintenancesStarted, METRIC.maintenancesFinished].map((metric) => ({
    metric,
    labels: ['status_page'],
  })),
  { metric: METRIC.statusPageAlertsRefused, labels: ['status_page'] },
  { metric: METRIC.statusPageAlertsExpired, labels: ['status_page'] },
  ...[METRIC.incidentDuration, METRIC.maintenanceDuration, METRIC.statusPageResponse, METRIC.statusPageRecoveryLag].flatMap((histogram) => [
    { metric: `${histogram}_bucket`, labels: ['status_page', 'le'] },
    { metric: `${histogram}_sum`, labels: ['status_page'] },
    { metric: `${histogram}_count`, labels: ['status_page'] },
  ]),
  { metric: METRIC.componentImpactSeconds, labels: ['status_page', 'component_uuid', 'impact'], level: 'status_page_component_impact', grows: true },
];

/** The impacts whose seconds make up a component's counted time, and how much of each is available. */
export function availabilityAccounting(config: MixinConfig): Array<{ impact: string; available: number }> {
  const weights = config.slo.impactWeights;
  return [
    { impact: 'operational', available: 1 },
    ...(config.slo.maintenance === 'available' ? [{ impact: 'under_maintenance', available: 1 }] : []),
    { impact: 'degraded_performance', available: 1 - weights.degraded_performance },
    { impact: 'partial_outage', available: 1 - weights.partial_outage },
    { impact: 'major_outage', available: 1 - weights.major_outage },
  ];
}

/**
 * The weighted share of a window's counted time each component was available, from the impact
 * seconds: per impact, the seconds grown over the window (`now` minus the smallest value of
 * `source` in the window, both recorded series that go on across pods), weighted, summed per
 * component, over the counted seconds grown. Numerator and denominator span the same samples, so
 * a component seen for part of the window gets the share of the part it was seen. No sample when
 * no counted second grew (a component only under maintenance, or seen once).
 *
 * `select(extra)` renders a selector's matchers (the rules' selector, or a dashboard's variables),
 * `by` the grouping that keeps install, status page and component.
 *
 * `atStart`, when given, is a series recorded every evaluation whose value `window` ago is the
 * window's starting value, taken before the smallest of `source`: a `source` copied every 5
 * minutes starts the window at its first copy in it, up to 5 minutes late, so an outage in the
 * first minutes of a dashboard's range (of "Last 1 hour", a twelfth) counted nowhere. A series
 * with no sample then (a component first seen within the window) falls back to the smallest of
 * `source`.
 *
 * `firstSeen`, when given, is RECORD.impactSecondsFirst: the fallback is then the smaller of its
 * smallest and `source`'s. A `source` copied every 5 minutes (or hourly) takes its first copy of
 * a new component up to an interval after it was first seen, so an outage in those first minutes
 * counted nowhere, and a component in a major outage for 137 of its first 155 seconds read 98.7 %
 * available. RECORD.impactSecondsFirst holds the value of the very evaluation a series appeared
 * in, and has a few samples per series, cheap to read over any window. It is another group's
 * record: read before its first sample, the copy's smallest stands, as it did before.
 */
export function availabilityExpr(
  config: MixinConfig,
  options: { window: string; now: string; source: string; atStart?: string; firstSeen?: string; select: (extra: string) => string; by: string },
): string {
  const accounting = availabilityAccounting(config);
  const grown = (impacts: string[]) => {
    const matcher = options.select(`impact=~"${impacts.join('|')}"`);
    const copied = `min_over_time(${options.source}${matcher}[${options.window}])`;
    // The smaller of the two (PromQL has no element-wise min): told apart by a label for `min`.
    const smallest =
      options.firstSeen === undefined
        ? copied
        : `min without (first_seen) (label_replace(min_over_time(${options.firstSeen}${matcher}[${options.window}]), "first_seen", "1", "", "") or ${copied})`;
    const start = options.atStart === undefined ? smallest : `(${options.atStart}${matcher} offset ${options.window} or ${smallest})`;
    return `(${options.now}${matcher} - ${start})`;
  };
  const shares = [...new Set(accounting.map((entry) => entry.available))].sort((x, y) => y - x);
  const available = shares
    .map((share) => {
      const impacts = accounting.filter((entry) => entry.available === share).map((entry) => entry.impact);
      return share === 1 ? grown(impacts) : `${grown(impacts)} * ${Number(share.toPrecision(6))}`;
    })
    .join('\n    or\n    ');
  const counted = grown(accounting.map((entry) => entry.impact));
  return `sum ${options.by} (\n    ${available}\n  )\n/\n  (sum ${options.by} (${counted}) > 0)`;
}

/**
 * The statusmate_store_epoch_info series of the replicas that fold another log than most replicas
 * of their install do (none when they split evenly): see fromTrustedReplicas.
 */
export function otherLogReplicas(select: (metric: string) => string, install: readonly string[]): string {
  const on = (...extra: string[]) => `on (${[...install, ...extra].join(', ')})`;
  const by = `by (${install.join(', ')})`;
  const epochs = `count by (${[...install, LABEL.epoch].join(', ')}) (${select(METRIC.storeEpochInfo)})`;
  return `(${select(METRIC.storeEpochInfo)} unless ${on(LABEL.epoch)} (${epochs} == ${on()} group_left () max ${by} (${epochs})))`;
}

/**
 * `series` (a selector of a domain metric) from the replicas of an install that hold its newest
 * state; `select(metric)` renders a selector of a per-process metric with the same matchers. A
 * replica that lost its store (a Redis flushed, or one it can no longer reach) keeps serving the
 * state it last folded: taken into a `max` across replicas, its finished outage would go on
 * firing and its stale current impact would count beside the one the others fold. So a replica
 * is left out
 * - while its store is down (statusmate_store_up 0) and another replica's of the install is up;
 * - and whenever it folded less of the log than another (statusmate_store_folded_timestamp_seconds
 *   older than the install's newest): when every store is down, the replica that went stale first
 *   does not bring back an outage the others saw end, and one still catching up after a restart
 *   waits until it has.
 * When every replica's store is down and all folded alike, all are read: their last state is the
 * best there is, and an outage alert does not resolve only to page again once the store is back.
 * - A replica that folds another log than most replicas of its install do (another Redis, prefix
 *   or database: statusmate_store_epoch_info's epoch) is left out too, and its store and folded
 *   time do not count in the two comparisons above: otherwise its log, written last (its start
 *   declares the file's components), would make it the one replica read, and its state (nothing
 *   known, every component operational) would resolve a real outage or keep it from paging. An
 *   even split leaves both logs read (StatusMateStoreEpochsDiffer says so).
 * A replica without these series (a release before them, a store of one process) is read. The
 * rules and the dashboards both read domain gauges through it.
 */
export function fromTrustedReplicas(series: string, select: (metric: string) => string, install: readonly string[]): string {
  const on = (...extra: string[]) => `on (${[...install, ...extra].join(', ')})`;
  const by = `by (${install.join(', ')})`;
  const up = select(METRIC.storeUp);
  const folded = select(METRIC.storeFoldedTimestamp);
  const otherLog = otherLogReplicas(select, install);
  const onLog = (metric: string) => `(${metric} unless ${on('instance')} ${otherLog})`;
  const storeDown = `(${up} == 0 and ${on()} group ${by} (${onLog(up)} == 1))`;
  const behind = `(${folded} < ${on()} group_left () max ${by} ${onLog(folded)})`;
  return `(${series} unless ${on('instance')} (${storeDown} or ${behind} or ${otherLog}))`;
}

/**
 * What the rules read of a domain gauge: fromTrustedReplicas of its series now or, while no
 * replica of the install is up (a failed scrape of its only replica, a restart, every pod
 * rescheduled), of each replica's last values of the last GAP_HOLD, filtered alike. A failed
 * scrape marks every series stale, so without the hold a pending alert's condition vanished for
 * the gap and its `for` began again after it: every restart of a single replica (the SQLite
 * store's only layout) during an outage delayed the page by the whole `for`, and an alert with a
 * `for` of an hour never fired while a scrape failed now and then. While a replica is up, the
 * rules read what the replicas serve now, as before: a pod that left is not held beside the pods
 * that replaced it. The dashboards read fromTrustedReplicas without the hold: a gap shows.
 */
export function heldThroughGaps(series: string, select: (metric: string) => string, install: readonly string[]): string {
  const held = (selector: string) => `last_over_time(${selector}[${GAP_HOLD}])`;
  const now = fromTrustedReplicas(series, select, install);
  const last = fromTrustedReplicas(held(series), (metric) => held(select(metric)), install);
  return `(${now} or (${last} unless on (${install.join(', ')}) (max by (${install.join(', ')}) (${select('up')}) == 1)))`;
}

/**
 * The label sets of `series` (a persisted counter's selector) served now that no scrape of the
 * FIRST_SEEN_OFFSET before the last FIRST_SEEN_OFFSET had, though one of the install's scrapes
 * then succeeded: series the exporter made since, already counting the event that made them (a
 * status page's first incident, the responses measured with its first alert). Not a series first
 * seen because Prometheus, or the rules, see the install for the first time (no scrape before),
 * nor one back after the install's scrapes failed (a restart, a pod rescheduled), nor one a pod
 * serves that another pod of the install served before. A scrape interval above
 * FIRST_SEEN_OFFSET finds none: its new series count from their first value, as before.
 * Nor one `recorded` (the record these series make, read at its previous evaluation) already holds
 * above 0: a series that appeared within FIRST_SEEN_OFFSET of the install's first scrape (a new
 * install's first events, a replica whose state loads after its port opened) was recorded at its
 * value, as history, and a minute after that first scrape it looked new; recorded at 0 then, it
 * dipped, and increase() took the dip for a reset and counted the whole counter again.
 */
export function newCounterSeries(series: string, up: string, install: readonly string[], labels: readonly string[], recorded: string): string {
  const by = `by (${[...install, ...labels].join(', ')})`;
  const on = (...extra: readonly string[]) => `on (${[...install, ...extra].join(', ')})`;
  return (
    `(\n  max ${by} (${series})\n` +
    `  unless ${on(...labels)}\n  max ${by} (max_over_time(${series}[${FIRST_SEEN_OFFSET}] offset ${FIRST_SEEN_OFFSET}))\n` +
    `  and ${on()}\n  (max by (${install.join(', ')}) (max_over_time(${up}[${FIRST_SEEN_OFFSET}] offset ${FIRST_SEEN_OFFSET})) == 1)\n` +
    `  unless ${on(...labels)}\n  (${recorded} > 0)\n)`
  );
}

/** Seconds of a Prometheus duration such as 1h30m. */
export const seconds = durationSeconds;

/** Every line of `text` two spaces further in. */
const indent = (text: string): string => text.replace(/^/gm, '  ');

/**
 * Burn-rate windows up to this length are evaluated with every evaluation (the fast pages);
 * longer ones every 5 minutes.
 */
const FINE_WINDOW_SECONDS = 6 * 3600;
const COARSE_INTERVAL = '5m';
/**
 * Where a window's starting value of the impact seconds is read: the burn-rate windows of every
 * evaluation (up to 6 hours) from the per-evaluation series in their own group (720 samples at
 * 30 s), so that a page never waits for another group's first run; windows up to 3 days from its
 * copy every 5 minutes (864 samples); longer ones (the 30-day budget) from its copy every hour
 * (720 samples).
 */
const SOURCE_EVERY_EVALUATION_SECONDS = FINE_WINDOW_SECONDS;
const SOURCE_EVERY_5M_SECONDS = 3 * 86400;
const HOURLY_INTERVAL = '1h';

/** "5 minutes", "1 hour", "3 days", "30 seconds": how descriptions say a duration. */
export function spoken(duration: string): string {
  const total = seconds(duration);
  const [value, unit] =
    total % 86400 === 0 ? [total / 86400, 'day'] : total % 3600 === 0 ? [total / 3600, 'hour'] : total % 60 === 0 ? [total / 60, 'minute'] : [total, 'second'];
  return `${value} ${unit}${value === 1 ? '' : 's'}`;
}

export function buildRules(config: MixinConfig): RulesFile {
  const install = installLabels(config);
  const by = (...extra: string[]) => `by (${[...install, ...extra].join(', ')})`;
  const on = (...extra: string[]) => `on (${[...install, ...extra].join(', ')})`;
  const sel = (extra = '') => `{${config.selector}${extra ? `, ${extra}` : ''}}`;
  const a = config.alerts;
  const trusted = (metric: string, extra = '') => heldThroughGaps(`${metric}${sel(extra)}`, (processMetric) => `${processMetric}${sel()}`, install);

  /** A query on the current series of `metric` for this alert's object, in an annotation template. */
  const lookup = (variable: string, metric: string, label: string, identity: string[], fallback: string) => {
    const labels = [...install, ...identity];
    const matchers = labels.map((name) => `${name}=%q`).join(', ');
    const args = labels.map((name) => `$labels.${name}`).join(' ');
    // The current series, or while the install is not scraped (its alerts read the last values,
    // see heldThroughGaps) the last of GAP_HOLD: the name does not turn into the uuid for a gap.
    const current = `max by (${label}) (${metric}{${matchers}})`;
    const query = `${current} or (max by (${label}) (last_over_time(${metric}{${matchers}}[${GAP_HOLD}])) unless on () ${current})`;
    return (
      `{{ $${variable} := $labels.${fallback} }}` +
      `{{ with printf "${query}" ${args} ${args} ${args} | query }}{{ $${variable} = . | first | label "${label}" }}{{ end }}`
    );
  };
  const componentName = lookup('component', METRIC.componentImpactLevel, 'component', ['status_page', 'component_uuid'], 'component_uuid');
  const incidentTitle = lookup('title', METRIC.incidentInfo, 'title', ['status_page', 'incident_uuid'], 'incident_uuid');
  const maintenanceTitle = lookup('title', METRIC.maintenanceInfo, 'title', ['status_page', 'maintenance_uuid'], 'maintenance_uuid');
  // "(job statusmate-exporter, namespace prod)": the job is always there (the selector needs it),
  // the other install labels only when the series carry them.
  const inInstall = `(job {{ $labels.job }}${install
    .filter((name) => name !== 'job')
    .map((name) => `{{ with $labels.${name} }}, ${name} {{ . }}{{ end }}`)
    .join('')})`;

  type Knobs = { severity: string; for: string; keepFiringFor?: string | undefined };
  const alert = (name: string, knobs: Knobs, expr: string, summary: string, description: string, labels: Record<string, string> = {}): Rule => ({
    alert: name,
    expr,
    for: knobs.for,
    ...(knobs.keepFiringFor ? { keep_firing_for: knobs.keepFiringFor } : {}),
    labels: { severity: knobs.severity, ...labels },
    annotations: { summary, description, runbook_url: runbookUrl(config, name) },
  });

  const componentLevel = `max ${by('status_page', 'component_uuid')} ${trusted(METRIC.componentImpactLevel)}`;
  const componentAlert = (name: string, knobs: Knobs, level: number, impact: string, article: string) =>
    alert(
      name,
      knobs,
      `${componentLevel} == ${level}`,
      `A StatusMate component ${article}.`,
      `${componentName}Component "{{ $component }}" on status page {{ $labels.status_page }} ${inInstall} has reported ${impact} for more than ${spoken(knobs.for)}.`,
    );

  const objective = config.slo.availabilityObjective;
  const errorBudget = Number((1 - objective).toPrecision(6));
  const percent = `${Number((objective * 100).toPrecision(6))}%`;
  // available:bool is 0 from the first impact with a weight on.
  const weights = config.slo.impactWeights;
  const unavailableLevel = KNOWN_IMPACTS.indexOf(
    weights.degraded_performance > 0 ? 'degraded_performance' : weights.partial_outage > 0 ? 'partial_outage' : 'major_outage',
  );
  const windows = [...new Set(config.slo.burnRateAlerts.flatMap((pair) => [pair.short, pair.long]))].sort((x, y) => seconds(x) - seconds(y));
  const fine = (window: string) => seconds(window) <= FINE_WINDOW_SECONDS;
  const impactSeconds = RECORD.counter(METRIC.componentImpactSeconds);
  /**
   * The impact seconds, one series per component and impact however many pods serve them. No
   * missing impact is filled with 0: a series the exporter stopped serving for a moment would
   * then dip to 0, and every window over the dip would count the impact's whole history.
   */
  const impactSecondsExpr = () => `max ${by('status_page', 'component_uuid', 'impact')} ${trusted(METRIC.componentImpactSeconds)}`;
  /**
   * The availability over `window`, in a group that records `now` first (the impact seconds
   * every evaluation, every 5 minutes or every hour) so that each evaluation reads its own. Every
   * copy is computed from the exporter's series rather than from another group's record: groups
   * run on their own timers, and a copy of a copy would lag by an interval, in an order that
   * changes from one evaluation to the next.
   */
  const availableOver = (window: string, now: string): Rule => {
    const source =
      seconds(window) <= SOURCE_EVERY_EVALUATION_SECONDS
        ? impactSeconds
        : seconds(window) <= SOURCE_EVERY_5M_SECONDS
          ? RECORD.impactSecondsEvery(COARSE_INTERVAL)
          : RECORD.impactSecondsEvery(HOURLY_INTERVAL);
    return {
      record: RECORD.availableOver(window),
      expr: availabilityExpr(config, {
        window,
        now,
        source,
        // The per-evaluation series' smallest is its first sample already.
        ...(source === impactSeconds ? {} : { firstSeen: RECORD.impactSecondsFirst }),
        select: sel,
        by: by('status_page', 'component_uuid'),
      }),
    };
  };

  /**
   * "the last 1 hour", or, for a component seen for less than the window (first seen minutes
   * ago, or the rules loaded minutes ago), the time it has been seen: a description never
   * claims more history than the data has.
   */
  const seenOf = (window: string) => {
    const step = fine(window) ? '1m' : COARSE_INTERVAL;
    const labels = [...install, 'status_page', 'component_uuid'];
    const matchers = labels.map((name) => `${name}=%q`).join(', ');
    const args = labels.map((name) => `$labels.${name}`).join(' ');
    const whole = seconds(window) - 2 * seconds(step);
    return (
      `{{ $seen := "${spoken(window)}" }}` +
      `{{ with printf "time() - min_over_time(timestamp(${RECORD.available}{${matchers}})[${window}:${step}])" ${args} | query }}` +
      `{{ with . | first | value }}{{ if lt . ${whole}.0 }}{{ $seen = humanizeDuration . }}{{ end }}{{ end }}{{ end }}`
    );
  };

  const outageAlertsFiring = `ALERTS{alertname=~"StatusMateComponent(Major|Partial)Outage", alertstate="firing"${config.selector ? `, ${config.selector}` : ''}}`;
  const burnAlert = (pair: MixinConfig['slo']['burnRateAlerts'][number]): Rule => {
    const spent = (((pair.burnRate * seconds(pair.long)) / seconds(config.slo.budgetWindow)) * 100).toPrecision(3);
    return alert(
      'StatusMateComponentErrorBudgetBurn',
      pair,
      // After an outage alert of the component resolves, its short window stays high for as long
      // as the window: the outage already paged (and inhibited this alert while it fired), so the
      // tail of the same outage does not page a second time.
      `(1 - ${RECORD.availableOver(pair.long)}${sel()}) > (${pair.burnRate} * ${errorBudget})\nand\n(1 - ${RECORD.availableOver(pair.short)}${sel()}) > (${pair.burnRate} * ${errorBudget})\nunless ${on('status_page', 'component_uuid')}\n(\n  max_over_time(${outageAlertsFiring}[${pair.short}])\n  unless ${on('status_page', 'component_uuid')}\n  ${outageAlertsFiring}\n)`,
      `A StatusMate component is burning its ${percent} availability error budget ${pair.burnRate} times too fast.`,
      `${componentName}${seenOf(pair.long)}Component "{{ $component }}" on status page {{ $labels.status_page }} ${inInstall} was unavailable {{ $value | humanizePercentage }} of the last {{ $seen }}, and still is over the last ${spoken(pair.short)}. At this rate it spends ${Number(spent)}% of its ${config.slo.budgetWindow} error budget (${percent} objective) in ${spoken(pair.long)}.`,
      { long_window: pair.long, short_window: pair.short },
    );
  };

  // The alerts that inhibit the burn-rate alerts (prometheus/alertmanager.example.yml): in the
  // burn-rate alerts' group, before them.
  const outageAlerts = [
    componentAlert('StatusMateComponentMajorOutage', a.componentMajorOutage, 4, 'major_outage', 'is in a major outage'),
    componentAlert('StatusMateComponentPartialOutage', a.componentPartialOutage, 3, 'partial_outage', 'is in a partial outage'),
  ];

  const vanished = `group ${by()} (max_over_time(up${sel()}[${config.vanishedLookback}])) * 0\n  unless ${on()} group ${by()} (up${sel()})`;
  // A crash-looping install (up for a scrape or two between restarts) resets a plain `up == 0`
  // condition at every start, so its `for` never completes: mostly down over the last 10 minutes
  // also counts, until a replica has stayed up for a whole minute.
  const crashLooping = `max ${by()} (avg_over_time(up${sel()}[10m])) < 0.5\n  unless ${on()}\n  max ${by()} (min_over_time(up${sel()}[1m])) == 1`;
  const down = [`(max ${by()} (up${sel()}) == 0)`, `(\n  ${crashLooping}\n)`, `(\n  ${vanished}\n)`];
  if (config.scopedToOneInstall) down.push(`(absent(up${sel()}) * 0)`);

  const rejectedOutcomes = 'invalid|unauthorized|too_large';
  const requests = (outcomes: string) => `${METRIC.webhookRequests}${sel(`outcome=~"${outcomes}"`)}`;
  const rejected = `sum ${by('outcome')} (rate(${requests(rejectedOutcomes)}[${a.webhooksRejected.window}]))`;
  const allRequests = `sum ${by()} (rate(${METRIC.webhookRequests}${sel()}[${a.webhooksRejected.window}]))`;

  // Only outcomes a holder of the receiver's token gets: anyone can be answered 401 or 404.
  const notificationsRefused = `${METRIC.alertmanagerNotifications}${sel('outcome=~"invalid|too_large"')}`;

  const unknownImpacts = `impact!~"${KNOWN_IMPACTS.join('|')}"`;

  return {
    groups: [
      {
        // A pod that replaces another starts its series at the stored value under a new pod and
        // instance; these series go on across pods (see PERSISTED_COUNTERS).
        name: 'statusmate-exporter.counters',
        // The impact seconds are recorded with the availability that reads them, below.
        // Each pod's highest value of the last COUNTER_HOLD: the pod ahead of the others (it
        // folded an event they fold a scrape later) may leave first, in a rollout; the maximum of
        // the pods left would dip by that event, and increase() would read the dip as a reset
        // and add the whole counter. The counters never go down (they are the state's), so the
        // value it left at holds until the others have it.
        // A replica folding another log (another Redis, prefix or database) counts another
        // history: its higher counts made incidents that never happened, and its leaving a drop
        // that increase() took for a reset. It is left out for as long as its values are held.
        // A series the exporter starts serving between two scrapes of its install (a status page's
        // first event: its counters appear with that event counted) is recorded at 0 for the
        // evaluations of its first FIRST_SEEN_OFFSET, then at its value, so that increase()
        // counts the events it appeared with: otherwise a new page's first incident, or the
        // responses measured before its series were first scraped, counted nowhere (see
        // newCounterSeries).
        rules: PERSISTED_COUNTERS.filter(({ grows }) => !grows).map(({ metric, labels }) => {
          const held = `max ${by(...labels)} (\n  max_over_time(${metric}${sel()}[${COUNTER_HOLD}])\n  unless ${on('instance')}\n  max_over_time(${otherLogReplicas((processMetric) => `${processMetric}${sel()}`, install)}[${COUNTER_HOLD}:])\n)`;
          const appeared = newCounterSeries(`${metric}${sel()}`, `up${sel()}`, install, labels, `${RECORD.counter(metric)}${sel()}`);
          return { record: RECORD.counter(metric), expr: `(\n${indent(held)}\n  unless ${on(...labels)}\n${indent(appeared)}\n)\nor\n${appeared} * 0` };
        }),
      },
      {
        // Records, the outage alerts and every burn-rate alert in one group: a group's rules run
        // in order, so each alert reads the ratios of the same evaluation (the day-long windows
        // are the long group's, at most 5 minutes old), and a burn-rate alert resolves in the
        // very evaluation that resolves the outage alert it follows. In another group, it would
        // still fire for up to that group's interval once the outage alert (which inhibits it in
        // Alertmanager) resolved: an Alertmanager flush in that gap would page the same outage
        // a second time.
        name: 'statusmate-exporter.availability',
        rules: [
          // One series per component however many replicas are scraped, identified by its uuid.
          { record: RECORD.impactLevel, expr: componentLevel },
          // First in the group that reads it, so that each evaluation reads its own.
          { record: impactSeconds, expr: impactSecondsExpr() },
          // Its value at the evaluations a series appears in (a new component or impact, or one
          // back after a gap): where the windows of the copies below start for a component first
          // seen within them, since their first copy of it comes up to an interval late.
          {
            record: RECORD.impactSecondsFirst,
            expr: `${impactSeconds}${sel()} unless ${impactSeconds}${sel()} offset ${FIRST_SEEN_OFFSET}`,
          },
          // 1 while operational (level 0), else 0. Unknown impacts (level -1) give no sample.
          { record: RECORD.operational, expr: `(${RECORD.impactLevel}${sel()} >= 0) == bool 0` },
          // 1 while the current impact has no weight against availability (operational, under
          // maintenance, degraded performance by default), else 0. Unknown impacts give no sample
          // (StatusMateComponentUnknownImpact speaks for them).
          { record: RECORD.available, expr: `(${RECORD.impactLevel}${sel()} >= 0) < bool ${unavailableLevel}` },
          // The windows of the burn-rate alerts up to six hours, from the impact seconds.
          ...windows.filter(fine).map((window) => availableOver(window, impactSeconds)),
          ...outageAlerts,
          ...config.slo.burnRateAlerts.map(burnAlert),
        ],
      },
      {
        // The impact seconds every 5 minutes, for windows of up to 3 days (864 samples), and the
        // day-long burn-rate windows, every 5 minutes (their alerts are in the group above).
        name: 'statusmate-exporter.availability-long',
        interval: COARSE_INTERVAL,
        rules: [
          { record: RECORD.impactSecondsEvery(COARSE_INTERVAL), expr: impactSecondsExpr() },
          ...windows.filter((window) => !fine(window)).map((window) => availableOver(window, RECORD.impactSecondsEvery(COARSE_INTERVAL))),
        ],
      },
      {
        name: 'statusmate-exporter.slo-budget.rules',
        // Evaluated hourly: the budget window reads one sample per hour of history (720 for 30
        // days) instead of every sample of every evaluation.
        interval: HOURLY_INTERVAL,
        rules: [
          { record: RECORD.impactSecondsEvery(HOURLY_INTERVAL), expr: impactSecondsExpr() },
          availableOver(config.slo.budgetWindow, RECORD.impactSecondsEvery(HOURLY_INTERVAL)),
          {
            record: RECORD.budgetRemaining(config.slo.budgetWindow),
            expr: `1 - (1 - ${RECORD.availableOver(config.slo.budgetWindow)}${sel()}) / ${errorBudget}`,
          },
        ],
      },
      {
        // The outage alerts are in the availability group, before the burn-rate alerts they inhibit.
        name: 'statusmate-exporter.components',
        rules: [
          componentAlert(
            'StatusMateComponentDegradedPerformance',
            a.componentDegradedPerformance,
            2,
            'degraded_performance',
            `has had degraded performance for ${spoken(a.componentDegradedPerformance.for)}`,
          ),
          alert(
            'StatusMateComponentUnknownImpact',
            a.componentUnknownImpact,
            // The StateSet line of an impact StatusMate added keeps its name in `impact`.
            `max ${by('status_page', 'component_uuid', 'impact')} ${trusted(METRIC.componentImpact, unknownImpacts)} == 1`,
            'A StatusMate component is at an impact the exporter does not know.',
            `${componentName}Component "{{ $component }}" on status page {{ $labels.status_page }} ${inInstall} has reported the impact "{{ $labels.impact }}" for more than ${spoken(a.componentUnknownImpact.for)}, which this exporter does not know: it counts neither as available nor as an outage, and no outage alert fires for it.`,
          ),
        ],
      },
      {
        // What Alertmanager's alerts say of the status page (POST /alertmanager, alert_matchers).
        name: 'statusmate-exporter.status-page-honesty',
        rules: [
          // Only components with an alerts series (some fired since the exporter knew them):
          // firing alerts (> bool 0) times operational (1, else 0).
          {
            record: RECORD.statusPageSilent,
            expr: `(max ${by('status_page', 'component_uuid')} ${trusted(METRIC.componentAlertsFiring)} > bool 0)\n* ${on('status_page', 'component_uuid')}\n${RECORD.operational}${sel()}`,
          },
          alert(
            'StatusMateStatusPageSilent',
            a.statusPageSilent,
            `${RECORD.statusPageSilent}${sel()} == 1`,
            "A component's alerts fire while its status page says it is operational.",
            `${componentName}Alertmanager alerts matching component "{{ $component }}" on status page {{ $labels.status_page }} ${inInstall} have been firing for more than ${spoken(a.statusPageSilent.for)} while the status page shows it operational: the outage is not communicated.`,
          ),
          alert(
            'StatusMateStatusPageForgottenIncident',
            a.statusPageForgottenIncident,
            // Degraded or worse (not a maintenance, level 1), on a component that has
            // alert_matchers (so its alerts are measured), while none of its alerts fires.
            `(${componentLevel} >= 2)\nand ${on('status_page', 'component_uuid')}\n(max ${by('status_page', 'component_uuid')} ${trusted(METRIC.componentAlertMatchers)} > 0)\nunless ${on('status_page', 'component_uuid')}\n(max ${by('status_page', 'component_uuid')} ${trusted(METRIC.componentAlertsFiring)} > 0)`,
            "A status page shows an outage while none of the component's alerts fires.",
            `${componentName}Status page {{ $labels.status_page }} ${inInstall} has shown component "{{ $component }}" degraded or worse for more than ${spoken(a.statusPageForgottenIncident.for)} while none of the Alertmanager alerts its alert_matchers select fires: an incident left open, or alerts that miss the outage.`,
          ),
        ],
      },
      {
        name: 'statusmate-exporter.incidents',
        rules: [
          alert(
            'StatusMateIncidentLongRunning',
            a.incidentLongRunning,
            `time() - max ${by('status_page', 'incident_uuid')} ${trusted(METRIC.incidentStart)} > ${a.incidentLongRunning.thresholdSeconds}`,
            `A StatusMate incident has been active for more than ${spoken(`${a.incidentLongRunning.thresholdSeconds}s`)}.`,
            `${incidentTitle}Incident "{{ $title }}" on status page {{ $labels.status_page }} ${inInstall} has been active for {{ $value | humanizeDuration }}.`,
          ),
        ],
      },
      {
        name: 'statusmate-exporter.maintenances',
        rules: [
          alert(
            'StatusMateMaintenanceOverrunning',
            a.maintenanceOverrunning,
            `(\n  time() - max ${by('status_page', 'maintenance_uuid')} ${trusted(METRIC.maintenanceScheduledEnd)}\n)\n* ${on('status_page', 'maintenance_uuid')} group_left ()\n  max ${by('status_page', 'maintenance_uuid')} ${trusted(METRIC.maintenanceInfo, 'state="in_progress"')}\n> ${a.maintenanceOverrunning.thresholdSeconds}`,
            `A StatusMate maintenance is still in progress ${spoken(`${a.maintenanceOverrunning.thresholdSeconds}s`)} after its scheduled end.`,
            `${maintenanceTitle}Maintenance "{{ $title }}" on status page {{ $labels.status_page }} ${inInstall} is still in progress {{ $value | humanizeDuration }} after its scheduled end.`,
          ),
          alert(
            'StatusMateMaintenanceNotStarted',
            a.maintenanceNotStarted,
            `(\n  time() - max ${by('status_page', 'maintenance_uuid')} ${trusted(METRIC.maintenanceScheduledStart)}\n)\n* ${on('status_page', 'maintenance_uuid')} group_left ()\n  max ${by('status_page', 'maintenance_uuid')} ${trusted(METRIC.maintenanceInfo, 'state="scheduled"')}\n> ${a.maintenanceNotStarted.thresholdSeconds}`,
            `A scheduled StatusMate maintenance has not started ${spoken(`${a.maintenanceNotStarted.thresholdSeconds}s`)} after its scheduled start.`,
            `${maintenanceTitle}Maintenance "{{ $title }}" on status page {{ $labels.status_page }} ${inInstall} was scheduled to start {{ $value | humanizeDuration }} ago and has not started.`,
          ),
        ],
      },
      {
        name: 'statusmate-exporter.exporter',
        rules: [
          alert(
            'StatusMateExporterDown',
            a.exporterDown,
            // Every target of the install is down, or its targets left service discovery (a pod
            // Pending on its volume, a lost node) within the lookback.
            down.join('\nor\n'),
            'No replica of a statusmate-exporter install is up.',
            `No target of statusmate-exporter ${inInstall} has been scraped successfully for ${spoken(a.exporterDown.for)}, or its targets left service discovery. StatusMate webhooks are not being received, and the status page alerts of this install cannot fire.`,
          ),
          alert(
            'StatusMateExporterReplicaDown',
            a.exporterReplicaDown,
            `(up${sel()} == 0)\nand ${on()}\n(max ${by()} (up${sel()}) == 1)`,
            'A statusmate-exporter replica is down.',
            `Target {{ $labels.instance }} of statusmate-exporter ${inInstall} has been down for ${spoken(a.exporterReplicaDown.for)} while other replicas are up.`,
          ),
          // Scoped to one install, StatusMateExporterDown fires when the install has no target (with
          // its labels), so the absent alert would only repeat it.
          ...(config.scopedToOneInstall
            ? []
            : [
                alert(
                  'StatusMateExporterAbsent',
                  a.exporterAbsent,
                  `absent(up${sel()})`,
                  'Prometheus has no statusmate-exporter target.',
                  `No scrape target matching ${config.selector.replace(/[{}]/g, '')} has existed for ${spoken(a.exporterAbsent.for)}, so the StatusMate alerts cannot fire.`,
                ),
              ]),
          alert(
            'StatusMateWebhooksRejected',
            a.webhooksRejected,
            // A share of the install's requests, and more than a trickle: a probe every few
            // minutes beside real deliveries does not fire it.
            `(${rejected} / ${on()} group_left () ${allRequests}) > ${a.webhooksRejected.share}\nand\n(${rejected} * 60) > ${a.webhooksRejected.perMinute}`,
            'statusmate-exporter keeps rejecting webhooks.',
            `statusmate-exporter ${inInstall} has rejected {{ $value | humanizePercentage }} of its webhook requests as {{ $labels.outcome }} over the last ${spoken(a.webhooksRejected.window)}, for ${spoken(a.webhooksRejected.for)}. StatusMate's retries fail the same way, so the events they carried are lost and the status page state may be stale.`,
          ),
          alert(
            'StatusMateWebhookStoreErrors',
            a.webhookStoreErrors,
            `sum ${by()} (rate(${requests('error')}[${a.webhookStoreErrors.window}])) * 60 > 0`,
            'statusmate-exporter cannot commit webhooks to its store.',
            `statusmate-exporter ${inInstall} has answered webhooks with 503 (store error) for ${spoken(a.webhookStoreErrors.for)}, about {{ $value | humanize }} per minute. StatusMate retries them for a while, then drops them.`,
          ),
          alert(
            'StatusMateWebhooksRefusedLimit',
            a.webhooksRefusedLimit,
            `sum ${by()} (increase(${requests('refused_limit')}[${a.webhooksRefusedLimit.window}])) > 0`,
            'statusmate-exporter refuses events past its limits.',
            `statusmate-exporter ${inInstall} refused about {{ $value | humanize }} event(s) in the last ${spoken(a.webhooksRefusedLimit.window)} because one of its limits (MAX_COMPONENTS and the other MAX_* settings) was reached. Those components are missing from the metrics.`,
          ),
          alert(
            'StatusMateAlertmanagerNotificationsRejected',
            a.alertmanagerNotificationsRejected,
            `sum ${by('outcome')} (increase(${notificationsRefused}[${a.alertmanagerNotificationsRejected.window}])) > 0`,
            "statusmate-exporter refuses Alertmanager's notifications.",
            `statusmate-exporter ${inInstall} refused about {{ $value | humanize }} Alertmanager notification(s) as {{ $labels.outcome }} in the last ${spoken(a.alertmanagerNotificationsRejected.window)}. Alertmanager does not retry them: the alerts they carried are missing from statusmate_component_alerts_firing and the status page honesty alerts until a notification of their group is taken.`,
          ),
          alert(
            'StatusMateStoreDown',
            a.storeDown,
            // Per replica: each replica answers webhooks with its own store connection.
            `${METRIC.storeUp}${sel()} == 0`,
            'The statusmate-exporter store is not answering.',
            `The store of {{ $labels.instance }} ${inInstall} has been down for ${spoken(a.storeDown.for)}. The replica answers webhooks with 503 and is not ready; StatusMate retries for a while, then drops the events.`,
          ),
          alert(
            'StatusMateStoreEpochsDiffer',
            a.storeEpochsDiffer,
            // Per install: its replicas must fold one log.
            `count by (${install.join(', ')}) (count by (${[...install, LABEL.epoch].join(', ')}) (${METRIC.storeEpochInfo}${sel()})) > 1`,
            'The replicas of a statusmate-exporter install fold different logs.',
            `The replicas of the install ${inInstall} have folded {{ $value }} different Redis logs (statusmate_store_epoch_info) for ${spoken(a.storeEpochsDiffer.for)}: some of them read another Redis, database or REDIS_KEY_PREFIX. Their states do not compare: the rules read the log most replicas fold, and both when they split evenly, so an outage may not page, and the replicas' maintenance silences undo each other.`,
          ),
          alert(
            'StatusMateStoreFoldLagging',
            a.storeFoldLagging,
            // Per replica: each folds the log on its own.
            `${METRIC.storeFoldLagSeconds}${sel()} > ${a.storeFoldLagging.thresholdSeconds}`,
            "A statusmate-exporter replica's state is behind its log.",
            `{{ $labels.instance }} ${inInstall} has folded its log up to {{ $value | humanizeDuration }} behind the log's last entry for ${spoken(a.storeFoldLagging.for)}. It serves an older state than the other replicas, and its readiness fails while it does not catch up.`,
          ),
          alert(
            'StatusMateStoreSnapshotStale',
            a.storeSnapshotStale,
            // Only while entries keep coming: a quiet status page needs no new snapshot.
            `(${METRIC.storeSnapshotAge}${sel()} > ${a.storeSnapshotStale.thresholdSeconds})\nand\n(rate(${METRIC.storeEntriesFolded}${sel()}[${a.storeSnapshotStale.window}]) > 0)`,
            'statusmate-exporter has not written a snapshot of its log for a long time.',
            `The newest snapshot known to {{ $labels.instance }} ${inInstall} is {{ $value | humanizeDuration }} old while events keep coming, for ${spoken(a.storeSnapshotStale.for)}. The log is not trimmed meanwhile: it grows (in Redis memory, or the SQLite file), and a start folds all of it.`,
          ),
          alert(
            'StatusMateStatusPagesFileInvalid',
            a.statusPagesFileInvalid,
            // Per replica: each replica reads its own STATUS_PAGES_FILE (SIGHUP, POST /-/reload).
            `${METRIC.configReloadSuccessful}${sel()} == 0`,
            'statusmate-exporter could not reload its status pages file.',
            `The last reload of STATUS_PAGES_FILE on {{ $labels.instance }} ${inInstall} failed ${spoken(a.statusPagesFileInvalid.for)} or more ago. The replica keeps the status pages it had; a restart would refuse to start with the file as it is now.`,
          ),
          alert(
            'StatusMateMaintenanceSilencesMissing',
            a.maintenanceSilencesMissing,
            // The fewest any replica sees missing: one replica cut off from Alertmanager while the
            // one writing silences reaches it does not fire it.
            `min ${by()} (${METRIC.maintenanceSilences}${sel('state="failed"')}) > 0`,
            'Maintenance silences are missing from Alertmanager.',
            `{{ $value }} silence(s) that maintenances in progress should hold in Alertmanager have been missing for ${spoken(a.maintenanceSilencesMissing.for)}, as every replica of statusmate-exporter ${inInstall} sees it. The alerts of the components under maintenance page as usual.`,
          ),
          alert(
            'StatusMateMaintenanceSilencesLingering',
            a.maintenanceSilencesLingering,
            // The fewest any replica sees: a replica that does not write sees them until the one
            // that writes has expired them.
            `min ${by()} (${METRIC.maintenanceSilences}${sel('state="lingering"')}) > 0`,
            'Silences of finished maintenances still mute alerts in Alertmanager.',
            `{{ $value }} silence(s) of maintenances that are over have not been expired in Alertmanager for ${spoken(a.maintenanceSilencesLingering.for)}, as every replica of statusmate-exporter ${inInstall} sees it: the alerts they match are still muted.`,
          ),
        ],
      },
    ],
  };
}
