// Counts the exporter's garbage collections by kind, for a bench run:
//   BENCH_EXPORTER_NODE_ARGS="--import=./bench/gc-observer.mjs" BENCH_ONLY=ingest BENCH_RUNS=1 npm run bench
// Each exporter process writes, when it exits, one JSON object to <tmpdir>/statusmate-gc-<pid>.json:
// seconds alive, and per kind (minor: scavenges; major: mark-compacts; incremental: marking steps)
// the count, the milliseconds on the main thread and the longest pause.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const byKind = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = KINDS[entry.detail.kind] ?? String(entry.detail.kind);
    const seen = (byKind[kind] ??= { count: 0, ms: 0, longestMs: 0 });
    seen.count += 1;
    seen.ms += entry.duration;
    seen.longestMs = Math.max(seen.longestMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });
const started = performance.now();
process.on('exit', () => {
  const file = join(tmpdir(), `statusmate-gc-${process.pid}.json`);
  writeFileSync(file, `${JSON.stringify({ seconds: (performance.now() - started) / 1000, byKind })}\n`);
});
