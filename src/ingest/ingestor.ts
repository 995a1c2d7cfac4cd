import type { StatusMateEvent } from '../domain/event.js';
import { prune } from '../domain/prune.js';
import { reduce, type Decision, type Limits } from '../domain/reducer.js';
import { applyPatch, emptyPatch, isEmptyPatch, mergePatches, replaceState, type Patch, type State } from '../domain/state.js';
import type { Store } from '../store/store.js';
import type { EventSink } from './sink.js';
import { dedupKey } from './dedup-key.js';

type Pending = {
  event: StatusMateEvent;
  receivedAt: number;
  resolve: (decision: Decision) => void;
  reject: (error: unknown) => void;
};

/**
 * The one writer of the state. Events that arrive together are reduced one after another, each
 * against the state its predecessors left, and committed together in one transaction (a group
 * commit): every event's changes and dedup record are in it, and none is answered before it is
 * durable. Sharing the transaction is what lets a burst of StatusMate deliveries cost one commit
 * instead of fifty.
 *
 * Batches are pipelined: the next batch is reduced and sent while the store is still writing
 * the previous one, and the store writes them in order. At most two commits are in flight;
 * events arriving meanwhile wait and make the next batch larger. An answer waits for its own batch's
 * commit and every earlier one (a `duplicate` answer included: the event it duplicates may be
 * in a batch still being written).
 *
 * Memory runs ahead of the store only by the batches in flight. When a commit fails, the store
 * refuses every later one, all their events are rejected (StatusMate retries them), and once
 * the commits in flight have settled the state is reloaded from the store, so it again holds
 * exactly what was committed, before any further event is reduced.
 */
export class Ingestor implements EventSink {
  private pending: Pending[] = [];
  private scheduled = false;
  /** Reductions (and prunes), one after another. */
  private tail: Promise<void> = Promise.resolve();
  /** Resolves once every commit sent so far is durable; rejects once one of them failed. */
  private durable: Promise<void> = Promise.resolve();
  /** Settles once every commit sent so far has been answered by the store. */
  private answered: Promise<void> = Promise.resolve();
  /** Commits sent to the store and not yet answered. */
  private inFlight = 0;
  /** Set when memory may hold changes the store refused; cleared by reloading. */
  private dirty = false;
  /** Settles once memory was reloaded after the last failure (or that reload failed). */
  private recovery: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    readonly state: State,
    private readonly limits: Limits,
    private overlay: Overlay = noOverlay,
  ) {
    this.applyOverlay();
  }

  /**
   * Replaces the overlay (the inventory was reloaded) and rebuilds memory as the store holds it
   * under the new one, so that what the old overlay alone added goes. Resolves once done.
   */
  reseed(overlay: Overlay): Promise<void> {
    this.overlay = overlay;
    return this.markDirty();
  }

  private applyOverlay(): void {
    const patch = this.overlay(this.state);
    if (!isEmptyPatch(patch)) applyPatch(this.state, patch);
  }

  /** Applies one event; resolves once it is committed, rejects (state unchanged) when the store failed. */
  ingest(event: StatusMateEvent, receivedAt: number): Promise<Decision> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, receivedAt, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.pending.length === 0) return;
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this loop turn: every request that arrived
    // in it joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.serialised(() => this.flush());
    });
  }

  /** Forgets what the retention no longer requires; returns how many records went. */
  prune(now: number, retentionSeconds: number): Promise<number> {
    return this.serialised(async () => {
      await this.recover();
      const patch = prune(this.state, now, retentionSeconds);
      if (isEmptyPatch(patch)) return 0;
      applyPatch(this.state, patch);
      await this.commit([patch]);
      return patch.deleteIncidents.length + patch.deleteMaintenances.length + patch.forgetSeen.length;
    });
  }

  /** Resolves when every event accepted so far has been committed or has failed. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.scheduled) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.tail;
    }
    await this.tail;
    await this.answered;
  }

  private async flush(): Promise<void> {
    // With enough commits queued, events wait for the next slot and join a larger batch: fewer,
    // larger transactions cost the store (and the thread switches) less than many small ones.
    if (this.inFlight >= MAX_COMMITS_IN_FLIGHT) return;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const decisions: Decision[] = [];
    try {
      await this.recover();
      for (const { event, receivedAt } of batch) {
        const decision = reduce(this.state, event, dedupKey(event), receivedAt, this.limits);
        if (decision.outcome !== 'duplicate') applyPatch(this.state, decision.patch);
        decisions.push(decision);
      }
    } catch (error) {
      // Memory may hold part of this batch (a reducer that threw): reload before the next one.
      if (decisions.length > 0) void this.markDirty();
      for (const item of batch) item.reject(error);
      return;
    }
    const patches = decisions.flatMap((decision) => (decision.outcome === 'duplicate' ? [] : [decision.patch]));
    // Not awaited here: the next batch is reduced while this one is written.
    const durable = patches.length > 0 ? this.commit(patches) : this.durable;
    durable.then(
      () => batch.forEach((item, index) => item.resolve(decisions[index] as Decision)),
      // Answered once memory is back to what the store holds, so a scrape after a 503 never
      // shows the refused event.
      (error: unknown) => void this.markDirty().then(() => batch.forEach((item) => item.reject(error))),
    );
  }

  /**
   * Sends patches already applied to memory to the store. Resolves once they and every earlier
   * commit are durable; on a failure, marks memory for reloading.
   */
  private commit(patches: Patch[]): Promise<void> {
    const own = this.store.commit(mergePatches(patches));
    const durable = Promise.all([this.durable, own]).then(() => undefined);
    durable.catch(() => void this.markDirty());
    this.durable = durable;
    this.answered = this.answered.then(() => own.then(noop, noop));
    this.inFlight += 1;
    const settled = () => {
      this.inFlight -= 1;
      this.schedule();
    };
    own.then(settled, settled);
    return durable;
  }

  /** Memory may hold what the store refused: reload it as soon as the commits in flight are answered. */
  private markDirty(): Promise<void> {
    if (!this.dirty) {
      this.dirty = true;
      this.recovery = this.serialised(() => this.recover()).catch(noop);
    }
    return this.recovery;
  }

  private async recover(): Promise<void> {
    if (!this.dirty) return;
    await this.answered;
    replaceState(this.state, await this.store.load());
    this.applyOverlay();
    this.durable = Promise.resolve();
    this.dirty = false;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.then(noop, noop);
    return run;
  }
}

const noop = () => undefined;

/** Enough to keep the store busy while the next batch is reduced. */
const MAX_COMMITS_IN_FLIGHT = 2;

/** Records that memory holds on top of what the store loaded, never committed (see inventoryPatch). */
export type Overlay = (state: State) => Patch;
const noOverlay: Overlay = () => emptyPatch();
