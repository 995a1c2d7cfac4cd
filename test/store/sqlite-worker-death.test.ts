import { once } from 'node:events';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { SqliteLog } from '../../src/store/sqlite.js';
import { tempDir } from '../support/app.js';

// The SQLite file's worker thread (SQLITE_SYNCHRONOUS=full) dying under the store: each worker
// SqliteLog starts is recorded here, so that a test can end one as a crash or an out-of-memory would.
const started = vi.hoisted(() => [] as Worker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:worker_threads')>();
  class RecordedWorker extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args);
      started.push(this);
    }
  }
  return { ...original, Worker: RecordedWorker };
});

describe('SQLITE_SYNCHRONOUS=full: the worker thread dies', () => {
  it('fails what was in flight, then takes appends on a new worker on the same file, and closes', async () => {
    const path = join(tempDir(), 'dies.db');
    const store = new SqliteLog({ path, synchronous: 'full' });
    await store.open();
    expect(await store.append([{ v: '1', e: 'before' }])).toEqual([null]);
    expect(started).toHaveLength(1);
    await (started[0] as Worker).terminate();
    const after = await store.append([{ v: '1', e: 'after' }]);
    expect(after).toEqual([null]);
    expect(started).toHaveLength(2);
    expect((await store.read('0', 10)).map((entry) => entry.fields.e)).toEqual(['before', 'after']);
    await store.close();
  });

  it('answers an append in flight when it dies with an error (StatusMate retries it), never a success', async () => {
    const path = join(tempDir(), 'in-flight.db');
    const store = new SqliteLog({ path, synchronous: 'full' });
    await store.open();
    const worker = started.at(-1) as Worker;
    const inFlight = store.append([{ v: '1', e: 'in flight' }]);
    await worker.terminate();
    const [result] = await inFlight;
    // Ended before the thread took the message: it fails, and is not left waiting.
    expect(result?.message).toMatch(/SQLite worker stopped/);
    await store.close();
  });

  it('folds what a worker committed and died before answering: the file has it, so the log does', async () => {
    const path = join(tempDir(), 'orphan.db');
    const store = new SqliteLog({ path, synchronous: 'full' });
    await store.open();
    expect(await store.append([{ v: '1', e: 'first' }])).toEqual([null]);
    const worker = started.at(-1) as Worker;
    // The store no longer hears this worker: its next answer is lost, as when it dies right after the commit.
    worker.removeAllListeners('message');
    const committed = once(worker, 'message');
    const lost = store.append([{ v: '1', e: 'committed, never answered' }]);
    await committed;
    await worker.terminate();
    expect((await lost)[0]?.message).toMatch(/SQLite worker stopped/);
    expect(await store.append([{ v: '1', e: 'next' }])).toEqual([null]);
    // The fold, at the first entry, reads on: the entry answered 503 comes first, from the file.
    const read = await store.read('1', 10);
    expect(read.map((entry) => [entry.position, entry.fields.e])).toEqual([
      ['2', 'committed, never answered'],
      ['3', 'next'],
    ]);
    expect((await store.read('3', 10)).length).toBe(0);
    await store.close();
  });

  it('closes after its worker died without starting another, and leaves the file to the next process', async () => {
    const path = join(tempDir(), 'closed.db');
    const store = new SqliteLog({ path, synchronous: 'full' });
    await store.open();
    expect(await store.append([{ v: '1', e: 'kept' }])).toEqual([null]);
    const count = started.length;
    await (started.at(-1) as Worker).terminate();
    await store.close();
    expect(started).toHaveLength(count);
    const [refused] = await store.append([{ v: '1', e: 'too late' }]);
    expect(refused?.message).toMatch(/closed/);
    const next = new SqliteLog({ path, synchronous: 'full' });
    await next.open();
    expect((await next.read('0', 10)).map((entry) => entry.fields.e)).toEqual(['kept']);
    await next.close();
  });
});
