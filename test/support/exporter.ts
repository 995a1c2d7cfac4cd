import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

/** The built entry point, as `npm start` runs it; `npm test` builds it before vitest starts. */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** The node flags of `npm start` (package.json: `exec node [flags] dist/main.js`). */
export const START_NODE_ARGS = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .replace(/^exec\s+/, '')
  .split(/\s+/)
  .slice(1, -1);

/** The newest modification time under a path (a deleted file shows as a newer directory). */
function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, entry) => Math.max(latest, newestMtime(join(path, entry))), stat.mtimeMs);
}

let checkedBuild = false;
/** Refuses a missing dist/, and one older than src/: a process test would test the code before the edit. */
export function requireBuild(): void {
  if (checkedBuild) return;
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it first)`);
  const sources = newestMtime(fileURLToPath(new URL('../../src/', import.meta.url)));
  if (statSync(MAIN).mtimeMs < sources) throw new Error(`${MAIN} is older than src/: run npm run build (npm test does it first)`);
  checkedBuild = true;
}

export type ExporterProcess = {
  child: ChildProcess;
  port: number;
  url: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/**
 * What a process the helpers start keeps of the test's environment: PATH, and TMPDIR, the run's
 * directory (run-tmpdir.ts), so that what it makes there (seed-redis's copy, the demo's store,
 * a backup beside an in-memory store) goes with the run rather than into /tmp.
 */
export function inherited(): Record<string, string> {
  const { TMPDIR } = process.env;
  return { PATH: process.env.PATH ?? '', ...(TMPDIR === undefined ? {} : { TMPDIR }) };
}

/**
 * Starts `node dist/main.js` with `npm start`'s flags and the given environment on 127.0.0.1 and resolves once it logs
 * that it listens (PORT=0 lets the OS pick a port; the log line says which).
 */
export function startExporterProcess(env: Record<string, string>, timeoutMs = 20_000, limits: { openFiles?: number } = {}): Promise<ExporterProcess> {
  requireBuild();
  // prlimit (util-linux) sets the open-file limit and then execs node: the pid stays the exporter's.
  const command = limits.openFiles === undefined ? [process.execPath] : ['prlimit', `--nofile=${limits.openFiles}:${limits.openFiles}`, '--', process.execPath];
  const child = spawn(command[0] as string, [...command.slice(1), ...START_NODE_ARGS, MAIN], {
    // REDIS_NEW_LOG_WAIT_SECONDS: a replica on a test's own empty Redis starts its log at once, unless the test says otherwise.
    env: { ...inherited(), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', REDIS_NEW_LOG_WAIT_SECONDS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exporter did not start within ${timeoutMs} ms: ${JSON.stringify(logs)}`));
    }, timeoutMs);
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'statusmate-exporter listening' && typeof entry.address === 'string') {
          clearTimeout(timer);
          const port = Number(entry.address.split(':').pop());
          resolve({ child, port, url: `http://127.0.0.1:${port}`, logs, exited });
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => logs.push({ stderr: chunk.toString('utf8') }));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exporter exited (code ${code}, signal ${signal}) before listening: ${JSON.stringify(logs)}`));
    });
  });
}

export type RunResult = { code: number | null; stdout: string; stderr: string };

/** Runs `node ARGS` with the given environment until it exits on its own; resolves with its exit code and output. */
export function runNodeToExit(args: string[], env: Record<string, string>, timeoutMs: number, what: string): Promise<RunResult> {
  requireBuild();
  const child = spawn(process.execPath, args, { env: { ...inherited(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not exit within ${timeoutMs} ms: ${stdout}${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `node dist/main.js` with `npm start`'s flags and the given environment until it exits on its own. */
export function runExporterToExit(env: Record<string, string>, timeoutMs = 20_000): Promise<RunResult> {
  return runNodeToExit([...START_NODE_ARGS, MAIN], { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env }, timeoutMs, 'exporter');
}

export async function stopProcess(exporter: ExporterProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!exporter || exporter.child.exitCode !== null || exporter.child.signalCode !== null) return;
  exporter.child.kill(signal);
  await exporter.exited;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
}

/**
 * The exporter processes a test starts with `start` (`env` under `defaults`), stopped after it;
 * `stop` stops one before (a restart; SIGTERM unless a signal is given), and not again after.
 */
export function processesPerTest(defaults: Record<string, string> = {}): {
  start: (env: Record<string, string>) => Promise<ExporterProcess>;
  stop: (exporter: ExporterProcess, signal?: NodeJS.Signals) => Promise<void>;
} {
  const running: ExporterProcess[] = [];
  afterEach(async () => {
    for (const exporter of running.splice(0)) await stopProcess(exporter);
  });
  return {
    start: async (env) => {
      const exporter = await startExporterProcess({ ...defaults, ...env });
      running.push(exporter);
      return exporter;
    },
    stop: async (exporter, signal = 'SIGTERM') => {
      running.splice(running.indexOf(exporter), 1);
      await stopProcess(exporter, signal);
    },
  };
}
