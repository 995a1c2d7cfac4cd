import type { StoreName } from '../config.js';

// What every store is: an ordered, durable log of validated events plus one snapshot of the
// state folded from it. A store only does I/O. It never runs the reducer: the fold loop
// (src/log/fold-loop.ts) appends, reads in order, folds, snapshots and trims through this
// interface, the same for memory, SQLite and Redis. test/store/contract.test.ts is its contract.

/**
 * Where an entry stands in the log. Opaque to the fold loop: only the store that made it
 * compares two (`before`). The store's `origin` comes before every entry.
 */
export type Position = string;

/** An entry as appended: the encoded fields of one event (src/log/entry.ts). */
export type EntryFields = Record<string, string>;

/** An entry as read back, in log order. */
export type StoredEntry = {
  position: Position;
  /** The log's time of the entry, in Unix seconds: the receipt time every fold reduces it with. */
  time: number;
  fields: EntryFields;
};

export type LogTip = { position: Position; time: number; entriesAfter: number };

/**
 * The serialised state after the entry at `position` (whose time was `time`). `data` is its text
 * in pieces, the text being the pieces joined by newlines: a store keeps and reads them back in
 * order, and need not keep the same cut (SQLite keeps one row a piece, Redis one field). A
 * snapshot read is the caller's own: decoding it empties `data` (see decodeSnapshot).
 */
export type StoredSnapshot = { position: Position; time: number; format: string; data: string[] };

/**
 * A snapshot to write: its pieces are made from the live state as they are read (so that its whole
 * text is never held at once), and read once, to the end, before writeSnapshot settles.
 */
export type SnapshotToWrite = Omit<StoredSnapshot, 'data'> & { data: Iterable<string> };

/**
 * The contract. Methods may be called concurrently unless noted; a store serialises what it must.
 * Errors: a rejected promise carrying a StoreError (a store that cannot serve now: the fold loop
 * retries, webhooks get 503) or a LogLost (the log is not the one this process folded: the fold
 * loop stops for good and reports not ready).
 */
export interface LogStore {
  /** Which store it is (STORE): for logs, the landing page and the state API. */
  readonly kind: StoreName;
  /** The position before the first entry. */
  readonly origin: Position;
  /** Whether `a` comes strictly before `b` in this log. */
  before(a: Position, b: Position): boolean;
  /**
   * Whether every entry `read` returns is as durable as an acknowledged append: then a retry of
   * an event already folded can be answered without an append. False for a Redis that must
   * first hear from its replicas (REDIS_WAIT_REPLICAS).
   */
  readonly readsAreDurable: boolean;

  /**
   * Opens the log and checks it can be served: rejects with a StoreError naming the cause when
   * it cannot, for good (a file another process holds, a format newer than this version's).
   * A store that is only unreachable for now (Redis down) resolves and keeps reconnecting.
   */
  open(): Promise<void>;

  /**
   * Appends entries durably, in the order given, after every entry appended before. Resolves
   * with one result per entry: null once the entry is durable, or the error that kept it out:
   * a LogLost when the log itself is gone (the fold's next read refuses the store, and marks it
   * lost), a StoreError when the store refuses writes. An entry whose outcome is unknown (a
   * timeout) may still be in the log; the fold decides.
   */
  append(entries: EntryFields[]): Promise<(Error | null)[]>;

  /**
   * Entries after `after`, in order, at most `max`; when there are none, waits up to about a
   * second for one and resolves empty otherwise. One reader at a time (the fold loop).
   * Rejects with LogBehind when entries after `after` were trimmed (reload the snapshot).
   */
  read(after: Position, max: number): Promise<StoredEntry[]>;

  /**
   * The last entry's position and time (the origin and 0 when the log is empty), and how many
   * entries come after `from` (counted up to about ten thousand): the fold's lag.
   */
  tip(from: Position): Promise<LogTip>;

  /** The snapshot, or null when none was written. Rejects with LogLost when it cannot be read. */
  readSnapshot(): Promise<StoredSnapshot | null>;

  /** Where the stored snapshot stands, without its data; null when none. Rejects with LogLost when unreadable. */
  snapshotInfo(): Promise<{ position: Position; time: number } | null>;

  /**
   * Stores `snapshot` unless a newer one is stored, and trims entries that no reader needs any
   * more. Resolves whether it was written. When it writes, it reads `snapshot.data` once, in
   * order, to its end, before the promise settles; it may send each piece before it reads the
   * next (the fold waits meanwhile, up to a bound, then moves on: a piece read after that throws,
   * and the write must then fail and leave the stored snapshot as it was; see FoldLoop.piecesOf).
   */
  writeSnapshot(snapshot: SnapshotToWrite): Promise<boolean>;

  /**
   * Proves the store takes writes now, by a write of its own that changes no entry. Asked while
   * appends fail: a replica that is not ready gets no webhooks to show that the store recovered.
   */
  probe(): Promise<void>;

  /**
   * Takes or renews the lease `name` for `holder` for `ttlMs`: true when `holder` holds it now
   * (it did, or nobody did), false when another holder's lease has not run out. The processes
   * sharing a store elect one doer of a task with it (the Alertmanager silences). A store that has
   * one writer (memory, SQLite's exclusive lock) answers true: its process is the only one.
   * Rejects, rather than waits, once `ttlMs` passed without an answer: a lease granted later could
   * already have run out, and its caller (a loop, a shutdown) must not hang on a store that hangs.
   */
  lease(name: string, holder: string, ttlMs: number): Promise<boolean>;

  /**
   * Gives the lease up, if `holder` holds it, so that another process need not wait for it to run
   * out. Rejects after about a second without an answer: the lease runs out anyway.
   */
  releaseLease(name: string, holder: string): Promise<void>;

  /** Whether the connection is up (false while a network store reconnects). Cheap; no I/O. */
  connected(): boolean;

  /** Times this store reconnected since it opened (0 for embedded stores). */
  reconnects(): number;

  /**
   * The id of the shared log this process folds, once known (Redis: its epoch); null for a store
   * only one process reads (memory, SQLite). Replicas of one install that report different ids
   * fold different logs: their states do not compare.
   */
  epoch(): string | null;

  /**
   * Live backups, where the store is one file that only this process may read (sqlite: its
   * exclusive lock keeps every other reader out): undefined for a store that has none.
   */
  readonly backups?: StoreBackups | undefined;

  /** Releases the store; called once, after the fold loop stopped appending. */
  close(): Promise<void>;
}

/** How a store kept in one file is copied while it serves (GET /-/backup). */
export type StoreBackups = {
  /** Where a copy is written before it is sent: beside the store, on its volume. */
  readonly directory: string;
  /** The start of every copy's file name in `directory`: what a process that died left there is found by it. */
  readonly prefix: string;
  /**
   * Resolves once a copy written next holds every entry the store held at the call; rejects with
   * a StoreError when it cannot within a bound (a replica of a shared log that is behind it).
   * Absent where every copy does (a store of one process).
   */
  caughtUp?(): Promise<void>;
  /**
   * Writes a consistent copy of the whole store (its snapshot and the entries after it, as
   * committed) into the new file `to`, which must not exist. Rejects with a StoreError (a full
   * disk, a file already there) and leaves whatever it wrote for the caller to remove.
   */
  write(to: string): Promise<void>;
};

/** A store that cannot serve now: the event was not stored, and StatusMate should retry it. */
export class StoreError extends Error {
  override name = 'StoreError';
}

/**
 * The store gave no answer in time (Redis stopped, not closed: the connection stays and nothing
 * comes back): unlike a refusal, there are no words of the store's to act on, only its silence.
 */
export class StoreNoAnswer extends StoreError {
  override name = 'StoreNoAnswer';
}

/**
 * The store answered, refusing the command (Redis: an error reply, such as NOPERM from an ACL that
 * lacks it, a command renamed away, OOM, READONLY): unlike one that does not answer, its words say
 * what an operator must change, and it refuses again until they do.
 */
export class StoreRefused extends StoreError {
  override name = 'StoreRefused';
}

/**
 * The store answered that it is loading its data and serves nothing until it has (Redis: LOADING,
 * after a restart on a large dataset): neither a store that does not answer nor one that refuses a
 * command or writes for good; it passes by itself.
 */
export class StoreLoading extends StoreError {
  override name = 'StoreLoading';
}

/** Entries after the position asked for are gone from the log: the reader must reload the snapshot. */
export class LogBehind extends Error {
  override name = 'LogBehind';
}

/**
 * The store holds no log yet and waits before starting one (Redis: NEW_LOG_WAIT_MS in redis.ts):
 * not ready meanwhile, and nothing is appended; the loop asks again.
 */
export class LogNotStarted extends Error {
  override name = 'LogNotStarted';
}

/**
 * The log is not the one this process folded (flushed, deleted, trimmed past what a snapshot
 * covers, a snapshot that cannot be read, a format newer than this version's). Nothing is
 * answered 200 until an operator restores the store or resets it (see the README).
 */
export class LogLost extends Error {
  override name = 'LogLost';
}
