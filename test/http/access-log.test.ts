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

describe('a flood of failed requests (the store down, StatusMate retrying)', () => {
  afterEach(() => vi.useRealTimers());
  const storeDown = { type: 'component_impact_updated', outcome: 'error', error: 'store failed: not stored: the redis store is unavailable' };
  const diskFull = { type: 'component_impact_updated', outcome: 'error', error: 'store failed: not stored: SQLite append failed: database or disk is full' };

  it('writes the first line of each cause in full, then a budget a second per cause, and the next line says how many went unwritten', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 4, 12, 0, 0, 100) });
    const logs = new LogCapture();
    const logger = createLogger('info', logs);
    for (let n = 0; n < 500; n += 1) logRequest(logger, request, '/webhook', 503, process.hrtime.bigint(), storeDown);
    logRequest(logger, request, '/webhook', 503, process.hrtime.bigint(), diskFull);
    expect(logs.lines).toHaveLength(REFUSALS_LOGGED_PER_SECOND + 1);
    expect(logs.lines[0]).toMatchObject({ level: 'error', status: 503, error: storeDown.error });
    expect(logs.lines.at(-1)).toMatchObject({ level: 'error', status: 503, error: diskFull.error });
    vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 0, 1, 100));
    logRequest(logger, request, '/webhook', 503, process.hrtime.bigint(), storeDown);
    expect(logs.lines.at(-1)).toMatchObject({ status: 503, error: storeDown.error, suppressed_before: 500 - REFUSALS_LOGGED_PER_SECOND });
  });

  it('says how many lines went unwritten once the failures stop, so that the log accounts for every failed request', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 4, 12, 0, 0, 100) });
    const logs = new LogCapture();
    const logger = createLogger('info', logs);
    let failed = 0;
    for (let second = 0; second < 3; second += 1) {
      vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 0, second, 100));
      for (let n = 0; n < 300; n += 1, failed += 1) logRequest(logger, request, '/webhook', 503, process.hrtime.bigint(), storeDown);
    }
    vi.advanceTimersByTime(5_000);
    const requests = logs.lines.filter((line) => line.msg === 'request');
    const leftOut = logs.lines.filter((line) => line.msg !== 'request');
    expect(requests).toHaveLength(3 * REFUSALS_LOGGED_PER_SECOND);
    expect(leftOut).toEqual([expect.objectContaining({ level: 'error', status: 503, error: storeDown.error, suppressed: 300 - REFUSALS_LOGGED_PER_SECOND })]);
    const counted = (line: Record<string, unknown>) => Number(line.suppressed_before ?? 0) + Number(line.suppressed ?? 0);
    expect(requests.length + [...requests, ...leftOut].reduce((sum, line) => sum + counted(line), 0)).toBe(failed);
  });
});
