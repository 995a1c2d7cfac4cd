import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import type { LogStore } from '../../src/store/store.js';
import { makeApp, tempDir, type TestApp } from '../support/app.js';
import { CoreOracle, seriesKey, type OracleDeclared, type OracleLimits } from '../support/core-oracle.js';
import { coreTimeline, cuid, webhookBody, type CoreStep } from '../support/core-timelines.js';

// A randomized differential drill of the incident, maintenance and component series: seeded
// timelines of the deliveries StatusMate makes (retries, late and out-of-order events, ties of
// created_at, events without created_at or with one far ahead, incidents and maintenances edited
// while they run, the count and size limits, the operator's forgets, retention passing, restarts,
// a status pages file for some seeds) into the real app, on a memory store and on
// a SQLite file that restarts, compared after every delivery with the oracle written from the docs
// (test/support/core-oracle.ts). Only Date is faked: the log's time is the test's.

const TOKEN = 'hook';
const RETENTION_SECONDS = 3600;
const PRUNE_WINDOW_SECONDS = 600;

/** The families the oracle speaks for. */
const FAMILIES = new Set([
  'statusmate_incidents_created_total',
  'statusmate_incidents_finished_total',
  'statusmate_incidents_active',
  'statusmate_incident_info',
  'statusmate_incident_start_timestamp_seconds',
  'statusmate_incident_duration_seconds_bucket',
  'statusmate_incident_duration_seconds_sum',
  'statusmate_incident_duration_seconds_count',
  'statusmate_maintenances_created_total',
  'statusmate_maintenances_started_total',
  'statusmate_maintenances_finished_total',
  'statusmate_maintenances_active',
  'statusmate_maintenance_info',
  'statusmate_maintenance_scheduled_start_timestamp_seconds',
  'statusmate_maintenance_scheduled_end_timestamp_seconds',
  'statusmate_maintenance_start_timestamp_seconds',
  'statusmate_maintenance_duration_seconds_bucket',
  'statusmate_maintenance_duration_seconds_sum',
  'statusmate_maintenance_duration_seconds_count',
  'statusmate_component_impact',
  'statusmate_component_impact_level',
  'statusmate_component_last_change_timestamp_seconds',
]);

/** The samples of those families in a text exposition, keyed as the oracle keys them. */
export function servedSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const [, name = '', inner = '', value = ''] = match;
    if (!FAMILIES.has(name)) continue;
    const labels: Record<string, string> = {};
    for (const [, key = '', raw = ''] of inner.matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = raw.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    out.set(seriesKey(name, labels), value === '+Inf' ? Infinity : Number(value));
  }
  return out;
}

/** What differs between what the oracle expects and what is served: missing, extra and different samples. */
export function differences(expected: Map<string, number>, served: Map<string, number>): string[] {
  const found: string[] = [];
  for (const [key, value] of expected) {
    const got = served.get(key);
    if (got === undefined) found.push(`missing ${key} (expected ${value})`);
    else if (!Number.isNaN(value) && Math.abs(got - value) > 1e-6) found.push(`${key}: served ${got}, expected ${value}`);
  }
  for (const [key, value] of served) if (!expected.has(key)) found.push(`extra ${key} ${value}`);
  return found;
}

/** The steps so far, one line each, times from the start: for reading a failure (CORE_DEBUG=1). */
function describeSteps(steps: CoreStep[], start: number): string {
  return steps
    .map(({ at, action }, i) => {
      const when = `#${i + 1} t+${(at - start).toFixed(3)}`;
      if (action.kind !== 'webhook') return `${when} ${action.kind} ${JSON.stringify(action.kind === 'forget' ? action.target : action.crash)}`;
      const e = action.event;
      const named = (e.components ?? []).map((c) => `${c.name}:${c.impact ?? '-'}`).join(',');
      const rel = (x: number | null | undefined) => (x == null ? '-' : String(x - start));
      return `${when} ${e.page} ${e.type} ${e.type === 'component_impact_updated' ? `${e.title}=${e.impact}` : `${e.title} [${named}] start=${rel(e.startAt)} end=${rel(e.endAt)}`} created=${rel(e.createdAt)} attempt=${e.attempt}`;
    })
    .join('\n');
}

type Medium = { name: string; store: () => LogStore; restarts: boolean; app?: TestApp };

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function open(medium: Medium, limits: OracleLimits, statusPagesFile: string | undefined): Promise<TestApp> {
  const app = await makeApp({
    store: medium.store(),
    tokens: [TOKEN],
    limits,
    ...(statusPagesFile === undefined ? {} : { statusPagesFile }),
    retentionSeconds: RETENTION_SECONDS,
    pruneWindowSeconds: PRUNE_WINDOW_SECONDS,
    snapshots: { checkMs: 10, maxEntries: 5 },
  });
  apps.push(app);
  return app;
}

async function scrape(app: TestApp): Promise<Map<string, number>> {
  const res = await request(app.main).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  return servedSamples(res.text);
}

/** The limits of a seed: small ones for some, so that refusals and forgetting happen. */
export function limitsOf(seed: number): OracleLimits {
  return {
    maxActiveIncidents: seed % 3 === 0 ? 2 : 1000,
    maxActiveMaintenances: seed % 3 === 1 ? 1 : 1000,
    maxComponents: seed % 4 === 2 ? 4 : 10_000,
    maxClockSkewSeconds: 300,
    maxHoldings: seed % 5 === 3 ? 3 + (seed % 7) : 10_000,
    maxRetainedFinished: seed % 5 === 4 ? 4 + (seed % 9) : 10_000,
    maxDedupRecords: seed % 6 === 5 ? 6 + (seed % 8) : 100_000,
  };
}

/**
 * The status pages file of a seed, for some: both pages declared, a few of their components (one
 * no event names; two under a name no event sends, so that the webhook's name is seen to win),
 * within every seed's MAX_COMPONENTS.
 */
export function declaredOf(seed: number): OracleDeclared {
  if (seed % 3 !== 2) return [];
  return [
    {
      page: 'p1',
      components: [
        { uuid: cuid(1), name: 'Declared C1' },
        { uuid: cuid(3), name: 'C3' },
      ],
    },
    {
      page: 'p2',
      components: [
        { uuid: cuid(5), name: 'Declared C5' },
        { uuid: cuid(7), name: 'Only declared' },
      ],
    },
  ];
}

function statusPagesFile(declared: OracleDeclared): string | undefined {
  if (declared.length === 0) return undefined;
  const file = join(tempDir(), 'status-pages.json');
  const body = { status_pages: declared.map(({ page, components }) => ({ id: page, components: components.map(({ uuid, name }) => ({ uuid, name })) })) };
  writeFileSync(file, JSON.stringify(body));
  return file;
}

// Fixed seeds, sized for `npm test`; CORE_SEEDS, CORE_BASE and CORE_LENGTH search further (CORE_SEEDS=40 CORE_LENGTH=80).
const SEEDS = Array.from({ length: Number(process.env.CORE_SEEDS ?? 4) }, (_, i) => Number(process.env.CORE_BASE ?? 1) + i);
const LENGTH = Number(process.env.CORE_LENGTH ?? 30);

describe('the incident, maintenance and component series against the oracle of the docs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(SEEDS)('serve what the docs promise, delivery after delivery (seed %i)', async (seed) => {
    const start = Date.UTC(2026, 2, 1, 6) / 1000;
    vi.setSystemTime(start * 1000);
    const limits = limitsOf(seed);
    const steps: CoreStep[] = coreTimeline(seed, start, { length: LENGTH, retentionSeconds: RETENTION_SECONDS, pruneWindowSeconds: PRUNE_WINDOW_SECONDS });
    const declared = declaredOf(seed);
    const pagesFile = statusPagesFile(declared);
    const oracle = new CoreOracle(limits, RETENTION_SECONDS, PRUNE_WINDOW_SECONDS, declared, start);
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
        for (const medium of media) {
          await request((medium.app as TestApp).main)
            .post('/-/forget')
            .set('Authorization', `Bearer ${TOKEN}`)
            .set('Content-Type', 'application/json')
            .send(
              JSON.stringify({
                status_page: action.target.page,
                ...(action.target.component === undefined ? {} : { component_uuid: action.target.component }),
                ...(action.target.incident === undefined ? {} : { incident_uuid: action.target.incident }),
                ...(action.target.maintenance === undefined ? {} : { maintenance_uuid: action.target.maintenance }),
              }),
            );
        }
        oracle.forget(action.target, Date.now() / 1000);
      } else {
        const outcome = oracle.deliver(action.event, Date.now() / 1000);
        for (const medium of media) {
          const res = await request((medium.app as TestApp).main)
            .post('/webhook')
            .set('Authorization', `Bearer ${TOKEN}`)
            .set('Content-Type', 'application/json')
            .send(JSON.stringify(webhookBody(action.event)));
          const served = String(res.body.status);
          const context = `seed ${seed}, step ${index + 1} (${action.event.type} ${action.event.uuid} attempt ${action.event.attempt}), ${medium.name}`;
          expect(res.status, context).toBe(200);
          // A stale event of a finished object answers so before its components are looked at.
          const answers = outcome === 'applied' ? ['applied', 'stale'] : outcome === 'refused_limit' ? ['refused_limit', 'stale'] : [outcome];
          expect(answers, `${context}: the answer`).toContain(served);
        }
      }
      const expected = oracle.samples();
      for (const medium of media) {
        const found = differences(expected, await scrape(medium.app as TestApp));
        const what = action.kind === 'webhook' ? `${action.event.type} ${action.event.uuid} attempt ${action.event.attempt}` : action.kind;
        if (found.length > 0 && process.env.CORE_DEBUG !== undefined) console.log(`${found.join('\n')}\n${describeSteps(steps.slice(0, index + 1), start)}`);
        expect(found.join('\n'), `seed ${seed}, step ${index + 1} (${what}), ${medium.name}`).toBe('');
      }
    }
  });
});
