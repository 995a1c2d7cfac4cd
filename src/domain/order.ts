// How two events are ordered. StatusMate's `created_at` is its own clock; the order in which
// events reach the exporter is another. Comparing a time from one with a time from the other
// mistakes ordinary delivery delay for age, so two events are ordered by `created_at` only when
// both carry one, and otherwise by arrival.

import { EVENT_TYPES, type EventType } from './event.js';

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
  /**
   * Equal `at`s (StatusMate stamps to the second) are ordered by what the events say, not by
   * which arrived first: `rank` is the event's type in EVENT_TYPES' order (a maintenance's
   * create, start and finish, an incident's create and finish, then a component's update), and
   * `object` the incident's or maintenance's uuid ('' for an update). It is the order the
   * ledger replays a component's evidence in (compareEvidence), so that the state and the ledger
   * decide a tie alike whichever event arrived first. Absent on stamps written before ties were
   * ordered so: those still decide ties by arrival.
   */
  rank?: number;
  object?: string;
};

const TYPE_RANK = new Map<string, number>(EVENT_TYPES.map((type, rank) => [type, rank]));

/** An event type's place among events of the same `created_at` (see Stamp.rank). */
export function typeRank(type: EventType): number {
  return TYPE_RANK.get(type) ?? 0;
}

/**
 * How a fold orders events of equal `created_at`: by type and object (see Stamp.rank), or by
 * arrival, as releases before that did. A log entry says which (src/log/entry.ts), so that every
 * process, whatever its version, folds an entry the way the release that appended it did.
 */
export type TieOrder = 'type' | 'arrival';

/** The stamp of records written before stamps existed: older than anything that arrives now. */
export const LEGACY_SEQ = 0;

/**
 * Whether `a` happened before `b`: by `created_at` when both carry it (equal ones by type and
 * object, see Stamp), else by arrival.
 */
export function isBefore(a: Stamp, b: Stamp): boolean {
  if (a.at !== null && b.at !== null) {
    if (a.at !== b.at) return a.at < b.at;
    if (a.rank !== undefined && b.rank !== undefined) {
      if (a.rank !== b.rank) return a.rank < b.rank;
      const x = a.object ?? '';
      const y = b.object ?? '';
      if (x !== y) return x < y;
    }
  }
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
