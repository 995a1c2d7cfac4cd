import { accessSync, constants as fsConstants, existsSync, mkdirSync, statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, type SnapshotToWrite, type StoredSnapshot } from './store.js';

/**
 * Bumped when the persisted layout changes. Older files are migrated in place, in one
 * transaction; a file of a newer version is refused, not guessed at.
 *
 * 1: one row per record, dedup records one row each in `seen`.
 * 2: dedup records as one row per commit in `seen_batches`.
 * 3: the log: `log` (one row per entry) and `snapshot` (the state folded up to an entry).
 * 4: the snapshot's text in `snapshot_piece`, one row a piece in order (`snapshot.data` empty), so
 *    that neither writing nor reading it binds the whole text as one value (see SNAPSHOT_PIECE_CHARS).
 */
const SCHEMA_VERSION = 4;
/** What a probe writes after a failed append, to prove the file grows again: more than a batch of appends takes. */
export const PROBE_RECOVERY_BYTES = 256 * 1024;
/**
 * Free pages one reclaim step gives back (PRAGMA incremental_vacuum): 1 MiB of 4 KiB pages. On
 * a local disk most steps take under 3 ms (measured: 50 MiB of entries trimmed, 49 steps, median
 * 0.3 ms, 90th percentile 2.9 ms; 512 pages took 24 ms at the 90th), so that a step on the event
 * loop (SQLITE_SYNCHRONOUS=normal) delays webhooks about as little as an append; the longest are
 * those that reach SQLite's automatic checkpoint, as appends do. The steps of one trim follow each
 * other with a turn of the event loop between them (see SqliteLog).
 */
export const RECLAIM_STEP_PAGES = 256;
/**
 * What the write-ahead log is cut back to once checkpointed (PRAGMA journal_size_limit): about
 * what SQLite's automatic checkpoint lets it reach (1,000 pages). Without it, the log keeps the
 * size of the largest transaction it ever held (a snapshot, a conversion) for ever.
 */
export const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;
/** Room the volume must keep, beyond what a conversion writes, for the webhooks after it. */
const CONVERSION_MARGIN_BYTES = 16 * 1024 * 1024;
/**
 * The most pages in use a conversion rebuilds: its VACUUM holds them in memory (measured: +44 MiB
 * RSS for 40 MB in use, +108 MiB for 100 MB), before the state loads, under the chart's 384 MiB.
 * A state within the exporter's bounds snapshots to tens of MB; a larger file is left to the
 * command in the README.
 */
export const CONVERSION_MAX_LIVE_BYTES = 128 * 1024 * 1024;

/**
 * What became of a file of a release before free pages were given back (auto_vacuum NONE) at
 * open: converted in place (sizes in bytes), or kept as it was and why. Undefined for a file that
 * needed nothing (new, or converted before).
 */
export type Conversion = { converted: true; bytesBefore: number; bytesAfter: number } | { converted: false; reason: string };

/**
 * Whether a file can be converted in place (VACUUM) on a volume with `freeBytes` available: the
 * VACUUM writes every page in use once more into the write-ahead log beside the file before the
 * file itself shrinks, and the webhooks after it need room too. The reason when not, else undefined.
 */
export function conversionRefusal(liveBytes: number, freeBytes: number): string | undefined {
  if (liveBytes > CONVERSION_MAX_LIVE_BYTES) {
    return `its pages in use (${mib(liveBytes)}) are more than a conversion holds in memory (${mib(CONVERSION_MAX_LIVE_BYTES)}): convert it by hand (README, "When the SQLite file shrinks")`;
  }
  const needed = liveBytes + CONVERSION_MARGIN_BYTES;
  if (freeBytes >= needed) return undefined;
  return `the volume has ${mib(freeBytes)} free; converting needs ${mib(needed)} (the pages in use, written once more, and a margin)`;
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * Turns the row tables of schema versions 1 and 2 into a snapshot (see sqlite-migrate.ts):
 * passed in, so that only a worker that meets such a file loads the record schemas.
 */
export type RowMigrator = (db: Database.Database, version: number) => { time: number; format: string; data: string[] };

/**
 * Why the exporter cannot write at `path`, in words, or undefined when it can: SQLite reports a
 * read-only file system or a file without write permission as "disk I/O error" or "attempt to
 * write a readonly database", which does not say what to fix. SQLite writes the file and, beside
 * it, its write-ahead log, so both the file (when it exists) and its directory must be writable.
 */
function writeProblem(path: string): string | undefined {
  const probe = (target: string, what: string): string | undefined => {
    try {
      accessSync(target, fsConstants.W_OK);
      return undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EROFS') return `${what} is on a read-only file system (EROFS)`;
      if (code === 'EACCES' || code === 'EPERM') return `${what} is not writable by this user (${code})`;
      return undefined;
    }
  };
  return (existsSync(path) ? probe(path, 'the file') : undefined) ?? probe(dirname(path), `its directory ${dirname(path)}`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The message of a file that could not be opened, with what to fix when that is a write problem. */
function cannotOpen(where: string, path: string, error: unknown): StoreError {
  const native = nativeModuleProblem(error);
  if (native !== undefined) return new StoreError(native);
  const detail = (error as Error).message;
  // SQLite says only "unable to open database file" of a directory: SQLITE_PATH set to a mounted
  // volume's directory (`/data`) rather than to a file in it is the usual cause.
  if (path !== ':memory:' && isDirectory(path)) {
    return new StoreError(`${where}: is a directory: name a file in it, such as ${join(path, 'statusmate-exporter.db')}`);
  }
  const problem = path === ':memory:' ? undefined : writeProblem(path);
  return new StoreError(
    problem === undefined
      ? `${where}: cannot open: ${detail}`
      : `${where}: cannot open for writing: ${problem}; the exporter appends every webhook to it (SQLite said: ${detail})`,
  );
}

const inUse = (path: string) => `SQLite file ${path} (SQLITE_PATH) is in use by another process: stop that exporter, or give this one another file`;

/**
 * The schema version of the file at `path`, or null when it has none yet (or does not exist).
 * Throws a StoreError when another process holds the file: at once, not after better-sqlite3's
 * default busy timeout of 5 s, which made a second `npm start` sit silent before saying so.
 */
export function schemaVersionOf(path: string): number | null {
  if (path === ':memory:') return null;
  try {
    statSync(path);
  } catch {
    return null;
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 0 });
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    return row?.version ?? null;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new StoreError(inUse(path));
    // Not a database, or not readable: opening it properly says which.
    return null;
  } finally {
    db?.close();
  }
}

/** What a copy of a store file (GET /-/backup) holds, as `statusmate-exporter backup` reports it. */
export type CopyContents = { snapshot: { position: number; time: number } | null; entries: number };

/**
 * Reads a copy of a store file without changing it, and says what it holds; throws an Error
 * saying why when it is not a whole SQLite file of a layout this release opens (not SQLite, a
 * page damaged in transit, a newer schema, no log table).
 */
export function inspectCopy(path: string): CopyContents {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 0 });
    const integrity: unknown = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new Error(`SQLite's integrity check failed: ${String(integrity).slice(0, 200)}`);
    const version = (db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined)?.version;
    if (version === undefined) throw new Error('it has no schema version');
    if (version > SCHEMA_VERSION) throw new Error(`it has schema version ${version}; this release reads version ${SCHEMA_VERSION} (upgrade it)`);
    const snapshot = (db.prepare('SELECT position, time FROM snapshot WHERE id = 1').get() as { position: number; time: number } | undefined) ?? null;
    const { entries } = db.prepare('SELECT COUNT(*) AS entries FROM log').get() as { entries: number };
    return { snapshot, entries };
  } finally {
    db?.close();
  }
}

/**
 * better-sqlite3's compiled part is loaded at the first open. Built for another Node (`npm ci` run
 * under another node, or a `nodedir` in .npmrc naming another Node's headers), or not built at all
 * (`npm ci --ignore-scripts`, a failed compile), it fails with a message about the module, which
 * read after "SQLite file …: cannot open" blames the file. Undefined for any other error.
 */
export function nativeModuleProblem(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  const code = (error as { code?: unknown } | undefined)?.code;
  const rebuild =
    'rebuild it for this Node: npm rebuild better-sqlite3, with this node first on PATH (offline, with npm_config_nodedir set to its prefix: see the README), or set STORE=memory';
  const here = `this Node (${process.version}, NODE_MODULE_VERSION ${process.versions.modules})`;
  if (code === 'ERR_DLOPEN_FAILED') {
    const built = /compiled against a different Node\.js version using\s+NODE_MODULE_VERSION (\d+)/.exec(message)?.[1];
    const why = built === undefined ? (message.split('\n')[0] ?? '').slice(0, 200) : `it was built for NODE_MODULE_VERSION ${built}, another Node version`;
    return `STORE=sqlite: better-sqlite3's compiled module cannot be loaded by ${here}: ${why}; ${rebuild}`;
  }
  if (message.startsWith('Could not locate the bindings file')) {
    return `STORE=sqlite: better-sqlite3's compiled module is missing (npm ci without install scripts, or its compile failed); ${rebuild}`;
  }
  return undefined;
}

export type SqliteOptions = {
  path: string;
  /** `normal` survives a crash of the process; `full` also a crash of the machine, at the cost of an fsync per append. */
  synchronous: 'normal' | 'full';
};

/** One log row as read: position, time, the entry's fields as JSON text. */
export type LogRow = [position: number, time: number, entry: string];

/**
 * The SQLite file itself, synchronous as better-sqlite3 is; it runs on the store's worker
 * thread (see SqliteLog). An append is one transaction, so a crash keeps all of a batch's
 * entries or none. A snapshot replaces the one before and deletes the entries it covers in one
 * transaction.
 *
 * The file has one writer: the connection holds SQLite's exclusive lock from open to close
 * (locking_mode EXCLUSIVE), so a second exporter on the same file fails at start instead of
 * answering webhooks with a state of its own.
 */
export class SqliteFile {
  private readonly db: Database.Database;
  private readonly statements: ReturnType<SqliteFile['prepare']>;
  private readonly appendTransaction: (rows: { time: number; entry: string }[]) => number[];
  private readonly path: string;
  /** Whether the last append failed: the next probe then proves the file grows (see probe). */
  private appendsFailed = false;
  /** Device and inode of the file at `path` when it was opened; undefined for `:memory:`. */
  private readonly identity: FileIdentity | undefined;
  /**
   * Device and inode of the write-ahead log (`<path>-wal`) once SQLite has it open; undefined
   * until then, and for `:memory:`. SQLite keeps it open until close, so a deleted log goes on
   * taking appends that no start will find (see checkIdentity).
   */
  private walIdentity: FileIdentity | undefined;
  /** What the open did to a file of an older release (see convertToIncremental). */
  readonly conversion: Conversion | undefined;

  constructor(options: SqliteOptions, migrateRows?: RowMigrator) {
    this.path = options.path;
    const where = `SQLite file ${options.path} (SQLITE_PATH)`;
    if (options.path !== ':memory:') {
      const parent = dirname(options.path);
      try {
        makeDirectories(parent);
      } catch (error) {
        throw new StoreError(`${where}: cannot create its directory ${parent} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
    }
    try {
      this.db = new Database(options.path);
    } catch (error) {
      throw cannotOpen(where, options.path, error);
    }
    this.identity = options.path === ':memory:' ? undefined : identityOf(options.path);
    try {
      // Exclusive from the first access, before WAL is entered: no shared-memory index, and the
      // lock is held until the connection closes. A held lock fails at once, not after a wait.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('busy_timeout = 0');
      // A new file keeps a map of its pages, so that free ones can be given back to the file
      // system (reclaim). Only before its first page is written: the exclusive transaction and
      // WAL below write it. On a file that has pages this changes nothing but what a VACUUM
      // makes of it (see convertToIncremental).
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.exec('BEGIN EXCLUSIVE; COMMIT');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    } catch (error) {
      this.db.close();
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        throw new StoreError(inUse(options.path));
      }
      throw cannotOpen(where, options.path, error);
    }
    try {
      this.migrate(migrateRows);
    } catch (error) {
      this.db.close();
      throw error instanceof StoreError ? error : new StoreError(`${where}: ${(error as Error).message}`);
    }
    this.conversion = this.convertToIncremental();
    this.statements = this.prepare();
    this.appendTransaction = this.db.transaction((rows: { time: number; entry: string }[]) =>
      rows.map((row) => Number(this.statements.append.run(row.time, row.entry).lastInsertRowid)),
    );
    this.noteWal();
  }

  /** Records the write-ahead log's identity once it exists (SQLite creates it at the first write). */
  private noteWal(): void {
    if (this.walIdentity || !this.identity) return;
    try {
      this.walIdentity = identityOf(`${this.path}-wal`);
    } catch {
      // Not created yet: the next write will.
    }
  }

  private migrate(migrateRows: RowMigrator | undefined): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    if (row && row.version > SCHEMA_VERSION) {
      throw new StoreError(`SQLite file ${this.path} has schema version ${row.version}; this exporter reads version ${SCHEMA_VERSION} (upgrade it)`);
    }
    this.db.transaction(() => {
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS log (position INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, entry TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, time REAL NOT NULL, format TEXT NOT NULL, data TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS snapshot_piece (seq INTEGER PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at REAL NOT NULL);
      `);
      if (!row) {
        this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
        return;
      }
      if (row.version < 3) {
        if (!migrateRows) throw new StoreError(`SQLite file ${this.path} has schema version ${row.version}, which needs migrating; none was given`);
        const snapshot = migrateRows(this.db, row.version);
        this.db.prepare(`INSERT INTO snapshot (id, position, time, format, data) VALUES (1, 0, ?, ?, '')`).run(snapshot.time, snapshot.format);
        const piece = this.db.prepare('INSERT INTO snapshot_piece (seq, data) VALUES (?, ?)');
        snapshot.data.forEach((data, seq) => piece.run(seq, data));
        this.db.exec(`DROP TABLE IF EXISTS pages; DROP TABLE IF EXISTS components; DROP TABLE IF EXISTS incidents; DROP TABLE IF EXISTS maintenances;
          DROP TABLE IF EXISTS seen; DROP TABLE IF EXISTS seen_batches;`);
      } else if (row.version === 3) {
        // Version 3 kept the text in `snapshot.data`: it becomes the one piece, moved inside SQLite.
        this.db.exec(`INSERT INTO snapshot_piece (seq, data) SELECT 0, data FROM snapshot WHERE id = 1; UPDATE snapshot SET data = '' WHERE id = 1;`);
      }
      this.db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION);
    })();
  }

  /**
   * A file written by a release before free pages were given back (auto_vacuum NONE) never
   * shrinks: its pages cannot be moved without a map of them. It is rebuilt once, in place, by a
   * VACUUM (after the PRAGMA in the constructor, with that map): one transaction, so a crash
   * leaves the file as it was, and the exclusive lock is held throughout. Not when the volume
   * lacks the room it writes (conversionRefusal): the file then works as before, never shrinking,
   * and the next start tries again. SQLite's temporary copy is held in memory, not in the temp
   * directory (the chart's /tmp is 64 MiB): the pages in use, before the state is loaded.
   */
  private convertToIncremental(): Conversion | undefined {
    if (this.path === ':memory:' || this.pragmaNumber('auto_vacuum') !== 0) return undefined;
    const pageSize = this.pragmaNumber('page_size');
    const liveBytes = (this.pragmaNumber('page_count') - this.pragmaNumber('freelist_count')) * pageSize;
    const bytesBefore = statSync(this.path).size;
    let freeBytes: number;
    try {
      const volume = statfsSync(dirname(this.path));
      freeBytes = volume.bavail * volume.bsize;
    } catch (error) {
      return { converted: false, reason: `the volume's free space is unknown (${(error as Error).message})` };
    }
    const refusal = conversionRefusal(liveBytes, freeBytes);
    if (refusal !== undefined) return { converted: false, reason: refusal };
    try {
      this.db.pragma('temp_store = MEMORY');
      this.db.exec('VACUUM');
      // Moves the rebuilt pages into the file and cuts it, and the write-ahead log, to size.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (error) {
      return { converted: false, reason: `VACUUM failed: ${(error as Error).message}` };
    } finally {
      this.db.pragma('temp_store = DEFAULT');
    }
    return { converted: true, bytesBefore, bytesAfter: statSync(this.path).size };
  }

  private pragmaNumber(name: string): number {
    return Number(this.db.pragma(name, { simple: true }));
  }

  private prepare() {
    const db = this.db;
    return {
      append: db.prepare('INSERT INTO log (time, entry) VALUES (?, ?)'),
      read: db.prepare('SELECT position, time, entry FROM log WHERE position > ? ORDER BY position LIMIT ?').raw(),
      last: db.prepare('SELECT position, time FROM log ORDER BY position DESC LIMIT 1'),
      snapshot: db.prepare('SELECT position, time, format FROM snapshot WHERE id = 1'),
      snapshotSeqs: db.prepare('SELECT seq FROM snapshot_piece ORDER BY seq').pluck(),
      snapshotPiece: db.prepare('SELECT data FROM snapshot_piece WHERE seq = ?').pluck(),
      snapshotInfo: db.prepare('SELECT position, time FROM snapshot WHERE id = 1'),
      putSnapshot: db.prepare(
        `INSERT INTO snapshot (id, position, time, format, data) VALUES (1, ?, ?, ?, '')
         ON CONFLICT (id) DO UPDATE SET position = excluded.position, time = excluded.time, format = excluded.format, data = ''`,
      ),
      clearPieces: db.prepare('DELETE FROM snapshot_piece'),
      putPiece: db.prepare('INSERT INTO snapshot_piece (seq, data) VALUES (?, ?)'),
      trim: db.prepare('DELETE FROM log WHERE position <= ?'),
      probeWrite: db.prepare('INSERT INTO write_probe (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at'),
    };
  }

  /** Where the log ends (or the snapshot, when every entry is trimmed): position and time. */
  end(): { position: number; time: number } {
    const last = this.statements.last.get() as { position: number; time: number } | undefined;
    if (last) return last;
    const snapshot = this.statements.snapshotInfo.get() as { position: number; time: number } | undefined;
    return snapshot ?? { position: 0, time: 0 };
  }

  append(rows: { time: number; entry: string }[]): number[] {
    this.checkIdentity();
    try {
      const positions = this.appendTransaction(rows);
      this.appendsFailed = false;
      this.noteWal();
      return positions;
    } catch (error) {
      this.appendsFailed = true;
      throw new StoreError(`SQLite append failed: ${(error as Error).message}`, { cause: error });
    }
  }

  read(after: number, max: number): LogRow[] {
    return this.statements.read.all(after, max) as LogRow[];
  }

  snapshotInfo(): { position: string; time: number } | null {
    const row = this.statements.snapshotInfo.get() as { position: number; time: number } | undefined;
    return row ? { position: String(row.position), time: row.time } : null;
  }

  // A snapshot is written a piece a call: begin, one piece per call, then commit (or abort), so
  // that neither the file's thread nor a message holds its whole text, and the event loop turns
  // between pieces. Between begin and its end the transaction is open, so the caller must run
  // nothing else on this file meanwhile: an append would join the snapshot's transaction and be
  // acknowledged before it was durable (see serveInOrder, which holds requests back).

  /** Opens the snapshot's transaction and writes its header; false (nothing opened) when the file holds one as new. */
  beginSnapshot(snapshot: Omit<SnapshotToWrite, 'data'>): boolean {
    this.checkIdentity();
    const stored = this.statements.snapshotInfo.get() as { position: number } | undefined;
    const position = Number(snapshot.position);
    if (stored && stored.position >= position) return false;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.statements.putSnapshot.run(position, snapshot.time, snapshot.format);
      this.statements.clearPieces.run();
    } catch (error) {
      this.abortSnapshot();
      throw error;
    }
    return true;
  }

  /** Writes piece `seq` of the snapshot begun. */
  putSnapshotPiece(seq: number, data: string): void {
    if (!this.snapshotOpen()) throw new StoreError('no snapshot is being written');
    this.statements.putPiece.run(seq, data);
  }

  /** Deletes the entries the snapshot covers and commits it. */
  commitSnapshot(position: string): boolean {
    if (!this.snapshotOpen()) throw new StoreError('no snapshot is being written');
    this.statements.trim.run(Number(position));
    this.db.exec('COMMIT');
    return true;
  }

  /** Rolls back a snapshot begun, if one is: the stored one stays as it was. */
  abortSnapshot(): void {
    if (this.snapshotOpen()) this.db.exec('ROLLBACK');
  }

  /**
   * Opens a read of the snapshot a piece at a time: in a transaction of its own, so that the
   * pieces are all of one snapshot. Its header and the seq of each piece, or null (nothing opened)
   * when there is none. Until endSnapshotRead the caller runs nothing else here.
   */
  beginSnapshotRead(): (Omit<StoredSnapshot, 'data'> & { seqs: number[] }) | null {
    this.db.exec('BEGIN');
    try {
      const row = this.statements.snapshot.get() as { position: number; time: number; format: string } | undefined;
      if (!row) {
        this.db.exec('COMMIT');
        return null;
      }
      return { position: String(row.position), time: row.time, format: row.format, seqs: this.statements.snapshotSeqs.all() as number[] };
    } catch (error) {
      this.abortSnapshot();
      throw error;
    }
  }

  /** Piece `seq` of the snapshot being read. */
  snapshotPieceAt(seq: number): string {
    if (!this.snapshotOpen()) throw new StoreError('no snapshot is being read');
    const data = this.statements.snapshotPiece.get(seq) as string | undefined;
    if (data === undefined) throw new StoreError(`snapshot piece ${seq} is missing`);
    return data;
  }

  /** Ends the read begun by beginSnapshotRead. */
  endSnapshotRead(): void {
    if (this.snapshotOpen()) this.db.exec('COMMIT');
  }

  /** Whether a snapshot's transaction is open (a write or read begun and not ended): then nothing else may run on the file. */
  snapshotOpen(): boolean {
    return this.db.inTransaction;
  }

  /**
   * Proves the file takes a commit: one row rewritten in a transaction of its own. After an
   * append failed, the row first takes PROBE_RECOVERY_BYTES: on a disk nearly full, a small row
   * still fits the pages the file has, while an append needs new ones, and readiness flapped
   * (ready, then an append refused milliseconds later). The appends' own size proves it, once.
   */
  probe(): void {
    this.checkIdentity();
    try {
      if (this.appendsFailed) this.statements.probeWrite.run(Buffer.alloc(PROBE_RECOVERY_BYTES));
      this.statements.probeWrite.run(Date.now() / 1000);
      this.appendsFailed = false;
      this.noteWal();
    } catch (error) {
      throw new StoreError(`SQLite write probe failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Gives up to RECLAIM_STEP_PAGES free pages back to the file system (after a trim freed them),
   * in a transaction of its own, and once none are left checkpoints the write-ahead log so that
   * the file is cut to size now, and the log to nothing, rather than at the next automatic
   * checkpoint. Answers the free pages left: the caller repeats until none are. A file of an
   * older release that was not converted (see convertToIncremental) cannot give pages back: 0.
   */
  reclaim(): number {
    this.checkIdentity();
    if (this.pragmaNumber('auto_vacuum') !== 2 || this.pragmaNumber('freelist_count') === 0) return 0;
    this.db.pragma(`incremental_vacuum(${RECLAIM_STEP_PAGES})`);
    const left = this.pragmaNumber('freelist_count');
    if (left === 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return left;
  }

  /**
   * Writes a copy of the file as committed into the new file `to` (VACUUM INTO: compacted, whole
   * in one file, without a write-ahead log beside it). This connection holds the file's exclusive
   * lock, so no other process can read it while the exporter runs: this is how it is backed up
   * live. Like every request, it waits for a snapshot's transaction to end (serveInOrder), and
   * holds the next ones until it is done.
   */
  backup(to: string): void {
    this.checkIdentity();
    try {
      this.db.prepare('VACUUM INTO ?').run(to);
    } catch (error) {
      throw new StoreError(`SQLite backup into ${to} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Refuses to go on once the path no longer names the file that is open. A deleted file stays
   * open and writable, and a file moved over it is never seen by this connection: either way
   * appends would succeed into a file the next start does not load, and a 200 would be a lie.
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
    this.checkWal();
  }

  /**
   * The same for the write-ahead log: entries committed since the last checkpoint are only in
   * it, so once its name is gone (or names another file) they would be lost at the next crash,
   * and so would every append after. The entries already acknowledged are moved into the file
   * itself at once (a checkpoint writes through the log SQLite still holds open), and no more is
   * taken until a restart, which opens a new log.
   */
  private checkWal(): void {
    if (!this.walIdentity) return;
    let current: FileIdentity | undefined;
    try {
      current = identityOf(`${this.path}-wal`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (current && current.dev === this.walIdentity.dev && current.ino === this.walIdentity.ino) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Inside a transaction (a snapshot being read) it cannot run; the next check tries again.
    }
    throw new StoreError(
      `SQLite write-ahead log ${this.path}-wal was ${current ? 'replaced by another file' : 'deleted'} while open; restart the exporter to open a new one`,
    );
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * mkdir -p, one level at a time from the nearest directory that exists. Node's own recursive
 * mkdir spins forever on a path under /proc that does not exist; this fails with the first
 * level that cannot be made.
 */
function makeDirectories(path: string): void {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      if (!statSync(current).isDirectory()) throw Object.assign(new Error(`${current} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const dir of missing.reverse()) mkdirSync(dir);
}

type FileIdentity = { dev: bigint; ino: bigint };

/** Device and inode: what a file is, whatever its path (bigint: inode numbers may pass 2^53). */
function identityOf(path: string): FileIdentity {
  const { dev, ino } = statSync(path, { bigint: true });
  return { dev, ino };
}
