import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { logParserRefusal, logRequest, noteServerAnswer, noteServerClose, routableTarget } from './access-log.js';
import { SECURITY_HEADERS } from './security.js';
import type { Logger } from '../logger.js';

// What one client can hold on a port that may face the internet: descriptors (a connection
// cap per port, below the process's open-file limit) and time (timeouts, checked every second).

/** Descriptors kept out of the caps: stdio, the SQLite file with its WAL and shared memory, the worker, libuv's own, the listening sockets. */
export const RESERVED_DESCRIPTORS = 64;
/** The metrics port's share: Prometheus servers, probes and a few people, never starved by a flooded webhook port. */
export const METRICS_MAX_CONNECTIONS = 64;
/** Where /proc cannot be read, assume the usual default soft limit. */
const FALLBACK_DESCRIPTOR_LIMIT = 1024;

export const TIMEOUTS = {
  /** A connection must have sent its first request's headers this soon, and any later request's too. */
  headersMs: 5_000,
  /** A whole request, body included. */
  requestMs: 30_000,
  /** An idle kept-alive connection: longer than the 60 s idle timeout of the usual load balancers in front, so they never reuse one we are closing. */
  keepAliveMs: 65_000,
  /** How often Node checks the headers and request timeouts; its default of 30 s would let a 5 s timeout fire at 35 s. */
  checkIntervalMs: 1_000,
} as const;

/** The soft RLIMIT_NOFILE of this process, read from the text of /proc/self/limits (Node has no getrlimit). */
export function descriptorLimit(limitsText: string = readLimits()): number {
  const match = /^Max open files\s+(\S+)/m.exec(limitsText);
  if (!match) return FALLBACK_DESCRIPTOR_LIMIT;
  if (match[1] === 'unlimited') return Number.POSITIVE_INFINITY;
  const limit = Number(match[1]);
  return Number.isInteger(limit) && limit > 0 ? limit : FALLBACK_DESCRIPTOR_LIMIT;
}

function readLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return ''; // not Linux, or no /proc
  }
}

export type ConnectionCaps = {
  /** The webhook port's cap (which serves /metrics too unless METRICS_PORT is set). */
  main: number;
  /** The metrics port's cap; 0 without METRICS_PORT. */
  metrics: number;
  /** True when MAX_CONNECTIONS was lowered to fit the descriptor limit. */
  lowered: boolean;
};

/** Splits the descriptors left after the reserve between the ports: the metrics port's share first, MAX_CONNECTIONS at most for the webhook port. */
export function connectionCaps(descriptors: number, maxConnections: number, separateMetrics: boolean): ConnectionCaps {
  const available = Math.max(0, descriptors - RESERVED_DESCRIPTORS);
  const metrics = separateMetrics ? Math.max(1, Math.min(METRICS_MAX_CONNECTIONS, Math.floor(available / 4))) : 0;
  const budget = Math.max(1, available - metrics);
  return { main: Math.min(maxConnections, budget), metrics, lowered: maxConnections > budget };
}

/** How often a port that keeps refusing connections says so. */
const DROP_LOG_INTERVAL_MS = 60_000;
/** How often a port at its cap closes its kept-alive connections waiting for their next request. */
const IDLE_SWEEP_INTERVAL_MS = 1_000;

/**
 * Requests one connection may have waiting for their answers (HTTP pipelining). Node reads the
 * requests a client sends ahead, and stops only once the answers it has not sent pile up; requests
 * that wait for a response slot (a scrape, the state API) write nothing meanwhile, so a client
 * that sent them at 33 bytes each without reading made the process keep every one: 50 connections
 * sending 20 scrapes each every 200 ms took it past its heap limit in 10 s, which stopped it. No
 * sender we know pipelines at all; a connection with more waiting is closed.
 */
export const MAX_PIPELINED_REQUESTS = 8;

/** Why the requests on a connection closed for pipelining too many got no answer, in their lines. */
export const PIPELINING_CLOSED = `the server closed the connection: more than ${MAX_PIPELINED_REQUESTS} requests on it were waiting for their answers (HTTP pipelining)`;

/**
 * Passes a request to `listener`, unless MAX_PIPELINED_REQUESTS of its connection's are still
 * unanswered (their route has not ended its answer): then the connection is closed, and with it
 * every request Node read ahead on it, and `closed` is called. Answers ended but not yet sent do
 * not count: Node stops reading a connection once those pile up.
 */
function pipelineBound(listener: RequestListener, closed: () => void): RequestListener {
  const unanswered = new WeakMap<Socket, Set<ServerResponse>>();
  return (req, res) => {
    const socket = req.socket;
    // The rest of what Node had read when the connection was closed reaches no route.
    if (socket.destroyed) return;
    let pending = unanswered.get(socket);
    if (pending === undefined) unanswered.set(socket, (pending = new Set()));
    for (const earlier of pending) if (earlier.writableEnded || earlier.destroyed) pending.delete(earlier);
    if (pending.size >= MAX_PIPELINED_REQUESTS) {
      noteServerClose(socket, PIPELINING_CLOSED);
      socket.destroy();
      closed();
      return;
    }
    pending.add(res);
    listener(req, res);
  };
}

/** Answers a request Node would answer with a bare status, in JSON with the headers of every answer, and closes its connection. */
function refuseBare(logger: Logger, req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  const started = process.hrtime.bigint();
  const body = JSON.stringify({ error, issues: [] });
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body);
  logRequest(logger, req, req.url, status, started, { error });
}

/**
 * An HTTP server with the timeouts above and at most `maxConnections` open connections; those
 * past the cap are closed at once by Node (and logged, at most once a minute per port), and the
 * kept-alive ones waiting for their next request are then closed to make room for the next.
 * A connection with more than MAX_PIPELINED_REQUESTS requests waiting for their answers is closed (logged alike).
 */
export function createBoundedServer(listener: RequestListener, maxConnections: number, port: string, logger: Logger): Server {
  let pipelinedClosed = 0;
  let lastPipelinedLog = Number.NEGATIVE_INFINITY;
  const bounded = pipelineBound(listener, () => {
    pipelinedClosed += 1;
    const now = Date.now();
    if (now - lastPipelinedLog < DROP_LOG_INTERVAL_MS) return;
    logger.warn(
      { port, max_pipelined_requests: MAX_PIPELINED_REQUESTS, closed: pipelinedClosed },
      `connections closed: more than ${MAX_PIPELINED_REQUESTS} requests on one waiting for their answers (HTTP pipelining)`,
    );
    lastPipelinedLog = now;
    pipelinedClosed = 0;
  });
  // Node answers these three itself with a bare status (no body, none of SECURITY_HEADERS, no
  // log line), and Express a target it cannot route with an HTML page: they are answered here as
  // the routes answer a bad request.
  const server = createServer(
    {
      connectionsCheckingInterval: TIMEOUTS.checkIntervalMs,
      headersTimeout: TIMEOUTS.headersMs,
      requestTimeout: TIMEOUTS.requestMs,
      requireHostHeader: false,
    },
    (req, res) => {
      if (req.httpVersion === '1.1' && req.headers.host === undefined) refuseBare(logger, req, res, 400, 'request has no Host header, which HTTP/1.1 requires');
      else if (!routableTarget(req.url)) {
        refuseBare(
          logger,
          req,
          res,
          400,
          `request target ${JSON.stringify((req.url ?? '').slice(0, 100))} is neither a path nor a URL: send a path, such as /webhook`,
        );
      } else bounded(req, res);
    },
  );
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    refuseBare(logger, req, res, 417, `unsupported Expect ${JSON.stringify((req.headers.expect ?? '').slice(0, 40))}: only 100-continue is taken`);
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const started = process.hrtime.bigint();
    const error = 'CONNECT is not served: this is no proxy';
    socket.write(rawAnswer(405, 'Method Not Allowed', error));
    // Logged first: a destroyed socket no longer knows its remote address.
    logRequest(logger, req, req.url, 405, started, { error });
    socket.destroy();
  });
  server.keepAliveTimeout = TIMEOUTS.keepAliveMs;
  server.maxConnections = maxConnections;
  closeSilentConnections(server, TIMEOUTS.headersMs);
  // The newest request of each connection a route has, until its answer is done: a body too slow
  // (Node's request timeout) is reported through clientError too, and that route writes the
  // request's line.
  const routed = new WeakMap<Duplex, { req: IncomingMessage; res: ServerResponse }>();
  // Connections whose parser failed on bytes sent after a whole request still being answered.
  const refusedAfter = new WeakSet<Duplex>();
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    const remote = (socket as Partial<Socket>).remoteAddress;
    const inFlight = routed.get(socket);
    if (inFlight?.req.complete === true) {
      // The bytes the parser failed on follow a whole request a route still answers (sent ahead:
      // pipelining): they are a later request's fault, not its. Answered here at once, the
      // request in flight was told that 400 "malformed" in place of its own answer, whatever its
      // route did with it (a webhook committed, or not). Its answer goes first; the refusal
      // follows, and the connection closes. After a request that said `Connection: close`, the
      // bytes are no request at all (RFC 9112 9.6: none after it is processed): its answer closes.
      if (error.code === 'HPE_CLOSED_CONNECTION' || refusedAfter.has(socket)) return;
      refusedAfter.add(socket);
      inFlight.res.once('close', () => {
        const answered = answerClientError(error, socket, true, true);
        if (answered) logParserRefusal(logger, port, answered.status, answered.code, remote);
      });
      return;
    }
    const answered = answerClientError(error, socket, inFlight !== undefined);
    if (!answered) return;
    // A route has the request: its line says what the client was answered, not 499.
    if (inFlight !== undefined) noteServerAnswer(socket, { status: answered.status, error: answered.error });
    else logParserRefusal(logger, port, answered.status, answered.code, remote);
  });

  // Connections between an answered request and their next one.
  const keptAlive = new Set<Socket>();
  const answering: Answering = { closing: false, responses: new Set() };
  answeringOf.set(server, answering);
  server.on('connection', (socket: Socket) => socket.once('close', () => keptAlive.delete(socket)));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    keptAlive.delete(socket);
    routed.set(socket, { req, res });
    if (answering.closing) res.shouldKeepAlive = false;
    answering.responses.add(res);
    // One listener a request: 'close' follows 'finish' on an answered response too.
    res.once('close', () => {
      if (routed.get(socket)?.res === res) routed.delete(socket);
      answering.responses.delete(res);
      if (res.writableFinished && !socket.destroyed) keptAlive.add(socket);
    });
  });
  let dropped = 0;
  let lastLog = Number.NEGATIVE_INFINITY;
  let lastSweep = Number.NEGATIVE_INFINITY;
  server.on('drop', () => {
    dropped += 1;
    const now = Date.now();
    // Kept-alive connections waiting for their next request go when the cap is reached (at most
    // once a second). Otherwise anyone could hold the port with as many of them, each after one
    // /healthz, for the 65 s keep-alive, and StatusMate's every retry would be refused; now its
    // next retry finds room. Whoever held them reconnects. Connections that never sent a request
    // are left to their own 5 s (closeSilentConnections).
    if (now - lastSweep >= IDLE_SWEEP_INTERVAL_MS) {
      lastSweep = now;
      for (const socket of keptAlive) socket.destroy();
      keptAlive.clear();
    }
    if (now - lastLog < DROP_LOG_INTERVAL_MS) return;
    logger.warn({ port, max_connections: maxConnections, refused: dropped }, 'connections refused: MAX_CONNECTIONS open connections on this port');
    lastLog = now;
    dropped = 0;
  });
  return server;
}

/** The answers a bounded server has not finished, and whether it is shutting down. */
type Answering = { closing: boolean; responses: Set<ServerResponse> };
const answeringOf = new WeakMap<Server, Answering>();

/**
 * From now on (a shutdown), every answer of `server` not yet begun says `Connection: close`, and
 * its connection is closed once it is sent. Answered `keep-alive`, a client would send its next
 * request on a connection the shutdown closes as soon as it is idle: that request (StatusMate's
 * next delivery) would meet a reset instead of an answer.
 */
export function stopKeepingAlive(server: Server): void {
  const answering = answeringOf.get(server);
  if (!answering) return;
  answering.closing = true;
  for (const res of answering.responses) if (!res.headersSent) res.shouldKeepAlive = false;
}

/**
 * Closes a connection that has not sent a whole request head within `ms` of connecting.
 * Node's own headers timeout starts only at a request's first byte, so a client that connects
 * and sends nothing would hold its descriptor until it leaves.
 */
function closeSilentConnections(server: Server, ms: number): void {
  const waiting = new WeakMap<Socket, NodeJS.Timeout>();
  server.on('connection', (socket: Socket) => {
    // A connection that sent part of a head is left to Node's headers timeout, which started at
    // its first byte and answers 408 naming it (and is logged): closed here first, at the same
    // 5 s, a client stuck mid-headers got no answer and the log no line.
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, ms);
    timer.unref();
    waiting.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  server.on('request', (req: IncomingMessage) => {
    const timer = waiting.get(req.socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    waiting.delete(req.socket);
  });
}

/** What Node's parser refuses before any route sees the request, answered as the routes answer: JSON naming the problem. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'request headers (with the URL) larger than 16 KiB'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large', 'chunk extensions too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', `request not received whole within ${TIMEOUTS.requestMs / 1000} s`],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'Request Timeout', `request headers not received within ${TIMEOUTS.headersMs / 1000} s`],
};

/** A whole answer, status line to JSON body, with the headers of every answer, for a socket no response object writes to. */
function rawAnswer(status: number, reason: string, error: string): string {
  const body = JSON.stringify({ error, issues: [] });
  const headers = Object.entries({
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${reason}\r\n${headers}\r\n${body}`;
}

/**
 * Node's own answer to a request it cannot parse (or that took too long) is a bare status line
 * with no body; this one says what was wrong, in JSON with the headers of every answer. As
 * Node's default, it writes only on a connection that has not been answered yet (or, with
 * `afterEarlierAnswers`, once the answers to the requests before the bad one are all sent), then destroys it.
 * Answers the status, Node's code and the answer's error when it answered (for the log), else undefined.
 */
export function answerClientError(
  error: Error & { code?: string },
  socket: Duplex,
  headersReceived = true,
  afterEarlierAnswers = false,
): { status: number; code: string; error: string } | undefined {
  const written = (socket as Partial<Socket>).bytesWritten ?? 0;
  if (error.code !== 'ECONNRESET' && socket.writable && (written === 0 || afterEarlierAnswers)) {
    // Node reports its headers timeout (5 s) with the request timeout's code: a request no route
    // has yet is one whose headers never came whole, and its answer must not say "within 30 s".
    const timedOutHeaders = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && !headersReceived;
    const [status, reason, message] = CLIENT_ERRORS[timedOutHeaders ? 'ERR_HTTP_HEADERS_TIMEOUT' : (error.code ?? '')] ?? [
      400,
      'Bad Request',
      `malformed HTTP request (${(error.code ?? 'unknown').slice(0, 40)})`,
    ];
    socket.write(rawAnswer(status, reason, message));
    // Destroyed at once, as Node's own answer is: a client that keeps sending (a slow body past
    // the request timeout) must not keep the connection open behind a half-close.
    socket.destroy();
    return { status, code: (error.code ?? 'unknown').slice(0, 40), error: message };
  }
  socket.destroy(error);
  return undefined;
}
