import { createRequire } from 'node:module';

/**
 * glibc's malloc, tuned from inside the process (native/malloc.c, built by `npm ci`).
 *
 * After a burst (a start that folds a long log, thousands of webhooks, scrapes of 10,000
 * components), the exporter's heap is mostly free but stays resident: glibc returns memory to the
 * system only from the top of its main heap, and raises its mmap threshold after a large block is
 * freed, so later multi-megabyte buffers land in the heap and pin it. With 10,000 components an
 * exporter held 196 MiB once quiet, against 141 MiB restarted on the same file; V8's heaps were
 * the same size in both (40 MiB), the rest was freed malloc memory. A fixed threshold of 128 KiB
 * keeps large buffers out of the heap (170 MiB), and malloc_trim(0) after the quiet collection
 * (src/memory-trim.ts) gives back the free pages in every arena (140-144 MiB; 131 restarted).
 * The trim threshold is fixed with it, at 4 MiB: at glibc's 128 KiB every scrape gave its
 * buffers back and faulted them in again; past a few MiB, threads' arenas keep their tops.
 *
 * Optional: without the addon (no C compiler at install, a C library other than glibc) the
 * exporter runs as before and says so once at start.
 */
export type NativeMalloc = {
  /** Fixes glibc's mmap threshold at 128 KiB and its trim threshold at 4 MiB; false where the C library is not glibc. */
  holdBigBlocksApart(): boolean;
  /** malloc_trim(0); false where the C library is not glibc. */
  returnFreePages(): boolean;
};

/** Where `npm ci` builds the addon, from dist/ or src/ alike. */
const ADDON = '../build/Release/statusmate_malloc.node';

/** The addon, or why there is none. */
export function loadNativeMalloc(path = ADDON): { malloc: NativeMalloc } | { problem: string } {
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)(path);
  } catch (error) {
    return { problem: error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error) };
  }
  const addon = loaded as Partial<Record<keyof NativeMalloc, unknown>> | null;
  if (typeof addon?.holdBigBlocksApart !== 'function' || typeof addon.returnFreePages !== 'function') {
    return { problem: `${path} does not export holdBigBlocksApart and returnFreePages` };
  }
  return { malloc: addon as NativeMalloc };
}
