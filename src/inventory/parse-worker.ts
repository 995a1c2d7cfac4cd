import { parentPort, workerData } from 'node:worker_threads';
import { InventoryError, parseInventory, type InventoryLimits } from './file.js';

// A reload's parse, in a thread of its own: a file of megabytes takes the parser a second or
// more, which on the main thread would hold every webhook and scrape that long.

export type ParseRequest = { text: string; file: string; env: Record<string, string>; limits: InventoryLimits };
export type ParseReply =
  | { ok: true; pages: ReturnType<typeof parseInventory>['pages']; pageTokens: [string, string[]][]; tokenEnvs: string[] }
  | { ok: false; message: string; invalid: boolean };

const port = parentPort;
if (!port) throw new Error('parse-worker.js runs as a worker thread of the status pages reload');

const request = workerData as ParseRequest;
let reply: ParseReply;
try {
  const inventory = parseInventory(request.text, request.file, request.env, request.limits);
  reply = { ok: true, pages: inventory.pages, pageTokens: [...inventory.pageTokens], tokenEnvs: inventory.tokenEnvs };
} catch (error) {
  reply = { ok: false, message: (error as Error).message, invalid: error instanceof InventoryError };
}
port.postMessage(reply);
