import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stateViewSchema } from '../../src/api/state.js';
import { CLI } from '../support/cli.js';
import { requireBuild } from '../support/exporter.js';

describe('npm run demo', () => {
  it('starts an exporter on a temporary store, replays the example day, says where to look, and cleans up on SIGTERM', async () => {
    requireBuild();
    const child = spawn(process.execPath, [CLI, 'demo'], { env: { PATH: process.env.PATH ?? '', PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`demo not ready: ${stdout} ${stderr}`)), 30_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          if (stdout.includes('Ctrl-C stops the demo')) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then((code) => reject(new Error(`demo exited ${code}: ${stdout} ${stderr}`)));
      });
      const [, base, store] = /listening on (http:\/\/127\.0\.0\.1:\d+), store (\S+)/.exec(stdout) ?? [];
      expect(stdout).toContain('22 events: 16 applied, 5 duplicate, 1 stale, 0 unsupported, 0 refused_limit, 0 refused, 0 failed');
      expect(stdout).toContain(`${base}/metrics`);
      expect(stdout).toContain('grafana/dashboards/statusmate-overview.json');
      const view = stateViewSchema.parse(await (await fetch(`${base}/api/v1/state`)).json());
      expect(view.status_pages.map((page) => page.name)).toEqual(['ACME public status', 'ACME Payments status']);
      expect(existsSync(store as string)).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(store as string)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
