import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import type { LogStore } from '../../src/store/store.js';
import { T0 } from '../support/alert-timelines.js';
import { AlertsOracle } from '../support/alerts-oracle.js';
import {
  alertsAppOptions,
  alertsPagesFile,
  deliver,
  deliveredMs,
  deliveredTimeline,
  describeEntry,
  expectedOf,
  foldedAlerts,
  lastObservations,
  measured,
  Naming,
  retried,
  scrapeAlerts,
  variantOf,
} from '../support/alerts-series-drill.js';
import { makeApp, tempDir, type TestApp } from '../support/app.js';
import { differences } from '../support/core-drill.js';
import { seeded } from '../support/seeded.js';

// The alerts drill (test/domain/alerts-drill.test.ts) through the real app: each entry of a seeded
// timeline of a status page and of Alertmanager's notifications reaches the exporter as it would
// (StatusMate's webhooks, Alertmanager's webhook, the look at Alertmanager's alerts through the
// fold), some delivered twice (a retry whose first answer was lost), on a memory store that never
// restarts and on a SQLite file that restarts now and then, cleanly or as after a crash (no last
// snapshot), and snapshots every 1 to 15 entries. After every entry both serve the response and
// recovery lag histograms the oracle of docs/metrics.md (test/support/alerts-oracle.ts) says, and
// the same samples of every alert family (the firing gauges and the expired and refused counters
// the oracle leaves unchecked); SQLite's alert state, whole, is memory's (a field a restore lost
// may change what is served only rarely, and late). Only Date is faked: the log's time is the
// timeline's (shifted, and at some millisecond of its second for half the seeds:
// deliveredTimeline), so alerts expire at the same entries as the oracle has them.
// The same drill on replicas of one Redis log: test/redis/alerts-series-drill.test.ts.
//
// Knobs: ALERTS_STORE_SEEDS seeds from ALERTS_STORE_BASE (6 from 1: one per variant), each seed
// with a variant of the domain drill's in turn (plain, then its FEATURES) or ALERTS_DRILL_VARIANT's
// (e.g. ALERTS_DRILL_VARIANT=all ALERTS_STORE_SEEDS=200); ALERTS_DRILL_EPISODES=8 makes longer
// timelines; ALERTS_STORE_RESTARTS the chance of a restart before an entry (0.06).

const SEEDS = Array.from({ length: Number(process.env.ALERTS_STORE_SEEDS ?? 6) }, (_, i) => Number(process.env.ALERTS_STORE_BASE ?? 1) + i);

type Medium = { name: string; store: () => LogStore; restarts: boolean; app?: TestApp };

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe('the alert series through the real app, on a memory store and a restarting SQLite file, against the oracle of the docs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(SEEDS)('serve what the docs promise, entry after entry (seed %i)', async (seed) => {
    const [variant, options] = variantOf(seed);
    const timeline = deliveredTimeline(seed, options);
    const naming = new Naming(timeline);
    const pagesFile = alertsPagesFile(naming);
    const oracle = new AlertsOracle();
    // Its own generator, so that the timeline is the domain drill's of the same seed.
    const random = seeded(seed ^ 0x0a1e75);
    // A snapshot due every 1 to 15 entries: a restart as after a crash folds the entries after it.
    const snapshots = { checkMs: 10, maxEntries: [1, 3, 7, 15][seed % 4] };
    const path = join(tempDir(), 'alerts.db');
    const media: Medium[] = [
      { name: 'memory', store: () => new MemoryLog(), restarts: false },
      { name: 'SQLite', store: () => new SqliteLog({ path, synchronous: 'normal' }), restarts: true },
    ];
    const open = async (medium: Medium) => {
      const app = await makeApp({ ...alertsAppOptions(pagesFile), store: medium.store(), snapshots });
      apps.push(app);
      return app;
    };
    /** What happened so far, one line per entry, for a failure's message. */
    const done: string[] = [];
    for (const [index, entry] of timeline.entries.entries()) {
      vi.setSystemTime(deliveredMs(entry.at));
      let note = '';
      if (index === 0) {
        // The first declaration: the apps start with the status pages file, and declare its components.
        for (const medium of media) medium.app = await open(medium);
      } else {
        if (random() < Number(process.env.ALERTS_STORE_RESTARTS ?? 0.06)) {
          const crash = random() < 0.5;
          note = ` (SQLite restarted${crash ? ' as after a crash' : ''})`;
          for (const medium of media.filter((m) => m.restarts)) {
            const app = medium.app as TestApp;
            apps.splice(apps.indexOf(app), 1);
            if (crash) await app.store.close();
            await app.close();
            medium.app = await open(medium);
          }
        }
        for (const medium of media) await deliver(medium.app as TestApp, entry, naming);
        if (retried(entry) && random() < 0.1) {
          // A retry of a delivery whose answer was lost.
          note += ' (delivered again)';
          for (const medium of media) await deliver(medium.app as TestApp, entry, naming, 1);
        }
      }
      oracle.apply(entry);
      done.push(`#${index}${note} ${describeEntry(entry)}`);
      const context = () =>
        [
          `seed ${seed} (${variant}), entry ${index} (log +${entry.at - T0})`,
          ...done.slice(-12),
          `oracle's last: ${lastObservations(oracle)}`,
          `notes: ${timeline.notes.join('; ')}`,
        ].join('\n');
      const expected = expectedOf(oracle);
      const served = await Promise.all(media.map((medium) => scrapeAlerts(medium.app as TestApp)));
      for (const [i, samples] of served.entries()) {
        expect(differences(expected, measured(samples)).join('\n'), `${context()}\n${(media[i] as Medium).name}`).toBe('');
      }
      expect(differences(served[0] as Map<string, number>, served[1] as Map<string, number>).join('\n'), `${context()}\nSQLite against memory`).toBe('');
      // What the restarts restored, whole: the state folded the same log without them.
      expect(foldedAlerts((media[1] as Medium).app as TestApp), `${context()}\nSQLite's alert state against memory's`).toBe(
        foldedAlerts((media[0] as Medium).app as TestApp),
      );
    }
  });
});
