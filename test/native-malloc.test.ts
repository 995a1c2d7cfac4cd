import { describe, expect, it } from 'vitest';
import { loadNativeMalloc } from '../src/native-malloc.js';

/** The C library's glibc version, as Node reports it; undefined elsewhere (musl, macOS). */
const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;

describe('the malloc addon', () => {
  // `npm ci` builds it (tools/build-native.mjs); on glibc, as in CI and the image, it must be there.
  it.runIf(glibc !== undefined)('is built, loads, and sets glibc’s mmap threshold and trims on glibc', () => {
    const native = loadNativeMalloc();
    if ('problem' in native) throw new Error(`the addon did not load: ${native.problem}`);
    expect(native.malloc.holdBigBlocksApart()).toBe(true);
    // Big blocks freed go back at once; a trim after them still succeeds.
    const blocks = Array.from({ length: 8 }, () => Buffer.alloc(4 * 1024 * 1024, 1));
    expect(blocks.reduce((sum, block) => sum + block.length, 0)).toBe(32 * 1024 * 1024);
    blocks.length = 0;
    expect(native.malloc.returnFreePages()).toBe(true);
  });

  it('is optional: a missing addon is a problem naming it, not a crash', () => {
    const native = loadNativeMalloc('../build/Release/no_such_addon.node');
    expect(native).toMatchObject({ problem: expect.stringContaining('no_such_addon.node') as string });
  });

  it('refuses a module that does not export both functions', () => {
    const native = loadNativeMalloc('node:os');
    expect(native).toMatchObject({ problem: expect.stringContaining('does not export holdBigBlocksApart and returnFreePages') as string });
  });
});
