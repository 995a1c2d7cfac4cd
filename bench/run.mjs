// npm run bench: the exporter (built, as `npm start` runs it, on a SQLite file) measured side by
// side with its ceilings in one run. See bench/README.md for what each figure means.
//
// Knobs: BENCH_RUNS (3), BENCH_DURATION (10 s per measured load), BENCH_WARMUP (2 s),
// BENCH_CONNECTIONS (50), BENCH_SCRAPES (50), BENCH_CHANGED_SCRAPES (20), BENCH_SYNCHRONOUS
// (normal|full, the exporter's SQLITE_SYNCHRONOUS), BENCH_ONLY (comma list of ingest,storm,scrape,reducer,matchers,redis,fat,busy,operator,ledger,idle),
// BENCH_TIMEOUT (1200 s: the whole bench is killed past it), BENCH_FAT_EVENTS (300 fat incidents),
// BENCH_BUSY_STORE (sqlite|redis|memory, section 7's busy load), BENCH_IDLE (30 s, section 10's measure).

import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkload, INCIDENTS, MAINTENANCES, stateBodies, staticBodies } from './lib/events.mjs';
import { closeAgent, parseMetrics, postAll, postWebhook, request, scrape, sumOf, webhookHeaders } from './lib/http.mjs';
import { componentName, componentUuid, IMPACTS, incidentUuid, isoTime, PAGE, T0 } from './lib/ids.mjs';
import { cpuSeconds, median, percentile, runLoad } from './lib/load.mjs';
import { isSharedStateSample } from '../dist/metrics/names.js';
import {
  CHART_MEMORY_LIMIT,
  EXPORTER_MEMORY_LIMIT,
  killAll,
  MEMORY_LIMIT_MISSING,
  rssBytes,
  startBaseline,
  startExporter,
  tempDir,
  TOKEN,
} from './lib/proc.mjs';
import { redisCommand, redisServerPath, startRedis } from './lib/redis.mjs';

const int = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number`);
  return value;
};
const RUNS = Math.max(1, int('BENCH_RUNS', 3));
const DURATION = Math.max(1, int('BENCH_DURATION', 10));
const WARMUP = int('BENCH_WARMUP', 2);
const CONNECTIONS = Math.max(1, int('BENCH_CONNECTIONS', 50));
const SCRAPES = Math.max(1, int('BENCH_SCRAPES', 50));
const CHANGED_SCRAPES = Math.max(1, int('BENCH_CHANGED_SCRAPES', 20));
const ONLY = new Set((process.env.BENCH_ONLY ?? 'ingest,storm,scrape,reducer,matchers,redis,fat,busy,operator,ledger,idle').split(',').map((s) => s.trim()));
const FAT_EVENTS = Math.max(1, int('BENCH_FAT_EVENTS', 300));
const BUSY_COMPONENTS = Math.max(1, int('BENCH_BUSY_COMPONENTS', 10_000));
const BUSY_UPDATES = Math.max(1, int('BENCH_BUSY_UPDATES', 33));
/** The store of section 7's busy load: sqlite (the default) or redis (one replica, on a redis-server of its own). */
const BUSY_STORE = ['redis', 'memory'].includes(process.env.BENCH_BUSY_STORE) ? process.env.BENCH_BUSY_STORE : 'sqlite';
const TIMEOUT_S = int('BENCH_TIMEOUT', 1200);
/** Seconds an idle exporter's CPU is measured over (section 10), after as long again to settle. */
const IDLE_SECONDS = Math.max(5, int('BENCH_IDLE', 30));

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${TIMEOUT_S} s; killing everything`);
  killAll();
  process.exit(1);
}, TIMEOUT_S * 1000);
watchdog.unref();

const log = (message) => console.error(`[${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const startedAt = performance.now();
const failures = [];

// ---------------------------------------------------------------------------------------------
// Helpers

const MB = 1024 * 1024;
const fmt = {
  rps: (v) => (Number.isFinite(v) ? `${Math.round(v).toLocaleString('en-US')} req/s` : 'n/a'),
  ms: (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : 'n/a'),
  bytes: (v) => (Number.isFinite(v) ? (v >= MB ? `${(v / MB).toFixed(2)} MiB` : `${(v / 1024).toFixed(0)} KiB`) : 'n/a'),
  ratio: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : ''),
};

const rows = [];
/** One line of the table. `pass` is undefined for figures without a target. */
function row(section, figure, value, baseline, ratio, target, pass) {
  rows.push({ section, figure, value, baseline, ratio, target, pass });
}

function printTable() {
  const header = {
    section: 'benchmark',
    figure: 'figure',
    value: 'exporter',
    baseline: 'baseline (same run)',
    ratio: 'ratio',
    target: 'target',
    pass: 'result',
  };
  const cells = (r) => [
    r.section,
    r.figure,
    r.value,
    r.baseline,
    r.ratio,
    r.target,
    r.pass === undefined ? '' : r.pass === true ? 'PASS' : r.pass === false ? 'FAIL' : r.pass,
  ];
  const all = [cells(header), ...rows.map(cells)];
  const widths = all[0].map((_, i) => Math.max(...all.map((c) => c[i].length)));
  const line = (c) => `| ${c.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(all[0]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of all.slice(1)) console.log(line(c));
}

const webhookRequest = (extra = {}) => ({ method: 'POST', path: '/webhook', headers: webhookHeaders, ...extra });

/** The load source for the exporter: one distinct event per request, confirmed when answered `applied`. */
function workloadRequests(workload, counters) {
  return [
    webhookRequest({
      setupRequest(req, context) {
        const { id, body } = workload.next();
        context.id = id;
        req.body = body;
        return req;
      },
      onResponse(status, body, context) {
        if (status === 200 && body.startsWith('{"status":"applied"')) workload.confirm(context.id);
        else counters.unexpected.push(`${status} ${body.slice(0, 200)}`);
      },
    }),
  ];
}

/** The load source for the baselines: the same mix of bodies, pre-built, so the client costs nothing. */
let staticPool;
function staticRequests() {
  staticPool ??= staticBodies(1000).map((body) => webhookRequest({ body }));
  return staticPool;
}

async function metricsSamples(url) {
  return parseMetrics((await request(`${url}/metrics`)).body.toString('utf8'));
}

/**
 * The body as StatusMate re-sends it: the same event with delivery_attempt 1. Only a retry can be
 * a duplicate; a re-sent first delivery (attempt 0) is a new event.
 */
const asRetry = (body) => body.replace('"delivery_attempt":0', '"delivery_attempt":1');

/**
 * Re-delivers every event that was in flight when the load stopped (as StatusMate would retry it),
 * then checks that the exporter applied each distinct event exactly once.
 */
async function checkCounters(url, workload, counters, label) {
  let redelivered = 0;
  for (const { id, body } of workload.unconfirmed()) {
    const status = await postWebhook(url, asRetry(body));
    if (status !== 'applied' && status !== 'duplicate') counters.unexpected.push(`re-delivery answered ${status}`);
    workload.confirm(id);
    redelivered += 1;
  }
  const samples = await metricsSamples(url);
  const outcome = (o) => (key) => key.includes(`outcome="${o}"`);
  const applied = sumOf(samples, 'statusmate_webhook_requests_total', outcome('applied'));
  const problems = [...counters.unexpected.slice(0, 5)];
  if (counters.unexpected.length > 0) problems.push(`${counters.unexpected.length} answers were not 200 applied`);
  if (applied !== workload.total) problems.push(`webhook_requests_total{outcome="applied"} = ${applied}, distinct events sent = ${workload.total}`);
  for (const o of ['stale', 'invalid', 'unsupported', 'refused_limit', 'error', 'unauthorized', 'too_large']) {
    const n = sumOf(samples, 'statusmate_webhook_requests_total', outcome(o));
    if (n !== 0) problems.push(`webhook_requests_total{outcome="${o}"} = ${n}`);
  }
  const domain = {
    incident_created: 'statusmate_incidents_created_total',
    incident_finished: 'statusmate_incidents_finished_total',
    maintenance_created: 'statusmate_maintenances_created_total',
    maintenance_started: 'statusmate_maintenances_started_total',
    maintenance_finished: 'statusmate_maintenances_finished_total',
  };
  for (const [type, metric] of Object.entries(domain)) {
    const n = sumOf(samples, metric);
    if (n !== workload.generated[type]) problems.push(`${metric} = ${n}, ${type} events sent = ${workload.generated[type]}`);
  }
  const updates = sumOf(samples, 'statusmate_webhook_requests_total', (k) => k.includes('type="component_impact_updated"') && k.includes('outcome="applied"'));
  if (updates !== workload.generated.component_impact_updated)
    problems.push(`component_impact_updated applied = ${updates}, sent = ${workload.generated.component_impact_updated}`);
  if (problems.length > 0) {
    const message = `COUNTERS DO NOT MATCH (${label}): ${problems.join('; ')}`;
    console.error(message);
    failures.push(message);
    return false;
  }
  log(`${label}: counters match: ${workload.total} events (${redelivered} in flight at the end re-delivered)`);
  return workload.total;
}

// ---------------------------------------------------------------------------------------------
// 1. Ingest and 2. retry storm

async function ingestOnce(run) {
  const out = {};
  for (const [key, file] of [
    ['bare', 'bare-node.mjs'],
    ['express', 'express-json.mjs'],
    ['floor', 'express-sqlite.mjs'],
  ]) {
    const server = await startBaseline(file);
    try {
      out[key] = await runLoad({
        url: server.url,
        connections: CONNECTIONS,
        duration: DURATION,
        warmup: WARMUP,
        requests: staticRequests(),
        cpuOf: server.pid,
      });
      if (out[key].non2xx > 0 || out[key].errors > 0) failures.push(`${file}: ${out[key].non2xx} non-2xx, ${out[key].errors} errors`);
    } finally {
      await server.stop();
    }
    log(`ingest run ${run}: ${key} ${fmt.rps(out[key].rps)} p50 ${fmt.ms(out[key].p50)} p99 ${fmt.ms(out[key].p99)}`);
  }
  const dir = tempDir();
  const exporter = await startExporter(join(dir, 'ingest.db'));
  try {
    const workload = createWorkload({ space: 1 + run });
    const counters = { unexpected: [] };
    const probes = probeBeside(exporter.url);
    out.exporter = await runLoad({
      url: exporter.url,
      connections: CONNECTIONS,
      duration: DURATION,
      warmup: WARMUP,
      requests: workloadRequests(workload, counters),
      cpuOf: exporter.pid,
    });
    out.probes = await probes.stop();
    log(`ingest run ${run}: exporter ${fmt.rps(out.exporter.rps)} p50 ${fmt.ms(out.exporter.p50)} p99 ${fmt.ms(out.exporter.p99)}`);
    out.events = await checkCounters(exporter.url, workload, counters, `ingest run ${run}`);
  } finally {
    await exporter.stop();
  }
  return out;
}

/**
 * GET /healthz, one at a time every 10 ms, beside a load: how long the event loop can stop for a
 * probe (a snapshot, a large fold). Resolves, once stopped, with the latencies' p99 and maximum.
 */
function probeBeside(url) {
  let running = true;
  const times = [];
  const done = (async () => {
    while (running) {
      times.push((await request(`${url}/healthz`)).ms);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      const sorted = Float64Array.from(times).sort();
      return { p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
    },
  };
}

async function stormOnce(exporter, run) {
  // One event, delivered again and again as StatusMate's retries are: same event, delivery_attempt > 0.
  const uuid = incidentUuid(run, 0xabc);
  const t = T0 + run * 3600;
  const body = (attempt) =>
    `{"text":"Storm","meta":{"type":"incident_created","uuid":"${uuid}","title":"Storm ${run}","created_at":"${isoTime(t)}","delivery_attempt":${attempt},"status_page":"${PAGE}","start_at":"${isoTime(t)}","end_at":null,"affected_components":[{"impact":"major_outage","component_details":{"name":"${componentName(run)}","impact":"major_outage","component_uuid":"${componentUuid(run)}"}}]}}`;
  const first = await postWebhook(exporter.url, body(0));
  if (first !== 'applied') throw new Error(`storm: first delivery answered ${first}`);
  const expectBody = `{"status":"duplicate","type":"incident_created","uuid":"${uuid}","status_page":"${PAGE}"}`;
  const requests = [1, 2, 3, 4, 5].map((attempt) => webhookRequest({ body: body(attempt) }));
  const result = await runLoad({ url: exporter.url, connections: CONNECTIONS, duration: DURATION, warmup: WARMUP, requests, expectBody, cpuOf: exporter.pid });
  if (result.non2xx > 0 || result.mismatches > 0 || result.errors > 0) {
    failures.push(`retry storm run ${run}: ${result.non2xx} non-2xx, ${result.mismatches} answers other than duplicate, ${result.errors} errors`);
  }
  log(`storm run ${run}: ${fmt.rps(result.rps)} p50 ${fmt.ms(result.p50)} p99 ${fmt.ms(result.p99)}`);
  return result;
}

async function ingestAndStorm() {
  const ingest = [];
  for (let run = 1; run <= RUNS; run += 1) ingest.push(await ingestOnce(run));
  const pick = (key, field) => median(ingest.map((r) => r[key][field]));
  const ex = { rps: pick('exporter', 'rps'), p50: pick('exporter', 'p50'), p99: pick('exporter', 'p99') };
  const bare = { rps: pick('bare', 'rps'), p50: pick('bare', 'p50'), p99: pick('bare', 'p99') };
  const exp = { rps: pick('express', 'rps'), p50: pick('express', 'p50'), p99: pick('express', 'p99') };
  const S = `1 ingest (${CONNECTIONS} conn, ${DURATION} s)`;
  row(S, 'req/s vs express.json()', fmt.rps(ex.rps), `express ${fmt.rps(exp.rps)}`, fmt.ratio(ex.rps / exp.rps), '≥ 0.90× express', ex.rps >= 0.9 * exp.rps);
  row(
    S,
    'req/s vs bare node:http',
    fmt.rps(ex.rps),
    `bare ${fmt.rps(bare.rps)}`,
    fmt.ratio(ex.rps / bare.rps),
    '≥ 0.30× bare (issue 16)',
    ex.rps >= 0.3 * bare.rps,
  );
  // The floor of the product's stack: Express, express.json() and one SQLite row per body, no
  // validation or fold. Where it stands against bare says how much of the target any exporter
  // answering 200 only once an event is stored on this stack leaves to its own work.
  const floor = { rps: pick('floor', 'rps') };
  row(S, 'floor: Express + one SQLite row a body, vs bare', fmt.rps(floor.rps), `bare ${fmt.rps(bare.rps)}`, fmt.ratio(floor.rps / bare.rps), '', undefined);
  row(S, 'req/s vs the floor', fmt.rps(ex.rps), `floor ${fmt.rps(floor.rps)}`, fmt.ratio(ex.rps / floor.rps), '', undefined);
  // What an answer costs the process, whatever else shares the machine's cores (the load
  // generator does): steadier between runs than req/s, and it tells the event loop's share from
  // the other threads' (mostly V8's garbage collector helpers).
  const cpu = (key, field) => median(ingest.map((r) => r[key].cpuUsPerAnswer?.[field] ?? NaN));
  row(
    S,
    'CPU per answer, all threads / main thread',
    `${cpu('exporter', 'all').toFixed(0)} / ${cpu('exporter', 'main').toFixed(0)} µs`,
    `bare ${cpu('bare', 'all').toFixed(0)} / ${cpu('bare', 'main').toFixed(0)} µs, floor ${cpu('floor', 'all').toFixed(0)} / ${cpu('floor', 'main').toFixed(0)} µs`,
    fmt.ratio(cpu('exporter', 'all') / cpu('bare', 'all')),
    '',
    undefined,
  );
  row(
    S,
    'GET /healthz beside the load (every 10 ms): p99 / longest',
    `${fmt.ms(median(ingest.map((r) => r.probes.p99)))} / ${fmt.ms(median(ingest.map((r) => r.probes.max)))}`,
    '',
    '',
    '',
    undefined,
  );
  row(S, 'latency p50', fmt.ms(ex.p50), `express ${fmt.ms(exp.p50)} / bare ${fmt.ms(bare.p50)}`, fmt.ratio(ex.p50 / exp.p50), '', undefined);
  row(S, 'latency p99', fmt.ms(ex.p99), `express ${fmt.ms(exp.p99)} / bare ${fmt.ms(bare.p99)}`, fmt.ratio(ex.p99 / exp.p99), '≤ 20 ms', ex.p99 <= 20);
  const events = ingest.map((r) => r.events);
  row(
    S,
    'counters = distinct events',
    events.every((n) => n !== false) ? `match (${events.join(', ')})` : 'MISMATCH',
    '',
    '',
    'equal',
    events.every((n) => n !== false),
  );

  const dir = tempDir();
  const exporter = await startExporter(join(dir, 'storm.db'));
  const storm = [];
  try {
    for (let run = 1; run <= RUNS; run += 1) storm.push(await stormOnce(exporter, run));
    const samples = await metricsSamples(exporter.url);
    const applied = sumOf(samples, 'statusmate_webhook_requests_total', (k) => k.includes('outcome="applied"'));
    if (applied !== RUNS) failures.push(`retry storm: ${applied} events applied, expected ${RUNS} (one per run)`);
  } finally {
    await exporter.stop();
  }
  const st = { rps: median(storm.map((r) => r.rps)), p99: median(storm.map((r) => r.p99)), p50: median(storm.map((r) => r.p50)) };
  const T = '2 retry storm (duplicates)';
  row(
    T,
    'req/s vs applied ingest',
    fmt.rps(st.rps),
    `applied ${fmt.rps(ex.rps)}`,
    fmt.ratio(st.rps / ex.rps),
    '≥ 2.00× applied (issue 16)',
    st.rps >= 2 * ex.rps,
  );
  row(T, 'req/s vs bare node:http', fmt.rps(st.rps), `bare ${fmt.rps(bare.rps)}`, fmt.ratio(st.rps / bare.rps), '', undefined);
  row(
    T,
    'latency p50 / p99',
    `${fmt.ms(st.p50)} / ${fmt.ms(st.p99)}`,
    `applied ${fmt.ms(ex.p50)} / ${fmt.ms(ex.p99)}`,
    fmt.ratio(st.p99 / ex.p99),
    '',
    undefined,
  );
  // A duplicate is answered from the dedup records: no append, no fold, no snapshot. What it costs
  // is the request's own path (parse, schema, token, dedup key, answer, counters), which every
  // applied event pays too: against bare's, it says how much of issue 16's ingest target that
  // path alone leaves to the append and the fold.
  const stormCpu = (field) => median(storm.map((r) => r.cpuUsPerAnswer?.[field] ?? NaN));
  row(
    T,
    'CPU per answer, all threads / main thread',
    `${stormCpu('all').toFixed(0)} / ${stormCpu('main').toFixed(0)} µs`,
    `applied ${cpu('exporter', 'all').toFixed(0)} / ${cpu('exporter', 'main').toFixed(0)} µs, bare ${cpu('bare', 'all').toFixed(0)} / ${cpu('bare', 'main').toFixed(0)} µs`,
    fmt.ratio(stormCpu('all') / cpu('bare', 'all')),
    '',
    undefined,
  );
}

// ---------------------------------------------------------------------------------------------
// 3. Scrape, 4. memory and start-up

async function scrapeSeries(url, gzip, count) {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < count; i += 1) {
    const result = await scrape(url, gzip);
    times.push(result.ms);
    bytes = result.bytes;
  }
  const sorted = Float64Array.from(times).sort();
  return { median: percentile(sorted, 50), p99: percentile(sorted, 99), bytes };
}

let changeSeq = 0;
/** Scrapes right after a committed event each time, so every scrape sees a changed state. */
async function changedScrapes(url, gzip, count, components) {
  const times = [];
  for (let i = 0; i < count; i += 1) {
    const c = components - 1 - (changeSeq % 50);
    const t = T0 + 500_000 + changeSeq++;
    const status = await postWebhook(
      url,
      `{"text":"x","meta":{"type":"component_impact_updated","uuid":"${componentUuid(c)}","title":"${componentName(c)}","impact":"${IMPACTS[changeSeq % 5]}","created_at":"${isoTime(t)}","status_page":"${PAGE}"}}`,
    );
    if (status !== 'applied') throw new Error(`changed scrape: event answered ${status}`);
    times.push((await scrape(url, gzip)).ms);
  }
  const sorted = Float64Array.from(times).sort();
  return { median: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function scrapeState(components, sqlitePath) {
  const exporter = await startExporter(sqlitePath);
  const built = performance.now();
  await postAll(exporter.url, stateBodies(components), 16);
  log(`scrape ${components}: state built in ${((performance.now() - built) / 1000).toFixed(1)} s`);
  await scrape(exporter.url, false); // render once
  const result = {
    plain: await scrapeSeries(exporter.url, false, SCRAPES),
    gzip: await scrapeSeries(exporter.url, true, SCRAPES),
    changedPlain: await changedScrapes(exporter.url, false, CHANGED_SCRAPES, components),
    changedGzip: await changedScrapes(exporter.url, true, CHANGED_SCRAPES, components),
  };
  const samples = await metricsSamples(exporter.url);
  const series = sumOf(samples, 'statusmate_component_impact', () => true);
  result.rss = await rssBytes(exporter.pid);
  result.rssAnon = await rssBytes(exporter.pid, 'RssAnon');
  result.settled = await settledRss(exporter.pid);
  result.impactSeries = [...samples.keys()].filter((k) => k.startsWith('statusmate_component_impact{')).length;
  if (result.impactSeries !== components * 5)
    failures.push(`scrape ${components}: ${result.impactSeries} statusmate_component_impact series, expected ${components * 5}`);
  if (series !== components) failures.push(`scrape ${components}: StateSet sums to ${series}, expected ${components}`);
  await exporter.stop();
  return result;
}

/**
 * How long the exporter must be left without webhooks to give back what a burst made V8 hold
 * (src/memory-trim.ts: QUIET_MS, then its next check a second later, then the collection).
 */
const SETTLE_MS = 4_000;

/** RSS (and its anonymous part) once the exporter has been quiet for SETTLE_MS. */
async function settledRss(pid) {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return { rss: await rssBytes(pid), anon: await rssBytes(pid, 'RssAnon') };
}

async function promClientBaseline(components) {
  const server = await startBaseline('prom-client.mjs', { COMPONENTS: String(components), INCIDENTS: String(INCIDENTS), MAINTENANCES: String(MAINTENANCES) });
  try {
    await scrape(server.url, false);
    // prom-client renders every scrape (hundreds of ms at 10k): fewer scrapes keep the bench short.
    const count = Math.min(SCRAPES, 25);
    return { plain: await scrapeSeries(server.url, false, count), gzip: await scrapeSeries(server.url, true, count) };
  } finally {
    await server.stop();
  }
}

/**
 * Ingest on a copy of the 10k state (so every measurement starts from the same state), with or
 * without a gzip scrape every second. The events name the state's components, so every scrape
 * sees a changed state and renders.
 */
async function scrapeUnderLoad(statePath, run, withScrapes) {
  const copy = join(tempDir(), 'under-load.db');
  copyFileSync(statePath, copy);
  const exporter = await startExporter(copy);
  try {
    const workload = createWorkload({ space: 10 + run });
    const counters = { unexpected: [] };
    const scrapeTimes = [];
    let scraping = withScrapes;
    const scraper = (async () => {
      while (scraping) {
        const started = performance.now();
        scrapeTimes.push((await scrape(exporter.url, true)).ms);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - started))));
      }
    })();
    const load = await runLoad({
      url: exporter.url,
      connections: CONNECTIONS,
      duration: DURATION,
      warmup: WARMUP,
      requests: workloadRequests(workload, counters),
    });
    scraping = false;
    await scraper;
    if (counters.unexpected.length > 0) failures.push(`scrape under load: ${counters.unexpected.length} answers not applied: ${counters.unexpected[0]}`);
    log(
      `under load run ${run} ${withScrapes ? 'with' : 'without'} scrapes: ${fmt.rps(load.rps)} p99 ${fmt.ms(load.p99)}${withScrapes ? `, ${scrapeTimes.length} scrapes, median ${fmt.ms(median(scrapeTimes))}` : ''}`,
    );
    return { ...load, scrapeMedian: median(scrapeTimes) };
  } finally {
    await exporter.stop();
  }
}

async function scrapeMemoryStartup() {
  const dir = tempDir();
  const big = join(dir, 'state-10k.db');
  const s1k = await scrapeState(1_000, join(dir, 'state-1k.db'));
  const b1k = await promClientBaseline(1_000);
  const s10k = await scrapeState(10_000, big);
  const b10k = await promClientBaseline(10_000);

  for (const [n, s, b] of [
    ['1k', s1k, b1k],
    ['10k', s10k, b10k],
  ]) {
    const S = `3 scrape ${n} components`;
    const target = n === '10k' ? '≤ 15 ms' : '';
    row(
      S,
      'unchanged, plain: median / p99',
      `${fmt.ms(s.plain.median)} / ${fmt.ms(s.plain.p99)}`,
      `prom-client ${fmt.ms(b.plain.median)} / ${fmt.ms(b.plain.p99)}`,
      fmt.ratio(s.plain.median / b.plain.median),
      target,
      n === '10k' ? s.plain.median <= 15 : undefined,
    );
    row(
      S,
      'unchanged, gzip: median / p99',
      `${fmt.ms(s.gzip.median)} / ${fmt.ms(s.gzip.p99)}`,
      `prom-client ${fmt.ms(b.gzip.median)} / ${fmt.ms(b.gzip.p99)}`,
      fmt.ratio(s.gzip.median / b.gzip.median),
      target,
      n === '10k' ? s.gzip.median <= 15 : undefined,
    );
    row(
      S,
      'changed, plain: median / p99',
      `${fmt.ms(s.changedPlain.median)} / ${fmt.ms(s.changedPlain.p99)}`,
      `prom-client ${fmt.ms(b.plain.median)}`,
      fmt.ratio(s.changedPlain.median / b.plain.median),
      '≤ 1.00× prom-client',
      s.changedPlain.median <= b.plain.median,
    );
    row(
      S,
      'changed, gzip: median / p99',
      `${fmt.ms(s.changedGzip.median)} / ${fmt.ms(s.changedGzip.p99)}`,
      `prom-client ${fmt.ms(b.gzip.median)}`,
      fmt.ratio(s.changedGzip.median / b.gzip.median),
      '≤ 1.00× prom-client',
      s.changedGzip.median <= b.gzip.median,
    );
    if (n === '10k') {
      row(S, 'changed, gzip: median (issue 16)', fmt.ms(s.changedGzip.median), '', '', '≤ 10 ms', s.changedGzip.median <= 10);
    }
    row(
      S,
      'body size plain / gzip',
      `${fmt.bytes(s.plain.bytes)} / ${fmt.bytes(s.gzip.bytes)}`,
      `prom-client ${fmt.bytes(b.plain.bytes)} / ${fmt.bytes(b.gzip.bytes)}`,
      fmt.ratio(s.plain.bytes / b.plain.bytes),
      '',
      undefined,
    );
  }

  // 4. Start-up on the 10k file: spawn → /readyz 200, against an empty store.
  const empty = [];
  for (let i = 0; i < RUNS; i += 1) {
    const e = await startExporter(join(dir, `empty-${i}.db`));
    empty.push(e.readyMs);
    await e.stop();
  }
  const startups = [];
  let exporter;
  for (let i = 0; i < RUNS; i += 1) {
    exporter = await startExporter(big);
    startups.push(exporter.readyMs);
    if (i < RUNS - 1) await exporter.stop();
  }
  await scrape(exporter.url, true);
  const rssRestarted = await rssBytes(exporter.pid);
  const rssAnonRestarted = await rssBytes(exporter.pid, 'RssAnon');
  const settledRestarted = await settledRss(exporter.pid);
  await exporter.stop();
  const M = '4 memory and start-up';
  // Held: what the process keeps once quiet (the target). Right after: the burst's own peak, shown beside it.
  const rss = Math.max(s10k.settled.rss, settledRestarted.rss);
  row(
    M,
    'RSS, 10k components',
    `${fmt.bytes(rss)}`,
    `quiet ${SETTLE_MS / 1000} s after ingest+scrapes ${fmt.bytes(s10k.settled.rss)} / restarted ${fmt.bytes(settledRestarted.rss)} (anonymous ${fmt.bytes(s10k.settled.anon)} / ${fmt.bytes(settledRestarted.anon)})`,
    '',
    '≤ 150 MiB',
    rss <= 150 * MB,
  );
  row(
    M,
    'RSS right after the burst, 10k',
    `${fmt.bytes(Math.max(s10k.rss, rssRestarted))}`,
    `after ingest+scrapes ${fmt.bytes(s10k.rss)} / restarted ${fmt.bytes(rssRestarted)}; anonymous ${fmt.bytes(s10k.rssAnon)} / ${fmt.bytes(rssAnonRestarted)}`,
    '',
    '< 256 MiB (issue 16)',
    Math.max(s10k.rss, rssRestarted) < 256 * MB,
  );
  const startup = median(startups);
  row(
    M,
    'start → /readyz 200, 10k stored',
    fmt.ms(startup),
    `empty store ${fmt.ms(median(empty))}`,
    fmt.ratio(startup / median(empty)),
    '≤ 2000 ms',
    startup <= 2000,
  );

  // 3 (cont.): does a scrape stall ingestion? Ingest on the 10k state, with and without a gzip
  // scrape every second; the order alternates from run to run.
  const under = { with: [], without: [] };
  for (let run = 1; run <= RUNS; run += 1) {
    for (const withScrapes of run % 2 === 1 ? [false, true] : [true, false]) {
      under[withScrapes ? 'with' : 'without'].push(await scrapeUnderLoad(big, run, withScrapes));
    }
  }
  const without = median(under.without.map((u) => u.p99));
  const withS = median(under.with.map((u) => u.p99));
  const S = '3 scrape during ingest (10k)';
  row(
    S,
    'ingest p99 with scrapes every 1 s',
    fmt.ms(withS),
    `without scrapes ${fmt.ms(without)}`,
    fmt.ratio(withS / without),
    '≤ 2.00× without',
    withS <= 2 * without,
  );
  row(
    S,
    'ingest req/s with scrapes',
    fmt.rps(median(under.with.map((u) => u.rps))),
    `without scrapes ${fmt.rps(median(under.without.map((u) => u.rps)))}`,
    '',
    '',
    undefined,
  );
  row(S, 'scrape (gzip) median during ingest', fmt.ms(median(under.with.map((u) => u.scrapeMedian))), '', '', '', undefined);
}

// ---------------------------------------------------------------------------------------------
// 5. The reducer alone: finishing an incident must cost time linear in its size (issue 10, item 7:
// it was quadratic, and a 70k-component incident blocked the event loop for 6.9 s). In-process,
// on the built reducer; the figure is the cost per component at the largest size against the
// smallest, which is about 1× when linear and grows with the size when not.

async function reducerScaling() {
  const { reduce, DEFAULT_LIMITS } = await import('../dist/domain/reducer.js');
  const { applyPatch, createState } = await import('../dist/domain/state.js');
  const sizes = [10_000, 20_000, 40_000, 80_000];
  const perComponent = new Map();
  for (const size of sizes) {
    const times = [];
    const createTimes = [];
    for (let run = 0; run < RUNS; run += 1) {
      const state = createState();
      const limits = { ...DEFAULT_LIMITS, maxComponents: size, maxHoldings: size };
      const uuid = 'aaaaaaaa-0000-4000-8000-000000000001';
      const components = Array.from({ length: size }, (_, n) => ({ uuid: componentUuid(n), name: componentName(n), impact: 'major_outage' }));
      const common = { statusPage: PAGE, uuid, title: 'Big incident', startAt: T0, endAt: null, deliveryAttempt: 0 };
      const created = { ...common, type: 'incident_created', createdAt: T0, components };
      // Folding it too: applyPatch books every component in the ledger, with its evidence.
      const folding = performance.now();
      applyPatch(state, reduce(state, created, 'created', T0 + 1, limits).patch);
      createTimes.push(performance.now() - folding);
      const finished = { ...common, type: 'incident_finished', createdAt: T0 + 60, components: [] };
      const started = performance.now();
      const decision = reduce(state, finished, 'finished', T0 + 61, limits);
      times.push(performance.now() - started);
      if (decision.patch.components.length !== size) throw new Error(`finishing ${size} components wrote ${decision.patch.components.length}`);
    }
    perComponent.set(size, median(times) / size);
    row('5 reducer', `finish an incident of ${size / 1000}k components`, fmt.ms(median(times)), '', '', '', undefined);
    row('5 reducer', `reduce and fold the incident_created of ${size / 1000}k components`, fmt.ms(median(createTimes)), '', '', '', undefined);
  }
  const smallest = perComponent.get(sizes[0]);
  const largest = perComponent.get(sizes.at(-1));
  row(
    '5 reducer',
    `cost per component, ${sizes.at(-1) / 1000}k vs ${sizes[0] / 1000}k`,
    `${(largest * 1000).toFixed(2)} µs`,
    `${(smallest * 1000).toFixed(2)} µs`,
    fmt.ratio(largest / smallest),
    '≤ 2.00× (linear)',
    largest / smallest <= 2,
  );
}

// ---------------------------------------------------------------------------------------------
// 5b. Alert matchers (POST /alertmanager matches every alert against every component's matchers)

async function matcherCosts() {
  const { matchesAll, parseAlertMatcher } = await import('../dist/domain/alert-matchers.js');
  const alerts = Array.from({ length: 1_000 }, (_, i) => ({ service: `svc-${(i * 7) % 1_000}`, env: 'prod', alertname: 'HighLatency' }));
  for (const [what, pattern] of [
    ['a literal alternation of two names (svc-N, svc-N-canary)', (i) => `svc-${i}|svc-${i}-canary`],
    ['a pattern with a group (svc-N(-canary)?)', (i) => `svc-${i}(-canary)?`],
  ]) {
    const times = [];
    for (let run = 0; run < RUNS; run += 1) {
      const components = Array.from({ length: 1_000 }, (_, i) => [parseAlertMatcher(`service=~"${pattern(i)}"`), parseAlertMatcher('env=~"prod|canary"')]);
      const started = performance.now();
      let matched = 0;
      for (const labels of alerts) for (const matchers of components) if (matchesAll(matchers, labels)) matched += 1;
      times.push(performance.now() - started);
      if (matched !== alerts.length) throw new Error(`${what}: ${matched} matches, expected ${alerts.length}`);
    }
    row('5b matchers', `1,000 alerts x 1,000 components, ${what}`, fmt.ms(median(times)), '', '', '', undefined);
  }
  // A nested repetition on a label that almost matches: exponential on a backtracking engine
  // (seconds at 31 characters), linear on RE2. Per test, at 1,000 and 4,000 characters.
  const nested = parseAlertMatcher('service=~"([a-z0-9]+-?)+svc"');
  const perTest = (length) => {
    const labels = { service: `${'a'.repeat(length)}!` };
    const times = [];
    for (let run = 0; run < RUNS; run += 1) {
      const started = performance.now();
      for (let n = 0; n < 100; n += 1) if (matchesAll([nested], labels)) throw new Error('matched');
      times.push((performance.now() - started) / 100);
    }
    return median(times);
  };
  const short = perTest(1_000);
  const long = perTest(4_000);
  row(
    '5b matchers',
    'a nested repetition on a 4,000-character label that almost matches',
    fmt.ms(long),
    fmt.ms(short),
    fmt.ratio(long / short),
    '≤ 8.00× the 1,000-character one (linear: 4×)',
    long / short <= 8,
  );
}

// ---------------------------------------------------------------------------------------------
// 6. Several replicas on Redis (STORE=redis)

const startReplica = (redisUrl, prefix) => startExporter(join(tempDir(), 'unused.db'), { STORE: 'redis', REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix });

/** The statusmate_ lines of a scrape that every replica must serve alike (not its own webhook_, store_, exporter_ families). */
async function domainLines(url) {
  const text = (await request(`${url}/metrics`)).body.toString('utf8');
  return text.split('\n').filter(isSharedStateSample).join('\n');
}

/** Resolves once the webhook requests the replicas counted stay the same over two reads 100 ms apart. */
async function requestsSettled(replicas) {
  const counted = async () => {
    let total = 0;
    for (const replica of replicas) total += sumOf(await metricsSamples(replica.url), 'statusmate_webhook_requests_total', () => true);
    return total;
  };
  let before = await counted();
  for (let i = 0; i < 100; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await counted();
    if (now === before) return;
    before = now;
  }
}

/** Ingest through two replicas (half the connections each, one workload), then the same checks as for one exporter. */
async function redisIngestOnce(redis, run) {
  const [a, b] = [await startReplica(redis.url, `ingest${run}:`), await startReplica(redis.url, `ingest${run}:`)];
  try {
    const workload = createWorkload({ space: 1 + run });
    const counters = { unexpected: [] };
    const half = Math.max(1, Math.floor(CONNECTIONS / 2));
    const loads = await Promise.all(
      [a, b].map((replica) =>
        runLoad({ url: replica.url, connections: half, duration: DURATION, warmup: WARMUP, requests: workloadRequests(workload, counters) }),
      ),
    );
    const latencies = loads.map((l) => l.p99);
    const result = { rps: loads[0].rps + loads[1].rps, p50: Math.max(loads[0].p50, loads[1].p50), p99: Math.max(...latencies) };
    // The load stops with requests in flight at both replicas. A re-delivery sent to one before the
    // other has appended its original would overtake it, and a first delivery always counts as new
    // (test/redis/replicas.test.ts): wait until neither replica's request counter moves.
    await requestsSettled([a, b]);
    for (const { id, body } of workload.unconfirmed()) {
      const status = await postWebhook(a.url, asRetry(body));
      if (status !== 'applied' && status !== 'duplicate') counters.unexpected.push(`re-delivery answered ${status}`);
      workload.confirm(id);
    }
    const applied = async (replica) => sumOf(await metricsSamples(replica.url), 'statusmate_webhook_requests_total', (k) => k.includes('outcome="applied"'));
    const total = (await applied(a)) + (await applied(b));
    let same = false;
    for (let i = 0; i < 200 && !same; i += 1) {
      same = (await domainLines(a.url)) === (await domainLines(b.url));
      if (!same) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (counters.unexpected.length > 0)
      failures.push(`redis ingest run ${run}: ${counters.unexpected.length} answers were not 200 applied, e.g. ${counters.unexpected[0]}`);
    if (total !== workload.total) failures.push(`redis ingest run ${run}: applied answers over both replicas ${total}, distinct events ${workload.total}`);
    if (!same) failures.push(`redis ingest run ${run}: the replicas serve different domain lines`);
    log(
      `redis ingest run ${run}: two replicas ${fmt.rps(result.rps)} p99 ${fmt.ms(result.p99)}; ${workload.total} events, applied once each: ${total === workload.total}, same lines: ${same}`,
    );
    return result;
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

async function sqliteIngestOnce(run) {
  const exporter = await startExporter(join(tempDir(), 'ingest.db'));
  try {
    const workload = createWorkload({ space: 1 + run });
    const counters = { unexpected: [] };
    const result = await runLoad({
      url: exporter.url,
      connections: CONNECTIONS,
      duration: DURATION,
      warmup: WARMUP,
      requests: workloadRequests(workload, counters),
    });
    await checkCounters(exporter.url, workload, counters, `sqlite ingest (redis section) run ${run}`);
    return result;
  } finally {
    await exporter.stop();
  }
}

/** From a 200 on one replica until another replica's /metrics shows the change, at a steady rate. */
async function convergence(redis, samples) {
  const [a, b] = [await startReplica(redis.url, 'converge:'), await startReplica(redis.url, 'converge:')];
  const times = [];
  try {
    for (let i = 0; i < samples; i += 1) {
      const impact = i % 2 === 0 ? 'major_outage' : 'operational';
      const body = `{"meta":{"type":"component_impact_updated","uuid":"${componentUuid(i % 20)}","title":"${componentName(i % 20)}","impact":"${impact}","created_at":"${isoTime(T0 + i)}","status_page":"${PAGE}"}}`;
      const status = await postWebhook(a.url, body);
      if (status !== 'applied') throw new Error(`convergence: answered ${status}`);
      const answered = performance.now();
      const expected = `component_uuid="${componentUuid(i % 20)}",component="${componentName(i % 20)}"} ${impact === 'major_outage' ? 4 : 0}`;
      for (;;) {
        const text = (await request(`${b.url}/metrics`)).body.toString('utf8');
        const line = text
          .split('\n')
          .find((l) => l.startsWith('statusmate_component_impact_level{') && l.includes(`component_uuid="${componentUuid(i % 20)}"`));
        if (line?.endsWith(expected.slice(expected.lastIndexOf('}') + 1))) break;
        if (performance.now() - answered > 5000) throw new Error('convergence: no change within 5 s');
      }
      times.push(performance.now() - answered);
      await new Promise((resolve) => setTimeout(resolve, 20)); // about 40 events a second
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  const sorted = Float64Array.from(times).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/**
 * Redis memory for 10k components, and the time a new replica takes to be ready on them: folding
 * the whole log, and loading the snapshot a running replica writes (its first check, 15-18 s in).
 */
async function redisStateAndStartup(redis) {
  const before = await redis.usedMemory();
  const seed = await startReplica(redis.url, 'state:');
  try {
    await postAll(seed.url, stateBodies(10_000), 32);
  } finally {
    await seed.stop();
  }
  const logOnly = await redis.usedMemory();
  const readyTimes = async (prefix = 'state:') => {
    const ready = [];
    for (let i = 0; i < RUNS; i += 1) {
      const replica = await startReplica(redis.url, prefix);
      ready.push(replica.readyMs);
      await replica.stop();
    }
    return median(ready);
  };
  const empty = await readyTimes('empty:');
  const fromLog = await readyTimes();
  const writer = await startReplica(redis.url, 'state:');
  try {
    for (let i = 0; i < 400 && !(await redisCommand(redis.port, 'HEXISTS {state}:snapshot id')).startsWith(':1'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await writer.stop();
  }
  const withSnapshot = await redis.usedMemory();
  const fromSnapshot = await readyTimes();
  return { logMemory: logOnly - before, snapshotMemory: withSnapshot - logOnly, empty, fromLog, fromSnapshot };
}

async function redisReplicas() {
  if (!redisServerPath()) {
    log('redis: redis-server not found (apt-get install redis-server); section 5 skipped');
    return;
  }
  const redis = await startRedis();
  try {
    const sqlite = [];
    const replicas = [];
    for (let run = 1; run <= RUNS; run += 1) {
      sqlite.push(await sqliteIngestOnce(run));
      replicas.push(await redisIngestOnce(redis, run));
    }
    const s = { rps: median(sqlite.map((r) => r.rps)), p99: median(sqlite.map((r) => r.p99)) };
    const r = { rps: median(replicas.map((x) => x.rps)), p99: median(replicas.map((x) => x.p99)) };
    const S = `6 two replicas on Redis (${CONNECTIONS} conn)`;
    row(
      S,
      'ingest req/s vs one SQLite exporter',
      fmt.rps(r.rps),
      `sqlite ${fmt.rps(s.rps)}`,
      fmt.ratio(r.rps / s.rps),
      '≥ 0.60× sqlite (issue 16)',
      r.rps >= 0.6 * s.rps,
    );
    row(S, 'ingest latency p99', fmt.ms(r.p99), `sqlite ${fmt.ms(s.p99)}`, fmt.ratio(r.p99 / s.p99), '', undefined);
    const c = await convergence(redis, 200);
    log(`redis convergence: p50 ${fmt.ms(c.p50)} p99 ${fmt.ms(c.p99)}`);
    row(S, 'convergence 200 → other replica, p50 / p99', `${fmt.ms(c.p50)} / ${fmt.ms(c.p99)}`, '', '', 'p99 ≤ 50 ms (issue 16)', c.p99 <= 50);
    const m = await redisStateAndStartup(redis);
    log(
      `redis: 10k components take ${fmt.bytes(m.logMemory)} of log entries and ${fmt.bytes(m.snapshotMemory)} of snapshot; a new replica is ready in ${fmt.ms(m.fromLog)} from the log, ${fmt.ms(m.fromSnapshot)} from the snapshot`,
    );
    row(S, 'Redis memory, 10k components: log / snapshot', `${fmt.bytes(m.logMemory)} / ${fmt.bytes(m.snapshotMemory)}`, '', '', '', undefined);
    row(
      S,
      'new replica → /readyz 200, 10k: log / snapshot',
      `${fmt.ms(m.fromLog)} / ${fmt.ms(m.fromSnapshot)}`,
      `empty log ${fmt.ms(m.empty)}`,
      fmt.ratio(m.fromSnapshot / m.empty),
      '≤ 2000 ms',
      Math.max(m.fromLog, m.fromSnapshot) <= 2000,
    );
  } finally {
    await redis.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 7. Fat incidents: issue 16's load, each incident_created naming the same 2,500 components.

const FAT_COMPONENTS = 2_500;

/** An incident_created naming the same FAT_COMPONENTS components (about 250 KB, under MAX_BODY_BYTES). */
function fatIncident(n) {
  const affected = Array.from({ length: FAT_COMPONENTS }, (_, c) => ({ component_details: { impact: 'major_outage', component_uuid: componentUuid(c) } }));
  return JSON.stringify({ meta: { type: 'incident_created', uuid: incidentUuid(n, 0xfa7), created_at: isoTime(T0 + n), affected_components: affected } });
}

async function fatIncidents() {
  const S = `7 fat incidents (${FAT_EVENTS} × ${FAT_COMPONENTS.toLocaleString('en-US')} components)`;
  const path = join(tempDir(), 'fat.db');
  const env = await defaultLimitsEnv();
  let exporter = await startExporter(path, env);
  const outcomes = {};
  const ms = [];
  const msBy = {};
  let ended = null;
  for (let n = 0; n < FAT_EVENTS && ended === null; n += 1) {
    const body = fatIncident(n);
    const started = performance.now();
    let response;
    try {
      response = await request(`${exporter.url}/webhook`, { method: 'POST', headers: webhookHeaders, body });
    } catch (error) {
      ended = await endedOrRethrow(exporter, error);
      break;
    }
    ms.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`fat incident ${n}: ${response.status} ${response.body.toString('utf8').slice(0, 200)}`);
    const status = JSON.parse(response.body.toString('utf8')).status;
    outcomes[status] = (outcomes[status] ?? 0) + 1;
    (msBy[status] ??= []).push(ms[ms.length - 1]);
  }
  let refusals = 0;
  let rssEnd = 0;
  if (ended === null) {
    // A plain and a gzip scrape, as Prometheus and a person would: their text is part of the footprint.
    await scrape(exporter.url, false);
    await scrape(exporter.url, true);
    refusals = sumOf(parseMetrics((await request(`${exporter.url}/metrics`)).body.toString('utf8')), 'statusmate_limit_refusals_total');
    rssEnd = await rssBytes(exporter.pid);
  }
  await exporter.stop();
  exporter = await startExporter(path, env, { timeoutMs: 120_000 }).catch((error) => ({ failed: error }));
  let rssRestart = 0;
  let restartMs = 0;
  let restartEnded = null;
  if (!('failed' in exporter)) {
    await scrape(exporter.url, false);
    await scrape(exporter.url, true);
    rssRestart = await rssBytes(exporter.pid);
    restartMs = exporter.readyMs;
    await exporter.stop();
  } else restartEnded = String(exporter.failed.message).split('\n')[0];
  const sorted = [...ms].sort((a, b) => a - b);
  const answers = Object.entries(outcomes)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  log(
    `fat: ${answers}${ended ? `, then the exporter ended (${describeEnd(ended)})` : ''}; RSS ${fmt.bytes(rssEnd)} at the end, ${fmt.bytes(rssRestart)} after restart; ${fmt.ms(median(ms))}/event`,
  );
  if (ended === null && refusals !== (outcomes.refused_limit ?? 0))
    failures.push(`fat: ${outcomes.refused_limit ?? 0} refused_limit answers, but statusmate_limit_refusals_total says ${refusals}`);
  row(S, 'answers', answers, '', '', '', undefined);
  memoryLimitRow(S, ended, restartEnded, ms.length, FAT_EVENTS);
  if (ended === null && restartEnded === null)
    row(
      S,
      'RSS at the end / after restart',
      `${fmt.bytes(rssEnd)} / ${fmt.bytes(rssRestart)}`,
      'issue 16 bound 256 MiB',
      fmt.ratio(Math.max(rssEnd, rssRestart) / (256 * MB)),
      '< 256 MiB',
      Math.max(rssEnd, rssRestart) < 256 * MB,
    );
  row(S, 'time per event: median / p99', `${fmt.ms(median(ms))} / ${fmt.ms(percentile(sorted, 99))}`, '', '', '', undefined);
  for (const [status, times] of Object.entries(msBy)) row(S, `time per ${status} event: median`, fmt.ms(median(times)), '', '', '', undefined);
  if (restartEnded === null) row(S, 'restart → /readyz 200', fmt.ms(restartMs), '', '', '', undefined);
}

/** The exporter's default limits (not startExporter's lifted ones), but for a size bound set in the bench's environment. */
async function defaultLimitsEnv() {
  const { DEFAULT_LIMITS } = await import('../dist/domain/reducer.js');
  return {
    MAX_COMPONENTS: String(DEFAULT_LIMITS.maxComponents),
    MAX_ACTIVE_INCIDENTS: String(DEFAULT_LIMITS.maxActiveIncidents),
    MAX_ACTIVE_MAINTENANCES: String(DEFAULT_LIMITS.maxActiveMaintenances),
    MAX_HOLDINGS: process.env.MAX_HOLDINGS ?? String(DEFAULT_LIMITS.maxHoldings),
    MAX_RETAINED_FINISHED: process.env.MAX_RETAINED_FINISHED ?? String(DEFAULT_LIMITS.maxRetainedFinished),
    MAX_DEDUP_RECORDS: process.env.MAX_DEDUP_RECORDS ?? String(DEFAULT_LIMITS.maxDedupRecords),
  };
}

/**
 * 7 (cont.): busy components. Every component updated BUSY_UPDATES times with a 200-character
 * name, as fast as 32 senders go: the ledger keeps each component's last events (its evidence),
 * which LEDGER_MAX_EVIDENCE bounds per component and LEDGER_MAX_EVIDENCE_WEIGHT over all of them.
 */
async function busyComponents() {
  const S = `7 busy components (${BUSY_COMPONENTS.toLocaleString('en-US')} × ${BUSY_UPDATES} updates, 200-character names${BUSY_STORE === 'sqlite' ? '' : `, ${BUSY_STORE === 'redis' ? 'Redis' : 'memory'}`})`;
  const path = join(tempDir(), 'busy.db');
  const redis = BUSY_STORE === 'redis' ? await startRedis() : null;
  const env = {
    ...(await defaultLimitsEnv()),
    ...(redis ? { STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'busy:' } : {}),
    ...(BUSY_STORE === 'memory' ? { STORE: 'memory' } : {}),
  };
  try {
    await busyLoad(S, path, env);
  } finally {
    await redis?.stop();
  }
}

async function busyLoad(S, path, env) {
  let exporter = await startExporter(path, env);
  const total = BUSY_COMPONENTS * BUSY_UPDATES;
  // Times in the past, one second apart, so that every created_at is trusted (the evidence keeps only those).
  const t0 = Math.floor(Date.now() / 1000) - total - 3600;
  const name = (c) => `${'Busy component '.padEnd(194, '.')}${String(c).padStart(6, '0')}`;
  let next = 0;
  let answered = 0;
  let unavailable = 0;
  let sampledPeak = 0;
  let ended = null;
  const outcomes = {};
  const sampler = setInterval(
    () =>
      void rssBytes(exporter.pid).then(
        (rss) => (sampledPeak = Math.max(sampledPeak, rss)),
        () => {},
      ),
    500,
  );
  const started = performance.now();
  const sender = async () => {
    while (next < total && ended === null) {
      const i = next++;
      const c = i % BUSY_COMPONENTS;
      const impact = IMPACTS[(Math.floor(i / BUSY_COMPONENTS) + c) % IMPACTS.length];
      const body = `{"text":"${name(c)}","meta":{"type":"component_impact_updated","uuid":"${componentUuid(c)}","title":"${name(c)}","impact":"${impact}","created_at":"${isoTime(t0 + i)}","delivery_attempt":0,"status_page":"${PAGE}"}}`;
      let status;
      // A 503 (the store could not take the event now) is retried as StatusMate retries it:
      // the same event with delivery_attempt > 0, which is `duplicate` if the first did land.
      for (let attempt = 0; ; attempt += 1) {
        try {
          status = await postWebhook(exporter.url, attempt === 0 ? body : body.replace('"delivery_attempt":0', `"delivery_attempt":${attempt}`));
          if (attempt > 0 && status === 'duplicate') status = 'applied';
          break;
        } catch (error) {
          if (attempt < 10 && String(error?.message).startsWith('webhook answered 503')) {
            unavailable += 1;
            await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
            continue;
          }
          ended ??= await endedOrRethrow(exporter, error);
          return;
        }
      }
      answered += 1;
      outcomes[status] = (outcomes[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 32 }, sender));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  // VmHWM: the kernel's own high-water mark of the process's RSS, exact where sampling may miss it.
  const peak = ended === null ? await rssBytes(exporter.pid, 'VmHWM') : sampledPeak;
  const settled = ended === null ? await settledRss(exporter.pid) : null;
  await exporter.stop();
  exporter = await startExporter(path, env, { timeoutMs: 120_000 }).catch((error) => ({ failed: error }));
  let restarted = null;
  let restartPeak = 0;
  let snapshotBytes = 0;
  let restartEnded = null;
  if (!('failed' in exporter)) {
    try {
      restartPeak = await rssBytes(exporter.pid, 'VmHWM');
      snapshotBytes = sumOf(parseMetrics((await request(`${exporter.url}/metrics`)).body.toString('utf8')), 'statusmate_store_snapshot_bytes');
      restarted = await settledRss(exporter.pid);
    } catch (error) {
      restartEnded = `ready, then ${describeEnd(await endedOrRethrow(exporter, error))}`;
    }
    await exporter.stop();
  } else restartEnded = String(exporter.failed.message).split('\n')[0];
  const answers = Object.entries(outcomes)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  log(
    `busy: ${answers} in ${seconds.toFixed(0)} s${ended ? `, then the exporter ended (${describeEnd(ended)})` : ''}; RSS peak ${fmt.bytes(peak)}, quiet ${settled ? fmt.bytes(settled.rss) : '–'}, restarted ${restarted ? fmt.bytes(restarted.rss) : restartEnded}; snapshot ${fmt.bytes(snapshotBytes)}`,
  );
  if (ended === null && (outcomes.applied ?? 0) !== total) failures.push(`busy components: ${answers}, expected ${total} applied`);
  row(S, 'answers, events/s', `${answers}; ${Math.round(answered / seconds).toLocaleString('en-US')}/s`, '', '', '', undefined);
  if (unavailable > 0) row(S, 'answered 503, then retried', unavailable.toLocaleString('en-US'), '', '', '', undefined);
  memoryLimitRow(S, ended, restartEnded, answered, total);
  const limit = 256 * MB;
  if (settled && restarted)
    row(
      S,
      'RSS quiet after the load / after restart',
      `${fmt.bytes(settled.rss)} / ${fmt.bytes(restarted.rss)}`,
      'issue 16 bound 256 MiB',
      fmt.ratio(Math.max(settled.rss, restarted.rss) / limit),
      '< 256 MiB',
      Math.max(settled.rss, restarted.rss) < limit,
    );
  row(S, 'RSS peak during the load (VmHWM)', fmt.bytes(peak), 'issue 16 bound 256 MiB', fmt.ratio(peak / limit), '< 256 MiB (issue 16)', peak < limit);
  // Loading the snapshot is the restart's peak: over a pod's limit, every restart is killed again.
  if (restarted)
    row(
      S,
      'RSS peak of the restart, until ready (VmHWM)',
      fmt.bytes(restartPeak),
      'issue 16 bound 256 MiB',
      fmt.ratio(restartPeak / limit),
      '< 256 MiB (issue 16)',
      restartPeak < limit,
    );
  row(S, 'snapshot after restart', fmt.bytes(snapshotBytes), '', '', '', undefined);
}

/**
 * After a request to the exporter failed: how the exporter ended, if it did (within 30 s of the
 * failure: a process at its cgroup's limit may stall in reclaim before the kernel kills it), with
 * the OOM kills its memory cgroup counted; otherwise the request's own error.
 */
async function endedOrRethrow(exporter, error) {
  const end = await Promise.race([exporter.exited, new Promise((resolve) => setTimeout(() => resolve(null), 30_000))]);
  if (end === null) throw error;
  return { ...end, oomKills: exporter.oomKills() };
}

function describeEnd({ code, signal, oomKills }) {
  return `${signal ?? `exit ${code}`}${oomKills ? `, ${oomKills} OOM kill${oomKills === 1 ? '' : 's'} in its cgroup` : ''}`;
}

/**
 * Whether the exporter lived through a load, and a restart after it, under the memory limit the
 * bench gave it (by default the chart's: a container's limit is what kills a pod, and Node sizes
 * its heap from it). Unjudged when the machine gave no limit.
 */
function memoryLimitRow(S, ended, restartEnded, answered, total) {
  if (EXPORTER_MEMORY_LIMIT === null) {
    row(S, 'memory limit', 'none (BENCH_MEMORY_LIMIT=0)', '', '', '', undefined);
    return;
  }
  if (MEMORY_LIMIT_MISSING) {
    row(S, 'memory limit', `none: ${MEMORY_LIMIT_MISSING}`, '', '', '', undefined);
    return;
  }
  const what = ended
    ? `ended after ${answered.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} events (${describeEnd(ended)})`
    : restartEnded
      ? `load lived; restart failed (${restartEnded})`
      : 'load and restart lived, 0 OOM kills';
  row(S, `lives under a ${fmt.bytes(EXPORTER_MEMORY_LIMIT)} memory limit`, what, `chart limit ${CHART_MEMORY_LIMIT}`, '', 'lives', !ended && !restartEnded);
}

// ---------------------------------------------------------------------------------------------
// 8. Operator routes flooded (issue 21)

const OPERATOR_COMPONENTS = 10_000;
const FLOOD_CONNECTIONS = 16;
const WEBHOOK_SENDERS = 4;

/** The issue's default configuration: one port, WEBHOOK_TOKEN set, 10k declared components. */
function operatorPagesFile(dir) {
  const file = join(dir, 'status-pages.yaml');
  const lines = [`status_pages:`, `  - id: ${PAGE}`, `    components:`];
  for (let i = 0; i < OPERATOR_COMPONENTS; i += 1) lines.push(`      - uuid: ${componentUuid(i)}`, `        name: ${componentName(i)}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * Webhooks from WEBHOOK_SENDERS senders, one in flight each, until `until` resolves: impact
 * changes of the declared components with ever newer times, so each must be answered `applied`.
 */
async function sendWebhooks(url, until, sequence) {
  const latencies = [];
  let stop = false;
  void until.then(() => (stop = true));
  const sender = async () => {
    while (!stop) {
      const n = sequence.next++;
      const body = `{"meta":{"type":"component_impact_updated","uuid":"${componentUuid(n % OPERATOR_COMPONENTS)}","impact":"${IMPACTS[n % IMPACTS.length]}","created_at":"${isoTime(T0 + n)}","status_page":"${PAGE}"}}`;
      const response = await request(`${url}/webhook`, { method: 'POST', headers: webhookHeaders, body });
      const status = response.status === 200 ? JSON.parse(response.body.toString('utf8')).status : `${response.status}`;
      if (status !== 'applied') failures.push(`operator flood: a webhook answered ${status}`);
      else {
        sequence.applied += 1;
        latencies.push(response.ms);
      }
    }
  };
  await Promise.all(Array.from({ length: WEBHOOK_SENDERS }, sender));
  return Float64Array.from(latencies).sort();
}

/**
 * The flood, from a process of its own: read in the bench process, megabytes of answers per
 * second would slow the webhook senders' own event loop, and their latencies would measure it.
 */
function floodInChild(url, target) {
  const script = `
    import { runLoad } from ${JSON.stringify(new URL('./lib/load.mjs', import.meta.url).href)};
    const target = JSON.parse(process.argv[1]);
    const result = await runLoad({ url: ${JSON.stringify(url)}, connections: ${FLOOD_CONNECTIONS}, duration: ${DURATION}, warmup: 0,
      requests: (target.paths ?? [target.path]).map((path) => ({ method: target.method, path, headers: target.headers, ...(target.body ? { body: target.body } : {}) })) });
    process.stdout.write(JSON.stringify(result));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(target)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), (DURATION + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`flood of ${target.name} exited with ${code}`));
    });
  });
}

async function operatorFloodOnce(url, target, sequence) {
  const flood = floodInChild(url, target);
  const latencies = await sendWebhooks(url, flood, sequence);
  const load = await flood;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), webhooks: latencies.length, floodOk: load.ok, floodRefused: load.non2xx };
}

async function operatorFlood() {
  const dir = tempDir();
  // The default limits: the bench's lifted ones let two runs' dedup records outgrow the chart's
  // memory limit (the kernel killed it in run 2), and no webhook here is sent twice.
  const exporter = await startExporter(join(dir, 'operator.db'), { ...(await defaultLimitsEnv()), STATUS_PAGES_FILE: operatorPagesFile(dir) });
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const targets = [
    { name: 'GET /healthz', method: 'GET', path: '/healthz', headers: {} },
    { name: 'GET / (anonymous)', method: 'GET', path: '/', headers: {}, anonymous: true },
    { name: 'GET /api/v1/state (anonymous)', method: 'GET', path: '/api/v1/state', headers: {}, anonymous: true },
    { name: 'POST /-/reload (anonymous)', method: 'POST', path: '/-/reload', headers: {}, anonymous: true },
    { name: 'POST /-/reload text/plain (CSRF)', method: 'POST', path: '/-/reload', headers: { 'Content-Type': 'text/plain' }, body: 'x', anonymous: true },
    // Anyone may scrape: the flood gets its answers, and pays for them with its wait (SCRAPE_PAUSE_FACTOR).
    { name: 'GET /metrics (anonymous)', method: 'GET', path: '/metrics', headers: {}, scrapes: true },
    { name: 'GET / (token)', method: 'GET', path: '/', headers: auth },
    { name: 'GET /api/v1/state (token)', method: 'GET', path: '/api/v1/state', headers: auth },
    // Reports over the ledger's whole 400 days, each connection asking 16 of them in turn: none
    // is the one answer the route keeps, so every one is computed, in one go (SlotPacing.restAfterEvery).
    {
      name: 'GET /api/v1/availability (token, 16 queries)',
      method: 'GET',
      paths: Array.from({ length: 16 }, (_, day) => `/api/v1/availability?from=${new Date(Date.now() - (399 - day) * 86_400_000).toISOString().slice(0, 10)}`),
      headers: auth,
    },
    { name: 'POST /-/reload (token, unchanged file)', method: 'POST', path: '/-/reload', headers: auth },
  ];
  const sequence = { next: 0, applied: 0 };
  const results = new Map(targets.map((t) => [t.name, []]));
  try {
    for (let run = 1; run <= RUNS; run += 1) {
      for (const target of targets) {
        const r = await operatorFloodOnce(exporter.url, target, sequence);
        results.get(target.name).push(r);
        log(
          `operator run ${run}: ${target.name} flooded (${r.floodOk} 2xx, ${r.floodRefused} refused): ${r.webhooks} webhooks, p50 ${fmt.ms(r.p50)} p99 ${fmt.ms(r.p99)}`,
        );
      }
    }
    // Every webhook answered `applied` is in the counters: none acknowledged was lost.
    const samples = await metricsSamples(exporter.url);
    const applied = sumOf(samples, 'statusmate_webhook_requests_total', (k) => k.includes('outcome="applied"'));
    if (applied !== sequence.applied) failures.push(`operator flood: ${sequence.applied} webhooks answered applied, counters say ${applied}`);
    row(`8 operator routes flooded`, 'webhooks applied = counted', `${sequence.applied} / ${applied}`, '', '', 'equal', applied === sequence.applied);
    const peak = await rssBytes(exporter.pid, 'VmHWM');
    row(
      `8 operator routes flooded`,
      'exporter RSS peak (VmHWM)',
      fmt.bytes(peak),
      `limit ${EXPORTER_MEMORY_LIMIT === null ? 'none' : fmt.bytes(EXPORTER_MEMORY_LIMIT)}`,
      '',
      '',
      undefined,
    );
  } finally {
    await exporter.stop();
  }
  const S = `8 operator routes flooded (${FLOOD_CONNECTIONS} conn, ${DURATION} s, ${WEBHOOK_SENDERS} webhook senders)`;
  const p50Of = (name) => median(results.get(name).map((r) => r.p50));
  const base = p50Of('GET /healthz');
  const answeredOf = (name) => median(results.get(name).map((r) => r.webhooks));
  for (const target of targets) {
    const p50 = p50Of(target.name);
    const webhooks = answeredOf(target.name);
    const p99 = median(results.get(target.name).map((r) => r.p99));
    const value = `webhook p50 ${fmt.ms(p50)}, p99 ${fmt.ms(p99)} (${webhooks} answered)`;
    if (target.name === 'GET /healthz') row(S, target.name, value, '', '', '', undefined);
    else if (target.scrapes) {
      // Scrapes are answered, so their cost is the webhooks' throughput beside them, not a refusal's.
      const ratio = webhooks / answeredOf('GET /healthz');
      const scraped = median(results.get(target.name).map((r) => r.floodOk));
      row(
        S,
        target.name,
        `${value}; ${scraped} scrapes`,
        `/healthz flood ${answeredOf('GET /healthz')} answered`,
        fmt.ratio(ratio),
        '≥ 0.9× /healthz answered',
        ratio >= 0.9,
      );
    } else
      row(
        S,
        target.name,
        value,
        `/healthz flood ${fmt.ms(base)}`,
        fmt.ratio(p50 / base),
        target.anonymous ? '≤ 3× /healthz' : '',
        target.anonymous ? p50 <= 3 * base : undefined,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// 9. The availability ledger (issue 20): in-process, on the built modules.
//
// statusmate_component_impact_seconds_total is rendered at every scrape (its open intervals grow
// with the clock), so its cost is paid by every scrape, cached or not: timed at 10k components
// with every component through all 5 known impacts (5 series each, the family's worst case), the
// render alone and with the deflate a gzip scrape adds. Then the ledger's memory and snapshot
// bytes at 10k components × 400 days, at worst (a row for every day: every component down part
// of every day) and realistic (an episode on one day in 20).

const LEDGER_COMPONENTS = 10_000;
const LEDGER_DAYS = 400;

async function ledgerCosts() {
  const { deflateRawSync } = await import('node:zlib');
  const { reduce, DEFAULT_LIMITS } = await import('../dist/domain/reducer.js');
  const { applyPatch, createState } = await import('../dist/domain/state.js');
  const { DomainMetrics } = await import('../dist/metrics/domain.js');
  const S = `9 ledger (${LEDGER_COMPONENTS / 1000}k components)`;

  // The scrape: 10k components, each through the 4 other impacts and back, a minute apart.
  const state = createState();
  const limits = { ...DEFAULT_LIMITS, maxComponents: LEDGER_COMPONENTS };
  let t = T0;
  for (const impact of ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance', 'operational']) {
    t += 60;
    for (let n = 0; n < LEDGER_COMPONENTS; n += 1) {
      const event = {
        type: 'component_impact_updated',
        statusPage: PAGE,
        uuid: componentUuid(n),
        name: componentName(n),
        impact,
        createdAt: t,
        deliveryAttempt: 0,
      };
      applyPatch(state, reduce(state, event, `${n}:${t}`, t + 1, limits).patch);
    }
  }
  const metrics = new DomainMetrics(state);
  metrics.text();
  const renders = [];
  const deflates = [];
  let body = Buffer.alloc(0);
  for (let i = 0; i < SCRAPES; i += 1) {
    // As /metrics does: into memory lent until the response is sent.
    const started = performance.now();
    const lent = metrics.impactSecondsParts(t + 100 + i, 'text');
    renders.push(performance.now() - started);
    // A gzip scrape compresses the open lines (the last part); the fixed ones are compressed once per state version.
    const zipped = performance.now();
    deflateRawSync(lent.parts.at(-1));
    deflates.push(performance.now() - zipped);
    if (i === SCRAPES - 1) body = Buffer.concat(lent.parts);
    lent.release();
  }
  const firstStarted = performance.now();
  applyPatch(
    state,
    reduce(
      state,
      {
        type: 'component_impact_updated',
        statusPage: PAGE,
        uuid: componentUuid(0),
        name: componentName(0),
        impact: 'major_outage',
        createdAt: t + 200,
        deliveryAttempt: 0,
      },
      'last',
      t + 201,
      limits,
    ).patch,
  );
  metrics.impactSeconds(t + 300);
  const afterChange = performance.now() - firstStarted;
  const series = body
    .toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('statusmate_component_impact_seconds_total{')).length;
  row(
    S,
    `impact seconds family: render per scrape, median / p99 (${series.toLocaleString('en-US')} series)`,
    `${fmt.ms(median(renders))} / ${fmt.ms(percentile(Float64Array.from(renders).sort(), 99))}`,
    '',
    '',
    '≤ 15 ms',
    median(renders) <= 15,
  );
  row(S, 'impact seconds family: + deflate of its open lines (a gzip scrape), median', fmt.ms(median(renders) + median(deflates)), '', '', '', undefined);
  row(S, 'impact seconds family: first scrape after an event', fmt.ms(afterChange), '', '', '', undefined);
  row(S, 'impact seconds family: body plain / deflated', `${fmt.bytes(body.length)} / ${fmt.bytes(deflateRawSync(body).length)}`, '', '', '', undefined);

  // Memory and store bytes at 10k × 400 days, each in a fresh process (bench/ledger-memory.mjs).
  for (const [name, everyDays] of [
    ['worst: down part of every day', 1],
    ['realistic: an episode one day in 20', 20],
  ]) {
    const child = spawn(
      process.execPath,
      ['--expose-gc', join(import.meta.dirname, 'ledger-memory.mjs'), String(LEDGER_COMPONENTS), String(LEDGER_DAYS), String(everyDays)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    if (code !== 0) {
      failures.push(`ledger memory (${name}) exited ${code}`);
      continue;
    }
    const m = JSON.parse(out);
    const T = `${name}, ${LEDGER_DAYS} days`;
    row(S, `${T}: day rows / typed-array bytes + 200 B a component`, `${m.rows.toLocaleString('en-US')} / ${fmt.bytes(m.estimate)}`, '', '', '', undefined);
    row(
      S,
      `${T}: heap + array buffers / RSS added`,
      `${fmt.bytes(m.measured)} / ${fmt.bytes(m.rss)}`,
      '',
      '',
      '≤ 128 MiB (chart limit 256Mi)',
      m.measured <= 128 * MB,
    );
    row(S, `${T}: snapshot bytes (what every store keeps)`, fmt.bytes(m.snapshot), '', '', '', undefined);
    row(
      S,
      `${T}: after the fold's pruning at LEDGER_MAX_DAY_ROWS (default): rows / heap + array buffers / days kept`,
      `${m.boundedRows.toLocaleString('en-US')} / ${fmt.bytes(m.boundedHeap)} / ${m.keptDays}`,
      '',
      '',
      '≤ 32 MiB',
      m.boundedHeap <= 32 * MB,
    );
    row(
      S,
      `${T}: build / encode / decode / prune`,
      `${fmt.ms(m.buildMs)} / ${fmt.ms(m.encodeMs)} / ${fmt.ms(m.decodeMs)} / ${fmt.ms(m.pruneMs)}`,
      '',
      '',
      '',
      undefined,
    );
    row(S, `${T}: GET /api/v1/availability (30 days, all components)`, fmt.ms(m.reportMs), '', '', '', undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// 10 Idle CPU: what the chart's autoscaler floor rests on

/** The chart's liveness and readiness probes (every 10 s) and a Prometheus scrape (every 30 s), as a pod with no webhooks gets them. */
async function idleTraffic(url, stop) {
  let tick = 0;
  while (!stop.done) {
    if (tick % 3 === 0) await request(`${url}/metrics`, { headers: { 'accept-encoding': 'gzip' } });
    await request(`${url}/healthz`);
    await request(`${url}/readyz`);
    tick += 1;
    for (let waited = 0; waited < 10_000 && !stop.done; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Millicores an exporter uses with no webhooks, all threads and the main thread, over IDLE_SECONDS after as long to settle. */
async function idleMillicores(exporter) {
  const stop = { done: false };
  const traffic = idleTraffic(exporter.url, stop);
  try {
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const before = cpuSeconds(exporter.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const after = cpuSeconds(exporter.pid);
    return { all: ((after.all - before.all) * 1000) / IDLE_SECONDS, main: ((after.main - before.main) * 1000) / IDLE_SECONDS };
  } finally {
    stop.done = true;
    await traffic;
  }
}

async function idleCpu() {
  const S = '10 idle CPU';
  const T = `no webhooks, probes every 10 s, a scrape every 30 s (${IDLE_SECONDS} s)`;
  const judge = (m) => m.all < 20;
  const target = '< 20m (the chart autoscaler’s least target share)';
  const sqlite = await startExporter(join(tempDir(), 'idle.db'));
  try {
    const m = await idleMillicores(sqlite);
    log(`idle: SQLite ${m.all.toFixed(1)}m all threads, ${m.main.toFixed(1)}m main`);
    row(S, `SQLite, ${T}: all threads / main`, `${m.all.toFixed(1)}m / ${m.main.toFixed(1)}m`, '', '', target, judge(m));
  } finally {
    await sqlite.stop();
  }
  if (!redisServerPath()) {
    log('idle: redis-server not found; the Redis replica row skipped');
    return;
  }
  const redis = await startRedis();
  try {
    const replica = await startReplica(redis.url, 'idle:');
    try {
      const m = await idleMillicores(replica);
      log(`idle: Redis replica ${m.all.toFixed(1)}m all threads, ${m.main.toFixed(1)}m main`);
      row(S, `Redis replica, ${T}: all threads / main`, `${m.all.toFixed(1)}m / ${m.main.toFixed(1)}m`, '', '', target, judge(m));
    } finally {
      await replica.stop();
    }
  } finally {
    await redis.stop();
  }
}

// ---------------------------------------------------------------------------------------------

try {
  log(
    `bench: ${RUNS} runs, ${DURATION} s measured after ${WARMUP} s warm-up, ${CONNECTIONS} connections, SQLITE_SYNCHRONOUS=${process.env.BENCH_SYNCHRONOUS ?? 'normal'}`,
  );
  if (ONLY.has('ingest') || ONLY.has('storm')) await ingestAndStorm();
  if (ONLY.has('scrape')) await scrapeMemoryStartup();
  if (ONLY.has('reducer')) await reducerScaling();
  if (ONLY.has('matchers')) await matcherCosts();
  if (ONLY.has('redis')) await redisReplicas();
  if (ONLY.has('fat')) await fatIncidents();
  if (ONLY.has('busy')) await busyComponents();
  if (ONLY.has('operator')) await operatorFlood();
  if (ONLY.has('ledger')) await ledgerCosts();
  if (ONLY.has('idle')) await idleCpu();
} catch (error) {
  failures.push(`bench aborted: ${error instanceof Error ? error.stack : String(error)}`);
} finally {
  closeAgent();
  killAll();
}

console.log(
  `\nstatusmate-exporter bench — medians of ${RUNS} runs, node ${process.version}, ${(await import('node:os')).cpus().length} CPUs, loopback 127.0.0.1, ${CONNECTIONS} connections, ${DURATION} s after ${WARMUP} s warm-up`,
);
printTable();
const counted = rows.find((r) => r.figure === 'counters = distinct events');
if (counted?.pass === true) console.log(`\ncounters match: ${counted.value.replace(/^match \((.*)\)$/, '$1')} events`);
console.log(`\ntotal ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
if (failures.length > 0) {
  console.error(`\nbench FAILED:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
