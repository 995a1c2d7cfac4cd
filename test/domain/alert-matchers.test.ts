import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlertMatcherError, formatAlertMatcher, matchesAll, matchesEmpty, parseAlertMatcher } from '../../src/domain/alert-matchers.js';
import { parseInventory } from '../../src/inventory/file.js';

describe('alert matchers', () => {
  it('parses the four operators into Alertmanager matcher objects', () => {
    expect(parseAlertMatcher('service="checkout"')).toEqual({ name: 'service', value: 'checkout', isRegex: false, isEqual: true });
    expect(parseAlertMatcher(' env != "dev" ')).toEqual({ name: 'env', value: 'dev', isRegex: false, isEqual: false });
    expect(parseAlertMatcher('env=~"prod|canary"')).toEqual({ name: 'env', value: 'prod|canary', isRegex: true, isEqual: true });
    expect(parseAlertMatcher('team!~"db.*"')).toEqual({ name: 'team', value: 'db.*', isRegex: true, isEqual: false });
    expect(parseAlertMatcher('msg="say \\"hi\\"\\n"').value).toBe('say "hi"\n');
  });

  it('refuses what is not one matcher, naming it', () => {
    for (const bad of ['service', 'service=checkout', '1x="a"', 'a="b",c="d"', 'a=~"("', 'a="\\q"']) {
      expect(() => parseAlertMatcher(bad)).toThrow(AlertMatcherError);
    }
  });

  it('matches like Prometheus: regexes anchored, a missing label is empty, all must match', () => {
    const matchers = ['service="checkout"', 'env=~"prod|canary"'].map(parseAlertMatcher);
    expect(matchesAll(matchers, { service: 'checkout', env: 'prod' })).toBe(true);
    expect(matchesAll(matchers, { service: 'checkout', env: 'production' })).toBe(false);
    expect(matchesAll(matchers, { service: 'checkout' })).toBe(false);
    expect(matchesAll([parseAlertMatcher('env!="dev"')], {})).toBe(true);
    expect(matchesAll([], { service: 'checkout' })).toBe(false);
    expect(matchesEmpty(parseAlertMatcher('env=~".*"'))).toBe(true);
    expect(matchesEmpty(parseAlertMatcher('env="prod"'))).toBe(false);
  });

  it('reads regexes as RE2 does (Prometheus, Alertmanager): leading flags taken, lookarounds and backreferences refused', () => {
    // (?i) is RE2's; JavaScript refused it ("Invalid group") although Alertmanager silences with it.
    const caseless = parseAlertMatcher('env=~"(?i)prod"');
    expect(caseless.value).toBe('(?i)prod');
    expect(matchesAll([caseless], { env: 'PROD' })).toBe(true);
    expect(matchesAll([caseless], { env: 'preprod' })).toBe(false);
    // JavaScript took these; Alertmanager answers 400 to a silence with one.
    for (const [bad, what] of [
      ['service=~"(?!internal).*pay.*"', 'a lookahead'],
      ['service=~"(?<=a)b"', 'a lookbehind'],
      ['service=~"(a)\\\\1"', 'a backreference'],
    ]) {
      expect(() => parseAlertMatcher(bad as string), what).toThrow(/not RE2 syntax/);
    }
    // Inside a character class, or escaped, those characters are plain.
    expect(matchesAll([parseAlertMatcher('a=~"[(?!]x"')], { a: '!x' })).toBe(true);
    expect(matchesAll([parseAlertMatcher('a=~"\\\\(\\\\?!x"')], { a: '(?!x' })).toBe(true);
  });

  it('takes the RE2 syntax JavaScript lacks, and refuses what only JavaScript reads', () => {
    for (const [matcher, matching, other] of [
      ['a=~"[[:alpha:]]+"', 'abc', 'ab1'],
      ['a=~"\\\\pL+"', 'Ünï', 'a-b'],
      ['a=~"x(?i)y"', 'xY', 'XY'],
      ['a=~"\\\\Qa.b\\\\E"', 'a.b', 'axb'],
      ['a=~"\\\\x{41}"', 'A', 'B'],
      ['a=~"(?P<n>db)-.*"', 'db-1', 'dbx'],
      ['a=~"."', '\u{1f680}', '\u{1f680}\u{1f680}'],
      // As Alertmanager compiles a silence's matcher (^(?:…)$, no s flag): a dot is no line feed.
      ['a=~"a.*"', 'ab', 'a\nb'],
    ] as const) {
      const parsed = parseAlertMatcher(matcher);
      expect([matcher, matchesAll([parsed], { a: matching }), matchesAll([parsed], { a: other })]).toEqual([matcher, true, false]);
    }
    // a)|(b compiles only inside the anchoring group; Alertmanager compiles the pattern alone and answers 400.
    for (const bad of ['a=~"\\\\u0041"', 'a=~"x{1001}"', 'a=~"\\\\cJ"', 'a=~"a)|(b"']) {
      expect(() => parseAlertMatcher(bad), bad).toThrow(/not RE2 syntax/);
    }
  });

  it('matches in linear time: a nested repetition does not backtrack on a label that almost matches', () => {
    // JavaScript's backtracking engine took 9 to 35 s on these 31 characters (each two more
    // quadrupled it) and held the event loop all along; a linear engine takes well under a
    // millisecond, so the timeout below is a thousandfold margin, not a performance goal.
    const nested = parseAlertMatcher('service=~"([a-z0-9]+-?)+svc"');
    expect(matchesAll([nested], { service: `${'a'.repeat(30)}!` })).toBe(false);
    expect(matchesAll([nested], { service: 'payments-api-svc' })).toBe(true);
  }, 5_000);

  it('formats what it parses back to an equal matcher', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
    fc.assert(
      fc.property(name, fc.string({ maxLength: 20 }), fc.constantFrom('=', '!='), (label, value, operator) => {
        const matcher = { name: label, value, isRegex: false, isEqual: operator === '=' };
        expect(parseAlertMatcher(formatAlertMatcher(matcher))).toEqual(matcher);
      }),
    );
  });
});

describe('alert_matchers in the status pages file', () => {
  const file = (matchers: string) =>
    `status_pages:\n  - id: acme\n    components:\n      - uuid: 88337a51-852b-48f3-ac8d-840e5f5326a0\n        name: API\n        alert_matchers: ${matchers}\n`;

  it('gives each component its parsed matchers', () => {
    const inventory = parseInventory(file('[\'service="checkout"\', \'env=~"prod|canary"\']'), 'pages.yaml', {});
    expect(inventory.pages[0]?.components[0]?.alertMatchers).toEqual([
      { name: 'service', value: 'checkout', isRegex: false, isEqual: true },
      { name: 'env', value: 'prod|canary', isRegex: true, isEqual: true },
    ]);
  });

  it('refuses a bad matcher and matchers that would select every alert, naming the path', () => {
    expect(() => parseInventory(file("['service']"), 'pages.yaml', {})).toThrow(
      /status_pages\[0\]\.components\[0\]\.alert_matchers\[0\]: "service": not a matcher/,
    );
    expect(() => parseInventory(file('[\'env=~".*"\']'), 'pages.yaml', {})).toThrow(/alert_matchers: needs one matcher/);
  });
});
