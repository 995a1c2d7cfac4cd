import { describe, expect, it } from 'vitest';
import { emptyPatch } from '../../src/domain/state.js';
import type { Decision } from '../../src/domain/reducer.js';
import { AppendQueue } from '../../src/log/append-queue.js';
import { MemoryLog } from '../../src/store/memory.js';
import { LogLost, type EntryFields } from '../../src/store/store.js';

// The queue between the webhooks and the log: what is appended together, in which order, and
// when an appender hears back. On the memory log, whose appends can be held or refused.

const applied: Decision = { outcome: 'applied', patch: emptyPatch(), notices: [] };

/** Holds every append until `release()`; answers each entry with `refuse(fields)` when it gives an error. */
class HeldLog extends MemoryLog {
  private gate: Promise<void> | undefined;
  private openGate = () => {};
  appends: EntryFields[][] = [];
  refuse: (fields: EntryFields) => Error | null = () => null;

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.gate = undefined;
    this.openGate();
  }

  override async append(entries: EntryFields[]): Promise<(Error | null)[]> {
    this.appends.push(entries);
    await this.gate;
    const refusals = entries.map((fields) => this.refuse(fields));
    const taken = await super.append(entries.filter((_, index) => refusals[index] === null));
    let next = 0;
    return refusals.map((refusal) => refusal ?? (taken[next++] as Error | null));
  }
}

function queueOn(store: HeldLog, answerTimeoutMs = 5_000) {
  const writes: string[] = [];
  const queue = new AppendQueue({
    store,
    answerTimeoutMs,
    maxClockSkewSeconds: 300,
    writesFailing: (error) => writes.push(`failing: ${error.message}`),
    writesWork: () => writes.push('work'),
  });
  return { queue, writes };
}

/** Entry fields that name the origin they were made for and a label to find them by. */
const fieldsOf =
  (label: string) =>
  (origin: string): EntryFields => ({ o: origin, label });

/** Whether `promise` has settled by the time pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('the append queue', () => {
  it("answers an entry once it is durable and folded, whichever comes last, with the fold's answer", async () => {
    const store = new HeldLog();
    await store.open();
    const { queue } = queueOn(store);
    store.hold();
    const first = queue.enqueue(fieldsOf('first'));
    await new Promise((resolve) => setImmediate(resolve));
    const origin = store.appends[0]?.[0]?.o as string;
    queue.answer(origin, applied);
    expect(await settled(first)).toBe(false); // folded, not yet durable
    store.release();
    await expect(first).resolves.toBe(applied);

    const second = queue.enqueue(fieldsOf('second'));
    await new Promise((resolve) => setTimeout(resolve, 20)); // appended, and durable, by then
    expect(await settled(second)).toBe(false); // durable, not yet folded
    const secondOrigin = store.appends[1]?.[0]?.o as string;
    queue.answer(secondOrigin, applied);
    await expect(second).resolves.toBe(applied);
  }, 10_000);

  it('appends the entries of one turn together, in the order their events were created when all are trusted', async () => {
    const store = new HeldLog();
    await store.open();
    const { queue } = queueOn(store);
    const now = Date.now() / 1000;
    void queue.enqueue(fieldsOf('late'), undefined, now - 10).catch(() => undefined);
    void queue.enqueue(fieldsOf('early'), undefined, now - 60).catch(() => undefined);
    void queue.enqueue(fieldsOf('middle'), undefined, now - 30).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.appends.map((batch) => batch.map((fields) => fields.label))).toEqual([['early', 'middle', 'late']]);
    queue.failAll(new Error('done'));
  });

  it('keeps the order of arrival when one entry of the turn has no created_at, or one past the clock skew', async () => {
    for (const odd of [null, Date.now() / 1000 + 3_600]) {
      const store = new HeldLog();
      await store.open();
      const { queue } = queueOn(store);
      const now = Date.now() / 1000;
      void queue.enqueue(fieldsOf('late'), undefined, now - 10).catch(() => undefined);
      void queue.enqueue(fieldsOf('odd'), undefined, odd).catch(() => undefined);
      void queue.enqueue(fieldsOf('early'), undefined, now - 60).catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
      expect(store.appends.map((batch) => batch.map((fields) => fields.label))).toEqual([['late', 'odd', 'early']]);
      queue.failAll(new Error('done'));
    }
  });

  it('fails only the entries the store refused, says once that writes fail, and that they work again after', async () => {
    const store = new HeldLog();
    await store.open();
    const { queue, writes } = queueOn(store);
    store.refuse = (fields) => (fields.label === 'refused' ? new Error('SQLITE_FULL: database or disk is full') : null);
    const taken = queue.enqueue(fieldsOf('taken'));
    const refused = queue.enqueue(fieldsOf('refused'));
    await expect(refused).rejects.toThrow('not stored: SQLITE_FULL: database or disk is full');
    expect(writes).toEqual(['failing: SQLITE_FULL: database or disk is full']);
    queue.answer(store.appends[0]?.[0]?.o as string, applied);
    await expect(taken).resolves.toBe(applied);

    store.refuse = () => null;
    const after = queue.enqueue(fieldsOf('after'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(writes).toEqual(['failing: SQLITE_FULL: database or disk is full', 'work']);
    queue.answer(store.appends[1]?.[0]?.o as string, applied);
    await expect(after).resolves.toBe(applied);
  });

  it('fails an entry of a lost log without calling the store one that refuses writes', async () => {
    const store = new HeldLog();
    await store.open();
    const { queue, writes } = queueOn(store);
    store.refuse = () => new LogLost('the Redis log is gone');
    await expect(queue.enqueue(fieldsOf('lost'))).rejects.toThrow('not stored: the Redis log is gone');
    expect(writes).toEqual([]);
  });

  it('fails an entry that is not answered within the timeout, and drains once every entry settled', async () => {
    const store = new HeldLog();
    await store.open();
    const { queue } = queueOn(store, 50);
    store.hold();
    const held = queue.enqueue(fieldsOf('held'));
    await expect(held).rejects.toThrow('not stored: no answer from the memory store within 50 ms');
    store.release();
    await queue.drain();
    // The entry was appended after all: a late answer for it changes nothing.
    queue.answer(store.appends[0]?.[0]?.o as string, applied);
    await expect(held).rejects.toThrow('within 50 ms');
  });

  it('keeps the entry an appender encoded, for the fold of its own entry, until it is answered', async () => {
    const store = new HeldLog();
    await store.open();
    const { queue } = queueOn(store);
    const encoded = { origin: '', event: {} as never, rules: {} as never, limits: {}, retentionSeconds: 60 };
    const pending = queue.enqueue(fieldsOf('own'), (origin) => ({ ...encoded, origin }));
    await new Promise((resolve) => setImmediate(resolve));
    const origin = store.appends[0]?.[0]?.o as string;
    expect(queue.ownEntry(origin)?.origin).toBe(origin);
    expect(queue.ownEntry('another:0')).toBeUndefined();
    expect(queue.ownEntry(undefined)).toBeUndefined();
    queue.answer(origin, applied);
    await pending;
    expect(queue.ownEntry(origin)).toBeUndefined();
  });
});
