import { applyPatch, cloneState, createState, type Patch, type State } from '../domain/state.js';
import type { HealthOptions, Store } from './store.js';

/**
 * Keeps the committed state in this process only: lost on restart. For tests and for users who
 * accept that. It holds its own copy (maps copied, records shared), so that `load` returns what
 * was committed even after the ingestor's copy ran ahead of a failed commit.
 */
export class MemoryStore implements Store {
  private readonly committed: State = createState();
  private closed = false;

  // Nothing here waits: each method answers at once, a closed store with a rejected promise.
  load(): Promise<State> {
    if (this.closed) return Promise.reject(new Error('memory store is closed'));
    return Promise.resolve(cloneState(this.committed));
  }

  commit(patch: Patch): Promise<void> {
    if (this.closed) return Promise.reject(new Error('memory store is closed'));
    applyPatch(this.committed, patch);
    return Promise.resolve();
  }

  healthy(options: HealthOptions = {}): Promise<boolean> {
    if (this.closed) options.onFailure?.('memory store is closed');
    return Promise.resolve(!this.closed);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
