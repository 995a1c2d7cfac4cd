import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { logRequest } from '../../src/http/access-log.js';
import { createLogger } from '../../src/logger.js';
import { LogCapture } from '../support/app.js';

const request = { method: 'GET', socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;

/** The level of the access-log line of a request to `url` answered `status`. */
function levelOf(url: string, status: number): unknown {
  const logs = new LogCapture();
  logRequest(createLogger('debug', logs), request, url, status, process.hrtime.bigint());
  expect(logs.lines).toHaveLength(1);
  return logs.lines[0]?.level;
}

describe('the access log', () => {
  it('keeps probes at debug whatever they answer: a not-ready replica is probed every few seconds, and its store says why once', () => {
    expect(levelOf('/readyz', 503)).toBe('debug');
    expect(levelOf('/readyz', 200)).toBe('debug');
    expect(levelOf('/healthz?x=1', 200)).toBe('debug');
  });

  it('logs a failed scrape or webhook at error, a refused one at warn, and an answered webhook at info', () => {
    expect(levelOf('/metrics', 200)).toBe('debug');
    expect(levelOf('/metrics', 500)).toBe('error');
    expect(levelOf('/webhook', 503)).toBe('error');
    expect(levelOf('/webhook', 401)).toBe('warn');
    expect(levelOf('/webhook', 200)).toBe('info');
  });
});
