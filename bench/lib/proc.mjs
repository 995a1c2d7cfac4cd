// Child processes of the bench: the exporter and the baselines. Every child is tracked and killed
// when the bench ends, whether it ends normally, on an error, on SIGINT/SIGTERM or on the watchdog.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeMemoryCgroup, parseMemoryLimit } from './memory-limit.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const EXPORTER = process.env.BENCH_EXPORTER_MAIN ?? join(ROOT, 'dist', 'main.js');
export const BASELINES = join(ROOT, 'bench', 'baselines');
export const TOKEN = 'bench-token';

/** The node flags of `npm start` in package.json, so the bench runs the exporter as users do. */
export const START_NODE_ARGS = (() => {
  const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  // `exec` makes npm's shell hand its process to node, so that a SIGTERM to npm reaches it.
  const match = /^(?:exec\s+)?node\s+(.*?)\s*dist\/main\.js$/.exec(start);
  if (!match) throw new Error(`package.json: the start script is not "[exec] node [flags] dist/main.js": ${start}`);
  return match[1].split(/\s+/).filter(Boolean);
})();

/** The helm chart's resources.limits.memory, as written in its values.yaml (e.g. "384Mi"). */
export const CHART_MEMORY_LIMIT = (() => {
  const values = readFileSync(join(ROOT, 'helm', 'statusmate-exporter', 'values.yaml'), 'utf8').split('\n');
  // resources: → limits: → memory:, each the first at its indent after the one before.
  const after = (from, key) => values.findIndex((line, i) => i > from && line === key);
  const limits = after(values.indexOf('resources:'), '  limits:');
  const memory = values.findIndex((line, i) => i > limits && line.startsWith('    memory: '));
  if (limits < 0 || memory < 0) throw new Error('helm/statusmate-exporter/values.yaml: no resources.limits.memory');
  return values[memory].slice('    memory: '.length).trim();
})();

/**
 * The memory limit the bench runs the exporter under: BENCH_MEMORY_LIMIT (a size, or 0 for none),
 * by default the chart's, so that the exporter's heap is sized as in the chart's pod.
 */
export const EXPORTER_MEMORY_LIMIT = parseMemoryLimit(process.env.BENCH_MEMORY_LIMIT ?? CHART_MEMORY_LIMIT);

/** Why the last child started without the memory limit asked for (undefined when it had it). */
export let MEMORY_LIMIT_MISSING;

const children = new Set();
const tempDirs = new Set();

export function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping children`);
    killAll();
    process.exit(130);
  });
}

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'statusmate-bench-'));
  tempDirs.add(dir);
  return dir;
}

/** A port free on 127.0.0.1 right now (the child binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Spawns `node <script>` and resolves once `readyPath` answers 200 (polled every 5 ms), with the
 * time that took from spawn. Rejects if the child exits first or `timeoutMs` passes.
 */
export async function startChild(name, script, env, { readyPath = '/readyz', timeoutMs = 20_000, nodeArgs = [], memoryLimit = null } = {}) {
  const port = await freePort();
  const group = memoryLimit === null ? null : makeMemoryCgroup(memoryLimit);
  const limited = group !== null && group.procs !== undefined;
  if (group !== null) MEMORY_LIMIT_MISSING = limited ? undefined : group.reason;
  const argv = [process.execPath, ...nodeArgs, script];
  const started = performance.now();
  // In a cgroup, a shell moves itself in and execs node (same PID), so that node starts under the
  // limit and sizes its heap from it, as in a container.
  const options = {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  };
  const child = limited ? spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', group.procs, ...argv], options) : spawn(argv[0], argv.slice(1), options);
  children.add(child);
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  let end;
  void exited.then((how) => {
    gone = true;
    end = how;
    children.delete(child);
    if (limited) group.close();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + timeoutMs;
  for (;;) {
    if (gone) {
      const oom = limited && group.oomKills() > 0 ? `, ${group.oomKills()} OOM kills in its cgroup` : '';
      throw new Error(`${name} exited (${end.signal ?? `exit ${end.code}`}${oom}) before it was ready:\n${output}`);
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready within ${timeoutMs} ms:\n${output}`);
    }
    try {
      const response = await fetch(url + readyPath, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(5);
  }
  const readyMs = performance.now() - started;
  return {
    name,
    child,
    pid: child.pid,
    port,
    url,
    readyMs,
    output: () => output,
    /** The kernel's OOM kills in its cgroup (0 without one). */
    oomKills: () => (limited ? group.oomKills() : 0),
    /** How it exited, once it has: { code, signal }. */
    exited,
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The built exporter on a SQLite file, logging at warn (no access log lines). BENCH_EXPORTER_NODE_ARGS
 * passes flags to its node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it.
 */
export function startExporter(sqlitePath, env = {}, options = {}) {
  return startChild(
    'exporter',
    EXPORTER,
    {
      STORE: 'sqlite',
      SQLITE_PATH: sqlitePath,
      SQLITE_SYNCHRONOUS: process.env.BENCH_SYNCHRONOUS ?? 'normal',
      LOG_LEVEL: 'warn',
      WEBHOOK_TOKEN: TOKEN,
      MAX_COMPONENTS: '20000',
      // The load opens incidents and maintenances faster than it finishes them: no limit may refuse
      // one, or the counters could not equal the distinct events sent.
      MAX_ACTIVE_INCIDENTS: '1000000',
      MAX_ACTIVE_MAINTENANCES: '1000000',
      MAX_HOLDINGS: '100000000',
      // Nothing forgotten within a run: the counters must equal the distinct events sent, and a
      // re-sent in-flight event whose dedup record had been forgotten would count twice.
      MAX_RETAINED_FINISHED: '100000000',
      MAX_DEDUP_RECORDS: '100000000',
      ...env,
    },
    {
      nodeArgs: [...START_NODE_ARGS, ...(process.env.BENCH_EXPORTER_NODE_ARGS ?? '').split(' ').filter(Boolean)],
      memoryLimit: EXPORTER_MEMORY_LIMIT,
      ...options,
    },
  );
}

export function startBaseline(file, env = {}) {
  return startChild(file, join(BASELINES, file), env, { readyPath: '/readyz' });
}

/**
 * Resident set size of a process, in bytes, from /proc/<pid>/status: VmRSS by default, or another
 * field such as RssAnon (the anonymous memory alone, without the pages of the node binary and
 * libraries mapped from files, which the kernel can drop and read again).
 */
export async function rssBytes(pid, field = 'VmRSS') {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]) * 1024;
}
