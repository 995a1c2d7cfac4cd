// A small keep-alive HTTP client for what autocannon does not do: building state, re-delivering
// events, reading counters; and `scrape`, the timed GET /metrics. Times are measured from the
// request to the last byte.

import { Agent, request as httpRequest } from 'node:http';
import { closeScrapeConnections, timedGet } from './scrape-client.mjs';
import { TOKEN } from './proc.mjs';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One request; resolves with the status, headers, body and the time to the last byte. */
export function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(url, { method, headers, agent, timeout: 30_000 }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        // The time is taken at the last byte, before the chunks are joined: joining 10 MiB is the
        // client's cost, not the exporter's.
        const ms = performance.now() - started;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export const webhookHeaders = { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` };

export async function postWebhook(baseUrl, body) {
  const response = await request(`${baseUrl}/webhook`, { method: 'POST', headers: webhookHeaders, body });
  const text = response.body.toString('utf8');
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${text}`);
  return JSON.parse(text).status;
}

/** Posts every body with `concurrency` requests in flight; each must be answered `applied`. */
export async function postAll(baseUrl, bodies, concurrency = 16) {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const status = await postWebhook(baseUrl, body);
      if (status !== 'applied') throw new Error(`expected applied, got ${status} for ${body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * One timed GET /metrics (see scrape-client.mjs for why it does not go through node:http); checks
 * the status, the encoding asked for, and that a body with a length has exactly that length.
 */
export async function scrape(baseUrl, gzip) {
  const response = await timedGet(baseUrl, '/metrics', gzip ? { 'Accept-Encoding': 'gzip' } : {});
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  if (gzip !== (response.headers['content-encoding'] === 'gzip'))
    throw new Error(`/metrics: gzip ${gzip} but Content-Encoding ${response.headers['content-encoding']}`);
  const length = response.headers['content-length'];
  if (length !== undefined && response.bytes !== Number(length)) throw new Error(`/metrics: ${response.bytes} bytes, Content-Length ${length}`);
  return { ms: response.ms, bytes: response.bytes };
}

/** Parses the samples of a text exposition into `name{labels}` → value. */
export function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export function sumOf(samples, name, match = () => true) {
  let total = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric === name && match(key)) total += value;
  }
  return total;
}

export function closeAgent() {
  agent.destroy();
  closeScrapeConnections();
}
