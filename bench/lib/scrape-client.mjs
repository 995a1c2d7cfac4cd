// The client that times scrapes. node:http's client hands every 64 KiB read to JavaScript as a
// new Buffer; a 10 MiB body is 160 of them, and the garbage collections they set off (traced with
// --trace-gc: a scavenge and a mark-compact for "external memory pressure" on every scrape, up to
// 18 ms) landed in the exporter's timings. This client reads into one buffer it re-uses (net's
// `onread`), 1 MiB at a time, and keeps nothing of the body but its length: the cost left in a
// timing is the server's and the kernel's, as with a Go scraper such as Prometheus.

import { connect } from 'node:net';

const READ_SIZE = 1 << 20;

/** A parser of one HTTP/1.1 response, fed the bytes as they arrive; keeps only the head. */
class ResponseReader {
  phase = 'head';
  head = '';
  status = 0;
  headers = {};
  bytes = 0;
  remaining = 0;
  line = '';

  /** Consumes bytes [start, end) of `buffer`; returns true when the response is complete. */
  feed(buffer, start, end) {
    let at = start;
    while (at < end) {
      switch (this.phase) {
        case 'head': {
          const take = Math.min(end, at + 8192);
          this.head += buffer.latin1Slice(at, take);
          const headEnd = this.head.indexOf('\r\n\r\n');
          if (headEnd < 0) {
            if (this.head.length > 65536) throw new Error('response head over 64 KiB');
            at = take;
            break;
          }
          // Give back what followed the head: it is body.
          at = take - (this.head.length - headEnd - 4);
          this.parseHead(this.head.slice(0, headEnd));
          break;
        }
        case 'length':
        case 'chunk': {
          // Body bytes: the whole body after a Content-Length, or one chunk's data.
          const take = Math.min(end - at, this.remaining);
          this.bytes += take;
          this.remaining -= take;
          at += take;
          if (this.remaining > 0) break;
          if (this.phase === 'length') {
            this.phase = 'done';
          } else {
            this.phase = 'chunk-end';
            this.remaining = 2;
          }
          break;
        }
        case 'size':
        case 'trailer': {
          const newline = buffer.indexOf(10, at);
          const stop = newline < 0 || newline >= end ? end : newline + 1;
          this.line += buffer.latin1Slice(at, stop);
          at = stop;
          if (!this.line.endsWith('\n')) {
            if (this.line.length > 4096) throw new Error('chunk line over 4 KiB');
            break;
          }
          const line = this.line.trimEnd();
          this.line = '';
          if (this.phase === 'trailer') {
            if (line === '') this.phase = 'done';
            break;
          }
          const size = Number.parseInt(line.split(';')[0], 16);
          if (!Number.isInteger(size) || size < 0) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
          if (size === 0) {
            this.phase = 'trailer';
          } else {
            this.phase = 'chunk';
            this.remaining = size;
          }
          break;
        }
        case 'chunk-end': {
          const take = Math.min(end - at, this.remaining);
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.phase = 'size';
          break;
        }
        case 'done':
          throw new Error(`${end - at} bytes after the end of the response`);
        default:
          throw new Error(`parser in unknown phase ${this.phase}`);
      }
    }
    return this.phase === 'done';
  }

  parseHead(head) {
    const [statusLine, ...lines] = head.split('\r\n');
    const match = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
    if (!match) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    this.status = Number(match[1]);
    for (const line of lines) {
      const colon = line.indexOf(':');
      this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    if (this.headers['transfer-encoding'] === 'chunked') {
      this.phase = 'size';
    } else if (this.headers['content-length'] !== undefined) {
      this.remaining = Number(this.headers['content-length']);
      this.phase = this.remaining === 0 ? 'done' : 'length';
    } else {
      throw new Error('response has neither Content-Length nor chunked encoding');
    }
  }
}

/** One keep-alive connection per origin, opened again when the server closed it. */
const connections = new Map();

function connection(origin) {
  const existing = connections.get(origin);
  if (existing && !existing.socket.destroyed) return existing;
  const url = new URL(origin);
  const state = { socket: undefined, pending: undefined };
  state.socket = connect({
    host: url.hostname,
    port: Number(url.port),
    noDelay: true,
    onread: {
      buffer: Buffer.allocUnsafe(READ_SIZE),
      callback(nread, buffer) {
        const pending = state.pending;
        if (!pending) return;
        try {
          if (pending.reader.feed(buffer, 0, nread)) {
            state.pending = undefined;
            pending.resolve(performance.now());
          }
        } catch (error) {
          state.pending = undefined;
          state.socket.destroy();
          pending.reject(error);
        }
      },
    },
  });
  const fail = (error) => {
    const pending = state.pending;
    state.pending = undefined;
    pending?.reject(error ?? new Error(`${origin} closed the connection mid-response`));
  };
  state.socket.on('error', fail);
  state.socket.on('close', () => fail());
  connections.set(origin, state);
  return state;
}

/**
 * GET `path` on `origin` over a kept-alive connection; resolves with the status, the response
 * headers, the body's length (after any chunked framing, before any decoding) and the time from
 * the request's first byte to the response's last.
 */
export async function timedGet(origin, path, headers = {}) {
  const state = connection(origin);
  if (state.pending) throw new Error(`${origin}: one request at a time per connection`);
  if (state.socket.connecting) await new Promise((resolve, reject) => state.socket.once('connect', resolve).once('error', reject));
  const reader = new ResponseReader();
  const done = new Promise((resolve, reject) => {
    state.pending = { reader, resolve, reject };
  });
  const host = new URL(origin).host;
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  const started = performance.now();
  state.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  const finished = await done;
  if (reader.headers.connection === 'close') state.socket.destroy();
  return { status: reader.status, headers: reader.headers, bytes: reader.bytes, ms: finished - started };
}

export function closeScrapeConnections() {
  for (const { socket } of connections.values()) socket.destroy();
  connections.clear();
}
