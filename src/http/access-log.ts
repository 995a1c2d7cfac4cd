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
  const suppressed = level === 'warn' ? admitRefusal(logger, status) : 0;
  if (suppressed === undefined) return;
  logger[level](
    {
      method: req.method,
      path,
      status,
      duration_ms: Number(process.hrtime.bigint() - startedNs) / 1e6,
      remote_address: req.socket.remoteAddress,
      ...fields,
      ...(suppressed > 0 ? { suppressed_before: suppressed } : {}),
    },
    'request',
  );
}

/**
 * Writes the line of a request Node's parser refused before any route saw it (a head too large,
 * malformed, too slow): no method or path can be trusted, so the port, the status and Node's code
 * say what happened. Refused requests, so within the same budget as the routes' (see below).
 */
export function logParserRefusal(logger: Logger, port: string, status: number, code: string, remoteAddress: string | undefined): void {
  if (!logger.isLevelEnabled('warn')) return;
  const suppressed = admitRefusal(logger, status);
  if (suppressed === undefined) return;
  logger.warn(
    { port, status, code, remote_address: remoteAddress, ...(suppressed > 0 ? { suppressed_before: suppressed } : {}) },
    'request refused by the HTTP parser',
  );
}

/**
 * Lines of refused requests (4xx) logged per second and status code. Anyone who reaches the port
 * can send thousands of bad requests a second, each a line: a log pipeline billed by the byte, or
 * a disk, would take the flood. Past the budget, lines are counted, not written; the next line of
 * that status written says how many went unwritten before it (`suppressed_before`). The metrics
 * count every request whatever the log says.
 */
export const REFUSALS_LOGGED_PER_SECOND = 20;

type Budget = { second: number; used: number; suppressed: number };
const budgets = new WeakMap<Logger, Map<number, Budget>>();

/** The count of lines suppressed before this one, or undefined when this one is suppressed too. */
function admitRefusal(logger: Logger, status: number): number | undefined {
  let byStatus = budgets.get(logger);
  if (!byStatus) budgets.set(logger, (byStatus = new Map<number, Budget>()));
  const second = Math.floor(Date.now() / 1000);
  let budget = byStatus.get(status);
  if (!budget) byStatus.set(status, (budget = { second, used: 0, suppressed: 0 }));
  if (budget.second !== second) {
    budget.second = second;
    budget.used = 0;
  }
  if (budget.used >= REFUSALS_LOGGED_PER_SECOND) {
    budget.suppressed += 1;
    return undefined;
  }
  budget.used += 1;
  const suppressed = budget.suppressed;
  budget.suppressed = 0;
  return suppressed;
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
