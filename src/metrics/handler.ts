import { gzipSync } from 'node:zlib';
import type { RequestHandler } from 'express';
import type { DomainMetrics } from './domain.js';
import { CONTENT_TYPE } from './exposition.js';
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
 * followed by the exporter's telemetry. With gzip, the two parts are two gzip members of one
 * stream (RFC 1952 §2.2), so the large domain part is never compressed twice.
 */
export function metricsHandler(domain: DomainMetrics, telemetry: Telemetry): RequestHandler {
  return async (req, res) => {
    const own = Buffer.from(await telemetry.text(), 'utf8');
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    let first: Buffer;
    let second: Buffer;
    if (gzip) {
      first = await domain.gzip();
      second = gzipSync(own, { level: 1 });
    } else {
      // The text's memory is re-used by a later render: hold it until the socket is done with it.
      const lent = domain.lend();
      res.once('close', lent.release);
      first = lent.text;
      second = own;
    }
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPE,
      'Content-Length': first.length + second.length,
      'Cache-Control': 'no-store',
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    res.write(first);
    res.end(second);
  };
}
