// The whole /metrics of a real exporter process, as Prometheus scrapes it, through
// `promtool check metrics` (2.x and 3.x): the lint Prometheus' own exporters are held to.
// And docs/metrics.md gives each family the type that its `# TYPE` line declares.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';
import { ROOT } from '../support/prometheus.js';
import { promtools } from '../support/tools.js';

const TOKEN = 'check-metrics-token-0123';
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe.skipIf(!existsSync(MAIN))('the /metrics of a running exporter', () => {
  let exporter: ExporterProcess | undefined;
  let text = '';

  beforeAll(async () => {
    // ALERTMANAGER_URL adds the maintenance silences' families; no Alertmanager listens there.
    exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: TOKEN, ALERTMANAGER_URL: 'http://127.0.0.1:9' });
    const auth = { authorization: `Bearer ${TOKEN}` };
    // Every family with series: a component at a known and at an unknown impact, an incident
    // created and finished, a rejected request.
    for (const body of [
      { text: 'API', meta: { title: 'API', uuid: uuid(1), type: 'component_impact_updated', impact: 'major_outage' } },
      { text: 'Legacy', meta: { title: 'Legacy', uuid: uuid(2), type: 'component_impact_updated', impact: 'outage_custom' } },
      { text: 'Down', meta: { title: 'Down', uuid: uuid(3), type: 'incident_created', created_at: '2026-01-01T00:00:00Z' } },
      { text: 'Down', meta: { title: 'Down', uuid: uuid(3), type: 'incident_finished', created_at: '2026-01-01T01:00:00Z' } },
    ]) {
      expect((await postJson(`${exporter.url}/webhook`, body, auth)).status).toBe(200);
    }
    expect((await postJson(`${exporter.url}/webhook`, {}, { authorization: 'Bearer wrong' })).status).toBe(401);
    text = await (await fetch(`${exporter.url}/metrics`)).text();
  });

  afterAll(async () => {
    await stopProcess(exporter);
  });

  it.each(promtools())('passes $version check metrics without a complaint', ({ tool }) => {
    if (tool.skipReason !== undefined) return;
    expect(text).toContain('statusmate_component_impact{');
    expect(text).toContain('statusmate_maintenance_silences{');
    expect(text).toContain('nodejs_active_handles');
    const result = spawnSync(tool.path ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });

  it('keeps the StateSet line of an unknown impact under the name StatusMate sent', () => {
    expect(text).toMatch(
      /^statusmate_component_impact\{status_page="[^"]+",component_uuid="00000000-0000-4000-8000-000000000002",component="Legacy",impact="outage_custom"\} 1$/m,
    );
  });

  it('types every family in docs/metrics.md as its # TYPE line declares it, and its HELP does not say otherwise', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
    // "### `a`, `b` (counters)": each name listed with the heading's type, in the singular.
    const documented = new Map(
      [...docs.matchAll(/^### (`[a-z_]+`(?:, `[a-z_]+`)*) \((\w+?)s?[,)]/gm)].flatMap((match) =>
        [...(match[1] ?? '').matchAll(/`([a-z_]+)`/g)].map((name) => [name[1] ?? '', match[2] ?? ''] as const),
      ),
    );
    const declared = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1] ?? '', match[2] ?? '']));
    const statusmate = [...declared].filter(([name]) => name.startsWith('statusmate_'));
    expect(statusmate.length).toBeGreaterThan(20);
    for (const [name, type] of statusmate) expect(`${name} ${documented.get(name) ?? 'undocumented'}`).toBe(`${name} ${type}`);
    for (const help of text.matchAll(/^# HELP (\S+) (.*)$/gm)) {
      const type = declared.get(help[1] ?? '');
      if (type === 'gauge') expect(help[2], help[1]).not.toMatch(/StateSet|counter/i);
    }
  });

  it('serves each family with exactly the labels docs/metrics.md lists for it', () => {
    // Each family's section opens with "Labels: `a` (its values), `b`.", "Label `a`: …" or "No
    // labels."; the types are checked above, but a label renamed in the code or in the page would
    // leave readers writing selectors that match nothing.
    const docs = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
    const documented = new Map<string, string[]>();
    for (const section of docs.split(/^(?=### )/m)) {
      let body = section.slice(section.indexOf('\n') + 1);
      for (let previous = ''; previous !== body;) [previous, body] = [body, body.replace(/\([^()]*\)/g, '')];
      const clause = /^Labels?:? ([\s\S]*?)[.:](?:\s|$)/.exec(body)?.[1];
      const labels = clause === undefined ? (body.startsWith('No labels') ? [] : undefined) : [...clause.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? '');
      if (labels === undefined) continue;
      for (const name of (section.split('\n')[0] ?? '').matchAll(/`(statusmate_[a-z_]+)`/g)) documented.set(name[1] ?? '', labels);
    }
    const served = new Map<string, Set<string>>();
    const families = [...text.matchAll(/^# TYPE (statusmate_\S+) /gm)].map((match) => match[1] ?? '');
    for (const match of text.matchAll(/^(statusmate_[a-z_]+?)(?:_bucket|_sum|_count)?(?:\{([^}]*)\})? \S+$/gm)) {
      const family = families.includes(match[1] ?? '') ? (match[1] ?? '') : (match[0].split(/[{ ]/)[0] ?? '');
      const labels = served.get(family) ?? new Set<string>();
      for (const pair of (match[2] ?? '').matchAll(/([a-z_]+)="/g)) if (pair[1] !== 'le') labels.add(pair[1] ?? '');
      served.set(family, labels);
    }
    const compared = [...served.keys()].filter((family) => families.includes(family));
    expect(compared.length).toBeGreaterThan(25);
    const unlike = compared.flatMap((family) => {
      const said = [...(documented.get(family) ?? ['(no Labels line)'])].sort().join(', ');
      const real = [...(served.get(family) ?? [])].sort().join(', ');
      return said === real ? [] : [`${family}: docs/metrics.md lists ${said || 'no labels'}, /metrics serves ${real || 'none'}`];
    });
    expect(unlike).toEqual([]);
  });

  it("names every value of a label in a HELP that lists that label's values", () => {
    // A HELP such as "by operation (list, create, update, expire)" is read as the whole list: a
    // value added to the label and not to the list leaves readers of /metrics without it.
    const valuesOf = new Map<string, Map<string, Set<string>>>();
    for (const match of text.matchAll(/^([a-z_]+?)(?:_bucket|_sum|_count)?\{([^}]*)\} /gm)) {
      const labels = valuesOf.get(match[1] ?? '') ?? new Map<string, Set<string>>();
      for (const pair of (match[2] ?? '').matchAll(/([a-z_]+)="([a-z_]+)"/g)) {
        const values = labels.get(pair[1] ?? '') ?? new Set<string>();
        values.add(pair[2] ?? '');
        labels.set(pair[1] ?? '', values);
      }
      valuesOf.set(match[1] ?? '', labels);
    }
    const unnamed: string[] = [];
    let lists = 0;
    for (const help of text.matchAll(/^# HELP (statusmate_\S+) (.*)$/gm)) {
      const words = new Set((help[2] ?? '').split(/[^a-z_]+/));
      for (const [label, values] of valuesOf.get(help[1] ?? '') ?? []) {
        const named = [...values].filter((value) => words.has(value));
        if (named.length < 2) continue;
        lists += 1;
        for (const value of values) if (!words.has(value)) unnamed.push(`${help[1]}: ${label}="${value}"`);
      }
    }
    expect(lists).toBeGreaterThanOrEqual(3);
    expect(unnamed).toEqual([]);
  });
});
