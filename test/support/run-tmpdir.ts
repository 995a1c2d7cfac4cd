import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Vitest's globalSetup: every temporary directory of one test run (the suite makes thousands: a
// SQLite file, a Redis --dir, a Prometheus data dir per test, and the exporters, Redis and
// Prometheus it starts make their own) goes under one directory, TMPDIR for the test files'
// processes and everything they start, removed when the run ends. Before, each run left them all
// in /tmp. A run that is killed leaves that one directory.

export function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), 'statusmate-tests-'));
  const before = process.env.TMPDIR;
  // Read by os.tmpdir() in the forks vitest starts after this, and by their children.
  process.env.TMPDIR = runDir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
  };
}
