import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { assemble, storeBackend, type Backend } from './exporter.js';
import type { Logger } from './logger.js';
import { MemoryStore } from './store/memory.js';
import { redactedRedisUrl, RedisLog } from './store/redis-log.js';
import { SqliteStore } from './store/sqlite.js';

export type Running = {
  /** Where the webhook server listens (and `/metrics`, unless METRICS_PORT is set). */
  address: AddressInfo;
  metricsAddress: AddressInfo | undefined;
  /** Stops accepting connections, lets requests in flight finish, then closes the store. */
  close(): Promise<void>;
};

function openBackend(config: Config, logger: Logger): Promise<Backend> {
  const limits = { maxComponents: config.maxComponents };
  if (config.store === 'memory') return storeBackend(new MemoryStore(), limits);
  if (config.store === 'redis' && config.redisUrl !== undefined) {
    // Not awaited: a replica whose Redis is down starts, reports not ready, and folds once it comes.
    const log = new RedisLog({
      url: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      waitReplicas: config.redisWaitReplicas,
      limits,
      retentionSeconds: config.finishedRetentionSeconds,
      logger,
    });
    log.start();
    return Promise.resolve({ sink: log, health: log, close: () => log.close() });
  }
  return storeBackend(new SqliteStore({ path: config.sqlitePath, synchronous: config.sqliteSynchronous }), limits);
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

/** Opens the store, loads the state and starts the servers. The caller owns signals and exit. */
export async function startExporter(config: Config, logger: Logger): Promise<Running> {
  const separateMetrics = config.metricsPort !== undefined;
  const exporter = await assemble(await openBackend(config, logger), {
    logger,
    webhook: { tokens: config.webhookTokens, maxBodyBytes: config.maxBodyBytes, defaultStatusPage: config.defaultStatusPage },
    separateMetrics,
    retentionSeconds: config.finishedRetentionSeconds,
    build: { version: packageVersion(), revision: config.buildRevision },
  });
  const { apps, state } = exporter;
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
      redis: config.store === 'redis' && config.redisUrl !== undefined ? redactedRedisUrl(config.redisUrl) : undefined,
      components: state.componentCount,
      status_pages: state.pages.size,
      tokens: config.webhookTokens.length,
    },
    'statusmate-exporter listening',
  );
  if (config.webhookTokens.length === 0) {
    logger.warn('WEBHOOK_TOKEN is not set: webhooks are accepted without a token');
  }

  let closing: Promise<void> | undefined;
  return {
    address,
    metricsAddress,
    close() {
      closing ??= (async () => {
        await Promise.all([closeServer(main), metrics ? closeServer(metrics) : Promise.resolve()]);
        await exporter.close();
      })();
      return closing;
    },
  };
}
