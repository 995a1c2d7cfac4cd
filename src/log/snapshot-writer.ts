import type { State } from '../domain/state.js';
import type { Logger } from '../logger.js';
import { LogLost, StoreError, type LogStore, type Position } from '../store/store.js';
import { withTimeout } from '../store/with-timeout.js';
import { asError } from './fold-entry.js';
import { SNAPSHOT_FORMAT, snapshotPieces } from './snapshot.js';
import { ageDueMs, type SnapshotPolicy } from './snapshot-policy.js';

export type SnapshotWriterOptions = {
  store: LogStore;
  policy: SnapshotPolicy;
  logger: Logger;
  /** The state the loop folds: what a snapshot writes. */
  state: State;
  /** The entry the state is folded to, and its log time: every change to the state moves it. */
  folded: () => { position: Position; time: number };
  /** Whether a record is folded state: the declared pages' records stay out (see DeclaredOverlay). */
  isFolded: (record: object) => boolean;
  /** The store holds a log this process cannot fold (LogLost): the loop stops for good. */
  refuse: (reason: string) => void;
  /** How long the store may take to say which snapshot it holds: as long as the loop's other checks. */
  checkTimeoutMs: number;
};

export type SnapshotStats = {
  /** Age of the newest snapshot, by the log's time, in seconds; null before any. */
  ageSeconds: number | null;
  bytes: number;
  failures: number;
};

/** How many checks apart the tries of a failing snapshot get at most (about a minute at the default 2 s). */
export const SNAPSHOT_RETRY_CHECKS = 32;

/**
 * The checks a snapshot is let pass after its `tries`-th failure in a row: none after the first
 * (the next check tries again), then the tries twice as far apart at each failure, up to
 * SNAPSHOT_RETRY_CHECKS checks apart. Each try sends the whole state (tens of MB at the bounds)
 * and holds the fold up to maxPauseMs: a cause that lasts (an ACL without RENAME or XTRIM, a state
 * too large to write within the pause, a full disk) would otherwise cost that at every check, and
 * a fold paused 4 s every 2 s answers few webhooks. Counted in checks, not in time: a check comes
 * every checkMs, give or take what the one before took.
 */
export const checksToSkip = (tries: number): number => Math.min(SNAPSHOT_RETRY_CHECKS, 2 ** Math.max(0, tries - 1)) - 1;

/**
 * Writes the folded state as the store's snapshot when one is due, and seeds another store with
 * it. While a snapshot is written the fold must not change the state (`writing`): the pieces are
 * made as the store reads them, all from the state at one entry, and the whole text is never held
 * at once. It also keeps what the metrics say of snapshots: the newest one's age and size, and
 * how many writes failed.
 */
export class SnapshotWriter {
  private readonly store: LogStore;
  private readonly policy: SnapshotPolicy;
  private readonly logger: Logger;
  /** Set while a snapshot is written: the fold waits for it. */
  private pause: Promise<void> | undefined;
  private since = { entries: 0, bytes: 0 };
  private position: Position;
  private time: number | null = null;
  private bytes = 0;
  private failures = 0;
  /**
   * The cause of the failed writes since the last one written, how many (logged once a cause), and
   * how many of the checks at which a snapshot is due are let pass before the next try (checksToSkip).
   */
  private failing: { cause: string; tries: number; skip: number } | undefined;

  constructor(private readonly options: SnapshotWriterOptions) {
    this.store = options.store;
    this.policy = options.policy;
    this.logger = options.logger;
    this.position = this.store.origin;
  }

  /** Pending while a snapshot is written: the fold awaits it (in a loop: another may follow) before it changes the state. */
  get writing(): Promise<void> | undefined {
    return this.pause;
  }

  /** An entry of `bytes` was folded: it counts towards the next snapshot. */
  folded(bytes: number): void {
    this.since.entries += 1;
    this.since.bytes += bytes;
  }

  /** The state was loaded from the store's snapshot (`stored`), or from nothing: counts start again from there. */
  loaded(stored: { position: Position; time: number; bytes: number } | undefined): void {
    if (stored) {
      this.position = stored.position;
      this.time = stored.time;
      this.bytes = stored.bytes;
    }
    this.since = { entries: 0, bytes: 0 };
  }

  stats(): SnapshotStats {
    return { ageSeconds: this.time === null ? null : Math.max(0, Date.now() / 1000 - this.time), bytes: this.bytes, failures: this.failures };
  }

  /**
   * Writes a snapshot of the folded state when one is due (or, with `force`, whenever entries
   * were folded since the stored one). Any process may; the store keeps the newest. Never
   * rejects: a failure is counted and logged once a cause, a lost log refused.
   */
  async writeIfDue(force: boolean): Promise<void> {
    try {
      // Bounded like the loop's other checks: a store that hangs (Redis stopped, not closed) would
      // otherwise hold this check, every later one, and the last snapshot of a shutdown for ever.
      const stored = await withTimeout(this.store.snapshotInfo(), this.options.checkTimeoutMs);
      if (stored && this.store.before(this.position, stored.position)) {
        // Another process wrote a newer one: count from there.
        this.position = stored.position;
        this.time = stored.time;
        this.since = { entries: 0, bytes: 0 };
      }
      const { position, time } = this.options.folded();
      if (stored && !this.store.before(stored.position, position)) return;
      if (this.since.entries === 0) return;
      const ageMs = (Date.now() / 1000 - (stored?.time ?? 0)) * 1000;
      const due =
        force ||
        ageMs >= ageDueMs(this.policy, this.bytes) ||
        this.since.entries >= this.policy.maxEntries ||
        this.since.bytes >= Math.max(this.policy.maxBytes, this.bytes);
      if (!due) return;
      // A failing write is tried again less and less often, but a last one at shutdown always.
      if (!force && this.failing !== undefined && this.failing.skip > 0) {
        this.failing.skip -= 1;
        return;
      }
      const started = Date.now();
      const counted = { ...this.since };
      // The store may read the pieces as it sends them (Redis and SQLite's worker thread do, a
      // piece at a time): the fold waits meanwhile. Events are still appended; they are answered
      // once it resumes.
      const { written, length } = await this.pausingFold(
        (data) => this.store.writeSnapshot({ position, time, format: String(SNAPSHOT_FORMAT), data }),
        `the snapshot of entry ${position} was not written within ${this.policy.maxPauseMs} ms, which is as long as webhooks may wait for it`,
      );
      if (!written) return;
      this.position = position;
      this.time = time;
      this.bytes = length;
      // Not zero: the fold goes on the moment the write lets it, before this resumes, and what it
      // folded meanwhile is past this snapshot (uncounted, the last entries before a quiet spell
      // would be in no snapshot, a shutdown's last one included, until another entry came).
      this.since = { entries: Math.max(0, this.since.entries - counted.entries), bytes: Math.max(0, this.since.bytes - counted.bytes) };
      // How long the fold waited: against maxPauseMs, which a growing state may approach.
      const failedBefore = this.failing === undefined ? {} : { failed_tries_before: this.failing.tries };
      this.failing = undefined;
      this.logger.info({ store: this.store.kind, snapshot: position, bytes: this.bytes, ms: Date.now() - started, ...failedBefore }, 'wrote a snapshot');
    } catch (error) {
      if (error instanceof LogLost) {
        this.options.refuse(error.message);
        return;
      }
      this.failures += 1;
      // Once a cause, not at every check: a full disk fails every try for as long as it lasts
      // (statusmate_store_snapshot_failures_total counts them all).
      const cause = asError(error).message;
      if (this.failing?.cause !== cause) this.logger.warn({ store: this.store.kind, err: cause }, 'writing a snapshot failed; will try again');
      const tries = (this.failing?.tries ?? 0) + 1;
      this.failing = { cause, tries, skip: checksToSkip(tries) };
    }
  }

  /**
   * Writes the state folded so far as the snapshot of `target`, an opened store that holds no
   * entry yet, at its origin: how the state of one store seeds another (statusmate-exporter
   * seed-redis: a SQLite file's into an empty Redis; a backup of Redis into a new SQLite file).
   * The fold waits meanwhile, as for its own snapshots, and as long at most (maxPauseMs): a write
   * that takes longer fails. Answers the snapshot text's length.
   */
  async seedInto(target: LogStore): Promise<number> {
    // Also what makes a shared log known to the target (Redis: its epoch), which its writes check.
    const tip = await target.tip(target.origin);
    if (tip.entriesAfter > 0 || (await target.snapshotInfo()) !== null) {
      throw new StoreError(`the ${target.kind} store holds a log already: only an empty one is seeded`);
    }
    while (this.pause) await this.pause;
    const { time } = this.options.folded();
    const { written, length } = await this.pausingFold(
      (data) => target.writeSnapshot({ position: target.origin, time, format: String(SNAPSHOT_FORMAT), data }),
      `the copy of the state was not written within ${this.policy.maxPauseMs} ms, which is as long as webhooks may wait for it`,
    );
    if (!written) throw new StoreError(`the ${target.kind} store holds a log already: only an empty one is seeded`);
    return length;
  }

  /**
   * Hands `write` the pieces of the state as folded now, and holds the fold (`writing`) until it
   * is done or maxPauseMs passed, whichever comes first. Answers what `write` did, and the text's
   * length as made.
   */
  private async pausingFold(write: (data: Iterable<string>) => Promise<boolean>, late: string): Promise<{ written: boolean; length: number }> {
    const made = { length: -1 };
    let resume = () => {};
    this.pause = new Promise<void>((resolve) => (resume = resolve));
    try {
      const written = await withTimeout(write(this.piecesOf(this.options.folded().position, made)), this.policy.maxPauseMs, late);
      return { written, length: made.length };
    } finally {
      this.pause = undefined;
      resume();
    }
  }

  /**
   * The snapshot's pieces, each made as the store reads it, so that its whole text is never held
   * at once; `made.length` counts the text's length. The fold waits while the store reads them
   * (up to maxPauseMs). Should one be read after that, the fold may have moved on, and a snapshot
   * mixing two states must not be written: the write fails.
   */
  private *piecesOf(position: Position, made: { length: number }): Generator<string> {
    for (const piece of snapshotPieces(this.options.state, this.options.isFolded, this.policy.pieceChars)) {
      // Every change to the state (a fold, a reload) moves the point.
      if (this.options.folded().position !== position) {
        throw new Error(`the state changed while its snapshot (of entry ${position}) was being written: the write took longer than the fold waits for it`);
      }
      made.length += piece.length + 1;
      yield piece;
    }
  }
}
