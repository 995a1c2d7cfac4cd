import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

const QUIET_PATHS = new Set(['/metrics', '/healthz', '/readyz']);
/** Asked every few seconds by the kubelet: a 503 while not ready is the answer, not news (the store's own line says why, once). */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/** A request-target in absolute form (`http://host/webhook`, RFC 9112 3.2.2): its scheme and authority. */
const ABSOLUTE_FORM = /^[a-z][a-z\d+.-]*:\/\/[^/]*/i;

/**
 * The path of a request-target, without its query (which may hold `?token=`); of one in absolute
 * form, which a server must take as a proxy may send it, without its scheme and authority too
 * (Express routes it by that path).
 */
export const pathOf = (url: string | undefined): string => {
  const target = (url ?? '').split('?', 1)[0] ?? '';
  const authority = ABSOLUTE_FORM.exec(target)?.[0];
  return authority === undefined ? target : target.slice(authority.length) || '/';
};

/**
 * A request-target Express can route: a path, or an absolute URL (as a proxy sends) that parses.
 * Express answers any other (`*`, `http://[::1`) with an HTML 404 of its own, before any of the
 * app's handlers, so without a JSON body or a log line.
 */
export const routableTarget = (url: string | undefined): boolean =>
  url !== undefined && (url.startsWith('/') || (ABSOLUTE_FORM.test(url) && URL.canParse(url)));

/** The status logged for a request whose connection closed before it was answered (nginx's). */
export const UNANSWERED = 499;
/** Why such a request has no answer, in its line. */
const CLIENT_WENT_AWAY = 'the client went away before the answer';

/** Why the server closed a connection itself, without answering the requests on it (noteServerClose). */
const serverCloses = new WeakMap<object, string>();

/**
 * Notes why the server closes `socket` before answering the requests it holds (more of them
 * pipelined than the bound): their lines would otherwise say the client went away.
 */
export function noteServerClose(socket: object, reason: string): void {
  serverCloses.set(socket, reason);
}

/** Why a request on `socket` got no answer: the server's reason for closing it, else the client's leaving. */
export const unansweredWhy = (socket: object): string => serverCloses.get(socket) ?? CLIENT_WENT_AWAY;

/** What the server wrote on a connection itself, outside any route: a 408 for a body too slow. */
export type ServerAnswer = { status: number; error: string };
const serverAnswers = new WeakMap<object, ServerAnswer>();

/**
 * Notes that the server answered the request a route has on `socket` itself (Node's request
 * timeout, answered by createBoundedServer) and closed the connection: the route then sees only
 * a body cut short, and its line would say 499 (a client that went away), or nothing at all.
 */
export function noteServerAnswer(socket: object, answer: ServerAnswer): void {
  serverAnswers.set(socket, answer);
}

/** What the server answered on `socket` itself, if it did (noteServerAnswer). */
export const serverAnswerOf = (socket: object): ServerAnswer | undefined => serverAnswers.get(socket);

/** Responses whose request has its line outside 'finish': the access log's as never answered, or a route's own. */
const lineClaimed = new WeakSet<object>();

/**
 * Claims the one line of `res`'s request for the caller, unless it is claimed already: the access
 * log's as never answered (499, or the server's own 408) and a route's own line for an answer not
 * sent whole (/-/backup) may both come as the connection closes, in either order; one line a request.
 */
export function claimLine(res: object): boolean {
  if (lineClaimed.has(res)) return false;
  lineClaimed.add(res);
  return true;
}

/** A path is logged at most this long: a URL may be 16 KiB, and each refused one is a line. */
const LOGGED_PATH_LENGTH = 200;

/**
 * Writes the one JSON line of an answered request: method, path (no query string), status,
 * duration and what the route adds, never headers. Probes (whatever they answer) and scrapes
 * log at debug, to keep them out of the way.
 */
export function logRequest(logger: Logger, req: IncomingMessage, url: string | undefined, status: number, startedNs: bigint, fields?: object): void {
  // An answer below 400 logs at info or debug, whatever its path: at LOG_LEVEL=warn, every webhook
  // answered would otherwise work out its path for a line that is not written.
  if (status < 400 && !logger.isLevelEnabled('info')) return;
  const whole = pathOf(url);
  const path = whole.length > LOGGED_PATH_LENGTH ? `${whole.slice(0, LOGGED_PATH_LENGTH)}…` : whole;
  const level = PROBE_PATHS.has(path) ? 'debug' : status >= 500 ? 'error' : status >= 400 ? 'warn' : QUIET_PATHS.has(path) ? 'debug' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  const suppressed = level === 'warn' || level === 'error' ? admitRefusal(logger, status, level === 'error' ? causeOf(fields) : undefined) : 0;
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

/** What a failed request's line says went wrong (its `error` field), which keys its budget. */
function causeOf(fields: object | undefined): string {
  const error = fields && 'error' in fields ? fields.error : undefined;
  return typeof error === 'string' ? error : '';
}

/**
 * Writes the line of a request Node's parser refused before any route saw it (a head too large,
 * malformed, too slow): no method or path can be trusted, so the port, the status and Node's code
 * say what happened. Refused requests, so within the same budget as the routes' (see below).
 */
export function logParserRefusal(logger: Logger, port: string, status: number, code: string, remoteAddress: string | undefined): void {
  if (!logger.isLevelEnabled('warn')) return;
  const suppressed = admitRefusal(logger, status, undefined);
  if (suppressed === undefined) return;
  logger.warn(
    { port, status, code, remote_address: remoteAddress, ...(suppressed > 0 ? { suppressed_before: suppressed } : {}) },
    'request refused by the HTTP parser',
  );
}

/**
 * Lines of refused (4xx) and failed (5xx) requests logged per second and budget. Anyone who
 * reaches the port can send thousands of bad requests a second, each a line; and while the store
 * is down every webhook fails, and StatusMate retries each several times: a log pipeline billed by
 * the byte, or a disk, would take the flood. A 4xx's budget is its status; a 5xx's is its status
 * and its cause (the line's `error`), so that the first line of every cause is written in full,
 * whatever else fails meanwhile. Past the budget, lines are counted, not written; the next line of
 * that budget written says how many went unwritten before it (`suppressed_before`), and when none
 * comes within the next second (the flood stopped, or the store came back), one line says how many
 * (`request lines left out`), as it does at once when the process stops, so that the log accounts
 * for every line it left out. The metrics
 * count every request whatever the log says.
 */
export const REFUSALS_LOGGED_PER_SECOND = 20;

/** Budgets kept per logger at most: failed requests with more distinct causes share one per status. */
const MAX_BUDGETS = 64;

type Budget = {
  second: number;
  used: number;
  suppressed: number;
  report: NodeJS.Timeout | undefined;
  /** Writes the pending report now (set with the first report scheduled). */
  flush?: () => void;
};
const budgets = new WeakMap<Logger, Map<string, Budget>>();

/** The count of lines suppressed before this one, or undefined when this one is suppressed too. */
function admitRefusal(logger: Logger, status: number, cause: string | undefined): number | undefined {
  let byKey = budgets.get(logger);
  if (!byKey) budgets.set(logger, (byKey = new Map<string, Budget>()));
  const second = Math.floor(Date.now() / 1000);
  let key = cause === undefined ? String(status) : `${status} ${cause}`;
  let budget = byKey.get(key);
  if (!budget) {
    if (byKey.size >= MAX_BUDGETS) forgetIdle(byKey, second);
    // Past the bound, the causes not tracked yet share their status's budget (reported without a cause).
    if (byKey.size >= MAX_BUDGETS) key = String(status);
    budget = byKey.get(key);
    if (!budget) byKey.set(key, (budget = { second, used: 0, suppressed: 0, report: undefined }));
  }
  if (budget.second !== second) {
    budget.second = second;
    budget.used = 0;
  }
  if (budget.used >= REFUSALS_LOGGED_PER_SECOND) {
    budget.suppressed += 1;
    if (!budget.report) scheduleReport(logger, budget, status, key === String(status) ? undefined : cause);
    return undefined;
  }
  budget.used += 1;
  const suppressed = budget.suppressed;
  budget.suppressed = 0;
  return suppressed;
}

/** Drops the budgets that hold nothing to report and saw no line in the last second. */
function forgetIdle(byKey: Map<string, Budget>, second: number): void {
  for (const [key, budget] of byKey) if (budget.suppressed === 0 && budget.report === undefined && budget.second < second - 1) byKey.delete(key);
}

/**
 * Once a whole second passed without a line of that budget, writes how many of its lines went
 * unwritten: a flood's last second would otherwise stay unaccounted for until that budget's next
 * line, which may never come (a cause that ended).
 */
function scheduleReport(logger: Logger, budget: Budget, status: number, cause: string | undefined): void {
  const report = () => {
    budget.report = undefined;
    if (budget.suppressed === 0) return;
    // A line of this budget in this second or the last: the flood goes on, and its next line counts these.
    if (budget.second >= Math.floor(Date.now() / 1000) - 1) {
      budget.report = setTimeout(report, (budget.second + 2) * 1000 - Date.now()).unref();
      return;
    }
    writeReport(logger, budget, status, cause);
  };
  budget.flush = () => {
    clearTimeout(budget.report);
    budget.report = undefined;
    if (budget.suppressed > 0) writeReport(logger, budget, status, cause);
  };
  budget.report = setTimeout(report, (budget.second + 2) * 1000 - Date.now()).unref();
}

function writeReport(logger: Logger, budget: Budget, status: number, cause: string | undefined): void {
  const level = status >= 500 ? 'error' : 'warn';
  logger[level](
    { status, ...(cause ? { error: cause } : {}), suppressed: budget.suppressed },
    `request lines left out: over ${REFUSALS_LOGGED_PER_SECOND} a second`,
  );
  budget.suppressed = 0;
}

/**
 * Writes now what the reports still pending would write: a process stopping within a second or
 * two of a flood (a pod replaced while the store is down) would otherwise exit before its timers
 * fire, and the log would not account for that flood's last lines. Called once the servers no
 * longer answer, before the process exits.
 */
export function flushLeftOutLines(logger: Logger): void {
  const byKey = budgets.get(logger);
  if (!byKey) return;
  for (const budget of byKey.values()) budget.flush?.();
}

/** The access log of the Express routes: one line per request, once it is answered. */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // A route may add fields to its request's line (res.locals.logFields): why it failed, once.
    res.on('finish', () => logRequest(logger, req, req.originalUrl, res.statusCode, started, logFieldsOf(res.locals)));
    // A request never answered has no 'finish', and would have no line: a body too slow, answered
    // 408 by the server outside the route (the connection closed), or a client that went away
    // before its answer (mid-body), logged 499 as /webhook logs it. One whose answer had begun (a
    // download cut short) is the route's to log: /-/backup says how much was sent.
    res.once('close', () => {
      if (res.writableFinished || res.headersSent || !claimLine(res)) return;
      const answered = serverAnswerOf(req.socket) ?? { status: UNANSWERED, error: unansweredWhy(req.socket) };
      logRequest(logger, req, req.originalUrl, answered.status, started, { ...logFieldsOf(res.locals), error: answered.error });
    });
    next();
  };
}

function logFieldsOf(locals: Record<string, unknown>): object | undefined {
  const fields = locals['logFields'];
  return typeof fields === 'object' && fields !== null ? fields : undefined;
}
