import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApps } from './app.js';
import { ConfigError, limitsOf, type Config } from './config.js';
import { connectionCaps, createBoundedServer, descriptorLimit } from './http/connections.js';
import { Ingestor } from './ingest/ingestor.js';
import { LiveInventory, type ReloadResult } from './inventory/live.js';
import type { Logger } from './logger.js';
import { Telemetry } from './metrics/telemetry.js';
import { HealthTrackingStore } from './store/health-tracking.js';
import { MemoryStore } from './store/memory.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';

const PRUNE_INTERVAL_MS = 10 * 60 * 1000;

export type Running = {
  /** Where the webhook server listens (and `/metrics`, unless METRICS_PORT is set). */
  address: AddressInfo;
  metricsAddress: AddressInfo | undefined;
  /** Reloads STATUS_PAGES_FILE (SIGHUP); a failure keeps the inventory in force. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting connections, lets requests in flight finish, then closes the store. */
  close(): Promise<void>;
};

function openStore(config: Config, logger: Logger): Store {
  const store = config.store === 'memory' ? new MemoryStore() : new SqliteStore({ path: config.sqlitePath, synchronous: config.sqliteSynchronous });
  return new HealthTrackingStore(store, logger);
}

function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Listens, or rejects with a ConfigError naming the variables: a host that does not resolve or
 * is no address of this machine, a port in use or one that needs privileges are all fixed in
 * the environment, and deserve the one-line answer every other bad variable gets.
 */
function listen(server: Server, host: string, port: number, variables: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(new ConfigError(`invalid configuration: ${variables}: cannot listen on ${host}:${port} (${error.code ?? error.message})`));
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Stops accepting connections and waits for the requests in flight. A keep-alive connection
 * becomes idle once its response is sent, and is closed then, so no client holds the shutdown.
 */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Reads the status pages file, opens the store, loads the state and starts the servers. The
 * caller owns signals and exit. An invalid status pages file throws an InventoryError before
 * anything is opened.
 */
export async function startExporter(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Running> {
  const inventory = LiveInventory.load({
    file: config.statusPagesFile,
    env,
    allPagesTokens: config.webhookTokens,
    defaultStatusPage: config.defaultStatusPage,
    logger,
  });
  const store = openStore(config, logger);
  const state = await store.load();
  const ingestor = new Ingestor(store, state, limitsOf(config), inventory.overlay);
  inventory.attach((overlay) => ingestor.reseed(overlay));
  const telemetry = new Telemetry(store, { version: packageVersion(), revision: config.buildRevision });

  const prune = async () => {
    try {
      const forgotten = await ingestor.prune(Date.now() / 1000, config.finishedRetentionSeconds);
      if (forgotten > 0) logger.info({ forgotten }, 'pruned finished objects and dedup records past retention');
    } catch (error) {
      logger.error({ err: error }, 'pruning failed; will try again');
    }
  };
  await prune();
  const pruneTimer = setInterval(() => void prune(), PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  const separateMetrics = config.metricsPort !== undefined;
  const apps = createApps(
    {
      logger,
      store,
      ingestor,
      telemetry,
      webhook: { tokens: config.webhookTokens, maxBodyBytes: config.maxBodyBytes, defaultStatusPage: config.defaultStatusPage },
      inventory,
      about: { version: packageVersion(), store: config.store },
    },
    { separateMetrics },
  );
  const caps = connectionCaps(descriptorLimit(), config.maxConnections, separateMetrics);
  if (caps.lowered) {
    logger.warn({ max_connections: config.maxConnections, lowered_to: caps.main }, 'MAX_CONNECTIONS lowered to fit the open-file limit (ulimit -n)');
  }
  const main = createBoundedServer(apps.main, caps.main, 'PORT', logger);
  const metrics = apps.metrics ? createBoundedServer(apps.metrics, caps.metrics, 'METRICS_PORT', logger) : undefined;
  const address = await listen(main, config.host, config.port, 'HOST, PORT');
  const metricsAddress = metrics && config.metricsPort !== undefined ? await listen(metrics, config.host, config.metricsPort, 'HOST, METRICS_PORT') : undefined;

  logger.info(
    {
      address: `${address.address}:${address.port}`,
      metrics_address: metricsAddress ? `${metricsAddress.address}:${metricsAddress.port}` : `${address.address}:${address.port}`,
      store: config.store,
      sqlite_path: config.store === 'sqlite' ? config.sqlitePath : undefined,
      components: state.componentCount,
      status_pages: state.pages.size,
      tokens: config.webhookTokens.length,
      status_pages_file: config.statusPagesFile,
      declared_status_pages: inventory.current().pages.length,
      page_tokens: inventory.current().pageTokens.size,
      max_connections: caps.main,
      metrics_max_connections: metrics ? caps.metrics : undefined,
    },
    'statusmate-exporter listening',
  );
  if (!inventory.webhookAccess().tokens.required) {
    logger.warn('WEBHOOK_TOKEN is not set: webhooks are accepted without a token');
  }

  let closing: Promise<void> | undefined;
  return {
    address,
    metricsAddress,
    reload: () => inventory.reload(),
    close() {
      closing ??= (async () => {
        clearInterval(pruneTimer);
        await Promise.all([closeServer(main), metrics ? closeServer(metrics) : Promise.resolve()]);
        await ingestor.drain();
        await store.close();
      })();
      return closing;
    },
  };
}
