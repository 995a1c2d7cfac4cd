import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApps } from './app.js';
import { limitsOf, type Config } from './config.js';
import { Ingestor } from './ingest/ingestor.js';
import { LiveInventory, type ReloadResult } from './inventory/live.js';
import type { Logger } from './logger.js';
import { Telemetry } from './metrics/telemetry.js';
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

function openStore(config: Config): Store {
  if (config.store === 'memory') return new MemoryStore();
  return new SqliteStore({ path: config.sqlitePath, synchronous: config.sqliteSynchronous });
}

function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Timeouts a server facing the internet needs; each bounds what one slow client can hold. */
function harden(server: Server): Server {
  server.headersTimeout = 10_000; // slowloris: headers must arrive within 10 s
  server.requestTimeout = 30_000; // a whole webhook within 30 s
  server.keepAliveTimeout = 65_000; // longer than the usual 60 s idle timeout of load balancers in front
  return server;
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
  const store = openStore(config);
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
  const main = harden(createServer(apps.main));
  const metrics = apps.metrics ? harden(createServer(apps.metrics)) : undefined;
  const address = await listen(main, config.host, config.port);
  const metricsAddress = metrics && config.metricsPort !== undefined ? await listen(metrics, config.host, config.metricsPort) : undefined;

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
