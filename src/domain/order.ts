// How two events are ordered. StatusMate's `created_at` is its own clock; the order in which
// events reach the exporter is another. Comparing a time from one with a time from the other
// mistakes ordinary delivery delay for age, so two events are ordered by `created_at` only when
// both carry one, and otherwise by arrival.

/** Where an event stands in that order. Stored on every record an event wrote. */
export type Stamp = {
  /** StatusMate's `created_at`, when it was sent and trusted (see trustedCreatedAt); else null. */
  at: number | null;
  /**
   * The event's place in arrival order: one more than the highest stamp in the state it was
   * reduced against. Derived from the state, never from a clock or a process, so every process
   * that folds the same events in the same order assigns the same numbers.
   */
  seq: number;
};

/** The stamp of records written before stamps existed: older than anything that arrives now. */
export const LEGACY_SEQ = 0;

/** Whether `a` happened before `b`: by `created_at` when both carry it, else by arrival. */
export function isBefore(a: Stamp, b: Stamp): boolean {
  if (a.at !== null && b.at !== null && a.at !== b.at) return a.at < b.at;
  return a.seq < b.seq;
}

/**
 * A `created_at` further ahead of receipt than the allowed clock skew is not trusted for
 * ordering: one event stamped in the year 2100 would otherwise make every later event look
 * older, and freeze what it set for good.
 */
export function trustedCreatedAt(createdAt: number | null, receivedAt: number, maxClockSkewSeconds: number): number | null {
  if (createdAt === null || createdAt > receivedAt + maxClockSkewSeconds) return null;
  return createdAt;
}

/**
 * A stored stamp as it counts against an event received at `receivedAt`: a `created_at` that is
 * now beyond the skew (written by an exporter that trusted it) falls back to arrival order, so a
 * component frozen by such an event recovers on its next update.
 */
export function asTrusted(stamp: Stamp, receivedAt: number, maxClockSkewSeconds: number): Stamp {
  if (stamp.at !== null && stamp.at > receivedAt + maxClockSkewSeconds) return { at: null, seq: stamp.seq };
  return stamp;
}
