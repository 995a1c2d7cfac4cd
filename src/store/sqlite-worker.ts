import { parentPort, workerData } from 'node:worker_threads';
import type { SqliteOptions } from './sqlite-file.js';
import { openOps, SNAPSHOT_STEPS, type StoreRequest } from './sqlite-ops.js';

// The thread that owns the SQLite file when SQLITE_SYNCHRONOUS=full. The main thread sends it
// requests and gets one reply per request (matched by id).
//
// A snapshot is written and read a piece a message, inside one open transaction (begin, pieces,
// then commit, abort or end), so that neither thread holds its whole text at once for it, nor a
// message its copy. Meanwhile every other request waits here and runs once the transaction ends:
// an append run inside it would be answered before it was durable, and undone with the snapshot
// should that abort.

const port = parentPort;
if (!port) throw new Error('sqlite-worker.js runs as a worker thread of SqliteLog');

const ops = await openOps(workerData as SqliteOptions);
const held: StoreRequest[] = [];
port.on('message', (request: StoreRequest) => {
  if (ops.snapshotOpen() && !SNAPSHOT_STEPS.has(request.op)) {
    held.push(request);
    return;
  }
  port.postMessage(ops.handle(request));
  while (held.length > 0 && !ops.snapshotOpen()) port.postMessage(ops.handle(held.shift() as StoreRequest));
});
