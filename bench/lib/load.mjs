// autocannon, run in this process (the exporter and the baselines are child processes), with every
// response's latency kept so that percentiles are exact to the microsecond (autocannon's own
// histogram rounds to whole milliseconds).

import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The kernel's clock ticks a second, in which /proc counts CPU time. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds (user and system) a process has spent: all its threads (V8's garbage collector
 * helpers, libuv's pool, a SQLite worker) and its main thread alone (JavaScript's event loop).
 */
export function cpuSeconds(pid) {
  const of = (path) => {
    // Fields after the command name (which may hold spaces) in parentheses; utime and stime are the 14th and 15th.
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  };
  return { all: of(`/proc/${pid}/stat`), main: of(`/proc/${pid}/task/${pid}/stat`) };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export const median = (values) => percentile(Float64Array.from(values).sort(), 50);

function once(options) {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16);
    let count = 0;
    const instance = autocannon({ pipelining: 1, timeout: 10, ...options }, (error, result) => {
      if (error) reject(error);
      else resolve({ result, latencies: latencies.subarray(0, count).sort() });
    });
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) return;
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = responseTime;
    });
  });
}

/**
 * A warm-up run, then the measured run, on the same target with the same request source.
 * Returns req/s (2xx answers per second of the measured run) and latency percentiles in ms;
 * with `cpuOf` (a process id), also the CPU that process spent per 2xx answer of the measured run.
 */
export async function runLoad({ url, connections, duration, warmup, requests, expectBody, cpuOf }) {
  // autocannon refuses expectBody with `requests`; verifyBody does the same check.
  const base = { url, connections, requests, ...(expectBody ? { verifyBody: (body) => body === expectBody } : {}) };
  if (warmup > 0) await once({ ...base, duration: warmup });
  const cpuBefore = cpuOf === undefined ? undefined : cpuSeconds(cpuOf);
  const { result, latencies } = await once({ ...base, duration });
  const cpuAfter = cpuOf === undefined ? undefined : cpuSeconds(cpuOf);
  return {
    ...(cpuBefore && cpuAfter && result['2xx'] > 0
      ? {
          cpuUsPerAnswer: {
            all: ((cpuAfter.all - cpuBefore.all) * 1e6) / result['2xx'],
            main: ((cpuAfter.main - cpuBefore.main) * 1e6) / result['2xx'],
          },
        }
      : {}),
    rps: result['2xx'] / result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.length ? latencies[latencies.length - 1] : NaN,
  };
}
