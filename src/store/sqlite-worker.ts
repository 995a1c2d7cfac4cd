import { parentPort, workerData } from 'node:worker_threads';
import { SqliteFile, type SqliteOptions, type StoredRows } from './sqlite-file.js';
import type { PatchRows } from './sqlite-rows.js';

// The thread that owns the SQLite file. The main thread sends it one request at a time per
// purpose (the ingestor never commits concurrently) and gets one reply per request.

export type StoreRequest =
  { id: number; op: 'read' } | { id: number; op: 'commit'; rows: PatchRows } | { id: number; op: 'ping'; write: boolean } | { id: number; op: 'close' };

export type StoreReply = { id: number; ok: true; rows?: StoredRows } | { id: number; ok: false; message: string };

const port = parentPort;
if (!port) throw new Error('sqlite-worker.js runs as a worker thread of SqliteStore');

// A file that cannot be opened (wrong schema version, unwritable directory) is reported to every
// request rather than thrown here, so the main thread gets the reason in a rejected promise.
let file: SqliteFile | undefined;
let openError: string | undefined;
try {
  file = new SqliteFile(workerData as SqliteOptions);
} catch (error) {
  openError = (error as Error).message;
}

/** Set by a failed commit: every later commit is refused until the main thread reads the file again. */
let refusing: string | undefined;

function answer(request: StoreRequest): StoreReply {
  if (!file) return request.op === 'close' ? { id: request.id, ok: true } : { id: request.id, ok: false, message: openError ?? 'SQLite file is not open' };
  try {
    switch (request.op) {
      case 'read':
        refusing = undefined;
        return { id: request.id, ok: true, rows: file.read() };
      case 'commit':
        if (refusing !== undefined) return { id: request.id, ok: false, message: `not committed: an earlier commit failed (${refusing})` };
        try {
          file.commit(request.rows);
        } catch (error) {
          refusing = (error as Error).message;
          throw error;
        }
        return { id: request.id, ok: true };
      case 'ping':
        file.ping(request.write);
        return { id: request.id, ok: true };
      case 'close':
        file.close();
        return { id: request.id, ok: true };
    }
  } catch (error) {
    return { id: request.id, ok: false, message: (error as Error).message };
  }
}

port.on('message', (request: StoreRequest) => {
  port.postMessage(answer(request));
});
