// The dashboards this project ships, by the file name each is committed under in grafana/dashboards/.

import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { healthDashboard } from './health.js';
import { overviewDashboard } from './overview.js';

export const DASHBOARDS: ReadonlyArray<{ file: string; build: () => Dashboard }> = [
  { file: 'statusmate-overview.json', build: overviewDashboard },
  { file: 'statusmate-exporter-health.json', build: healthDashboard },
];

/** The committed form: two-space JSON with a final newline, so diffs stay readable. */
export function render(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
