import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logRequest, REFUSALS_LOGGED_PER_SECOND } from '../../src/http/access-log.js';
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

describe('a flood of refused requests', () => {
  afterEach(() => vi.useRealTimers());

  it('writes a budget of lines per second and status, then says how many went unwritten, and never holds back another status', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 4, 12, 0, 0, 100) });
    const logs = new LogCapture();
    const logger = createLogger('debug', logs);
    for (let n = 0; n < 50; n += 1) logRequest(logger, request, '/webhook', 401, process.hrtime.bigint());
    logRequest(logger, request, '/nope', 404, process.hrtime.bigint());
    logRequest(logger, request, '/webhook', 200, process.hrtime.bigint());
    expect(logs.lines.filter((line) => line.status === 401)).toHaveLength(REFUSALS_LOGGED_PER_SECOND);
    expect(logs.lines.filter((line) => line.status !== 401).map((line) => line.status)).toEqual([404, 200]);
    vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 0, 1, 100));
    logRequest(logger, request, '/webhook', 401, process.hrtime.bigint());
    expect(logs.lines.at(-1)).toMatchObject({ status: 401, suppressed_before: 50 - REFUSALS_LOGGED_PER_SECOND });
    logRequest(logger, request, '/webhook', 401, process.hrtime.bigint());
    expect(logs.lines.at(-1)).not.toHaveProperty('suppressed_before');
  });
});
