import { availabilityAnswer } from '../../src/api/availability.js';
import { stateView } from '../../src/api/state.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import type { DeclaredPage } from '../../src/domain/inventory.js';
import type { State } from '../../src/domain/state.js';

/**
 * GET /api/v1/state and GET /api/v1/availability (over the last `days` whole days) as rendered
 * from `state` at `now`, for comparing what two processes serve. Rendered here rather than asked
 * of the routes: they keep a rendering for a while (per state version, per minute), whose
 * `generated_at` and seconds are of when it was made, not of the log's time.
 */
export function renderedReads(state: State, declared: readonly DeclaredPage[], now: number, days: number): { state: string; availability: string } {
  const view = stateView({
    state,
    declared,
    deliveries: [],
    exporter: { version: 'test', store: 'memory', webhook_token_required: false, all_pages_token: false, page_tokens: [], status_pages_file: null },
    now,
  });
  const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);
  const availability = availabilityAnswer({
    state,
    declared,
    policy: DEFAULT_POLICY,
    query: new URLSearchParams({ from: day(now - days * 86_400), to: day(now) }),
    now,
    maxDays: 401,
  });
  return { state: JSON.stringify(view), availability: `${availability.status} ${Buffer.concat(availability.body).toString('utf8')}` };
}
