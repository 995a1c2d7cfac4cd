import { packageVersion } from './version.js';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { ConfigError, inventoryLimitsOf, limitsOf, unknownVariables, type Config } from './config.js';
import { alertmanagerWithoutMatchers, NO_TOKEN_WARNING, pagesWithoutToken, shortTokens } from './config-warnings.js';
import { assemble } from './exporter.js';
import { connectionCaps, createBoundedServer, descriptorLimit, stopKeepingAlive } from './http/connections.js';
import { flushLeftOutLines } from './http/access-log.js';
import { allowHosts } from './http/security.js';
import { maxFileBytes } from './inventory/file.js';
import { LiveInventory, type ReloadResult } from './inventory/live.js';
import { fileFingerprint, watchFile } from './inventory/watch.js';
import type { Logger } from './logger.js';
import { lastResortCollect, MemoryTrim } from './memory-trim.js';
import { loadNativeMalloc, type NativeMalloc } from './native-malloc.js';
import { redactedRedisUrl } from './store/redis-format.js';
import type { LogStore } from './store/store.js';

export type Running = {
  /** Where the webhook server listens (and `/metrics`, unless METRICS_PORT is set). */
  address: AddressInfo;
  metricsAddress: AddressInfo | undefined;
  /** Reloads STATUS_PAGES_FILE (SIGHUP); a failure keeps the inventory in force. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting connections, lets requests in flight finish, then closes the store. */
  close(): Promise<void>;
};

/**
 * The store STORE names, not yet opened. Each is imported only when chosen: the Redis client
 * alone is over a thousand modules, about 10 MiB of memory an exporter on SQLite never uses.
 */
async function openStore(config: Config, logger: Logger): Promise<LogStore> {
  if (config.store === 'redis' && config.redisUrl !== undefined) {
    const { RedisStore } = await import('./store/redis.js');
    return new RedisStore({
      url: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      waitReplicas: config.redisWaitReplicas,
      owner: config.redisLogOwner,
      newLogWaitMs: config.redisNewLogWaitSeconds * 1000,
      logger,
    });
  }
  if (config.store === 'memory') return new (await import('./store/memory.js')).MemoryLog();
  const { SqliteLog } = await import('./store/sqlite.js');
  return new SqliteLog({ path: config.sqlitePath, synchronous: config.sqliteSynchronous }, logger);
}

/** What the usual errors of listen() mean, for whoever reads only the code's name (PORT: the port's variable). */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'another process listens there (stop it, or set PORT to a free port)',
  EACCES: 'a port below 1024 needs privileges (set PORT to 1024 or above)',
  EADDRNOTAVAIL: 'not an address of this machine',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (the DNS lookup failed)',
};

/**
 * Listens, or rejects with a ConfigError naming the variables: a host that does not resolve or
 * is no address of this machine, a port in use or one that needs privileges are all fixed in
 * the environment, and deserve the one-line answer every other bad variable gets.
 */
function listen(server: Server, host: string, port: number, variables: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const why = LISTEN_ERRORS[error.code ?? ''];
      const portVariable = variables.split(', ').at(-1) ?? 'PORT';
      const words = why === undefined ? '' : `: ${why.replace('PORT', portVariable)}`;
      reject(
        new ConfigError(`invalid configuration: ${variables}: cannot listen on ${host}:${port}${words} (${error.code ?? error.message})`, { cause: error }),
      );
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
  stopKeepingAlive(server);
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
  // glibc's malloc set for bursts (native-malloc.ts) before the store's load allocates anything large.
  const native = loadNativeMalloc();
  let malloc: NativeMalloc | undefined;
  if ('problem' in native) {
    logger.info({ problem: native.problem }, 'the malloc addon is not loaded: memory freed after a burst stays resident longer');
  } else {
    malloc = native.malloc;
    if (!malloc.holdBigBlocksApart()) logger.info('the C library is not glibc: the malloc addon changes nothing');
  }
  // Taken before the load, so that the watch below also sees a change made while the store opens.
  const inventoryLimits = inventoryLimitsOf(config);
  const fingerprint = config.statusPagesFile !== undefined ? await fileFingerprint(config.statusPagesFile, maxFileBytes(inventoryLimits)) : undefined;
  const inventory = LiveInventory.load({
    file: config.statusPagesFile,
    env,
    allPagesTokens: config.webhookTokens,
    defaultStatusPage: config.defaultStatusPage,
    learnStatusPages: config.learnStatusPages,
    logger,
    limits: inventoryLimits,
  });
  for (const { name, suggestion } of unknownVariables(env, inventory.current().tokenEnvs)) {
    logger.warn(
      { variable: name, did_you_mean: suggestion },
      `${name} is not a statusmate-exporter setting and is ignored${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`,
    );
  }
  const separateMetrics = config.metricsPort !== undefined;
  const exporter = await assemble({
    logger,
    store: await openStore(config, logger),
    limits: limitsOf(config),
    retentionSeconds: config.finishedRetentionSeconds,
    webhook: { tokens: config.webhookTokens, maxBodyBytes: config.maxBodyBytes, defaultStatusPage: config.defaultStatusPage },
    separateMetrics,
    build: { version: packageVersion(), revision: config.buildRevision },
    inventory,
    availability: { policy: config.availabilityPolicy, maxDays: config.ledgerRetentionDays + 1 },
    alertmanager: config.alertmanager,
    alertReceiver: { tokens: config.alertmanagerWebhookTokens },
    // The chart's volume (/data) on Redis too, where /tmp is small; a file in memory has no directory of its own.
    backupDirectory: config.sqlitePath === ':memory:' ? tmpdir() : dirname(config.sqlitePath),
    // A shared store answers fast or not at all; StatusMate retries a 503.
    ...(config.store === 'redis' ? { answerTimeoutMs: 1_500 } : {}),
  });
  const { apps, state } = exporter;
  // Memory held after the start's load, and after bursts, is given back once quiet (memory-trim.ts).
  const trim = new MemoryTrim({
    folded: () => exporter.fold.stats().entriesFolded,
    collect: lastResortCollect(),
    ...(malloc ? { returnFreePages: () => malloc.returnFreePages() } : {}),
    logger,
  });
  trim.start();
  const caps = connectionCaps(descriptorLimit(), config.maxConnections, separateMetrics);
  if (caps.lowered) {
    logger.warn({ max_connections: config.maxConnections, lowered_to: caps.main }, 'MAX_CONNECTIONS lowered to fit the open-file limit (ulimit -n)');
  }
  const main = createBoundedServer(allowHosts(apps.main, config.allowedHosts), caps.main, 'PORT', logger);
  const metrics = apps.metrics ? createBoundedServer(allowHosts(apps.metrics, config.allowedHosts), caps.metrics, 'METRICS_PORT', logger) : undefined;
  let address: AddressInfo;
  let metricsAddress: AddressInfo | undefined;
  try {
    address = await listen(main, config.host, config.port, 'HOST, PORT');
    metricsAddress = metrics && config.metricsPort !== undefined ? await listen(metrics, config.host, config.metricsPort, 'HOST, METRICS_PORT') : undefined;
  } catch (error) {
    // What started is stopped, so that a caller that goes on (the demo, a test) is not left with
    // a fold loop and a store open behind a server that never listened.
    trim.stop();
    await Promise.all([main.listening ? closeServer(main) : undefined, metrics?.listening ? closeServer(metrics) : undefined]);
    await exporter.close();
    throw error;
  }

  logger.info(
    {
      // The pid to send SIGHUP to: under `npm start` it is node's, not npm's.
      pid: process.pid,
      address: `${address.address}:${address.port}`,
      metrics_address: metricsAddress ? `${metricsAddress.address}:${metricsAddress.port}` : `${address.address}:${address.port}`,
      store: config.store,
      sqlite_path: config.store === 'sqlite' ? config.sqlitePath : undefined,
      redis: config.store === 'redis' && config.redisUrl !== undefined ? redactedRedisUrl(config.redisUrl) : undefined,
      components: state.componentCount,
      status_pages: state.pages.size,
      tokens: config.webhookTokens.length,
      alertmanager_webhook: config.alertmanagerWebhookTokens.length > 0 ? 'on' : 'off',
      status_pages_file: config.statusPagesFile,
      alertmanager: config.alertmanager?.urls,
      maintenance_silence_from: config.alertmanager?.from,
      status_pages_watch_seconds: config.statusPagesFile !== undefined ? config.statusPagesWatchSeconds : undefined,
      declared_status_pages: inventory.current().pages.length,
      page_tokens: inventory.current().pageTokens.size,
      max_connections: caps.main,
      metrics_max_connections: metrics ? caps.metrics : undefined,
    },
    'statusmate-exporter listening',
  );
  const unmatched = alertmanagerWithoutMatchers(config, inventory.current());
  if (unmatched !== undefined) logger.warn(unmatched);
  const closed = pagesWithoutToken(config.webhookTokens, inventory.current());
  if (closed !== undefined) logger.warn(closed);
  const guessable = shortTokens(config);
  if (guessable !== undefined) logger.warn(guessable);
  if (!inventory.webhookAccess().tokens.required) {
    // Without METRICS_PORT the operator views are on the same open port: say so, as the landing page does.
    const views =
      metricsAddress === undefined ? `, and GET /, /api/v1/state and /api/v1/availability answer anyone on port ${address.port} (METRICS_PORT moves them)` : '';
    logger.warn(`${NO_TOKEN_WARNING}${views}`);
  }

  const watcher =
    config.statusPagesFile !== undefined && config.statusPagesWatchSeconds > 0
      ? watchFile({
          file: config.statusPagesFile,
          maxBytes: maxFileBytes(inventoryLimits),
          intervalSeconds: config.statusPagesWatchSeconds,
          initialFingerprint: fingerprint,
          onChange: () => {
            logger.info({ file: config.statusPagesFile }, 'STATUS_PAGES_FILE changed; reloading');
            return inventory.reload();
          },
          onError: (error) => logger.error({ err: error }, 'reload failed'),
        })
      : undefined;

  let closing: Promise<void> | undefined;
  return {
    address,
    metricsAddress,
    reload: () => inventory.reload(),
    close() {
      closing ??= (async () => {
        watcher?.stop();
        trim.stop();
        // A backup being sent would hold the servers' close for as long as its client reads.
        exporter.beginShutdown();
        await Promise.all([closeServer(main), metrics ? closeServer(metrics) : Promise.resolve()]);
        // No request is answered from here on: what the access log still holds back is written now.
        flushLeftOutLines(logger);
        await exporter.close();
      })();
      return closing;
    },
  };
}
