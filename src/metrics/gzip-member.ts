import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib';

// /metrics with gzip is one gzip member (RFC 1952) built from two parts: the large domain text,
// compressed once per state version, and the small rest (telemetry), compressed per scrape.
// Two members in a row are valid gzip, but curl --compressed and browsers stop after the
// first; one member needs the first part's deflate stream left open, flushed to a byte
// boundary, and one trailer whose CRC-32 and size cover both parts.

/** The start of one gzip member: its header and `text` deflated to a byte boundary, with no final block. */
export type GzipStart = { bytes: Buffer; crc: number; length: number };

/** No name, no time, no flags; OS 3 (Unix), as zlib writes it. */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

/** Level 1: a tenth of level 6's CPU for a body a few percent larger. */
const LEVEL = 1;

export function gzipStart(text: Buffer): Promise<GzipStart> {
  return new Promise((resolve, reject) => {
    // Z_SYNC_FLUSH ends on a byte boundary without marking a block final: more blocks may follow.
    deflateRaw(text, { level: LEVEL, finishFlush: constants.Z_SYNC_FLUSH }, (error, deflated) => {
      if (error) reject(error);
      else resolve({ bytes: Buffer.concat([HEADER, deflated]), crc: crc32(text), length: text.length });
    });
  });
}

/** The end of the member `start` began: `rest` deflated to a final block, then the trailer over both. */
export function gzipEnd(start: GzipStart, rest: Buffer): Buffer {
  const deflated = deflateRawSync(rest, { level: LEVEL });
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc32(rest, start.crc) >>> 0, 0);
  trailer.writeUInt32LE((start.length + rest.length) % 2 ** 32, 4);
  return Buffer.concat([deflated, trailer]);
}
