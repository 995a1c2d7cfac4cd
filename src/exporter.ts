import type { StoreName } from './config.js';
import { createApps, type Apps } from './app.js';
import type { Limits } from './domain/reducer.js';
import type { State } from './domain/state.js';
import type { EventSink, StoreHealth } from './ingest/sink.js';
import type { LiveInventory } from './inventory/live.js';
import { FoldLoop, type SnapshotPolicy } from './log/fold-loop.js';
import type { Logger } from './logger.js';
import { Telemetry, type BuildInfo } from './metrics/telemetry.js';
import type { LogStore } from './store/store.js';
import type { WebhookOptions } from './webhook/handler.js';

export type AssembleOptions = {
  logger: Logger;
  /** The log and its snapshot: memory, SQLite or Redis. Not yet opened; closed by `close`. */
  store: LogStore;
  limits: Limits;
  retentionSeconds: number;
  webhook: WebhookOptions;
  separateMetrics: boolean;
  build: BuildInfo;
  /** The declared status pages (STATUS_PAGES_FILE): webhook access, the landing page, reloads. */
  inventory: LiveInventory;
  /** The store's name, for the landing page and the state API. */
  storeName: StoreName;
  /** How long an event may wait for its append and fold before it is answered 503. */
  answerTimeoutMs?: number;
  snapshots?: Partial<SnapshotPolicy>;
  pruneWindowSeconds?: number;
};

export type Assembled = {
  apps: Apps;
  state: State;
  sink: EventSink;
  health: StoreHealth;
  fold: FoldLoop;
  /** Answers every event accepted, writes a last snapshot, closes the store. Call after the servers stopped. */
  close(): Promise<void>;
};

/**
 * Wires a store into the fold loop and the HTTP apps, with telemetry: the one place that does,
 * used by server.ts and by the tests' app helper alike. Opens the store (rejecting with a
 * StoreError when it cannot be served at all) and loads the state. Never listens.
 */
export async function assemble(options: AssembleOptions): Promise<Assembled> {
  const { logger, inventory } = options;
  const fold = new FoldLoop({
    store: options.store,
    limits: options.limits,
    retentionSeconds: options.retentionSeconds,
    logger,
    overlay: inventory.overlay,
    ...(options.answerTimeoutMs === undefined ? {} : { answerTimeoutMs: options.answerTimeoutMs }),
    ...(options.snapshots === undefined ? {} : { snapshots: options.snapshots }),
    ...(options.pruneWindowSeconds === undefined ? {} : { pruneWindowSeconds: options.pruneWindowSeconds }),
  });
  await fold.start();
  inventory.attach((overlay) => fold.reseed(overlay));
  const telemetry = new Telemetry(fold, options.build, () => fold.stats());
  const apps = createApps(
    {
      logger,
      health: fold,
      ingestor: fold,
      telemetry,
      webhook: options.webhook,
      inventory,
      about: { version: options.build.version, store: options.storeName },
    },
    { separateMetrics: options.separateMetrics },
  );
  return { apps, state: fold.state, sink: fold, health: fold, fold, close: () => fold.close() };
}
