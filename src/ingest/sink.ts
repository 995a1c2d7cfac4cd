import type { StatusMateEvent } from '../domain/event.js';
import type { ForgetDecision, ForgetTarget } from '../domain/forget.js';
import type { Decision } from '../domain/reducer.js';
import type { State } from '../domain/state.js';

/**
 * Where the webhook handler sends a validated event, and the state the collectors render: the
 * fold loop (src/log/fold-loop.ts), whatever the store.
 */
export interface EventSink {
  /** Read by the renderers; replaced in place (replaceState), never swapped for another object. */
  readonly state: State;
  /** Resolves once the event is durable with the reducer's decision; rejects when it could not be stored (answer 503). */
  ingest(event: StatusMateEvent, receivedAt: number): Promise<Decision>;
  /** An operator's forget, through the log like an event: resolves once durable and folded, with what it found. */
  forget(target: ForgetTarget): Promise<ForgetDecision>;
  /** Resolves when every event accepted so far has been answered. */
  drain(): Promise<void>;
}

/**
 * What the probes and `statusmate_store_up` ask. `up`: the store answers and takes writes.
 * `ready`: it is up and this process serves its current state (the fold reached the log's end).
 */
export interface StoreHealth {
  up(): Promise<boolean>;
  ready(): Promise<boolean>;
  /** Why this process is not ready, in words for `/readyz` (no paths, addresses or tokens); undefined when ready. */
  notReady(): Promise<string | undefined>;
}
