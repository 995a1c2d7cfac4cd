import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from './logger.js';

/**
 * Returns memory to the system after a burst of work, once the exporter is quiet.
 *
 * V8 grows its old space while a burst allocates (a start that loads a snapshot and folds the
 * log after it, a few thousand webhooks), and keeps it committed after the burst: with 10,000
 * components, 65 MiB of old space held 35 MiB of objects, and a restarted exporter stayed at
 * 190 MiB RSS where one full, compacting collection brought it to 140 MiB. V8's own memory
 * reducer waits for an idle it never sees here (the fold loop's timers). So once after the start,
 * and again after every TRIM_AFTER_ENTRIES entries folded, the first time no entry was folded
 * for QUIET_MS, the process runs V8's most thorough collection (about 100 ms with 10,000
 * components, while no webhook is waiting on the fold), then gives the C heap's free pages back
 * (malloc_trim, where the addon is built: see native-malloc.ts).
 */
export const TRIM_AFTER_ENTRIES = 1_000;
export const QUIET_MS = 2_000;
const CHECK_MS = 1_000;

/** The full, compacting collection that gives committed memory back, or undefined where the runtime has none. */
export type Collect = () => void;

/**
 * V8's `gc()` without `--expose-gc` on every command line that starts the exporter (npm start, the
 * image, `statusmate-exporter serve`): the flag is set for a fresh context, which gets the
 * function, then unset, so no other context (and no global) has it.
 */
export function lastResortCollect(): Collect | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    setFlagsFromString('--no-expose-gc');
    if (typeof gc !== 'function') return undefined;
    return () => (gc as (options: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } catch {
    return undefined;
  }
}

export type MemoryTrimOptions = {
  /** Entries folded so far (the fold loop's count). */
  folded: () => number;
  collect: Collect | undefined;
  /**
   * Gives the free pages of the C heap back after the collection (malloc_trim: native-malloc.ts);
   * true when it ran. Without it, glibc keeps what the burst freed anywhere but at the heap's top.
   */
  returnFreePages?: () => boolean;
  logger: Logger;
  /** The clock, in ms (tests). */
  now?: () => number;
  /** Resident memory in bytes, for the log line (tests). */
  rss?: () => number;
};

/**
 * Decides when to collect (see the module's comment): `check` is called every CHECK_MS by
 * `start`, or by a test with its own clock.
 */
export class MemoryTrim {
  private readonly now: () => number;
  private readonly rss: () => number;
  private timer: NodeJS.Timeout | undefined;
  /** The count of entries folded when it last changed, and when. */
  private seen: number;
  private seenAt: number;
  /** The count when the last collection ran; undefined before the first (the start's). */
  private trimmedAt: number | undefined;

  constructor(private readonly options: MemoryTrimOptions) {
    this.now = options.now ?? Date.now;
    this.rss = options.rss ?? (() => process.memoryUsage.rss());
    this.seen = options.folded();
    this.seenAt = this.now();
  }

  start(): void {
    if (!this.options.collect || this.timer) return;
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Collects when due; true when it did. */
  check(): boolean {
    const collect = this.options.collect;
    if (!collect) return false;
    const folded = this.options.folded();
    const now = this.now();
    if (folded !== this.seen) {
      this.seen = folded;
      this.seenAt = now;
      return false;
    }
    if (now - this.seenAt < QUIET_MS) return false;
    if (this.trimmedAt !== undefined && folded - this.trimmedAt < TRIM_AFTER_ENTRIES) return false;
    const before = this.rss();
    const started = performance.now();
    collect();
    // After the collection: the buffers it freed are free pages only now.
    const returned = this.options.returnFreePages?.() ?? false;
    this.trimmedAt = folded;
    const MiB = 1024 * 1024;
    this.options.logger.debug(
      {
        rss_before_mib: Math.round(before / MiB),
        rss_after_mib: Math.round(this.rss() / MiB),
        ms: Math.round(performance.now() - started),
        entries_folded: folded,
        malloc_trim: returned,
      },
      'returned memory to the system after a burst',
    );
    return true;
  }
}
