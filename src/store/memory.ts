import { setImmediate as turn } from 'node:timers/promises';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Arrivals } from './arrivals.js';
import {
  LogBehind,
  StoreError,
  type EntryFields,
  type LogStore,
  type LogTip,
  type Position,
  type SnapshotToWrite,
  type StoredEntry,
  type StoredSnapshot,
} from './store.js';

/**
 * STORE=memory: the log and its snapshot in this process only, lost on restart. For tests and
 * for users who accept that. Entries are numbered from 1; a snapshot trims every entry it
 * covers, so memory holds at most the entries folded since the last snapshot (the fold loop
 * snapshots by their size too).
 *
 * The snapshot is kept deflated. Its text would be held in the JavaScript heap beside the state it
 * was made from, twice while the next one is written: for 10,000 busy components, 2 × 36 MB on a
 * state of about as much, which took the heap past its limit (half of a 256 MiB container's) and
 * ended the process. Deflated, it is about a tenth, outside the heap, and only a reload reads it.
 */
export class MemoryLog implements LogStore {
  readonly kind = 'memory';
  readonly origin = '0';
  readonly readsAreDurable = true;
  /** Entries after `trimmedTo`, in order: entries[i] is at position trimmedTo + 1 + i. */
  private entries: StoredEntry[] = [];
  private trimmedTo = 0;
  private last = 0;
  private lastTime = 0;
  private snapshot: (Omit<StoredSnapshot, 'data'> & { data: Buffer[] }) | null = null;
  private closed = false;
  private readonly arrivals = new Arrivals();

  before(a: Position, b: Position): boolean {
    return Number(a) < Number(b);
  }

  open(): Promise<void> {
    return this.closed ? Promise.reject(new StoreError('memory store is closed')) : Promise.resolve();
  }

  append(entries: EntryFields[]): Promise<(Error | null)[]> {
    if (this.closed) return Promise.resolve(entries.map(() => new StoreError('memory store is closed')));
    for (const fields of entries) {
      this.last += 1;
      // Never backwards, so the log's time is ordered as its entries are.
      this.lastTime = Math.max(this.lastTime, Date.now() / 1000);
      this.entries.push({ position: String(this.last), time: this.lastTime, fields });
    }
    this.arrivals.notify();
    return Promise.resolve(entries.map(() => null));
  }

  async read(after: Position, max: number): Promise<StoredEntry[]> {
    const from = Number(after);
    if (from < this.trimmedTo) throw new LogBehind(`entries after ${after} were trimmed`);
    if (from >= this.last && !this.closed) await this.arrivals.wait(1_000);
    const start = from - this.trimmedTo;
    return this.entries.slice(start, start + max);
  }

  tip(from: Position): Promise<LogTip> {
    return Promise.resolve({ position: String(this.last), time: this.lastTime, entriesAfter: Math.max(0, this.last - Number(from)) });
  }

  readSnapshot(): Promise<StoredSnapshot | null> {
    const stored = this.snapshot;
    return Promise.resolve(stored && { ...stored, data: stored.data.map((piece) => inflateRawSync(piece).toString('utf8')) });
  }

  snapshotInfo(): Promise<{ position: Position; time: number } | null> {
    return Promise.resolve(this.snapshot && { position: this.snapshot.position, time: this.snapshot.time });
  }

  async writeSnapshot(snapshot: SnapshotToWrite): Promise<boolean> {
    if (this.snapshot && !this.before(this.snapshot.position, snapshot.position)) return false;
    const data: Buffer[] = [];
    for (const piece of snapshot.data) {
      // Level 1: the fold waits while a snapshot is written; the text is repetitive enough.
      data.push(deflateRawSync(piece, { level: 1 }));
      // The event loop turns between pieces (probes, scrapes), as for the other stores.
      await turn();
    }
    // Written meanwhile by another writer: the newer one stays.
    if (this.snapshot && !this.before(this.snapshot.position, snapshot.position)) return false;
    const { position, time, format } = snapshot;
    this.snapshot = { position, time, format, data };
    // The only reader is this process's fold, which is past the snapshot.
    const covered = Number(position);
    this.entries = this.entries.slice(covered - this.trimmedTo);
    this.trimmedTo = covered;
    return true;
  }

  probe(): Promise<void> {
    return this.closed ? Promise.reject(new StoreError('memory store is closed')) : Promise.resolve();
  }

  /** Memory is this process's alone: it holds every lease. */
  lease(): Promise<boolean> {
    return this.closed ? Promise.reject(new StoreError('memory store is closed')) : Promise.resolve(true);
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

  close(): Promise<void> {
    this.closed = true;
    this.arrivals.notify();
    return Promise.resolve();
  }
}
