import { parentPort, workerData } from 'node:worker_threads';
import { schemaVersionOf, SqliteFile, type LogRow, type RowMigrator, type SqliteOptions } from './sqlite-file.js';
import type { StoredSnapshot } from './store.js';

// The thread that owns the SQLite file. The main thread sends it requests and gets one reply
// per request, in order.

export type StoreRequest =
  | { id: number; op: 'open' }
  | { id: number; op: 'append'; rows: { time: number; entry: string }[] }
  | { id: number; op: 'read'; after: number; max: number }
  | { id: number; op: 'snapshot' }
  | { id: number; op: 'snapshotInfo' }
  | { id: number; op: 'writeSnapshot'; snapshot: StoredSnapshot }
  | { id: number; op: 'probe' }
  | { id: number; op: 'close' };

export type StoreReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/** What each request answers. */
export type StoreValues = {
  open: { position: number; time: number };
  append: number[];
  read: LogRow[];
  snapshot: StoredSnapshot | null;
  snapshotInfo: { position: string; time: number } | null;
  writeSnapshot: boolean;
  probe: null;
  close: null;
};

const port = parentPort;
if (!port) throw new Error('sqlite-worker.js runs as a worker thread of SqliteLog');

// A file that cannot be opened (held by another process, a newer schema, an unwritable
// directory) is reported to every request rather than thrown here, so the main thread gets the
// reason in a rejected promise.
let file: SqliteFile | undefined;
let openError: string | undefined;
try {
  const options = workerData as SqliteOptions;
  const version = schemaVersionOf(options.path);
  // Only a file written before the log needs the record schemas (and their memory).
  let migrate: RowMigrator | undefined;
  if (version !== null && version < 3) ({ snapshotOfRows: migrate } = await import('./sqlite-migrate.js'));
  file = new SqliteFile(options, migrate);
} catch (error) {
  openError = (error as Error).message;
}

function value(request: StoreRequest, open: SqliteFile): unknown {
  switch (request.op) {
    case 'open':
      return open.end();
    case 'append':
      return open.append(request.rows);
    case 'read':
      return open.read(request.after, request.max);
    case 'snapshot':
      return open.snapshot();
    case 'snapshotInfo':
      return open.snapshotInfo();
    case 'writeSnapshot':
      return open.writeSnapshot(request.snapshot);
    case 'probe':
      open.probe();
      return null;
    case 'close':
      open.close();
      return null;
  }
}

port.on('message', (request: StoreRequest) => {
  let reply: StoreReply;
  if (!file) {
    reply = request.op === 'close' ? { id: request.id, ok: true, value: null } : { id: request.id, ok: false, message: openError ?? 'SQLite file is not open' };
  } else {
    try {
      reply = { id: request.id, ok: true, value: value(request, file) };
    } catch (error) {
      reply = { id: request.id, ok: false, message: (error as Error).message };
    }
  }
  port.postMessage(reply);
});
