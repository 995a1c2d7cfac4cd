import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { logRequest, serverAnswerOf, UNANSWERED, unansweredWhy } from '../http/access-log.js';
import { crossSiteRequest, SECURITY_HEADERS } from '../http/security.js';
import type { StatusMateEvent } from '../domain/event.js';
import { pageNameProblem } from '../domain/labels.js';
import type { EventSink } from '../ingest/sink.js';
import { EMPTY_INVENTORY } from '../inventory/file.js';
import type { Logger } from '../logger.js';
import { StoreError } from '../store/store.js';
import type { Outcome, WebhookTypeLabel } from '../metrics/names.js';
import type { Telemetry } from '../metrics/telemetry.js';
import { createWebhookAccess, type WebhookAccess } from './access.js';
import { BodiesInFlightError, type BodyBudget, type BodyLease } from './body-budget.js';
import { presentedToken } from './auth.js';
import {
  BadEncodingError,
  BodyAbortedError,
  BodyTooLargeError,
  bodyText,
  decodeBody,
  foreignCharset,
  isEncoded,
  isFormContentType,
  isJsonContentType,
  readBody,
  transferCodingError,
  undecodedTransferCoding,
  UnsupportedEncodingError,
} from './body.js';
import type { Delivery, RecentDeliveries } from './deliveries.js';
import { reportNotices } from './notices.js';
import { parseWebhook, type Problem } from './schema.js';
import type { Placement } from './status-page.js';
import { scopeAllows, type TokenScope } from './token-scope.js';

export type WebhookOptions = {
  tokens: readonly string[];
  maxBodyBytes: number;
  defaultStatusPage: string;
  /**
   * Per-page tokens and status page naming from the inventory, read per request so that a reload
   * applies to the next one. Without it: `tokens` open every page, and no page is declared.
   */
  access?: () => WebhookAccess;
};

export type WebhookDeps = {
  ingestor: EventSink;
  telemetry: Telemetry;
  logger: Logger;
  /** When given, every answer is listed there for the landing page. */
  deliveries?: RecentDeliveries;
  /** The request bodies held at once, shared with POST /alertmanager. */
  bodies: BodyBudget;
};

/** What the access log line of a webhook request carries besides method, path and status. */
export type WebhookLogFields = {
  type: WebhookTypeLabel;
  outcome: Outcome;
  status_page?: string;
  event_uuid?: string;
  delivery_attempt?: number | null;
  error?: string;
  /** Why a 401: `no_token`, `wrong_token` or `unsupported_scheme`. */
  auth?: keyof typeof AUTH_FAILURES;
};

type Answer = {
  status: number;
  body: Record<string, unknown>;
  log: WebhookLogFields;
  retry?: boolean;
  closeConnection?: boolean;
  /** Seconds in a Retry-After header: when a refusal is about this moment's load, not the request. */
  retryAfterSeconds?: number;
};

/** The 401's message, by what the request presented; the log line carries the key as `auth`. */
const AUTH_FAILURES = {
  no_token: 'no webhook token: send Authorization: Bearer <token>, X-Webhook-Token or ?token=',
  wrong_token: 'wrong webhook token',
  unsupported_scheme: 'unsupported Authorization scheme: use Authorization: Bearer <token>',
} as const;

/** Values a client sent are echoed (in answers and logs) at most this long: enough to recognise, too short to amplify. */
const ECHO_LENGTH = 100;
const echo = (value: string) => (value.length > ECHO_LENGTH ? `${value.slice(0, ECHO_LENGTH)}…` : value);

/** What a webhook URL may carry: the page to label its events with, and the token. */
const WEBHOOK_QUERY_PARAMETERS: readonly string[] = ['status_page', 'token'];

/**
 * The query of a URL without one, shared by every such request (the usual: a token in a header),
 * which only reads it: one URLSearchParams less a request.
 */
const NO_QUERY: URLSearchParams = new URLSearchParams();

const querySchema = z.object({
  status_page: z.string().min(1).max(200).optional(),
});

const rejected = (status: number, outcome: Outcome, error: string, issues: Problem[] = [], type: WebhookTypeLabel = 'unknown'): Answer => ({
  status,
  body: { error, issues },
  log: { type, outcome, error },
});

export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * POST /webhook: token → content type, charset, encoding → size → decoding → UTF-8 → JSON → schema → reducer and commit → answer.
 * StatusMate gets a 200 only once the event is committed; a store failure answers 503 so that
 * it retries.
 *
 * A plain node:http handler, not Express middleware: it is the one hot path (a backlog replay
 * is thousands of requests a second), it reads its own body and writes its own answer, and the
 * router and Express's request decoration cost more per request than the rest of the work bar
 * the commit. It writes its own access-log line.
 */
export function webhookHandler(deps: WebhookDeps, options: WebhookOptions): WebhookHandler {
  const fixedAccess = createWebhookAccess(options.tokens, EMPTY_INVENTORY, options.defaultStatusPage);
  const currentAccess = options.access ?? (() => fixedAccess);

  const handle = async (req: IncomingMessage, lease: BodyLease): Promise<Answer> => {
    const receivedAt = Date.now() / 1000;
    const url = req.url ?? '';
    const queryAt = url.indexOf('?');
    const search = queryAt === -1 ? NO_QUERY : new URLSearchParams(url.slice(queryAt + 1));
    const access = currentAccess();
    let scope: TokenScope | undefined;
    if (access.tokens.required) {
      const presented = presentedToken(req.headers, search);
      scope = presented.token === undefined ? undefined : access.tokens.scopeOf(presented.token);
      const failure = presented.token === undefined ? presented.missing : scope === undefined ? 'wrong_token' : undefined;
      if (failure) {
        // Closed after the answer: a sender without the token has no use for a kept-alive connection.
        const answer = { ...rejected(401, 'unauthorized', AUTH_FAILURES[failure]), closeConnection: true };
        return { ...answer, log: { ...answer.log, auth: failure } };
      }
    }
    // StatusMate posts from its servers, never from a browser. A page of another site can post a
    // text/plain body (no preflight), which parses as JSON: without a token, any browser that can
    // reach this port (inside the network) would otherwise carry a hostile page's events here.
    // With a token, the sender proved itself (a page cannot know it): a relay that adds an Origin
    // is not refused.
    const crossSite = access.tokens.required ? undefined : crossSiteRequest(req.headers);
    if (crossSite !== undefined) {
      return rejected(403, 'unauthorized', `${crossSite}: webhooks are not taken from a browser`, [
        { path: req.headers['sec-fetch-site'] !== undefined ? 'headers.sec-fetch-site' : 'headers.origin', message: 'sent by a page of another site' },
      ]);
    }
    // Two pages in one URL is a mistake in StatusMate's webhook settings: neither is taken.
    if (search.size > 1 && search.getAll('status_page').length > 1) {
      return rejected(400, 'invalid', 'query parameter status_page given more than once: give one', [
        { path: 'query.status_page', message: 'given more than once' },
      ]);
    }
    // A misspelt parameter (`?statuspage=shop`) would be dropped without a word, and every event
    // of that URL labelled with another page for good: refused, StatusMate retries once it is fixed.
    const unknown = search.size === 0 ? undefined : [...search.keys()].find((name) => !WEBHOOK_QUERY_PARAMETERS.includes(name));
    if (unknown !== undefined) {
      return rejected(400, 'invalid', `unknown query parameter ${JSON.stringify(echo(unknown))}: the webhook URL takes status_page and token`, [
        { path: `query.${echo(unknown)}`, message: 'unknown parameter (status_page, token)' },
      ]);
    }
    const query = querySchema.safeParse({ status_page: search.get('status_page') ?? undefined });
    if (!query.success) {
      return rejected(400, 'invalid', 'invalid query parameter status_page: must be 1 to 200 characters', [
        { path: 'query.status_page', message: 'must be 1 to 200 characters' },
      ]);
    }
    // StatusMate documents only that "data is sent in JSON format": a body that parses as JSON is
    // taken whatever its Content-Type. A form is not JSON, and is what a browser posts cross-site.
    const contentType = req.headers['content-type'];
    if (isFormContentType(contentType)) {
      // Most often curl's --data, which sends a form unless told otherwise: the answer says so.
      return rejected(415, 'invalid', `unsupported content type ${JSON.stringify(echo(contentType ?? ''))}: ${FORM_REFUSED}`, [
        { path: 'headers.content-type', message: 'must be application/json' },
      ]);
    }
    const charset = foreignCharset(contentType);
    if (charset !== undefined) {
      return rejected(415, 'invalid', `unsupported charset ${JSON.stringify(echo(charset))}: send JSON in utf-8`, [
        { path: 'headers.content-type', message: 'charset must be utf-8' },
      ]);
    }
    const encoding = req.headers['content-encoding'];
    if (isEncoded(encoding) && !/^\s*(?:x-gzip|gzip|deflate)\s*$/i.test(encoding ?? '')) {
      return rejected(415, 'invalid', `unsupported Content-Encoding ${JSON.stringify(echo(encoding ?? ''))}: send gzip, deflate or none`, [
        { path: 'headers.content-encoding', message: 'must be gzip, deflate or absent' },
      ]);
    }

    const transferCoding = undecodedTransferCoding(req.headers['transfer-encoding']);
    if (transferCoding !== undefined) {
      return rejected(415, 'invalid', transferCodingError(transferCoding), [{ path: 'headers.transfer-encoding', message: 'must be chunked or absent' }]);
    }

    let raw: Buffer;
    try {
      raw = await readBody(req, options.maxBodyBytes, lease);
      // Decoded within the same limit of output: a small bomb never expands past MAX_BODY_BYTES.
      if (isEncoded(encoding)) {
        raw = await decodeBody(encoding ?? '', raw, options.maxBodyBytes);
        if (!lease.take(raw.length)) throw new BodiesInFlightError(lease.limit);
      }
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        return { ...rejected(413, 'too_large', `body larger than MAX_BODY_BYTES (${error.limit} bytes)`), closeConnection: true };
      }
      if (error instanceof BodiesInFlightError) {
        // The rest of the body is not read: the connection closes once it was sent (or after 2 s).
        return { ...rejected(503, 'busy', `${error.message}: retry`), closeConnection: true, retryAfterSeconds: 1 };
      }
      if (error instanceof BodyAbortedError) return rejected(400, 'invalid', 'request body was not received whole');
      if (error instanceof UnsupportedEncodingError) return rejected(415, 'invalid', error.message);
      if (error instanceof BadEncodingError)
        return rejected(400, 'invalid', echo(error.message), [{ path: 'body', message: 'not valid for its Content-Encoding' }]);
      throw error;
    }

    const text = bodyText(raw);
    if (text === undefined) {
      return rejected(400, 'invalid', 'body is not valid UTF-8: send JSON in utf-8', [{ path: 'body', message: 'not valid UTF-8' }]);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      // Declared as something else and not JSON either: the type is the likelier mistake.
      if (contentType !== undefined && !isJsonContentType(contentType)) {
        return rejected(415, 'invalid', `unsupported content type ${JSON.stringify(echo(contentType))}: send application/json`, [
          { path: 'headers.content-type', message: 'must be application/json' },
        ]);
      }
      return rejected(400, 'invalid', `body is not valid JSON: ${echo((error as Error).message)}`, [{ path: 'body', message: 'not valid JSON' }]);
    }

    const urlPage = query.data.status_page;
    let placement: Placement | undefined;
    const parsed = parseWebhook(json, (sent, components) => {
      placement = access.place(urlPage, sent, components);
      return placement.page;
    });
    if (parsed.kind === 'invalid') return rejected(400, 'invalid', parsed.error, parsed.issues, parsed.type ?? 'unknown');
    if (parsed.kind === 'unsupported') {
      deps.logger.warn({ meta_type: echo(parsed.type) }, 'unsupported webhook type ignored');
      return { status: 200, body: { status: 'unsupported', type: echo(parsed.type) }, log: { type: 'unknown', outcome: 'unsupported' } };
    }

    const { event } = parsed;
    const log: WebhookLogFields = {
      type: event.type,
      outcome: 'error',
      status_page: event.statusPage,
      event_uuid: event.uuid,
      delivery_attempt: event.deliveryAttempt,
    };
    const retry = (event.deliveryAttempt ?? 0) > 0;
    // A name no declared page has would become a label that breaks the dashboards: refused before
    // it makes state, naming where it came from (the URL, the body).
    const nameProblem = pageNameProblem(event.statusPage);
    if (nameProblem !== undefined) {
      const path = UNKNOWN_PAGE_PATH[placement?.from ?? 'meta'];
      return {
        status: 400,
        body: { error: `invalid ${path} ${JSON.stringify(echo(event.statusPage))}: ${nameProblem}`, issues: [{ path, message: nameProblem }] },
        log: { ...log, status_page: echo(event.statusPage), outcome: 'invalid', error: 'invalid status page name' },
        retry,
      };
    }
    if (!scopeAllows(scope, event.statusPage)) {
      // A page's own token (token_env) used for another page: known, but not allowed here.
      const error = `this token is not valid for status page ${JSON.stringify(event.statusPage)}`;
      return { status: 403, body: { error, issues: [] }, log: { ...log, outcome: 'unauthorized', error: 'token not valid for this status page' }, retry };
    }
    if (placement?.conflict) reportConflict(deps, event, placement.conflict);
    if (placement?.unknown) {
      // A typo in ?status_page= (or a page not declared yet) must not make permanent state.
      deps.telemetry.pageConflict('unknown_page');
      deps.logger.warn(
        {
          status_page: event.statusPage,
          event_uuid: event.uuid,
          type: event.type,
          from: placement.from,
          reason: 'unknown_page',
          fix: UNKNOWN_PAGE_ADVICE[placement.from],
        },
        'refused: the status page is not declared in STATUS_PAGES_FILE',
      );
      const error = `status page ${JSON.stringify(echo(event.statusPage))} is not declared in STATUS_PAGES_FILE: ${UNKNOWN_PAGE_ADVICE[placement.from]}`;
      return {
        status: 422,
        body: { error, status_page: event.statusPage, issues: [{ path: UNKNOWN_PAGE_PATH[placement.from], message: 'not a declared status page' }] },
        log: { ...log, outcome: 'invalid', error: 'status page not declared' },
        retry,
      };
    }
    try {
      const decision = await deps.ingestor.ingest(event, receivedAt);
      reportNotices(deps.logger, deps.telemetry, decision.notices);
      return {
        status: 200,
        body: { status: decision.outcome, type: event.type, uuid: event.uuid, status_page: event.statusPage },
        log: { ...log, outcome: decision.outcome },
        retry,
      };
    } catch (error) {
      // A store that cannot commit now is expected (Redis down, a full disk; StatusMate retries):
      // the request's own line says why, without a stack. Anything else is a bug: logged whole.
      const expected = error instanceof StoreError;
      if (!expected)
        deps.logger.error({ err: error, status_page: event.statusPage, event_uuid: event.uuid, type: event.type }, 'event not committed: store failed');
      return {
        status: 503,
        body: { error: 'the event could not be stored; retry later', issues: [] },
        log: { ...log, error: expected ? `store failed: ${error.message}` : 'store failed' },
        retry,
      };
    }
  };

  return async (req, res) => {
    const started = process.hrtime.bigint();
    let answer: Answer;
    const lease = deps.bodies.lease();
    try {
      answer = await handle(req, lease);
    } catch (error) {
      deps.logger.error({ err: error }, 'webhook handler failed');
      answer = { status: 500, body: { error: 'internal error', issues: [] }, log: { type: 'unknown', outcome: 'error', error: 'internal error' } };
    } finally {
      lease.release();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.telemetry.webhook(answer.log.type, answer.log.outcome, seconds, answer.retry ?? false);
    // The request's socket too: an answer to a request sent ahead on its connection (pipelined)
    // has no socket of its own until the earlier answers are sent, and is not `destroyed` when the
    // connection closes before then.
    if ((res.destroyed || req.socket.destroyed) && !res.headersSent) {
      // The client went away, or Node's request timeout answered 408 and closed the socket, before
      // this answer: nobody got a 200 (res.statusCode's default), so the log and the landing page
      // must not say so. They say the 408 the client got, else 499, the usual code of a request
      // the client closed (nginx's).
      const server = serverAnswerOf(req.socket);
      const status = server?.status ?? UNANSWERED;
      const error = server?.error ?? answer.log.error ?? unansweredWhy(req.socket);
      const gone = { ...answer, status, log: { ...answer.log, error } };
      deps.deliveries?.record(deliveryOf(gone));
      logRequest(deps.logger, req, req.url, status, started, gone.log);
      return;
    }
    deps.deliveries?.record(deliveryOf(answer));
    if (res.headersSent || res.destroyed) {
      logRequest(deps.logger, req, req.url, res.statusCode, started, answer.log);
      return;
    }
    // Written directly rather than through res.json: this is the hot path, and its body is ours.
    const payload = JSON.stringify(answer.body);
    const headers = [...ANSWER_HEADERS, 'Content-Length', String(Buffer.byteLength(payload))];
    if (answer.closeConnection) headers.push('Connection', 'close');
    if (answer.retryAfterSeconds !== undefined) headers.push('Retry-After', String(answer.retryAfterSeconds));
    res.writeHead(answer.status, headers);
    if (answer.closeConnection) answerThenClose(req, res, payload);
    else res.end(payload);
    logRequest(deps.logger, req, req.url, answer.status, started, answer.log);
  };
}

/** Why a form is refused, and what to send instead. */
const FORM_REFUSED =
  "a form is refused, JSON or not (it is what a page of another site can post); send the JSON as application/json (curl's --data sends a form: add -H 'Content-Type: application/json')";

/** The headers of every answer but its length, as the flat list writeHead takes without copying an object. */
const ANSWER_HEADERS: readonly string[] = [...Object.entries(SECURITY_HEADERS).flat(), 'Content-Type', 'application/json; charset=utf-8'];

/** Where an unknown page came from, as the path of the 422's issue. */
const UNKNOWN_PAGE_PATH = { url: 'query.status_page', meta: 'meta.status_page', components: 'meta', default: 'DEFAULT_STATUS_PAGE' } as const;

/**
 * What to do about a page not declared, by where its name came from. An event that names no page
 * (StatusMate's own examples) lands on DEFAULT_STATUS_PAGE: "fix ?status_page=" said nothing to a
 * sender whose URL had none.
 */
const UNKNOWN_PAGE_ADVICE = {
  url: 'fix ?status_page= in the webhook URL, declare the page, or set LEARN_STATUS_PAGES=true',
  meta: "the event's meta.status_page names it: declare a page with that uuid, put ?status_page=<id> in the webhook URL, or set LEARN_STATUS_PAGES=true",
  components: 'declare the page, put ?status_page=<id> in the webhook URL, or set LEARN_STATUS_PAGES=true',
  default:
    'the event names no status page and the file declares none of its components on a page, so it went to DEFAULT_STATUS_PAGE: put ?status_page=<id> in the webhook URL, declare its components, or set LEARN_STATUS_PAGES=true',
} as const;

const CONFLICT_MESSAGE = {
  several_pages:
    'the event names no status page and its components are declared on several: labelled with DEFAULT_STATUS_PAGE; add ?status_page= to the webhook URL',
  other_page: 'the event names a status page, and a component it names is declared on other pages only: labelled with the page it names',
} as const;

/** One warn line and one count for an event whose page and the status pages file disagree. */
function reportConflict(deps: WebhookDeps, event: StatusMateEvent, conflict: NonNullable<Placement['conflict']>): void {
  deps.telemetry.pageConflict(conflict.reason);
  deps.logger.warn(
    { status_page: event.statusPage, event_uuid: event.uuid, type: event.type, reason: conflict.reason, declared_on: conflict.declaredOn.slice(0, 20) },
    CONFLICT_MESSAGE[conflict.reason],
  );
}

const deliveryOf = (answer: Answer): Delivery => ({
  at: Date.now() / 1000,
  status: answer.status,
  type: answer.log.type,
  outcome: answer.log.outcome,
  statusPage: answer.log.status_page ?? null,
  eventUuid: answer.log.event_uuid ?? null,
  deliveryAttempt: answer.log.delivery_attempt ?? null,
  error: answer.log.error ?? null,
});
/** How long a client refused before its body was read may take to finish sending it. */
const LINGER_MS = 2_000;

/**
 * Sends the answer at once, and ends the response (which closes the connection) once the
 * client has sent the rest of its body, read and dropped, or after LINGER_MS. Closing a socket
 * with unread bytes makes the kernel reset the connection, and the reset can reach the client
 * before it read the answer: it then sees EPIPE or ECONNRESET instead of the 413 or 401.
 */
function answerThenClose(req: IncomingMessage, res: ServerResponse, payload: string): void {
  res.write(payload);
  if (req.complete) {
    res.end();
    return;
  }
  const finish = () => {
    clearTimeout(timer);
    req.off('end', finish);
    req.off('close', finish);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(finish, LINGER_MS);
  req.once('end', finish);
  req.once('close', finish);
  req.resume();
}
