import type { RequestListener } from 'node:http';
import type { StoreName } from './config.js';
import { DEFAULT_POLICY, type AvailabilityPolicy } from './domain/availability.js';
import { DEFAULT_LIMITS } from './domain/reducer.js';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { accessLog, pathOf } from './http/access-log.js';
import { methodNotAllowed, WEBHOOK_ELSEWHERE } from './http/method-not-allowed.js';
import { operatorRoutes } from './http/operator-routes.js';
import { operatorTokenGuard, sameOriginPosts, securityHeaders } from './http/security.js';
import type { EventSink, StoreHealth } from './ingest/sink.js';
import type { LiveInventory } from './inventory/live.js';
import type { Logger } from './logger.js';
import type { StoreBackups } from './store/store.js';
import { DomainMetrics } from './metrics/domain.js';
import { metricsHandler } from './metrics/handler.js';
import type { Telemetry } from './metrics/telemetry.js';
import { alertmanagerReceiver, type AlertmanagerReceiverOptions, type AlertSink } from './webhook/alertmanager.js';
import { RecentDeliveries } from './webhook/deliveries.js';
import { webhookHandler, type WebhookHandler, type WebhookOptions } from './webhook/handler.js';
import type { BodyBudget } from './webhook/body-budget.js';
import { createTokenScopes } from './webhook/token-scope.js';

export type AppParts = {
  logger: Logger;
  health: StoreHealth;
  ingestor: EventSink;
  telemetry: Telemetry;
  webhook: WebhookOptions;
  /** The declared status pages; its webhook access replaces `webhook.access`. */
  inventory: LiveInventory;
  /** For the landing page and the state API. */
  about: { version: string; store: StoreName };
  /** GET /-/backup: the store's live copies, where it has them (LogStore.backups). */
  backups?: StoreBackups | undefined;
  /** Aborted when the exporter begins to shut down (Assembled.beginShutdown). */
  shutdown?: AbortSignal;
  /** For the availability API and the landing page's bars: the default policy and 401 days unless set. */
  availability?: { policy: AvailabilityPolicy; maxDays: number; maxBytes?: number };
  /** POST /alertmanager: where its alerts go, and its tokens. Absent: the route answers 404. */
  alertmanager?: { sink: AlertSink; options: AlertmanagerReceiverOptions };
  /** The request bodies POST /webhook and POST /alertmanager hold at once, shared by both. */
  bodies: BodyBudget;
};

export type Apps = {
  /** Webhooks and probes; `/metrics`, `/`, `/api/v1/state` and `/-/reload` too unless `separateMetrics`. */
  main: RequestListener;
  /** `/metrics`, `/`, `/api/v1/state`, `/-/reload` and probes, for METRICS_PORT; undefined unless `separateMetrics`. */
  metrics: Express | undefined;
};

function base(logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.use(accessLog(logger));
  app.use(securityHeaders);
  return app;
}

/** A path is echoed at most this long: enough to recognise, too short to amplify (a URL may be 16 KiB). */
const ECHOED_PATH_LENGTH = 100;

const notFound: RequestHandler = (req, res) => {
  const path = req.path.length > ECHOED_PATH_LENGTH ? `${req.path.slice(0, ECHOED_PATH_LENGTH)}…` : req.path;
  res.status(404).json({ error: `no route for ${req.method} ${path}`, issues: [] });
};

/** The operator routes, which METRICS_PORT takes off the webhook port, with the method each takes. */
const OPERATOR_ROUTES = [
  ['/metrics', 'GET'],
  ['/', 'GET'],
  ['/api/v1/state', 'GET'],
  ['/api/v1/availability', 'GET'],
  ['/-/reload', 'POST'],
  ['/-/forget', 'POST'],
  ['/-/backup', 'GET'],
] as const;

/**
 * A route that is on the other port: still 404 here, but saying where it is, since "no route for
 * GET /metrics" after setting METRICS_PORT reads as if the exporter had no metrics. Names the
 * variable, not the port's number, which the webhook port may be showing to the internet, and the
 * route's own method: "POST / is served on METRICS_PORT" sent a misdirected webhook to a port
 * that has no POST / either.
 */
const onOtherPort =
  (variable: string, method: 'GET' | 'POST'): RequestHandler =>
  (req, res) => {
    const elsewhere = req.path === '/' && req.method === 'POST' ? `; ${WEBHOOK_ELSEWHERE}` : '';
    res.status(404).json({ error: `${method} ${req.path} is served on ${variable}, not on this port${elsewhere}`, issues: [] });
  };

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const status = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' ? error.status : 500;
    if (status >= 500) logger.error({ err: error }, 'request failed');
    if (res.headersSent) return;
    // A body express.json() could not parse: answered as POST /webhook answers one.
    if (typeof error === 'object' && error !== null && 'type' in error && error.type === 'entity.parse.failed' && error instanceof Error) {
      // Valid JSON that is no object (null, a string, a number): refused by express.json's strict mode, in JSON.parse's words.
      if ('body' in error && typeof error.body === 'string' && isJson(error.body)) {
        res
          .status(400)
          .json({ error: 'body must be a JSON object, like {"status_page": "shop"}', issues: [{ path: 'body', message: 'must be a JSON object' }] });
        return;
      }
      res.status(400).json({ error: `body is not valid JSON: ${error.message.slice(0, 100)}`, issues: [{ path: 'body', message: 'not valid JSON' }] });
      return;
    }
    // What else express.json() refuses, named as POST /webhook names it.
    const bodyProblem = status < 500 ? bodyParserProblem(error) : undefined;
    if (bodyProblem !== undefined) {
      res.status(status).json({ error: bodyProblem, issues: [{ path: 'body', message: bodyProblem }] });
      return;
    }
    // A 5xx says nothing of its cause to the client; the log has it.
    const message = status < 500 && error instanceof Error ? error.message : 'internal error';
    res.status(status).json({ error: message, issues: [] });
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A body express.json() refused, in words that say what to send instead; undefined for other errors. */
function bodyParserProblem(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error) || typeof error.type !== 'string') return undefined;
  if (error.type !== 'entity.too.large') return undefined;
  const limit = 'limit' in error && typeof error.limit === 'number' ? error.limit : undefined;
  return `body larger than ${limit === undefined ? 'this route takes' : `${limit} bytes`}`;
}

/** Builds the HTTP apps from their parts. Never listens: main.ts owns servers and signals. */
export function createApps(parts: AppParts, options: { separateMetrics: boolean }): Apps {
  const domain = new DomainMetrics(parts.ingestor.state);
  const metrics = metricsHandler(domain, parts.telemetry);
  const deliveries = new RecentDeliveries();
  parts.inventory.register(parts.telemetry.registry);
  const operatorDeps = {
    state: parts.ingestor.state,
    sink: parts.ingestor,
    logger: parts.logger,
    inventory: parts.inventory,
    deliveries,
    version: parts.about.version,
    store: parts.about.store,
    backups: parts.backups,
    shutdown: parts.shutdown,
    allPagesTokens: parts.webhook.tokens.length,
    availability: parts.availability ?? { policy: DEFAULT_POLICY, maxDays: DEFAULT_LIMITS.ledgerRetentionDays + 1 },
  };
  // On METRICS_PORT, a port of their own, the operator routes need no token; on the webhook
  // port, which may face the internet, they need WEBHOOK_TOKEN's (see operatorTokenGuard).
  const allPages = createTokenScopes(parts.webhook.tokens, new Map());
  const operator = options.separateMetrics
    ? operatorRoutes({ ...operatorDeps, guard: [sameOriginPosts], tokenOpens: () => false })
    : operatorRoutes({
        ...operatorDeps,
        guard: [operatorTokenGuard(parts.webhook.tokens, parts.inventory), sameOriginPosts],
        tokenOpens: (token) => allPages.scopeOf(token)?.kind === 'all',
      });
  const healthz: RequestHandler = (_req, res) => {
    res.json({ status: 'ok' });
  };
  const readyz: RequestHandler = async (_req, res) => {
    const reason = await parts.health.notReady();
    if (reason === undefined) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'store unavailable', reason });
  };

  const main = base(parts.logger);
  main.all('/webhook', methodNotAllowed('POST', '/webhook'));
  main.get('/healthz', healthz);
  main.get('/readyz', readyz);
  main.all('/healthz', methodNotAllowed('GET', '/healthz'));
  main.all('/readyz', methodNotAllowed('GET', '/readyz'));
  const alertSink: AlertSink = parts.alertmanager?.sink ?? { state: parts.ingestor.state, alerts: () => Promise.reject(new Error('no alert sink')) };
  main.post(
    '/alertmanager',
    alertmanagerReceiver(
      { sink: alertSink, logger: parts.logger, registry: parts.telemetry.registry, pages: () => parts.inventory.current().pages, bodies: parts.bodies },
      parts.alertmanager?.options ?? { tokens: [] },
    ),
  );
  main.all('/alertmanager', methodNotAllowed('POST', '/alertmanager'));
  if (!options.separateMetrics) {
    main.get('/metrics', metrics);
    main.all('/metrics', methodNotAllowed('GET', '/metrics'));
    main.use(operator);
  } else {
    for (const [path, method] of OPERATOR_ROUTES) main.all(path, onOtherPort('METRICS_PORT', method));
  }
  main.use(notFound);
  main.use(errorHandler(parts.logger));

  let metricsApp: Express | undefined;
  if (options.separateMetrics) {
    metricsApp = base(parts.logger);
    metricsApp.get('/metrics', metrics);
    metricsApp.get('/healthz', healthz);
    metricsApp.get('/readyz', readyz);
    for (const path of ['/metrics', '/healthz', '/readyz']) metricsApp.all(path, methodNotAllowed('GET', path));
    metricsApp.use(operator);
    for (const path of ['/webhook', '/alertmanager']) metricsApp.all(path, onOtherPort('PORT', 'POST'));
    metricsApp.use(notFound);
    metricsApp.use(errorHandler(parts.logger));
  }
  const webhook = webhookHandler({ ...parts, deliveries }, { ...parts.webhook, access: parts.inventory.webhookAccess });
  return { main: withWebhook(webhook, main, parts.logger), metrics: metricsApp };
}

/** The paths Express would route to `/webhook`: it ignores case and a trailing slash. */
const isWebhookPath = (url: string | undefined) => {
  // The usual target first, without taking it apart.
  if (url === '/webhook') return true;
  const path = pathOf(url).toLowerCase();
  return path === '/webhook' || path === '/webhook/';
};

/**
 * `POST /webhook` goes straight to its handler; every other request goes through Express. See
 * webhookHandler for why the hot path bypasses the framework.
 */
function withWebhook(webhook: WebhookHandler, app: Express, logger: Logger): RequestListener {
  return (req, res) => {
    if (req.method === 'POST' && isWebhookPath(req.url)) {
      webhook(req, res).catch((error: unknown) => {
        // The handler answers every failure itself; this is the net under a bug in that answer.
        logger.error({ err: error }, 'webhook handler failed');
        res.destroy();
      });
    } else {
      app(req, res);
    }
  };
}
