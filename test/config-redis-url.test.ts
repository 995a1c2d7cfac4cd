import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('REDIS_URL with a password the client cannot decode', () => {
  it('is refused at start-up with the one-line configuration error, not a URIError at connect', () => {
    expect(() => loadConfig({ STORE: 'redis', REDIS_URL: 'redis://sm:100%zz@127.0.0.1:6379' })).toThrow(/REDIS_URL: .*percent-encode/);
  });
  it('takes a percent-encoded one', () => {
    expect(loadConfig({ STORE: 'redis', REDIS_URL: 'redis://sm:100%25zz@127.0.0.1:6379' }).redisUrl).toBe('redis://sm:100%25zz@127.0.0.1:6379');
  });
});
