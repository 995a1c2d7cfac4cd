import type { Notice } from '../domain/reducer.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../metrics/telemetry.js';

const LIMIT_VARIABLE = {
  components: 'MAX_COMPONENTS',
  active_incidents: 'MAX_ACTIVE_INCIDENTS',
  active_maintenances: 'MAX_ACTIVE_MAINTENANCES',
  status_pages: 'MAX_STATUS_PAGES',
  holdings: 'MAX_HOLDINGS',
} as const;

/** Logs and counts what the reducer noticed about one committed event. */
export function reportNotices(logger: Logger, telemetry: Telemetry, notices: readonly Notice[]): void {
  for (const notice of notices) {
    switch (notice.kind) {
      case 'unknown_impact':
        logger.warn({ status_page: notice.statusPage, component_uuid: notice.componentUuid, impact: notice.impact }, 'unknown impact kept with level -1');
        break;
      case 'limit_refused':
        telemetry.limitRefused(notice.limit);
        logger.warn(
          { status_page: notice.statusPage, limit: notice.limit, max: notice.max, refused: notice.uuids.slice(0, 20), refused_count: notice.uuids.length },
          `refused: ${LIMIT_VARIABLE[notice.limit]} reached`,
        );
        break;
      case 'clock_skew':
        telemetry.clockSkew();
        logger.warn(
          {
            status_page: notice.statusPage,
            event_uuid: notice.uuid,
            created_at: new Date(notice.createdAt * 1000).toISOString(),
            ahead_seconds: Math.round(notice.createdAt - notice.receivedAt),
          },
          'created_at is ahead of receipt by more than MAX_CLOCK_SKEW_SECONDS: ordered by arrival instead',
        );
        break;
    }
  }
}
