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

  async load(): Promise<State> {
    if (this.closed) throw new Error('memory store is closed');
    return cloneState(this.committed);
  }

  async commit(patch: Patch): Promise<void> {
    if (this.closed) throw new Error('memory store is closed');
    applyPatch(this.committed, patch);
  }

  async healthy(options: HealthOptions = {}): Promise<boolean> {
    if (this.closed) options.onFailure?.('memory store is closed');
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
