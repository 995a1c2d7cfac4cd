import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireBuild } from '../support/exporter.js';
import { REPO_ROOT } from '../support/helm.js';

// `npm start` as a user runs it: on a built checkout it must not build again, and a SIGTERM to
// npm must stop the exporter rather than leave it holding the port.

let npm: ChildProcess | undefined;
let exporterPid: number | undefined;
afterEach(() => {
  for (const pid of [exporterPid, npm?.pid]) {
    if (pid === undefined) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  npm = undefined;
  exporterPid = undefined;
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pids whose parent is `pid`. */
const childrenOf = (pid: number) =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((child) => child > 0);

describe('npm start', () => {
  it('starts a built checkout without building, and stops when npm gets SIGTERM', async () => {
    requireBuild();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', STORE: 'memory', LOG_LEVEL: 'info' };
    npm = spawn('npm', ['start', '--silent'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const child = npm;
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not listen: ${output}`)), 30_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const match =
          /"msg":"statusmate-exporter listening".*?"address":"127\.0\.0\.1:(\d+)"|"address":"127\.0\.0\.1:(\d+)".*?"msg":"statusmate-exporter listening"/.exec(
            output,
          );
        if (match) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${match[1] ?? match[2]}`);
        }
      });
      child.once('exit', (code) => reject(new Error(`npm exited ${code}: ${output}`)));
    });
    expect(output).not.toContain('building dist/');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const [node, ...others] = childrenOf(child.pid as number);
    expect(others).toEqual([]); // npm runs node itself (exec), no shell in between
    exporterPid = node;
    // The program itself, not a shell: its first argument is the node binary (Node 24 names its main thread MainThread, so `comm` no longer says node).
    expect(basename(readFileSync(`/proc/${String(node)}/cmdline`, 'utf8').split('\0')[0] ?? '')).toBe('node');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    const deadline = Date.now() + 10_000;
    while (node !== undefined && alive(node) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(node !== undefined && alive(node)).toBe(false);
    await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    expect(output).toContain('stopped: store closed');
  });
});
