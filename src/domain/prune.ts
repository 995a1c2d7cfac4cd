import { keepFromDay, keepFromDayWithin } from './ledger.js';
import { forgetPastBounds, RELIEF, type SizeLimits } from './size.js';
import { emptyPatch, type Patch, type State } from './state.js';

/**
 * Forgets finished incidents and maintenances, and dedup records, older than the retention.
 * Until then they are remembered so that a late or re-sent event can neither resurrect a
 * finished object nor be counted twice.
 *
 * With `ledgerRetentionDays`, also forgets the availability ledger's older days (see ledger.ts).
 *
 * With `limits`, also forgets the oldest of them past MAX_RETAINED_FINISHED and MAX_DEDUP_RECORDS
 * (the reducer keeps within these bounds; a state loaded under lowered bounds may not be).
 */
export function prune(
  state: State,
  now: number,
  retentionSeconds: number,
  limits?: Pick<SizeLimits, 'maxRetainedFinished' | 'maxDedupRecords'>,
  ledgerRetentionDays?: number,
  ledgerMaxDayRows?: number,
): Patch {
  const cutoff = now - retentionSeconds;
  const patch = emptyPatch();
  for (const page of state.pages.values()) {
    for (const incident of page.incidents.values()) {
      if (incident.finishedReceivedAt !== null && incident.finishedReceivedAt < cutoff) {
        patch.deleteIncidents.push({ statusPage: incident.statusPage, uuid: incident.uuid });
      }
    }
    for (const maintenance of page.maintenances.values()) {
      if (maintenance.finishedReceivedAt !== null && maintenance.finishedReceivedAt < cutoff) {
        patch.deleteMaintenances.push({ statusPage: maintenance.statusPage, uuid: maintenance.uuid });
      }
    }
  }
  for (const [key, receivedAt] of state.seen) if (receivedAt < cutoff) patch.forgetSeen.push(key);
  if (limits) forgetPastBounds(state, patch, limits);
  // The ledger's days before today and the LEDGER_RETENTION_DAYS before it (by log time).
  let keep = ledgerRetentionDays === undefined ? state.ledger.keptFromDay : Math.max(state.ledger.keptFromDay, keepFromDay(now, ledgerRetentionDays));
  // Past LEDGER_MAX_DAY_ROWS, the oldest days go too, down to RELIEF of the bound (size.ts's rule).
  // Never today: what happens now is always booked.
  if (ledgerMaxDayRows !== undefined) keep = Math.max(keep, Math.min(keepFromDayWithin(state.ledger, ledgerMaxDayRows, RELIEF), keepFromDay(now, 0)));
  if (keep > state.ledger.keptFromDay) patch.ledgerKeepFromDay = keep;
  return patch;
}

/**
 * LEDGER_MAX_DAY_ROWS after one event (the fold calls it after each): pruning runs once per
 * window, but one event may book every kept day of a component (a first update dated 399 days
 * ago, then one now), and an incident's finish those of all its components, so within a window
 * the rows reached 4,000,000 (97 MiB) at 10,000 components, and a restart held them until the next
 * window. The same rule as prune's (down to RELIEF, oldest days first, never today), decided on
 * the state alone, so every process forgets at the same entry. Undefined within the bound.
 */
export function boundDayRows(state: State, now: number, ledgerMaxDayRows: number): Patch | undefined {
  if (state.ledger.dayRows <= ledgerMaxDayRows) return undefined;
  const today = keepFromDay(now, 0);
  // Only today's rows are left, and today is never forgotten: the scan could find nothing. Past
  // a bound below the component count that is so after every event of the day, and the scan
  // cost a pass over every component's days each time (262 µs an event at 10,000 components).
  if (state.ledger.keptFromDay >= today) return undefined;
  const keep = Math.min(keepFromDayWithin(state.ledger, ledgerMaxDayRows, RELIEF), today);
  return keep > state.ledger.keptFromDay ? { ...emptyPatch(), ledgerKeepFromDay: keep } : undefined;
}
