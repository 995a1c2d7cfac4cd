import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_TOUCH_WEIGHT } from '../../src/domain/ledger.js';

// GET /api/v1/availability on a ledger full of touches (MAX_TOUCH_WEIGHT of them, a token holder's
// 100,000 accepted incident_finished webhooks with long titles): a report over its bound is
// refused with 400 before it grows past the bound, in every part of it. A page's incidents were
// written as one text (up to 130 MB) and a CSV row's titles joined into one field, before the bound
// was checked: under the chart's 384 MiB limit the exporter was OOM-killed on the first such
// request, and again after each restart. Each case runs in a child whose heap is far below what
// those texts need and well above what the state and a bounded answer take.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = 'test/support/availability-heap.ts';

type Outcome = { status: number; error: string | null; collections: number };

function answer(touches: number, components: number, query: string): Outcome {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--max-semi-space-size=4', '--max-old-space-size=96', SCRIPT, String(touches), String(components), query],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    },
  );
  const last = child.stdout.trim().split('\n').at(-1) ?? '';
  const said = child.stderr.split('\n').filter((line) => /error|heap/i.test(line));
  expect(child.status, `exit ${String(child.status ?? child.signal)}: ${said.join('\n')}`).toBe(0);
  return JSON.parse(last) as Outcome;
}

describe('an availability answer over its bound, in a heap far smaller than the unbounded answer', () => {
  it.each([
    ['json', ''],
    ['csv', 'format=csv'],
  ])('is refused (%s) for a page listing MAX_TOUCH_WEIGHT incidents', (_format, query) => {
    const outcome = answer(MAX_TOUCH_WEIGHT, 0, query);
    expect(outcome.status).toBe(400);
    expect(outcome.error).toMatch(/^report too large: more than the 1048576 bytes one answer takes/);
  });

  it('lists 20,000 incidents under one component in time linear in them (a handful of collections, not hundreds)', () => {
    // Each component's list was copied whole for each incident appended: 200 million entries
    // copied here (884 collections measured, 9 once appended in place), 76 s at 50,000.
    const outcome = answer(20_000, 1, '');
    expect(outcome.status).toBe(400);
    expect(outcome.collections).toBeLessThan(100);
  });
});
