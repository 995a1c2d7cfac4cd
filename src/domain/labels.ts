export const MAX_LABEL_LENGTH = 200;

/**
 * The most bytes a cut value takes as /metrics writes it: UTF-8, with `\`, `"` and a line feed
 * escaped in two. A component's name and its page's id are in each of its dozen or so series, so
 * at MAX_COMPONENTS the exposition is about 130,000 times them: at 200 characters alone a name of
 * emoji (800 bytes) or of quotes (400 bytes written) made a scrape of 113 to 130 MB, which took the
 * exporter past the chart's 384 MiB limit (OOM-killed at the first scrape, and again after each
 * restart). Within 200 bytes the exposition is what 200 ASCII characters make.
 */
export const MAX_LABEL_BYTES = 200;

/**
 * Why a status page name from a webhook (`?status_page=`, `meta.status_page`) or from
 * DEFAULT_STATUS_PAGE cannot be a status_page label, or undefined when it can (the ids of
 * STATUS_PAGES_FILE follow a stricter rule of their own). Spaces, punctuation and any letter are carried whole by every consumer (the exposition
 * escapes them, the landing page and its links encode them, the CSV quotes them, the rules quote
 * them with %q). Two kinds do break one: Grafana puts a selected page into the dashboards' queries as
 * `status_page=~"<name>"`, escaping regex characters but neither `"` nor a line break, so the
 * query no longer parses; and a control character is invisible in every view besides. A lone
 * surrogate (JSON may escape one) is not text at all.
 */
export function pageNameProblem(name: string): string | undefined {
  if (name.includes('"')) return 'must not hold a double quote (", which breaks the dashboards\' queries when the page is selected)';
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'must not hold a control character (a line break, a tab, …)';
  // A lone surrogate is written as U+FFFD: two names differing only in one would be one series twice.
  if (/[\ud800-\udfff]/u.test(name)) return 'must not hold a lone surrogate (\\ud800 to \\udfff alone: not Unicode text, written as U+FFFD)';
  return undefined;
}

/** The bytes one character (a code point, or a lone surrogate) takes in the exposition. */
function exposedBytes(code: number): number {
  if (code < 0x80) return code === 0x5c || code === 0x22 || code === 0x0a ? 2 : 1;
  if (code < 0x800) return 2;
  return code < 0x10000 ? 3 : 4;
}

/**
 * Cuts a label value to MAX_LABEL_LENGTH characters and MAX_LABEL_BYTES bytes as written. Counts
 * code points, not UTF-16 units, so an emoji at the boundary is kept or dropped whole, never
 * split into a lone surrogate. (Names, page ids and titles are all cut by it.)
 */
export function cutLabel(value: string): string {
  if (value.length <= MAX_LABEL_LENGTH && fits(value)) return value;
  const kept: string[] = [];
  let bytes = 0;
  for (const char of value) {
    const size = exposedBytes(char.codePointAt(0) as number);
    if (kept.length === MAX_LABEL_LENGTH || bytes + size > MAX_LABEL_BYTES) break;
    kept.push(char);
    bytes += size;
  }
  // Joined into a string of its own: a slice would keep the whole text sent alive behind it (up
  // to MAX_BODY_BYTES), and appending a character at a time made a tree of one-character strings
  // (about 40 bytes a character until V8 flattened it).
  return kept.join('');
}

/** Whether `value` is within MAX_LABEL_BYTES as written (by UTF-16 units: no string of characters is made). */
function fits(value: string): boolean {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.codePointAt(i) as number;
    if (code > 0xffff) i += 1;
    bytes += exposedBytes(code);
    if (bytes > MAX_LABEL_BYTES) return false;
  }
  return true;
}
