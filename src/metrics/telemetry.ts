import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LIMIT_NAMES, type LimitName } from '../domain/reducer.js';
import type { Store } from '../store/store.js';
import {
  LABEL,
  METRIC,
  OUTCOMES,
  REQUEST_DURATION_BUCKETS,
  WEBHOOK_TYPE_LABELS,
  type Outcome,
  type WebhookTypeLabel,
} from './names.js';

export type BuildInfo = { version: string; revision: string };

/** The exporter's own health, in a registry of its own per app instance (never prom-client's global one). */
export class Telemetry {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly retries: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly limitRefusals: Counter<string>;
  private readonly clockSkews: Counter;

  constructor(store: Store, build: BuildInfo) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: METRIC.webhookRequests,
      help: 'Webhook requests by event type and outcome.',
      labelNames: [LABEL.type, LABEL.outcome],
      registers,
    });
    this.retries = new Counter({
      name: METRIC.webhookRetries,
      help: 'Webhook deliveries that StatusMate marked as retries (delivery_attempt > 0).',
      labelNames: [LABEL.type],
      registers,
    });
    this.duration = new Histogram({
      name: METRIC.webhookRequestDuration,
      help: 'Time to answer a webhook request, commit included, in seconds.',
      buckets: [...REQUEST_DURATION_BUCKETS],
      registers,
    });
    this.limitRefusals = new Counter({
      name: METRIC.limitRefusals,
      help: 'Events or components refused because a limit (MAX_COMPONENTS, MAX_ACTIVE_INCIDENTS, MAX_ACTIVE_MAINTENANCES, MAX_STATUS_PAGES) was reached.',
      labelNames: [LABEL.limit],
      registers,
    });
    this.clockSkews = new Counter({
      name: METRIC.webhookClockSkew,
      help: 'Events whose created_at was further ahead of receipt than MAX_CLOCK_SKEW_SECONDS, and so were ordered by arrival.',
      registers,
    });
    new Gauge({
      name: METRIC.storeUp,
      help: 'Whether the store answers (1) or not (0).',
      registers,
      async collect() {
        this.set((await store.healthy()) ? 1 : 0);
      },
    });
    new Gauge({
      name: METRIC.buildInfo,
      help: 'Version of the running exporter; always 1.',
      labelNames: [LABEL.version, LABEL.revision, LABEL.nodejsVersion],
      registers,
    }).set({ version: build.version, revision: build.revision, nodejs_version: process.version }, 1);

    // Every series exists from start-up, so rate() and increase() see the first event.
    for (const limit of LIMIT_NAMES) this.limitRefusals.inc({ limit }, 0);
    for (const type of WEBHOOK_TYPE_LABELS) {
      this.retries.inc({ type }, 0);
      for (const outcome of OUTCOMES) this.requests.inc({ type, outcome }, 0);
    }
  }

  webhook(type: WebhookTypeLabel, outcome: Outcome, seconds: number, retry: boolean): void {
    this.requests.inc({ type, outcome });
    if (retry) this.retries.inc({ type });
    this.duration.observe(seconds);
  }

  limitRefused(limit: LimitName): void {
    this.limitRefusals.inc({ limit });
  }

  clockSkew(): void {
    this.clockSkews.inc();
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
