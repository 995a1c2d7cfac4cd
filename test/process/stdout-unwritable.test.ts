import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { lineDestination } from '../../src/logger.js';
import { freePort } from '../support/prometheus.js';
import { MAIN, requireBuild } from '../support/exporter.js';

// /dev/full fails every write with ENOSPC: stdout on a full disk (`npm start > file`), at once.

describe('a log line that cannot be written', () => {
  it('is dropped and counted, not retried: the call returns', () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const destination = lineDestination(fd);
      destination.write('{"msg":"one"}\n');
      destination.write('{"msg":"two"}\n');
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

describe('the exporter with stdout on a full disk', () => {
  it('answers webhooks, and exits 0 on SIGTERM, instead of hanging on its log', async () => {
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
    child.kill('SIGTERM');
    expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))])).toBe(0);
  });
});
