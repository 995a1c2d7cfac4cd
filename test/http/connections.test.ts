import { describe, expect, it } from 'vitest';
import { connectionCaps, descriptorLimit, METRICS_MAX_CONNECTIONS, RESERVED_DESCRIPTORS } from '../../src/http/connections.js';

const limits = (soft: string, hard: string) => `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     
Max locked memory         8388608              8388608              bytes     
`;

describe('the open-file limit', () => {
  it('is the soft limit of "Max open files" in /proc/self/limits', () => {
    expect(descriptorLimit(limits('1024', '1048576'))).toBe(1024);
  });

  it('is unbounded when the soft limit is unlimited', () => {
    expect(descriptorLimit(limits('unlimited', 'unlimited'))).toBe(Number.POSITIVE_INFINITY);
  });

  it('is taken as 1024, the usual default, when /proc cannot tell', () => {
    expect(descriptorLimit('')).toBe(1024);
    expect(descriptorLimit('no such line')).toBe(1024);
  });

  it('is read from this process on Linux', () => {
    expect(descriptorLimit()).toBeGreaterThan(RESERVED_DESCRIPTORS);
  });
});

describe('the connection caps', () => {
  it('are MAX_CONNECTIONS for the webhook port and a share of their own for the metrics port when descriptors are plenty', () => {
    expect(connectionCaps(20_000, 1000, true)).toEqual({ main: 1000, metrics: METRICS_MAX_CONNECTIONS, lowered: false });
  });

  it('leave the reserve and the metrics share free under ulimit -n 1024, lowering MAX_CONNECTIONS', () => {
    const caps = connectionCaps(1024, 1000, true);
    expect(caps).toEqual({ main: 1024 - RESERVED_DESCRIPTORS - METRICS_MAX_CONNECTIONS, metrics: METRICS_MAX_CONNECTIONS, lowered: true });
    expect(caps.main + caps.metrics + RESERVED_DESCRIPTORS).toBeLessThanOrEqual(1024);
  });

  it('give the webhook port everything past the reserve when it also serves /metrics', () => {
    expect(connectionCaps(1024, 5000, false)).toEqual({ main: 1024 - RESERVED_DESCRIPTORS, metrics: 0, lowered: true });
  });

  it('stay within a tiny limit, each port keeping at least one connection', () => {
    const caps = connectionCaps(100, 1000, true);
    expect(caps.main).toBeGreaterThanOrEqual(1);
    expect(caps.metrics).toBeGreaterThanOrEqual(1);
    expect(caps.main + caps.metrics + RESERVED_DESCRIPTORS).toBeLessThanOrEqual(100);
    expect(connectionCaps(10, 1000, true)).toMatchObject({ main: 1, metrics: 1 });
  });
});
