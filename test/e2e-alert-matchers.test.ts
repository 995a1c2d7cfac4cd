import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAlertMatcher, matchesAll, parseAlertMatcher, type AlertMatcher, type AlertLabels } from '../src/domain/alert-matchers.js';
import { tempDir } from './support/app.js';
import { findAlertmanager, PORT_TAKEN, startAlertmanager } from './support/alertmanager.js';
import { freePort, stop, type Child } from './support/prometheus.js';

// A component's alert_matchers decide two things: which alerts received on POST /alertmanager
// count against it (matchesAll, in the exporter) and which alerts its maintenance's silence mutes
// (the same matchers, in Alertmanager). Both must agree, label value by label value, and the
// exporter must take no matcher Alertmanager refuses in a silence (it would retry that silence for
// ever). A real Alertmanager is the reference: every matcher below becomes a silence, every label
// value an alert, and Alertmanager says which alerts its silences mute.
//
// Left out on purpose: Unicode classes of characters added after the Unicode version of the Go
// Alertmanager was built with (\p{L} of a Unicode 14 letter), and (?<name>…), which Go takes
// since 1.22 only: both depend on the Alertmanager build, not on the exporter.

const alertmanagerTool = findAlertmanager();

const REGEXES = [
  '',
  '.*',
  '.+',
  'a|',
  'a||b',
  'foo|bar',
  'foo|bar.*',
  'a.b|c',
  '^a$',
  '\\d+',
  '[[:alpha:]]+',
  '[[:^alpha:]]',
  '\\pL+',
  '\\p{Greek}+',
  '(?i)abc',
  '(?i:a)bc',
  'a(?i)bc',
  '(?i)k',
  '(?i)ß',
  'a.b',
  '.',
  '(?s).',
  '[^a]',
  'x{2,3}',
  'x{,3}',
  '[]a]',
  '[a-]',
  'a\\.b',
  '\\Qa.b\\E',
  '\\x{1F600}',
  '\\101',
  '\\ba\\b',
  '\\s',
  '\\w+',
  '😀',
  'a)|(b',
  '(a',
  '(?=a)a',
  '(a)\\1',
  'x{1001}',
  '\\u0041',
];

/** Label values; undefined: the alert lacks the label (Alertmanager drops an empty one too). */
const VALUES: Array<string | undefined> = [
  undefined,
  'a',
  'A',
  'abc',
  'aBC',
  'foo',
  'barx',
  'a\nb',
  'a.b',
  'axb',
  'c',
  'x',
  'xx',
  'xxxx',
  'x{,3}',
  'k',
  'K',
  '\u212a',
  'ß',
  'ẞ',
  'σ',
  '😀',
  '😀😀',
  '123',
  ']',
  '-',
  'a\n',
  '\n',
  ' ',
  'ab',
  'a b',
];

type Case = { text: string; matcher: AlertMatcher | undefined; refused: string | undefined };

function cases(): Case[] {
  const texts = [...REGEXES.flatMap((regex) => [`l=~${JSON.stringify(regex)}`, `l!~${JSON.stringify(regex)}`]), 'l="a"', 'l!="a"', 'l="a\\nb"'];
  return texts.map((text) => {
    try {
      return { text, matcher: parseAlertMatcher(text), refused: undefined };
    } catch (error) {
      return { text, matcher: undefined, refused: (error as Error).message };
    }
  });
}

describe.skipIf(alertmanagerTool.skipReason !== undefined)("alert matchers against a real Alertmanager's silences", () => {
  let alertmanager: Child | undefined;
  let url = '';
  const run = `run-${Date.now()}`;

  beforeAll(async () => {
    const dir = tempDir('statusmate-am-matchers-');
    for (let tries = 1; ; tries += 1) {
      const port = await freePort();
      try {
        alertmanager = await startAlertmanager(alertmanagerTool, {
          storage: mkdtempSync(join(dir, 'am-')),
          port,
          config: 'route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n',
        });
        url = `http://127.0.0.1:${port}`;
        return;
      } catch (error) {
        if (tries === 3 || !PORT_TAKEN.test(String(error))) throw error;
      }
    }
  });

  afterAll(async () => {
    if (alertmanager) await stop(alertmanager);
  });

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, text: await response.text() };
  }

  it('selects the alerts Alertmanager silences with the same matchers, and takes no matcher Alertmanager refuses', async () => {
    const all = cases();
    const now = Date.now();
    const window = { startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString() };
    // Each matcher's silence also names its case, so that it mutes only that case's alerts.
    const silenced = new Map<number, boolean>();
    for (const [index, { matcher }] of all.entries()) {
      if (!matcher) continue;
      const scope = [
        { name: 'run', value: run, isRegex: false, isEqual: true },
        { name: 'case', value: String(index), isRegex: false, isEqual: true },
      ];
      const answer = await api('POST', '/api/v2/silences', {
        matchers: [...scope, matcher],
        ...window,
        createdBy: 'test',
        comment: formatAlertMatcher(matcher),
      });
      silenced.set(index, answer.status === 200);
    }
    const refusedByAlertmanager = all.filter((_, index) => silenced.get(index) === false).map((c) => c.text);
    expect(refusedByAlertmanager).toEqual([]);

    const alerts = all.flatMap(({ matcher }, index) =>
      matcher === undefined
        ? []
        : VALUES.map((value, valueIndex) => ({
            labels: { alertname: 'MatcherCase', run, case: String(index), value: String(valueIndex), ...(value === undefined ? {} : { l: value }) },
            ...window,
          })),
    );
    expect((await api('POST', '/api/v2/alerts', alerts)).status).toBe(200);
    const listed = await api('GET', `/api/v2/alerts?filter=${encodeURIComponent(`run="${run}"`)}`);
    const muted = new Map<string, boolean>();
    for (const alert of JSON.parse(listed.text) as Array<{ labels: Record<string, string>; status: { silencedBy: string[] } }>) {
      muted.set(`${alert.labels.case}/${alert.labels.value}`, alert.status.silencedBy.length > 0);
    }
    expect(muted.size).toBe(alerts.length);

    const disagreements: string[] = [];
    for (const [index, { text, matcher }] of all.entries()) {
      if (!matcher) continue;
      for (const [valueIndex, value] of VALUES.entries()) {
        const labels: AlertLabels = value === undefined ? {} : { l: value };
        const exporter = matchesAll([matcher], labels);
        const reference = muted.get(`${index}/${valueIndex}`);
        if (exporter !== reference) disagreements.push(`${text} on ${JSON.stringify(value ?? null)}: exporter ${exporter}, Alertmanager ${reference}`);
      }
    }
    expect(disagreements).toEqual([]);
    // Something was compared: most of the matchers are taken, and some refused.
    expect(all.filter((c) => c.matcher !== undefined).length).toBeGreaterThan(60);
    expect(all.filter((c) => c.refused !== undefined).map((c) => c.text)).toEqual([
      'l=~"a)|(b"',
      'l!~"a)|(b"',
      'l=~"(a"',
      'l!~"(a"',
      'l=~"(?=a)a"',
      'l!~"(?=a)a"',
      'l=~"(a)\\\\1"',
      'l!~"(a)\\\\1"',
      'l=~"x{1001}"',
      'l!~"x{1001}"',
      'l=~"\\\\u0041"',
      'l!~"\\\\u0041"',
    ]);
  });
});
