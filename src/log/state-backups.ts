import type { StoreBackups } from '../store/store.js';
import type { FoldLoop } from './fold-loop.js';

/**
 * Backups of a store that is not one file of this process (Redis, memory): the folded state,
 * written as the snapshot of a new SQLite store file (FoldLoop.seedInto), which an exporter on
 * SQLite opens as it is, and `seed-redis` takes. The fold waits while it is written, as for its
 * own snapshots; the entries after it are in the state, not copied one by one.
 */
export function stateBackups(fold: FoldLoop, directory: string): StoreBackups {
  return {
    directory,
    prefix: '.statusmate-exporter-state.backup-',
    // On Redis this replica's fold may be behind the shared log: the copy would lack entries
    // other replicas acknowledged before it was asked for. It waits for the log's end first.
    caughtUp: () => fold.reachLogEnd(),
    write: async (to) => {
      // Loaded only when a backup is asked for: an exporter on Redis has no other use for SQLite.
      const { SqliteLog } = await import('../store/sqlite.js');
      const file = new SqliteLog({ path: to, synchronous: 'normal' });
      try {
        await file.open();
        await fold.seedInto(file);
      } finally {
        // Closed before it is sent: the last connection's close moves the write-ahead log into the file.
        await file.close();
      }
    },
  };
}
