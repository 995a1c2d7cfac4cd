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
  private snapshot: StoredSnapshot | null = null;
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
    // A copy of the list of pieces: the reader's decoding empties the one it gets.
    return Promise.resolve(this.snapshot && { ...this.snapshot, data: [...this.snapshot.data] });
  }

  snapshotInfo(): Promise<{ position: Position; time: number } | null> {
    return Promise.resolve(this.snapshot && { position: this.snapshot.position, time: this.snapshot.time });
  }

  writeSnapshot(snapshot: SnapshotToWrite): Promise<boolean> {
    if (this.snapshot && !this.before(this.snapshot.position, snapshot.position)) return Promise.resolve(false);
    this.snapshot = { ...snapshot, data: [...snapshot.data] };
    // The only reader is this process's fold, which is past the snapshot.
    const covered = Number(snapshot.position);
    this.entries = this.entries.slice(covered - this.trimmedTo);
    this.trimmedTo = covered;
    return Promise.resolve(true);
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

  close(): Promise<void> {
    this.closed = true;
    this.arrivals.notify();
    return Promise.resolve();
  }
}
