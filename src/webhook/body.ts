import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { gunzip, inflate, inflateRaw, type InputType, type ZlibOptions } from 'node:zlib';
import { BodiesInFlightError, type BodyLease } from './body-budget.js';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
  }
}

export class BodyAbortedError extends Error {
  override name = 'BodyAbortedError';
}

/**
 * Reads a request body up to `limit` bytes. Refuses early on a larger Content-Length and stops
 * reading as soon as the limit is crossed, so an oversized body never sits in memory whole. The
 * body's bytes are taken from `lease` before they are kept: a declared length whole, before
 * anything is read (a body that fits is never refused half-way), a chunked body chunk by chunk.
 * Without room, it rejects with BodiesInFlightError.
 */
export function readBody(req: IncomingMessage, limit: number, lease: BodyLease): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  const hasLength = req.headers['content-length'] !== undefined && Number.isFinite(declared);
  if (hasLength && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  if (hasLength && !lease.take(declared)) return Promise.reject(new BodiesInFlightError(lease.limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(new BodyTooLargeError(limit));
        return;
      }
      if (!hasLength && !lease.take(chunk.length)) {
        cleanup();
        reject(new BodiesInFlightError(lease.limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new BodyAbortedError(error.message));
    };
    const onAborted = () => {
      cleanup();
      reject(new BodyAbortedError('client aborted the request'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;
/** What an HTML form sends; never JSON, and what a cross-site form post would carry. */
const FORM_MEDIA_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

/** The media type of a Content-Type header, lower-cased, without parameters ('' when absent). */
export function mediaTypeOf(header: string | undefined): string {
  if (!header) return '';
  return header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** True for `application/json` and `application/*+json`, with any parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  return JSON_MEDIA_TYPE.test(mediaTypeOf(header));
}

/** True for the media types of HTML forms. */
export const isFormContentType = (header: string | undefined): boolean => FORM_MEDIA_TYPES.has(mediaTypeOf(header));

/**
 * The charset a Content-Type declares, lower-cased, when it is not UTF-8 (undefined for UTF-8 or
 * none). JSON is UTF-8 (RFC 8259 §8.1); bytes in another charset would be decoded wrongly.
 */
export function foreignCharset(header: string | undefined): string | undefined {
  if (!header || !header.includes(';')) return undefined;
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(header);
  const charset = match?.[1]?.toLowerCase();
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8') return undefined;
  return charset;
}

export class UnsupportedEncodingError extends Error {
  override name = 'UnsupportedEncodingError';
}

export class BadEncodingError extends Error {
  override name = 'BadEncodingError';
}

type Decoder = (input: InputType, options: ZlibOptions, done: (error: Error | null, output: Buffer) => void) => void;
const DECODERS = new Map<string, Decoder>([
  ['gzip', gunzip],
  ['x-gzip', gunzip],
  ['deflate', inflate],
]);

/**
 * A Transfer-Encoding header that names a coding besides `chunked` (`gzip, chunked`), or undefined.
 * Node undoes only the chunks (it refuses a request whose last coding is not chunked) and hands the
 * body over still compressed: read as JSON, it was refused as "not valid UTF-8", which blamed the
 * sender's JSON. A body is compressed with Content-Encoding, which is decoded.
 */
export function undecodedTransferCoding(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const codings = header.split(',').map((coding) => coding.trim().toLowerCase());
  return codings.every((coding) => coding === 'chunked' || coding === 'identity') ? undefined : header;
}

/** The answer's words for an undecodedTransferCoding, shared by every route that reads a body. */
export const transferCodingError = (header: string) =>
  `unsupported Transfer-Encoding ${JSON.stringify(header.length > 100 ? `${header.slice(0, 100)}…` : header)}: send the body chunked or with a Content-Length, compressed with Content-Encoding gzip or deflate if at all`;

/** True when a Content-Encoding header names a coding other than identity (the body needs decodeBody). */
export const isEncoded = (header: string | undefined): boolean => header !== undefined && header !== '' && header.trim().toLowerCase() !== 'identity';

function decode(decoder: Decoder, raw: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxOutputLength stops zlib as soon as the output would pass the limit: a bomb never expands in memory.
    decoder(raw, { maxOutputLength: limit }, (error, output) => {
      if (!error) resolve(output);
      else reject(error);
    });
  });
}

/**
 * Decodes a body sent with Content-Encoding gzip or deflate into at most `limit` bytes. Throws a
 * BodyTooLargeError past the limit, an UnsupportedEncodingError for any other coding and a
 * BadEncodingError when the bytes are not of the coding declared.
 */
export async function decodeBody(header: string, raw: Buffer, limit: number): Promise<Buffer> {
  const coding = header.trim().toLowerCase();
  const decoder = DECODERS.get(coding);
  if (decoder === undefined)
    throw new UnsupportedEncodingError(`unsupported Content-Encoding ${JSON.stringify(coding.slice(0, 100))}: send gzip, deflate or none`);
  try {
    return await decode(decoder, raw, limit);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) throw new BodyTooLargeError(limit);
    // "deflate" is the zlib format (RFC 9110 §8.4.1.2), but some senders use raw deflate.
    if (coding === 'deflate') {
      try {
        return await decode(inflateRaw, raw, limit);
      } catch (rawError) {
        if ((rawError as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || rawError instanceof RangeError) throw new BodyTooLargeError(limit);
      }
    }
    throw new BadEncodingError(`body is not valid ${coding}: ${(error as Error).message}`);
  }
}

const BOM = 0xfeff;

/**
 * The text of a JSON body: UTF-8 without a leading byte order mark (RFC 8259 §8.1 lets a parser
 * ignore it). Undefined when the bytes are not UTF-8, which would otherwise turn into U+FFFD unseen.
 */
export function bodyText(raw: Buffer): string | undefined {
  if (!isUtf8(raw)) return undefined;
  const text = raw.toString('utf8');
  return text.charCodeAt(0) === BOM ? text.slice(1) : text;
}
