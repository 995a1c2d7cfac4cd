import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { crc32, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Combine, deflatePiece, gzipEnd, SYNC_BYTES } from '../../src/metrics/gzip-member.js';
import { PIECES_IN_FLIGHT, PieceGzip, type Piece } from '../../src/metrics/gzip-pieces.js';

describe('crc32Combine', () => {
  it('gives the CRC-32 of two texts one after the other from the CRC-32 of each', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 5000 }), (a, b) => {
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      }),
    );
  });
});

describe('PieceGzip', () => {
  const records = Array.from({ length: 40 }, (_, i) => ({ line: `metric{component="${i}"} ${i % 3}\n` }));
  const piecesOf = (items: { line: string }[], tail: string): Piece[] => {
    const pieces: Piece[] = [];
    for (let from = 0; from < items.length; from += 8) {
      const to = Math.min(items.length, from + 8);
      pieces.push({
        text: Buffer.from(
          items
            .slice(from, to)
            .map((item) => item.line)
            .join(''),
        ),
        key: { items, from, to },
      });
    }
    pieces.push({ text: Buffer.from(tail), key: undefined });
    return pieces;
  };
  const body = async (gzip: PieceGzip, pieces: Piece[]) => {
    const start = await gzip.start(pieces);
    return Buffer.concat([...start.parts, gzipEnd(start, Buffer.from('# rest\n'))]);
  };
  const plain = (pieces: Piece[]) => Buffer.concat([...pieces.map((piece) => piece.text), Buffer.from('# rest\n')]).toString();

  it('makes one gzip member of the pieces, and after a change compresses only the pieces whose records changed', async () => {
    const gzip = new PieceGzip();
    const first = piecesOf(records, '# tail 1\n');
    const firstBody = await body(gzip, first);
    expect(gunzipSync(firstBody).toString()).toBe(plain(first));

    const changed = [...records];
    changed[17] = { line: 'metric{component="17"} 9\n' };
    const second = piecesOf(changed, '# tail 2\n');
    // A piece whose records are the same objects is taken from the cache: poison its text to prove it is not read.
    const reused = second.map((piece, index) => (index === 2 || piece.key === undefined ? piece : { ...piece, text: Buffer.from('never read\n') }));
    const secondBody = await body(gzip, reused);
    expect(gunzipSync(secondBody).toString()).toBe(plain(second));
    expect(gunzipSync(secondBody).toString()).toContain('metric{component="17"} 9\n');
  });

  it('compresses a piece again when its records are equal but not the same objects', async () => {
    const gzip = new PieceGzip();
    await gzip.start(piecesOf(records, ''));
    const copies = records.map((record) => ({ ...record, line: record.line.replace(' ', ' ') }));
    copies[0] = { line: 'changed{} 1\n' };
    const pieces = piecesOf(copies, '');
    expect(gunzipSync(await body(gzip, pieces)).toString()).toBe(plain(pieces));
  });

  it('deflates at most PIECES_IN_FLIGHT pieces at once on the thread pool, however many it compresses', async () => {
    // Each zlib compressor holds about 270 KiB of C heap until it ends: 320 pieces started at once
    // (a first scrape at 10,000 components) took its peak 60-70 MiB higher, to the chart's limit.
    const pieces: Piece[] = Array.from({ length: 64 }, () => ({ text: randomBytes(Math.ceil((2 * SYNC_BYTES) / 64)), key: undefined }));
    let open = 0;
    let most = 0;
    const counted = async (text: Buffer) => {
      open += 1;
      most = Math.max(most, open);
      try {
        return await deflatePiece(text);
      } finally {
        open -= 1;
      }
    };
    const start = await new PieceGzip(counted).start(pieces);
    const body = gunzipSync(Buffer.concat([...start.parts, gzipEnd(start, Buffer.alloc(0))]));
    expect(body.equals(Buffer.concat(pieces.map((piece) => piece.text)))).toBe(true);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(PIECES_IN_FLIGHT);
  });
});
