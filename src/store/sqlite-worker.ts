import { parentPort, workerData } from 'node:worker_threads';
import type { SqliteOptions } from './sqlite-file.js';
import { openOps, serveInOrder } from './sqlite-ops.js';

// The thread that owns the SQLite file when SQLITE_SYNCHRONOUS=full. The main thread sends it
// requests and gets one reply per request (matched by id), in order (see serveInOrder: a
// snapshot's write or read holds every other request back until it ends).

const port = parentPort;
if (!port) throw new Error('sqlite-worker.js runs as a worker thread of SqliteLog');

const ops = await openOps(workerData as SqliteOptions);
port.on(
  'message',
  serveInOrder(ops, (reply) => port.postMessage(reply)),
);
