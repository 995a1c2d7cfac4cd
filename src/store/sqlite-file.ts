import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KEY_SEPARATOR, type PatchRows } from './sqlite-rows.js';
import { StoreError } from './store.js';

/**
 * Bumped when the persisted layout changes. Older files are migrated in place, in one
 * transaction; a file of a newer version is refused, not guessed at.
 *
 * 1: dedup records one row each in `seen`.
 * 2: dedup records as one row per commit in `seen_batches` (see SqliteFile).
 */
const SCHEMA_VERSION = 2;

export type SqliteOptions = {
  path: string;
  /** `normal` survives a crash of the process; `full` also a crash of the machine, at the cost of an fsync per event. */
  synchronous: 'normal' | 'full';
  /** How long a commit waits for a lock held by another connection before it fails. */
  busyTimeoutMs?: number;
};

type Row = { data: string };

/** What the file holds, as read at start-up: each record as the JSON text of its row. */
export type StoredRows = {
  pages: string[];
  components: string[];
  incidents: string[];
  maintenances: string[];
  seen: { key: string; receivedAt: number }[];
};

/**
 * The SQLite file itself, synchronous as better-sqlite3 is: one row per record (JSON), and each
 * patch written in one transaction, so a crash leaves either a whole batch of events with their
 * dedup records or none of it. It runs on the store's worker thread (see SqliteStore).
 *
 * Dedup records are appended, one row per commit holding the keys of all its events, rather
 * than inserted one row per key: the keys are hashes, so row-per-key inserts landed on random
 * pages of a growing B-tree, which was the largest part of a commit's cost. A row keeps the
 * newest receipt time of its keys, so a key may outlive its retention by the spread of one
 * batch (milliseconds). Forgetting keys rewrites the rows that hold them.
 */
export class SqliteFile {
  private readonly db: Database.Database;
  private readonly statements: ReturnType<SqliteFile['prepare']>;
  private readonly commitTransaction: (rows: PatchRows) => void;
  private readonly path: string;
  /** Device and inode of the file at `path` when it was opened; undefined for `:memory:`. */
  private readonly identity: FileIdentity | undefined;

  constructor(options: SqliteOptions) {
    this.path = options.path;
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.identity = options.path === ':memory:' ? undefined : identityOf(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    this.migrate();
    this.statements = this.prepare();
    this.commitTransaction = this.db.transaction((rows: PatchRows) => this.write(rows));
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    if (row && row.version > SCHEMA_VERSION) {
      throw new StoreError(`SQLite file has schema version ${row.version}; this exporter reads version ${SCHEMA_VERSION}`);
    }
    this.db.transaction(() => {
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS pages (status_page TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS components (status_page TEXT NOT NULL, uuid TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (status_page, uuid)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS incidents (status_page TEXT NOT NULL, uuid TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (status_page, uuid)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS maintenances (status_page TEXT NOT NULL, uuid TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (status_page, uuid)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS seen_batches (id INTEGER PRIMARY KEY, keys TEXT NOT NULL, received_at REAL NOT NULL);
        CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at REAL NOT NULL);
      `);
      if (!row) {
        this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
        return;
      }
      if (row.version === 1) {
        // One row per second of receipt time keeps the rows of a large v1 file small.
        this.db.exec(`
          INSERT INTO seen_batches (keys, received_at)
            SELECT group_concat(key, '${KEY_SEPARATOR}'), max(received_at) FROM seen GROUP BY CAST(received_at AS INTEGER) ORDER BY 2;
          DROP TABLE seen;
        `);
      }
      this.db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION);
    })();
  }

  private prepare() {
    const db = this.db;
    return {
      upsertPage: db.prepare('INSERT INTO pages (status_page, data) VALUES (?, ?) ON CONFLICT (status_page) DO UPDATE SET data = excluded.data'),
      upsertComponent: db.prepare(
        'INSERT INTO components (status_page, uuid, data) VALUES (?, ?, ?) ON CONFLICT (status_page, uuid) DO UPDATE SET data = excluded.data',
      ),
      upsertIncident: db.prepare(
        'INSERT INTO incidents (status_page, uuid, data) VALUES (?, ?, ?) ON CONFLICT (status_page, uuid) DO UPDATE SET data = excluded.data',
      ),
      upsertMaintenance: db.prepare(
        'INSERT INTO maintenances (status_page, uuid, data) VALUES (?, ?, ?) ON CONFLICT (status_page, uuid) DO UPDATE SET data = excluded.data',
      ),
      deleteIncident: db.prepare('DELETE FROM incidents WHERE status_page = ? AND uuid = ?'),
      deleteMaintenance: db.prepare('DELETE FROM maintenances WHERE status_page = ? AND uuid = ?'),
      appendSeen: db.prepare('INSERT INTO seen_batches (keys, received_at) VALUES (?, ?)'),
      allSeen: db.prepare('SELECT id, keys FROM seen_batches'),
      rewriteSeen: db.prepare('UPDATE seen_batches SET keys = ? WHERE id = ?'),
      deleteSeen: db.prepare('DELETE FROM seen_batches WHERE id = ?'),
      ping: db.prepare('SELECT 1'),
      probeWrite: db.prepare('INSERT INTO write_probe (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at'),
    };
  }

  private write(rows: PatchRows): void {
    const s = this.statements;
    for (let i = 0; i < rows.pages.length; i += 2) s.upsertPage.run(rows.pages[i], rows.pages[i + 1]);
    const upsert = (statement: Database.Statement, list: string[]) => {
      for (let i = 0; i < list.length; i += 3) statement.run(list[i], list[i + 1], list[i + 2]);
    };
    upsert(s.upsertComponent, rows.components);
    upsert(s.upsertIncident, rows.incidents);
    upsert(s.upsertMaintenance, rows.maintenances);
    for (let i = 0; i < rows.deleteIncidents.length; i += 2) s.deleteIncident.run(rows.deleteIncidents[i], rows.deleteIncidents[i + 1]);
    for (let i = 0; i < rows.deleteMaintenances.length; i += 2) s.deleteMaintenance.run(rows.deleteMaintenances[i], rows.deleteMaintenances[i + 1]);
    if (rows.seen) s.appendSeen.run(rows.seen.keys, rows.seen.receivedAt);
    if (rows.forgetSeen.length > 0) this.forgetSeen(new Set(rows.forgetSeen));
  }

  /** Removes keys from the rows that hold them (pruning only, every few minutes). */
  private forgetSeen(forget: Set<string>): void {
    const s = this.statements;
    for (const row of s.allSeen.all() as { id: number; keys: string }[]) {
      const keys = row.keys.split(KEY_SEPARATOR);
      const kept = keys.filter((key) => !forget.has(key));
      if (kept.length === keys.length) continue;
      if (kept.length === 0) s.deleteSeen.run(row.id);
      else s.rewriteSeen.run(kept.join(KEY_SEPARATOR), row.id);
    }
  }

  read(): StoredRows {
    this.checkIdentity();
    // Ordered by key, so that a process that loads the file holds its maps in the same order
    // every time (nothing may depend on that order, but nothing then can by accident).
    const rows = (table: string, key: string) => (this.db.prepare(`SELECT data FROM ${table} ORDER BY ${key}`).all() as Row[]).map((row) => row.data);
    return {
      pages: rows('pages', 'status_page'),
      components: rows('components', 'status_page, uuid'),
      incidents: rows('incidents', 'status_page, uuid'),
      maintenances: rows('maintenances', 'status_page, uuid'),
      seen: (this.db.prepare('SELECT keys, received_at AS receivedAt FROM seen_batches ORDER BY id').all() as { keys: string; receivedAt: number }[]).flatMap(
        ({ keys, receivedAt }) => keys.split(KEY_SEPARATOR).map((key) => ({ key, receivedAt })),
      ),
    };
  }

  commit(rows: PatchRows): void {
    this.checkIdentity();
    try {
      this.commitTransaction(rows);
    } catch (error) {
      throw new StoreError(`SQLite commit failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Checks that the file answers, and with `write`, that it takes a commit: one row rewritten in
   * a transaction of its own, which reaches the disk as a commit of events would.
   */
  ping(write: boolean): void {
    this.checkIdentity();
    if (!write) {
      this.statements.ping.get();
      return;
    }
    try {
      this.statements.probeWrite.run(Date.now() / 1000);
    } catch (error) {
      throw new StoreError(`SQLite write probe failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Refuses to go on once the path no longer names the file that is open. A deleted file stays
   * open and writable, and a file moved over it is never seen by this connection: either way
   * commits would succeed into a file the next start does not load, and a 200 would be a lie.
   * A restart opens whatever is at the path then.
   */
  private checkIdentity(): void {
    if (!this.identity) return;
    let current: FileIdentity;
    try {
      current = identityOf(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new StoreError(`SQLite file ${this.path} was deleted while open; restart the exporter to open a new one`);
    }
    if (current.dev !== this.identity.dev || current.ino !== this.identity.ino) {
      throw new StoreError(`SQLite file ${this.path} was replaced by another file while open; restart the exporter to load it`);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

type FileIdentity = { dev: bigint; ino: bigint };

/** Device and inode: what a file is, whatever its path (bigint: inode numbers may pass 2^53). */
function identityOf(path: string): FileIdentity {
  const { dev, ino } = statSync(path, { bigint: true });
  return { dev, ino };
}
