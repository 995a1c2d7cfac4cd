import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Apps } from '../../src/app.js';
import request from 'supertest';
import { afterEach } from 'vitest';
import type { AlertLimits } from '../../src/domain/alert-state.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/domain/reducer.js';
import { assemble } from '../../src/exporter.js';
import type { EventSink } from '../../src/ingest/sink.js';
import { LiveInventory, type LiveInventoryOptions } from '../../src/inventory/live.js';
import type { FoldLoop } from '../../src/log/fold-loop.js';
import type { SnapshotPolicy } from '../../src/log/snapshot-policy.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import type { LogStore } from '../../src/store/store.js';
import type { BodyBudget } from '../../src/webhook/body-budget.js';
import { isSharedStateSample } from '../../src/metrics/names.js';

export const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

export const tempDir = (prefix = 'statusmate-test-') => mkdtempSync(join(tmpdir(), prefix));

/** A pino destination that keeps every JSON line, for asserting on logs. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }
}

export type TestApp = Apps & {
  store: LogStore;
  fold: FoldLoop;
  ingestor: EventSink;
  inventory: LiveInventory;
  logs: LogCapture;
  /** How many changes the fold applied since the app was built (0: the state is as loaded). */
  commits(): number;
  /** What the exporter's close does first, before its servers close (Assembled.beginShutdown). */
  beginShutdown(): void;
  close(): Promise<void>;
  /** The request bodies the app holds at once. */
  bodies: BodyBudget;
};

export type TestAppOptions = {
  /** The store, or what makes it given the app's logger; default: a SQLite file in a temp dir. */
  store?: LogStore | ((logger: Logger) => LogStore);
  tokens?: string[];
  maxBodyBytes?: number;
  /** The bytes of request bodies held at once (default: the exporter's). */
  bodiesInFlightBytes?: number;
  maxComponents?: number;
  limits?: Partial<Limits>;
  defaultStatusPage?: string;
  separateMetrics?: boolean;
  /** STATUS_PAGES_FILE. */
  statusPagesFile?: string;
  /** LEARN_STATUS_PAGES. */
  learnStatusPages?: boolean;
  /** Where the file's `token_env` variables are read. */
  env?: NodeJS.ProcessEnv;
  version?: string;
  answerTimeoutMs?: number;
  snapshots?: Partial<SnapshotPolicy>;
  /** FINISHED_RETENTION_SECONDS (default 7 days). */
  retentionSeconds?: number;
  pruneWindowSeconds?: number;
  /** ALERTMANAGER_WEBHOOK_TOKEN's tokens (default none: POST /alertmanager answers 404). */
  alertmanagerTokens?: string[];
  alertLimits?: Partial<AlertLimits>;
  /** The most bytes one availability answer takes (default MAX_ANSWER_BYTES). */
  availabilityMaxBytes?: number;
  /** The parser of a reload (default: off the main thread, as the exporter); a drill of many reloads takes parseInventory's. */
  inventoryParse?: LiveInventoryOptions['parse'];
  /** Where GET /-/backup writes a copy of a store that is not one file (as server.ts: beside SQLITE_PATH); default none. */
  backupDirectory?: string;
};

/** A SQLite log on a new file in a temp dir. */
export const sqliteStore = (path = join(tempDir(), 'test.db')) => new SqliteLog({ path, synchronous: 'normal' });

/** The real app, wired by the same assemble() as server.ts, on a real SQLite file unless a store is given. */
export async function makeApp(options: TestAppOptions = {}): Promise<TestApp> {
  const logs = new LogCapture();
  const logger = createLogger('debug', logs);
  const store = typeof options.store === 'function' ? options.store(logger) : (options.store ?? sqliteStore());
  const tokens = options.tokens ?? [];
  const defaultStatusPage = options.defaultStatusPage ?? 'default';
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits, ...(options.maxComponents === undefined ? {} : { maxComponents: options.maxComponents }) };
  const inventory = LiveInventory.load({
    file: options.statusPagesFile,
    env: options.env ?? {},
    allPagesTokens: tokens,
    defaultStatusPage,
    learnStatusPages: options.learnStatusPages ?? false,
    logger,
    limits,
    ...(options.inventoryParse === undefined ? {} : { parse: options.inventoryParse }),
  });
  const exporter = await assemble({
    logger,
    store,
    limits,
    retentionSeconds: options.retentionSeconds ?? 7 * 24 * 3600,
    webhook: { tokens, maxBodyBytes: options.maxBodyBytes ?? 262_144, defaultStatusPage },
    separateMetrics: options.separateMetrics ?? false,
    build: { version: options.version ?? 'test', revision: 'test' },
    inventory,
    alertReceiver: { tokens: options.alertmanagerTokens ?? [] },
    ...(options.backupDirectory === undefined ? {} : { backupDirectory: options.backupDirectory }),
    ...(options.answerTimeoutMs === undefined ? {} : { answerTimeoutMs: options.answerTimeoutMs }),
    ...(options.bodiesInFlightBytes === undefined ? {} : { bodiesInFlightBytes: options.bodiesInFlightBytes }),
    ...(options.snapshots === undefined ? {} : { snapshots: options.snapshots }),
    ...(options.pruneWindowSeconds === undefined ? {} : { pruneWindowSeconds: options.pruneWindowSeconds }),
    ...(options.alertLimits === undefined ? {} : { alertLimits: options.alertLimits }),
    ...(options.availabilityMaxBytes === undefined
      ? {}
      : { availability: { policy: DEFAULT_POLICY, maxDays: limits.ledgerRetentionDays + 1, maxBytes: options.availabilityMaxBytes } }),
  });
  const { state } = exporter;
  // After the overlay of declared pages, which changes memory but appends nothing.
  const loadedVersion = state.version;
  return {
    ...exporter.apps,
    store,
    fold: exporter.fold,
    ingestor: exporter.sink,
    inventory,
    logs,
    commits: () => state.version - loadedVersion,
    beginShutdown: () => exporter.beginShutdown(),
    bodies: exporter.bodies,
    close: () => exporter.close(),
  };
}

/**
 * The apps a test builds with `start` (`defaults` under its options), closed after the test;
 * `stop` closes one before (a restart), and not again after.
 */
export function appsPerTest(defaults: TestAppOptions = {}): { start: (options?: TestAppOptions) => Promise<TestApp>; stop: (app: TestApp) => Promise<void> } {
  const apps: TestApp[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  return {
    start: async (options = {}) => {
      const app = await makeApp({ ...defaults, ...options });
      apps.push(app);
      return app;
    },
    stop: async (app) => {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
    },
  };
}

/** Polls /readyz until it answers 200. */
export async function whenReady(app: { main: Parameters<typeof request>[0] }, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await request(app.main).get('/readyz');
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`/readyz still answered ${status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The samples of a metrics text whose name starts with `statusmate_` and is not telemetry of this process. */
export function domainSamples(text: string): string[] {
  return text.split('\n').filter(isSharedStateSample);
}

/** The value of one sample, found by name and a set of label matchers. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
