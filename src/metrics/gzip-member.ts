import { availableParallelism } from 'node:os';
import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib';

// /metrics with gzip is one gzip member (RFC 1952) built from parts: the large domain text,
// compressed a piece at a time and kept per piece, and the small rest (telemetry), compressed per
// scrape. Two members in a row are valid gzip, but curl --compressed and browsers stop after the
// first; one member needs every piece's deflate stream left open, flushed to a byte boundary, and
// one trailer whose CRC-32 and size cover every part.
//
// A deflate stream may be cut after a flush and continued by another compressor's blocks, as long
// as those never refer back past their own start (a fresh compressor never does): so a piece
// compressed on its own can be reused in the next body when its bytes did not change, and a
// change costs the compression of the pieces it touched, not of ten megabytes.

/**
 * The start of one gzip member: its header and text deflated to a byte boundary, with no final
 * block, as parts to send one after the other (a piece's bytes are not copied into one buffer).
 */
export type GzipStart = { parts: readonly Buffer[]; crc: number; length: number };

/**
 * One piece of text deflated on its own to a byte boundary, with no final block. `shift` is the
 * factor that moves a CRC-32 past the piece's `length` bytes (see crc32Combine), computed once
 * with the piece: a body of 240 cached pieces is combined per state version in 240
 * multiplications rather than 240 times twenty.
 */
export type DeflatedPiece = { deflated: Buffer; crc: number; length: number; shift: number };

/** The fields of a DeflatedPiece of `text` other than its deflated bytes. */
function checksumOf(text: Buffer): Omit<DeflatedPiece, 'deflated'> {
  return { crc: crc32(text), length: text.length, shift: shiftFactor(text.length) };
}

/** No name, no time, no flags; OS 3 (Unix), as zlib writes it. */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

/** Level 1: a tenth of level 6's CPU for a body a few percent larger. */
const LEVEL = 1;

/**
 * `text` deflated on its own on the thread pool, ending on a byte boundary (Z_SYNC_FLUSH) without
 * a final block, so that more blocks may follow. `chunkSize` is zlib's output buffer: each one
 * filled is a round trip between the thread pool and the event loop, and the result keeps the
 * last one's memory.
 */
function deflateOnPool(text: Buffer, chunkSize: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(text, { level: LEVEL, finishFlush: constants.Z_SYNC_FLUSH, chunkSize }, (error, deflated) => {
      if (error) reject(error);
      else resolve(deflated);
    });
  });
}

/**
 * `text` deflated on its own on the thread pool (see deflateOnPool). Its CRC-32 is computed on
 * the event loop while the pool deflates, not after: about 0.4 ms for the 1.7 MB of open lines
 * at 10,000 components, no longer added to the scrape's wait.
 */
export async function deflatePiece(text: Buffer, chunkSize = constants.Z_DEFAULT_CHUNK): Promise<DeflatedPiece> {
  const deflating = deflateOnPool(text, chunkSize);
  const checksum = checksumOf(text);
  return { deflated: ownBytes(await deflating), ...checksum };
}

/** deflatePiece on the event loop: for pieces small enough that a thread-pool round trip costs more than the work. */
export function deflatePieceSync(text: Buffer): DeflatedPiece {
  return { deflated: ownBytes(deflateRawSync(text, { level: LEVEL, finishFlush: constants.Z_SYNC_FLUSH })), ...checksumOf(text) };
}

/** Unused bytes a deflated piece may keep behind it before it is copied into a buffer of its own. */
const SPARE_BYTES = 4096;

/**
 * `deflated` in a buffer of its own size when it is a small view of a larger one. zlib hands its
 * output back as a view of a 64 KiB buffer however little it holds, so every cached piece of a
 * few kilobytes kept a whole one alive: at 10,000 components, 5.3 MB of buffers behind the 0.7 MB
 * of the cached gzip body.
 */
function ownBytes(deflated: Buffer): Buffer {
  if (deflated.buffer.byteLength - deflated.length <= SPARE_BYTES) return deflated;
  const own = Buffer.allocUnsafeSlow(deflated.length);
  deflated.copy(own);
  return own;
}

/** The start of a gzip member holding `pieces` one after the other. */
export function gzipOf(pieces: readonly DeflatedPiece[]): GzipStart {
  let crc = 0;
  let length = 0;
  for (const piece of pieces) {
    crc = combine(crc, piece);
    length += piece.length;
  }
  return { parts: [HEADER, ...pieces.map((piece) => piece.deflated)], crc, length };
}

/**
 * Below this many bytes (about 1.5 ms of level-1 deflate), compressing on the event loop is
 * quicker than the thread pool: a change at 10,000 components re-compresses about 360 KB (its
 * chunks and the page families), which took 2.8 ms in 16 KB round trips and takes 1.7 ms here.
 */
export const SYNC_BYTES = 1024 * 1024;

/** The largest output buffer poolChunkSize asks for: the pieces it makes are let go after the scrape. */
const MAX_CHUNK = 1024 * 1024;

/**
 * Pieces to compress a large text in at once on the thread pool: one per CPU but the event loop's,
 * which renders and compresses a change meanwhile (at most the pool's default four threads), so
 * that a scrape does not ask for more threads than CPUs. On the 2-CPU machine of the bench, two
 * pieces were no faster than one even alone (1.7 MB: 2.9-4.0 ms against 2.3).
 */
export const PARALLEL_PIECES = Math.max(1, Math.min(4, availableParallelism() - 1));

/**
 * zlib's output buffer for `bytes` of exposition text deflated on the thread pool: it deflates to
 * about a tenth at level 1, so an eighth of the input is one output buffer, where zlib's 16 KB
 * default took seven round trips for a piece of 860 KB.
 */
export function poolChunkSize(bytes: number): number {
  return Math.min(MAX_CHUNK, Math.max(constants.Z_DEFAULT_CHUNK, Math.ceil(bytes / 8)));
}

/** `start` continued by `pieces`. */
export function continueGzip(start: GzipStart, pieces: readonly DeflatedPiece[]): GzipStart {
  let crc = start.crc;
  let length = start.length;
  for (const piece of pieces) {
    crc = combine(crc, piece);
    length += piece.length;
  }
  return { parts: [...start.parts, ...pieces.map((piece) => piece.deflated)], crc, length };
}

/** The end of the member `start` began: `rest` deflated to a final block, then the trailer over both. */
export function gzipEnd(start: GzipStart, rest: Buffer): Buffer {
  const deflated = deflateRawSync(rest, { level: LEVEL });
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc32(rest, start.crc) >>> 0, 0);
  trailer.writeUInt32LE((start.length + rest.length) % 2 ** 32, 4);
  return Buffer.concat([deflated, trailer]);
}

// CRC-32 of two texts one after the other, from the CRC-32 of each and the second's length, in
// O(log length): a CRC is the remainder of a polynomial division over GF(2), so appending n bytes
// multiplies the first text's remainder by x^(8n) modulo the CRC polynomial. Bits are reflected,
// as in the CRC-32 of gzip: the polynomial's x^0 term is the word's top bit.

/** The CRC-32 polynomial, reflected. */
const POLYNOMIAL = 0xedb88320;
/** x^0, reflected: the multiplicative identity. */
const ONE = 0x80000000;

/** a(x)·b(x) modulo the polynomial, both reflected. */
function multiplyModulo(a: number, b: number): number {
  let product = 0;
  for (let bit = ONE; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) {
      product ^= b;
      if ((a & (bit - 1)) === 0) break;
    }
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLYNOMIAL : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k from 0 to 31; x^(2^32) is x again modulo this polynomial, so the table repeats. */
const SQUARES: number[] = (() => {
  const squares = [ONE >>> 1]; // x^1
  for (let k = 1; k < 32; k += 1) squares.push(multiplyModulo(squares[k - 1] as number, squares[k - 1] as number));
  return squares;
})();

/** x^(8·bytes) modulo the polynomial: the factor that shifts a CRC past `bytes` bytes. */
function shiftFactor(bytes: number): number {
  let factor = ONE;
  // x^(8n) = product of x^(2^k) over the set bits k of 8n; 8n's bit k + 3 is n's bit k.
  let k = 3;
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k += 1) {
    if (n % 2 === 1) factor = multiplyModulo(SQUARES[k % 32] as number, factor);
  }
  return factor;
}

/** The CRC-32 of A followed by `piece`'s text, given crc32(A): with the shift factor the piece keeps. */
function combine(crcA: number, piece: DeflatedPiece): number {
  return crc32Combine(crcA, piece.crc, piece.length, piece.shift);
}

/**
 * The CRC-32 of A followed by B, given crc32(A), crc32(B) and B's length in bytes; `shift` is
 * shiftFactor(lengthB), when the caller kept it.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number, shift = shiftFactor(lengthB)): number {
  if (lengthB === 0) return crcA >>> 0;
  return (multiplyModulo(shift, crcA) ^ crcB) >>> 0;
}
