import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

const QUIET_PATHS = new Set(['/metrics', '/healthz', '/readyz']);

/**
 * One JSON line per request once it is answered. Logs the path without its query string (which
 * may hold `?token=`) and no headers. Probes and scrapes log at debug, to keep them out of the way.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const path = req.originalUrl.split('?', 1)[0] ?? '';
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : QUIET_PATHS.has(path) ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          method: req.method,
          path,
          status,
          duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
          remote_address: req.socket.remoteAddress,
          ...(res.locals.webhook as object | undefined),
        },
        'request',
      );
    });
    next();
  };
}
