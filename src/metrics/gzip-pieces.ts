import { deflatePiece, deflatePieceSync, gzipOf, SYNC_BYTES, type DeflatedPiece, type GzipStart } from './gzip-member.js';

// The gzip of a large text that changes a little at a time: the text comes in pieces, each with
// a key that decides its bytes (the records it was rendered from), and a piece whose key equals
// the key of the piece at the same place last time is not compressed again.

/** Which items a piece was rendered from: `items[from]` up to, not including, `items[to]`. Equal items, equal bytes. */
export type PieceKey = { items: readonly unknown[]; from: number; to: number };

/** A piece of text and its key; no key: compressed every time. */
export type Piece = { text: Buffer; key: PieceKey | undefined };

type Cached = { items: unknown[]; piece: DeflatedPiece };

/** Whether `items[from..to)` are the objects `held` holds, in order. */
export function sameObjects(held: readonly unknown[], items: readonly unknown[], from: number, to: number): boolean {
  if (held.length !== to - from) return false;
  for (let i = from; i < to; i += 1) if (held[i - from] !== items[i]) return false;
  return true;
}

function sameItems(cached: Cached | undefined, key: PieceKey): cached is Cached {
  return cached !== undefined && sameObjects(cached.items, key.items, key.from, key.to);
}

/**
 * Pieces deflated on the thread pool at once. Each compressor holds about 270 KiB of zlib state
 * from its first write to its end, and the pool (four threads) takes them in turn, a 16 KiB output
 * buffer at a time: the first compression of a 10,000-component state, about 320 pieces started
 * together, held most of them at once: with 200-byte names, 60-70 MiB more RSS at that scrape's
 * peak than eight at a time (README, "Memory"). Eight keep the pool's threads busy.
 */
export const PIECES_IN_FLIGHT = 8;

/** `texts` deflated on the thread pool by `deflate`, PIECES_IN_FLIGHT at a time, in order. */
async function deflateFew(texts: readonly Buffer[], deflate: (text: Buffer) => Promise<DeflatedPiece>): Promise<DeflatedPiece[]> {
  const deflated = new Array<DeflatedPiece>(texts.length);
  let next = 0;
  const worker = async () => {
    while (next < texts.length) {
      const index = next++;
      deflated[index] = await deflate(texts[index] as Buffer);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PIECES_IN_FLIGHT, texts.length) }, worker));
  return deflated;
}

export class PieceGzip {
  /** The compressed piece last made at each place, with the items it was made from. */
  private readonly cache: (Cached | undefined)[] = [];

  /** `deflate`: how a piece is deflated on the thread pool (tests count the compressions in flight). */
  constructor(private readonly deflate: (text: Buffer) => Promise<DeflatedPiece> = (text) => deflatePiece(text)) {}

  /**
   * The start of one gzip member of the pieces, in order (see gzipEnd). The pieces' text must
   * stay unchanged until the promise settles.
   */
  async start(pieces: readonly Piece[]): Promise<GzipStart> {
    const done: (DeflatedPiece | undefined)[] = new Array<DeflatedPiece | undefined>(pieces.length);
    const missing: number[] = [];
    // Copied now: the caller may re-use its arrays of items while the compression runs.
    const missingItems: (unknown[] | undefined)[] = [];
    let missingBytes = 0;
    pieces.forEach((piece, place) => {
      const cached = this.cache[place];
      if (piece.key !== undefined && sameItems(cached, piece.key)) {
        done[place] = cached.piece;
      } else {
        missing.push(place);
        missingItems.push(piece.key?.items.slice(piece.key.from, piece.key.to));
        missingBytes += piece.text.length;
      }
    });
    const compressed =
      missingBytes <= SYNC_BYTES
        ? missing.map((place) => deflatePieceSync((pieces[place] as Piece).text))
        : await deflateFew(
            missing.map((place) => (pieces[place] as Piece).text),
            this.deflate,
          );
    missing.forEach((place, i) => {
      const piece = compressed[i] as DeflatedPiece;
      done[place] = piece;
      const items = missingItems[i];
      // A slower, older start may finish after a newer one: its entry is still right for its items.
      this.cache[place] = items === undefined ? undefined : { items, piece };
    });
    this.cache.length = pieces.length;
    return gzipOf(done as DeflatedPiece[]);
  }
}
