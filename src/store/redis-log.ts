import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { z } from 'zod';
import type { StatusMateEvent } from '../domain/event.js';
import { prune } from '../domain/prune.js';
import { reduce, type Decision, type Limits } from '../domain/reducer.js';
import { applyPatch, createState, emptyPatch, isEmptyPatch, replaceState, type State } from '../domain/state.js';
import type { Overlay } from '../ingest/ingestor.js';
import { dedupKey } from '../ingest/dedup-key.js';
import type { EventSink, StoreHealth } from '../ingest/sink.js';
import type { Logger } from '../logger.js';
import {
  ENTRY_FORMAT,
  entryFields,
  idBefore,
  idTime,
  parseEntry,
  parseSnapshot,
  redisKeys,
  snapshotFields,
  type FoldPoint,
  type RedisKeys,
} from './redis-format.js';
import { StoreError } from './store.js';

export type RedisLogOptions = {
  /** redis:// or rediss://, with user, password and database number as the URL gives them. */
  url: string;
  keyPrefix: string;
  /** Redis replicas that must acknowledge an append (WAIT) before it is answered 200; 0: the primary's answer suffices. */
  waitReplicas: number;
  limits: Limits;
  retentionSeconds: number;
  logger: Logger;
  /** How long an event may take from arrival to answer before it is answered 503. */
  answerTimeoutMs?: number;
  /** How often each replica considers writing a snapshot. */
  snapshotCheckMs?: number;
  /** A snapshot is written once the last one is this old (and entries followed it)… */
  snapshotMaxAgeMs?: number;
  /** …or once the log holds this many entries. */
  snapshotMaxEntries?: number;
  /** Memory-only records on top of the folded state: the declared status pages (see inventoryPatch). */
  overlay?: Overlay;
};

/**
 * The log's time is cut into windows of this length; the fold prunes when an entry is the
 * first of a new window. Driven by entry times alone, so every replica prunes at the same entry.
 */
export const PRUNE_WINDOW_SECONDS = 600;

/** A reader that has not heard from Redis for this long is not ready (its XREAD blocks for 1 s at most). */
const READER_SILENCE_MS = 3_000;
const XREAD_BLOCK_MS = 1_000;
const XREAD_COUNT = 1_000;

/**
 * Writes a snapshot unless a newer one is stored; then trims the log below the snapshot it
 * replaces (not below itself: a replica a little behind still finds its next entry), and
 * records that trim so a replica further behind knows to reload. One script, so two replicas
 * snapshotting at once cannot interleave; every key shares the hash tag.
 */
const SNAPSHOT_SCRIPT = `
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local current = redis.call('HGET', KEYS[1], 'id')
if current and not before(current, ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'id', ARGV[1], 't', ARGV[3], 'data', ARGV[4])
if current then
  redis.call('XTRIM', KEYS[2], 'MINID', current)
  redis.call('SET', KEYS[3], current)
end
return 1
`;

// Redis replies are a boundary: read through schemas, never cast.
const entryReply = z.tuple([z.string(), z.array(z.string())]);
const xreadReply = z.array(z.tuple([z.string(), z.array(entryReply)])).nullable();
const rangeReply = z.array(entryReply);
const stringOrNull = z.string().nullable();
const hashReply = z.array(z.string());
const integerReply = z.number();

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
      connectTimeout: 2_000,
      // Never give up: exponential back-off with jitter, at most 2 s between attempts.
      reconnectStrategy: (retries: number) => Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 100),
    },
  });
}

/** The URL without credentials, for log lines. */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'redis://(unparsable)';
  }
}

type Waiter = {
  decision: Decision | undefined;
  /** Set once Redis acknowledged the append (and, with waitReplicas, its replicas did). */
  durable: boolean;
  resolve: (decision: Decision) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
};

/**
 * STORE=redis: the state of every replica is the fold of one ordered log in Redis (a Stream).
 *
 * A webhook's event is appended (XADD) with who appended it; each replica reads the log in
 * order (a blocking XREAD on a connection of its own) and reduces every entry with the same pure
 * reducer, the entry id's time as receipt time and the appender's limits, so every replica holds
 * the same state and reaches the same decision for every entry. The appending replica answers
 * once Redis acknowledged the append and its own fold reached the entry, with that fold's
 * decision. Pruning happens inside the fold, when the log's time enters a new window.
 *
 * Snapshots (the serialised state and the entry it covers) are written by whichever replica
 * finds the last one old, and trim the log below the previous one; a replica that starts, or
 * finds on reconnecting that Redis no longer holds the entry it last folded (trimmed, or lost
 * in a failover), loads the newest snapshot and folds on from there.
 *
 * A format it cannot read (a newer version's entry or snapshot) stops the fold: the replica is
 * refused, not ready, and says so in one log line, rather than diverging.
 */
export class RedisLog implements EventSink, StoreHealth {
  readonly state: State = createState();
  private readonly keys: RedisKeys;
  private readonly writer: Client;
  private readonly reader: Client;
  private readonly replica = randomBytes(6).toString('base64url');
  private sequence = 0;
  private point: FoldPoint = { id: '0-0', time: 0 };
  /** Whether the state was checked against the log since the reader last (re)connected. */
  private synced = false;
  /** The log's last entry when this replica synced: ready once the fold got there. */
  private catchUp = '0-0';
  private refusal: string | undefined;
  private closed = false;
  private lastReply = 0;
  private readonly waiting = new Map<string, Waiter>();
  private queue: { origin: string; fields: string[] }[] = [];
  private scheduled = false;
  private loop: Promise<void> = Promise.resolve();
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshotting = false;
  private readonly answerTimeoutMs: number;
  private readonly logger: Logger;
  private readonly target: string;
  private overlay: Overlay;
  /**
   * The records the overlay put in memory, so that snapshots leave them out: they are declared
   * by this replica's file, not folded from the log. A webhook about one replaces the object,
   * and the replacement is snapshotted as usual.
   */
  private readonly overlaid = new WeakSet<object>();

  constructor(private readonly options: RedisLogOptions) {
    this.keys = redisKeys(options.keyPrefix);
    this.logger = options.logger;
    this.target = redactedRedisUrl(options.url);
    this.answerTimeoutMs = options.answerTimeoutMs ?? 1_500;
    this.overlay = options.overlay ?? (() => emptyPatch());
    this.applyOverlay();
    this.writer = this.watch(connectClient(options.url, 'statusmate-exporter'), 'writer');
    this.reader = this.watch(connectClient(options.url, 'statusmate-exporter-reader'), 'reader');
  }

  /** Connects (retrying until Redis answers) and starts folding. Never throws: readiness says how it goes. */
  start(): void {
    for (const client of [this.writer, this.reader]) {
      client.connect().catch((error: unknown) => {
        if (!this.closed) this.logger.error({ redis: this.target, err: messageOf(error) }, 'Redis client stopped connecting');
      });
    }
    this.loop = this.fold();
    const check = this.options.snapshotCheckMs ?? 15_000;
    // Jitter, so that replicas started together do not all snapshot at the same moment.
    this.snapshotTimer = setInterval(() => void this.maybeSnapshot(), check + Math.floor(Math.random() * (check / 5)));
    this.snapshotTimer.unref();
  }

  /**
   * Puts a new overlay (the status pages file was reloaded) on the state. Records only the old
   * overlay added stay in memory until the state is next loaded (a restart); snapshots never hold them.
   */
  reseed(overlay: Overlay): Promise<void> {
    this.overlay = overlay;
    this.applyOverlay();
    return Promise.resolve();
  }

  private applyOverlay(): void {
    const patch = this.overlay(this.state);
    if (isEmptyPatch(patch)) return;
    // Only what the overlay adds is left out of snapshots; a folded component it renames stays in.
    for (const stats of patch.pages) if (!this.state.pages.has(stats.statusPage)) this.overlaid.add(stats);
    for (const component of patch.components) {
      if (!this.state.pages.get(component.statusPage)?.components.has(component.uuid)) this.overlaid.add(component);
    }
    applyPatch(this.state, patch);
  }

  ingest(event: StatusMateEvent, _receivedAt: number): Promise<Decision> {
    // _receivedAt is this replica's clock; the fold uses the entry id's time, the same on every replica.
    if (this.refusal) return Promise.reject(new StoreError(`not stored: ${this.refusal}`));
    if (this.closed) return Promise.reject(new StoreError('not stored: the Redis store is closed'));
    if (!this.writer.isReady || !this.reader.isReady || !this.synced)
      return Promise.reject(new StoreError(`not stored: Redis (${this.target}) is unreachable`));
    const origin = `${this.replica}:${this.sequence++}`;
    return new Promise<Decision>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(origin, new StoreError(`not stored: no answer from Redis within ${this.answerTimeoutMs} ms`)),
        this.answerTimeoutMs,
      );
      this.waiting.set(origin, { decision: undefined, durable: false, resolve, reject, timer });
      this.queue.push({ origin, fields: entryFields(origin, event, this.options.limits, this.options.retentionSeconds) });
      this.schedule();
    });
  }

  async drain(): Promise<void> {
    // Bounded: every waiter settles within answerTimeoutMs.
    while (this.waiting.size > 0) await sleep(5);
  }

  up(): Promise<boolean> {
    return Promise.resolve(!this.closed && this.refusal === undefined && this.writer.isReady && this.reader.isReady);
  }

  async ready(): Promise<boolean> {
    return (await this.up()) && this.synced && !idBefore(this.point.id, this.catchUp) && Date.now() - this.lastReply < READER_SILENCE_MS;
  }

  /** Stops folding and disconnects; the caller drained first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.snapshotTimer);
    for (const [origin] of this.waiting) this.fail(origin, new StoreError('not stored: the Redis store is closing'));
    this.writer.destroy();
    this.reader.destroy();
    await this.loop;
  }

  // ---- appending ----------------------------------------------------------------------------

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Every event of this loop turn goes out in one pipeline, followed by one WAIT for all of them.
    setImmediate(() => {
      this.scheduled = false;
      void this.append();
    });
  }

  private async append(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const adds = batch.map(({ fields }) => this.writer.sendCommand(['XADD', this.keys.log, '*', ...fields]));
    // WAIT covers every write this connection sent before it: the whole batch. Settled at once
    // into a value, so that its failure is never an unhandled rejection while the XADDs are awaited.
    const replicated =
      this.options.waitReplicas > 0
        ? this.writer.sendCommand(['WAIT', String(this.options.waitReplicas), String(Math.max(100, this.answerTimeoutMs - 500))]).then(
            (reply): Error | undefined => {
              const acknowledged = integerReply.safeParse(reply);
              if (acknowledged.success && acknowledged.data >= this.options.waitReplicas) return undefined;
              const count = acknowledged.success ? acknowledged.data : 'no';
              return new StoreError(`not stored durably: ${count} of ${this.options.waitReplicas} Redis replicas acknowledged (REDIS_WAIT_REPLICAS)`);
            },
            (error: unknown) => new StoreError(`not stored durably: WAIT failed: ${messageOf(error)}`),
          )
        : Promise.resolve(undefined);
    const results = await Promise.allSettled(adds);
    const shortOfReplicas = await replicated;
    results.forEach((result, index) => {
      const origin = (batch[index] as { origin: string }).origin;
      // An append that failed or was not replicated may still be in the log: its fold then
      // counts it, and StatusMate's retry (delivery_attempt ≥ 1) is answered `duplicate`.
      if (result.status === 'rejected') this.fail(origin, new StoreError(`not stored: ${messageOf(result.reason)}`));
      else if (shortOfReplicas) this.fail(origin, shortOfReplicas);
      else this.settle(origin, (waiter) => (waiter.durable = true));
    });
  }

  private settle(origin: string, update: (waiter: Waiter) => void): void {
    const waiter = this.waiting.get(origin);
    if (!waiter) return;
    update(waiter);
    if (!waiter.durable || !waiter.decision) return;
    this.waiting.delete(origin);
    clearTimeout(waiter.timer);
    waiter.resolve(waiter.decision);
  }

  // Asked through a call, not read as a property: TypeScript keeps the loop condition's narrowing
  // of `refusal` and `closed` across an await, though sync() and close() change them meanwhile.
  private refused(): boolean {
    return this.refusal !== undefined;
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private fail(origin: string, error: Error): void {
    const waiter = this.waiting.get(origin);
    if (!waiter) return;
    this.waiting.delete(origin);
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }

  // ---- folding ------------------------------------------------------------------------------

  private async fold(): Promise<void> {
    let backoff = 50;
    while (!this.closed && this.refusal === undefined) {
      try {
        // node-redis reconnects by itself; wait for it.
        if (!this.reader.isReady) {
          await sleep(50);
          continue;
        }
        if (!this.synced) await this.sync();
        if (this.refused()) break;
        // The trim mark travels in the same pipeline (it is answered before the blocking read):
        // a replica that fell behind a trim must reload, not read on past a gap.
        const [trimmed, read] = await Promise.all([
          this.reader.sendCommand(['GET', this.keys.trimmed]),
          this.reader.sendCommand(['XREAD', 'COUNT', String(XREAD_COUNT), 'BLOCK', String(XREAD_BLOCK_MS), 'STREAMS', this.keys.log, this.point.id]),
        ]);
        this.lastReply = Date.now();
        const mark = stringOrNull.parse(trimmed);
        if (mark !== null && idBefore(this.point.id, mark)) {
          this.synced = false;
          continue;
        }
        const reply = xreadReply.parse(read);
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            if (!this.apply(id, fields)) break;
          }
        }
        backoff = 50;
      } catch (error) {
        if (this.isClosed()) break;
        // Whatever happened while this replica could not read, check its state against the log again.
        this.synced = false;
        this.logger.debug({ redis: this.target, err: messageOf(error) }, 'reading the Redis log failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  /**
   * Checks this replica's state against the log: at start, and after every interruption. Loads
   * the newest snapshot when starting, or when the entry last folded is no longer in the log
   * (trimmed while this replica was away, or lost by Redis), then records where the log ends.
   */
  private async sync(): Promise<void> {
    const fresh = this.point.id === '0-0';
    const [trimmed, tip, mine, snapshotId] = await Promise.all([
      this.reader.sendCommand(['GET', this.keys.trimmed]).then((reply) => stringOrNull.parse(reply)),
      this.reader.sendCommand(['XREVRANGE', this.keys.log, '+', '-', 'COUNT', '1']).then((reply) => rangeReply.parse(reply)),
      fresh ? Promise.resolve([]) : this.reader.sendCommand(['XRANGE', this.keys.log, this.point.id, this.point.id]).then((reply) => rangeReply.parse(reply)),
      this.reader.sendCommand(['HGET', this.keys.snapshot, 'id']).then((reply) => stringOrNull.parse(reply)),
    ]);
    const lost = !fresh && (mine.length === 0 || (trimmed !== null && idBefore(this.point.id, trimmed)));
    if ((fresh && snapshotId !== null) || lost) {
      const hash = hashReply.parse(await this.reader.sendCommand(['HGETALL', this.keys.snapshot]));
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < hash.length; i += 2) fields[hash[i] as string] = hash[i + 1] as string;
      const snapshot = parseSnapshot(fields);
      if (snapshot.kind === 'newer')
        return this.refuse(`the Redis snapshot has format ${snapshot.format}; this exporter reads format 1 (upgrade this replica)`);
      if (snapshot.kind === 'invalid') return this.refuse(`the Redis snapshot cannot be read: ${snapshot.problem}`);
      const loaded = snapshot.kind === 'snapshot' ? snapshot : { state: createState(), point: { id: '0-0', time: 0 } };
      if (lost) {
        this.logger.warn(
          { redis: this.target, folded_to: this.point.id, snapshot_id: loaded.point.id },
          'the Redis log no longer holds the last entry this replica folded (trimmed, or lost by Redis): reloading from the snapshot',
        );
      }
      replaceState(this.state, loaded.state);
      this.applyOverlay();
      this.point = loaded.point;
    }
    if (trimmed !== null && idBefore(this.point.id, trimmed)) {
      return this.refuse(`the Redis log was trimmed to ${trimmed} but its snapshot covers only ${this.point.id}`);
    }
    this.catchUp = tip[0]?.[0] ?? this.point.id;
    this.synced = true;
    this.lastReply = Date.now();
    this.logger.info(
      { redis: this.target, folded_to: this.point.id, log_end: this.catchUp, components: this.state.componentCount },
      'Redis log opened; folding from here',
    );
  }

  /** Folds one entry; false when the fold must stop (a format this version cannot read). */
  private apply(id: string, fields: string[]): boolean {
    const parsed = parseEntry(id, fields);
    if (parsed.kind === 'newer') {
      this.refuse(`Redis log entry ${id} has format ${parsed.format}; this exporter reads format ${ENTRY_FORMAT} (upgrade this replica)`);
      return false;
    }
    if (parsed.kind === 'invalid') {
      // Every replica skips it alike, so the states stay equal.
      this.logger.error({ entry_id: id, problem: parsed.problem }, 'Redis log entry cannot be read; skipped');
      this.point = { id, time: idTime(id) };
      return true;
    }
    const { entry } = parsed;
    if (this.point.time > 0 && Math.floor(entry.time / PRUNE_WINDOW_SECONDS) > Math.floor(this.point.time / PRUNE_WINDOW_SECONDS)) {
      const patch = prune(this.state, entry.time, entry.retentionSeconds);
      if (!isEmptyPatch(patch)) {
        applyPatch(this.state, patch);
        const forgotten = patch.deleteIncidents.length + patch.deleteMaintenances.length + patch.forgetSeen.length;
        this.logger.info({ forgotten, entry_id: id }, 'pruned finished objects and dedup records past retention');
      }
    }
    const limits: Limits = { ...this.options.limits, ...entry.limits };
    let decision: Decision;
    try {
      decision = reduce(this.state, entry.event, dedupKey(entry.event), entry.time, limits);
    } catch (error) {
      // A reducer bug: every replica of this version throws alike, so skipping keeps them equal.
      this.logger.error({ entry_id: id, err: messageOf(error) }, 'reducing a Redis log entry failed; skipped');
      this.point = { id, time: entry.time };
      this.settle(entry.origin, () => undefined);
      return true;
    }
    if (decision.outcome !== 'duplicate') applyPatch(this.state, decision.patch);
    this.point = { id, time: entry.time };
    this.settle(entry.origin, (waiter) => (waiter.decision = decision));
    return true;
  }

  private refuse(reason: string): void {
    if (this.refusal !== undefined) return;
    this.refusal = reason;
    this.logger.error({ redis: this.target, reason }, 'refusing the Redis store: not ready until a version that reads it runs');
    for (const [origin] of this.waiting) this.fail(origin, new StoreError(`not stored: ${reason}`));
  }

  // ---- snapshots ----------------------------------------------------------------------------

  /** Writes a snapshot when the stored one is old or the log long. Any replica may; the script keeps the newest. */
  private async maybeSnapshot(): Promise<void> {
    if (this.snapshotting || !(await this.ready())) return;
    this.snapshotting = true;
    try {
      const storedId = stringOrNull.parse(await this.writer.sendCommand(['HGET', this.keys.snapshot, 'id']));
      if (storedId !== null && !idBefore(storedId, this.point.id)) return;
      const length = integerReply.parse(await this.writer.sendCommand(['XLEN', this.keys.log]));
      const ageMs = Date.now() - idTime(storedId ?? '0-0') * 1000;
      if (ageMs < (this.options.snapshotMaxAgeMs ?? 60_000) && length < (this.options.snapshotMaxEntries ?? 5_000)) return;
      const fields = snapshotFields(this.state, this.point, (record) => !this.overlaid.has(record));
      const written = integerReply.parse(
        await this.writer.sendCommand([
          'EVAL',
          SNAPSHOT_SCRIPT,
          '3',
          this.keys.snapshot,
          this.keys.log,
          this.keys.trimmed,
          fields.id,
          fields.format,
          fields.time,
          fields.data,
        ]),
      );
      if (written === 1) this.logger.info({ snapshot_id: fields.id, bytes: fields.data.length, log_entries: length }, 'wrote a Redis snapshot');
    } catch (error) {
      this.logger.warn({ redis: this.target, err: messageOf(error) }, 'writing a Redis snapshot failed; will try again');
    } finally {
      this.snapshotting = false;
    }
  }

  /** Logs each connection's outages once, not once per reconnect attempt. */
  private watch(client: Client, role: 'writer' | 'reader'): Client {
    let down = false;
    client.on('error', (error: unknown) => {
      if (down || this.closed) return;
      down = true;
      this.logger.error({ redis: this.target, connection: role, err: messageOf(error) }, 'Redis unreachable; reconnecting with back-off');
    });
    client.on('ready', () => {
      if (down) this.logger.info({ redis: this.target, connection: role }, 'Redis reachable again');
      down = false;
    });
    return client;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
