import type { StoreName } from './config.js';
import { createApps, type Apps } from './app.js';
import type { Limits } from './domain/reducer.js';
import type { State } from './domain/state.js';
import { Ingestor, type Overlay } from './ingest/ingestor.js';
import type { EventSink, StoreHealth } from './ingest/sink.js';
import type { LiveInventory } from './inventory/live.js';
import type { Logger } from './logger.js';
import { Telemetry, type BuildInfo } from './metrics/telemetry.js';
import type { Store } from './store/store.js';
import type { WebhookOptions } from './webhook/handler.js';

const PRUNE_INTERVAL_MS = 10 * 60 * 1000;

/**
 * A store with its writer: what the apps need of it. Memory and SQLite are a `Store` behind an
 * `Ingestor`; Redis is a shared log (see RedisLog) that prunes inside its fold.
 */
export type Backend = {
  sink: EventSink;
  health: StoreHealth;
  /** Forgets what the retention no longer requires (as of `now`); absent when the backend prunes by itself. */
  prune?: (now: number, retentionSeconds: number) => Promise<number>;
  /** Rebuilds memory under a new overlay (the status pages file was reloaded). */
  reseed(overlay: Overlay): Promise<void>;
  /** Releases the store; called once, after the sink drained. */
  close(): Promise<void>;
};

/** A Store and its Ingestor, with the state loaded from the store and the overlay of declared pages on it. */
export async function storeBackend(store: Store, limits: Limits, overlay?: Overlay): Promise<Backend> {
  const ingestor = new Ingestor(store, await store.load(), limits, overlay);
  const healthy = () => store.healthy();
  return {
    sink: ingestor,
    health: { up: healthy, ready: healthy },
    prune: (now, retentionSeconds) => ingestor.prune(now, retentionSeconds),
    reseed: (next) => ingestor.reseed(next),
    close: () => store.close(),
  };
}

export type AssembleOptions = {
  logger: Logger;
  webhook: WebhookOptions;
  separateMetrics: boolean;
  retentionSeconds: number;
  build: BuildInfo;
  /** The declared status pages (STATUS_PAGES_FILE): webhook access, the landing page, reloads. */
  inventory: LiveInventory;
  /** The store's name, for the landing page and the state API. */
  store: StoreName;
  /** How often a backend that does not prune by itself is pruned (default ten minutes). */
  pruneIntervalMs?: number;
};

export type Assembled = {
  apps: Apps;
  state: State;
  sink: EventSink;
  health: StoreHealth;
  /** Stops pruning, waits for every event accepted to be answered, then closes the backend. Call after the servers stopped. */
  close(): Promise<void>;
};

/**
 * Wires a backend into the HTTP apps, with telemetry and the prune timer: the one place that
 * does, used by server.ts and by the tests' app helper alike. Never listens.
 */
export async function assemble(backend: Backend, options: AssembleOptions): Promise<Assembled> {
  const { logger } = options;
  const telemetry = new Telemetry(backend.health, options.build);
  let pruneTimer: NodeJS.Timeout | undefined;
  if (backend.prune) {
    const pruneBackend = backend.prune;
    const prune = async () => {
      try {
        const forgotten = await pruneBackend(Date.now() / 1000, options.retentionSeconds);
        if (forgotten > 0) logger.info({ forgotten }, 'pruned finished objects and dedup records past retention');
      } catch (error) {
        logger.error({ err: error }, 'pruning failed; will try again');
      }
    };
    await prune();
    pruneTimer = setInterval(() => void prune(), options.pruneIntervalMs ?? PRUNE_INTERVAL_MS);
    pruneTimer.unref();
  }
  options.inventory.attach((overlay) => backend.reseed(overlay));
  const apps = createApps(
    {
      logger,
      health: backend.health,
      ingestor: backend.sink,
      telemetry,
      webhook: options.webhook,
      inventory: options.inventory,
      about: { version: options.build.version, store: options.store },
    },
    { separateMetrics: options.separateMetrics },
  );
  let closing: Promise<void> | undefined;
  return {
    apps,
    state: backend.sink.state,
    sink: backend.sink,
    health: backend.health,
    close() {
      closing ??= (async () => {
        clearInterval(pruneTimer);
        await backend.sink.drain();
        await backend.close();
      })();
      return closing;
    },
  };
}
