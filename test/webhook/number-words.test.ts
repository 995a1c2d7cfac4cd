import { describe, expect, it } from 'vitest';
import { parseWebhook } from '../../src/webhook/schema.js';

// A number JSON cannot hold in a double (1e400) parses as Infinity, and one past 2^53 loses its
// last digits: the 400 must say what to send, in the words of the other errors, not zod's.
const COMPONENT = '55555555-5555-4555-8555-555555555555';

const issuesOf = (body: string) => {
  const parsed = parseWebhook(JSON.parse(body), 'default');
  if (parsed.kind !== 'invalid') throw new Error(`not refused: ${JSON.stringify(parsed)}`);
  return parsed.issues;
};
const withAttempt = (attempt: string) =>
  `{"meta":{"type":"component_impact_updated","uuid":"${COMPONENT}","impact":"major_outage","delivery_attempt":${attempt}}}`;

describe('a delivery_attempt out of range', () => {
  it.each(['1e400', '-1e400'])('%s (Infinity once parsed) is refused as not a finite number', (attempt) => {
    expect(issuesOf(withAttempt(attempt))).toEqual([{ path: 'meta.delivery_attempt', message: 'must be a finite number' }]);
  });

  it('past 2^53 is refused naming the largest taken, not in zod\'s "expected int to be <=" words', () => {
    expect(issuesOf(withAttempt('1152921504606846976'))).toEqual([{ path: 'meta.delivery_attempt', message: 'must be 9007199254740991 or less' }]);
  });
});
