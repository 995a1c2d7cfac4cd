import { Worker } from 'node:worker_threads';
import { InventoryError, type Inventory, type InventoryLimits } from './file.js';
import type { ParseReply, ParseRequest } from './parse-worker.js';

/** A parse that takes longer is abandoned: the file is refused, and the thread stopped. */
const PARSE_TIMEOUT_MS = 30_000;
/** The heap a parse may take: a file within the byte limit needs far less; past it, the thread dies, not the exporter. */
const PARSE_HEAP_MB = 512;

/**
 * The worker's entry. Run from source (the tests, tsx) the worker is TypeScript too, and is
 * started through tsx's loader, as SqliteStore's is.
 */
function workerEntry(): { filename: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { filename: new URL('./parse-worker.js', import.meta.url), eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./parse-worker.ts', import.meta.url).href;
  return { filename: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, eval: true };
}

/**
 * parseInventory in a worker thread of its own, bounded in time and heap. Throws an
 * InventoryError naming the problem, as parseInventory does; a thread that dies or overruns
 * refuses the file too, with the reason.
 */
export function parseOffThread(text: string, file: string, env: NodeJS.ProcessEnv, limits: InventoryLimits): Promise<Inventory> {
  // Only what token_env may name crosses to the thread.
  const tokens: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (name.endsWith('_TOKEN') && value !== undefined) tokens[name] = value;
  const request: ParseRequest = { text, file, env: tokens, limits };
  const entry = workerEntry();
  return new Promise((resolve, reject) => {
    const worker = new Worker(entry.filename, { eval: entry.eval, workerData: request, resourceLimits: { maxOldGenerationSizeMb: PARSE_HEAP_MB } });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const refuse = (reason: string) => settle(() => reject(new InventoryError(`STATUS_PAGES_FILE ${file}: ${reason}`)));
    const timer = setTimeout(() => refuse(`not parsed within ${PARSE_TIMEOUT_MS / 1000} s`), PARSE_TIMEOUT_MS);
    worker.once('message', (reply: ParseReply) => {
      if (reply.ok) settle(() => resolve({ file, pages: reply.pages, pageTokens: new Map(reply.pageTokens), tokenEnvs: reply.tokenEnvs }));
      else if (reply.invalid) settle(() => reject(new InventoryError(reply.message)));
      else settle(() => reject(new Error(reply.message)));
    });
    worker.once('error', (error: unknown) => refuse(`could not be parsed (${error instanceof Error ? error.message : String(error)})`));
    worker.once('exit', (code) => refuse(`could not be parsed (the parser stopped with code ${code})`));
  });
}
