// The monitoring mixin's one configuration: every selector, label, threshold, severity, `for`,
// `keep_firing_for` and the SLO objective that prometheus/statusmate.rules.yml, the Helm chart's
// rules and the Grafana dashboards are generated from (`npm run mixin`). Change a value here,
// regenerate, and commit the output; test/mixin.test.ts fails while the committed files differ.

import { z } from 'zod';

const duration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, 'a Prometheus duration such as 5m or 1h30m');
const severity = z.enum(['critical', 'warning', 'info']);

/** Seconds of a Prometheus duration such as 1h30m. */
export function durationSeconds(duration: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(amount) * (units[unit ?? 's'] ?? 0);
  return total;
}
/** One alert's knobs. `for` is how long the condition must hold; `keepFiringFor` how long it outlives a gap. */
const alertKnobs = z.object({ severity, for: duration, keepFiringFor: duration.optional() }).strict();

export const mixinConfigSchema = z
  .object({
    /**
     * Label matchers every selector carries, so the rules see only statusmate-exporter's series
     * (and, scoped, only one install's). Must select on `job`: process metrics share names with
     * every other Node.js job.
     */
    selector: z.string().min(1),
    /**
     * The label naming the Prometheus or Kubernetes cluster in a multi-cluster setup (Thanos,
     * Mimir), kept on every alert and recorded series; empty when there is one cluster.
     */
    clusterLabel: z.string().regex(/^([a-zA-Z_][a-zA-Z0-9_]*)?$/),
    /**
     * The labels that tell one install from another, besides the cluster label. Every alert
     * keeps them and every aggregation groups by them, so two installs never merge.
     */
    installLabels: z.array(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)).min(1),
    /** `%s` is replaced by the alert name in lower case (the anchor of its section in docs/alerts.md). */
    runbookUrlPattern: z.string().includes('%s'),
    /**
     * True when `selector` names one install by equality matchers (the Helm chart's rules): an
     * install without any target then makes StatusMateExporterDown fire, with its labels, and
     * StatusMateExporterAbsent (the same cause, without labels) is not rendered.
     */
    scopedToOneInstall: z.boolean(),
    /** How far back StatusMateExporterDown remembers an install whose targets left service discovery. */
    vanishedLookback: duration,
    alerts: z
      .object({
        /** A major outage pages: the one page of an outage (Alertmanager inhibits its burn-rate alerts). */
        componentMajorOutage: alertKnobs,
        /** Whether a partial outage pages is this alert's severity (warning by default). */
        componentPartialOutage: alertKnobs,
        /** Degraded performance is a ticket at most: it never pages (warning or info only). */
        componentDegradedPerformance: alertKnobs.extend({ severity: z.enum(['warning', 'info']) }),
        /** A component at an impact the exporter does not know (StatusMate added one). */
        componentUnknownImpact: alertKnobs,
        incidentLongRunning: alertKnobs.extend({ thresholdSeconds: z.number().positive() }),
        maintenanceOverrunning: alertKnobs.extend({ thresholdSeconds: z.number().positive() }),
        maintenanceNotStarted: alertKnobs.extend({ thresholdSeconds: z.number().positive() }),
        exporterDown: alertKnobs,
        exporterReplicaDown: alertKnobs,
        exporterAbsent: alertKnobs,
        /**
         * Fires when more than `share` of an install's webhook requests over `window` are rejected
         * as one outcome, and that outcome runs above `perMinute`: a share of the deliveries, not a
         * trickle of probes beside real traffic.
         */
        webhooksRejected: alertKnobs.extend({ window: duration, share: z.number().gt(0).lte(1), perMinute: z.number().positive() }),
        webhookStoreErrors: alertKnobs.extend({ window: duration }),
        webhooksRefusedLimit: alertKnobs.extend({ window: duration }),
        /**
         * Alertmanager's notifications refused after their token matched (400, 413) within
         * `window`: Alertmanager does not retry them, so their alerts never reach the exporter.
         */
        alertmanagerNotificationsRejected: alertKnobs.extend({ window: duration }),
        storeDown: alertKnobs,
        /** Replicas of one install fold different Redis logs (statusmate_store_epoch_info). */
        storeEpochsDiffer: alertKnobs,
        /** A replica's fold more than `thresholdSeconds` of log time behind the log's end. */
        storeFoldLagging: alertKnobs.extend({ thresholdSeconds: z.number().positive() }),
        /** No snapshot for `thresholdSeconds` while entries keep being folded: the log only grows. */
        storeSnapshotStale: alertKnobs.extend({ thresholdSeconds: z.number().positive(), window: duration }),
        statusPagesFileInvalid: alertKnobs,
        /** Maintenance silences that should be in Alertmanager and are not, as every replica sees it. */
        maintenanceSilencesMissing: alertKnobs,
        /** Silences of finished maintenances still live in Alertmanager (not expired yet), as every replica sees it. */
        maintenanceSilencesLingering: alertKnobs,
        /** A component's Alertmanager alerts (alert_matchers) fire while its status page says operational, for `for`. */
        statusPageSilent: alertKnobs,
        /** The reverse: the page shows an outage while none of the component's alerts fires, for `for` (a forgotten incident). */
        statusPageForgottenIncident: alertKnobs,
      })
      .strict(),
    slo: z
      .object({
        /** Share of time each component must be available. */
        availabilityObjective: z.number().gt(0).lt(1),
        /**
         * How much of a second at each impact counts against availability (0 to 1), read from
         * statusmate_component_impact_seconds_total: by default as the exporter's availability
         * API weighs them by default (issue 20), `major_outage` and `partial_outage` 1,
         * `degraded_performance` 0, but not AVAILABILITY_WEIGHTS nor a page's own policy, which
         * the rules cannot read; time at unknown impacts is left out of the period. `operational` counts 0. Weights may not fall as the impact worsens, and a weight on
         * degraded performance needs every burn-rate pair to be a ticket: degraded performance
         * never pages.
         */
        impactWeights: z
          .object({
            degraded_performance: z.number().min(0).max(1),
            partial_outage: z.number().min(0).max(1),
            major_outage: z.number().gt(0).max(1),
          })
          .strict(),
        /**
         * Whether time under maintenance is left out of the period (`excluded`, the default, as in
         * the availability API) or counts as available time (`available`).
         */
        maintenance: z.enum(['excluded', 'available']),
        /**
         * The SRE workbook's multi-window, multi-burn-rate pairs: both windows must burn faster
         * than `burnRate`. `critical` pairs page, `warning` pairs open a ticket.
         */
        burnRateAlerts: z.array(z.object({ long: duration, short: duration, burnRate: z.number().positive(), severity, for: duration }).strict()).min(1),
        /** The error budget's period (the budget left on the overview dashboard). */
        budgetWindow: duration,
      })
      .strict(),
  })
  .strict()
  .superRefine((config, context) => {
    // One outage, one page: Alertmanager inhibits a component's burn-rate alerts while its
    // outage alert fires, which holds only if the outage alert reaches it first.
    const outageFor = Math.max(durationSeconds(config.alerts.componentMajorOutage.for), durationSeconds(config.alerts.componentPartialOutage.for));
    const weights = config.slo.impactWeights;
    if (weights.degraded_performance > weights.partial_outage || weights.partial_outage > weights.major_outage) {
      context.addIssue({
        code: 'custom',
        path: ['slo', 'impactWeights'],
        message: 'must not fall as the impact worsens (degraded_performance <= partial_outage <= major_outage)',
      });
    }
    // Degraded performance never pages: it may spend the budget only if no burn-rate alert pages.
    if (weights.degraded_performance > 0 && config.slo.burnRateAlerts.some((pair) => pair.severity === 'critical')) {
      context.addIssue({
        code: 'custom',
        path: ['slo', 'impactWeights', 'degraded_performance'],
        message: 'must be 0 while a burn-rate pair is critical: degraded performance would page through StatusMateComponentErrorBudgetBurn',
      });
    }
    config.slo.burnRateAlerts.forEach((pair, index) => {
      if (durationSeconds(pair.for) <= outageFor) {
        context.addIssue({
          code: 'custom',
          path: ['slo', 'burnRateAlerts', index, 'for'],
          message: `must be longer than the for of componentMajorOutage and componentPartialOutage (${outageFor}s), so that the outage alert inhibits it`,
        });
      }
      if (durationSeconds(pair.short) >= durationSeconds(pair.long)) {
        context.addIssue({ code: 'custom', path: ['slo', 'burnRateAlerts', index, 'short'], message: 'must be shorter than long' });
      }
    });
  });

export type MixinConfig = z.infer<typeof mixinConfigSchema>;

export const DEFAULT_CONFIG: MixinConfig = mixinConfigSchema.parse({
  selector: 'job=~"statusmate-exporter.*"',
  clusterLabel: 'cluster',
  installLabels: ['namespace', 'job'],
  runbookUrlPattern: 'https://github.com/statusmate-exporter/statusmate-exporter/blob/main/docs/alerts.md#%s',
  scopedToOneInstall: false,
  vanishedLookback: '6h',
  alerts: {
    componentMajorOutage: { severity: 'critical', for: '1m', keepFiringFor: '5m' },
    componentPartialOutage: { severity: 'warning', for: '2m', keepFiringFor: '5m' },
    componentDegradedPerformance: { severity: 'warning', for: '30m', keepFiringFor: '5m' },
    componentUnknownImpact: { severity: 'warning', for: '5m', keepFiringFor: '5m' },
    incidentLongRunning: { severity: 'warning', for: '1m', keepFiringFor: '5m', thresholdSeconds: 4 * 3600 },
    maintenanceOverrunning: { severity: 'warning', for: '1m', keepFiringFor: '5m', thresholdSeconds: 15 * 60 },
    maintenanceNotStarted: { severity: 'warning', for: '1m', keepFiringFor: '5m', thresholdSeconds: 30 * 60 },
    exporterDown: { severity: 'critical', for: '5m' },
    exporterReplicaDown: { severity: 'warning', for: '15m' },
    exporterAbsent: { severity: 'warning', for: '15m' },
    webhooksRejected: { severity: 'warning', for: '15m', window: '15m', share: 0.1, perMinute: 0.2 },
    webhookStoreErrors: { severity: 'warning', for: '5m', window: '5m' },
    webhooksRefusedLimit: { severity: 'warning', for: '1m', window: '15m' },
    alertmanagerNotificationsRejected: { severity: 'warning', for: '1m', window: '1h' },
    storeDown: { severity: 'critical', for: '2m' },
    storeEpochsDiffer: { severity: 'critical', for: '5m' },
    storeFoldLagging: { severity: 'warning', for: '10m', thresholdSeconds: 60 },
    storeSnapshotStale: { severity: 'warning', for: '15m', thresholdSeconds: 3600, window: '15m' },
    statusPagesFileInvalid: { severity: 'warning', for: '10m' },
    maintenanceSilencesMissing: { severity: 'warning', for: '10m' },
    maintenanceSilencesLingering: { severity: 'warning', for: '5m' },
    statusPageSilent: { severity: 'warning', for: '15m', keepFiringFor: '5m' },
    statusPageForgottenIncident: { severity: 'warning', for: '1h', keepFiringFor: '5m' },
  },
  slo: {
    availabilityObjective: 0.999,
    impactWeights: { degraded_performance: 0, partial_outage: 1, major_outage: 1 },
    maintenance: 'excluded',
    // The SRE workbook's table for a 30-day budget: 2 % of it in an hour or 5 % in six hours
    // pages; 10 % in a day or in three days opens a ticket.
    burnRateAlerts: [
      { long: '1h', short: '5m', burnRate: 14.4, severity: 'critical', for: '3m' },
      { long: '6h', short: '30m', burnRate: 6, severity: 'critical', for: '15m' },
      { long: '1d', short: '2h', burnRate: 3, severity: 'warning', for: '1h' },
      { long: '3d', short: '6h', burnRate: 1, severity: 'warning', for: '3h' },
    ],
    budgetWindow: '30d',
  },
});

/** The labels of one install, cluster first: what every aggregation keeps. */
export function installLabels(config: MixinConfig): string[] {
  return config.clusterLabel ? [config.clusterLabel, ...config.installLabels] : [...config.installLabels];
}

export function runbookUrl(config: MixinConfig, alert: string): string {
  return config.runbookUrlPattern.replace('%s', alert.toLowerCase());
}

/**
 * The variant of the configuration the Helm chart renders: selectors scoped to one release by
 * placeholders that the chart's PrometheusRule template replaces with the release's job and
 * namespace, so that two releases in one Prometheus each alert on their own install only.
 */
export const CHART_JOB_PLACEHOLDER = '__STATUSMATE_JOB__';
export const CHART_NAMESPACE_PLACEHOLDER = '__STATUSMATE_NAMESPACE__';
export function chartConfig(config: MixinConfig): MixinConfig {
  return { ...config, selector: `job="${CHART_JOB_PLACEHOLDER}", namespace="${CHART_NAMESPACE_PLACEHOLDER}"`, scopedToOneInstall: true };
}
