/**
 * The bytes of request bodies the process holds at once, across POST /webhook and
 * POST /alertmanager. Each route bounds one body (MAX_BODY_BYTES; 1 MiB for Alertmanager's), but
 * not how many are held together: a token holder with 900 connections, each a 256 KiB body short
 * of its end, took the process from 102 to 325 MiB RSS (1 MiB bodies on /alertmanager go four
 * times as far). Past this budget a body is refused (503 with Retry-After: both senders retry),
 * never waited for: bodies each waiting for room the others hold would stall until the request
 * timeout.
 */
export const BODIES_IN_FLIGHT_BYTES = 32 * 1024 * 1024;

/** The budget one process's routes share. */
export class BodyBudget {
  private held = 0;

  constructor(readonly limit: number = BODIES_IN_FLIGHT_BYTES) {}

  /** One request's share, empty at first: what it takes is given back whole by its release(). */
  lease(): BodyLease {
    // One object a request, where a literal with two closures was three.
    return new Lease(this);
  }

  /** Takes `bytes` for a lease when they fit (see BodyLease.take). */
  take(bytes: number): boolean {
    if (this.held + bytes > this.limit) return false;
    this.held += bytes;
    return true;
  }

  /** Gives back bytes a lease took. */
  giveBack(bytes: number): void {
    this.held -= bytes;
  }

  /** Bytes held by requests not answered yet. */
  heldBytes(): number {
    return this.held;
  }
}

export type BodyLease = {
  /** The budget's size in bytes, for the refusal's words. */
  readonly limit: number;
  /** Takes `bytes` more for this request; false, taking nothing, when the budget has no room. */
  take(bytes: number): boolean;
  /** Gives back all this request took (once answered; the parsed body is garbage by then). */
  release(): void;
};

class Lease implements BodyLease {
  private taken = 0;

  constructor(private readonly budget: BodyBudget) {}

  get limit(): number {
    return this.budget.limit;
  }

  take(bytes: number): boolean {
    if (!this.budget.take(bytes)) return false;
    this.taken += bytes;
    return true;
  }

  release(): void {
    this.budget.giveBack(this.taken);
    this.taken = 0;
  }
}

/** A body the budget had no room for. */
export class BodiesInFlightError extends Error {
  override name = 'BodiesInFlightError';
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes of request bodies in flight`);
  }
}
