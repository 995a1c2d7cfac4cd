import { ConfigError, loadConfig, type Config } from './config.js';
import { InventoryError } from './inventory/file.js';
import { createLogger } from './logger.js';
import { startExporter } from './server.js';
import { StoreError } from './store/store.js';

// The entry point: configuration, logger, exporter, signals. Everything else is built in
// server.ts and app.ts, which never read the environment or exit the process.

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('info').fatal(error.message);
    process.exit(78); // EX_CONFIG
  }
}

const config = configOrExit();
const logger = createLogger(config.logLevel);

process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'uncaught exception; exiting');
  process.exit(70);
});
process.on('unhandledRejection', (reason) => {
  logger.fatal({ err: reason }, 'unhandled rejection; exiting');
  process.exit(70);
});

// Signals are handled from the start, so a SIGTERM that arrives while the store is still loading
// also ends in an orderly close rather than Node's default kill.
const starting = startExporter(config, logger);
let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing requests in flight');
  // Bounded: a client that never finishes its request must not keep a pod terminating forever.
  const deadline = setTimeout(() => {
    logger.error({ timeout_seconds: config.shutdownTimeoutSeconds }, 'shutdown timed out; exiting');
    process.exit(1);
  }, config.shutdownTimeoutSeconds * 1000);
  deadline.unref();
  starting
    .then((exporter) => exporter.close())
    .then(
      () => {
        logger.info('stopped: store closed');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// SIGHUP reloads STATUS_PAGES_FILE, as POST /-/reload does; the outcome is logged either way.
process.on('SIGHUP', () => {
  void starting.then((exporter) => exporter.reload()).catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
});

try {
  await starting;
} catch (error) {
  // What the operator must fix (the environment, the store's file) is one line without a stack;
  // anything else is a bug, and its stack is logged.
  if (error instanceof ConfigError || error instanceof InventoryError) {
    logger.fatal(error.message);
    process.exit(78);
  }
  // A store that cannot be opened (a file another process holds, a path that cannot be a file,
  // a newer format) is the operator's to fix, like a bad variable: its message names both.
  if (error instanceof StoreError) {
    logger.fatal(`could not start: ${error.message}`);
    process.exit(78);
  }
  logger.fatal({ err: error }, 'could not start');
  process.exit(1);
}
