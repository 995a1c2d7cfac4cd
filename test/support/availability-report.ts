import { availabilityAnswer } from '../../src/api/availability.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import { DAY_SECONDS } from '../../src/domain/ledger.js';
import type { State } from '../../src/domain/state.js';

/** A UTC day number as the availability API's `from` and `to` take it: `2026-12-05`. */
export const dayText = (day: number): string => new Date(day * DAY_SECONDS * 1000).toISOString().slice(0, 10);

/** GET /api/v1/availability of `state` at `now` (seconds) with the default policy: its JSON body, parsed (docs/api.md). */
export function availabilityReport(state: State, query: string, now: number, maxDays = 401): unknown {
  const answer = availabilityAnswer({ state, declared: [], policy: DEFAULT_POLICY, query: new URLSearchParams(query), now, maxDays });
  return JSON.parse(Buffer.concat(answer.body).toString('utf8'));
}
