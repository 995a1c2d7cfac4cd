import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROCESS_FAMILIES } from '../src/metrics/names.js';
import { ROOT } from './support/prometheus.js';

// The documents send readers to each other: links with an anchor, and sections named in prose
// ("see the README's *Running several replicas*"). A section renamed or removed leaves the
// reader at a link to nowhere, or looking for a heading that is not there.

const DOCUMENTS = ['README.md', 'docs/alerts.md', 'docs/api.md', 'docs/metrics.md', 'helm/statusmate-exporter/README.md'];
const CHART_README = 'helm/statusmate-exporter/README.md';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
/** The text outside fenced code blocks, whose `#` lines are comments, not headings. */
const prose = (path: string) => read(path).replace(/^```[\s\S]*?^```/gm, '');

const headings = (path: string) => [...prose(path).matchAll(/^#{1,6} (.*)$/gm)].map((match) => (match[1] ?? '').replaceAll('`', '').trim());
/** GitHub's anchors: lower case, punctuation dropped, spaces as dashes, a repeated one numbered. */
function anchors(path: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const heading of headings(path)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return out;
}
/** What a prose reference may name: a heading, or a paragraph's or bullet's bold lead-in. */
const sections = (path: string) => [...headings(path), ...[...prose(path).matchAll(/\*\*([^*]+)\*\*/g)].map((match) => match[1] ?? '')];

describe('references between the documents', () => {
  it('link to files that exist, and to headings those files have', () => {
    const broken: string[] = [];
    for (const document of DOCUMENTS) {
      for (const match of prose(document).matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = match[1] ?? '';
        if (/^[a-z]+:/.test(link)) continue;
        const [file = '', anchor] = link.split('#');
        const target = file === '' ? document : join(dirname(document), file);
        if (!existsSync(join(ROOT, target))) broken.push(`${document}: ${link} (no such file)`);
        else if (anchor !== undefined && target.endsWith('.md') && !anchors(target).has(anchor)) broken.push(`${document}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('name sections, in prose, that the document they point at has', () => {
    const found: string[] = [];
    const missing: string[] = [];
    for (const document of DOCUMENTS) {
      const text = prose(document).replace(/\s+/g, ' ');
      const references = [
        // "the README's *X*", "README, "X"", "its README, "X"" (the chart's, from the README)
        ...[...text.matchAll(/(its |the chart's )?README(?:'s)?,? [*"]([^*"]+)[*"]/g)].map((match) => ({
          target: match[1] !== undefined ? CHART_README : 'README.md',
          name: match[2] ?? '',
        })),
        // "docs/alerts.md, *X*"
        ...[...text.matchAll(/(?:docs\/)?(alerts|api|metrics)\.md,? [*"]([^*"]+)[*"]/g)].map((match) => ({
          target: `docs/${match[1]}.md`,
          name: match[2] ?? '',
        })),
        // "(see *X*)": a section of the same document
        ...[...text.matchAll(/\bsee \*([^*]+)\*/g)].map((match) => ({ target: document, name: match[1] ?? '' })),
      ];
      for (const { target, name } of references) {
        found.push(name);
        if (!sections(target).some((section) => section.replace(/\s+/g, ' ').startsWith(name)))
          missing.push(`${document}: "${name}" is no section of ${target}`);
      }
    }
    expect(found.length).toBeGreaterThan(8);
    expect(missing).toEqual([]);
  });
});

describe("the README's families that differ between replicas", () => {
  it('are the families about each process (PROCESS_FAMILIES), and no shared one', () => {
    // "(its own `webhook_` (all but `…`), `store_`, … families aside)": the prefixes, and the
    // families of a prefix that are shared state nonetheless.
    const sentence =
      /every replica serves the same `statusmate_` domain series \(its own (.*?) families aside/.exec(prose('README.md').replace(/\s+/g, ' '))?.[1] ?? '';
    const excepted = [...sentence.matchAll(/\(all but `([a-z_]+)`\)/g)].map((match) => `statusmate_${match[1]}`);
    const prefixes = [...sentence.replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)].map((match) => `statusmate_${match[1]}`);
    expect(prefixes.length).toBeGreaterThan(3);
    expect(PROCESS_FAMILIES.filter((family) => !prefixes.some((prefix) => family.startsWith(prefix)))).toEqual([]);
    expect(prefixes.filter((prefix) => !PROCESS_FAMILIES.some((family) => family.startsWith(prefix)))).toEqual([]);
    expect(excepted.filter((family) => PROCESS_FAMILIES.includes(family))).toEqual([]);
  });
});

describe('docs/metrics.md', () => {
  it('documents as per process exactly PROCESS_FAMILIES: the telemetry, store and silences sections, less the exceptions it names', () => {
    const text = prose('docs/metrics.md');
    const sectionOf = (heading: string) => text.slice(text.indexOf(`\n## ${heading}\n`), text.indexOf('\n## ', text.indexOf(`\n## ${heading}\n`) + 1));
    const families = (section: string) =>
      [...section.matchAll(/^### (.*)$/gm)].flatMap((match) => [...(match[1] ?? '').matchAll(/`(statusmate_[a-z_]+)`/g)].map((name) => name[1] ?? ''));
    const telemetry = sectionOf('Exporter telemetry');
    const excepted = [
      ...(/The families of this section \(all but ((?:`[a-z_]+`(?:, )?)+)/.exec(telemetry.replace(/\s+/g, ' '))?.[1] ?? '').matchAll(/`([a-z_]+)`/g),
    ].map((match) => match[1] ?? '');
    expect(excepted.length).toBeGreaterThan(0);
    const documented = [...families(telemetry), ...families(sectionOf('Store')), ...families(sectionOf('Maintenance silences'))].filter(
      (family) => !excepted.includes(family),
    );
    expect(documented.sort()).toEqual([...PROCESS_FAMILIES].sort());
  });
});

describe('the webhook URLs the documents give for StatusMate', () => {
  // A URL without ?status_page= puts a component of StatusMate's per-type payloads (no
  // meta.status_page) and of its general format (with one) on two pages, as README's "Connect
  // StatusMate" says; the chart's README and values gave that bare URL to paste.
  it('carry ?status_page=, which the README says to keep even for a single page', () => {
    const urls = [...DOCUMENTS, 'helm/statusmate-exporter/values.yaml'].flatMap((document) =>
      [...read(document).matchAll(/https:\/\/[^\s`'")]*\/webhook[^\s`'")]*/g)].map((match) => `${document}: ${match[0]}`),
    );
    expect(urls.length).toBeGreaterThanOrEqual(3);
    expect(urls.filter((url) => !/[?&]status_page=/.test(url))).toEqual([]);
  });
});
