// Prometheus label matchers (`service="checkout"`, `env=~"prod|canary"`), as a component's
// `alert_matchers` in the status pages file: they select the alerts the component explains. The
// same matchers become an Alertmanager silence (API v2 matcher objects) and decide which alerts
// received on /alertmanager count against the component. Pure: no I/O.

import { RE2JS } from 're2js';

/** One matcher, in Alertmanager API v2's shape (a silence's `matchers` items). */
export type AlertMatcher = {
  name: string;
  value: string;
  /** `=~` and `!~`: the value is a regular expression, anchored at both ends as Prometheus does. */
  isRegex: boolean;
  /** `=` and `=~` match; `!=` and `!~` are their negations. */
  isEqual: boolean;
};

/** Labels of an alert, as Alertmanager sends them. */
export type AlertLabels = Readonly<Record<string, string>>;

/** The most matchers one component may have, and the longest matcher string. */
export const MAX_ALERT_MATCHERS = 20;
export const MAX_ALERT_MATCHER_LENGTH = 1024;

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/s;
/** The escapes a PromQL double-quoted string may use, and what they stand for. */
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', '"': '"', n: '\n', t: '\t', r: '\r' };

export class AlertMatcherError extends Error {
  override name = 'AlertMatcherError';
}

function unescape(raw: string, text: string): string {
  return raw.replace(/\\(.)/gs, (_, char: string) => {
    const replacement = ESCAPES[char];
    if (replacement === undefined) throw new AlertMatcherError(`${text}: unknown escape \\${char} in the value`);
    return replacement;
  });
}

/**
 * The anchored expression of a regex matcher, read by RE2's syntax and run in linear time, as
 * Prometheus and Alertmanager (Go's regexp) do; throws AlertMatcherError when RE2 refuses it.
 * JavaScript's own engine took lookarounds and backreferences, which Alertmanager answers 400 in
 * a silence, and backtracks: a matcher such as `([a-z]+-?)+svc` held the process for seconds on
 * one alert label of 30 characters.
 */
function compile(value: string, text: string): RE2JS {
  try {
    // As Alertmanager reads a silence's matcher: the pattern must compile on its own (`a)|(b`
    // does not), and it is anchored (testExact) without `s`, so `.` matches no line feed.
    return RE2JS.compile(value);
  } catch (error) {
    throw new AlertMatcherError(`${text}: not RE2 syntax, which Prometheus and Alertmanager read (${(error as Error).message})`);
  }
}

/**
 * Parses one matcher string such as `service="checkout"` or `env=~"prod|canary"`. Throws an
 * AlertMatcherError naming the string when it is not one matcher.
 */
export function parseAlertMatcher(text: string): AlertMatcher {
  if (text.length > MAX_ALERT_MATCHER_LENGTH) throw new AlertMatcherError(`longer than ${MAX_ALERT_MATCHER_LENGTH} characters`);
  const found = MATCHER.exec(text);
  if (!found) throw new AlertMatcherError(`${JSON.stringify(text)}: not a matcher like name="value", name!="value", name=~"regex" or name!~"regex"`);
  const [, name, operator, raw] = found as unknown as [string, string, '=' | '!=' | '=~' | '!~', string];
  const value = unescape(raw, JSON.stringify(text));
  const isRegex = operator === '=~' || operator === '!~';
  if (isRegex) compile(value, JSON.stringify(text));
  return { name, value, isRegex, isEqual: operator === '=' || operator === '=~' };
}

/** The matcher as Prometheus writes it: `name="value"`, with the value escaped. */
export function formatAlertMatcher(matcher: AlertMatcher): string {
  const operator = matcher.isRegex ? (matcher.isEqual ? '=~' : '!~') : matcher.isEqual ? '=' : '!=';
  const value = matcher.value.replace(/[\\"\n\t\r]/g, (char) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r' })[char] ?? char);
  return `${matcher.name}${operator}"${value}"`;
}

/** What RE2 would read as literal text only: no metacharacter but `|`. */
const LITERAL_ALTERNATION = /^[^\\^$.|?*+()[\]{}]*(?:\|[^\\^$.|?*+()[\]{}]*)*$/;

/** Tells whether a label value matches: a set of words (`prod|canary`), or an RE2 expression. */
type Expression = { has(value: string): boolean };

/**
 * The matcher's expression. An alternation of literal words, the most common regex matcher, is
 * a set: the same answer as RE2 (anchored, so a whole word), a few times faster. Any other is
 * RE2's, after a test of the literal text its matches start with, which turns most alerts away
 * at the cost of a string comparison (RE2 costs about a microsecond a test).
 */
function expressionOf(value: string, text: string): Expression {
  if (LITERAL_ALTERNATION.test(value)) return new Set(value.split('|'));
  const expression = compile(value, text);
  // RE2's own reading of the text every match starts with ('' for none, as under (?i)).
  const found: unknown = expression.re2().prefix;
  const prefix = typeof found === 'string' ? found : '';
  return { has: (actual) => actual.startsWith(prefix) && expression.testExact(actual) };
}

const compiled = new WeakMap<AlertMatcher, Expression>();

/** Whether one matcher selects these labels; a missing label is the empty string, as in Prometheus. */
export function matchesLabel(matcher: AlertMatcher, labels: AlertLabels): boolean {
  const actual = Object.hasOwn(labels, matcher.name) ? (labels[matcher.name] ?? '') : '';
  let equal: boolean;
  if (matcher.isRegex) {
    let expression = compiled.get(matcher);
    if (!expression) {
      expression = expressionOf(matcher.value, matcher.name);
      compiled.set(matcher, expression);
    }
    equal = expression.has(actual);
  } else {
    equal = actual === matcher.value;
  }
  return equal === matcher.isEqual;
}

/**
 * Whether the matcher selects an alert that lacks its label. A component needs a matcher that
 * does not, or its maintenance's silence would mute nearly every alert. Alertmanager refuses only
 * silences whose `=` and `=~` matchers all match the empty value (it counts `!=` and `!~` as
 * never matching it); the exporter refuses `env!="dev"` alone too.
 */
export function matchesEmpty(matcher: AlertMatcher): boolean {
  return matchesLabel(matcher, {});
}

/**
 * Whether every matcher selects these labels (a silence's rule). An empty list selects nothing:
 * a component without matchers explains no alert.
 */
export function matchesAll(matchers: readonly AlertMatcher[], labels: AlertLabels): boolean {
  if (matchers.length === 0) return false;
  return matchers.every((matcher) => matchesLabel(matcher, labels));
}
