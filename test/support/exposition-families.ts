// The families the exporter renders from the shared state, read from its own text output (the
// `# TYPE` lines), so a test compares the rules with what /metrics really serves.

import { createState } from '../../src/domain/state.js';
import { DomainMetrics } from '../../src/metrics/domain.js';

export type Family = { name: string; type: string };

/** Every family of the domain metrics, with its type, as `# TYPE` lines declare them. */
export function collectStateFamilies(): Family[] {
  const metrics = new DomainMetrics(createState());
  // The cached families, and the one a scrape renders at its own time.
  const text = metrics.text().toString('utf8') + metrics.impactSeconds().toString('utf8');
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => ({ name: match[1] ?? '', type: match[2] ?? '' }));
}
