// The line CI ends with, from vitest's JSON report: "N passed, N failed" (", N skipped").
// A test file that fails outside its tests (its setup, an import) skips every test in it, and
// vitest counts no failed test: it counts here as one failure, so that a failed run never reads
// "0 failed". So does a run that failed without a readable report.
//
// node .ci/summary.mjs REPORT.json EXIT_STATUS
import { readFileSync } from 'node:fs';

const [file = '', status = '0'] = process.argv.slice(2);
let report = {};
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  // No report: the counts below are zeros, and a failed run still counts one failure.
}
const files = Array.isArray(report.testResults) ? report.testResults : [];
const failedOutsideTests = files.filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
const passed = report.numPassedTests ?? 0;
let failed = (report.numFailedTests ?? 0) + failedOutsideTests;
if (failed === 0 && status !== '0') failed = 1;
const skipped = report.numPendingTests ?? 0;
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
