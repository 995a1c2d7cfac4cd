import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { internedUnknownImpacts, internImpact, KNOWN_IMPACTS, MAX_INTERNED_UNKNOWN_IMPACTS } from '../../src/domain/impact.js';

// An impact StatusMate does not document is kept as sent, and a state names it in every record,
// change point and evidence event that holds it. Each webhook body, log entry and snapshot line
// brought its own copy of the string: 10,000 components updated through 33 such impacts held
// 320,000 strings for 33 values (about 20 MiB of the chart's 384 MiB). Strings compare by value in
// JavaScript, so the copies are counted on a heap snapshot, in a child (test/support/impact-copies.ts)
// whose heap holds little else.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('impact strings', () => {
  it('are held once per distinct impact, whether folded from webhooks, log entries or a snapshot', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/impact-copies.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(child.status, child.stderr).toBe(0);
    const { distinct, copies } = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '') as { distinct: number; copies: number };
    // Besides the state's: the last body the script parsed, and a regular expression's last match, may still hold one each.
    expect(copies).toBeGreaterThanOrEqual(distinct);
    expect(copies).toBeLessThanOrEqual(distinct + 3);
  });

  it('are interned as equal strings, the unknown ones within a bounded table', () => {
    for (const impact of KNOWN_IMPACTS) expect(internImpact(impact.slice(0, 1) + impact.slice(1))).toBe(impact);
    const made = Array.from({ length: 3 * MAX_INTERNED_UNKNOWN_IMPACTS + 7 }, (_, n) => `made_up_${n}`);
    for (const impact of made) {
      expect(internImpact(impact)).toBe(impact);
      expect(internedUnknownImpacts()).toBeLessThanOrEqual(MAX_INTERNED_UNKNOWN_IMPACTS);
    }
    // The newest are in the table: one sent again is shared, not added.
    const size = internedUnknownImpacts();
    expect(internImpact(String(made.at(-1)))).toBe(made.at(-1));
    expect(internedUnknownImpacts()).toBe(size);
  });
});
