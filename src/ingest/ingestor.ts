import type { StatusMateEvent } from '../domain/event.js';
import { prune } from '../domain/prune.js';
import { reduce, type Decision, type Limits } from '../domain/reducer.js';
import { applyPatch, isEmptyPatch, type State } from '../domain/state.js';
import type { Store } from '../store/store.js';
import { dedupKey } from './dedup-key.js';

/**
 * The one writer of the state: reduce → commit → swap into memory, one event at a time. Events
 * are serialised so that each is reduced against the state its predecessor committed, whatever
 * the store's latency.
 */
export class Ingestor {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    readonly state: State,
    private readonly limits: Limits,
  ) {}

  /** Applies one event; resolves once it is committed, rejects (state unchanged) when the store failed. */
  ingest(event: StatusMateEvent, receivedAt: number): Promise<Decision> {
    return this.serialised(async () => {
      const decision = reduce(this.state, event, dedupKey(event), receivedAt, this.limits);
      if (decision.outcome === 'duplicate') return decision;
      await this.store.commit(decision.patch);
      applyPatch(this.state, decision.patch);
      return decision;
    });
  }

  /** Forgets what the retention no longer requires; returns how many records went. */
  prune(now: number, retentionSeconds: number): Promise<number> {
    return this.serialised(async () => {
      const patch = prune(this.state, now, retentionSeconds);
      if (isEmptyPatch(patch)) return 0;
      await this.store.commit(patch);
      applyPatch(this.state, patch);
      return patch.deleteIncidents.length + patch.deleteMaintenances.length + patch.forgetSeen.length;
    });
  }

  /** Resolves when every event accepted so far has been committed or has failed. */
  async drain(): Promise<void> {
    await this.tail.catch(() => undefined);
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
