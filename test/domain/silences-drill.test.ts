import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatAlertMatcher } from '../../src/domain/alert-matchers.js';
import { desiredSilences, type DesiredSilence } from '../../src/domain/silences.js';
import { parseInventory } from '../../src/inventory/file.js';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, sqliteStore, tempDir, whenReady, type TestApp } from '../support/app.js';
import { deliverStep, DRILL_TOKEN } from '../support/silence-deliveries.js';
import { describeStep, fileYaml, randomSilenceTimeline } from '../support/silence-timelines.js';
import { SilencesOracle, type ExpectedSilence, type OracleOptions } from '../support/silences-oracle.js';

// A randomized differential drill of maintenance silences: seeded timelines of maintenance
// webhooks (late, out of order, retried, without created_at, after the finish, never), forgets
// and reloads of the status pages file go through the real app (HTTP routes, ingest, log, fold:
// only Date is faked), and after every step the domain's desiredSilences of the folded state must
// be what the oracle written from the README says (test/support/silences-oracle.ts): the same
// silences, with the same matchers, each starting and ending where the docs say.
// SILENCE_DRILL_SEEDS and SILENCE_DRILL_BASE search further (SILENCE_DRILL_SEEDS=300).

const SEEDS = Array.from({ length: Number(process.env.SILENCE_DRILL_SEEDS ?? 12) }, (_, i) => Number(process.env.SILENCE_DRILL_BASE ?? 1) + i);
const START = 1_750_000_000;

/** How the real desired silence differs from the expected one, or undefined when it fits. */
export function misfit(real: DesiredSilence | undefined, expected: ExpectedSilence | undefined, now: number): string | undefined {
  if (expected === undefined) return real === undefined ? undefined : `not expected (${real.key})`;
  if (real === undefined) return `missing (${expected.why})`;
  const matchers = real.matchers.map(formatAlertMatcher).sort();
  if (JSON.stringify(matchers) !== JSON.stringify(expected.matchers)) return `matchers ${matchers.join(',')}; expected ${expected.matchers.join(',')}`;
  if ('exactly' in expected.start ? real.startsAt !== expected.start.exactly : real.startsAt > now)
    return `starts at ${real.startsAt - now} s from now; expected ${'exactly' in expected.start ? `${expected.start.exactly - now} s from now` : 'by now'} (${expected.why})`;
  if (real.endsAt < expected.end.min || real.endsAt > expected.end.max)
    return `ends ${real.endsAt - now} s from now; expected ${expected.end.min - now}..${expected.end.max - now} (${expected.why})`;
  return undefined;
}

export function compare(desired: readonly DesiredSilence[], expected: readonly ExpectedSilence[], now: number): string[] {
  const keys = new Set([...desired.map((s) => s.key), ...expected.map((s) => s.key)]);
  const problems: string[] = [];
  for (const key of [...keys].sort()) {
    const problem = misfit(
      desired.find((s) => s.key === key),
      expected.find((s) => s.key === key),
      now,
    );
    if (problem !== undefined) problems.push(`${key}: ${problem}`);
  }
  return problems;
}

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** Waits until the fold has folded what a delivery appended (a declaration after a forget, say). */
async function settled(app: TestApp): Promise<void> {
  let folded = -1;
  for (let quiet = 0; quiet < 2;) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    const now = app.fold.stats().entriesFolded;
    quiet = now === folded ? quiet + 1 : 0;
    folded = now;
  }
}

/** Plays one seed; the disagreements, each with the steps that led to it. On SQLite, the app restarts at the timeline's restarts. */
async function drill(seed: number, options: OracleOptions, medium: 'memory' | 'sqlite'): Promise<string[]> {
  const timeline = randomSilenceTimeline(seed, { start: START, restarts: medium === 'sqlite' });
  const dir = tempDir('statusmate-silence-drill-');
  const path = join(dir, 'pages.yaml');
  writeFileSync(path, fileYaml(timeline.file));
  vi.setSystemTime(START * 1000);
  const open = async () => {
    const app = await makeApp({
      store: medium === 'memory' ? new MemoryLog() : sqliteStore(join(dir, 'log.db')),
      tokens: [DRILL_TOKEN],
      statusPagesFile: path,
      inventoryParse: parseInventory,
      // A snapshot every few entries, so that a restart loads one taken mid-history and folds on.
      snapshots: { checkMs: 10, maxEntries: 3 },
    });
    apps.push(app);
    return app;
  };
  let app = await open();
  const oracle = new SilencesOracle(timeline.file, options);
  const history: string[] = [];
  for (const step of timeline.steps) {
    vi.setSystemTime(step.at * 1000);
    const answer = await deliverStep(app, path, step);
    if (step.action.kind === 'restart') {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
      app = await open();
      await whenReady(app);
    }
    await settled(app);
    const { action } = step;
    const modelled =
      action.kind === 'webhook'
        ? oracle.webhook({ meta: action.meta }, step.at)
        : action.kind === 'forget'
          ? (oracle.forget(action.body), '')
          : action.kind === 'reload'
            ? (oracle.reload(action.file), '')
            : '';
    history.push(`${describeStep(step, START)} oracle=${modelled} → ${answer}`);
    const desired = desiredSilences(app.fold.state, app.inventory.current().pages, step.at, { from: options.from, marginSeconds: options.marginSeconds });
    const problems = compare(desired, oracle.expected(step.at), step.at);
    if (problems.length > 0) return [`seed ${seed} ${medium} ${JSON.stringify(options)} at ${step.at - START}:`, ...problems, 'history:', ...history];
  }
  return [];
}

describe('maintenance silences: the real fold and desiredSilences against the oracle from the docs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const runs = [
    { from: 'started', medium: 'memory' },
    { from: 'scheduled', medium: 'memory' },
    { from: 'scheduled', medium: 'sqlite' },
  ] as const;
  for (const { from, medium } of runs) {
    it(
      `agrees after every delivery, MAINTENANCE_SILENCE_FROM=${from}, ${medium === 'sqlite' ? 'restarted on SQLite' : 'on the memory store'}`,
      async () => {
        const disagreements: string[][] = [];
        for (const seed of SEEDS) {
          const margin = [900, 0, 60][seed % 3] as number;
          const found = await drill(seed, { from, marginSeconds: margin }, medium);
          if (found.length > 0) disagreements.push(found);
          for (const app of apps.splice(0)) await app.close();
        }
        expect(disagreements.map((d) => d.join('\n')).join('\n\n')).toBe('');
      },
      20_000 + SEEDS.length * 10_000,
    );
  }
});
