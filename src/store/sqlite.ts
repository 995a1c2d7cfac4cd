import { Worker } from 'node:worker_threads';
import { applyPatch, createState, emptyPatch, type Patch, type State } from '../domain/state.js';
import type { SqliteOptions, StoredRows } from './sqlite-file.js';
import { parseRecord } from './records.js';
import { patchRows } from './sqlite-rows.js';
import type { StoreReply, StoreRequest } from './sqlite-worker.js';
import { StoreError, type HealthOptions, type Store } from './store.js';

export type { SqliteOptions } from './sqlite-file.js';

type Waiting = { resolve: (reply: StoreReply & { ok: true }) => void; reject: (error: Error) => void };

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
 * The embedded store. The SQLite file is written by a worker thread of its own, so that a
 * commit (and, with SQLITE_SYNCHRONOUS=full, its fsync) never blocks the event loop: webhooks
 * are parsed and validated while the previous batch is being written, and a scrape is never
 * held up by the disk. The ingestor still awaits every commit before it answers.
 *
 * Should the worker die, the requests in flight fail (StatusMate retries them) and the next
 * request starts a new worker on the same file.
 */
export class SqliteStore implements Store {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;
  /**
   * Set when a commit failed, cleared when the state is read again. The worker refuses the
   * commits queued behind a failed one; this also covers a worker that died and was replaced.
   */
  private refusing = false;

  constructor(private readonly options: SqliteOptions) {
    this.worker = this.spawn();
  }

  async load(): Promise<State> {
    // Commits sent from here on are queued behind this read.
    this.refusing = false;
    const { rows } = await this.request({ op: 'read' });
    try {
      return stateOf(rows as StoredRows);
    } catch (error) {
      throw new StoreError(`SQLite file ${this.options.path}: ${(error as Error).message}`);
    }
  }

  async commit(patch: Patch): Promise<void> {
    if (this.refusing) throw new StoreError('not committed: an earlier commit failed and the state was not read since');
    try {
      await this.request({ op: 'commit', rows: patchRows(patch) });
    } catch (error) {
      this.refusing = true;
      throw error;
    }
  }

  async healthy(options: HealthOptions = {}): Promise<boolean> {
    try {
      await this.request({ op: 'ping', write: options.probeWrite ?? false });
      return true;
    } catch (error) {
      options.onFailure?.((error as Error).message);
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    try {
      await this.send(worker, { op: 'close' });
    } finally {
      this.worker = undefined;
      await worker.terminate();
    }
  }

  private request(message: DistributiveOmit<StoreRequest, 'id'>): Promise<StoreReply & { ok: true }> {
    if (this.closed) return Promise.reject(new StoreError('SQLite store is closed'));
    this.worker ??= this.spawn();
    return this.send(this.worker, message);
  }

  private send(worker: Worker, message: DistributiveOmit<StoreRequest, 'id'>): Promise<StoreReply & { ok: true }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The worker keeps the process alive only while it owes an answer.
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  private settle(worker: Worker, reply: StoreReply): void {
    const waiting = this.waiting.get(reply.id);
    if (!waiting) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) worker.unref();
    if (reply.ok) waiting.resolve(reply);
    else waiting.reject(new StoreError(reply.message));
  }

  private spawn(): Worker {
    const entry = workerEntry();
    const worker = new Worker(entry.filename, { eval: entry.eval, workerData: this.options });
    worker.unref();
    worker.on('message', (reply: StoreReply) => this.settle(worker, reply));
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

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function stateOf(rows: StoredRows): State {
  const patch = emptyPatch();
  patch.pages = rows.pages.map((row) => parseRecord('pages', row));
  patch.components = rows.components.map((row) => parseRecord('components', row));
  patch.incidents = rows.incidents.map((row) => parseRecord('incidents', row));
  patch.maintenances = rows.maintenances.map((row) => parseRecord('maintenances', row));
  patch.seen = rows.seen;
  const state = createState();
  applyPatch(state, patch);
  return state;
}
