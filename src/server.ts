import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, limitsOf, type Config } from './config.js';
import { assemble, storeBackend, type Backend } from './exporter.js';
import { connectionCaps, createBoundedServer, descriptorLimit } from './http/connections.js';
import { allowHosts } from './http/security.js';
import type { Overlay } from './ingest/ingestor.js';
import { LiveInventory, type ReloadResult } from './inventory/live.js';
import type { Logger } from './logger.js';
import { HealthTrackingStore } from './store/health-tracking.js';
import { MemoryStore } from './store/memory.js';
import { redactedRedisUrl, RedisLog } from './store/redis-log.js';
import { SqliteStore } from './store/sqlite.js';

export type Running = {
  /** Where the webhook server listens (and `/metrics`, unless METRICS_PORT is set). */
  address: AddressInfo;
  metricsAddress: AddressInfo | undefined;
  /** Reloads STATUS_PAGES_FILE (SIGHUP); a failure keeps the inventory in force. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting connections, lets requests in flight finish, then closes the store. */
  close(): Promise<void>;
};

function openBackend(config: Config, logger: Logger, overlay: Overlay): Promise<Backend> {
  const limits = limitsOf(config);
  if (config.store === 'redis' && config.redisUrl !== undefined) {
    // Not awaited: a replica whose Redis is down starts, reports not ready, and folds once it comes.
    const log = new RedisLog({
      url: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      waitReplicas: config.redisWaitReplicas,
      limits,
      retentionSeconds: config.finishedRetentionSeconds,
      logger,
      overlay,
    });
    log.start();
    return Promise.resolve({ sink: log, health: log, reseed: (next) => log.reseed(next), close: () => log.close() });
  }
  const store = config.store === 'memory' ? new MemoryStore() : new SqliteStore({ path: config.sqlitePath, synchronous: config.sqliteSynchronous });
  // A failed commit counts against readiness (HealthTrackingStore), for every Store.
  return storeBackend(new HealthTrackingStore(store, logger), limits, overlay);
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
    limits: { maxStatusPages: config.maxStatusPages, maxComponents: config.maxComponents },
  });
  const separateMetrics = config.metricsPort !== undefined;
  const exporter = await assemble(await openBackend(config, logger, inventory.overlay), {
    logger,
    webhook: { tokens: config.webhookTokens, maxBodyBytes: config.maxBodyBytes, defaultStatusPage: config.defaultStatusPage },
    separateMetrics,
    retentionSeconds: config.finishedRetentionSeconds,
    build: { version: packageVersion(), revision: config.buildRevision },
    inventory,
    store: config.store,
  });
  const { apps, state } = exporter;
  const caps = connectionCaps(descriptorLimit(), config.maxConnections, separateMetrics);
  if (caps.lowered) {
    logger.warn({ max_connections: config.maxConnections, lowered_to: caps.main }, 'MAX_CONNECTIONS lowered to fit the open-file limit (ulimit -n)');
  }
  const main = createBoundedServer(allowHosts(apps.main, config.allowedHosts), caps.main, 'PORT', logger);
  const metrics = apps.metrics ? createBoundedServer(allowHosts(apps.metrics, config.allowedHosts), caps.metrics, 'METRICS_PORT', logger) : undefined;
  const address = await listen(main, config.host, config.port, 'HOST, PORT');
  const metricsAddress = metrics && config.metricsPort !== undefined ? await listen(metrics, config.host, config.metricsPort, 'HOST, METRICS_PORT') : undefined;

  logger.info(
    {
      address: `${address.address}:${address.port}`,
      metrics_address: metricsAddress ? `${metricsAddress.address}:${metricsAddress.port}` : `${address.address}:${address.port}`,
      store: config.store,
      sqlite_path: config.store === 'sqlite' ? config.sqlitePath : undefined,
      redis: config.store === 'redis' && config.redisUrl !== undefined ? redactedRedisUrl(config.redisUrl) : undefined,
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
        await Promise.all([closeServer(main), metrics ? closeServer(metrics) : Promise.resolve()]);
        await exporter.close();
      })();
      return closing;
    },
  };
}
