import type { StatusMateEvent } from '../domain/event.js';
import { prune } from '../domain/prune.js';
import { reduce, type Decision, type Limits } from '../domain/reducer.js';
import { applyPatch, isEmptyPatch, mergePatches, replaceState, type Patch, type State } from '../domain/state.js';
import type { Store } from '../store/store.js';
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
 * Memory runs ahead of the store only inside a batch. When the commit fails, the state is
 * reloaded from the store, so it again holds exactly what was committed, and every event of the
 * batch is rejected (StatusMate retries it).
 */
export class Ingestor {
  private pending: Pending[] = [];
  private scheduled = false;
  /** The chain of batches: each starts when the previous one has committed or failed. */
  private tail: Promise<void> = Promise.resolve();
  /** Set when a failed commit left memory ahead of the store and reloading failed too. */
  private dirty = false;

  constructor(
    private readonly store: Store,
    readonly state: State,
    private readonly limits: Limits,
  ) {}

  /** Applies one event; resolves once it is committed, rejects (state unchanged) when the store failed. */
  ingest(event: StatusMateEvent, receivedAt: number): Promise<Decision> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, receivedAt, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // setImmediate runs after the I/O callbacks of this loop turn: every request that arrived
      // in it joins the batch.
      setImmediate(() => {
        this.scheduled = false;
        this.serialised(() => this.flush());
      });
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
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      await this.recover();
      const decisions = batch.map(({ event, receivedAt }) => {
        const decision = reduce(this.state, event, dedupKey(event), receivedAt, this.limits);
        if (decision.outcome !== 'duplicate') applyPatch(this.state, decision.patch);
        return decision;
      });
      const patches = decisions.flatMap((decision) => (decision.outcome === 'duplicate' ? [] : [decision.patch]));
      if (patches.length > 0) await this.commit(patches);
      batch.forEach((item, index) => item.resolve(decisions[index] as Decision));
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }

  /** Commits patches already applied to memory; on failure, puts memory back to what the store holds. */
  private async commit(patches: Patch[]): Promise<void> {
    try {
      await this.store.commit(mergePatches(patches));
    } catch (error) {
      // Memory holds the batch the store refused: reload what was committed (or, if even that
      // fails, retry the reload before the next batch is reduced).
      this.dirty = true;
      await this.recover().catch(() => undefined);
      throw error;
    }
  }

  private async recover(): Promise<void> {
    if (!this.dirty) return;
    replaceState(this.state, await this.store.load());
    this.dirty = false;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
