import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { MAIN, postJson, requireBuild, START_NODE_ARGS, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// Signals at the edges of the process's life: before it is ready, and after whoever read its
// output went away.

let running: ExporterProcess | undefined;
afterEach(async () => {
  await stopProcess(running, 'SIGKILL');
  running = undefined;
});

const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';

describe('SIGHUP during start-up', () => {
  it('is caught before the modules load, queued until the inventory is loaded, then reloads it', async () => {
    requireBuild();
    const file = join(tempDir(), 'pages.yaml');
    writeFileSync(file, 'status_pages:\n  - id: acme\n');
    const child = spawn(process.execPath, [...START_NODE_ARGS, MAIN], {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', STORE: 'memory', STATUS_PAGES_FILE: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    // As soon as the process catches SIGHUP (its SigCgt mask says so), which must be before it
    // loads its modules: the native SQLite addon, imported by the server, is not mapped yet.
    const pid = child.pid as number;
    let modulesLoaded: boolean | undefined;
    for (const started = Date.now(); Date.now() - started < 10_000;) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const caught = BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
      if ((caught & 1n) === 1n) {
        modulesLoaded = readFileSync(`/proc/${pid}/maps`, 'utf8').includes('better_sqlite3');
        child.kill('SIGHUP');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(modulesLoaded).toBe(false);
    const deadline = Date.now() + 15_000;
    while (!stdout.includes('"status pages reloaded"') && child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const alive = child.exitCode === null && child.signalCode === null;
    child.kill('SIGTERM');
    const end = await exited;
    expect(alive).toBe(true);
    expect(end).toEqual({ code: 0, signal: null });
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string });
    const messages = lines.map((line) => line.msg);
    expect(messages.indexOf('status pages reloaded')).toBeGreaterThan(messages.indexOf('statusmate-exporter listening'));
  });
});

describe('SIGTERM once stdout is gone', () => {
  // Memory closes at once, so the last log lines are still queued when the process exits: the
  // case where pino's exit flush used to retry EPIPE forever. SQLite shows nothing acknowledged is lost.
  it.each(['memory', 'sqlite'])('exits within SHUTDOWN_TIMEOUT_SECONDS when the reader of its stdout died (STORE=%s)', async (store) => {
    const sqlite = join(tempDir(), 'state.db');
    running = await startExporterProcess({ STORE: store, SQLITE_PATH: sqlite, SHUTDOWN_TIMEOUT_SECONDS: '3', LOG_LEVEL: 'info' });
    const body = { meta: { type: 'component_impact_updated', uuid: API, impact: 'major_outage' } };
    expect((await postJson(`${running.url}/webhook`, body)).status).toBe(200);
    // The log reader dies (a crashed sidecar, a closed terminal): every later write is EPIPE.
    running.child.stdout?.destroy();
    running.child.stderr?.destroy();
    const started = Date.now();
    running.child.kill('SIGTERM');
    const end = await Promise.race([running.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 8_000))]);
    expect(end).not.toBe('still running');
    expect(Date.now() - started).toBeLessThan(3_000);
    if (store !== 'sqlite') return;

    // The event acknowledged before is in the store for the next start.
    running = await startExporterProcess({ STORE: 'sqlite', SQLITE_PATH: sqlite });
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`statusmate_component_impact_level\\{[^}]*component_uuid="${API}"[^}]*\\} 4`));
  });
});
