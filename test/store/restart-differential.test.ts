import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import type { LogStore } from '../../src/store/store.js';
import { CLOCK_FAMILIES, PROCESS_FAMILIES } from '../../src/metrics/names.js';
import { makeApp, whenReady, tempDir, type TestApp, type TestAppOptions } from '../support/app.js';
import { PRUNE_WINDOW_SECONDS, RETENTION_SECONDS, SMALL_ALERT_LIMITS, SMALL_LIMITS } from '../support/random-log.js';
import { renderedReads } from '../support/rendered-reads.js';
import { redisPerTest, redisStore, redisTool } from '../support/redis.js';
import { seeded } from '../support/seeded.js';
import { AM_TOKEN, randomDeliveries, statusPagesFile as file, TOKEN, type Delivery } from '../support/random-deliveries.js';

// The same random deliveries (webhooks of every type, retries, forgets, Alertmanager's alerts, a
// reload of the status pages file that drops a page, retention passing) into a memory app and two
// SQLite apps, each SQLite app restarted at a random point (cleanly, or as after a crash: without
// its last snapshot), with snapshots taken every few entries: after every delivery, /metrics'
// domain series, /api/v1/state and /api/v1/availability must be the same, byte for byte. The
// log's time is the test's (only Date is faked), so every app folds the same log at the same times.
// On Redis, whose log time is the server's, two replicas share one log and one of them restarts:
// they must serve the same after every delivery.

type Medium = { name: string; file: string; store: () => LogStore; restartAt: number | undefined; crash: boolean; app?: TestApp };

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function open(medium: Medium, more: TestAppOptions = {}): Promise<TestApp> {
  const options: TestAppOptions = {
    store: medium.store(),
    tokens: [TOKEN],
    alertmanagerTokens: [AM_TOKEN],
    statusPagesFile: medium.file,
    learnStatusPages: true,
    // MAX_COMPONENTS and MAX_STATUS_PAGES above what the ledger can come to hold here (4 pages, 21
    // components): a declaration the ledger refuses for want of room is served from each process's
    // own load of the file, which a restart moves (a known difference, not what this test guards).
    // test/log/restart-differential.test.ts reaches those bounds through the fold alone.
    limits: { ...SMALL_LIMITS, maxStatusPages: 4, maxComponents: 24 },
    alertLimits: SMALL_ALERT_LIMITS,
    retentionSeconds: RETENTION_SECONDS,
    pruneWindowSeconds: PRUNE_WINDOW_SECONDS,
    // A snapshot every few entries, so that a restart loads one taken mid-history and folds on.
    snapshots: { checkMs: 10, maxEntries: 3 },
    ...more,
  };
  const app = await makeApp(options);
  apps.push(app);
  return app;
}

async function deliver(app: TestApp, delivery: Delivery): Promise<string> {
  if (delivery.kind === 'reload') return JSON.stringify(await app.inventory.reload());
  const path = delivery.kind === 'webhook' ? '/webhook' : delivery.kind === 'forget' ? '/-/forget' : '/alertmanager';
  const res = await request(app.main)
    .post(path)
    .set('Authorization', `Bearer ${delivery.kind === 'alerts' ? AM_TOKEN : TOKEN}`)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(delivery.body));
  return `${res.status} ${String(res.body.status ?? res.body.error)}`;
}

/** Waits until the app's fold has appended and folded what a delivery started (a declaration after a forget, say). */
async function settled(app: TestApp): Promise<void> {
  let folded = -1;
  for (let quiet = 0; quiet < 2;) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const now = app.fold.stats().entriesFolded;
    quiet = now === folded ? quiet + 1 : 0;
    folded = now;
  }
}

/**
 * The samples of the shared state in a scrape: every `statusmate_` sample but the process's own
 * families (in OpenMetrics, their counters' `_created` too). statusmate_component_impact_seconds_total
 * is kept: its open interval counts to the scrape's time, which is the test's.
 */
function stateSamples(text: string): string {
  const processFamily = (line: string) => PROCESS_FAMILIES.some((family) => line.startsWith(family) || line.startsWith(family.replace(/_total$/, '_created')));
  return text
    .split('\n')
    .filter((line) => line.startsWith('statusmate_') && !processFamily(line))
    .join('\n');
}

/** What the app serves: its domain series (GET /metrics), and its state view and availability report at the log's time (renderedReads). */
async function served(app: TestApp, now = Date.now() / 1000, clock: 'fake' | 'real' = 'fake'): Promise<Record<string, string>> {
  const scrape = (accept?: string) => {
    const req = request(app.main).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    return accept === undefined ? req : req.set('Accept', accept);
  };
  // On the real clock, two scrapes count statusmate_component_impact_seconds_total's open interval to two times.
  const samples = (text: string) =>
    clock === 'fake'
      ? stateSamples(text)
      : stateSamples(text)
          .split('\n')
          .filter((line) => !CLOCK_FAMILIES.some((family) => line.startsWith(family)))
          .join('\n');
  return {
    metrics: samples((await scrape()).text),
    openMetrics: samples((await scrape('application/openmetrics-text; version=1.0.0')).text),
    ...renderedReads(app.fold.state, app.inventory.current().pages, now, 2),
  };
}

// Fixed seeds, sized for `npm test`; DIFF_SEEDS, DIFF_BASE and DIFF_LENGTH search further (DIFF_SEEDS=20 DIFF_LENGTH=60).
const SEEDS = Array.from({ length: Number(process.env.DIFF_SEEDS ?? 2) }, (_, i) => Number(process.env.DIFF_BASE ?? 300) + i);
const LENGTH = Number(process.env.DIFF_LENGTH ?? 30);

describe('the same deliveries into memory and SQLite apps, each SQLite app restarted once', () => {
  beforeEach(() => {
    // Only Date: the memory and SQLite logs stamp each entry with Date.now(), the log's time.
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(SEEDS)('serve the same, delivery after delivery (seed %i)', async (seed) => {
    const random = seeded(seed * 7919);
    const start = Date.UTC(2026, 2, 1, 6) / 1000;
    vi.setSystemTime(start * 1000);
    const steps = randomDeliveries(seed, LENGTH, start);
    const dir = tempDir();
    const media: Medium[] = [
      { name: 'memory', file: join(dir, 'memory.yaml'), store: () => new MemoryLog(), restartAt: undefined, crash: false },
      ...(['normal', 'full'] as const).map((synchronous): Medium => {
        const path = join(dir, `${synchronous}.db`);
        return {
          name: `SQLite ${synchronous}`,
          file: join(dir, `${synchronous}.yaml`),
          store: () => new SqliteLog({ path, synchronous }),
          restartAt: 1 + Math.floor(random() * (steps.length - 1)),
          crash: random() < 0.5,
        };
      }),
    ];
    for (const medium of media) {
      writeFileSync(medium.file, file(true));
      medium.app = await open(medium);
    }
    let time = start;
    for (const [index, { advance, delivery }] of steps.entries()) {
      time += advance;
      vi.setSystemTime(Math.round(time * 1000));
      if (delivery.kind === 'reload') for (const medium of media) writeFileSync(medium.file, file(delivery.withOld));
      const answers: string[] = [];
      const views: Record<string, string>[] = [];
      for (const medium of media) {
        let app = medium.app as TestApp;
        if (medium.restartAt === index) {
          apps.splice(apps.indexOf(app), 1);
          // As after a crash: the store goes first, so the close writes no last snapshot, and the
          // restart loads an older one and folds the entries after it.
          if (medium.crash) await app.store.close();
          await app.close();
          medium.app = app = await open(medium);
        }
        answers.push(await deliver(app, delivery));
        await settled(app);
        views.push(await served(app));
      }
      const context = `seed ${seed}, delivery ${index + 1} (${delivery.kind})`;
      for (const [i, medium] of media.entries()) {
        expect(answers[i], `${context}: ${medium.name}'s answer`).toBe(answers[0]);
        expect(views[i], `${context}: what ${medium.name} serves`).toEqual(views[0]);
      }
    }
  });
});

const REDIS_SEEDS = Array.from({ length: Number(process.env.DIFF_REDIS_SEEDS ?? 1) }, (_, i) => Number(process.env.DIFF_BASE ?? 300) + i);
describe.skipIf(redisTool.skipReason !== undefined)('the same deliveries into two replicas on one Redis, one of them restarted', () => {
  const redis = redisPerTest();
  /** An app on Redis, closed before its server stops (redisPerTest). */
  const openOnRedis = async (medium: Medium, more: TestAppOptions) => {
    const app = await open(medium, more);
    apps.splice(apps.indexOf(app), 1);
    redis.apps.push(app);
    await whenReady(app);
    return app;
  };
  it.each(REDIS_SEEDS)('serve the same, delivery after delivery (seed %i)', async (seed) => {
    const random = seeded(seed * 104_729);
    const steps = randomDeliveries(seed, LENGTH, Math.floor(Date.now() / 1000), 'real');
    const dir = tempDir();
    // One second of retention and of prune window: the pauses of a second let finished objects go.
    const more: TestAppOptions = { retentionSeconds: 1, pruneWindowSeconds: 1 };
    const replica = (name: string, restartAt: number | undefined): Medium => ({
      name,
      file: join(dir, `${name}.yaml`),
      store: () => redisStore({ url: redis.server.url, keyPrefix: `diff${seed}:` }) as unknown as LogStore,
      restartAt,
      crash: random() < 0.5,
    });
    const media = [replica('a', undefined), replica('b', 1 + Math.floor(random() * (steps.length - 1)))];
    for (const medium of media) {
      writeFileSync(medium.file, file(true));
      medium.app = await openOnRedis(medium, more);
    }
    for (const [index, { advance, delivery }] of steps.entries()) {
      if (advance >= 1) await new Promise((resolve) => setTimeout(resolve, advance * 1000));
      if (delivery.kind === 'reload') for (const medium of media) writeFileSync(medium.file, file(delivery.withOld));
      const b = media[1] as Medium;
      if (b.restartAt === index) {
        const app = b.app as TestApp;
        redis.apps.splice(redis.apps.indexOf(app), 1);
        if (b.crash) await app.store.close();
        await app.close();
        b.app = await openOnRedis(b, more);
      }
      // Each replica appends to the one log: one of them takes the delivery, each reloads its own file.
      const to = delivery.kind === 'reload' ? media : [pick(random, media)];
      for (const medium of to) await deliver(medium.app as TestApp, delivery);
      for (const medium of media) {
        await whenReady(medium.app as TestApp);
        await settled(medium.app as TestApp);
      }
      for (const medium of media) await whenReady(medium.app as TestApp);
      const now = Date.now() / 1000;
      const [first, second] = await Promise.all(media.map((medium) => served(medium.app as TestApp, now, 'real')));
      expect(second, `seed ${seed}, delivery ${index + 1} (${delivery.kind}): what the replicas serve`).toEqual(first);
    }
  });
});

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
