import { mkdtempSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startExporter, type Running } from '../server.js';
import { secondSignal } from '../signals.js';
import { webhookUrl } from './deliver.js';
import { UsageError, type Io } from './io.js';
import { formatSummary, readRecording, replayBodies } from './replay.js';

// `npm run demo`: an exporter on a temporary store with the example inventory, the example day
// replayed into it, and where to look. It runs until Ctrl-C, then removes its store.

export const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
export const DEMO_TOKEN = 'demo-token';
export const DEMO_ACME_TOKEN = 'demo-acme-token';

/** How long before now the day's last event is dated. */
export const DEMO_LAST_EVENT_AGO_SECONDS = 10 * 60;

const isTimeKey = (key: string) => key.endsWith('_at');

/** The latest `meta.created_at` of the bodies, in Unix milliseconds; undefined when none has one. */
function latestCreatedAt(bodies: readonly Record<string, unknown>[]): number | undefined {
  let latest: number | undefined;
  for (const body of bodies) {
    const meta = body.meta as Record<string, unknown> | undefined;
    const at = typeof meta?.created_at === 'string' ? Date.parse(meta.created_at) : NaN;
    if (!Number.isNaN(at) && (latest === undefined || at > latest)) latest = at;
  }
  return latest;
}

/** The earliest `meta.created_at` of the bodies, in Unix milliseconds (Infinity when none has one). */
function earliestCreatedAt(bodies: readonly Record<string, unknown>[]): number {
  let earliest = Infinity;
  for (const body of bodies) {
    const meta = body.meta as Record<string, unknown> | undefined;
    const at = typeof meta?.created_at === 'string' ? Date.parse(meta.created_at) : NaN;
    if (!Number.isNaN(at) && at < earliest) earliest = at;
  }
  return earliest;
}

function shifted(value: unknown, offsetMs: number, key = ''): unknown {
  if (typeof value === 'string' && isTimeKey(key)) {
    const at = Date.parse(value);
    return Number.isNaN(at) ? value : new Date(at + offsetMs).toISOString();
  }
  if (Array.isArray(value)) return value.map((item) => shifted(item, offsetMs));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shifted(v, offsetMs, k)]));
  return value;
}

/**
 * The recorded day moved in time so that its last event happened DEMO_LAST_EVENT_AGO_SECONDS
 * before `nowMs`: every `*_at` time moves by the same amount, so the order, the gaps and what is
 * still scheduled stay as recorded, while the landing page reads "2 h ago" instead of a date that
 * gets older every day.
 */
export function dayEndingNow(bodies: readonly Record<string, unknown>[], nowMs: number): Record<string, unknown>[] {
  const latest = latestCreatedAt(bodies);
  if (latest === undefined) return [...bodies];
  const offsetMs = nowMs - DEMO_LAST_EVENT_AGO_SECONDS * 1000 - latest;
  return bodies.map((body) => shifted(body, offsetMs) as Record<string, unknown>);
}

const ACME = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const PAYMENTS = '6b2f4e1a-8c3d-4a5b-9e7f-1d2c3b4a5f60';
const COMPONENTS: Record<string, [string, string]> = {
  API: [ACME, '88337a51-852b-48f3-ac8d-840e5f5326a0'],
  Website: [ACME, '5f844cb4-32f8-43eb-aa3d-99c925d8fffe'],
  Checkout: [ACME, '3d1c6a8e-9f0b-4c7e-8a51-2b7e4f6d9c10'],
  'Card processing': [PAYMENTS, 'a1e5c7d9-2b4f-4e6a-8c0d-3f5b7d9e1a2c'],
  Payouts: [PAYMENTS, 'b2f6d8ea-3c5a-4f7b-9d1e-4a6c8eaf2b3d'],
  'Merchant webhooks': [PAYMENTS, 'c3a7e9fb-4d6b-4a8c-8e2f-5b7d9fb03c4e'],
};

/** The month's episodes: component, days before the end, hour (UTC) it began, minutes it lasted, impact. */
const EPISODES: [string, number, number, number, string][] = [
  ['Payouts', 27, 9, 70, 'partial_outage'],
  ['API', 23, 14, 42, 'major_outage'],
  ['Card processing', 20, 2, 240, 'degraded_performance'],
  ['Website', 17, 19, 125, 'partial_outage'],
  ['API', 12, 6, 180, 'degraded_performance'],
  ['Checkout', 9, 1, 90, 'under_maintenance'],
  ['Merchant webhooks', 6, 11, 360, 'degraded_performance'],
  ['Card processing', 5, 16, 15, 'major_outage'],
  ['Website', 3, 8, 30, 'degraded_performance'],
  ['API', 2, 21, 25, 'partial_outage'],
];

/**
 * A month of history before `endMs` (the first event of the replayed day), so that the landing
 * page's bars and GET /api/v1/availability have something to show: every component operational
 * from 31 days before, then the EPISODES, each a component_impact_updated into its impact and one
 * back to operational, with created_at in the past (the ledger books them at those times).
 */
export function demoMonth(endMs: number): Record<string, unknown>[] {
  const dayStart = Math.floor(endMs / 86_400_000) * 86_400_000;
  const update = (name: string, impact: string, atMs: number) => {
    const [page, uuid] = COMPONENTS[name] as [string, string];
    return {
      at: atMs,
      body: { text: name, meta: { title: name, uuid, type: 'component_impact_updated', impact, created_at: new Date(atMs).toISOString(), status_page: page } },
    };
  };
  const events = Object.keys(COMPONENTS).map((name, index) => update(name, 'operational', dayStart - 31 * 86_400_000 + index * 60_000));
  for (const [name, daysBefore, hour, minutes, impact] of EPISODES) {
    const start = dayStart - daysBefore * 86_400_000 + hour * 3_600_000;
    events.push(update(name, impact, start), update(name, 'operational', start + minutes * 60_000));
  }
  return events
    .filter((event) => event.at < endMs)
    .sort((a, b) => a.at - b.at)
    .map((event) => event.body);
}

export async function demo(args: string[], io: Io): Promise<void> {
  if (args.length > 0) throw new UsageError('demo takes no arguments (PORT chooses its port)');
  // Ctrl-C, a kill, and a closed terminal or SSH session (SIGHUP) end the demo and remove its
  // store. Without a handler each ends the process on the spot, leaving the store behind in the
  // temp directory: so they are handled from before that directory exists. The handler runs on
  // the event loop, after the exporter has begun to start; it waits for that start to settle.
  const run: { starting?: Promise<Running>; dir?: string; stopping: boolean } = { stopping: false };
  const repeated = secondSignal();
  const stop = (signal: NodeJS.Signals) => {
    if (run.stopping) {
      if (!repeated.isSecond()) return; // the first one again (npx forwards the terminal's Ctrl-C)
      // A second one means "now", not "after the requests in flight" (a client that never
      // finishes its request would hold the demo forever). Node's default, once the first
      // handler was gone, killed it and left the store in the temp directory.
      if (run.dir !== undefined) rmSync(run.dir, { recursive: true, force: true });
      io.err(`demo stopped at once (second ${signal}) without waiting for requests in flight; its store is removed`);
      process.exit(128 + osConstants.signals[signal]);
    }
    run.stopping = true;
    repeated.first();
    void (run.starting ?? Promise.resolve(undefined))
      .then(
        (exporter) => exporter?.close(),
        () => undefined,
      )
      .finally(() => {
        if (run.dir !== undefined) rmSync(run.dir, { recursive: true, force: true });
        process.exit(0);
      });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  const dir = mkdtempSync(join(tmpdir(), 'statusmate-demo-'));
  run.dir = dir;
  const database = join(dir, 'demo.db');
  let config;
  try {
    config = loadConfig({
      HOST: '127.0.0.1',
      PORT: process.env.PORT ?? '9877',
      SQLITE_PATH: database,
      STATUS_PAGES_FILE: join(EXAMPLES, 'status-pages.yaml'),
      WEBHOOK_TOKEN: DEMO_TOKEN,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  // The exporter's log goes to stderr, so that stdout is the demo's own story.
  const logger = createLogger(config.logLevel, pino.destination(2));
  const starting = startExporter(config, logger, { ...process.env, ACME_WEBHOOK_TOKEN: DEMO_ACME_TOKEN });
  run.starting = starting;
  let running;
  try {
    running = await starting;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    // listen() wraps the socket's error in a ConfigError, its cause.
    const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
    if (cause?.code === 'EADDRINUSE') throw new UsageError(`port ${config.port} is in use: choose another, as in PORT=9878 npm run demo`);
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const exporter = running;
  if (run.stopping) return;

  const base = `http://127.0.0.1:${exporter.address.port}`;
  io.out(`statusmate-exporter demo: listening on ${base}, store ${database}`);
  const day = dayEndingNow(readRecording(join(EXAMPLES, 'statusmate-day.jsonl')), Date.now());
  const retry = { attempts: 5, baseDelayMs: 200 };
  const month = await replayBodies(
    demoMonth(latestCreatedAt(day) === undefined ? Date.now() : earliestCreatedAt(day)),
    webhookUrl(base),
    DEMO_TOKEN,
    retry,
    io,
  );
  io.out(`replayed a month of history before it: ${formatSummary(month)}`);
  const summary = await replayBodies(day, webhookUrl(base), DEMO_TOKEN, retry, io);
  io.out(`replayed examples/statusmate-day.jsonl: ${formatSummary(summary)}`);
  io.out(`
Where to look (the landing page and the state API take the token on the webhook port):
${whereToLook([
  [`${base}/?token=${DEMO_TOKEN}`, 'the landing page: both status pages, their components, incidents, maintenances, recent deliveries'],
  [`${base}/metrics`, 'what Prometheus scrapes'],
  [`${base}/api/v1/state?token=${DEMO_TOKEN}`, 'the same state as JSON (docs/api.md)'],
  [`${base}/api/v1/availability?token=${DEMO_TOKEN}&format=csv`, "the last 30 days' availability, for an SLA report"],
])}

Send one more event (the page token opens the acme page only; ${DEMO_TOKEN} opens every page):
  node dist/cli.js send --url ${base} --token ${DEMO_ACME_TOKEN} --status-page acme \\
    --type component_impact_updated --component 5f844cb4-32f8-43eb-aa3d-99c925d8fffe --impact major_outage --title Website

Dashboards: point a Prometheus at ${base}/metrics (job_name: statusmate-exporter, see the README),
then in Grafana import grafana/dashboards/statusmate-overview.json and statusmate-exporter-health.json.

Ctrl-C stops the demo and removes its store.`);
}

/** URLs and what each shows, in two columns: the URLs' length depends on the port and the token. */
function whereToLook(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([url]) => url.length));
  return rows.map(([url, what]) => `  ${url.padEnd(width)}   ${what}`).join('\n');
}
