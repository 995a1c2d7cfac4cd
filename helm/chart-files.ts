/**
 * Keeps the chart's packaged copies of the dashboards equal to their sources.
 *
 * Helm reads no file outside the chart directory, so `grafana/dashboards/*.json` reach the chart
 * as copies under `helm/statusmate-exporter/files/dashboards/`. (The chart's rules,
 * `files/prometheus/statusmate.rules.yml`, are not a copy: `npm run mixin` generates them scoped
 * to one release, and test/mixin.test.ts checks them against the generator.)
 * `npm run chart:sync` writes the copies; `npm run chart:sync -- --check` (and
 * test/helm-files-sync.test.ts) fails when a copy differs from its source, is missing, or has no
 * source any more.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, existsSync, copyFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CHART_DIR = join(REPO_ROOT, 'helm', 'statusmate-exporter');
export const DASHBOARDS_SOURCE_DIR = join(REPO_ROOT, 'grafana', 'dashboards');
export const DASHBOARDS_COPY_DIR = join(CHART_DIR, 'files', 'dashboards');

/** One source file and where the chart keeps its copy. */
export type FilePair = { source: string; copy: string };

export type Drift = { kind: 'missing'; pair: FilePair } | { kind: 'different'; pair: FilePair } | { kind: 'orphan'; copy: string };

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort();
}

/** The files the chart must carry, from the sources that exist now. */
export function expectedPairs(root: string = REPO_ROOT): FilePair[] {
  const chart = join(root, 'helm', 'statusmate-exporter', 'files');
  const pairs: FilePair[] = [];
  const dashboards = join(root, 'grafana', 'dashboards');
  for (const name of jsonFiles(dashboards)) {
    pairs.push({ source: join(dashboards, name), copy: join(chart, 'dashboards', name) });
  }
  return pairs;
}

/** Every way the chart's copies differ from the sources; empty when they are in sync. */
export function findDrift(root: string = REPO_ROOT): Drift[] {
  const pairs = expectedPairs(root);
  const drift: Drift[] = [];
  for (const pair of pairs) {
    if (!existsSync(pair.copy)) drift.push({ kind: 'missing', pair });
    else if (!readFileSync(pair.copy).equals(readFileSync(pair.source))) drift.push({ kind: 'different', pair });
  }
  const expectedCopies = new Set(pairs.map((pair) => pair.copy));
  const chartFiles = join(root, 'helm', 'statusmate-exporter', 'files');
  const copies = jsonFiles(join(chartFiles, 'dashboards')).map((name) => join(chartFiles, 'dashboards', name));
  for (const copy of copies) {
    if (!expectedCopies.has(copy)) drift.push({ kind: 'orphan', copy });
  }
  return drift;
}

export function describeDrift(drift: Drift, root: string = REPO_ROOT): string {
  const rel = (path: string) => relative(root, path);
  switch (drift.kind) {
    case 'missing':
      return `${rel(drift.pair.copy)} is missing (copy of ${rel(drift.pair.source)})`;
    case 'different':
      return `${rel(drift.pair.copy)} differs from ${rel(drift.pair.source)}`;
    case 'orphan':
      return `${rel(drift.copy)} has no source any more`;
  }
}

/** Copies every source into the chart and removes copies whose source is gone. Returns what it changed. */
export function syncChartFiles(root: string = REPO_ROOT): Drift[] {
  const drift = findDrift(root);
  for (const item of drift) {
    if (item.kind === 'orphan') {
      rmSync(item.copy);
    } else {
      mkdirSync(dirname(item.pair.copy), { recursive: true });
      copyFileSync(item.pair.source, item.pair.copy);
    }
  }
  return drift;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  if (check) {
    const drift = findDrift();
    for (const item of drift) console.error(`chart:sync: ${describeDrift(item)}`);
    if (drift.length > 0)
      console.error('chart:sync: run `npm run mixin` (it generates the dashboards from grafana/src/, then copies them) and commit the result');
    return drift.length > 0 ? 1 : 0;
  }
  const changed = syncChartFiles();
  for (const item of changed) {
    if (item.kind === 'orphan') console.log(`chart:sync: removed ${relative(REPO_ROOT, item.copy)} (its source is gone)`);
    else console.log(`chart:sync: copied ${relative(REPO_ROOT, item.pair.source)} -> ${relative(REPO_ROOT, item.pair.copy)}`);
  }
  console.log(`chart:sync: ${expectedPairs().length} file(s) in sync`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
