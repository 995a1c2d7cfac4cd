import type { Patch } from '../domain/state.js';

/** Separates the dedup keys of a `seen_batches` row; keys are base64url, which never holds it. */
export const KEY_SEPARATOR = ' ';

/**
 * A patch as the SQLite file stores it: each record already the JSON text of its row, in flat
 * lists of strings (the cheapest thing to post to the worker, which then neither parses nor
 * re-serialises a record). Built on the event loop by `patchRows`, written by SqliteFile.
 */
export type PatchRows = {
  /** status_page, data, status_page, data, … */
  pages: string[];
  /** status_page, uuid, data, … (likewise incidents and maintenances) */
  components: string[];
  incidents: string[];
  maintenances: string[];
  /** status_page, uuid, … */
  deleteIncidents: string[];
  deleteMaintenances: string[];
  /** The patch's dedup keys, joined by KEY_SEPARATOR, with the newest of their receipt times. */
  seen: { keys: string; receivedAt: number } | null;
  forgetSeen: string[];
};

type Keyed = { statusPage: string; uuid: string };

/** status_page, uuid, data of each record. */
function recordRows(records: Keyed[]): string[] {
  const out: string[] = [];
  for (const record of records) out.push(record.statusPage, record.uuid, JSON.stringify(record));
  return out;
}

/** status_page, uuid of each key. */
function keyRows(keys: Keyed[]): string[] {
  const out: string[] = [];
  for (const key of keys) out.push(key.statusPage, key.uuid);
  return out;
}

export function patchRows(patch: Patch): PatchRows {
  const pages: string[] = [];
  for (const page of patch.pages) pages.push(page.statusPage, JSON.stringify(page));
  let seen: PatchRows['seen'] = null;
  if (patch.seen.length > 0) {
    let newest = -Infinity;
    for (const { receivedAt } of patch.seen) newest = Math.max(newest, receivedAt);
    seen = { keys: patch.seen.map(({ key }) => key).join(KEY_SEPARATOR), receivedAt: newest };
  }
  return {
    pages,
    components: recordRows(patch.components),
    incidents: recordRows(patch.incidents),
    maintenances: recordRows(patch.maintenances),
    deleteIncidents: keyRows(patch.deleteIncidents),
    deleteMaintenances: keyRows(patch.deleteMaintenances),
    seen,
    forgetSeen: patch.forgetSeen,
  };
}
