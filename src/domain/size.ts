import {
  holdingsOf,
  recordSize,
  retainedOf,
  type EntityKey,
  type IncidentRecord,
  type MaintenanceRecord,
  type Patch,
  type State,
  type StateSize,
} from './state.js';

// What bounds the state's memory by its size, not only by counts of active objects.
//
// The measures are counts of the things that cost memory, not an estimate of bytes:
//  - holdings: component entries of unfinished incidents and maintenances (each also costs an
//    entry in the page's holder index). 150 incidents naming the same 2,500 components are
//    375,000 holdings, though within every MAX_* count.
//  - retained: finished incidents and maintenances kept for the retention window, each weighing
//    1 + the number of its components.
//  - dedup records: `state.seen.size`.
// Counts, because every string a record holds is bounded in length (uuids are UUIDs, impacts
// match a short pattern, titles and names are cut to 200 characters and 200 bytes as /metrics
// writes them: labels.ts), so a count times the
// measured cost of one unit bounds the bytes (README: "Memory"); and because a count is exact
// and the same in every process, on every Node version, whatever the heap's layout, where a byte
// estimate would be a calibration that drifts with V8 and still not be RSS.
//
// Past a bound: an event that would add holdings past MAX_HOLDINGS is refused whole (the
// holdings are what the metrics show now: dropping some would show a wrong state); retained
// finished objects and dedup records past theirs are forgotten oldest first (they only guard
// against late re-sends, and an old one is the least likely to be re-sent). Forgetting goes
// down to RELIEF of the bound, so that it happens once per many events, not on every one (each
// forgetting sorts what is retained, and a store may rewrite its dedup rows).

export type SizeLimits = {
  /** Component entries of unfinished incidents and maintenances; past it, an event is refused. */
  maxHoldings: number;
  /** Finished objects kept for retention, each weighing 1 + its components; past it, the oldest are forgotten. */
  maxRetainedFinished: number;
  /** Dedup records; past it, the oldest are forgotten. */
  maxDedupRecords: number;
};

/** Forgetting goes down to this share of the bound. */
export const RELIEF = 0.9;

export type Measures = StateSize & { dedup: number };

/** The measures of a state, from scratch (what applyPatch keeps in `state.size`). */
export function measure(state: State): Measures {
  const total: Measures = { holdings: 0, retained: 0, dedup: state.seen.size };
  for (const page of state.pages.values()) {
    for (const record of [...page.incidents.values(), ...page.maintenances.values()]) {
      const size = recordSize(record);
      total.holdings += size.holdings;
      total.retained += size.retained;
    }
  }
  return total;
}

/** The measures of `state` once `patch` is applied, computed from the patch alone (applyPatch's order: puts, then deletes). */
export function measureAfter(state: State, patch: Patch): Measures {
  const after: Measures = { ...state.size, dedup: state.seen.size };
  swap(after, state, 'incidents', patch.incidents, patch.deleteIncidents);
  swap(after, state, 'maintenances', patch.maintenances, patch.deleteMaintenances);
  if (patch.forgetSeen.length === 0 && patch.seen.length <= 1) {
    for (const { key } of patch.seen) if (!state.seen.has(key)) after.dedup += 1;
    return after;
  }
  const seen = new Map<string, boolean>();
  for (const { key } of patch.seen) seen.set(key, true);
  for (const key of patch.forgetSeen) seen.set(key, false);
  for (const [key, kept] of seen) after.dedup += (kept ? 1 : 0) - (state.seen.has(key) ? 1 : 0);
  return after;
}

/** Moves `after` by the records of one kind a patch puts and deletes (measureAfter; functions of their own, not closures made per patch). */
function swap(after: Measures, state: State, kind: 'incidents' | 'maintenances', records: (IncidentRecord | MaintenanceRecord)[], deletes: EntityKey[]): void {
  // An event's patch puts one record and deletes none: no key can repeat, so no map of them is needed.
  if (deletes.length === 0 && records.length <= 1) {
    for (const record of records) count(after, state.pages.get(record.statusPage)?.[kind].get(record.uuid), record);
    return;
  }
  const touched = new Map<string, { key: EntityKey; record: IncidentRecord | MaintenanceRecord | undefined }>();
  for (const record of records) touched.set(keyOf(record), { key: record, record });
  for (const key of deletes) touched.set(keyOf(key), { key, record: undefined });
  for (const { key, record } of touched.values()) count(after, state.pages.get(key.statusPage)?.[kind].get(key.uuid), record);
}

/** Moves `after` by a record swapped for another (either may be none). */
function count(after: Measures, before: IncidentRecord | MaintenanceRecord | undefined, into: IncidentRecord | MaintenanceRecord | undefined): void {
  after.holdings += holdingsOf(into) - holdingsOf(before);
  after.retained += retainedOf(into) - retainedOf(before);
}

/**
 * Adds to `patch` the forgetting of the oldest finished incidents and maintenances (by receipt
 * of their finishing event, then status page, then uuid) and the oldest dedup records (by
 * receipt, then key) that the state, once the patch is applied, holds past its bounds. Every
 * order here is on data, never on the order of a Map, so every process forgets the same records.
 */
export function forgetPastBounds(
  state: State,
  patch: Patch,
  limits: Pick<SizeLimits, 'maxRetainedFinished' | 'maxDedupRecords'>,
  /** measureAfter(state, patch), when the caller has it already. */
  after: Measures = measureAfter(state, patch),
): void {
  if (after.retained > limits.maxRetainedFinished) forgetFinished(state, patch, after.retained - Math.floor(limits.maxRetainedFinished * RELIEF));
  if (after.dedup > limits.maxDedupRecords) forgetSeen(state, patch, after.dedup - Math.floor(limits.maxDedupRecords * RELIEF));
}

type Finished = { kind: 'incident' | 'maintenance'; record: IncidentRecord | MaintenanceRecord };

function forgetFinished(state: State, patch: Patch, excess: number): void {
  // The finished records as they stand after the patch: the state's, except those the patch puts
  // or deletes (by kind and key: an event's patch names a record or two), then the patch's own
  // finished ones. The order below is total on data, so it does not matter in which order they
  // are gathered; a map keyed by every finished record made a key text for each, at every pass.
  const patched = new Map<string, Finished | undefined>();
  for (const record of patch.incidents) patched.set(`i:${keyOf(record)}`, record.state === 'finished' ? { kind: 'incident', record } : undefined);
  for (const record of patch.maintenances) patched.set(`m:${keyOf(record)}`, record.state === 'finished' ? { kind: 'maintenance', record } : undefined);
  for (const key of patch.deleteIncidents) patched.set(`i:${keyOf(key)}`, undefined);
  for (const key of patch.deleteMaintenances) patched.set(`m:${keyOf(key)}`, undefined);
  const patchedUuids = new Set<string>();
  for (const key of [...patch.incidents, ...patch.maintenances, ...patch.deleteIncidents, ...patch.deleteMaintenances]) patchedUuids.add(key.uuid);
  const isPatched = (prefix: 'i' | 'm', record: IncidentRecord | MaintenanceRecord) =>
    patchedUuids.has(record.uuid) && patched.has(`${prefix}:${keyOf(record)}`);
  const current: Finished[] = [];
  for (const page of state.pages.values()) {
    for (const record of page.incidents.values()) if (record.state === 'finished' && !isPatched('i', record)) current.push({ kind: 'incident', record });
    for (const record of page.maintenances.values()) if (record.state === 'finished' && !isPatched('m', record)) current.push({ kind: 'maintenance', record });
  }
  for (const finished of patched.values()) if (finished) current.push(finished);

  const oldestFirst = current.sort(
    (a, b) =>
      (a.record.finishedReceivedAt ?? 0) - (b.record.finishedReceivedAt ?? 0) ||
      compare(a.record.statusPage, b.record.statusPage) ||
      compare(a.record.uuid, b.record.uuid) ||
      compare(a.kind, b.kind),
  );
  let freed = 0;
  for (const { kind, record } of oldestFirst) {
    if (freed >= excess) break;
    const key = { statusPage: record.statusPage, uuid: record.uuid };
    if (kind === 'incident') patch.deleteIncidents.push(key);
    else patch.deleteMaintenances.push(key);
    freed += recordSize(record).retained;
  }
}

function forgetSeen(state: State, patch: Patch, excess: number): void {
  const current = new Map(state.seen);
  for (const { key, receivedAt } of patch.seen) current.set(key, receivedAt);
  for (const key of patch.forgetSeen) current.delete(key);
  const oldestFirst = [...current].sort(([keyA, a], [keyB, b]) => a - b || compare(keyA, keyB));
  for (const [key] of oldestFirst.slice(0, excess)) patch.forgetSeen.push(key);
}

const keyOf = (key: EntityKey) => `${key.statusPage}\u0000${key.uuid}`;
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
