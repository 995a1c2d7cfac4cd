import type { Patch, State } from '../domain/state.js';

/**
 * Where the state lives between restarts. The ingestor is the only writer. It may call `commit`
 * again before the previous commit resolved (it reduces the next batch while one is written),
 * so a store applies commits in the order they were called, and once one fails it refuses every
 * later one until `load` is called: no commit may land on top of one that did not.
 */
export interface Store {
  /** Reads the whole persisted state: at start-up, and to recover after a failed commit. */
  load(): Promise<State>;
  /**
   * Persists every change of the patch (state changes and the event's dedup record) in one
   * atomic step: all or nothing. Rejects when it could not; then nothing was changed.
   */
  commit(patch: Patch): Promise<void>;
  /**
   * Whether the store can serve reads and commits right now (readiness, `statusmate_store_up`).
   * A cheap check by default; see HealthOptions for a write that proves commits work.
   */
  healthy(options?: HealthOptions): Promise<boolean>;
  /** Releases the store; called once, after the HTTP servers stopped. */
  close(): Promise<void>;
}

export type HealthOptions = {
  /**
   * Also prove that a commit would succeed, by a write of the store's own that changes no state.
   * Asked while commits are failing (a full disk passes a read-only check): a pod that is not
   * ready gets no webhooks, so no commit of an event would ever show that the store recovered.
   */
  probeWrite?: boolean;
  /** Told why, when the answer is false and the store knows. */
  onFailure?: (reason: string) => void;
};

/** A commit that failed: the event was not applied and StatusMate should retry it. */
export class StoreError extends Error {
  override name = 'StoreError';
}
