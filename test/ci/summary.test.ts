import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/helm.js';

// The last line of .ci/run: what a submission's CI run is judged by, so it must never read
// "0 failed" for a run that failed.

const dir = mkdtempSync(join(tmpdir(), 'ci-summary-'));

function summary(report: unknown, status: number): string {
  const file = join(dir, `report-${Math.random().toString(16).slice(2)}.json`);
  if (report !== undefined) writeFileSync(file, JSON.stringify(report));
  const run = spawnSync(process.execPath, [join(REPO_ROOT, '.ci', 'summary.mjs'), file, String(status)], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  return run.stdout.trim();
}

const passedFile = { name: 'a.test.ts', status: 'passed', assertionResults: [{ status: 'passed' }, { status: 'passed' }] };

describe('the line .ci/run ends with', () => {
  it('counts the passed, failed and skipped tests of the report', () => {
    const failing = { name: 'b.test.ts', status: 'failed', assertionResults: [{ status: 'failed' }, { status: 'passed' }] };
    expect(summary({ numPassedTests: 3, numFailedTests: 1, numPendingTests: 0, testResults: [passedFile, failing] }, 1)).toBe('3 passed, 1 failed');
    expect(summary({ numPassedTests: 2, numFailedTests: 0, numPendingTests: 2, testResults: [passedFile] }, 0)).toBe('2 passed, 0 failed, 2 skipped');
  });

  it('counts a test file that failed outside its tests (its setup) as a failure: vitest counts its tests as skipped', () => {
    // As CI saw it: a beforeAll's assertion failed, and the file's five tests were skipped.
    const broken = { name: 'c.browser.test.ts', status: 'failed', message: '', assertionResults: Array.from({ length: 5 }, () => ({ status: 'skipped' })) };
    expect(summary({ numPassedTests: 2, numFailedTests: 0, numPendingTests: 5, testResults: [passedFile, broken] }, 1)).toBe('2 passed, 1 failed, 5 skipped');
  });

  it('counts a failed run without a readable report as a failure', () => {
    expect(summary(undefined, 1)).toBe('0 passed, 1 failed');
    expect(summary(undefined, 0)).toBe('0 passed, 0 failed');
  });

  it('is what .ci/run prints after npm test, given its exit status', () => {
    const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toContain('node .ci/summary.mjs "$results" "$status"');
    expect(ci.indexOf('node .ci/summary.mjs')).toBeGreaterThan(ci.indexOf('npm test'));
  });
});
