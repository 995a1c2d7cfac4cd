/**
 * No Docker engine runs here, so this replays the Dockerfile outside Docker: the build context
 * (tracked files minus .dockerignore) is copied to a temp dir, the build stage's COPY and RUN
 * steps run there in order (apt-get is skipped: the machine has the toolchain), the runtime
 * stage's COPY --from=build steps assemble a runtime tree, and the image's ENTRYPOINT + CMD start
 * in it with the image's ENV. The steps come from the Dockerfile itself, so a COPY that misses a
 * file the build needs, or a runtime that lacks package.json, fails here as it would in Docker.
 *
 * Slow: npm ci compiles better-sqlite3 (about a minute).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execForm, parseCopy, readDockerfile, readDockerignore, stageVariables, type Instruction, type Stage } from './dockerfile-model.js';
import { REPO_ROOT } from './support/helm.js';

const REPLAY_TIMEOUT_MS = 15 * 60_000;
const STEP_TIMEOUT_MS = 10 * 60_000;
const START_TIMEOUT_MS = 30_000;
const TOKEN = 'replay-token';

const dockerfile = readDockerfile(join(REPO_ROOT, 'Dockerfile'));
const [buildStage, runtimeStage] = dockerfile.stages as [Stage, Stage];

/** Environment for the replayed RUN steps: this machine's, with node-gyp pointed at this Node's headers. */
function buildEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  // The image's build stage sets no NODE_ENV; vitest sets "test", which npm must not see.
  delete env.NODE_ENV;
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node.h'))) env.npm_config_nodedir = prefix;
  return env;
}

/** Docker's COPY: a directory source copies its contents; a file goes into dest/ or becomes dest. */
function copyInto(source: string, dest: string, destIsDir: boolean): void {
  if (!existsSync(source)) throw new Error(`COPY source ${source} does not exist`);
  if (statSync(source).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    cpSync(source, dest, { recursive: true, verbatimSymlinks: true });
    return;
  }
  const target = destIsDir ? join(dest, basename(source)) : dest;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target);
}

type Replay = { skippedRuns: string[]; workdir: string };

/** Replays one stage's WORKDIR, COPY and RUN steps with `root` standing for the stage's filesystem root. */
function replayStage(stage: Stage, root: string, sources: { context: string; stages: Record<string, string> }): Replay {
  let workdir = '/';
  const skippedRuns: string[] = [];
  const inRoot = (path: string) => join(root, isAbsolute(path) ? path : join(workdir, path));
  for (const instruction of stage.instructions) {
    if (instruction.keyword === 'WORKDIR') {
      workdir = isAbsolute(instruction.args) ? instruction.args : join(workdir, instruction.args);
      mkdirSync(inRoot('.'), { recursive: true });
    } else if (instruction.keyword === 'COPY') {
      const copy = parseCopy(instruction);
      const destIsDir = copy.dest.endsWith('/') || copy.sources.length > 1;
      for (const source of copy.sources) {
        const from =
          copy.from === undefined ? join(sources.context, source) : join(sources.stages[copy.from] ?? fail(instruction, `unknown stage ${copy.from}`), source);
        copyInto(from, inRoot(copy.dest), destIsDir);
      }
    } else if (instruction.keyword === 'RUN') {
      runStep(instruction, inRoot('.'), skippedRuns);
    } else if (!['ARG', 'ENV', 'LABEL', 'USER', 'VOLUME', 'EXPOSE', 'STOPSIGNAL', 'ENTRYPOINT', 'CMD'].includes(instruction.keyword)) {
      fail(instruction, `${instruction.keyword} is not replayed by this test; teach it or keep the Dockerfile simple`);
    }
  }
  return { skippedRuns, workdir };
}

function runStep(instruction: Instruction, cwd: string, skipped: string[]): void {
  if (instruction.args.startsWith('apt-get')) {
    skipped.push(instruction.args);
    return;
  }
  // An absolute path would touch this machine's filesystem instead of the stage's.
  if (/(^|\s)\//.test(instruction.args)) fail(instruction, `RUN uses an absolute path, which the replay cannot map: ${instruction.args}`);
  const result = spawnSync('sh', ['-c', instruction.args], { cwd, env: buildEnv(), encoding: 'utf8', timeout: STEP_TIMEOUT_MS });
  if (result.status !== 0) fail(instruction, `RUN ${instruction.args} exited ${result.status ?? result.signal}: ${result.stderr.slice(-4000)}`);
}

function fail(instruction: Instruction, message: string): never {
  throw new Error(`Dockerfile line ${instruction.line}: ${message}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.text() };
}

describe('the container image, its build steps replayed outside Docker', () => {
  let work = '';
  let runtimeRoot = '';
  let runtimeWorkdir = '';
  let sqlitePath = '';
  let baseUrl = '';
  let child: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const output: string[] = [];
  let skippedRuns: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'statusmate-image-'));
    const context = join(work, 'context');
    const buildRoot = join(work, 'build');
    runtimeRoot = join(work, 'runtime');

    const ignored = readDockerignore(REPO_ROOT);
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const path of tracked) {
      if (ignored(path) || !existsSync(join(REPO_ROOT, path))) continue;
      mkdirSync(dirname(join(context, path)), { recursive: true });
      cpSync(join(REPO_ROOT, path), join(context, path));
    }

    skippedRuns = replayStage(buildStage, buildRoot, { context, stages: {} }).skippedRuns;
    runtimeWorkdir = join(runtimeRoot, replayStage(runtimeStage, runtimeRoot, { context, stages: { [buildStage.name ?? '0']: buildRoot } }).workdir);

    const { env } = stageVariables(dockerfile, runtimeStage);
    sqlitePath = join(runtimeRoot, env.SQLITE_PATH ?? '/data/statusmate-exporter.db');
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const [entry = '', ...args] = [...execForm(last(runtimeStage, 'ENTRYPOINT')), ...execForm(last(runtimeStage, 'CMD'))];
    // The image's node binary is this machine's Node (24, like the image's).
    const executable = basename(entry) === 'node' ? process.execPath : entry;
    child = spawn(executable, args, {
      cwd: runtimeWorkdir,
      // Only the image's ENV, with the paths mapped into the replayed tree and loopback only.
      env: { ...env, HOST: '127.0.0.1', PORT: String(port), SQLITE_PATH: sqlitePath, WEBHOOK_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    const started = child;
    exited = new Promise((resolve) => started.once('exit', (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) throw new Error(`the exporter exited before answering: ${output.join('')}`);
      try {
        if ((await get(`${baseUrl}/healthz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the exporter did not answer /healthz within ${START_TIMEOUT_MS} ms: ${output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, REPLAY_TIMEOUT_MS);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('skips only the apt-get step, which installs the toolchain this machine already has', () => {
    expect(skippedRuns).toHaveLength(1);
    expect(skippedRuns[0]).toMatch(/^apt-get update/);
  });

  it('ships the compiled code, production dependencies, the compiled SQLite and malloc addons, and no dev dependencies or sources', () => {
    expect(existsSync(join(runtimeWorkdir, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(runtimeWorkdir, 'package.json'))).toBe(true);
    expect(existsSync(join(runtimeWorkdir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))).toBe(true);
    // The exporter's own malloc addon, compiled by npm ci, where src/native-malloc.ts loads it from; the
    // started image loaded it (it logs at info when it cannot).
    expect(existsSync(join(runtimeWorkdir, 'build', 'Release', 'statusmate_malloc.node'))).toBe(true);
    expect(output.join('')).not.toContain('the malloc addon');
    for (const dev of ['typescript', 'vitest', 'tsx', 'playwright-core', '@types/node'])
      expect(existsSync(join(runtimeWorkdir, 'node_modules', dev)), dev).toBe(false);
    // STATUS_PAGES_FILE is YAML: its parser is a production dependency.
    expect(existsSync(join(runtimeWorkdir, 'node_modules', 'yaml', 'package.json'))).toBe(true);
    expect(existsSync(join(runtimeWorkdir, 'src'))).toBe(false);
    expect(existsSync(join(runtimeWorkdir, 'node_modules', 'better-sqlite3', 'deps'))).toBe(false);
    expect(existsSync(join(runtimeRoot, 'data'))).toBe(true);
  });

  it('answers /healthz, /readyz and /metrics', async () => {
    expect((await get(`${baseUrl}/healthz`)).status).toBe(200);
    expect((await get(`${baseUrl}/readyz`)).status).toBe(200);
    const metrics = await get(`${baseUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('statusmate_exporter_build_info');
    expect(metrics.body).toMatch(/^statusmate_store_up 1$/m);
  });

  it('refuses a webhook without the token and keeps its store in the data directory', async () => {
    const response = await fetch(`${baseUrl}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(5_000),
    });
    expect(response.status).toBe(401);
    expect(existsSync(sqlitePath)).toBe(true);
    expect(dirname(sqlitePath)).toBe(join(runtimeRoot, 'data'));
  });

  it('exits 0 on SIGTERM, as PID 1 in the container must', async () => {
    const running = child;
    if (!running || !exited) throw new Error('the exporter is not running');
    running.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000).unref());
    const result = await Promise.race([exited, timeout]);
    expect(result).toEqual({ code: 0, signal: null });
  });
});

function last(stage: Stage, keyword: string): Instruction {
  const found = stage.instructions.filter((i) => i.keyword === keyword).at(-1);
  if (!found) throw new Error(`the runtime stage has no ${keyword}`);
  return found;
}
