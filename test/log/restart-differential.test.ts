import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import type { State } from '../../src/domain/state.js';
import { FoldLoop } from '../../src/log/fold-loop.js';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotPieces, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { createLogger } from '../../src/logger.js';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { MemoryLog } from '../../src/store/memory.js';
import { LogCapture } from '../support/app.js';
import { renderedReads } from '../support/rendered-reads.js';
import { PRUNE_WINDOW_SECONDS, randomLog, RETENTION_SECONDS, type TimedEntry } from '../support/random-log.js';

// The promise of the log: the state is the fold of the log, whatever process folds it and from
// wherever it starts. A restart loads a snapshot and folds the entries after it; it must serve
// exactly what folding every entry serves. Random logs of every kind of entry (test/support/random-log.ts),
// a snapshot after every few entries, each restored and folded on to the end: the domain metrics,
// the state API's body and the availability report must be the same, byte for byte.

// Fixed seeds, sized for `npm test`; DIFF_SEEDS, DIFF_BASE and DIFF_LENGTH search further (DIFF_SEEDS=200 DIFF_LENGTH=100).
const SEEDS = Array.from({ length: Number(process.env.DIFF_SEEDS ?? 10) }, (_, i) => Number(process.env.DIFF_BASE ?? 1000) + i);
const LENGTH = Number(process.env.DIFF_LENGTH ?? 70);
const EVERY = 5;

beforeEach(() => {
  // Only Date: the memory log stamps each entry with Date.now(), which is how a test sets the log's time.
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const loops: FoldLoop[] = [];
afterEach(async () => {
  for (const loop of loops.splice(0)) await loop.close();
});

function newLoop(store: MemoryLog): FoldLoop {
  const loop = new FoldLoop({
    store,
    // The appender's limits are in each entry; the folding process's own are the defaults.
    limits: DEFAULT_LIMITS,
    retentionSeconds: RETENTION_SECONDS,
    logger: createLogger('error', new LogCapture()),
    pruneWindowSeconds: PRUNE_WINDOW_SECONDS,
    // No snapshot of its own: the test decides where the restarts are.
    snapshots: { checkMs: 1_000_000_000 },
  });
  loops.push(loop);
  return loop;
}

async function append(store: MemoryLog, entries: readonly TimedEntry[]): Promise<void> {
  for (const { fields, time } of entries) {
    vi.setSystemTime(Math.round(time * 1000));
    await store.append([fields]);
  }
}

/** What a process serves of a state at `now`: the domain metrics, /api/v1/state, /api/v1/availability. */
function served(state: State, now: number): { metrics: string; state: string; availability: string } {
  const metrics = new DomainMetrics(state);
  return { metrics: metrics.text().toString('utf8') + metrics.impactSeconds(now).toString('utf8'), ...renderedReads(state, [], now, 20) };
}

/** A snapshot's text with every object's keys sorted. */
function canonical(text: string): string {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, v]) => [k, sorted(v)]),
          )
        : value;
  return text
    .split('\n')
    .map((line) => JSON.stringify(sorted(JSON.parse(line))))
    .join('\n');
}

/** A memory log and a fold loop on it, folding entries as they are appended. */
class Process {
  readonly store = new MemoryLog();
  readonly loop = newLoop(this.store);
  private appended = 0;

  /** Starts from `snapshot`, the state after the first `snapshot.at` entries, with those entries in the log. */
  static async from(entries: readonly TimedEntry[], snapshot: { at: number; text: string; pieceChars: number }): Promise<Process> {
    const process = new Process();
    await append(process.store, entries.slice(0, snapshot.at));
    const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), snapshot.text);
    if (decoded.kind !== 'state') throw new Error(`the snapshot does not read back: ${JSON.stringify(decoded)}`);
    const written = await process.store.writeSnapshot({
      position: String(snapshot.at),
      time: Math.round((entries[snapshot.at - 1] as TimedEntry).time * 1000) / 1000,
      format: String(SNAPSHOT_FORMAT),
      data: encodeSnapshotPieces(decoded.state, undefined, snapshot.pieceChars),
    });
    expect(written).toBe(true);
    await process.loop.start();
    expect(process.loop.stats().entriesFolded).toBe(0);
    process.appended = snapshot.at;
    return process;
  }

  static async empty(): Promise<Process> {
    const process = new Process();
    await process.loop.start();
    return process;
  }

  /** Appends one entry and resolves once it is folded. */
  async fold(entry: TimedEntry): Promise<void> {
    const before = this.loop.stats().entriesFolded;
    await append(this.store, [entry]);
    this.appended += 1;
    while (this.loop.stats().entriesFolded === before) await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('a restart from a snapshot taken anywhere in a random log', () => {
  it.each(SEEDS)('serves what folding the whole log serves, entry after entry (seed %i)', async (seed) => {
    const entries = randomLog(seed, LENGTH);
    const nowAt = (i: number) => Math.ceil((entries[i] as TimedEntry).time) + 30;
    // The process that never restarts: what it serves after each entry, and its snapshots.
    const whole = await Process.empty();
    const expected: ReturnType<typeof served>[] = [];
    const snapshots = new Map<number, string>();
    for (const [i, entry] of entries.entries()) {
      await whole.fold(entry);
      expected.push(served(whole.loop.state, nowAt(i)));
      if ((i + 1) % EVERY === 0) snapshots.set(i + 1, encodeSnapshot(whole.loop.state));
    }
    expect(expected.at(-1)?.metrics).toContain('statusmate_component_impact{');
    const expectedText = encodeSnapshot(whole.loop.state);

    // Another process folding the same log from scratch holds the same state, byte for byte.
    const again = await Process.empty();
    for (const entry of entries) await again.fold(entry);
    expect(encodeSnapshot(again.loop.state)).toBe(expectedText);

    for (const [at, text] of snapshots) {
      const restarted = await Process.from(entries, { at, text, pieceChars: 1 + ((seed * at) % 400) });
      expect(served(restarted.loop.state, nowAt(at - 1)), `seed ${seed}, restarted after entry ${at}`).toEqual(expected[at - 1]);
      for (let i = at; i < entries.length; i += 1) {
        await restarted.fold(entries[i] as TimedEntry);
        expect(served(restarted.loop.state, nowAt(i)), `seed ${seed}, restarted after entry ${at}, then entry ${i + 1} folded`).toEqual(expected[i]);
      }
      // The same records: a record read back from a snapshot has its keys in its schema's order.
      expect(canonical(encodeSnapshot(restarted.loop.state)), `seed ${seed}, restarted after entry ${at}`).toBe(canonical(expectedText));
      await restarted.loop.close();
      loops.splice(loops.indexOf(restarted.loop), 1);
    }
  });
});
