import { describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';

describe('the memory store', () => {
  it('reads back the snapshot it keeps deflated, piece for piece, and trims the entries it covers', async () => {
    const store = new MemoryLog();
    await store.open();
    await store.append([
      { v: '1', e: 'a' },
      { v: '1', e: 'b' },
      { v: '1', e: 'c' },
    ]);
    const pieces = ['{"format":3}', `${'Zürich ✓ '.repeat(20_000)}\n`, '', '["last"]'];
    let read = 0;
    // A generator, as the fold loop gives it: read once, to its end, before the write settles.
    const data = (function* () {
      for (const piece of pieces) {
        read += 1;
        yield piece;
      }
    })();
    expect(await store.writeSnapshot({ position: '2', time: 7, format: '3', data })).toBe(true);
    expect(read).toBe(pieces.length);
    expect(await store.readSnapshot()).toEqual({ position: '2', time: 7, format: '3', data: pieces });
    expect(await store.snapshotInfo()).toEqual({ position: '2', time: 7 });
    expect((await store.read('2', 10)).map((entry) => entry.fields.e)).toEqual(['c']);
    await expect(store.read('1', 10)).rejects.toThrow(/trimmed/);
  });

  it('keeps the newer snapshot when an older one is written', async () => {
    const store = new MemoryLog();
    await store.append([
      { v: '1', e: 'a' },
      { v: '1', e: 'b' },
    ]);
    expect(await store.writeSnapshot({ position: '2', time: 2, format: '3', data: ['newer'] })).toBe(true);
    expect(await store.writeSnapshot({ position: '1', time: 1, format: '3', data: ['older'] })).toBe(false);
    expect((await store.readSnapshot())?.data).toEqual(['newer']);
  });
});
