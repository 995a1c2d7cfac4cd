import { unlinkSync } from 'node:fs';
import { lstat, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { inspectCopy, schemaVersionOf } from '../store/sqlite-file.js';
import { StoreError } from '../store/store.js';
import { queryToken } from '../webhook/auth.js';
import { httpUrl, networkReason } from './deliver.js';
import { flagsError, parseFlags, type Io } from './io.js';
import { missingTokenHint, TOKEN_FILE_USAGE, tokenOf } from './token.js';

export const BACKUP_USAGE = `statusmate-exporter backup --url URL [--token T | --token-file F] --out FILE
  --url URL         the exporter (its PORT, or METRICS_PORT when set): GET URL/-/backup
  --token T         a WEBHOOK_TOKEN token (not needed on METRICS_PORT); default: the ?token= of --url
  ${TOKEN_FILE_USAGE}
  --out FILE        where the copy goes: written to FILE.partial, checked (a whole SQLite file
                    this release opens), then renamed to FILE, replacing it (a regular file: not
                    a link, a device, or the SQLITE_PATH of a running exporter)
  Copies the store, as a SQLite store file, while the exporter serves (README: Backing up the
  store). Exits 0 once FILE holds the copy, 1 otherwise (FILE is then left as it was).`;

/** How long the whole copy may take to arrive. */
const TIMEOUT_MS = 30 * 60_000;

const optionsSchema = z.object({
  url: z.string({ error: 'is required' }).min(1),
  token: z.string().min(1).optional(),
  'token-file': z.string().min(1).optional(),
  out: z.string({ error: 'is required' }).min(1),
});

export function parseBackupOptions(args: string[]): z.infer<typeof optionsSchema> {
  const { values } = parseFlags({
    args,
    strict: true,
    allowPositionals: false,
    options: { url: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, out: { type: 'string' } },
  });
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) throw flagsError(parsed.error, values);
  return { ...parsed.data, token: tokenOf(parsed.data) };
}

/** `backup`: exit 0 once --out holds a checked copy, 1 otherwise. */
export async function backupCommand(args: string[], io: Io): Promise<number> {
  const options = parseBackupOptions(args);
  const url = httpUrl(options.url);
  // As forget does: the webhook URL pasted as --url carries its token as ?token=, sent in the header.
  const token = options.token ?? (queryToken(url.searchParams) || undefined);
  url.pathname = '/-/backup';
  url.search = '';
  const partial = `${options.out}.partial`;
  // Opened before the exporter is asked: a copy it made for a path that cannot be written (a
  // directory missing, not writable) would be lost, and hold its next backup back (429).
  // A directory at FILE is found only at the rename, after the whole copy came.
  const existing = await lstat(options.out).catch(() => undefined);
  if (existing?.isDirectory()) {
    io.err(`backup: not made: --out ${options.out} is a directory: name the file the copy goes to`);
    return 1;
  }
  // The copy is renamed over FILE: a link or a device there (/dev/stdout) would be replaced, not written through.
  if (existing !== undefined && !existing.isFile()) {
    const what = existing.isSymbolicLink() ? 'a symbolic link' : 'not a regular file (a device, a pipe or a socket)';
    io.err(`backup: not made: --out ${options.out} is ${what}, which the copy would replace: name a regular file`);
    return 1;
  }
  // A running exporter's own SQLITE_PATH (it holds the file's lock): the copy renamed over it would
  // take that exporter out of service until a restart.
  if (existing !== undefined && heldByAnotherProcess(options.out)) {
    io.err(`backup: not made: --out ${options.out} is in use by a running exporter (its SQLITE_PATH): name another file`);
    return 1;
  }
  let output: FileHandle;
  try {
    output = await open(partial, 'w');
  } catch (error) {
    io.err(`backup: not made: --out ${options.out}: cannot write ${partial} (${(error as Error).message.replace(/, open .*$/, '')})`);
    return 1;
  }
  const interrupted = removeOnInterrupt(partial, options.out, io);
  try {
    return await fetchInto(url, token, options.out, partial, output, io);
  } finally {
    interrupted.dispose();
  }
}

/**
 * Until the copy is in place or discarded, Ctrl-C (or SIGTERM) removes FILE.partial before the
 * command exits as a shell reports a command a signal stopped (128 + its number): left behind, a
 * partial copy of a store is one more large file nobody asked for.
 */
function removeOnInterrupt(partial: string, out: string, io: Io): { dispose(): void } {
  const stop = (signal: NodeJS.Signals) => {
    try {
      unlinkSync(partial);
    } catch {
      // Already renamed or removed.
    }
    io.err(`backup: interrupted (${signal}); ${out} is left as it was`);
    process.exit(128 + osConstants.signals[signal]);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** Asks for the copy and writes it to `partial`, then checks it and renames it to `out`. */
async function fetchInto(url: URL, token: string | undefined, out: string, partial: string, output: FileHandle, io: Io): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    await discard(output, partial);
    io.err(`backup: not made: ${networkReason(url, error)}`);
    return 1;
  }
  if (response.status !== 200 || !response.body) {
    await discard(output, partial);
    io.err(`backup: HTTP ${response.status} ${await refusalDetail(response, token)}`);
    return 1;
  }
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  let received = 0;
  body.on('data', (chunk: Buffer) => (received += chunk.length));
  try {
    await pipeline(body, output.createWriteStream());
  } catch (error) {
    await unlink(partial).catch(() => undefined);
    // The disk's side (a full volume, a quota): the copy arrived, this machine could not keep it.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && /^E[A-Z]+$/.test(code) && (error as NodeJS.ErrnoException).syscall === 'write') {
      io.err(`backup: the copy could not be written to ${partial} after ${received} bytes (${(error as Error).message}); ${out} is left as it was`);
      return 1;
    }
    // fetch says only "terminated"; why is in its cause ("other side closed").
    const cause = (error as { cause?: unknown }).cause;
    const why = `${(error as Error).message}${cause instanceof Error ? `: ${cause.message}` : ''}`;
    const expected = response.headers.get('content-length');
    const got = `${received}${expected === null ? '' : ` of ${expected}`} bytes`;
    io.err(`backup: the copy did not arrive whole (${got}: ${why}); ${out} is left as it was`);
    return 1;
  }
  let contents;
  try {
    contents = inspectCopy(partial);
  } catch (error) {
    await unlink(partial).catch(() => undefined);
    io.err(`backup: the answer is not a copy this release opens: ${(error as Error).message}; ${out} is left as it was`);
    return 1;
  }
  const { size } = await stat(partial);
  try {
    await rename(partial, out);
  } catch (error) {
    await unlink(partial).catch(() => undefined);
    io.err(`backup: the copy came whole but cannot be put at ${out} (${(error as Error).message}); ${out} is left as it was`);
    return 1;
  }
  // The snapshot's log position means nothing outside the file (a copy of Redis or memory has its
  // state at position 0): its time says what it holds.
  const entries = `${contents.entries} ${contents.entries === 1 ? 'entry' : 'entries'}`;
  const held = contents.snapshot
    ? `the state as of ${new Date(contents.snapshot.time * 1000).toISOString()} and ${entries} after it`
    : `no snapshot yet and ${entries}`;
  io.out(`backup: ${out}: ${size} bytes, ${held}`);
  return 0;
}

/** Whether another process holds the SQLite file at `path` (an exporter's lock on its store). */
function heldByAnotherProcess(path: string): boolean {
  try {
    schemaVersionOf(path);
    return false;
  } catch (error) {
    if (error instanceof StoreError) return true;
    throw error;
  }
}

/** Closes and removes FILE.partial of a backup that was not made. */
async function discard(output: FileHandle, partial: string): Promise<void> {
  await output.close().catch(() => undefined);
  await unlink(partial).catch(() => undefined);
}

/**
 * What a refusal says, on the one line: the exporter's JSON error as it is; any other answer (a
 * web page: --url names another server, or a port of it that is not the exporter's) by its type.
 */
async function refusalDetail(response: Response, token: string | undefined): Promise<string> {
  const text = (await response.text()).slice(0, 500);
  if (response.status === 401 && !token) return missingTokenHint('a WEBHOOK_TOKEN token; none is needed on METRICS_PORT');
  const type = response.headers.get('content-type') ?? '';
  // The body of a 429 says to wait Retry-After seconds, which only the header holds.
  const retryAfter = response.status === 429 ? response.headers.get('retry-after') : null;
  if (/^application\/json\b/i.test(type)) return `${text.replace(/\s+/g, ' ')}${retryAfter === null ? '' : ` (Retry-After: ${retryAfter} s)`}`;
  return `(${type || 'no Content-Type'}, not the exporter's JSON answer: is --url the exporter's PORT, or METRICS_PORT when set?)`;
}
