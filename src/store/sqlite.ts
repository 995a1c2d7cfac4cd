import { basename, dirname } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { Arrivals } from './arrivals.js';
import type { LogRow, SqliteOptions } from './sqlite-file.js';
import { openOps, serveInOrder, type StoreReply, type StoreRequest, type StoreValues } from './sqlite-ops.js';
import {
  StoreError,
  type EntryFields,
  type LogStore,
  type LogTip,
  type Position,
  type SnapshotToWrite,
  type StoreBackups,
  type StoredEntry,
  type StoredSnapshot,
} from './store.js';

export type { SqliteOptions } from './sqlite-file.js';

type Waiting = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Request = DistributiveOmit<StoreRequest, 'id'>;

/**
 * The worker's entry. Run from source (the tests, tsx) the worker is TypeScript too, and is
 * started through tsx's loader (a worker does not inherit it, nor take it from `--import`).
 */
function workerEntry(): { filename: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { filename: new URL('./sqlite-worker.js', import.meta.url), eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sqlite-worker.ts', import.meta.url).href;
  return { filename: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, eval: true };
}

/**
 * Where the file's operations run: on the event loop, or on a worker thread. Either way a
 * snapshot goes a piece a request, inside one transaction that holds every other request back
 * until it ends (see serveInOrder).
 */
abstract class Channel {
  /** The requests sent and not answered yet, by id. */
  protected readonly waiting = new Map<number, Waiting>();
  private nextId = 0;

  abstract send(message: Request): Promise<unknown>;
  abstract close(): Promise<void>;

  /** A new request's id, and the promise of its reply (see settle). */
  protected expect(): { id: number; reply: Promise<unknown> } {
    const id = this.nextId++;
    return { id, reply: new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject })) };
  }

  /** Settles the request `reply` answers, if it still waits. */
  protected settle(reply: StoreReply): void {
    const waiting = this.waiting.get(reply.id);
    if (!waiting) return;
    this.waiting.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(new StoreError(reply.message));
  }

  /**
   * Writes a snapshot, reading its pieces as they are made (see LogStore.writeSnapshot): the file
   * holds one piece at a time, the next is made while one is written, and the event loop turns
   * between pieces, so that a large state's snapshot does not stop it for its whole length.
   */
  async writeSnapshot(snapshot: SnapshotToWrite): Promise<boolean> {
    const { data, ...header } = snapshot;
    if (!((await this.send({ op: 'beginSnapshot', snapshot: header })) as boolean)) return false;
    let inFlight: Promise<unknown> | undefined;
    try {
      let seq = 0;
      for (const piece of data) {
        const sent = this.send({ op: 'snapshotPiece', seq: seq++, data: piece });
        // Should the piece before it fail, this one is never awaited, and it fails too (a full
        // disk refuses every piece): its rejection must not go unhandled, which stops the process.
        sent.catch(() => undefined);
        // Each reply awaited in turn; a piece's failure surfaces before the one after it is made.
        if (inFlight) await inFlight;
        inFlight = sent;
        await turn();
      }
      await inFlight;
      return (await this.send({ op: 'commitSnapshot', position: snapshot.position })) as boolean;
    } catch (error) {
      // A piece the writer refused (the state moved on), or one the file refused: the stored snapshot stays.
      await inFlight?.catch(() => undefined);
      await this.send({ op: 'abortSnapshot' }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Reads the snapshot a piece a request too, all of one snapshot (one read transaction), so that
   * the file's side never holds the whole text, nor one message its copy: only this side gathers
   * the pieces (which decoding then gives up one by one).
   */
  async readSnapshot(): Promise<StoredSnapshot | null> {
    const header = (await this.send({ op: 'beginSnapshotRead' })) as StoreValues['beginSnapshotRead'];
    if (!header) return null;
    try {
      const data: string[] = [];
      for (const seq of header.seqs) data.push((await this.send({ op: 'snapshotPieceAt', seq })) as string);
      return { position: header.position, time: header.time, format: header.format, data };
    } finally {
      await this.send({ op: 'endSnapshotRead' }).catch(() => undefined);
    }
  }
}

/**
 * The file's operations on the event loop. With SQLITE_SYNCHRONOUS=normal an append writes to
 * the write-ahead log without an fsync, which takes microseconds: a thread of its own would cost
 * more (a second JavaScript heap, about 15 MiB, and a message each way) than it saves.
 */
class InlineChannel extends Channel {
  private opening: Promise<(request: StoreRequest) => void> | undefined;
  private serve: ((request: StoreRequest) => void) | undefined;

  constructor(private readonly options: SqliteOptions) {
    super();
  }

  async send(message: Request): Promise<unknown> {
    this.serve ??= await (this.opening ??= openOps(this.options).then((ops) => serveInOrder(ops, (reply) => this.settle(reply))));
    const { id, reply } = this.expect();
    // Answered at once, on this turn of the event loop, unless a snapshot's transaction is open:
    // then once it ends.
    this.serve({ ...message, id });
    return reply;
  }

  async close(): Promise<void> {
    if (this.serve ?? this.opening) await this.send({ op: 'close' });
  }
}

/**
 * The file's operations on a worker thread, with SQLITE_SYNCHRONOUS=full: an fsync per append
 * takes milliseconds, which the event loop must not wait out. Should the worker die, the
 * requests in flight fail (StatusMate retries them) and the next request starts a new worker on
 * the same file. What it committed and had not answered yet is read from the file by the fold
 * (see SqliteLog.read).
 */
class WorkerChannel extends Channel {
  private worker: Worker | undefined;
  private closed = false;

  constructor(private readonly options: SqliteOptions) {
    super();
  }

  send(message: Request): Promise<unknown> {
    if (this.closed) return Promise.reject(new StoreError('the SQLite worker is closed'));
    const worker = (this.worker ??= this.spawn());
    // The worker keeps the process alive only while it owes an answer.
    if (this.waiting.size === 0) worker.ref();
    const { id, reply } = this.expect();
    worker.postMessage({ ...message, id });
    return reply;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker || this.closed) {
      // No thread to stop (never started, or it died): none may start now, not even for a write in flight.
      this.closed = true;
      return;
    }
    try {
      await this.send({ op: 'close' });
    } finally {
      this.closed = true;
      this.worker = undefined;
      await worker.terminate();
    }
  }

  private spawn(): Worker {
    const entry = workerEntry();
    const worker = new Worker(entry.filename, { eval: entry.eval, workerData: this.options });
    worker.unref();
    worker.on('message', (reply: StoreReply) => {
      this.settle(reply);
      if (this.waiting.size === 0) worker.unref();
    });
    const fail = (reason: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, waiting] of this.waiting) {
        this.waiting.delete(id);
        waiting.reject(new StoreError(`SQLite worker stopped: ${reason}`));
      }
    };
    worker.on('error', (error: unknown) => fail(error instanceof Error ? error.message : String(error)));
    worker.on('exit', (code) => fail(`exited with code ${code}`));
    return worker;
  }
}

/**
 * A row as the fold reads it. A row whose text is not a JSON object (a damaged file, a hand edit)
 * becomes an entry of no format, which the fold logs and skips like any unreadable entry: a throw
 * here would fail every read, and the fold would retry the same row for ever (not ready, every
 * webhook 503) instead of folding the entries after it.
 */
function storedEntryOf([position, time, entry]: LogRow): StoredEntry {
  let fields: unknown;
  try {
    fields = JSON.parse(entry);
  } catch {
    fields = undefined;
  }
  const readable = typeof fields === 'object' && fields !== null && !Array.isArray(fields);
  return { position: String(position), time, fields: readable ? (fields as EntryFields) : {} };
}

/**
 * STORE=sqlite, the embedded default: the log and its snapshot in one SQLite file, written on
 * the event loop, or with SQLITE_SYNCHRONOUS=full by a worker thread of its own so that an
 * append's fsync never blocks the event loop.
 *
 * This process is the file's only writer (SqliteFile holds its lock), so the entries it appended
 * are the whole log after the ones the file held at open: the fold reads those from the file
 * once, at start, and every later entry from memory as soon as it is durable (but those a dead
 * worker committed without answering, which only the file has).
 */
export class SqliteLog implements LogStore {
  readonly kind = 'sqlite';
  readonly origin = '0';
  readonly readsAreDurable = true;
  private readonly channel: Channel;
  private closed = false;
  /** Entries up to here are read from the file (what it held at open); later ones from `tail`. */
  private openedAt = 0;
  /** Durable entries appended by this process and not yet read by the fold. */
  private tail: StoredEntry[] = [];
  private last = 0;
  private lastTime = 0;
  private readonly arrivals = new Arrivals();
  /** The steps giving back the pages a trim freed, while they run (see reclaimFreePages). */
  private reclaiming: Promise<void> | undefined;
  /** Whether a trim came while they ran: its pages are given back after them. */
  private reclaimAgain = false;

  readonly backups: StoreBackups | undefined;

  /** `logger` takes what the open did to a file of an older release (see SqliteFile.convertToIncremental); none for copies. */
  constructor(
    private readonly options: SqliteOptions,
    private readonly logger?: Logger,
  ) {
    this.channel = options.synchronous === 'full' ? new WorkerChannel(options) : new InlineChannel(options);
    // A file in memory (tests) has no volume to write a copy on, and nothing outlives the process.
    this.backups =
      options.path === ':memory:'
        ? undefined
        : {
            directory: dirname(options.path),
            prefix: `.${basename(options.path)}.backup-`,
            write: async (to) => {
              await this.request<'backup'>({ op: 'backup', to });
            },
          };
  }

  before(a: Position, b: Position): boolean {
    return Number(a) < Number(b);
  }

  async open(): Promise<void> {
    const end = await this.request<'open'>({ op: 'open' });
    this.openedAt = this.last = end.position;
    this.lastTime = end.time;
    // Pages a trim freed and a close cut short giving back (or a crash): given back now.
    this.reclaimFreePages();
    const conversion = end.conversion;
    if (conversion?.converted === true) {
      this.logger?.info(
        { sqlite_path: this.options.path, bytes_before: conversion.bytesBefore, bytes_after: conversion.bytesAfter },
        'SQLite file of an older release converted to give back free pages after each snapshot (once)',
      );
    } else if (conversion?.converted === false) {
      this.logger?.warn(
        { sqlite_path: this.options.path, reason: conversion.reason },
        'SQLite file of an older release kept as it is: it never shrinks; the next start tries again (see the README, "When the SQLite file shrinks")',
      );
    }
  }

  async append(entries: EntryFields[]): Promise<(Error | null)[]> {
    // Never backwards, so the log's time is ordered as its entries are.
    const time = (this.lastTime = Math.max(this.lastTime, Date.now() / 1000));
    let positions: number[];
    try {
      positions = await this.request<'append'>({ op: 'append', rows: entries.map((fields) => ({ time, entry: JSON.stringify(fields) })) });
    } catch (error) {
      return entries.map(() => error as Error);
    }
    positions.forEach((position, index) => this.tail.push({ position: String(position), time, fields: entries[index] as EntryFields }));
    this.last = Math.max(this.last, positions.at(-1) ?? 0);
    this.arrivals.notify();
    return entries.map(() => null);
  }

  async read(after: Position, max: number): Promise<StoredEntry[]> {
    const from = Number(after);
    if (from < this.openedAt) {
      const rows = await this.request<'read'>({ op: 'read', after: from, max });
      return rows.map(storedEntryOf);
    }
    this.dropThrough(from);
    if (this.tail.length === 0 && !this.closed) {
      await this.arrivals.wait(1_000);
      this.dropThrough(from);
    }
    const next = this.tail[0];
    if (next !== undefined && Number(next.position) > from + 1) {
      // Entries the file holds and memory lacks: a worker that died after its commit and before
      // its answer (the events were answered 503). The file is the log, so they are read from it
      // and folded like any other, as a restart would: StatusMate's retries are then duplicates.
      const rows = await this.request<'read'>({ op: 'read', after: from, max });
      return rows.map(storedEntryOf);
    }
    return this.tail.slice(0, max);
  }

  private dropThrough(position: number): void {
    let folded = 0;
    while (folded < this.tail.length && Number((this.tail[folded] as StoredEntry).position) <= position) folded += 1;
    if (folded > 0) this.tail = this.tail.slice(folded);
  }

  tip(from: Position): Promise<LogTip> {
    // The only writer knows where its log ends.
    return Promise.resolve({ position: String(this.last), time: this.lastTime, entriesAfter: Math.max(0, this.last - Number(from)) });
  }

  readSnapshot(): Promise<StoredSnapshot | null> {
    if (this.closed) return Promise.reject(new StoreError('SQLite store is closed'));
    return this.channel.readSnapshot();
  }

  snapshotInfo(): Promise<{ position: Position; time: number } | null> {
    return this.request<'snapshotInfo'>({ op: 'snapshotInfo' });
  }

  async writeSnapshot(snapshot: SnapshotToWrite): Promise<boolean> {
    if (this.closed) throw new StoreError('SQLite store is closed');
    const written = await this.channel.writeSnapshot(snapshot);
    // Its trim freed the pages of the entries it covers, and of the snapshot before it.
    if (written) this.reclaimFreePages();
    return written;
  }

  /**
   * Gives the file's free pages back to the file system, a bounded step a request (see
   * SqliteFile.reclaim) with a turn of the event loop between steps: webhooks, scrapes and
   * probes are served between them, and the fold is not held (it waits only for the snapshot).
   * One run at a time. A step that fails (a full volume refuses the write-ahead log's frames)
   * ends the run: the pages stay in the file, which reuses them, and the next trim tries again.
   */
  private reclaimFreePages(): void {
    if (this.reclaiming) {
      this.reclaimAgain = true;
      return;
    }
    this.reclaimAgain = false;
    this.reclaiming = this.reclaimSteps()
      .catch((error: unknown) => {
        if (!this.closed) this.logger?.warn({ err: (error as Error).message }, 'SQLite free pages not given back; the next snapshot tries again');
      })
      .finally(() => {
        this.reclaiming = undefined;
        // A trim that came after the last step looked: its pages are given back too.
        if (this.reclaimAgain && !this.closed) this.reclaimFreePages();
      });
  }

  private async reclaimSteps(): Promise<void> {
    while (!this.closed && (await this.request<'reclaim'>({ op: 'reclaim' })) > 0) await turn();
  }

  /** Resolves once the free pages of the snapshots written so far are given back (or that failed): for tests and tools. */
  async reclaimed(): Promise<void> {
    while (this.reclaiming) await this.reclaiming;
  }

  async probe(): Promise<void> {
    await this.request<'probe'>({ op: 'probe' });
  }

  /** The file's exclusive lock makes this process its only user: it holds every lease. */
  lease(): Promise<boolean> {
    return this.closed ? Promise.reject(new StoreError('the SQLite store is closed')) : Promise.resolve(true);
  }

  releaseLease(): Promise<void> {
    return Promise.resolve();
  }

  connected(): boolean {
    return !this.closed;
  }

  reconnects(): number {
    return 0;
  }

  epoch(): null {
    return null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.arrivals.notify();
    await this.channel.close();
  }

  private request<K extends keyof StoreValues>(message: Request & { op: K }): Promise<StoreValues[K]> {
    if (this.closed) return Promise.reject(new StoreError('SQLite store is closed'));
    return this.channel.send(message) as Promise<StoreValues[K]>;
  }
}
