import type { IncomingHttpHeaders, IncomingMessage, RequestListener } from 'node:http';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import type { LiveInventory } from '../inventory/live.js';
import { presentedToken } from '../webhook/auth.js';
import { createTokenScopes } from '../webhook/token-scope.js';
import { pathOf } from './access-log.js';

// What a browser may do with the exporter's answers, and who may ask for the operator routes.
// The answers are JSON, the landing page and metrics: none is meant to be framed, sniffed as
// another type, or read by another site.

/** On every answer: JSON and text need nothing from the browser, and no page may frame them. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The landing page: its styles are inline (a `<style>` element and `style` attributes), its icon the empty `data:,`; no script, no other resource. */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set(SECURITY_HEADERS);
  next();
};

/** Answers a refusal; the request's log line says why too (never a token: the messages name none). */
const refuse = (res: Parameters<RequestHandler>[1], status: number, error: string) => {
  res.locals['logFields'] = { error };
  res.status(status).json({ error, issues: [] });
};

/**
 * Reads that PORT does not serve without a WEBHOOK_TOKEN token even when no token is configured
 * (the others then answer anyone, as webhooks do): a copy of the whole store holds the store while
 * it is written, and hands over everything at once. Named by the route they are declared as.
 */
const GUARDED_READS: ReadonlySet<string> = new Set(['/-/backup']);

/**
 * The path of the route a request matched, as it was declared: Express routes `/-/Backup` and
 * `/-/backup/` to `/-/backup` (it ignores case and a final slash), so the request's own path
 * cannot say which route it reached. Undefined outside a route.
 */
function routePath(req: Parameters<RequestHandler>[0]): string | undefined {
  const route: unknown = req.route;
  return typeof route === 'object' && route !== null && 'path' in route && typeof route.path === 'string' ? route.path : undefined;
}

/**
 * The operator routes on the webhook port (no METRICS_PORT): a port that may face the internet.
 * With WEBHOOK_TOKEN set they take one of its tokens (as webhooks do: Bearer, X-Webhook-Token
 * or ?token=), checked before anything else is done. A page's own token never opens them: it
 * is meant for one page's webhooks, and the state shows every page. With page tokens only, they
 * are refused; with no token at all, the reads are open as webhooks are (start-up warns), but
 * for a backup (GUARDED_READS), and the reload is refused: it reads a file, and SIGHUP or
 * METRICS_PORT does it without a port that faces anyone.
 */
export function operatorTokenGuard(allPagesTokens: readonly string[], inventory: LiveInventory): RequestHandler {
  const scopes = createTokenScopes(allPagesTokens, new Map());
  return (req, res, next) => {
    if (scopes.required) {
      const presented = presentedToken(
        req.headers,
        new URLSearchParams(req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : ''),
      );
      if (scopes.scopeOf(presented.token)?.kind === 'all') {
        next();
        return;
      }
      res.set('WWW-Authenticate', 'Bearer');
      refuse(
        res,
        401,
        presented.token === undefined
          ? // A GET is most often a browser, which cannot send a header: the query can carry it.
            `${req.method} ${req.path} on PORT needs a WEBHOOK_TOKEN token: send Authorization: Bearer <token>${req.method === 'GET' ? ' (from a browser, add ?token=<token> to the URL)' : ''}, or set METRICS_PORT to serve it on a port of its own`
          : `wrong token: ${req.method} ${req.path} on PORT needs a WEBHOOK_TOKEN token (a page's own token does not open it)`,
      );
      return;
    }
    const route = routePath(req);
    // Outside a route (the guard mounted with use()), nothing says which read it is: refused.
    if (inventory.webhookAccess().tokens.required || req.method !== 'GET' || route === undefined || GUARDED_READS.has(route)) {
      refuse(
        res,
        403,
        // SIGHUP does what /-/reload does; nothing else stands in for /-/forget.
        `${req.method} ${route ?? req.path} is not served on PORT without WEBHOOK_TOKEN: set METRICS_PORT to serve it on a port of its own${route === '/-/reload' ? ', or send SIGHUP' : ''}`,
      );
      return;
    }
    next();
  };
}

/** Content types a page of another site can POST without asking (CORS "simple" requests). */
const SIMPLE_CONTENT_TYPES = new Set(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']);

/** The host (and port) of a Host header or an Origin URL, lower-cased; undefined when unreadable. */
function hostOfOrigin(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * A POST to an operator route from a browser on another site is refused: the reload takes no
 * body, so a form or text body (all a cross-site page can send without a preflight) is refused,
 * and so is a request whose Sec-Fetch-Site or Origin says it came from elsewhere.
 */
export const sameOriginPosts: RequestHandler = (req, res, next) => {
  if (req.method !== 'POST') {
    next();
    return;
  }
  const contentType = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (SIMPLE_CONTENT_TYPES.has(contentType)) {
    // /-/reload takes no body; /-/forget takes JSON: neither takes what a form of another site can send.
    refuse(
      res,
      415,
      `${routePath(req) ?? req.path} takes ${routePath(req) === '/-/reload' ? 'no body' : 'an application/json body'}: ${contentType.startsWith('a') ? 'an' : 'a'} ${contentType} POST is what a page of another site sends`,
    );
    return;
  }
  const crossSite = crossSiteRequest(req.headers);
  if (crossSite !== undefined) {
    refuse(res, 403, crossSite);
    return;
  }
  next();
};

/**
 * Why a request came from a page of another site, by what a browser adds to it (Sec-Fetch-Site,
 * Origin); undefined when nothing says so. A sender that is no browser (StatusMate, curl) sends neither.
 */
export function crossSiteRequest(headers: IncomingHttpHeaders): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `cross-site request refused (Sec-Fetch-Site: ${site.slice(0, 20)})`;
  const origin = headers.origin;
  if (origin !== undefined && (hostOfOrigin(origin) === undefined || hostOfOrigin(origin) !== headers.host?.toLowerCase())) {
    return `cross-origin request refused (Origin ${JSON.stringify(origin.slice(0, 100))} is not this host)`;
  }
  return undefined;
}

/** The name in a Host header, without its port, lower-cased and without a final dot. */
export function hostName(header: string | undefined): string {
  if (!header) return '';
  const value = header.trim().toLowerCase();
  const name = value.startsWith('[') ? value.slice(1, value.indexOf(']') === -1 ? undefined : value.indexOf(']')) : (value.split(':', 1)[0] ?? '');
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

const PROBES = new Set(['/healthz', '/readyz']);

/**
 * ALLOWED_HOSTS: when set, a request whose Host names a host not listed is answered 421 before
 * anything else, so that a DNS name rebound to this address (a browser on the operator's machine
 * led by a hostile page) reaches nothing. A rebinding always carries the attacker's name, so a
 * Host that is an IP address or `localhost` is let through: Prometheus, kubelet and a port-forward
 * name the pod that way. Probes are exempt whatever their Host.
 */
export function allowHosts(listener: RequestListener, hosts: readonly string[]): RequestListener {
  if (hosts.length === 0) return listener;
  const allowed = new Set(hosts.map((host) => hostName(host)));
  return (req: IncomingMessage, res) => {
    const name = hostName(req.headers.host);
    if (allowed.has(name) || isIP(name) !== 0 || name === 'localhost' || PROBES.has(pathOf(req.url))) {
      listener(req, res);
      return;
    }
    const body = JSON.stringify({ error: `Host ${JSON.stringify(name.slice(0, 100))} is not one of ALLOWED_HOSTS`, issues: [] });
    res.writeHead(421, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Connection: 'close',
    });
    res.end(body);
    req.resume();
  };
}
