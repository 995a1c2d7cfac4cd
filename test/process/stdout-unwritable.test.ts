import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lineDestination } from '../../src/logger.js';
import { freePort } from '../support/prometheus.js';
import { MAIN, requireBuild, runNodeToExit } from '../support/exporter.js';
import { tempDir } from '../support/app.js';

// /dev/full fails every write with ENOSPC: stdout on a full disk (`npm start > file`), at once.

describe('a log line that cannot be written', () => {
  it('is dropped and counted, not retried: the write returns', () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const destination = lineDestination(fd);
      destination.write('{"msg":"one"}\n');
      destination.write('{"msg":"two"}\n');
      destination.flush();
      expect(destination.dropped).toBe(2);
    } finally {
      closeSync(fd);
    }
  });
});

let child: ReturnType<typeof spawn> | undefined;
afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
});

describe('log lines', () => {
  it('of one turn are written together at the next, in order, and all before the process exits', async () => {
    const dir = tempDir();
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    try {
      const destination = lineDestination(fd);
      destination.write('{"n":1}\n');
      destination.write('{"n":2}\n');
      expect(readFileSync(file, 'utf8')).toBe('');
      await new Promise((resolve) => setImmediate(resolve));
      expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
    } finally {
      closeSync(fd);
    }
    // A line logged just before process.exit() is written by the exit.
    const script = `import { createLogger } from ${JSON.stringify(new URL('../../dist/logger.js', import.meta.url).href)}; createLogger('info').info('last words'); process.exit(3);`;
    const result = await runNodeToExit(['--input-type=module', '-e', script], {}, 10_000, 'logger');
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('"msg":"last words"');
  });
});

describe('the exporter with stdout on a full disk', () => {
  it('answers webhooks, counts the lines it dropped, and exits 0 on SIGTERM, instead of hanging on its log', async () => {
    requireBuild();
    const port = await freePort();
    const full = openSync('/dev/full', 'w');
    child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), STORE: 'memory' },
      stdio: ['ignore', full, 'ignore'],
    });
    closeSync(full);
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let attempt = 0; attempt < 100 && !ready; attempt += 1) {
      ready = await fetch(`${url}/readyz`).then(
        (response) => response.ok,
        () => false,
      );
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ready).toBe(true);
    const answer = await fetch(`${url}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ meta: { type: 'component_impact_updated', uuid: '5f844cb4-32f8-43eb-aa3d-99c925d8fffe', impact: 'major_outage' } }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(answer.status).toBe(200);
    // What it could not log is counted where an operator looks (its start-up lines at least).
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const dropped = /^statusmate_log_lines_dropped_total (\d+)$/m.exec(metrics);
    expect(Number(dropped?.[1])).toBeGreaterThan(0);
    child.kill('SIGTERM');
    expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))])).toBe(0);
  });
});
