import type Database from 'better-sqlite3';
import { encodeSnapshotPieces, SNAPSHOT_FORMAT, stateOf } from '../log/snapshot.js';
import { parseRecord } from './records.js';

/**
 * Schema versions 1 and 2 kept one row per record. Their records become the snapshot the log
 * starts from (read with the schemas that upgrade older rows), so the new version serves exactly
 * the series the old one did. Runs inside the migration's transaction (see SqliteFile).
 */
export function snapshotOfRows(db: Database.Database, version: number): { time: number; format: string; data: string[] } {
  const rows = (table: string, key: string) => (db.prepare(`SELECT data FROM ${table} ORDER BY ${key}`).all() as { data: string }[]).map((r) => r.data);
  const seen: [string, number][] =
    version === 1
      ? (db.prepare('SELECT key, received_at AS receivedAt FROM seen ORDER BY key').all() as { key: string; receivedAt: number }[]).map((r) => [
          r.key,
          r.receivedAt,
        ])
      : (db.prepare('SELECT keys, received_at AS receivedAt FROM seen_batches ORDER BY id').all() as { keys: string; receivedAt: number }[]).flatMap(
          ({ keys, receivedAt }) => keys.split(' ').map((key): [string, number] => [key, receivedAt]),
        );
  const pages = rows('pages', 'status_page').map((row) => parseRecord('pages', row));
  const state = stateOf({
    pages,
    components: rows('components', 'status_page, uuid').map((row) => parseRecord('components', row)),
    incidents: rows('incidents', 'status_page, uuid').map((row) => parseRecord('incidents', row)),
    maintenances: rows('maintenances', 'status_page, uuid').map((row) => parseRecord('maintenances', row)),
    seen,
    lastSeq: 0,
  });
  // The last receipt known stands for the time of the entry the snapshot covers.
  const time = Math.max(0, ...pages.map((stats) => stats.lastReceivedAt ?? 0));
  return { time, format: String(SNAPSHOT_FORMAT), data: encodeSnapshotPieces(state) };
}
