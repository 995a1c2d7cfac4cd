import { writeSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** How long a line may wait for a full pipe (EAGAIN) before it is dropped: the event loop waits meanwhile. */
const PIPE_WAIT_MS = 100;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Bytes of lines held before they are written at once, without waiting for the next turn. */
const BATCH_BYTES = 64 * 1024;

/** Lines this process's destinations dropped (statusmate_log_lines_dropped_total). */
let linesDropped = 0;

/** How many log lines this process dropped because stdout could not take them (see lineDestination). */
export function logLinesDropped(): number {
  return linesDropped;
}

/** Destinations with lines not yet written: written at exit too, whatever ends the process. */
const unwritten = new Set<() => void>();
let exitHook = false;

/**
 * A file descriptor (stdout) that takes the lines of one turn of the event loop and writes them
 * in one call at the next (or once 64 KiB are held), synchronously, and drops what it cannot
 * write rather than wait for ever. pino's own destination (sonic-boom) retries a failed write
 * forever, asleep on the main thread: with stdout on a full disk (`npm start > file`), every
 * request then hung and SIGTERM went unheard. A full pipe (EAGAIN) is waited for, up to
 * PIPE_WAIT_MS a write, and not at all while lines are being dropped (a reader that stopped would
 * otherwise cost that much each turn); any other error (ENOSPC, EPIPE, EIO) drops the lines.
 * `dropped` counts the lines lost (and logLinesDropped, over the process's destinations, for the
 * metrics). `flush` writes what is held now (exitAfterLogs calls it).
 */
export function lineDestination(fd = 1): DestinationStream & { readonly dropped: number; flush(done?: (error?: Error) => void): void } {
  let dropped = 0;
  let congested = false;
  let held: string[] = [];
  let heldBytes = 0;
  let scheduled = false;

  /** Writes `text` whole, or gives up (false) as described above. */
  const writeAll = (text: string): boolean => {
    let bytes: Buffer | undefined;
    let offset = 0;
    const deadline = congested ? 0 : Date.now() + PIPE_WAIT_MS;
    for (;;) {
      try {
        // The usual case in one call, without a copy of the text.
        if (bytes === undefined) {
          offset = writeSync(fd, text);
          if (offset === Buffer.byteLength(text)) return true;
          bytes = Buffer.from(text, 'utf8');
        } else {
          offset += writeSync(fd, bytes, offset);
        }
        if (offset >= bytes.length) return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const full = code === 'EAGAIN' || code === 'EBUSY';
        if (full && Date.now() < deadline) {
          bytes ??= Buffer.from(text, 'utf8');
          Atomics.wait(pause, 0, 0, 1);
          continue;
        }
        congested = full;
        return false;
      }
    }
  };

  const flush = (): void => {
    scheduled = false;
    if (held.length === 0) return;
    const lines = held;
    held = [];
    heldBytes = 0;
    if (writeAll(lines.join(''))) congested = false;
    else {
      dropped += lines.length;
      linesDropped += lines.length;
    }
    if (held.length === 0) unwritten.delete(flush);
  };

  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const write of unwritten) write();
    });
  }

  return {
    get dropped() {
      return dropped;
    },
    write(line: string): void {
      held.push(line);
      heldBytes += line.length;
      unwritten.add(flush);
      if (heldBytes >= BATCH_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush).unref();
      }
    },
    flush(done?: (error?: Error) => void): void {
      flush();
      done?.();
    },
  };
}

/**
 * JSON lines on stdout. Tokens are never logged on purpose (the access log drops query strings
 * and headers); the redaction below is the second line of defence should one reach a log call.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'statusmate-exporter' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization', 'headers["x-webhook-token"]', '*.headers["x-webhook-token"]'],
        censor: '[redacted]',
      },
    },
    destination ?? lineDestination(1),
  );
}

/** How long an exit waits for the log lines before it to reach stdout. */
export const LOG_FLUSH_MS = 500;

/** The part of pino's destination (a sonic-boom on stdout) an exit needs. */
type Destination = { flush?: (done: (error?: Error) => void) => void; flushSync?: () => void; _writing?: boolean };

/**
 * Writes a last line with `log`, then exits with `code` once the lines so far reached stdout,
 * or after `timeoutMs`, whichever comes first. pino flushes synchronously on exit, and
 * sonic-boom's synchronous flush retries a failed write forever unless the error is EAGAIN: with
 * the reader of stdout gone (EPIPE) the process would never exit. So the flush is done here,
 * asynchronously and bounded, and the synchronous one is disarmed: what is left is lost, not the exit.
 */
export function exitAfterLogs(logger: Logger, code: number, log?: (logger: Logger) => void, timeoutMs = LOG_FLUSH_MS): void {
  try {
    log?.(logger);
  } catch {
    // a log line must never stand between the process and its exit
  }
  const destination = (logger as unknown as Record<symbol, Destination | undefined>)[pino.symbols.streamSym];
  const exit = () => {
    if (destination?.flushSync) destination.flushSync = () => undefined;
    process.exit(code);
  };
  if (typeof destination?.flush !== 'function') {
    exit();
    return;
  }
  const timer = setTimeout(exit, timeoutMs);
  // sonic-boom answers flush() at once while a write is still in flight (pino's stdout has no
  // minimum length), so the last line would be lost: wait for the write first, polling (bounded
  // by the timer above), then flush what may be left.
  const flushWhenIdle = () => {
    if (destination._writing === true) {
      setTimeout(flushWhenIdle, 2);
      return;
    }
    try {
      destination.flush?.(() => {
        clearTimeout(timer);
        exit();
      });
    } catch {
      clearTimeout(timer);
      exit();
    }
  };
  flushWhenIdle();
}
