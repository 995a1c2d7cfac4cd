import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Apps } from '../../src/app.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/domain/reducer.js';
import { assemble, storeBackend, type Backend } from '../../src/exporter.js';
import type { Overlay } from '../../src/ingest/ingestor.js';
import type { EventSink } from '../../src/ingest/sink.js';
import { LiveInventory } from '../../src/inventory/live.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { MemoryStore } from '../../src/store/memory.js';
import { HealthTrackingStore } from '../../src/store/health-tracking.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
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
  /** The store, when the app was built on one (not given `backend`). */
  store: Store;
  ingestor: EventSink;
  inventory: LiveInventory;
  logs: LogCapture;
  /** How many patches were committed since the app was built (0: the state is as loaded). */
  commits(): number;
  close(): Promise<void>;
};

export type TestAppOptions = {
  store?: Store;
  /** Build on the backend this makes (given the app's logger) instead of a store (Redis); `store` is then unused. */
  backend?: (logger: Logger, overlay: Overlay) => Backend | Promise<Backend>;
  tokens?: string[];
  maxBodyBytes?: number;
  maxComponents?: number;
  limits?: Partial<Limits>;
  defaultStatusPage?: string;
  separateMetrics?: boolean;
  /** STATUS_PAGES_FILE. */
  statusPagesFile?: string;
  /** Where the file's `token_env` variables are read. */
  env?: NodeJS.ProcessEnv;
  version?: string;
};

/**
 * The real app, wired as server.ts wires it (prune timer, drain on close), on a real SQLite file
 * in a temp dir unless a store or backend is given.
 */
export async function makeApp(options: TestAppOptions = {}): Promise<TestApp> {
  const logs = new LogCapture();
  const logger = createLogger('debug', logs);
  // Wrapped as src/server.ts wraps it: a failed commit counts against readiness.
  const store = new HealthTrackingStore(options.store ?? new SqliteStore({ path: join(tempDir(), 'test.db'), synchronous: 'normal' }), logger);
  const tokens = options.tokens ?? [];
  const defaultStatusPage = options.defaultStatusPage ?? 'default';
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits, ...(options.maxComponents === undefined ? {} : { maxComponents: options.maxComponents }) };
  const inventory = LiveInventory.load({ file: options.statusPagesFile, env: options.env ?? {}, allPagesTokens: tokens, defaultStatusPage, logger, limits });
  const backend = options.backend ? await options.backend(logger, inventory.overlay) : await storeBackend(store, limits, inventory.overlay);
  const exporter = await assemble(backend, {
    logger,
    webhook: { tokens, maxBodyBytes: options.maxBodyBytes ?? 262_144, defaultStatusPage },
    separateMetrics: options.separateMetrics ?? false,
    retentionSeconds: 7 * 24 * 3600,
    build: { version: options.version ?? 'test', revision: 'test' },
    inventory,
    store: options.backend ? 'redis' : options.store instanceof MemoryStore ? 'memory' : 'sqlite',
  });
  const { state } = exporter;
  // After the overlay of declared pages, which changes memory but commits nothing.
  const loadedVersion = state.version;
  return { ...exporter.apps, store, ingestor: exporter.sink, inventory, logs, commits: () => state.version - loadedVersion, close: () => exporter.close() };
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
