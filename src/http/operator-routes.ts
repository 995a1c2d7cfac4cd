import type { StoreName } from '../config.js';
import express, { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { ForgetTarget } from '../domain/forget.js';
import type { EventSink } from '../ingest/sink.js';
import type { Logger } from '../logger.js';
import { availabilityAnswer, historyFinder } from '../api/availability.js';
import { deliveryView, stateView, type StateView } from '../api/state.js';
import type { AvailabilityPolicy } from '../domain/availability.js';
import type { State } from '../domain/state.js';
import { RESPONSE_HOLD_MS, RESPONSE_SLOTS, ResponseSlots } from './response-slots.js';
import type { Inventory } from '../inventory/file.js';
import type { LiveInventory } from '../inventory/live.js';
import { BAR_DAYS, REFRESH_SECONDS, renderLandingPage } from '../ui/landing.js';
import type { WebhookAccess } from '../webhook/access.js';
import type { RecentDeliveries } from '../webhook/deliveries.js';
import { fieldPath } from './field-path.js';
import { HTML_SECURITY_HEADERS } from './security.js';
import { StoreError, type StoreBackups } from '../store/store.js';
import { backupRoute } from './backup-route.js';
import { methodNotAllowed, WEBHOOK_ELSEWHERE } from './method-not-allowed.js';
import { transferCodingError, undecodedTransferCoding } from '../webhook/body.js';
import { queryToken as tokenOfQuery } from '../webhook/auth.js';
import { issueWords } from '../issue-words.js';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { acceptsGzip } from './accepts-gzip.js';
import { continueGzip, deflatePiece, deflatePieceSync, gzipEnd, gzipOf, poolChunkSize, type DeflatedPiece } from '../metrics/gzip-member.js';

const gzipped = promisify(gzip);

export type OperatorDeps = {
  state: State;
  /** Where a forget goes: the log, like a webhook's event. */
  sink: Pick<EventSink, 'forget'>;
  logger: Logger;
  inventory: LiveInventory;
  deliveries: RecentDeliveries;
  version: string;
  store: StoreName;
  allPagesTokens: number;
  /** Checks run before any work: who may ask (token, Host), and whether a browser may (CSRF). */
  guard: RequestHandler[];
  /**
   * Whether a `?token=` opens these routes (a WEBHOOK_TOKEN token, on PORT): then the landing
   * page's links carry it. Any other value (METRICS_PORT needs none; no token configured) is not
   * echoed, and does not make a rendering of its own that a flood of made-up values would repeat.
   */
  tokenOpens: (token: string) => boolean;
  /** GET /-/backup: how the store is copied while it serves; undefined where it cannot be (see backup-route.ts). */
  backups: StoreBackups | undefined;
  /** Aborted when the exporter begins to shut down: a backup still being sent is cut then. */
  shutdown?: AbortSignal | undefined;
  /** GET /api/v1/availability: the environment's policy, the most days one report spans, and the most bytes (MAX_ANSWER_BYTES unless set). */
  availability: { policy: AvailabilityPolicy; maxDays: number; maxBytes?: number };
};

/**
 * How long a rendering may be served after the state moved on, as a multiple of what it cost: a
 * page that takes 100 ms to render is rebuilt at most every 2 s, whatever the request rate, so
 * readers cost the event loop at most about 5 % of its time. A cheap one is always fresh.
 */
const REUSE_FACTOR = 20;
/** How long a read slot rests after each answer, as a multiple of the answer's time (see SlotPacing). */
const READ_PAUSE_FACTOR = 4;
const MAX_REUSE_MS = 5_000;

/** A landing page rendered, and the same bytes gzipped once the first browser asks for them. */
type LandingRendering = { html: Buffer; gzipped?: Promise<Buffer> };
/** Below this a landing page is sent as it is: gzip would save little and cost a round of the thread pool. */
const LANDING_GZIP_FROM_BYTES = 8 * 1024;
/** Below this, /api/v1/state is sent as it is even to a client that takes gzip: not worth a compression. */
const STATE_GZIP_FROM_BYTES = 8 * 1024;

/** `parts` as one body, written in order without joining them (a state of megabytes is not copied again). */
function send(res: Response, parts: readonly Buffer[]): void {
  res.setHeader(
    'Content-Length',
    parts.reduce((total, part) => total + part.length, 0),
  );
  res.cork();
  for (const part of parts.slice(0, -1)) res.write(part);
  res.end(parts[parts.length - 1]);
}

type Rendering<T> = { value: T; at: number; key: readonly unknown[]; reuseUntil: number };

/**
 * The last rendering of a view and what it was rendered from: rendered again only when one of
 * those changed (as /metrics is, per state version), and not before its reuse time is up.
 */
class RenderCache<T> {
  private last: Rendering<T> | undefined;

  get(key: readonly unknown[], render: (now: number) => T): { value: T; at: number } {
    const now = Date.now();
    const last = this.last;
    if (last && (now < last.reuseUntil || key.every((part, i) => part === last.key[i]))) return last;
    const started = performance.now();
    const value = render(now / 1000);
    const cost = performance.now() - started;
    this.last = { value, at: now / 1000, key, reuseUntil: now + Math.min(MAX_REUSE_MS, cost * REUSE_FACTOR) };
    return this.last;
  }
}

/** The path and query of a request's URL (the app's query parser is off). */
/** The parameters GET /api/v1/state reads: the page it lists alone, and the token a browser may carry. */
const STATE_QUERY_KEYS = new Set(['status_page', 'token']);

const queryOf = (url: string): URLSearchParams => new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');

const uuid = z.guid({ error: 'must be a UUID' }).transform((value) => value.toLowerCase());

/** POST /-/forget: a page, or one component, incident or maintenance on it. */
export const forgetBodySchema = z
  .strictObject({
    status_page: z.string().min(1, { error: 'must not be empty' }).max(200, { error: 'must be at most 200 characters' }),
    component_uuid: uuid.optional(),
    incident_uuid: uuid.optional(),
    maintenance_uuid: uuid.optional(),
  })
  .refine((body) => [body.component_uuid, body.incident_uuid, body.maintenance_uuid].filter((value) => value !== undefined).length <= 1, {
    error: 'name at most one of component_uuid, incident_uuid and maintenance_uuid (none forgets the whole page)',
  });
export type ForgetBody = z.infer<typeof forgetBodySchema>;

export function forgetTarget(body: ForgetBody): ForgetTarget {
  const statusPage = body.status_page;
  if (body.component_uuid !== undefined) return { kind: 'component', statusPage, uuid: body.component_uuid };
  if (body.incident_uuid !== undefined) return { kind: 'incident', statusPage, uuid: body.incident_uuid };
  if (body.maintenance_uuid !== undefined) return { kind: 'maintenance', statusPage, uuid: body.maintenance_uuid };
  return { kind: 'page', statusPage };
}

const isJson = (contentType: string | undefined) => /^application\/json\s*(?:;|$)/i.test(contentType ?? '');
const isJsonRequest = (req: { headers: { 'content-type'?: string } }) => isJson(req.headers['content-type']);

/** The most bytes a forget's body may take: `{"status_page":…,"component_uuid":…}` takes a few hundred. */
export const FORGET_MAX_BYTES = 4096;

/**
 * A body in another charset, or compressed, is refused (415) before express.json() reads it: it
 * would decode UTF-8 bytes sent as `charset=utf-16` into other characters and echo them in its
 * error, and answer a zlib message for a body that is not the gzip it says. A forget is a few
 * hundred bytes: it has no use for either.
 */
const plainUtf8Body: RequestHandler = (req, res, next) => {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    res.status(415).json({ error: `charset ${JSON.stringify(charset.slice(0, 40))} is not taken: send the body in UTF-8`, issues: [] });
    return;
  }
  const transferCoding = undecodedTransferCoding(req.headers['transfer-encoding']);
  if (transferCoding !== undefined) {
    res.status(415).json({ error: transferCodingError(transferCoding), issues: [] });
    return;
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    res.status(415).json({ error: `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not taken here: send the body uncompressed`, issues: [] });
    return;
  }
  next();
};

/**
 * POST /-/reload reads STATUS_PAGES_FILE as it is on disk and takes no argument. A body (a path,
 * a file's content) or a query parameter (?file=) would be dropped unread and the answer say
 * "reloaded" as if it had counted: they are refused instead. An empty body (`Content-Length: 0`,
 * what some clients send with every POST) is none. Node discards the unread bytes once the answer
 * is sent.
 */
export const noBody: RequestHandler = (req, res, next) => {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  // ?token= is the one parameter the webhook port's guard reads; any other would be dropped alike.
  const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  const parameters = [...new Set(new URLSearchParams(query).keys())].filter((name) => name !== 'token');
  const onDisk = 'it reloads STATUS_PAGES_FILE as it is on disk';
  // The request's log line says why too: an operator reading the log sees what the client was told.
  const refuse = (error: string) => {
    res.locals['logFields'] = { error };
    res.status(400).json({ error, issues: [] });
  };
  if (parameters.length > 0) {
    const names = parameters.map((name) => JSON.stringify(name.slice(0, 40))).join(', ');
    refuse(`${req.method} ${req.path} takes no parameter but ?token= (got ${names}): ${onDisk}`);
    return;
  }
  if (!chunked && (length === undefined || Number(length) === 0)) {
    next();
    return;
  }
  refuse(`${req.method} ${req.path} takes no body${chunked ? '' : ` (got ${length} bytes)`}: ${onDisk}`);
};

/**
 * The routes for the people running the exporter: the landing page, the state API, the reload
 * and the forget. Only the forget (through the log) and the reload (the overlay) change the
 * state. Every one runs `deps.guard` first, so a refused request costs no rendering, no read of
 * the file and no read of a body.
 */
export function operatorRoutes(deps: OperatorDeps): Router {
  const exporterInfo = (inventory: Inventory, access: WebhookAccess): StateView['exporter'] => ({
    version: deps.version,
    store: deps.store,
    webhook_token_required: access.tokens.required,
    all_pages_token: deps.allPagesTokens > 0,
    page_tokens: [...inventory.pageTokens.keys()].sort(),
    status_pages_file: inventory.file ?? null,
  });
  const view = (now: number, deliveries = deps.deliveries.list()): StateView => {
    const inventory = deps.inventory.current();
    return stateView({
      state: deps.state,
      declared: inventory.pages,
      deliveries,
      now,
      exporter: exporterInfo(inventory, deps.inventory.webhookAccess()),
    });
  };
  const currentKey = () => [deps.state.version, deps.inventory.current(), deps.inventory.webhookAccess()];

  // The status pages of the state view, as JSON per page id: the heavy part (megabytes at 10,000
  // components), encoded once per state version and shared by every answer until it changes. The
  // deliveries and exporter parts are small and written per request around it: a webhook changes
  // the deliveries, and a flood of readers made a body of megabytes again for each of them (16
  // connections took the exporter past a 256 MiB limit, bench section 8).
  // `deflated`: the same bytes deflated once for the first reader that takes gzip, per page id
  // asked for ('' for all of them), and let go with the rendering.
  const pagesCache = new RenderCache<{
    all: Buffer;
    byId: Map<string, string>;
    oneBytes: Map<string, Buffer>;
    deflated: Map<string, Promise<DeflatedPiece>>;
  }>();
  // Kept as bytes: encoding a page of megabytes again per request would cost what the cache saves.
  // One cache per token the links carry: a rendering may be reused past a change of its key, and
  // one carrying a token must never reach a request that did not present that very token (the
  // holder of a token being rotated out would read the new one). Bounded: only WEBHOOK_TOKEN's
  // tokens open the routes (tokenOpens), and none is the other entry.
  // And one per reload choice (?refresh=off), for the same reason: a rendering reused past its key
  // would answer the other choice.
  const landingCaches = new Map<string, RenderCache<LandingRendering>>();

  const landing: RequestHandler = async (req, res) => {
    // The ?token= it was opened with goes into its links, when that token is what opens them.
    const sent = tokenOfQuery(queryOf(req.originalUrl));
    const queryToken = sent !== undefined && deps.tokenOpens(sent) ? sent : undefined;
    // The time too, in steps of the page's own reload: "started 40 s ago", the bars and the
    // 30-day figures count up to now.
    const step = Math.floor(Date.now() / (REFRESH_SECONDS * 1000));
    const autoRefresh = queryOf(req.originalUrl).get('refresh') !== 'off';
    const cacheKey = JSON.stringify([queryToken ?? null, autoRefresh]);
    let landingCache = landingCaches.get(cacheKey);
    if (landingCache === undefined) landingCaches.set(cacheKey, (landingCache = new RenderCache<LandingRendering>()));
    const rendering = landingCache.get([...currentKey(), deps.deliveries.sequence, step], (now) => {
      const history = historyFinder(deps.state, deps.inventory.current().pages, deps.availability.policy, now, BAR_DAYS, deps.availability.maxDays - 1);
      return { html: Buffer.from(renderLandingPage(view(now), now, history, queryToken, autoRefresh), 'utf8') };
    }).value;
    res.set(HTML_SECURITY_HEADERS).set('Cache-Control', 'no-store').set('Vary', 'Accept-Encoding').type('html');
    // Gzipped once per rendering, off the event loop, for every browser that asks while it
    // lasts: a page of 10,000 components is about 1 MB, 25 KB gzipped, and an open tab reloads it
    // every 10 s. A small page is not worth it.
    if (rendering.html.length < LANDING_GZIP_FROM_BYTES || !acceptsGzip(req.headers['accept-encoding'])) {
      res.send(rendering.html);
      return;
    }
    rendering.gzipped ??= gzipped(rendering.html);
    res.set('Content-Encoding', 'gzip').send(await rendering.gzipped);
  };
  const state: RequestHandler = async (req, res) => {
    const pages = pagesCache.get(currentKey(), (now) => {
      const byId = new Map<string, string>();
      const parts: string[] = [];
      for (const page of view(now, []).status_pages) {
        const text = JSON.stringify(page);
        byId.set(page.id, text);
        parts.push(text);
      }
      return { all: Buffer.from(`[${parts.join(',')}]`, 'utf8'), byId, oneBytes: new Map(), deflated: new Map() };
    });
    // ?status_page=<id> answers one page: a reader of one page need not fetch every component.
    // Any other parameter is refused, as the availability API does: a misspelt filter
    // (?status-page=acme) answered every page, as if it had been applied.
    const query = queryOf(req.originalUrl);
    const unknown = [...query.keys()].find((key) => !STATE_QUERY_KEYS.has(key));
    const repeated = [...STATE_QUERY_KEYS].find((key) => query.getAll(key).length > 1);
    if (unknown !== undefined || repeated !== undefined) {
      const problem = unknown !== undefined ? `unknown parameter ${JSON.stringify(unknown.slice(0, 40))} (status_page)` : `${repeated} is given more than once`;
      res.status(400).json({ error: `invalid query: ${problem}`, issues: [] });
      return;
    }
    const wanted = query.get('status_page');
    let statusPages = pages.value.all;
    if (wanted !== null) {
      const one = pages.value.byId.get(wanted);
      if (one === undefined) {
        res.status(404).json({ error: `no status page ${JSON.stringify(wanted.slice(0, 100))}`, issues: [] });
        return;
      }
      let bytes = pages.value.oneBytes.get(wanted);
      if (bytes === undefined) pages.value.oneBytes.set(wanted, (bytes = Buffer.from(`[${one}]`, 'utf8')));
      statusPages = bytes;
    }
    const inventory = deps.inventory.current();
    const head = {
      generated_at: new Date(Math.round(pages.at * 1000)).toISOString(),
      exporter: exporterInfo(inventory, deps.inventory.webhookAccess()),
    };
    const deliveries = deps.deliveries.list().map(deliveryView);
    const parts = [
      Buffer.from(`${JSON.stringify(head).slice(0, -1)},"status_pages":`, 'utf8'),
      statusPages,
      Buffer.from(`,"recent_deliveries":${JSON.stringify(deliveries)}}`, 'utf8'),
    ];
    res.set('Cache-Control', 'no-store').set('Vary', 'Accept-Encoding').type('application/json; charset=utf-8');
    const plainLength = parts.reduce((total, part) => total + part.length, 0);
    // Gzipped as one member around the pages' bytes deflated once per rendering (as /metrics is):
    // a poller of 10,000 components fetched megabytes each time. The head and the deliveries change
    // per request and are small, so they are deflated per answer.
    const [headBytes, pagesBytes, tail] = parts as [Buffer, Buffer, Buffer];
    if (plainLength >= STATE_GZIP_FROM_BYTES && acceptsGzip(req.headers['accept-encoding'])) {
      const key = wanted ?? '';
      let deflating = pages.value.deflated.get(key);
      if (deflating === undefined) {
        const deflated = pages.value.deflated;
        deflated.set(key, (deflating = deflatePiece(pagesBytes, poolChunkSize(pagesBytes.length))));
        // A failure is not kept for the readers after this one.
        deflating.catch(() => deflated.delete(key));
      }
      const start = continueGzip(gzipOf([deflatePieceSync(headBytes)]), [await deflating]);
      const body = [...start.parts, gzipEnd(start, tail)];
      res.set('Content-Encoding', 'gzip');
      send(res, body);
      return;
    }
    send(res, parts);
  };
  // Computed from the ledger (about 0.1 s for 10,000 components over 30 days: bench section 9), and
  // kept for the same query while the state, the inventory and the minute stay the same.
  let lastAvailability: { key: readonly unknown[]; answer: ReturnType<typeof availabilityAnswer> } | undefined;
  const availability: RequestHandler = (req, res) => {
    const key = [deps.state.version, deps.inventory.current(), req.originalUrl, Math.floor(Date.now() / 60_000)];
    const cached = lastAvailability && key.every((part, i) => part === lastAvailability?.key[i]) ? lastAvailability.answer : undefined;
    const answer =
      cached ??
      availabilityAnswer({
        state: deps.state,
        declared: deps.inventory.current().pages,
        policy: deps.availability.policy,
        query: queryOf(req.originalUrl),
        now: Date.now() / 1000,
        maxDays: deps.availability.maxDays,
        ...(deps.availability.maxBytes === undefined ? {} : { maxBytes: deps.availability.maxBytes }),
      });
    lastAvailability = { key, answer };
    res.status(answer.status).set('Cache-Control', 'no-store').type(answer.contentType);
    if (answer.contentType.startsWith('text/csv')) res.set('Content-Disposition', 'inline; filename="availability.csv"');
    // Written piece by piece: joined, a report of megabytes would be copied once more per answer.
    res.setHeader(
      'Content-Length',
      answer.body.reduce((total, piece) => total + piece.length, 0),
    );
    res.cork();
    for (const piece of answer.body.slice(0, -1)) res.write(piece);
    res.end(answer.body[answer.body.length - 1]);
  };
  const reload: RequestHandler = async (_req, res) => {
    const result = await deps.inventory.reload();
    if (result.ok) res.json({ status: 'reloaded', status_pages: result.statusPages, components: result.components });
    // Nothing to reload is the request's mistake, not the server's.
    else if (result.noFile) res.status(409).json({ error: result.error, issues: [] });
    // The operator asked and the file is theirs: the answer says what is wrong with it.
    else res.status(500).json({ error: result.error, issues: [] });
  };

  const forget: RequestHandler = async (req, res) => {
    if (!isJson(req.headers['content-type'])) {
      res
        .status(415)
        .json({ error: 'send the forget as application/json: {"status_page":…, "component_uuid"|"incident_uuid"|"maintenance_uuid":…}', issues: [] });
      return;
    }
    const parsed = forgetBodySchema.safeParse(req.body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ path: fieldPath(issue.path), message: issueWords(issue) }));
      res.status(400).json({ error: `invalid forget: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, issues });
      return;
    }
    const target = forgetTarget(parsed.data);
    let decision;
    try {
      decision = await deps.sink.forget(target);
    } catch (error) {
      // A store that cannot commit now is expected (Redis down, a full disk): the request's own
      // line says why, without a stack. Anything else is a bug: logged whole.
      if (error instanceof StoreError) res.locals['logFields'] = { ...parsed.data, error: `store failed: ${error.message}` };
      else deps.logger.error({ err: error, ...parsed.data }, 'forget not committed: store failed');
      res.status(503).json({ error: 'the forget could not be stored; retry later', issues: [] });
      return;
    }
    const what =
      target.kind === 'page'
        ? `status page ${JSON.stringify(target.statusPage)}`
        : `${target.kind} ${target.uuid} on status page ${JSON.stringify(target.statusPage)}`;
    if (!decision.found) {
      res.status(404).json({ error: `no ${what}`, issues: [] });
      return;
    }
    // The body's own fields, as a webhook's line has them (status_page, …): a search of the log
    // for a page finds its forget too.
    deps.logger.warn({ ...parsed.data }, 'forgot on an operator request');
    res.json({ status: 'forgotten', ...parsed.data });
  };

  // The reads answer megabytes at 10,000 components: a few at a time (see response-slots.ts), after the guard.
  // The slots rest after every answer, crowd or not: an availability report is computed per
  // query, in one go (0.15 s over 401 days at 3,000 components), so a crowd's next request is not
  // even read before the slot is free again (see SlotPacing.restAfterEvery), and reports asked
  // together otherwise ran back to back, holding webhooks for seconds.
  const slots = new ResponseSlots(RESPONSE_SLOTS, RESPONSE_HOLD_MS, { pauseFactor: READ_PAUSE_FACTOR, restAfterEvery: true });
  const slot: RequestHandler = (_req, res, next) => {
    void slots.take(res).then((held) => {
      if (held) next();
    });
  };
  const router = Router();
  router.get('/', ...deps.guard, slot, landing);
  router.get('/api/v1/state', ...deps.guard, slot, state);
  router.get('/api/v1/availability', ...deps.guard, slot, availability);
  router.all('/', methodNotAllowed('GET', '/', WEBHOOK_ELSEWHERE));
  for (const path of ['/api/v1/state', '/api/v1/availability']) router.all(path, methodNotAllowed('GET', path));
  router.post('/-/reload', ...deps.guard, noBody, reload);
  router.all('/-/reload', methodNotAllowed('POST', '/-/reload'));
  // The guard first: a request without the token costs no body read.
  router.post('/-/forget', ...deps.guard, plainUtf8Body, express.json({ limit: FORGET_MAX_BYTES, type: isJsonRequest, strict: true }), forget);
  router.all('/-/forget', methodNotAllowed('POST', '/-/forget'));
  router.get('/-/backup', ...deps.guard, backupRoute({ backups: deps.backups, logger: deps.logger, shutdown: deps.shutdown }));
  router.all('/-/backup', methodNotAllowed('GET', '/-/backup'));
  return router;
}
