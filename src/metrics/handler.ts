import type { RequestHandler } from 'express';
import type { DomainMetrics } from './domain.js';
import { CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, negotiateFormat } from './exposition.js';
import { gzipEnd } from './gzip-member.js';
import { RESPONSE_HOLD_MS, RESPONSE_SLOTS, ResponseSlots } from '../http/response-slots.js';
import { acceptsGzip } from '../http/accepts-gzip.js';
import type { Telemetry } from './telemetry.js';

/**
 * While scrapes crowd in (anyone may ask for /metrics), a slot rests four times as long as its
 * scrape took before it serves the next that waited: scrapes then take at most a fifth of each
 * slot's time, and webhooks the rest. Sixteen clients asking over and over for a 10,000-component
 * state cost webhooks more than a /healthz flood did without it (bench section 8).
 */
export const SCRAPE_PAUSE_FACTOR = 4;

/**
 * GET /metrics: the domain metrics (cached per state version, and gzipped once per version)
 * followed by the exporter's telemetry. With gzip, the body is one gzip member whose deflate
 * stream continues the cached domain part with the telemetry (see gzip-member.ts), so the large
 * part is never compressed twice and every client decodes the whole body.
 *
 * The format follows `Accept`: OpenMetrics 1.0 when the scraper prefers it (Prometheus does),
 * with `_created` samples so that a Prometheus ingesting created timestamps counts a counter's
 * first increments; the text format 0.0.4 otherwise.
 *
 * A scrape renders only once it holds one of `slots` (see response-slots.ts): what concurrent
 * scrapes keep in memory is bounded by their number, not by how many clients ask at once, and
 * under a crowd the slots rest between scrapes (SCRAPE_PAUSE_FACTOR).
 */
export function metricsHandler(
  domain: DomainMetrics,
  telemetry: Telemetry,
  slots = new ResponseSlots(RESPONSE_SLOTS, RESPONSE_HOLD_MS, { pauseFactor: SCRAPE_PAUSE_FACTOR }),
): RequestHandler {
  return async (req, res) => {
    if (!(await slots.take(res))) return;
    const openMetrics = negotiateFormat(req.headers.accept) === 'openmetrics';
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    // statusmate_component_impact_seconds_total ends the domain part: its fixed lines follow the
    // cached text (and are compressed with it), its open lines grow with the clock and are written
    // at every scrape, from the same state version as the fixed ones.
    const now = Date.now() / 1000;
    // With gzip, the domain part is started first: its open lines go to the thread pool before
    // the telemetry's collection (about 1 ms on the event loop) runs, rather than after it.
    const compressing = gzip ? domain.gzipScrape(now, openMetrics ? 'openmetrics' : 'text') : undefined;
    // Rendered while the domain part is compressed; awaited below. Until then a failure must not
    // count as an unhandled rejection (which would stop the process): the await reports it.
    const rendering = openMetrics ? telemetry.openMetrics() : telemetry.text();
    rendering.catch(() => undefined);
    let parts: Buffer[];
    if (compressing) {
      const body = await compressing;
      parts = [...body.parts, gzipEnd(body, Buffer.from(await rendering, 'utf8'))];
    } else if (openMetrics) {
      // The per-component families are the same bytes in both formats; the page families, the
      // impact seconds and the telemetry follow, and the telemetry ends the document with `# EOF`.
      const { head, tail } = domain.openMetrics();
      const seconds = domain.impactSecondsParts(now, 'openmetrics');
      // The open lines' memory is re-used by a later scrape: hold it until the socket is done with it.
      res.once('close', seconds.release);
      parts = [...head, tail, ...seconds.parts, Buffer.from(await rendering, 'utf8')];
    } else {
      const seconds = domain.impactSecondsParts(now, 'text');
      res.once('close', seconds.release);
      parts = [...domain.parts(), ...seconds.parts, Buffer.from(await rendering, 'utf8')];
    }
    res.writeHead(200, {
      'Content-Type': openMetrics ? OPENMETRICS_CONTENT_TYPE : CONTENT_TYPE,
      'Content-Length': parts.reduce((total, part) => total + part.length, 0),
      'Cache-Control': 'no-store',
      Vary: 'Accept, Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    // Hundreds of parts (the chunks of each family): corked, they leave in a few writes to the socket.
    res.cork();
    for (const part of parts.slice(0, -1)) res.write(part);
    res.end(parts[parts.length - 1]);
  };
}
