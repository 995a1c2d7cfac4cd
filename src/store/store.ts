import type { Patch, State } from '../domain/state.js';

/**
 * Where the state lives between restarts. The ingestor is the only writer and calls `commit`
 * one patch at a time, never concurrently; memory is changed only after `commit` resolved.
 */
export interface Store {
  /** Reads the whole persisted state. Called once, at start-up, before any commit. */
  load(): Promise<State>;
  /**
   * Persists every change of the patch (state changes and the event's dedup record) in one
   * atomic step: all or nothing. Rejects when it could not; then nothing was changed.
   */
  commit(patch: Patch): Promise<void>;
  /** Whether the store can serve reads and commits right now (readiness, `statusmate_store_up`). */
  healthy(): Promise<boolean>;
  /** Releases the store; called once, after the HTTP servers stopped. */
  close(): Promise<void>;
}

/** A commit that failed: the event was not applied and StatusMate should retry it. */
export class StoreError extends Error {
  override name = 'StoreError';
}
