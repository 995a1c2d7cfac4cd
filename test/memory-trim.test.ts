import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { lastResortCollect, MemoryTrim, QUIET_MS, TRIM_AFTER_ENTRIES } from '../src/memory-trim.js';

/** A trim on a clock and an entry count the test moves, counting collections. */
function harness() {
  const clock = { now: 1_000_000, folded: 0, collections: 0, steps: [] as string[] };
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('debug', { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const trim = new MemoryTrim({
    folded: () => clock.folded,
    collect: () => {
      clock.collections += 1;
      clock.steps.push('collect');
    },
    returnFreePages: () => {
      clock.steps.push('malloc_trim');
      return true;
    },
    logger,
    now: () => clock.now,
    rss: () => 100 * 1024 * 1024,
  });
  /** Advances the clock by `ms` in checks a second apart, folding `perCheck` entries before each. */
  const run = (ms: number, perCheck = 0) => {
    for (let t = 0; t < ms; t += 1_000) {
      clock.folded += perCheck;
      clock.now += 1_000;
      trim.check();
    }
  };
  return { clock, trim, run, lines };
}

describe('memory trim', () => {
  it('collects once the start is quiet, not while entries keep coming, and not again without a burst', () => {
    const { clock, run, lines } = harness();
    run(QUIET_MS - 1_000);
    expect(clock.collections).toBe(0);
    run(1_000);
    expect(clock.collections).toBe(1);
    expect(lines.at(-1)).toMatchObject({ msg: 'returned memory to the system after a burst', rss_before_mib: 100, entries_folded: 0 });
    // A trickle of entries, fewer than a burst, quiet in between: nothing more to give back.
    for (let i = 0; i < 20; i += 1) {
      run(1_000, 10);
      run(QUIET_MS + 1_000);
    }
    expect(clock.collections).toBe(1);
  });

  it('collects after a burst of TRIM_AFTER_ENTRIES entries, only once it is quiet', () => {
    const { clock, run } = harness();
    run(QUIET_MS + 1_000);
    expect(clock.collections).toBe(1);
    // A burst: entries on every check for a minute.
    run(60_000, Math.ceil(TRIM_AFTER_ENTRIES / 30));
    expect(clock.collections).toBe(1);
    run(QUIET_MS + 1_000);
    expect(clock.collections).toBe(2);
    run(60_000);
    expect(clock.collections).toBe(2);
  });

  it('gives the C heap’s free pages back after each collection, and says so', () => {
    const { clock, run, lines } = harness();
    run(QUIET_MS + 1_000);
    run(60_000, Math.ceil(TRIM_AFTER_ENTRIES / 30));
    run(QUIET_MS + 1_000);
    // After the collection, which is what frees the buffers.
    expect(clock.steps).toEqual(['collect', 'malloc_trim', 'collect', 'malloc_trim']);
    expect(lines.filter((line) => line.msg === 'returned memory to the system after a burst').map((line) => line.malloc_trim)).toEqual([true, true]);
  });

  it('without the addon, collects alone', () => {
    let collections = 0;
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('debug', { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    let now = 0;
    const trim = new MemoryTrim({ folded: () => 0, collect: () => (collections += 1), logger, now: () => now, rss: () => 0 });
    now += QUIET_MS;
    expect(trim.check()).toBe(true);
    expect(collections).toBe(1);
    expect(lines.at(-1)).toMatchObject({ malloc_trim: false });
  });

  it('has the runtime collection here, and leaves no gc function in the global scope', () => {
    const collect = lastResortCollect();
    expect(collect).toBeTypeOf('function');
    collect?.();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
