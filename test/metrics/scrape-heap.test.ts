import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The first scrape of a large state renders statusmate_component_impact_seconds_total's fixed
// lines. Each component's text was made for all 10,000 components before any chunk was written:
// with 200-byte names and a 200-character page id, about 35 MB of strings that outlived young
// collections, on top of the state and the cache of the exposition. A first scrape of such a
// state (330,000 accepted webhooks) then peaked at the chart's 384 MiB limit. The child renders
// such a state in a heap it fitted only without those strings (it ran out of heap at 64 MiB and
// lived at 40 MiB once chunks are written as their lines are made).

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('a first scrape of 10,000 components with long names and page id, in a small heap', () => {
  it('renders every family without holding every component text at once', () => {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--max-semi-space-size=4', '--max-old-space-size=56', 'test/support/scrape-heap.ts', '10000'],
      { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
    );
    const said = child.stderr.split('\n').filter((line) => /error|heap/i.test(line));
    expect(child.status, `exit ${String(child.status ?? child.signal)}: ${said.join('\n')}`).toBe(0);
    const rendered = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '') as { cached: number; impactSeconds: number };
    // 43 MB of per-component families and page families, 33 MB of impact seconds: the state is the one described.
    expect(rendered.cached).toBeGreaterThan(40_000_000);
    expect(rendered.impactSeconds).toBeGreaterThan(30_000_000);
  });
});
