import { createState, type Patch, type State } from '../domain/state.js';
import type { Store } from './store.js';

/**
 * Keeps nothing beyond the process: the ingestor's in-memory state is all there is. For tests
 * and for users who accept losing the state on restart.
 */
export class MemoryStore implements Store {
  private closed = false;

  async load(): Promise<State> {
    return createState();
  }

  async commit(_patch: Patch): Promise<void> {
    if (this.closed) throw new Error('memory store is closed');
  }

  async healthy(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
