import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LIMIT_NAMES, type LimitName } from '../domain/reducer.js';
import type { StoreHealth } from '../ingest/sink.js';
import { ALERTMANAGER_OPERATIONS, ALERTMANAGER_REQUEST_OUTCOMES, type AlertmanagerOperation, type AlertmanagerRequestOutcome } from '../alertmanager/client.js';
import type { SilenceStats } from '../alertmanager/reconciler.js';
import type { FoldStats } from '../log/fold-loop.js';
import { familyHeader, labelPairs, sample } from './exposition.js';
import { logLinesDropped } from '../logger.js';
import {
  LABEL,
  METRIC,
  OUTCOMES,
  PAGE_CONFLICT_REASONS,
  REQUEST_DURATION_BUCKETS,
  SILENCE_STATES,
  WEBHOOK_TYPE_LABELS,
  type Outcome,
  type PageConflictReason,
  type WebhookTypeLabel,
} from './names.js';

export type BuildInfo = { version: string; revision: string };

/** prom-client default metrics left out of /metrics (see the constructor). */
export const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** A counter whose count another part keeps (`read`): each scrape adds what it counted since the last. */
function countedElsewhere(registers: Registry[], name: string, help: string, read: () => number): Counter {
  let seen = 0;
  return new Counter({
    name,
    help,
    registers,
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    },
  });
}

/**
 * Counts of a counter's label sets kept in a plain array, and added to the counter when it is
 * collected (each scrape). prom-client's inc() with labels builds and hashes a key string and
 * checks the labels on every call: on the webhook path, that was a few hundred bytes of garbage
 * and about a microsecond a request, for counts only a scrape reads. Every scrape shows the same
 * values as before.
 */
class PendingCounts {
  private readonly pending: Float64Array;

  constructor(
    private readonly counter: Counter,
    private readonly labelSets: readonly Record<string, string>[],
  ) {
    this.pending = new Float64Array(labelSets.length);
  }

  /** One more of `labelSets[index]`. */
  add(index: number): void {
    this.pending[index] = (this.pending[index] as number) + 1;
  }

  /** Hands the counts kept since the last collection to the counter. */
  flush(): void {
    for (let i = 0; i < this.pending.length; i += 1) {
      const count = this.pending[i] as number;
      if (count === 0) continue;
      this.pending[i] = 0;
      this.counter.inc(this.labelSets[i] as Record<string, string>, count);
    }
  }
}

/** Positions of the webhook's label values in WEBHOOK_TYPE_LABELS and OUTCOMES, for PendingCounts. */
const TYPE_INDEX: ReadonlyMap<string, number> = new Map(WEBHOOK_TYPE_LABELS.map((type, i) => [type, i]));
const OUTCOME_INDEX: ReadonlyMap<string, number> = new Map(OUTCOMES.map((outcome, i) => [outcome, i]));

/** The exporter's own health, in a registry of its own per app instance (never prom-client's global one). */
export class Telemetry {
  readonly registry = new Registry();
  /** When these counters and histograms started from zero: their OpenMetrics `_created`, in Unix seconds. */
  private readonly createdAt = Date.now() / 1000;
  private readonly requests: Counter;
  private readonly retries: Counter;
  /** The webhook path's counts of `requests` (by type, then outcome) and `retries` (by type), see PendingCounts. */
  private readonly pendingRequests: PendingCounts;
  private readonly pendingRetries: PendingCounts;
  private readonly duration: Histogram;
  private readonly limitRefusals: Counter;
  private readonly clockSkews: Counter;
  private readonly pageConflicts: Counter;

  constructor(health: StoreHealth, build: BuildInfo, foldStats?: () => FoldStats) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges that prom-client names like counters (promtool check metrics refuses a non-counter
    // ending in _total); the per-type gauges of the same name without _total add up to them.
    for (const name of GAUGES_NAMED_LIKE_COUNTERS) this.registry.removeSingleMetric(name);
    this.requests = new Counter({
      name: METRIC.webhookRequests,
      help: 'Webhook requests by event type and outcome.',
      labelNames: [LABEL.eventType, LABEL.outcome],
      registers,
      collect: () => this.pendingRequests.flush(),
    });
    this.retries = new Counter({
      name: METRIC.webhookRetries,
      help: 'Webhook deliveries that StatusMate marked as retries (delivery_attempt > 0).',
      labelNames: [LABEL.eventType],
      registers,
      collect: () => this.pendingRetries.flush(),
    });
    this.pendingRequests = new PendingCounts(
      this.requests,
      WEBHOOK_TYPE_LABELS.flatMap((type) => OUTCOMES.map((outcome) => ({ [LABEL.eventType]: type, [LABEL.outcome]: outcome }))),
    );
    this.pendingRetries = new PendingCounts(
      this.retries,
      WEBHOOK_TYPE_LABELS.map((type) => ({ [LABEL.eventType]: type })),
    );
    this.duration = new Histogram({
      name: METRIC.webhookRequestDuration,
      help: 'Time to answer a webhook request, commit included, in seconds.',
      buckets: [...REQUEST_DURATION_BUCKETS],
      registers,
    });
    this.limitRefusals = new Counter({
      name: METRIC.limitRefusals,
      help: 'Events or components refused because a limit (MAX_COMPONENTS, MAX_ACTIVE_INCIDENTS, MAX_ACTIVE_MAINTENANCES, MAX_STATUS_PAGES, MAX_HOLDINGS) was reached.',
      labelNames: [LABEL.limit],
      registers,
    });
    this.clockSkews = new Counter({
      name: METRIC.webhookClockSkew,
      help: 'Events whose created_at was further ahead of receipt than MAX_CLOCK_SKEW_SECONDS, and so were ordered by arrival.',
      registers,
    });
    this.pageConflicts = new Counter({
      name: METRIC.webhookPageConflicts,
      help: 'Webhook events whose status page and STATUS_PAGES_FILE disagree, by reason: several_pages, other_page, unknown_page.',
      labelNames: [LABEL.reason],
      registers,
    });
    new Gauge({
      name: METRIC.storeUp,
      help: 'Whether the store answers and takes writes (1) or not (0).',
      registers,
      async collect() {
        this.set((await health.up()) ? 1 : 0);
      },
    });
    if (foldStats) this.registerFoldStats(foldStats);
    countedElsewhere(
      registers,
      METRIC.logLinesDropped,
      'Log lines this process dropped because stdout could not take them (a full disk, a reader that stopped).',
      logLinesDropped,
    );
    new Gauge({
      name: METRIC.buildInfo,
      help: 'Version of the running exporter; always 1.',
      labelNames: [LABEL.version, LABEL.revision, LABEL.nodejsVersion],
      registers,
    }).set({ version: build.version, revision: build.revision, nodejs_version: process.version }, 1);

    // Every series exists from start-up, so rate() and increase() see the first event.
    for (const limit of LIMIT_NAMES) this.limitRefusals.inc({ limit }, 0);
    for (const reason of PAGE_CONFLICT_REASONS) this.pageConflicts.inc({ reason }, 0);
    for (const type of WEBHOOK_TYPE_LABELS) {
      this.retries.inc({ [LABEL.eventType]: type }, 0);
      for (const outcome of OUTCOMES) this.requests.inc({ [LABEL.eventType]: type, outcome }, 0);
    }
  }

  /** The fold loop's own figures, read at scrape time. */
  private registerFoldStats(stats: () => FoldStats): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: (s: FoldStats) => number | null) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const value = read(stats());
          if (value === null) this.reset();
          else this.set(value);
        },
      });
    // Counters whose count the fold keeps.
    const counter = (name: string, help: string, read: (s: FoldStats) => number) => countedElsewhere(registers, name, help, () => read(stats()));
    counter(METRIC.storeEntriesFolded, 'Log entries this process folded into its state (replays after a restart included).', (s) => s.entriesFolded);
    gauge(
      METRIC.storeFoldLagEntries,
      'Log entries past the last one this process folded, as of its last check (counted up to 1000 on Redis).',
      (s) => s.lagEntries,
    );
    gauge(METRIC.storeFoldLagSeconds, "How far this process's fold is behind the log's last entry, by the log's time, in seconds.", (s) => s.lagSeconds);
    gauge(
      METRIC.storeFoldedTimestamp,
      'The log time of the last entry this process folded (or of the snapshot it loaded), Unix seconds: replicas at the same entry serve the same value.',
      (s) => s.foldedTime,
    );
    new Gauge({
      name: METRIC.storeEpochInfo,
      help: 'Always 1, labelled with the epoch of the Redis log this process folds: replicas of one install on different epochs fold different logs. Absent on SQLite and memory.',
      labelNames: [LABEL.epoch],
      registers,
      collect() {
        const epoch = stats().epoch;
        this.reset();
        if (epoch !== null) this.set({ [LABEL.epoch]: epoch }, 1);
      },
    });
    gauge(
      METRIC.storeSnapshotAge,
      'Age of the newest snapshot this process knows of, by the time of the entry it covers, in seconds.',
      (s) => s.snapshotAgeSeconds,
    );
    gauge(METRIC.storeSnapshotBytes, 'Size of the newest snapshot this process wrote or loaded, in bytes.', (s) => s.snapshotBytes);
    counter(METRIC.storeSnapshotFailures, 'Snapshots this process failed to write.', (s) => s.snapshotFailures);
    counter(METRIC.storeReconnects, 'Times the connection to the store was re-established (Redis).', (s) => s.reconnects);
  }

  private alertmanagerRequests: Counter | undefined;

  /** The maintenance silences' families, with ALERTMANAGER_URL: what this process asked and saw. */
  registerSilences(stats: () => SilenceStats): void {
    const registers = [this.registry];
    this.alertmanagerRequests = new Counter({
      name: METRIC.alertmanagerRequests,
      help: `Requests this process sent to Alertmanager about maintenance silences and its alerts, by operation (${ALERTMANAGER_OPERATIONS.join(', ')}) and outcome (${ALERTMANAGER_REQUEST_OUTCOMES.join(', ')}).`,
      labelNames: [LABEL.operation, LABEL.outcome],
      registers,
    });
    for (const operation of ALERTMANAGER_OPERATIONS)
      for (const outcome of ALERTMANAGER_REQUEST_OUTCOMES) this.alertmanagerRequests.inc({ operation, outcome }, 0);
    new Gauge({
      name: METRIC.maintenanceSilences,
      help: 'Maintenance silences as this process last saw them: desired (should exist now), active (Alertmanager holds them), failed (missing), overridden (expired or edited by hand, left so); lingering (not desired, still live: not expired yet).',
      labelNames: [LABEL.state],
      registers,
      collect() {
        const now = stats();
        for (const state of SILENCE_STATES) this.set({ state }, now[state]);
      },
    });
    new Gauge({
      name: METRIC.maintenanceSilencesLeader,
      help: 'Whether this process holds the lease that makes it the one writing maintenance silences (1) or not (0).',
      registers,
      collect() {
        this.set(stats().leader ? 1 : 0);
      },
    });
  }

  alertmanagerRequest(operation: AlertmanagerOperation, outcome: AlertmanagerRequestOutcome): void {
    this.alertmanagerRequests?.inc({ [LABEL.operation]: operation, [LABEL.outcome]: outcome });
  }

  webhook(type: WebhookTypeLabel, outcome: Outcome, seconds: number, retry: boolean): void {
    const typeIndex = TYPE_INDEX.get(type);
    const outcomeIndex = OUTCOME_INDEX.get(outcome);
    // A value outside the lists (none is, by type) is counted at once, as prom-client takes any.
    if (typeIndex === undefined || outcomeIndex === undefined) this.requests.inc({ [LABEL.eventType]: type, outcome });
    else this.pendingRequests.add(typeIndex * OUTCOMES.length + outcomeIndex);
    if (retry) {
      if (typeIndex === undefined) this.retries.inc({ [LABEL.eventType]: type });
      else this.pendingRetries.add(typeIndex);
    }
    this.duration.observe(seconds);
  }

  limitRefused(limit: LimitName): void {
    this.limitRefusals.inc({ limit });
  }

  pageConflict(reason: PageConflictReason): void {
    this.pageConflicts.inc({ reason });
  }

  clockSkew(): void {
    this.clockSkews.inc();
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * The same metrics in OpenMetrics 1.0, ending with `# EOF`. prom-client's own OpenMetrics
   * mode renames its counters in place (which would break the text format of the next scrape)
   * and writes no `_created`, so this renders from the collected values instead: counter
   * families without `_total`, and a `_created` per counter and histogram series (the time this
   * process started counting).
   */
  async openMetrics(): Promise<string> {
    let out = '';
    const created = (name: string, labels: string) => sample(`${name}_created`, labels, this.createdAt);
    for (const metric of await this.registry.getMetricsAsJSON()) {
      const type = String(metric.type);
      const labelsOf = (labels: Partial<Record<string, string | number>> | undefined, without?: string) =>
        labelPairs(
          Object.entries(labels ?? {})
            .filter(([name, value]) => name !== without && value !== undefined)
            .map(([name, value]) => [name, String(value)] as const),
        );
      if (type === 'counter') {
        const family = metric.name.replace(/_total$/, '');
        out += familyHeader(family, 'counter', metric.help);
        for (const value of metric.values) {
          const labels = labelsOf(value.labels);
          out += sample(`${family}_total`, labels, value.value) + created(family, labels);
        }
      } else if (type === 'histogram' || type === 'summary') {
        out += familyHeader(metric.name, type, metric.help);
        for (const value of metric.values) {
          const name = (value as { metricName?: string }).metricName ?? metric.name;
          const labels = labelsOf(value.labels);
          out += sample(name, labels, value.value);
          // The count closes each series' group of samples: its creation time follows it.
          if (name === `${metric.name}_count`) out += created(metric.name, labelsOf(value.labels, 'le'));
        }
      } else {
        out += familyHeader(metric.name, type === 'gauge' ? 'gauge' : 'unknown', metric.help);
        for (const value of metric.values) out += sample(metric.name, labelsOf(value.labels), value.value);
      }
    }
    return `${out}# EOF\n`;
  }
}
