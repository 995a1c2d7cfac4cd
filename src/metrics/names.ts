import { EVENT_TYPES } from '../domain/event.js';

// The exporter's metric names and label names in one place. They are an interface:
// the collectors render them, and the dashboards, alert rules and Helm chart import or
// test against this module, so renaming one here breaks their build instead of a user's
// dashboard. docs/metrics.md documents each of them. The HELP texts live with what registers
// each family: metrics/domain.ts (the state's series), metrics/telemetry.ts (the process's),
// webhook/alertmanager.ts (the receiver's) and inventory/live.ts (the status pages file's).

export const METRIC = {
  componentImpact: 'statusmate_component_impact',
  componentImpactLevel: 'statusmate_component_impact_level',
  componentLastChange: 'statusmate_component_last_change_timestamp_seconds',
  componentImpactSeconds: 'statusmate_component_impact_seconds_total',

  incidentsCreated: 'statusmate_incidents_created_total',
  incidentsFinished: 'statusmate_incidents_finished_total',
  incidentsActive: 'statusmate_incidents_active',
  incidentInfo: 'statusmate_incident_info',
  incidentStart: 'statusmate_incident_start_timestamp_seconds',
  incidentDuration: 'statusmate_incident_duration_seconds',

  maintenancesCreated: 'statusmate_maintenances_created_total',
  maintenancesStarted: 'statusmate_maintenances_started_total',
  maintenancesFinished: 'statusmate_maintenances_finished_total',
  maintenancesActive: 'statusmate_maintenances_active',
  maintenanceInfo: 'statusmate_maintenance_info',
  maintenanceScheduledStart: 'statusmate_maintenance_scheduled_start_timestamp_seconds',
  maintenanceScheduledEnd: 'statusmate_maintenance_scheduled_end_timestamp_seconds',
  maintenanceStart: 'statusmate_maintenance_start_timestamp_seconds',
  maintenanceDuration: 'statusmate_maintenance_duration_seconds',

  webhookRequests: 'statusmate_webhook_requests_total',
  webhookRetries: 'statusmate_webhook_retries_total',
  webhookClockSkew: 'statusmate_webhook_clock_skew_total',
  webhookPageConflicts: 'statusmate_webhook_page_conflicts_total',
  limitRefusals: 'statusmate_limit_refusals_total',
  webhookLastReceived: 'statusmate_webhook_last_received_timestamp_seconds',
  webhookRequestDuration: 'statusmate_webhook_request_duration_seconds',
  storeUp: 'statusmate_store_up',
  storeEntriesFolded: 'statusmate_store_entries_folded_total',
  storeFoldLagEntries: 'statusmate_store_fold_lag_entries',
  storeFoldLagSeconds: 'statusmate_store_fold_lag_seconds',
  storeFoldedTimestamp: 'statusmate_store_folded_timestamp_seconds',
  storeEpochInfo: 'statusmate_store_epoch_info',
  storeSnapshotAge: 'statusmate_store_snapshot_age_seconds',
  storeSnapshotBytes: 'statusmate_store_snapshot_bytes',
  storeSnapshotFailures: 'statusmate_store_snapshot_failures_total',
  storeReconnects: 'statusmate_store_reconnects_total',
  buildInfo: 'statusmate_exporter_build_info',
  logLinesDropped: 'statusmate_log_lines_dropped_total',

  componentAlertsFiring: 'statusmate_component_alerts_firing',
  componentAlertMatchers: 'statusmate_component_alert_matchers',
  statusPageResponse: 'statusmate_status_page_response_seconds',
  statusPageRecoveryLag: 'statusmate_status_page_recovery_lag_seconds',
  statusPageAlertsRefused: 'statusmate_status_page_alerts_refused_total',
  statusPageAlertsExpired: 'statusmate_status_page_alerts_expired_total',
  alertmanagerNotifications: 'statusmate_alertmanager_notifications_total',
  alertmanagerAlertsUnmatched: 'statusmate_alertmanager_alerts_unmatched_total',

  statusPageInfo: 'statusmate_status_page_info',
  configReloadSuccessful: 'statusmate_config_last_reload_successful',
  configReloadSuccessTime: 'statusmate_config_last_reload_success_timestamp_seconds',

  alertmanagerRequests: 'statusmate_alertmanager_requests_total',
  maintenanceSilences: 'statusmate_maintenance_silences',
  maintenanceSilencesLeader: 'statusmate_maintenance_silences_leader',
} as const;

/**
 * The families about this process rather than the shared state: what it answered, its store's
 * health, its build and its reloads. Replicas differ on these (sum them over replicas); on every
 * other `statusmate_` family, replicas folding the same events agree line for line.
 */
export const PROCESS_FAMILIES: readonly string[] = [
  METRIC.webhookRequests,
  METRIC.webhookRetries,
  METRIC.webhookRequestDuration,
  METRIC.webhookClockSkew,
  METRIC.webhookPageConflicts,
  METRIC.limitRefusals,
  METRIC.storeUp,
  METRIC.storeEntriesFolded,
  METRIC.storeFoldLagEntries,
  METRIC.storeFoldLagSeconds,
  METRIC.storeFoldedTimestamp,
  METRIC.storeEpochInfo,
  METRIC.storeSnapshotAge,
  METRIC.storeSnapshotBytes,
  METRIC.storeSnapshotFailures,
  METRIC.storeReconnects,
  METRIC.buildInfo,
  METRIC.logLinesDropped,
  METRIC.configReloadSuccessful,
  METRIC.configReloadSuccessTime,
  METRIC.alertmanagerRequests,
  METRIC.maintenanceSilences,
  METRIC.maintenanceSilencesLeader,
  METRIC.alertmanagerNotifications,
  METRIC.alertmanagerAlertsUnmatched,
];

/**
 * The families of the shared state whose samples also grow with the scraping process's clock:
 * statusmate_component_impact_seconds_total agrees between replicas on every closed interval, but
 * the open one (the current impact) counts up to each scrape's own time.
 */
export const CLOCK_FAMILIES: readonly string[] = [METRIC.componentImpactSeconds];

/**
 * Whether a line of the text format is a sample of the shared state that replicas folding the same
 * events write alike, line for line (see PROCESS_FAMILIES and CLOCK_FAMILIES).
 */
export function isSharedStateSample(line: string): boolean {
  return (
    line.startsWith('statusmate_') && !PROCESS_FAMILIES.some((family) => line.startsWith(family)) && !CLOCK_FAMILIES.some((family) => line.startsWith(family))
  );
}

export const LABEL = {
  statusPage: 'status_page',
  statusPageUuid: 'status_page_uuid',
  name: 'name',
  componentUuid: 'component_uuid',
  component: 'component',
  impact: 'impact',
  incidentUuid: 'incident_uuid',
  maintenanceUuid: 'maintenance_uuid',
  title: 'title',
  state: 'state',
  eventType: 'event_type',
  outcome: 'outcome',
  version: 'version',
  revision: 'revision',
  nodejsVersion: 'nodejs_version',
  limit: 'limit',
  reason: 'reason',
  operation: 'operation',
  epoch: 'epoch',
} as const;

export { DURATION_BUCKETS } from '../domain/buckets.js';
export { RESPONSE_BUCKETS } from '../domain/alert-state.js';

/** The `outcome` label of statusmate_alertmanager_notifications_total: what POST /alertmanager answered. */
export const ALERTMANAGER_NOTIFICATION_OUTCOMES = ['stored', 'unmatched', 'invalid', 'unauthorized', 'too_large', 'busy', 'disabled', 'error'] as const;
export type AlertmanagerNotificationOutcome = (typeof ALERTMANAGER_NOTIFICATION_OUTCOMES)[number];

/**
 * Buckets of the webhook request latency histogram, in seconds. They reach past SQLite's busy
 * timeout (5 s), so a commit that waited for a lock shows in a bucket rather than only in +Inf.
 */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The `event_type` label takes one of the six types, or `unknown` when the body names none we know. */
export const WEBHOOK_TYPE_LABELS = [...EVENT_TYPES, 'unknown'] as const;
export type WebhookTypeLabel = (typeof WEBHOOK_TYPE_LABELS)[number];

export const OUTCOMES = ['applied', 'duplicate', 'stale', 'unsupported', 'invalid', 'unauthorized', 'too_large', 'busy', 'refused_limit', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * The `reason` label of statusmate_webhook_page_conflicts_total: why an event's status page and
 * STATUS_PAGES_FILE disagree (see placeEvent in src/webhook/status-page.ts):
 * - `several_pages`: the event names no page and its declared components are on more than one;
 * - `other_page`: the event names a page, and a component it names is declared on other pages only;
 * - `unknown_page`: the page is not in the file (the event is refused unless pages are learnt).
 */
export const PAGE_CONFLICT_REASONS = ['several_pages', 'other_page', 'unknown_page'] as const;
export type PageConflictReason = (typeof PAGE_CONFLICT_REASONS)[number];

export const MAINTENANCE_STATES = ['scheduled', 'in_progress'] as const;

/** The `state` label of statusmate_maintenance_silences (see SilenceStats). */
export const SILENCE_STATES = ['desired', 'active', 'failed', 'overridden', 'lingering'] as const;
