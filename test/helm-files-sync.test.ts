import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeDrift, expectedPairs, findDrift, REPO_ROOT, syncChartFiles } from '../helm/chart-files.js';

describe("the chart's packaged copies of the dashboards", () => {
  it('leave the chart rules alone: npm run mixin generates them, scoped to a release, instead of copying', () => {
    expect(
      expectedPairs()
        .map((pair) => pair.copy)
        .filter((copy) => copy.includes('prometheus')),
    ).toEqual([]);
    expect(existsSync(join(REPO_ROOT, 'helm', 'statusmate-exporter', 'files', 'prometheus', 'statusmate.rules.yml'))).toBe(true);
  });

  it('equal their sources, and none is left without a source (fix: npm run mixin, which generates the sources from grafana/src/ and copies them)', () => {
    expect(findDrift().map((drift) => describeDrift(drift))).toEqual([]);
  });

  it('include every dashboard under grafana/dashboards', () => {
    const sources = expectedPairs().filter((pair) => pair.source.startsWith(join(REPO_ROOT, 'grafana', 'dashboards')));
    for (const pair of sources) expect(existsSync(pair.copy), pair.copy).toBe(true);
  });
});

describe('the drift check and the sync', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  /** A miniature repository: a rules file, two dashboards and an empty chart. */
  // The rules file is there to show it is not copied.
  function fakeRepo(): string {
    const root = mkdtempSync(join(tmpdir(), 'statusmate-chart-sync-'));
    roots.push(root);
    mkdirSync(join(root, 'prometheus'), { recursive: true });
    mkdirSync(join(root, 'grafana', 'dashboards'), { recursive: true });
    mkdirSync(join(root, 'helm', 'statusmate-exporter'), { recursive: true });
    writeFileSync(join(root, 'prometheus', 'statusmate.rules.yml'), 'groups: []\n');
    writeFileSync(join(root, 'grafana', 'dashboards', 'a.json'), '{"uid":"a"}\n');
    writeFileSync(join(root, 'grafana', 'dashboards', 'b.json'), '{"uid":"b"}\n');
    return root;
  }
  const chartFile = (root: string, ...path: string[]) => join(root, 'helm', 'statusmate-exporter', 'files', ...path);

  it('reports every copy as missing before the first sync, and nothing after it', () => {
    const root = fakeRepo();
    expect(findDrift(root).map((d) => d.kind)).toEqual(['missing', 'missing']);
    expect(syncChartFiles(root)).toHaveLength(2);
    expect(findDrift(root)).toEqual([]);
  });

  it('reports a copy that differs from its source, and the sync rewrites it', () => {
    const root = fakeRepo();
    syncChartFiles(root);
    writeFileSync(join(root, 'grafana', 'dashboards', 'a.json'), '{"uid":"a","title":"changed"}\n');
    expect(findDrift(root).map((d) => describeDrift(d, root))).toEqual([
      'helm/statusmate-exporter/files/dashboards/a.json differs from grafana/dashboards/a.json',
    ]);
    syncChartFiles(root);
    expect(findDrift(root)).toEqual([]);
  });

  it('reports a copy whose source was deleted, and the sync removes it', () => {
    const root = fakeRepo();
    syncChartFiles(root);
    rmSync(join(root, 'grafana', 'dashboards', 'b.json'));
    expect(findDrift(root).map((d) => describeDrift(d, root))).toEqual(['helm/statusmate-exporter/files/dashboards/b.json has no source any more']);
    syncChartFiles(root);
    expect(existsSync(chartFile(root, 'dashboards', 'b.json'))).toBe(false);
    expect(findDrift(root)).toEqual([]);
  });

  it('expects no copies while the sources do not exist yet', () => {
    const root = mkdtempSync(join(tmpdir(), 'statusmate-chart-sync-'));
    roots.push(root);
    expect(expectedPairs(root)).toEqual([]);
    expect(findDrift(root)).toEqual([]);
  });
});
