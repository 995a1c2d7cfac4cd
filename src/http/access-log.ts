import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

const QUIET_PATHS = new Set(['/metrics', '/healthz', '/readyz']);
/** Asked every few seconds by the kubelet: a 503 while not ready is the answer, not news (the store's own line says why, once). */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/** The path of a request URL without its query string, which may hold `?token=`. */
export const pathOf = (url: string | undefined): string => (url ?? '').split('?', 1)[0] ?? '';

/**
 * Writes the one JSON line of an answered request: method, path (no query string), status,
 * duration and what the route adds, never headers. Probes (whatever they answer) and scrapes
 * log at debug, to keep them out of the way.
 */
export function logRequest(logger: Logger, req: IncomingMessage, url: string | undefined, status: number, startedNs: bigint, fields?: object): void {
  const path = pathOf(url);
  const level = PROBE_PATHS.has(path) ? 'debug' : status >= 500 ? 'error' : status >= 400 ? 'warn' : QUIET_PATHS.has(path) ? 'debug' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      method: req.method,
      path,
      status,
      duration_ms: Number(process.hrtime.bigint() - startedNs) / 1e6,
      remote_address: req.socket.remoteAddress,
      ...fields,
    },
    'request',
  );
}

/** The access log of the Express routes: one line per request, once it is answered. */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // A route may add fields to its request's line (res.locals.logFields): why it failed, once.
    res.on('finish', () => logRequest(logger, req, req.originalUrl, res.statusCode, started, logFieldsOf(res.locals)));
    next();
  };
}

function logFieldsOf(locals: Record<string, unknown>): object | undefined {
  const fields = locals['logFields'];
  return typeof fields === 'object' && fields !== null ? fields : undefined;
}
