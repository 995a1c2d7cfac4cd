import { SNAPSHOT_PIECE_CHARS } from './snapshot.js';

// When the fold loop (fold-loop.ts, through snapshot-writer.ts) writes a snapshot, and how long it may pause for one: the
// policy, its defaults, and how a snapshot's due age grows with its size. A module of its own so
// that what sets the snapshots' cadence is found by its name, not inside the loop.

export type SnapshotPolicy = {
  /** How often the loop checks the store, its lag, and whether a snapshot is due. */
  checkMs: number;
  /**
   * A snapshot is written once the stored one is this old and entries followed it, when it is at
   * most `ageBytes` long; a longer one waits as many times longer as it is larger, up to
   * `maxAgeCapMs` (see ageDueMs)…
   */
  maxAgeMs: number;
  ageBytes: number;
  maxAgeCapMs: number;
  /** …or once this many entries were folded since (what a start folds after the snapshot)… */
  maxEntries: number;
  /**
   * …or once the entries folded since take this many bytes, or as many as the stored snapshot if
   * more: writing a snapshot then costs at most about what the entries since cost to append.
   */
  maxBytes: number;
  /** Characters of the snapshot's text a piece holds (see SNAPSHOT_PIECE_CHARS). */
  pieceChars: number;
  /**
   * How long the fold may wait for a snapshot's write (it does not fold meanwhile, see
   * FoldLoop.snapshot()); a write that takes longer fails, and the fold goes on.
   */
  maxPauseMs: number;
};

export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = {
  checkMs: 2_000,
  maxAgeMs: 60_000,
  ageBytes: 1024 * 1024,
  // Half the StatusMateStoreSnapshotStale alert's hour: a state that keeps changing never trips it.
  maxAgeCapMs: 30 * 60_000,
  maxEntries: 30_000,
  maxBytes: 16 * 1024 * 1024,
  pieceChars: SNAPSHOT_PIECE_CHARS,
  maxPauseMs: 4_000,
};

/**
 * How old the stored snapshot may get, while entries follow it, before age alone makes the next
 * one due. A snapshot writes the whole state, however few entries came since: at a minute, a
 * 36 MB state (10,000 busy components at the default bounds) that gets one webhook a minute
 * would write 36 MB a minute to the volume or Redis, and pause the fold for half a second each
 * time. Scaled by size, age alone writes at most about `ageBytes` a `maxAgeMs`; the other rules
 * (entries, bytes) still bound what a start folds.
 */
export function ageDueMs(policy: Pick<SnapshotPolicy, 'maxAgeMs' | 'ageBytes' | 'maxAgeCapMs'>, snapshotBytes: number): number {
  const scale = Math.max(1, snapshotBytes / policy.ageBytes);
  return Math.min(policy.maxAgeCapMs, policy.maxAgeMs * scale);
}
