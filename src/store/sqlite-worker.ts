import { parentPort, workerData } from 'node:worker_threads';
import type { SqliteOptions } from './sqlite-file.js';
import { openOps, type StoreRequest } from './sqlite-ops.js';

// The thread that owns the SQLite file when SQLITE_SYNCHRONOUS=full. The main thread sends it
// requests and gets one reply per request, in order.

const port = parentPort;
if (!port) throw new Error('sqlite-worker.js runs as a worker thread of SqliteLog');

const handle = await openOps(workerData as SqliteOptions);
port.on('message', (request: StoreRequest) => port.postMessage(handle(request)));
