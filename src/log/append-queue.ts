import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogLost, StoreError, type EntryFields, type LogStore } from '../store/store.js';
import type { LogEntry } from './entry.js';
import { asError, type Answer } from './fold-entry.js';

/** Enough to keep the store busy while the next batch waits: events arriving meanwhile make it larger. */
const MAX_APPENDS_IN_FLIGHT = 2;

type Waiter = {
  /** An event entry as this process encoded it: its fold needs no decoding (see ownEntry). */
  entry: LogEntry | undefined;
  answer: Answer | undefined;
  /** Set once the store said the entry is durable. */
  durable: boolean;
  resolve: (answer: Answer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
};

export type AppendQueueOptions = {
  store: LogStore;
  /** How long an entry may take from its enqueue to its answer before it is failed (answered 503). */
  answerTimeoutMs: number;
  /** The clock skew the fold trusts a created_at within: the order of one append (see inCreatedOrder). */
  maxClockSkewSeconds: number;
  /**
   * What the store said of the last append's writes: one failed (the store refuses writes, or is
   * loading its data: the error's class tells which), or all were taken.
   */
  writesFailing: (error: Error) => void;
  writesWork: () => void;
};

/**
 * The entries waiting to be appended, and the appenders waiting for their answers. Entries that
 * arrive in one turn of the event loop are appended together; an entry's promise resolves once
 * the store said it is durable *and* the fold answered it (`answer`), whichever comes last, and
 * rejects when either fails or takes longer than answerTimeoutMs.
 */
export class AppendQueue {
  private readonly processId = randomBytes(6).toString('base64url');
  private sequence = 0;
  private readonly waiting = new Map<string, Waiter>();
  private queue: { origin: string; fields: EntryFields; createdAt: number | null }[] = [];
  private scheduled = false;
  private appending = 0;

  constructor(private readonly options: AppendQueueOptions) {}

  /**
   * Queues an entry (made for the origin it is given) for the next append; resolves with its
   * fold's answer. `event`, for an event entry, is the entry as encoded, which the fold of this
   * process's own entry reads instead of decoding it again.
   */
  enqueue(fields: (origin: string) => EntryFields, event?: (origin: string) => LogEntry, createdAt: number | null = null): Promise<Answer> {
    const origin = `${this.processId}:${this.sequence++}`;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(origin, new StoreError(`not stored: no answer from the ${this.options.store.kind} store within ${this.options.answerTimeoutMs} ms`)),
        this.options.answerTimeoutMs,
      );
      this.waiting.set(origin, { entry: event?.(origin), answer: undefined, durable: false, resolve, reject, timer });
      this.queue.push({ origin, fields: fields(origin), createdAt });
      this.schedule();
    });
  }

  /** The event entry this process appended as `origin` and still waits for, as it encoded it. */
  ownEntry(origin: string | undefined): LogEntry | undefined {
    return origin === undefined ? undefined : this.waiting.get(origin)?.entry;
  }

  /** The fold's answer to `origin`'s entry: given to its appender once the entry is durable too. */
  answer(origin: string, answer: Answer): void {
    this.settle(origin, (waiter) => (waiter.answer = answer));
  }

  fail(origin: string, error: Error): void {
    const waiter = this.waiting.get(origin);
    if (!waiter) return;
    this.waiting.delete(origin);
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }

  /** Fails every entry still waiting (the store refused, the exporter shuts down). */
  failAll(error: Error): void {
    for (const [origin] of this.waiting) this.fail(origin, error);
  }

  /** Resolves when every entry queued so far has been answered or failed. */
  async drain(): Promise<void> {
    // Bounded: every waiter settles within answerTimeoutMs.
    while (this.waiting.size > 0 || this.queue.length > 0 || this.appending > 0) await sleep(5);
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this loop turn: every event that arrived in it joins the append.
    setImmediate(() => {
      this.scheduled = false;
      void this.append();
    });
  }

  private async append(): Promise<void> {
    if (this.appending >= MAX_APPENDS_IN_FLIGHT) return; // rescheduled when one finishes
    const batch = inCreatedOrder(this.queue, Date.now() / 1000 + this.options.maxClockSkewSeconds);
    this.queue = [];
    if (batch.length === 0) return;
    this.appending += 1;
    let results: (Error | null)[];
    try {
      results = await this.options.store.append(batch.map((item) => item.fields));
    } catch (error) {
      results = batch.map(() => asError(error));
    } finally {
      this.appending -= 1;
      this.schedule();
    }
    let failed: Error | undefined;
    let lost = false;
    for (const [index, result] of results.entries()) {
      const { origin } = batch[index] as { origin: string };
      if (result === null) {
        this.settle(origin, (waiter) => (waiter.durable = true));
        continue;
      }
      // A log that is gone is not a store that refuses writes (its probe still succeeds): the
      // read that follows refuses it, once and for good, and marks it lost for later replicas.
      if (result instanceof LogLost) lost = true;
      else failed = result;
      this.fail(origin, new StoreError(`not stored: ${result.message}`));
    }
    if (failed) this.options.writesFailing(failed);
    else if (!lost) this.options.writesWork();
  }

  private settle(origin: string, update: (waiter: Waiter) => void): void {
    const waiter = this.waiting.get(origin);
    if (!waiter) return;
    update(waiter);
    if (!waiter.durable || !waiter.answer) return;
    this.waiting.delete(origin);
    clearTimeout(waiter.timer);
    waiter.resolve(waiter.answer);
  }
}

/**
 * The entries of one append in the order their events were created, when every one of them is
 * an event with a created_at the fold will trust (not past `trustedUntil`, see the clock skew
 * rule): they arrived together, so no order among them was promised to anyone, and created_at
 * order is the one that makes none of them stale, nor late for the ledger, by its arrival alone
 * (a backlog StatusMate delivers at once after an outage). Otherwise the order of arrival.
 */
function inCreatedOrder<T extends { createdAt: number | null }>(batch: T[], trustedUntil: number): T[] {
  if (batch.length < 2) return batch;
  let sorted = true;
  for (let i = 0; i < batch.length; i += 1) {
    const at = (batch[i] as T).createdAt;
    if (at === null || at > trustedUntil) return batch;
    if (i > 0 && at < ((batch[i - 1] as T).createdAt as number)) sorted = false;
  }
  // Array.prototype.sort is stable: equal times keep their order of arrival.
  return sorted ? batch : batch.slice().sort((a, b) => (a.createdAt as number) - (b.createdAt as number));
}
