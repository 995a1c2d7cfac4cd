import { randomBytes } from 'node:crypto';
import { createClient, ErrorReply } from 'redis';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { idBefore, idTime, redactedRedisUrl, redisKeys, type RedisKeys } from './redis-format.js';
import { initArgs, LEASE_SCRIPT, RELEASE_SCRIPT, RELIEF_TRIM_SCRIPT, SNAPSHOT_PIECES_TTL_MS, SNAPSHOT_SCRIPT } from './redis-scripts.js';
import { withTimeout } from './with-timeout.js';
import {
  LogBehind,
  LogLost,
  LogNotStarted,
  StoreError,
  StoreLoading,
  StoreRefused,
  type EntryFields,
  type LogStore,
  type LogTip,
  type Position,
  type SnapshotToWrite,
  type StoredEntry,
  type StoredSnapshot,
} from './store.js';

export type RedisStoreOptions = {
  /** redis:// or rediss://, with user, password and database number as the URL gives them. */
  url: string;
  keyPrefix: string;
  /** Redis replicas that must acknowledge an append (WAIT) before it counts as durable; 0: the primary's answer suffices. */
  waitReplicas: number;
  logger: Logger;
  /** How long WAIT may take. */
  waitTimeoutMs?: number;
  /** REDIS_LOG_OWNER: the install this replica belongs to; a log another install owns is refused. Unset: any. */
  owner?: string;
  /**
   * REDIS_NEW_LOG_WAIT_SECONDS, in ms: how long a replica that folded nothing yet waits, on finding
   * no log at all, before it starts one (see NEW_LOG_WAIT_MS). 0: at once.
   */
  newLogWaitMs?: number;
  /** How often the probe reads the eviction policy again (tests shorten it); EVICTION_CHECK_MS by default. */
  evictionCheckMs?: number;
};

const XREAD_BLOCK_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;
/** How long a probe waits for Redis' replicas (REDIS_WAIT_REPLICAS): under the fold loop's 1 s bound on a probe. */
const PROBE_WAIT_MS = 500;
/** How long giving a lease up may wait (at shutdown): past it, the lease runs out by itself. */
const RELEASE_WAIT_MS = 1_000;
/** How far past the fold's position the lag is counted. */
const LAG_COUNT = 1_000;
/**
 * A Redis that restarted empty under running replicas looks, to a replica starting then, like a
 * first install. The running ones mark the log lost at their first look after reconnecting (the
 * client retries every 2 s at most; a read or a tip looks at once), and a replica that started a
 * new log before that would serve an empty state while they refuse theirs: it waits this long
 * first, and refuses too if the mark came meanwhile.
 */
export const NEW_LOG_WAIT_MS = 5_000;

// Redis replies are a boundary: read through schemas, never cast.
const entryReply = z.tuple([z.string(), z.array(z.string())]);
const xreadReply = z.array(z.tuple([z.string(), z.array(entryReply)])).nullable();
const rangeReply = z.array(entryReply);
const stringOrNull = z.string().nullable();
const hashReply = z.array(z.string());
const integerReply = z.number();
const initReply = z.tuple([z.string(), z.number(), z.string(), z.string()]);
const reliefReply = z.tuple([z.number(), z.string()]);
const stringsOrNull = z.array(stringOrNull);
/** A reply of names and values (XINFO STREAM): the values we read are integers. */
const hashLikeReply = z.array(z.unknown());
const STREAM_ID = /^\d+-\d+$/;
/** How often the probe reads Redis' eviction policy again (see warnOfEviction). */
const EVICTION_CHECK_MS = 60_000;
/** warnOfEviction's mark for an INFO that Redis refused. */
const REFUSED_INFO = 'INFO refused';
/** How Redis refuses an XADD of ID 0-0 once every check a write passes has passed (see probe). */
const NEVER_ADDED = /^ERR .*\b0-0\b/;

type Client = ReturnType<typeof connectClient>;

function connectClient(url: string, name: string) {
  return createClient({
    url,
    RESP: 2,
    name,
    // Fail a command at once while disconnected, rather than queueing it: a webhook is answered
    // 503 (StatusMate retries) instead of waiting for a Redis that may not come back soon.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Never give up: exponential back-off with jitter, at most 2 s between attempts.
      reconnectStrategy: (retries: number) => Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 100),
    },
  });
}

function fieldsOf(list: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i] as string] = list[i + 1] as string;
  return fields;
}

/** What an operator does about a log the replicas cannot trust (README, "A log that is not the one a replica folded"). */
const LOST_LOG_ADVICE = 'restore Redis from a backup, or run statusmate-exporter reset-redis --yes to start an empty log';

/**
 * STORE=redis: the log is a Redis Stream that every replica appends to and folds, and the
 * snapshot a hash beside it (keys in redis-format.ts). Two connections: the writer appends and
 * answers the fold loop's checks; the reader's blocking XREAD would hold up anything behind it.
 *
 * Every read and tip check compares the log's epoch with the one this replica folded, and that
 * the stream is still there: a FLUSHALL, a DEL or a log replaced under a running replica is
 * LogLost, not a silent fresh start.
 */
export class RedisStore implements LogStore {
  /** When the eviction policy was last read (see warnOfEviction). */
  private evictionCheckedAt = Number.NEGATIVE_INFINITY;
  /** The policy last said (or REFUSED_INFO): each is said once, until it changes. */
  private evictionSaid: string | undefined;
  readonly kind = 'redis';
  readonly origin = '0-0';
  private readonly keys: RedisKeys;
  private readonly writer: Client;
  private readonly reader: Client;
  private readonly target: string;
  private readonly logger: Logger;
  /** The epoch of the log this replica folds, once known. */
  private epochId: string | undefined;
  /** When this replica, having folded no log, first found Redis holding none (Date.now() ms). */
  private foundNoLogAt: number | undefined;
  private closed = false;
  private reconnectCount = 0;
  /** With a count, names the key each snapshot write sends its pieces into (see writeSnapshot). */
  private readonly writerId = randomBytes(6).toString('base64url');
  private snapshotWrites = 0;
  /** Whether Redis refused XINFO once already (said once; see removedEntries). */
  private xinfoRefused = false;
  readonly readsAreDurable: boolean;

  constructor(private readonly options: RedisStoreOptions) {
    // An entry is in the log once the primary took it, before any replica did.
    this.readsAreDurable = options.waitReplicas === 0;
    this.keys = redisKeys(options.keyPrefix);
    this.logger = options.logger;
    this.target = redactedRedisUrl(options.url);
    this.writer = this.watch(connectClient(options.url, 'statusmate-exporter'), 'writer');
    this.reader = this.watch(connectClient(options.url, 'statusmate-exporter-reader'), 'reader');
  }

  before(a: Position, b: Position): boolean {
    return idBefore(a, b);
  }

  /**
   * Connects, retrying until Redis answers; never rejects: readiness says how it goes. Resolves
   * once both connections are up, or after the first connection timeout, whichever comes first.
   */
  async open(): Promise<void> {
    this.logger.info({ redis: this.target, keys: this.keys.log }, 'connecting to Redis');
    const connecting = [this.writer, this.reader].map((client) =>
      client.connect().catch((error: unknown) => {
        if (!this.closed) this.logger.error({ redis: this.target, err: messageOf(error) }, 'Redis client stopped connecting');
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(connecting), new Promise((resolve) => (timer = setTimeout(resolve, CONNECT_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (this.writer.isReady) await this.warnOfEviction();
  }

  /**
   * Warns when Redis may evict keys under memory pressure: the log, its snapshot and the marks
   * that tell a lost log from a new one are all keys. An evicted epoch is found (the replicas
   * refuse), but a snapshot evicted with its trim mark while the log stays would let a replica
   * started later fold the log's rest alone. INFO, not CONFIG, which managed Redis often disables.
   * Read at open and again by the probe every EVICTION_CHECK_MS (a policy may be changed under a
   * running replica); each policy is said once, and so is an INFO that Redis refuses.
   */
  private async warnOfEviction(): Promise<void> {
    this.evictionCheckedAt = Date.now();
    let policy: string | undefined;
    try {
      const info = await this.send(this.writer, ['INFO', 'memory']);
      policy = typeof info === 'string' ? /^maxmemory_policy:(\S+)/m.exec(info)?.[1] : undefined;
    } catch (error) {
      // Not answering is the probe's to report; a refusal (an ACL without +info) is said once.
      if (!(error instanceof StoreRefused) || this.evictionSaid === REFUSED_INFO) return;
      this.evictionSaid = REFUSED_INFO;
      this.logger.warn(
        { redis: this.target, err: { message: error.message } },
        'Redis refuses INFO: the exporter cannot tell whether it may evict keys; make sure maxmemory-policy is noeviction (see the README)',
      );
      return;
    }
    if (policy === undefined || policy === this.evictionSaid) return;
    const before = this.evictionSaid;
    this.evictionSaid = policy;
    if (policy !== 'noeviction') {
      this.logger.warn(
        { redis: this.target, maxmemory_policy: policy },
        'Redis may evict keys under memory pressure: set maxmemory-policy noeviction, or the log and its snapshot can be lost unseen (see the README)',
      );
    } else if (before !== undefined && before !== REFUSED_INFO) {
      this.logger.info({ redis: this.target, maxmemory_policy: policy }, 'Redis no longer evicts keys (maxmemory-policy noeviction)');
    }
  }

  async append(entries: EntryFields[]): Promise<(Error | null)[]> {
    // NOMKSTREAM: a log deleted or flushed under the replicas stays gone, for the next read to find
    // and refuse (and mark lost when the epoch went too). A plain XADD would make a new stream of
    // the same name, which the folds would take for a log that lost only the entries they folded
    // (a failover): they would reload from the snapshot, or from nothing, and answer 200 on it.
    const adds = entries.map((fields) => this.send(this.writer, ['XADD', this.keys.log, 'NOMKSTREAM', '*', ...Object.entries(fields).flat()]));
    // WAIT covers every write this connection sent before it: the whole batch. Settled at once
    // into a value, so that its failure is never an unhandled rejection while the XADDs are awaited.
    const { waitReplicas } = this.options;
    const replicated =
      waitReplicas > 0
        ? this.send(this.writer, ['WAIT', String(waitReplicas), String(this.options.waitTimeoutMs ?? 1_000)]).then(
            (reply): Error | null => {
              const acknowledged = integerReply.safeParse(reply);
              if (acknowledged.success && acknowledged.data >= waitReplicas) return null;
              const count = acknowledged.success ? acknowledged.data : 'no';
              return new StoreError(`not durable: ${count} of ${waitReplicas} Redis replicas acknowledged (REDIS_WAIT_REPLICAS)`);
            },
            (error: unknown) => new StoreError(`not durable: WAIT failed: ${messageOf(error)}`),
          )
        : Promise.resolve(null);
    const results = await Promise.allSettled(adds);
    const shortOfReplicas = await replicated;
    // An append that failed or was not replicated may still be in the log: its fold then counts
    // it, and StatusMate's retry (delivery_attempt ≥ 1) is answered `duplicate`.
    return results.map((result) => {
      if (result.status === 'rejected') {
        return result.reason instanceof StoreError || result.reason instanceof LogLost ? result.reason : new StoreError(messageOf(result.reason));
      }
      if (stringOrNull.safeParse(result.value).data === null) return new LogLost(`the Redis log ${this.keys.log} is gone: an append found no stream`);
      return shortOfReplicas;
    });
  }

  async read(after: Position, max: number): Promise<StoredEntry[]> {
    // The checks travel in the same pipeline as the blocking read (they are answered before it).
    // The XRANGE of the entry last folded is queued behind the blocking read, so Redis answers it
    // once the read returned, in the same round trip.
    const fresh = after === this.origin;
    const [epoch, exists, trimmed, read, mine] = await Promise.all([
      this.send(this.reader, ['GET', this.keys.epoch]),
      this.send(this.reader, ['EXISTS', this.keys.log]),
      this.send(this.reader, ['GET', this.keys.trimmed]),
      this.send(this.reader, ['XREAD', 'COUNT', String(max), 'BLOCK', String(XREAD_BLOCK_MS), 'STREAMS', this.keys.log, after]),
      fresh ? Promise.resolve([]) : this.send(this.reader, ['XRANGE', this.keys.log, after, after]),
    ]);
    const current = stringOrNull.parse(epoch);
    if (current === null) await this.markLost();
    this.checkEpoch(current);
    if (integerReply.parse(exists) === 0) throw new LogLost(`the Redis log ${this.keys.log} was deleted (its epoch ${this.epochId ?? ''} is still there)`);
    const mark = stringOrNull.parse(trimmed);
    if (mark !== null && idBefore(after, mark)) await this.behind(mark);
    const entries: StoredEntry[] = [];
    for (const [, list] of xreadReply.parse(read) ?? []) {
      for (const [id, fields] of list) entries.push({ position: id, time: idTime(id), fields: fieldsOf(fields) });
    }
    // The entry last folded must still be there once these came, as tip checks it: Redis may have
    // lost it while the read waited, with no connection dropped (a restore, a failover behind a
    // proxy), and these would then be folded on top of entries the log no longer holds.
    if (entries.length > 0 && !fresh && rangeReply.parse(mine).length === 0) throw new LogBehind(`the Redis log no longer holds entry ${after}`);
    return entries;
  }

  /** The log was trimmed past `after`: reload the snapshot, if it covers the trim. */
  private async behind(mark: string): Promise<never> {
    const info = await this.snapshotInfo();
    if (!info || idBefore(info.position, mark)) {
      throw new LogLost(`the Redis log was trimmed to ${mark} but its snapshot covers only ${info?.position ?? 'nothing'}`);
    }
    throw new LogBehind(`the Redis log was trimmed to ${mark}`);
  }

  async tip(from: Position): Promise<LogTip> {
    const fresh = from === this.origin;
    // The snapshot's id is read before the log's last entry and the entry last folded, on the same
    // connection: entries are only added and the trim keeps the stored snapshot's own entry, so
    // what is read after it still holds that entry, whatever other replicas commit meanwhile
    // (checkSnapshotCovered).
    const [init, covered, last, mine, after, trimmed, removed] = await Promise.all([
      this.send(this.writer, initArgs(this.keys, this.epochId, this.options.owner, this.mayStartLog())),
      this.send(this.writer, ['HGET', this.keys.snapshot, 'id']),
      this.send(this.writer, ['XREVRANGE', this.keys.log, '+', '-', 'COUNT', '1']),
      fresh ? Promise.resolve([]) : this.send(this.writer, ['XRANGE', this.keys.log, from, from]),
      this.send(this.writer, ['XRANGE', this.keys.log, fresh ? '-' : `(${from}`, '+', 'COUNT', String(LAG_COUNT)]),
      this.send(this.writer, ['GET', this.keys.trimmed]),
      fresh ? this.removedEntries() : Promise.resolve(null),
    ]);
    const [epoch, exists, lost, owner] = initReply.parse(init);
    if (epoch === '' && lost === '' && this.epochId === undefined) {
      this.foundNoLogAt ??= Date.now();
      throw new LogNotStarted(
        `Redis holds no log under ${this.keys.log}: starting one in ${(this.options.newLogWaitMs ?? NEW_LOG_WAIT_MS) / 1000} s, unless a replica that folded a lost one marks it lost meanwhile`,
      );
    }
    this.foundNoLogAt = undefined;
    if (epoch === '' && this.epochId === undefined) {
      throw new LogLost(`the Redis log was lost under the replicas that folded it (${this.keys.lost}: epoch and time ${lost}): ${LOST_LOG_ADVICE}`);
    }
    this.checkEpoch(epoch === '' ? null : epoch);
    this.checkOwner(owner === '' ? null : owner);
    if (exists === 0) throw new LogLost(`the Redis log ${this.keys.log} was deleted (its epoch ${epoch} is still there)`);
    const end = rangeReply.parse(last)[0]?.[0];
    const mark = stringOrNull.parse(trimmed);
    if (mark !== null && idBefore(from, mark)) await this.behind(mark);
    const holdsFrom = fresh || rangeReply.parse(mine).length > 0;
    this.checkSnapshotCovered(stringOrNull.parse(covered), end, from, holdsFrom);
    // Folding from the log's start, with no snapshot and no trim mark to say why entries are gone:
    // the snapshot and its mark were deleted (or evicted), or the log trimmed by hand before any
    // snapshot. Folding the rest alone would serve a state without the entries removed, ready,
    // beside replicas that folded them.
    if (fresh && removed !== null && mark === null && stringOrNull.parse(covered) === null) {
      throw new LogLost(
        `the Redis log ${this.keys.log} had ${removed} entries removed that no snapshot covers: its snapshot and ${this.keys.trimmed} were deleted or evicted, or the log trimmed by hand; ${LOST_LOG_ADVICE}`,
      );
    }
    // The entry last folded is gone though nothing trimmed it: Redis lost it (a failover to a
    // replica that lacked it). What was folded after the snapshot is no longer the log.
    if (!holdsFrom) throw new LogBehind(`the Redis log no longer holds entry ${from}`);
    return { position: end ?? from, time: end === undefined ? 0 : idTime(end), entriesAfter: rangeReply.parse(after).length };
  }

  /**
   * How many entries were ever removed from the log (XTRIM, XDEL), as the stream itself counts
   * them (Redis 7: XINFO STREAM's entries-added less its length), or null when none was (or Redis
   * does not say: before 7, or an ACL without XINFO, said once). Kept in the stream, the count goes
   * only with the stream, which the epoch tells: unlike the snapshot and the trim mark, no key
   * deleted beside it hides it.
   */
  private async removedEntries(): Promise<number | null> {
    let reply: unknown;
    try {
      reply = await this.send(this.writer, ['XINFO', 'STREAM', this.keys.log]);
    } catch (error) {
      // No stream (a first start; a deleted log, which the epoch tells) is no removal.
      if (!(error instanceof StoreRefused) || /no such key/i.test(error.message)) return null;
      if (!this.xinfoRefused) {
        this.xinfoRefused = true;
        this.logger.warn(
          { redis: this.target, err: { message: error.message } },
          'Redis refuses XINFO: a replica starting without a snapshot cannot tell a log whose snapshot was deleted from a new one; allow +xinfo|stream (see the README)',
        );
      }
      return null;
    }
    const fields = hashLikeReply.safeParse(reply).data ?? [];
    const value = (name: string) => {
      const index = fields.indexOf(name);
      return index >= 0 ? integerReply.safeParse(fields[index + 1]).data : undefined;
    };
    const added = value('entries-added');
    const length = value('length');
    return added !== undefined && length !== undefined && added > length ? added - length : null;
  }

  /**
   * Refuses a snapshot that no reload can mend. The snapshot script trims the log only below the
   * snapshot before, so the log always holds the entry the stored snapshot covers up to: a log
   * that ends before it (an id set by hand, another log's snapshot copied in) or no longer holds it
   * (an XTRIM or XDEL by hand, which may have taken entries after it too) would have a replica
   * load the snapshot, find its entry missing and load it again, thousands of times a second.
   */
  private checkSnapshotCovered(snapshotId: string | null, end: string | undefined, from: Position, holdsFrom: boolean): void {
    if (snapshotId === null || !STREAM_ID.test(snapshotId) || snapshotId === this.origin) return;
    if (end === undefined || idBefore(end, snapshotId)) {
      throw new LogLost(
        `the Redis snapshot (${this.keys.snapshot}) covers the log up to ${snapshotId}, past the end of the log (${end ?? 'no entry'}): it is not this log's snapshot; ${LOST_LOG_ADVICE}`,
      );
    }
    if (!holdsFrom && from === snapshotId) {
      throw new LogLost(
        `the Redis log no longer holds entry ${snapshotId}, up to which its snapshot (${this.keys.snapshot}) covers it: entries were removed by hand (XTRIM, XDEL); ${LOST_LOG_ADVICE}`,
      );
    }
  }

  /** Whether a tip that finds no log may start one: once NEW_LOG_WAIT_MS passed since this replica first found none. */
  private mayStartLog(): boolean {
    const wait = this.options.newLogWaitMs ?? NEW_LOG_WAIT_MS;
    return wait <= 0 || (this.foundNoLogAt !== undefined && Date.now() - this.foundNoLogAt >= wait);
  }

  /**
   * Refuses a log another install owns (REDIS_LOG_OWNER): two installs given one prefix would
   * each fold the other's events and serve one merged state, every replica ready.
   */
  private checkOwner(owner: string | null): void {
    const mine = this.options.owner;
    if (mine === undefined || owner === null || owner === mine) return;
    throw new LogLost(
      `the Redis log ${this.keys.log} belongs to another install: ${this.keys.owner} is ${JSON.stringify(owner)}, REDIS_LOG_OWNER here is ${JSON.stringify(mine)}: give each install its own REDIS_KEY_PREFIX (or Redis database); if it is this install renamed, delete ${this.keys.owner}`,
    );
  }

  private checkEpoch(epoch: string | null): void {
    if (epoch === null) throw new LogLost(`the Redis log's epoch (${this.keys.epoch}) is gone: Redis was flushed or the keys deleted`);
    this.epochId ??= epoch;
    if (epoch !== this.epochId) throw new LogLost(`the Redis log was replaced: its epoch is ${epoch}, this replica folded epoch ${this.epochId}`);
  }

  /**
   * Marks the log this replica folded lost (INIT_SCRIPT), its epoch being gone, before the replica
   * refuses it: a replica started later then refuses too, rather than begin a new, empty log. A
   * mark that cannot be written (a read-only replica after a failover to one without the log)
   * rejects instead, and the caller retries rather than refuse: the loop stops for good at a
   * refusal, and would leave no mark once Redis takes writes again.
   */
  private async markLost(): Promise<void> {
    if (this.epochId === undefined) return;
    try {
      await this.send(this.writer, initArgs(this.keys, this.epochId, this.options.owner));
    } catch (error) {
      const words = `the Redis log's epoch (${this.keys.epoch}) is gone, and marking it lost (${this.keys.lost}) failed: ${messageOf(error)}`;
      throw error instanceof StoreRefused ? new StoreRefused(words) : new StoreError(words);
    }
  }

  /**
   * Why a write found the log's epoch not the one this replica folded, in the words a read would
   * use (gone, or replaced by which epoch): whichever of a replica's reads and writes meets a
   * flushed Redis first, its one log line says the same.
   */
  private async epochChanged(): Promise<LogLost> {
    if (this.epochId !== undefined) {
      const epoch = stringOrNull.parse(await this.send(this.writer, ['GET', this.keys.epoch]));
      // Gone: marked lost before the snapshot's writer refuses it, as a read does (or it is not refused yet).
      if (epoch === null) await this.markLost();
      try {
        this.checkEpoch(epoch);
      } catch (error) {
        if (error instanceof LogLost) return error;
      }
    }
    return new LogLost('the Redis log was replaced or flushed: its epoch is not the one this replica folded');
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    // Before anything is loaded: a replica of another install must not serve this one's state.
    if (this.options.owner !== undefined) this.checkOwner(stringOrNull.parse(await this.send(this.writer, ['GET', this.keys.owner])));
    const fields = fieldsOf(hashReply.parse(await this.send(this.writer, ['HGETALL', this.keys.snapshot])));
    if (Object.keys(fields).length === 0) return null;
    const { id = '', t, v = '', n } = fields;
    const time = Number(t);
    if (!STREAM_ID.test(id) || !Number.isFinite(time)) throw new LogLost(`the Redis snapshot (${this.keys.snapshot}) has an unreadable id or time`);
    // Formats before 4 are one `data` field. A replica of such a release (a rolling upgrade) commits
    // its snapshot by HSET over the hash, so the `n` and `data:<i>` of a pieced snapshot it
    // replaced linger beside its own: they are not part of it.
    const pieced = !/^\d+$/.test(v) || Number(v) >= 4;
    return { position: id, time, format: v, data: this.piecesOf(fields, pieced ? n : undefined) };
  }

  /** The text's pieces from the snapshot's fields; without `n` (written before pieces), the one `data` field. */
  private piecesOf(fields: Record<string, string>, n: string | undefined): string[] {
    if (n === undefined) return [fields.data ?? ''];
    const count = Number(n);
    if (!Number.isSafeInteger(count) || count < 1) throw new LogLost(`the Redis snapshot (${this.keys.snapshot}) has an unreadable piece count n`);
    const names = Array.from({ length: count }, (_, i) => (i === 0 ? 'data' : `data:${i}`));
    const missing = names.find((name) => fields[name] === undefined);
    if (missing !== undefined) throw new LogLost(`the Redis snapshot (${this.keys.snapshot}) is missing a piece (${missing})`);
    return names.map((name) => fields[name] as string);
  }

  async snapshotInfo(): Promise<{ position: Position; time: number } | null> {
    const [id, t] = stringsOrNull.parse(await this.send(this.writer, ['HMGET', this.keys.snapshot, 'id', 't']));
    if (id === null || id === undefined) return null;
    const time = Number(t);
    if (!STREAM_ID.test(id) || !Number.isFinite(time)) throw new LogLost(`the Redis snapshot (${this.keys.snapshot}) has an unreadable id or time`);
    return { position: id, time };
  }

  /**
   * Sends the pieces one at a time (the next is made while the one before travels) into a key of
   * this write's own, then commits them in one script (SNAPSHOT_SCRIPT): the text is never held
   * whole, here or in a Redis client's buffers, and a reader sees the old snapshot or the new one.
   * A key per write, not per replica: a write the fold stopped waiting for (Redis hung) may still
   * be sending when the next one starts, and neither may touch the other's pieces.
   */
  async writeSnapshot(snapshot: SnapshotToWrite): Promise<boolean> {
    try {
      return await this.sendSnapshot(snapshot);
    } catch (error) {
      // Out of memory (noeviction), Redis refuses the snapshot's pieces, so no commit trims the
      // log, which then holds the entries before the stored snapshot for as long as Redis is full.
      if (error instanceof StoreRefused && error.message.startsWith('OOM')) await this.relieveMemory();
      throw error;
    }
  }

  /**
   * Trims the log below the stored snapshot (RELIEF_TRIM_SCRIPT), once for each snapshot or probe
   * that Redis refused for lack of memory: the trim its commit would have done, and more, with none of
   * the commands Redis refuses then. Said when it removed entries (once an episode: the next
   * finds none until a snapshot is committed). Its own failure is only relief not given: the
   * snapshot's is what the writer reports.
   */
  private async relieveMemory(): Promise<void> {
    if (this.epochId === undefined) return;
    let reply: unknown;
    try {
      reply = await this.send(this.writer, ['EVAL', RELIEF_TRIM_SCRIPT, '3', this.keys.snapshot, this.keys.log, this.keys.epoch, this.epochId]);
    } catch (error) {
      this.logger.debug({ redis: this.target, err: messageOf(error) }, 'trimming the log below the snapshot while Redis is out of memory failed');
      return;
    }
    const [removed, snapshot] = reliefReply.parse(reply);
    if (removed <= 0) return;
    this.logger.warn(
      { redis: this.target, snapshot, trimmed: removed },
      'Redis is out of memory: trimmed the log below the stored snapshot to give appends room; no snapshot is written until Redis has room',
    );
  }

  private async sendSnapshot(snapshot: SnapshotToWrite): Promise<boolean> {
    const pieces = `${this.keys.snapshotPieces}${this.writerId}:${this.snapshotWrites++}`;
    let count = 0;
    let travelling: Promise<unknown> | undefined;
    try {
      for (const piece of snapshot.data) {
        const field = count === 0 ? 'data' : `data:${count}`;
        count += 1;
        const sending = Promise.all([
          this.send(this.writer, ['HSET', pieces, field, piece]),
          this.send(this.writer, ['PEXPIRE', pieces, String(SNAPSHOT_PIECES_TTL_MS)]),
        ]);
        // Settled here too, so that a piece that fails while the next is made is never unhandled.
        sending.catch(() => undefined);
        await travelling;
        travelling = sending;
      }
      await travelling;
    } catch (error) {
      await travelling?.catch(() => undefined);
      // The pieces expire anyway; deleted now so that they do not take Redis memory meanwhile.
      this.send(this.writer, ['DEL', pieces]).catch(() => undefined);
      throw error;
    }
    if (count === 0) throw new StoreError('a snapshot has at least one piece');
    const written = integerReply.parse(
      await this.send(this.writer, [
        'EVAL',
        SNAPSHOT_SCRIPT,
        '5',
        this.keys.snapshot,
        this.keys.log,
        this.keys.trimmed,
        this.keys.epoch,
        pieces,
        snapshot.position,
        snapshot.format,
        String(snapshot.time),
        this.epochId ?? '',
        String(count),
      ]),
    );
    if (written === -1) throw await this.epochChanged();
    if (written === -2) throw new StoreError(`pieces of the snapshot were lost while it was written (${pieces} expired or was deleted)`);
    return written === 1;
  }

  /**
   * When a replica last proved it could write to this log (its probe, every few seconds while it
   * runs; milliseconds by its clock), or null when none has since the log began or was reset:
   * how seed-redis tells a log no replica has loaded yet.
   */
  async lastProbe(): Promise<number | null> {
    const value = stringOrNull.parse(await this.send(this.writer, ['GET', this.keys.probe]));
    return value === null ? null : Number(value);
  }

  async probe(): Promise<void> {
    // The SET is what seed-redis reads (lastProbe); the XADD is the append's own command on the
    // log's own key, so that what refuses appends (an ACL without XADD, or that makes the log key
    // read-only, while SET is allowed) keeps this replica not ready, rather than a probe that
    // passes after every refused webhook. Its ID 0-0 is one Redis never takes: the command passes
    // the checks that refuse a write (ACL, OOM under maxmemory, READONLY, MISCONF, NOREPLICAS)
    // and then fails on its arguments, before it looks at the key: the log is never touched.
    try {
      const [, append] = await Promise.all([
        this.send(this.writer, ['SET', this.keys.probe, String(Date.now())]),
        this.send(this.writer, ['XADD', this.keys.log, 'NOMKSTREAM', '0-0', 'probe', '1']).then(
          () => undefined,
          (error: unknown) => error,
        ),
      ]);
      if (!(append instanceof Error) || !NEVER_ADDED.test(append.message)) {
        throw append instanceof Error ? append : new StoreError('a probe XADD of ID 0-0 was not refused as Redis refuses it');
      }
    } catch (error) {
      // Out of memory just after a commit, no snapshot comes due (nothing is folded past the
      // stored one: every append is refused), so none fails and trims: the probe gives the relief.
      if (error instanceof StoreRefused && error.message.startsWith('OOM')) await this.relieveMemory();
      throw error;
    }
    if (Date.now() - this.evictionCheckedAt >= (this.options.evictionCheckMs ?? EVICTION_CHECK_MS)) await this.warnOfEviction();
    // With REDIS_WAIT_REPLICAS, a write counts only once replicated, as an append does: a probe
    // that Redis' replicas did not acknowledge proves nothing an append needs.
    const { waitReplicas } = this.options;
    if (waitReplicas === 0) return;
    // Within the fold loop's bound on a probe (1 s), so that the answer names the cause rather than a timeout.
    const waitMs = Math.min(PROBE_WAIT_MS, this.options.waitTimeoutMs ?? 1_000);
    const acknowledged = integerReply.parse(await this.send(this.writer, ['WAIT', String(waitReplicas), String(waitMs)]));
    if (acknowledged < waitReplicas) throw new StoreError(`not durable: ${acknowledged} of ${waitReplicas} Redis replicas acknowledged (REDIS_WAIT_REPLICAS)`);
  }

  async lease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.round(ttlMs));
    // A Redis that hangs (stopped, not closed) answers nothing and breaks no connection.
    const reply = await withTimeout(
      this.send(this.writer, ['EVAL', LEASE_SCRIPT, '1', `${this.keys.lease}${name}`, holder, String(ttl)]),
      ttl,
      `lease ${name}: no answer from Redis within its ${ttl} ms`,
    );
    return integerReply.parse(reply) === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await withTimeout(
      this.send(this.writer, ['EVAL', RELEASE_SCRIPT, '1', `${this.keys.lease}${name}`, holder]),
      RELEASE_WAIT_MS,
      `lease ${name}: no answer from Redis to its release within ${RELEASE_WAIT_MS} ms`,
    );
  }

  /**
   * Sends a command; Redis' refusal of it (an error reply) rejects as a StoreRefused, with Redis'
   * words. A WRONGTYPE from a key of the log replaced by another type rejects as LogLost; a
   * LOADING (Redis restarted, loading its dataset: every command but a few is refused until it
   * has) as StoreLoading.
   */
  private send(client: Client, args: string[]): Promise<unknown> {
    return client.sendCommand(args).catch(async (error: unknown) => {
      if (!(error instanceof ErrorReply)) throw error;
      if (error.message.startsWith('LOADING')) throw new StoreLoading(error.message);
      const replaced = error.message.startsWith('WRONGTYPE') ? await this.replacedKey(error.message) : undefined;
      if (replaced !== undefined) throw replaced;
      throw new StoreRefused(error.message);
    });
  }

  /**
   * Which key of the log holds a value of another type than its own, after a WRONGTYPE: the log,
   * its snapshot or a mark replaced under the replicas (a DEL then a SET or an LPUSH) is gone as
   * after a DEL, and the key stays wrong for every replica started later; not a command that an
   * ACL refuses, retried for good. Asked with commands of the key's own type, which the README's
   * ACL allows, on the writer (a command on the reader waits behind its blocking read). Undefined
   * when none does (another key, such as a lease, or the key mended meanwhile).
   */
  private async replacedKey(words: string): Promise<LogLost | undefined> {
    const checks: [key: string, type: string, args: string[]][] = [
      [this.keys.log, 'stream', ['XLEN', this.keys.log]],
      [this.keys.snapshot, 'hash', ['HLEN', this.keys.snapshot]],
      ...[this.keys.epoch, this.keys.trimmed, this.keys.lost, this.keys.owner].map((key): [string, string, string[]] => [key, 'string', ['GET', key]]),
    ];
    const replies = await Promise.allSettled(checks.map(([, , args]) => this.writer.sendCommand(args)));
    const index = replies.findIndex((reply) => reply.status === 'rejected' && messageOf(reply.reason).startsWith('WRONGTYPE'));
    const [key, type] = checks[index] ?? [];
    if (key === undefined || type === undefined) return undefined;
    return new LogLost(`the Redis key ${key} no longer holds a ${type} (Redis: ${words}): it was replaced under the replicas; ${LOST_LOG_ADVICE}`);
  }

  connected(): boolean {
    return !this.closed && this.writer.isReady && this.reader.isReady;
  }

  reconnects(): number {
    return this.reconnectCount;
  }

  epoch(): string | null {
    return this.epochId ?? null;
  }

  /** Disconnects; a read in flight is rejected. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.writer.destroy();
    this.reader.destroy();
    return Promise.resolve();
  }

  /**
   * Logs each connection's outages once, not once per reconnect attempt, and counts reconnects. A
   * reconnect that Redis answers with a refusal (WRONGPASS: the user disabled or its password
   * changed) is logged once more in its own words: the outage's first line only says the socket
   * closed, and the refusal is what an operator must fix.
   */
  private watch(client: Client, role: 'writer' | 'reader'): Client {
    let down = false;
    let logged: string | undefined;
    let connectedBefore = false;
    client.on('error', (error: unknown) => {
      if (this.closed) return;
      const refused = error instanceof ErrorReply;
      const cause = messageOf(error);
      if (down && (!refused || cause === logged)) return;
      down = true;
      logged = cause;
      this.logger.error(
        { redis: this.target, connection: role, err: cause },
        refused ? 'Redis refuses the connection (its user, password or ACL); reconnecting with back-off' : 'Redis unreachable; reconnecting with back-off',
      );
    });
    client.on('ready', () => {
      if (connectedBefore) this.reconnectCount += 1;
      connectedBefore = true;
      if (down) this.logger.info({ redis: this.target, connection: role }, 'Redis reachable again');
      down = false;
      logged = undefined;
    });
    return client;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
