import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import type { LogStore } from '../../src/store/store.js';
import { makeApp, tempDir, type TestApp } from '../support/app.js';
import {
  answersOf,
  CORE_PRUNE_WINDOW_SECONDS,
  CORE_RETENTION_SECONDS,
  CORE_TOKEN,
  declaredOf,
  describeSteps,
  differences,
  limitsOf,
  postEvent,
  postForget,
  scrapeCore,
  statusPagesFileOf,
  stepName,
} from '../support/core-drill.js';
import { CoreOracle, type OracleLimits } from '../support/core-oracle.js';
import { coreTimeline, type CoreStep } from '../support/core-timelines.js';

// A randomized differential drill of the incident, maintenance and component series: seeded
// timelines of the deliveries StatusMate makes (retries, late and out-of-order events, ties of
// created_at, events without created_at or with one far ahead, incidents and maintenances edited
// while they run, the count and size limits, the operator's forgets, retention passing, restarts,
// a status pages file for some seeds) into the real app, on a memory store and on
// a SQLite file that restarts, compared after every delivery with the oracle written from the docs
// (test/support/core-oracle.ts). Only Date is faked: the log's time is the test's. The same drill
// on replicas of one Redis log: test/redis/core-series-drill.test.ts.

type Medium = { name: string; store: () => LogStore; restarts: boolean; app?: TestApp };

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function open(medium: Medium, limits: OracleLimits, statusPagesFile: string | undefined): Promise<TestApp> {
  const app = await makeApp({
    store: medium.store(),
    tokens: [CORE_TOKEN],
    limits,
    ...(statusPagesFile === undefined ? {} : { statusPagesFile }),
    retentionSeconds: CORE_RETENTION_SECONDS,
    pruneWindowSeconds: CORE_PRUNE_WINDOW_SECONDS,
    snapshots: { checkMs: 10, maxEntries: 5 },
  });
  apps.push(app);
  return app;
}

// Fixed seeds, sized for `npm test`; CORE_SEEDS, CORE_BASE and CORE_LENGTH search further (CORE_SEEDS=40 CORE_LENGTH=80).
const SEEDS = Array.from({ length: Number(process.env.CORE_SEEDS ?? 4) }, (_, i) => Number(process.env.CORE_BASE ?? 1) + i);
const LENGTH = Number(process.env.CORE_LENGTH ?? 30);
// Seeds a search found failing, at the length that found them, kept unless searching (CORE_SEEDS
// set): 157 and 174 at 80, a late event of another incident for a component a later event of an
// incident named first, booked as it arrived (ledger-late-added.test.ts; event entries of format 12);
// 396 at 80, an update timed before an ended maintenance back after a later hold with no trusted
// start ended (cleared-timed-start.test.ts; format 12), and 373 at 80, the same the other way round;
// 368 at 80, the oracle's own ended starts; 681 at 80, the oracle's: a maintenance's start sent
// again after the operator forgot a component it names ends the hold on it from the start
// (core-resent-start.test.ts); 866 at 80, the oracle's: an event older than a component's
// declaration of an incident among its events that does not name it dropped the declaration
// from the replay (core-declared-related.test.ts).
const FOUND: [number, number][] =
  process.env.CORE_SEEDS === undefined
    ? [
        [157, 80],
        [174, 80],
        [368, 80],
        [373, 80],
        [396, 80],
        [681, 80],
        [866, 80],
      ]
    : [];
const RUNS: [number, number][] = [...SEEDS.map((seed): [number, number] => [seed, LENGTH]), ...FOUND];

describe('the incident, maintenance and component series against the oracle of the docs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(RUNS)('serve what the docs promise, delivery after delivery (seed %i, length %i)', async (seed, length) => {
    const start = Date.UTC(2026, 2, 1, 6) / 1000;
    vi.setSystemTime(start * 1000);
    const limits = limitsOf(seed);
    const steps: CoreStep[] = coreTimeline(seed, start, {
      length,
      retentionSeconds: CORE_RETENTION_SECONDS,
      pruneWindowSeconds: CORE_PRUNE_WINDOW_SECONDS,
    });
    const declared = declaredOf(seed);
    const pagesFile = statusPagesFileOf(declared);
    const oracle = new CoreOracle(limits, CORE_RETENTION_SECONDS, CORE_PRUNE_WINDOW_SECONDS, declared, start);
    const path = join(tempDir(), 'core.db');
    const media: Medium[] = [
      { name: 'memory', store: () => new MemoryLog(), restarts: false },
      { name: 'SQLite', store: () => new SqliteLog({ path, synchronous: 'normal' }), restarts: true },
    ];
    for (const medium of media) medium.app = await open(medium, limits, pagesFile);
    for (const [index, { at, action }] of steps.entries()) {
      vi.setSystemTime(Math.round(at * 1000));
      if (action.kind === 'restart') {
        for (const medium of media.filter((m) => m.restarts)) {
          const app = medium.app as TestApp;
          apps.splice(apps.indexOf(app), 1);
          if (action.crash) await app.store.close();
          await app.close();
          medium.app = await open(medium, limits, pagesFile);
        }
      } else if (action.kind === 'forget') {
        for (const medium of media) await postForget(medium.app as TestApp, action.target);
        oracle.forget(action.target, Date.now() / 1000);
      } else {
        const outcome = oracle.deliver(action.event, Date.now() / 1000);
        for (const medium of media) {
          const res = await postEvent(medium.app as TestApp, action.event);
          const served = String(res.body.status);
          const context = `seed ${seed}, step ${index + 1} (${stepName(action)}), ${medium.name}`;
          expect(res.status, context).toBe(200);
          expect(answersOf(outcome), `${context}: the answer`).toContain(served);
        }
      }
      const expected = oracle.samples();
      for (const medium of media) {
        const found = differences(expected, await scrapeCore(medium.app as TestApp));
        if (found.length > 0 && process.env.CORE_DEBUG !== undefined) console.log(`${found.join('\n')}\n${describeSteps(steps.slice(0, index + 1), start)}`);
        expect(found.join('\n'), `seed ${seed}, step ${index + 1} (${stepName(action)}), ${medium.name}`).toBe('');
      }
    }
  });
});
