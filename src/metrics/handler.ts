import type { RequestHandler } from 'express';
import type { DomainMetrics } from './domain.js';
import { CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, negotiateFormat } from './exposition.js';
import { gzipEnd } from './gzip-member.js';
import type { Telemetry } from './telemetry.js';

function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    return !params.some((param) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(param));
  });
}

/**
 * GET /metrics: the domain metrics (cached per state version, and gzipped once per version)
 * followed by the exporter's telemetry. With gzip, the body is one gzip member whose deflate
 * stream continues the cached domain part with the telemetry (see gzip-member.ts), so the large
 * part is never compressed twice and every client decodes the whole body.
 *
 * The format follows `Accept`: OpenMetrics 1.0 when the scraper prefers it (Prometheus does),
 * with `_created` samples so that a Prometheus ingesting created timestamps counts a counter's
 * first increments; the text format 0.0.4 otherwise.
 */
export function metricsHandler(domain: DomainMetrics, telemetry: Telemetry): RequestHandler {
  return async (req, res) => {
    const openMetrics = negotiateFormat(req.headers.accept) === 'openmetrics';
    const own = Buffer.from(openMetrics ? await telemetry.openMetrics() : await telemetry.text(), 'utf8');
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    // The impact seconds grow with the clock: rendered at every scrape, after the cached part.
    const lentSeconds = domain.lendImpactSeconds(Date.now() / 1000, openMetrics ? 'openmetrics' : 'text');
    res.once('close', lentSeconds.release);
    const seconds = lentSeconds.text;
    let parts: Buffer[];
    if (openMetrics) {
      // The per-component families are the same bytes in both formats; the page families and
      // the telemetry follow, and the telemetry ends the document with `# EOF`.
      if (gzip) {
        const head = await domain.gzipOpenMetricsHead();
        parts = [head.bytes, gzipEnd(head, Buffer.concat([domain.openMetricsTail(), seconds, own]))];
      } else {
        const { head, tail } = domain.openMetrics();
        res.once('close', head.release);
        parts = [head.text, tail, seconds, own];
      }
    } else if (gzip) {
      const start = await domain.gzip();
      parts = [start.bytes, gzipEnd(start, Buffer.concat([seconds, own]))];
    } else {
      // The text's memory is re-used by a later render: hold it until the socket is done with it.
      const lent = domain.lend();
      res.once('close', lent.release);
      parts = [lent.text, seconds, own];
    }
    res.writeHead(200, {
      'Content-Type': openMetrics ? OPENMETRICS_CONTENT_TYPE : CONTENT_TYPE,
      'Content-Length': parts.reduce((total, part) => total + part.length, 0),
      'Cache-Control': 'no-store',
      Vary: 'Accept, Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    for (const part of parts.slice(0, -1)) res.write(part);
    res.end(parts[parts.length - 1]);
  };
}
