import { describe, expect, it } from 'vitest';
import { createState } from '../../src/domain/state.js';
import { createLogger } from '../../src/logger.js';
import { DEFAULT_SNAPSHOT_POLICY } from '../../src/log/snapshot-policy.js';
import { SnapshotWriter } from '../../src/log/snapshot-writer.js';
import { MemoryLog } from '../../src/store/memory.js';

// The fold waits on `writing` while a snapshot is written, and goes on the moment the write lets
// it: before writeIfDue itself resumes. What it folds then is past the snapshot just written.

describe('SnapshotWriter', () => {
  it('counts an entry folded as soon as a snapshot write lets the fold go on towards the next snapshot', async () => {
    const store = new MemoryLog();
    const folded = { position: '1', time: 1 };
    const writer = new SnapshotWriter({
      store,
      policy: { ...DEFAULT_SNAPSHOT_POLICY, maxAgeMs: 0 },
      logger: createLogger('silent'),
      state: createState(),
      folded: () => folded,
      isFolded: () => true,
      refuse: (reason) => {
        throw new Error(reason);
      },
      checkTimeoutMs: 1_000,
    });
    writer.folded(10);
    const writing = writer.writeIfDue(false);
    // The fold, as FoldLoop.foldAll has it: waiting on the write, then folding entry 2 at once.
    // It starts once the store said which snapshot it holds: a few turns of the microtask queue.
    for (let turn = 0; turn < 100 && writer.writing === undefined; turn++) await Promise.resolve();
    const pause = writer.writing;
    if (pause === undefined) throw new Error('no snapshot write started');
    const fold = pause.then(() => {
      writer.folded(10);
      folded.position = '2';
      folded.time = 2;
    });
    await Promise.all([writing, fold]);
    expect((await store.snapshotInfo())?.position).toBe('1');

    // Entry 2 is in no snapshot yet: the next due check writes it, as would a shutdown's last one.
    await writer.writeIfDue(false);
    expect((await store.snapshotInfo())?.position).toBe('2');
  });
});
