import { constants as osConstants } from 'node:os';
import { ConfigError, loadConfig, type Config } from './config.js';
import { InventoryError } from './inventory/file.js';
import { createLogger, exitAfterLogs, LOG_FLUSH_MS } from './logger.js';
import { startExporter, type Running } from './server.js';
import { secondSignal, type EarlySignals } from './signals.js';
import { StoreError } from './store/store.js';

// The process: configuration, logger, exporter, signals (held by main.ts since its first line).
// Everything else is built in server.ts and app.ts, which never read the environment or exit
// the process. Every exit goes through exitAfterLogs, which is bounded even with stdout gone.

/** Runs the exporter until a signal stops it. Never returns normally: every end is an exit. */
export async function run(signals: EarlySignals): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    exitAfterLogs(createLogger('info'), 78, (logger) => logger.fatal(error.message)); // EX_CONFIG
    return;
  }
  const logger = createLogger(config.logLevel);

  process.on('uncaughtException', (error) => {
    exitAfterLogs(logger, 70, (l) => l.fatal({ err: error }, 'uncaught exception; exiting'));
  });
  process.on('unhandledRejection', (reason) => {
    exitAfterLogs(logger, 70, (l) => l.fatal({ err: reason }, 'unhandled rejection; exiting'));
  });
  // Node's own warnings (a deprecation that a client's odd request target reaches, say) are
  // otherwise plain text on stderr, beside the JSON lines: logged as every other event is.
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: unknown }) => {
    logger.warn({ warning: warning.name, code: typeof warning.code === 'string' ? warning.code : undefined }, warning.message);
  });

  // SIGTERM is handled from the start, so one that arrives while the store is still loading also
  // ends in an orderly close rather than Node's default kill.
  const starting = startExporter(config, logger);
  let stopping = false;
  let cutShortBy: NodeJS.Signals | undefined;
  const repeated = secondSignal();
  const stop = (signal: NodeJS.Signals) => {
    if (cutShortBy !== undefined) return;
    if (stopping) {
      if (!repeated.isSecond()) return; // the first one again (npm forwards the terminal's Ctrl-C)
      cutShortBy = signal;
      // A second Ctrl-C (or SIGTERM) means "now": whoever sends it will not wait for the requests
      // in flight or SHUTDOWN_TIMEOUT_SECONDS. Exit as a shell reports a command the signal stopped
      // (128 + its number), after one line saying what was left undone and what it costs.
      exitAfterLogs(logger, 128 + osConstants.signals[signal], (l) =>
        l.warn({ signal, store: config.store }, `stopped without finishing its shutdown (second ${signal}): ${cutShort(config)}`),
      );
      return;
    }
    stopping = true;
    repeated.first();
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    // Bounded: a client that never finishes its request must not keep a pod terminating forever.
    // The log flush gets its share of SHUTDOWN_TIMEOUT_SECONDS, so the exit stays within it.
    const budgetMs = config.shutdownTimeoutSeconds * 1000;
    const flushMs = Math.min(LOG_FLUSH_MS, budgetMs / 4);
    const deadline = setTimeout(() => {
      exitAfterLogs(logger, 1, (l) => l.error({ timeout_seconds: config.shutdownTimeoutSeconds }, 'shutdown timed out; exiting'), flushMs);
    }, budgetMs - flushMs);
    deadline.unref();
    starting
      .then((exporter) => exporter.close())
      .then(
        () => exitAfterLogs(logger, 0, (l) => l.info('stopped: store closed'), flushMs),
        (error: unknown) => exitAfterLogs(logger, 1, (l) => l.error({ err: error }, 'shutdown failed'), flushMs),
      );
  };
  signals.handle('SIGTERM', stop);
  signals.handle('SIGINT', stop);

  let exporter: Running;
  try {
    exporter = await starting;
  } catch (error) {
    // What the operator must fix (the environment, the store's file) is one line without a stack;
    // anything else is a bug, and its stack is logged.
    if (error instanceof ConfigError || error instanceof InventoryError) exitAfterLogs(logger, 78, (l) => l.fatal(error.message));
    // A store that cannot be opened (a file another process holds, a path that cannot be a file,
    // a newer format) is the operator's to fix, like a bad variable: its message names both.
    else if (error instanceof StoreError) exitAfterLogs(logger, 78, (l) => l.fatal(`could not start: ${error.message}`));
    else exitAfterLogs(logger, 1, (l) => l.fatal({ err: error }, 'could not start'));
    return;
  }
  // SIGHUP reloads STATUS_PAGES_FILE, as POST /-/reload does; the outcome is logged either way.
  // One that came while the inventory was loading is applied now.
  signals.handle('SIGHUP', () => {
    if (stopping) return;
    exporter.reload().catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
  });
}

/** What a shutdown cut short leaves behind, by store: said in the line the second signal logs. */
function cutShort(config: Config): string {
  const unanswered = 'requests still in flight got no answer (their senders retry them)';
  if (config.store === 'memory') return `${unanswered}; STORE=memory keeps no state across a restart in any case`;
  const log = config.store === 'sqlite' ? `the log in ${config.sqlitePath}` : "the Redis log (as durable as Redis' persistence)";
  return `${unanswered}; every event answered 200 is in ${log}, so nothing acknowledged is lost: the next start folds the entries its last snapshot lacks`;
}
