import { readdirSync, unlinkSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { StoreError, type StoreBackups } from '../store/store.js';
import { claimLine } from './access-log.js';

// GET /-/backup: a consistent copy of the store as a SQLite file, made while the exporter serves.
// On SQLite it is the file as committed (the exporter holds its exclusive lock for its lifetime,
// so nothing outside it can copy the file whole: a copy of the .db alone misses the entries still
// in its -wal, and `sqlite3 .backup` is refused); on Redis or memory, the folded state in a new
// SQLite file (state-backups.ts). The copy is written beside SQLITE_PATH (on the volume, not in
// the small /tmp the chart gives), opened, unlinked, then sent from the open file: the volume
// holds it no longer than the answer takes, and a process that dies meanwhile leaves nothing but
// what the next start removes.

/**
 * After a backup, the next one waits this many times as long as writing it took (and at least
 * MIN_GAP_MS): the copy holds the store's other requests while it is written, and a client
 * asking in a loop (the route needs no token on METRICS_PORT) would otherwise hold webhooks
 * most of the time. Backups then take at most about a tenth of the store's time.
 */
const BACKUP_GAP_FACTOR = 10;
const MIN_GAP_MS = 1_000;
/**
 * How long a copy may take to send, at least; longer for a large one (SEND_BYTES_PER_SECOND).
 * A client that stops reading keeps an unlinked file open: it is closed when the time is up.
 */
const MIN_SEND_MS = 60_000;
const SEND_BYTES_PER_SECOND = 1024 * 1024;

/** Only an exporter wired without a directory for copies (an embedding, a test) has no backups. */
const NO_BACKUPS = 'no backup can be made here: the store is not one file, and this exporter was given no directory to write a copy of its state in';

export type BackupRouteOptions = {
  backups: StoreBackups | undefined;
  logger: Logger;
  /**
   * Aborted when the exporter begins to shut down: a copy still being sent is cut then, and none
   * is begun. A client reading slowly (or not at all) would otherwise hold the shutdown until
   * SHUTDOWN_TIMEOUT_SECONDS, and end it without the last snapshot; with the chart's SQLite
   * volume (the Recreate strategy) the next pod, and webhooks, wait meanwhile.
   */
  shutdown?: AbortSignal | undefined;
};

/** The file name a client is offered: the exporter and when the copy was made, in UTC. */
const backupFileName = (ms: number) =>
  `statusmate-exporter-${new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-')}.db`;

export function backupRoute(options: BackupRouteOptions): RequestHandler {
  const backups = options.backups;
  if (backups) removeLeftovers(backups, options.logger);
  let writing = false;
  let nextAt = 0;
  let made = 0;
  // A function, not a narrowed field: the signal changes across the awaits below.
  const shuttingDown = () => options.shutdown?.aborted === true;

  return async (req, res) => {
    if (req.method !== 'GET') {
      // Express routes HEAD to GET: a HEAD must not write a copy nobody reads.
      res.status(405).set('Allow', 'GET').json({ error: 'use GET for /-/backup', issues: [] });
      return;
    }
    if (!backups) {
      res.status(409).json({ error: NO_BACKUPS, issues: [] });
      return;
    }
    if (shuttingDown()) {
      res.status(503).json({ error: 'the exporter is shutting down: ask the next one', issues: [] });
      return;
    }
    const started = Date.now();
    // Read now: a socket the client closed no longer has it.
    const remoteAddress = req.socket.remoteAddress;
    if (writing || started < nextAt) {
      const waitMs = writing ? MIN_GAP_MS : nextAt - started;
      res
        .status(429)
        .set('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))))
        .json({
          error: writing ? 'a backup is being written: ask again once it is sent' : 'a backup was made a moment ago: ask again after Retry-After seconds',
          issues: [],
        });
      return;
    }
    writing = true;
    made += 1;
    const path = join(backups.directory, `${backups.prefix}${process.pid}-${started}-${made}.db`);
    let file: FileHandle | undefined;
    let failure: string | undefined;
    // When the copy began: the wait for the log's end before it is no write, and does not count
    // towards the gap before the next one.
    let writeStarted: number | undefined;
    try {
      // A replica behind a shared log waits for its end first, so that the copy holds every entry
      // acknowledged before the request; one that cannot reach it says so rather than answer a
      // copy without them.
      await backups.caughtUp?.();
      writeStarted = Date.now();
      await backups.write(path);
      file = await open(path, 'r');
    } catch (error) {
      failure = error instanceof StoreError ? error.message : (error as Error).message;
      if (!(error instanceof StoreError)) options.logger.error({ err: error }, 'backup failed');
    } finally {
      // Sent from the open file: the path goes at once, whatever happens next. Before any answer:
      // a 503 sent first left half a copy on the volume for a moment after it.
      await unlink(path).catch(() => undefined);
      writing = false;
      if (writeStarted !== undefined) nextAt = Date.now() + Math.max(MIN_GAP_MS, (Date.now() - writeStarted) * BACKUP_GAP_FACTOR);
    }
    if (file === undefined || writeStarted === undefined) {
      res.locals['logFields'] = { error: `backup failed: ${failure}` };
      // Behind the log, nothing was written: the next ask may come at once.
      if (writeStarted === undefined) res.set('Retry-After', '1');
      res.status(503).json({ error: `the backup could not be written: ${failure}`, issues: [] });
      return;
    }
    const writtenMs = Date.now() - writeStarted;
    try {
      // It may have begun while the copy was written: the listener below would never hear it.
      if (shuttingDown()) {
        res.status(503).json({ error: 'the exporter is shutting down: ask the next one', issues: [] });
        return;
      }
      const { size } = await file.stat();
      res.locals['logFields'] = { backup_bytes: size, backup_ms: writtenMs };
      res.status(200).set({
        'Content-Type': 'application/vnd.sqlite3',
        'Content-Length': String(size),
        'Content-Disposition': `attachment; filename="${backupFileName(started)}"`,
        'Cache-Control': 'no-store',
      });
      const sendMs = Math.max(MIN_SEND_MS, (size / SEND_BYTES_PER_SECOND) * 1000 * 2);
      // A response that never finishes gets no access line (written on 'finish'): this is the
      // request's one line, or the operator sees nothing.
      let logged = false;
      const notSent = (error: string) => {
        // A client gone before the answer began (while the copy was written) may have its line
        // from the access log already (499, nothing sent); a second one here would say 200.
        if (logged || !claimLine(res)) return;
        logged = true;
        options.logger.warn(
          {
            method: req.method,
            path: '/-/backup',
            status: 200,
            duration_ms: Date.now() - started,
            remote_address: remoteAddress,
            backup_bytes: size,
            backup_ms: writtenMs,
            error,
          },
          'backup not sent whole',
        );
      };
      const deadline = setTimeout(() => {
        notSent(`the client did not read the whole backup within ${Math.round(sendMs / 1000)} s: cut`);
        res.destroy();
      }, sendMs);
      // Logged as it is cut: the exporter may exit before the send below has settled.
      const onShutdown = () => {
        notSent('the exporter is shutting down: cut (its client may ask the next one)');
        res.destroy();
      };
      options.shutdown?.addEventListener('abort', onShutdown, { once: true });
      try {
        await pipeline(file.createReadStream({ autoClose: false }), res);
      } catch {
        notSent('the client did not read the whole backup');
      } finally {
        clearTimeout(deadline);
        options.shutdown?.removeEventListener('abort', onShutdown);
      }
    } finally {
      await file.close().catch(() => undefined);
    }
  };
}

/**
 * Removes the copies a process that died while sending them left beside the store: before the
 * route takes a request, so that none of this process's own is among them (in a container the
 * exporter is PID 1 every time, so a name of the process before may be the next one's).
 */
function removeLeftovers(backups: StoreBackups, logger: Logger): void {
  let names: string[];
  try {
    names = readdirSync(backups.directory);
  } catch {
    return;
  }
  for (const name of names.filter((entry) => entry.startsWith(backups.prefix))) {
    const path = join(backups.directory, name);
    try {
      unlinkSync(path);
      logger.warn({ file: path }, 'removed a backup copy left by an earlier process');
    } catch {
      // Gone already, or not ours to remove: a copy's name holds its time, so the next one differs anyway.
    }
  }
}
