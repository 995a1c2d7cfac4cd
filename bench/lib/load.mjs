// autocannon, run in this process (the exporter and the baselines are child processes), with every
// response's latency kept so that percentiles are exact to the microsecond (autocannon's own
// histogram rounds to whole milliseconds).

import autocannon from 'autocannon';

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
 * Returns req/s (2xx answers per second of the measured run) and latency percentiles in ms.
 */
export async function runLoad({ url, connections, duration, warmup, requests, expectBody }) {
  // autocannon refuses expectBody with `requests`; verifyBody does the same check.
  const base = { url, connections, requests, ...(expectBody ? { verifyBody: (body) => body === expectBody } : {}) };
  if (warmup > 0) await once({ ...base, duration: warmup });
  const { result, latencies } = await once({ ...base, duration });
  return {
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
