import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_ALERT_LIMITS, type AlertLimits, type StoredAlert } from '../domain/alert-state.js';
import type { AlertsDecision } from '../domain/alerts.js';
import type { StatusMateEvent } from '../domain/event.js';
import type { ForgetDecision, ForgetTarget } from '../domain/forget.js';
import { chunkDeclarations, undeclaredComponents, type DeclaredPage, type DeclareDecision, type Overlay } from '../domain/inventory.js';
import { FOLD_RULES } from '../domain/fold-rules.js';
import type { Decision, Limits, Notice } from '../domain/reducer.js';
import { createState, emptyPatch, replaceState } from '../domain/state.js';
import { dedupKey } from '../ingest/dedup-key.js';
import type { EventSink, StoreHealth } from '../ingest/sink.js';
import type { Logger } from '../logger.js';
import {
  LogBehind,
  LogLost,
  LogNotStarted,
  StoreError,
  StoreLoading,
  StoreNoAnswer,
  StoreRefused,
  type LogStore,
  type LogTip,
  type Position,
  type StoredEntry,
} from '../store/store.js';
import { withTimeout } from '../store/with-timeout.js';
import { AppendQueue } from './append-queue.js';
import { DeclaredOverlay } from './declared-overlay.js';
import {
  decodeEntry,
  encodeAlerts,
  encodeDeclare,
  encodeEntry,
  encodeForget,
  entryBytes,
  EVENT_ENTRY_FORMAT,
  MAX_DECLARED_PER_ENTRY,
  type ParsedEntry,
} from './entry.js';
import { asError, foldEntry, type EntryFoldContext } from './fold-entry.js';
import { decodeSnapshot, SNAPSHOT_FORMAT, snapshotLength } from './snapshot.js';
import { DEFAULT_SNAPSHOT_POLICY, type SnapshotPolicy } from './snapshot-policy.js';
import { SnapshotWriter } from './snapshot-writer.js';

/**
 * The log's time is cut into windows of this length; the fold prunes when an entry is the first
 * of a new window. Driven by entry times alone, so every process prunes at the same entry.
 */
export const PRUNE_WINDOW_SECONDS = 600;

/** What `/readyz` says when not ready (see FoldLoop.notReady). */
const NOT_READY = {
  closing: 'shutting down',
  refused:
    "the store holds a log this process cannot fold (lost, replaced, newer, or another install's): an operator must restore or reset it (or, for another install's, give this one its own prefix); see the log",
  writes: 'the store refuses writes (full disk, out of memory, read-only, file deleted); see the log',
  commands: 'the store refuses a command this process needs (an ACL without it, a command disabled); see the log',
  unreachable: 'the store does not answer',
  storeLoading: 'the store is loading its data (Redis restarted on a large dataset)',
  loading: 'the state is not loaded from the store yet',
  behind: 'folding the log: not caught up yet',
} as const;

/** A fold that has heard nothing from its store for this long is down (a read waits about 1 s at most). */
const READER_SILENCE_MS = 3_000;
/**
 * How long a start waits for the snapshot to load before its servers listen anyway (not ready):
 * the largest snapshot within the bounds loads in about 2 s (bench section 7), and the chart's
 * liveness probe gives a start about 35 s.
 */
const START_LOAD_WAIT_MS = 20_000;
const READ_COUNT = 1_000;
/** Entries folded (and answered) before the event loop may turn: a few milliseconds' worth. */
const FOLD_SLICE = 100;
/** How long a readiness check waits for the fold to reach the log's end as of the check. */
const CATCH_UP_WAIT_MS = 2_000;
/** How long one of the loop's own checks (probe, tip) may take before the store counts as down. */
const CHECK_TIMEOUT_MS = 1_000;

export type FoldLoopOptions = {
  store: LogStore;
  limits: Limits;
  retentionSeconds: number;
  logger: Logger;
  /** Memory-only records on top of the folded state: the declared status pages (see inventoryPatch). */
  overlay?: Overlay;
  /**
   * The status pages declared now (the file in force, read again after each reload): what the
   * loop declares in the log, so that the ledger knows them (see declare()).
   */
  declared?: () => readonly DeclaredPage[];
  /** How long an event may take from arrival to answer before it is answered 503. */
  answerTimeoutMs?: number;
  snapshots?: Partial<SnapshotPolicy>;
  /** PRUNE_WINDOW_SECONDS unless a test needs retention to pass quickly; every process folding one log must agree. */
  pruneWindowSeconds?: number;
  /** Bounds of the firing alerts held (DEFAULT_ALERT_LIMITS), written into each alerts entry. */
  alertLimits?: Partial<AlertLimits>;
};

/** What /metrics says of the fold and its store (per process). */
export type FoldStats = {
  entriesFolded: number;
  lagEntries: number;
  lagSeconds: number;
  /** The log time of the last entry folded (or of the snapshot loaded), Unix seconds; null before either. */
  foldedTime: number | null;
  /** The id of the shared log folded (Redis: its epoch); null for a store of one process, or before it is known. */
  epoch: string | null;
  /** Age of the newest snapshot, by the log's time, in seconds; null before any. */
  snapshotAgeSeconds: number | null;
  snapshotBytes: number;
  snapshotFailures: number;
  reconnects: number;
};

/** The line a store that answers it is loading its data is logged with (see storeIsLoading). */
export const STORE_LOADING = 'the store is loading its data (Redis restarted on a large dataset): not ready until it has loaded';

/** The line a refusal of the store is logged with (its `reason` says what was found). */
export const REFUSING_STORE = 'refusing the store: it is not what this process can fold; not ready until an operator acts (see the README)';

/**
 * The answer to a retry of an event already folded, one for all: a retry storm answers many, and
 * a fresh empty patch made 11 lists and an object for each. Its caller (the webhook handler) reads
 * its outcome and notices only; frozen, lists and all, so that a caller changing it throws rather
 * than changing every later answer.
 */
const DUPLICATE: Decision = frozenDuplicate();

function frozenDuplicate(): Decision {
  const patch = emptyPatch();
  for (const list of Object.values(patch)) Object.freeze(list);
  return Object.freeze({ outcome: 'duplicate', patch: Object.freeze(patch), notices: Object.freeze([]) as unknown as Notice[] });
}

/**
 * The one writer, the same for every store: the state is the fold of an ordered, durable log.
 *
 * A webhook's event is encoded into an entry and appended (events of one loop turn in one
 * append); the loop reads the log in order and reduces every entry with the pure reducer, the
 * entry's log time as receipt time and the appender's limits, so every process that folds the
 * same log holds the same state. An event is answered once its entry is durable and folded,
 * with the decision of that fold. The state never runs ahead of the log: an append that failed
 * changed nothing, and there is nothing to recover.
 *
 * Pruning happens inside the fold, when the log's time enters a new window. Snapshots (the
 * serialised state and the entry it covers) are written when the stored one is old or the log
 * long; a process loads the newest at start, or when the entries it would read next were
 * trimmed, and folds on from there.
 *
 * Health: `up` while the store answers and takes writes; `ready` once, in addition, the fold
 * reached the end of the log as of the check. A log that is not the one this process folded
 * (LogLost) stops the fold for good: no 200, not ready, one log line, until an operator acts.
 *
 * Its parts, each in a module of its own: AppendQueue appends and answers, foldEntry is what one
 * entry does to the state, DeclaredOverlay keeps the status pages file's records apart, and
 * SnapshotWriter writes the snapshots.
 */
export class FoldLoop implements EventSink, StoreHealth {
  readonly state = createState();
  private readonly store: LogStore;
  private readonly logger: Logger;
  private readonly policy: SnapshotPolicy;
  /** The entries to append and the webhooks waiting for their answers. */
  private readonly appends: AppendQueue;
  /** What the fold of every entry is given (foldEntry). */
  private readonly entryContext: EntryFoldContext;
  /** Writes the snapshots; while it does, the fold waits (`snapshots.writing`). */
  private readonly snapshots: SnapshotWriter;

  private point: Position;
  private pointTime = 0;
  /** Whether the state was loaded from the store at least once. */
  private loaded = false;
  /** Whether the state was checked against the log since the store last failed to answer. */
  private synced = false;
  private reloadNeeded = false;
  /** Where the log ended when the fold last synced. */
  private catchUp: Position;
  /** The log is not the one folded: permanent. */
  private refusal: string | undefined;
  /** Appends fail: until one (or a probe write) succeeds. */
  private failure: string | undefined;
  private closing = false;
  private closed = false;
  private lastReply = 0;
  private lastReadError: string | undefined;
  /** The last read's failure was the store refusing a command (its words are logged by readFailed). */
  private readRefused = false;
  /** The read failure after which `log opened` was last logged: a sync after each retry of one refusal says nothing new. */
  private openedAfter: string | undefined;
  /** The store refuses a command of the loop's checks (where the log ends): until one is taken again. */
  private checkRefusal: string | undefined;
  /** The store answers that it is loading its data (Redis' words): until it takes a command of the loop's. */
  private storeLoading: string | undefined;

  private loop: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  private entriesFolded = 0;
  private lag = { entries: 0, seconds: 0 };

  /** The declared pages' records on top of the folded state: memory-only, never in a snapshot. */
  private readonly overlay: DeclaredOverlay;
  /** Whether the ledger may lack declared components: checked (and declared) once the fold has caught up. */
  private declareWanted = true;
  /** The declaration in flight, if any: it never rejects. */
  private declaring: Promise<void> | undefined;
  private lastDeclareError: string | undefined;

  constructor(private readonly options: FoldLoopOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.policy = { ...DEFAULT_SNAPSHOT_POLICY, ...options.snapshots };
    this.appends = new AppendQueue({
      store: this.store,
      answerTimeoutMs: options.answerTimeoutMs ?? 5_000,
      maxClockSkewSeconds: options.limits.maxClockSkewSeconds,
      writesFailing: (error) => this.writesFailing(error),
      writesWork: () => this.writesWork(),
    });
    this.point = this.store.origin;
    this.catchUp = this.store.origin;
    this.overlay = new DeclaredOverlay(options.overlay);
    this.overlay.apply(this.state);
    this.entryContext = {
      limits: options.limits,
      pruneWindowSeconds: options.pruneWindowSeconds ?? PRUNE_WINDOW_SECONDS,
      logger: this.logger,
      redate: (keys) => this.overlay.redate(this.state, keys),
      forgot: () => {
        this.overlay.apply(this.state);
        // A declared page or component forgotten is declared again (from then on) by every process whose file declares it.
        this.declareWanted = true;
      },
    };
    this.snapshots = new SnapshotWriter({
      store: this.store,
      policy: this.policy,
      logger: this.logger,
      state: this.state,
      folded: () => ({ position: this.point, time: this.pointTime }),
      isFolded: (record) => !this.overlay.has(record),
      refuse: (reason) => this.refuse(reason),
      checkTimeoutMs: CHECK_TIMEOUT_MS,
    });
  }

  /**
   * Opens the store (rejecting with its reason when it cannot serve at all, such as a file another
   * process holds), then starts folding; resolves after the first attempt to load the state and
   * fold the log to its end, so an embedded store is loaded before the servers listen, and a Redis
   * that is down, or stops answering meanwhile, only delays readiness.
   */
  async start(): Promise<void> {
    await this.store.open();
    // Proved before the state is loaded, not at the first check: the probe is what tells
    // seed-redis that a replica has loaded the log, and one written after the load would leave a
    // moment in which a replica that loaded the empty log before the seed was not yet seen. Its
    // outcome is the first check's to judge (readiness), as it was before.
    if (this.store.connected()) await withTimeout(this.store.probe(), CHECK_TIMEOUT_MS).catch(() => undefined);
    // A store that is not reachable yet is synced by the loop once it is.
    const firstSync = this.store.connected() ? this.syncOnce() : Promise.resolve();
    this.loop = this.run(firstSync);
    // Neither wait below outlasts a store that stops answering (a Redis paused or hung: its
    // commands have no timeout): the servers would not listen, the liveness probe would fail, and
    // the pod be killed without a line saying why. The servers then listen, not ready, and the
    // loop's checks judge the store from there, as for a replica already running.
    await Promise.race([firstSync.catch(() => undefined), sleep(START_LOAD_WAIT_MS, undefined, { ref: false })]);
    // The entries after the snapshot are folded before the servers listen, as a start that loaded
    // the state would have it: the first scrape already shows everything acknowledged.
    let folded = this.point;
    let movedAt = Date.now();
    while (this.synced && !this.isRefused() && this.store.before(this.point, this.catchUp)) {
      if (this.point !== folded) {
        folded = this.point;
        movedAt = Date.now();
      } else if (Date.now() - movedAt >= READER_SILENCE_MS) break;
      await sleep(5);
    }
    // Then the declared components the ledger lacks are declared, so that the first scrape has
    // their series too (a store that cannot take it now is retried: see declare()).
    await this.declare();
    // Jitter, so that replicas started together do not all snapshot at the same moment.
    const every = this.policy.checkMs + Math.floor(Math.random() * (this.policy.checkMs / 5));
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
  }

  // ---- taking events ----------------------------------------------------------------------

  /** Why nothing can be appended now (answered 503), or undefined. */
  private notTaking(): StoreError | undefined {
    if (this.refusal !== undefined) return new StoreError(`not stored: ${this.refusal}`);
    if (this.closing) return new StoreError('not stored: the exporter is shutting down');
    if (!this.store.connected() || !this.synced) return new StoreError(`not stored: the ${this.store.kind} store is unavailable`);
    return undefined;
  }

  ingest(event: StatusMateEvent, _receivedAt: number): Promise<Decision> {
    // _receivedAt is this process's clock; the fold uses the entry's log time, the same everywhere.
    const refused = this.notTaking();
    if (refused) return Promise.reject(refused);
    // A retry of an event already folded (so already durable) is answered without an append:
    // StatusMate's retry storms cost a lookup, not a write.
    if (this.store.readsAreDurable && (event.deliveryAttempt ?? 0) >= 1 && this.state.seen.has(dedupKey(event))) {
      return Promise.resolve(DUPLICATE);
    }
    const { limits, retentionSeconds } = this.options;
    return this.appends.enqueue(
      (origin) => encodeEntry(origin, event, limits, retentionSeconds),
      (origin) => ({ origin, event, rules: FOLD_RULES, limits, retentionSeconds }),
      event.createdAt,
    ) as Promise<Decision>;
  }

  /**
   * Appends an operator's forget to the log and resolves with its fold, as ingest does for an
   * event: once it is durable and folded here (every other process folds the same entry).
   */
  forget(target: ForgetTarget): Promise<ForgetDecision> {
    const refused = this.notTaking();
    if (refused) return Promise.reject(refused);
    return this.appends.enqueue((origin) => encodeForget(origin, target, this.options.limits, this.options.retentionSeconds)) as Promise<ForgetDecision>;
  }

  /**
   * Appends Alertmanager's alerts (each with the components this process's `alert_matchers`
   * chose) and resolves with their fold, as ingest does for an event: once durable and folded.
   */
  alerts(alerts: readonly StoredAlert[]): Promise<AlertsDecision> {
    const refused = this.notTaking();
    if (refused) return Promise.reject(refused);
    const limits = {
      ...this.options.limits,
      ...DEFAULT_ALERT_LIMITS,
      maxClockSkewSeconds: this.options.limits.maxClockSkewSeconds,
      ...this.options.alertLimits,
    };
    return this.appends.enqueue((origin) => encodeAlerts(origin, alerts, limits, this.options.retentionSeconds)) as Promise<AlertsDecision>;
  }

  /** Resolves when every event accepted so far has been answered. */
  drain(): Promise<void> {
    return this.appends.drain();
  }

  private writesFailing(error: Error): void {
    // A store loading its data refuses every write until it has loaded, and then takes them: no
    // full disk nor read-only store for an operator to look for.
    if (error instanceof StoreLoading) {
      this.storeIsLoading(error.message);
      return;
    }
    const reason = error.message;
    if (this.failure === undefined) {
      // A write that got no answer (Redis stopped, not closed) was not refused: an operator told
      // "refuses writes" looks for a full disk, an ACL or OOM, not for a store that hangs.
      const words = error instanceof StoreNoAnswer ? 'the store does not answer' : 'the store refuses writes';
      this.logger.error({ store: this.store.kind, err: reason }, `${words}: not ready until a write succeeds`);
    }
    this.failure = reason;
  }

  private writesWork(): void {
    this.storeLoaded();
    if (this.failure === undefined) return;
    this.failure = undefined;
    // A refused store takes no webhook whatever its writes do: "again" would read as a recovery.
    if (this.isRefused()) return;
    this.logger.info({ store: this.store.kind }, 'the store takes writes again');
  }

  /**
   * The store answered that it is loading its data (Redis restarted on a large dataset: LOADING to
   * every command until it has). It answers, so it is no store that does not answer, and what it
   * refuses it refuses for now only, not for an ACL or a full disk: said once an episode, in its
   * words; store_up 0 and not ready until it takes a command of the loop's (storeLoaded).
   */
  private storeIsLoading(words: string): void {
    this.lastReply = Date.now();
    if (this.storeLoading === undefined) this.logger.warn({ store: this.store.kind, err: words }, STORE_LOADING);
    this.storeLoading = words;
  }

  /** The store took a command of the loop's: it has loaded its data, if it was loading. */
  private storeLoaded(): void {
    if (this.storeLoading === undefined) return;
    this.storeLoading = undefined;
    this.logger.info({ store: this.store.kind }, 'the store has loaded its data');
  }

  // ---- folding ----------------------------------------------------------------------------

  private async run(firstSync: Promise<void>): Promise<void> {
    let backoff = 50;
    await firstSync.catch((error: unknown) => this.readFailed(error));
    while (!this.closed && !this.isRefused()) {
      try {
        if (!this.store.connected()) {
          await sleep(50);
          continue;
        }
        if (!this.synced) await this.syncOnce();
        const after = this.point;
        const entries = await this.store.read(after, READ_COUNT);
        this.lastReply = Date.now();
        this.lastReadError = undefined;
        this.openedAfter = undefined;
        this.readRefused = false;
        this.storeLoaded();
        await this.foldAll(after, entries);
        if (this.declareWanted && this.declaring === undefined) void this.declare();
        backoff = 50;
      } catch (error) {
        if (this.isClosed()) break;
        if (this.readFailed(error)) continue;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  /**
   * Folds `entries`, read after `after`, FOLD_SLICE at a time, letting the event loop turn between
   * slices: after a pause (a snapshot written, a store that was slow), a thousand entries read at
   * once, folded and answered in one go, kept probes and scrapes waiting for a tenth of a second.
   * Never while a snapshot is written (its pieces are made from one state). Should the point have
   * moved meanwhile (a reload), the rest is not this process's next entries: the loop reads again.
   */
  private async foldAll(after: Position, entries: readonly StoredEntry[]): Promise<void> {
    let expected = after;
    for (let from = 0; from < entries.length; from += FOLD_SLICE) {
      if (from > 0) await turn();
      while (this.snapshots.writing) await this.snapshots.writing;
      if (this.point !== expected) return;
      for (const entry of entries.slice(from, from + FOLD_SLICE)) {
        if (!this.fold(entry)) return;
        expected = entry.position;
      }
    }
  }

  /** Handles a failed read or sync; true when the loop should go on at once. */
  private readFailed(error: unknown): boolean {
    if (error instanceof LogLost) {
      this.refuse(error.message);
      return true;
    }
    this.synced = false;
    if (error instanceof LogBehind) {
      this.reloadNeeded = true;
      return true;
    }
    const message = asError(error).message;
    this.readRefused = error instanceof StoreRefused;
    if (error instanceof StoreLoading) {
      // Said by its own line (storeIsLoading), not as a read that failed.
      this.storeIsLoading(message);
      this.lastReadError = message;
      return false;
    }
    if (error instanceof LogNotStarted) {
      // The store answered: it is up, only not yet holding a log this process may fold.
      this.lastReply = Date.now();
      if (message !== this.lastReadError) this.logger.info({ store: this.store.kind }, message);
      this.lastReadError = message;
      return false;
    }
    // Once per distinct cause, not once per retry.
    if (message !== this.lastReadError) this.logger.warn({ store: this.store.kind, err: message }, 'reading the log failed; retrying');
    this.lastReadError = message;
    return false;
  }

  // Asked through calls: TypeScript keeps a narrowing of `refusal` and `closed` across an await otherwise.
  private isRefused(): boolean {
    return this.refusal !== undefined;
  }

  private isClosed(): boolean {
    return this.closed;
  }

  /**
   * Checks the state against the log: at start, and after every interruption. Loads the snapshot
   * when starting, or when the entries after the last one folded are gone (trimmed while this
   * process was away, or lost by the store), then records where the log ends.
   */
  private async syncOnce(): Promise<void> {
    if (!this.loaded || this.reloadNeeded) {
      const stored = await this.store.readSnapshot();
      let state = createState();
      let point = this.store.origin;
      let time = 0;
      let loaded: { position: Position; time: number; bytes: number } | undefined;
      if (stored) {
        const bytes = snapshotLength(stored.data);
        const decoded = decodeSnapshot(stored.format, stored.data);
        if (decoded.kind === 'newer') {
          throw new LogLost(`the ${this.store.kind} snapshot has format ${decoded.format}; this exporter reads format ${SNAPSHOT_FORMAT} (upgrade it)`);
        }
        if (decoded.kind === 'invalid') throw new LogLost(`the ${this.store.kind} snapshot cannot be read: ${decoded.problem}`);
        state = decoded.state;
        point = stored.position;
        time = stored.time;
        loaded = { position: stored.position, time: stored.time, bytes };
      }
      if (this.loaded) {
        this.logger.warn(
          { store: this.store.kind, folded_to: this.point, snapshot: point },
          'the log no longer holds the entries after the last one folded (trimmed, or lost by the store): reloading from the snapshot',
        );
      }
      // A snapshot being written reads the state as it is (see snapshot()).
      while (this.snapshots.writing) await this.snapshots.writing;
      replaceState(this.state, state);
      this.overlay.applyToLoaded(this.state);
      this.declareWanted = true;
      this.point = point;
      this.pointTime = time;
      this.snapshots.loaded(loaded);
      this.loaded = true;
      this.reloadNeeded = false;
    }
    const tip = await this.store.tip(this.point);
    this.observeTip(tip);
    this.catchUp = tip.position;
    this.synced = true;
    this.lastReply = Date.now();
    this.storeLoaded();
    // A store that refuses the read after it (an ACL without XREAD) has the loop sync again at every
    // retry: said once for one cause, as the read's failure is.
    if (this.lastReadError !== undefined && this.lastReadError === this.openedAfter) return;
    this.openedAfter = this.lastReadError;
    this.logger.info(
      { store: this.store.kind, folded_to: this.point, log_end: tip.position, entries_to_fold: tip.entriesAfter, components: this.state.componentCount },
      'log opened; folding from here',
    );
  }

  /** Folds one entry; false when the fold must stop (a format this version cannot read). */
  private fold(stored: StoredEntry): boolean {
    // An entry this process appended and still waits for is folded from the event it encoded (the
    // same values, already validated): decoding costs more than the fold. Any other is decoded.
    const own = this.appends.ownEntry(stored.fields.o);
    const parsed: ParsedEntry = own && stored.fields.v === String(EVENT_ENTRY_FORMAT) ? { kind: 'entry', entry: own } : decodeEntry(stored.fields);
    if (parsed.kind === 'newer') {
      this.refuse(`log entry ${stored.position} has format ${parsed.format}, newer than this exporter reads (upgrade it)`);
      return false;
    }
    this.entriesFolded += 1;
    this.snapshots.folded(entryBytes(stored.fields));
    if (parsed.kind === 'invalid') {
      // Every process skips it alike, so the states stay equal.
      this.logger.error({ entry: stored.position, problem: parsed.problem }, 'log entry cannot be read; skipped');
      this.advance(stored);
      return true;
    }
    const folded = foldEntry(this.state, stored, parsed, this.pointTime, this.entryContext);
    this.advance(stored);
    if ('error' in folded) this.appends.fail(folded.origin, folded.error);
    else this.appends.answer(folded.origin, folded.answer);
    return true;
  }

  private advance(stored: StoredEntry): void {
    this.point = stored.position;
    this.pointTime = stored.time;
  }

  private refuse(reason: string): void {
    if (this.refusal !== undefined) return;
    this.refusal = reason;
    this.logger.error({ store: this.store.kind, reason }, REFUSING_STORE);
    this.appends.failAll(new StoreError(`not stored: ${reason}`));
  }

  // ---- the declared pages -----------------------------------------------------------------

  /**
   * Puts a new overlay (the status pages file was reloaded) on the state: what the old one
   * added, and no event has touched since, is withdrawn; then the new one is applied, as at a
   * load. Every store alike, and no read of the store.
   */
  async reseed(overlay: Overlay): Promise<void> {
    while (this.snapshots.writing) await this.snapshots.writing;
    this.overlay.replace(this.state, overlay);
    // The new file's components the ledger lacks are declared (answered once folded, or failed: then retried).
    this.declareWanted = true;
    await this.declaring;
    await this.declare();
  }

  /**
   * Appends one declaration of the declared components the folded ledger does not know yet
   * (nothing when it knows them all: a restart with the same file appends nothing), in pieces of
   * at most MAX_DECLARED_PER_ENTRY, and resolves once they are folded. Only once the fold has
   * caught up with the log as of its last sync, so that it rarely declares what another replica
   * already has (and when it does, the fold ignores it: the first declaration wins). Called at
   * start, after a reload, after a load of the snapshot or a forget, and on every turn of the loop
   * while a declaration is wanted: one that cannot be appended now (the store is not ready, or
   * failed) is retried then. Never rejects.
   */
  private declare(): Promise<void> {
    if (this.declaring) return this.declaring;
    const declared = this.options.declared;
    if (!this.declareWanted || !declared || this.notTaking() || this.store.before(this.point, this.catchUp)) return Promise.resolve();
    this.declareWanted = false;
    const chunks = chunkDeclarations(undeclaredComponents(this.state, declared()), MAX_DECLARED_PER_ENTRY);
    if (chunks.length === 0) return Promise.resolve();
    const { limits, retentionSeconds } = this.options;
    const folded = chunks.map((chunk) => this.appends.enqueue((origin) => encodeDeclare(origin, chunk, limits, retentionSeconds)) as Promise<DeclareDecision>);
    const declaring = Promise.all(folded)
      .then(
        (decisions) => {
          this.lastDeclareError = undefined;
          const declaredCount = decisions.reduce((sum, decision) => sum + decision.declared, 0);
          this.logger.info(
            { store: this.store.kind, entries: chunks.length, declared: declaredCount },
            "declared the status pages file's components in the log",
          );
          const overLimit = decisions.reduce((sum, decision) => sum + decision.overLimit, 0);
          if (overLimit > 0) {
            // The ledger keeps what it booked until an operator forgets it (pages a file dropped included),
            // so a file within the limits can still find it full: the components past it get no availability history.
            this.logger.warn(
              { store: this.store.kind, not_booked: overLimit, max_components: limits.maxComponents, max_status_pages: limits.maxStatusPages },
              'declared components not booked in the availability ledger: it holds MAX_COMPONENTS components or MAX_STATUS_PAGES pages already; they have no availability history until an operator forgets others (statusmate-exporter forget)',
            );
          }
        },
        (error: unknown) => {
          this.declareWanted = true;
          const message = asError(error).message;
          if (message !== this.lastDeclareError) {
            this.logger.warn({ store: this.store.kind, err: message }, "declaring the status pages file's components in the log failed; will try again");
          }
          this.lastDeclareError = message;
        },
      )
      .finally(() => {
        if (this.declaring === declaring) this.declaring = undefined;
      });
    this.declaring = declaring;
    return declaring;
  }

  // ---- health -----------------------------------------------------------------------------

  up(): Promise<boolean> {
    return Promise.resolve(
      !this.closed &&
        this.refusal === undefined &&
        this.failure === undefined &&
        this.storeLoading === undefined &&
        !this.commandsRefused() &&
        this.store.connected() &&
        Date.now() - this.lastReply < READER_SILENCE_MS,
    );
  }

  /** Whether the store refuses a command the loop needs now (to read the log, or to check where it ends). */
  private commandsRefused(): boolean {
    return this.readRefused || this.checkRefusal !== undefined;
  }

  /** Ready: up, loaded, and the fold reached the end of the log as it stands at this check. */
  async ready(): Promise<boolean> {
    return (await this.notReady()) === undefined;
  }

  /**
   * Why not ready, or undefined when ready. The words are fixed (the probe answers anyone on the
   * webhook port): the log line of the cause has the store's own error.
   */
  async notReady(): Promise<string | undefined> {
    // The probe is what tells a store that recovered (or still answers LOADING) without a webhook.
    if (this.failure !== undefined || this.storeLoading !== undefined) await this.probe();
    if (this.closed) return NOT_READY.closing;
    if (this.isRefused()) return NOT_READY.refused;
    if (!this.store.connected() || Date.now() - this.lastReply >= READER_SILENCE_MS) return NOT_READY.unreachable;
    if (this.storeLoading !== undefined) return NOT_READY.storeLoading;
    if (this.failure !== undefined) return NOT_READY.writes;
    if (this.commandsRefused()) return NOT_READY.commands;
    if (!(await this.up())) return NOT_READY.unreachable;
    if (!this.synced) return NOT_READY.loading;
    let tip: LogTip;
    try {
      tip = await this.readLogEnd();
    } catch (error) {
      if (error instanceof LogLost) return NOT_READY.refused;
      if (error instanceof StoreLoading) return NOT_READY.storeLoading;
      return error instanceof StoreRefused ? NOT_READY.commands : NOT_READY.unreachable;
    }
    switch (await this.foldUpTo(tip.position, CATCH_UP_WAIT_MS, () => this.isClosed())) {
      case 'stopped':
        return NOT_READY.closing;
      case 'late':
        return NOT_READY.behind;
      case 'reached':
        return undefined;
    }
  }

  /**
   * Where the log ends now, as the store says within CHECK_TIMEOUT_MS (also the lag the metrics
   * show). A log found lost is refused here, as the fold would refuse it, before rejecting.
   */
  private async readLogEnd(): Promise<LogTip> {
    try {
      const tip = await withTimeout(this.store.tip(this.point), CHECK_TIMEOUT_MS);
      this.checksWork();
      this.storeLoaded();
      this.observeTip(tip);
      return tip;
    } catch (error) {
      if (error instanceof LogLost) this.refuse(error.message);
      if (error instanceof StoreRefused) this.checkRefused(error.message);
      if (error instanceof StoreLoading) this.storeIsLoading(error.message);
      throw error;
    }
  }

  /**
   * A check of the log was refused (Redis: an ACL without EVAL, say): the store answers, so this
   * is no store that does not answer, and its own words are what an operator needs. Logged once a
   * cause; store_up 0 and not ready until a check is taken.
   */
  private checkRefused(reason: string): void {
    if (reason !== this.checkRefusal) {
      this.logger.error({ store: this.store.kind, err: reason }, 'the store refuses a command this process needs: not ready until it takes it');
    }
    this.checkRefusal = reason;
  }

  private checksWork(): void {
    if (this.checkRefusal === undefined) return;
    this.checkRefusal = undefined;
    this.logger.info({ store: this.store.kind }, 'the store takes the commands of its checks again');
  }

  /**
   * Waits until the fold has folded every entry up to `end`: the one wait behind readiness and a
   * copy of the state. Answers 'stopped' when `stopped()` says the fold never will (a shutdown, a
   * log refused), and 'late' past `timeoutMs` (this replica is behind: paused, starved of CPU).
   */
  private async foldUpTo(end: Position, timeoutMs: number, stopped: () => boolean): Promise<'reached' | 'stopped' | 'late'> {
    const deadline = Date.now() + timeoutMs;
    while (this.store.before(this.point, end)) {
      if (stopped()) return 'stopped';
      if (Date.now() > deadline) return 'late';
      await sleep(10);
    }
    return 'reached';
  }

  private async probe(): Promise<void> {
    try {
      await withTimeout(this.store.probe(), CHECK_TIMEOUT_MS);
      this.writesWork();
    } catch (error) {
      // A store that is not connected does not answer, which is said (and reported not ready) as
      // such: "refuses writes" with "The client is offline" sent an operator after an ACL or a disk.
      if (!this.store.connected()) return;
      this.writesFailing(asError(error));
    }
  }

  private observeTip(tip: LogTip): void {
    this.lag = { entries: tip.entriesAfter, seconds: Math.max(0, tip.time - this.pointTime) };
  }

  stats(): FoldStats {
    const snapshots = this.snapshots.stats();
    return {
      entriesFolded: this.entriesFolded,
      lagEntries: this.lag.entries,
      lagSeconds: this.lag.seconds,
      foldedTime: this.pointTime > 0 ? this.pointTime : null,
      epoch: this.store.epoch(),
      snapshotAgeSeconds: snapshots.ageSeconds,
      snapshotBytes: snapshots.bytes,
      snapshotFailures: snapshots.failures,
      reconnects: this.store.reconnects(),
    };
  }

  // ---- housekeeping: probe, lag, snapshots ---------------------------------------------------

  /** Runs every checkMs: proves the store takes writes, measures the lag, and snapshots when due. */
  private async check(): Promise<void> {
    if (this.checking || this.closed || this.refusal !== undefined) return;
    this.checking = true;
    try {
      await this.probe();
      // A store loading its data refuses the snapshot too: that is no failure of a snapshot to count.
      if (!this.synced || this.storeLoading !== undefined) return;
      try {
        await this.readLogEnd();
      } catch {
        // readLogEnd refused a lost log (the read of the loop finds most of these too, but not all:
        // a snapshot past the log's end) and noted a refused command.
        return;
      }
      await this.snapshots.writeIfDue(false);
    } finally {
      this.checking = false;
    }
  }

  /**
   * Resolves once the fold reached the log's end as it stands at the call: every entry any
   * replica appended (and acknowledged) before it is then in the state. Rejects with a StoreError
   * when it cannot within `timeoutMs` (this replica is behind: paused, starved of CPU, cut off),
   * or cannot say (the store does not answer). What a copy of the state (GET /-/backup) waits for:
   * a replica behind the log would otherwise answer a copy without entries acknowledged before
   * the request, as if it were the store's.
   */
  async reachLogEnd(timeoutMs: number = CATCH_UP_WAIT_MS): Promise<void> {
    const refused = this.notTaking();
    if (refused) throw refused;
    let tip: LogTip;
    try {
      tip = await this.readLogEnd();
    } catch (error) {
      throw this.notTaking() ?? new StoreError(`the ${this.store.kind} store did not say where its log ends: ${asError(error).message}`);
    }
    // notTaking() on every turn: the fold may stop meanwhile (a shutdown, a log refused), and never reach it.
    const outcome = await this.foldUpTo(tip.position, timeoutMs, () => this.notTaking() !== undefined);
    if (outcome === 'stopped') throw this.notTaking() ?? new StoreError('not stored: the fold stopped');
    if (outcome === 'late') {
      throw new StoreError(
        `this replica's fold is behind the ${this.store.kind} log (${tip.entriesAfter} entries when asked) and did not reach its end within ${timeoutMs} ms: ask again, or ask another replica`,
      );
    }
  }

  /**
   * Writes the state folded so far as the snapshot of `target`, an empty store (see
   * SnapshotWriter.seedInto), once the state is loaded. Answers the snapshot text's length.
   */
  async seedInto(target: LogStore): Promise<number> {
    if (!this.synced || this.refusal !== undefined)
      throw new StoreError(`the ${this.store.kind} store is not loaded${this.refusal === undefined ? '' : `: ${this.refusal}`}`);
    return this.snapshots.seedInto(target);
  }

  /**
   * Stops taking events, answers those in flight, writes a last snapshot (so the next start
   * folds less), and closes the store. Call after the servers stopped.
   */
  async close(): Promise<void> {
    if (this.closing) return this.loop;
    this.closing = true;
    await this.drain();
    clearInterval(this.timer);
    while (this.checking) await sleep(5);
    if (this.refusal === undefined && this.synced && this.failure === undefined) await this.snapshots.writeIfDue(true);
    this.closed = true;
    this.appends.failAll(new StoreError('not stored: the exporter is shutting down'));
    await this.store.close();
    await this.loop;
  }
}
