// Prometheus label matchers (`service="checkout"`, `env=~"prod|canary"`), as a component's
// `alert_matchers` in the status pages file: they select the alerts the component explains. The
// same matchers become an Alertmanager silence (API v2 matcher objects) and decide which alerts
// received on /alertmanager count against the component. Pure: no I/O.

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
 * What JavaScript takes and RE2 (Prometheus', Alertmanager's) refuses, outside a character class:
 * lookarounds and backreferences. Alertmanager answers 400 to a silence with one, and the
 * exporter would match alerts Alertmanager never could.
 */
function re2Refuses(value: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < value.length; i += 1) {
    const char = value[i];
    if (char === '\\') {
      const next = value[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || next === 'k')) return `a backreference (\\${next})`;
      i += 1;
    } else if (inClass) {
      if (char === ']') inClass = false;
    } else if (char === '[') {
      inClass = true;
    } else if (char === '(' && value[i + 1] === '?') {
      const kind = value.slice(i + 2, i + 4);
      if (kind.startsWith('=') || kind.startsWith('!') || kind === '<=' || kind === '<!')
        return `a lookaround (${value.slice(i, i + (kind.startsWith('<') ? 4 : 3))}…)`;
    }
  }
  return undefined;
}

/** RE2's flags at the start of an expression (`(?i)`), which JavaScript writes after it. */
const LEADING_FLAGS = /^\(\?([is]+)\)/;

/**
 * The anchored expression of a regex matcher, as RE2 reads it; throws AlertMatcherError when
 * RE2 would refuse it or JavaScript cannot compile it.
 */
function compile(value: string, text: string): RegExp {
  const refused = re2Refuses(value);
  if (refused !== undefined) throw new AlertMatcherError(`${text}: not a regular expression Prometheus and Alertmanager take: ${refused} is not RE2 syntax`);
  const leading = LEADING_FLAGS.exec(value);
  const flags = leading?.[1]?.includes('i') ? 'siu' : 'su';
  const body = leading ? value.slice(leading[0].length) : value;
  try {
    // Prometheus anchors regex matchers; `u` keeps code points whole as RE2 does.
    return new RegExp(`^(?:${body})$`, flags);
  } catch (error) {
    throw new AlertMatcherError(`${text}: not a valid regular expression (${(error as Error).message}; RE2's flags, as in (?i), are taken at its start only)`);
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

const compiled = new WeakMap<AlertMatcher, RegExp>();

/** Whether one matcher selects these labels; a missing label is the empty string, as in Prometheus. */
export function matchesLabel(matcher: AlertMatcher, labels: AlertLabels): boolean {
  const actual = Object.hasOwn(labels, matcher.name) ? (labels[matcher.name] ?? '') : '';
  let equal: boolean;
  if (matcher.isRegex) {
    let expression = compiled.get(matcher);
    if (!expression) {
      expression = compile(matcher.value, matcher.name);
      compiled.set(matcher, expression);
    }
    equal = expression.test(actual);
  } else {
    equal = actual === matcher.value;
  }
  return equal === matcher.isEqual;
}

/**
 * Whether the matcher selects an alert that lacks its label. Alertmanager refuses a silence whose
 * matchers all do (it would silence everything), so a component needs one that does not.
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
