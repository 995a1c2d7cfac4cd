import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { vi } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, tempDir, type TestApp } from './app.js';
import { CoreOracle, seriesKey, type HookEvent, type OracleDeclared, type OracleForget, type OracleLimits, type Outcome } from './core-oracle.js';
import { cuid, webhookBody, type CoreStep } from './core-timelines.js';

// The pieces the drills of the core series share (test/store/core-series-drill.test.ts on a memory
// store and a SQLite file, test/redis/core-series-drill.test.ts on replicas of one Redis log): the
// configuration a seed runs under, how a step reaches an app, and how its /metrics are compared
// with the oracle (core-oracle.ts).

export const CORE_TOKEN = 'hook';
export const CORE_RETENTION_SECONDS = 3600;
export const CORE_PRUNE_WINDOW_SECONDS = 600;

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
export const servedSamples = (text: string): Map<string, number> => samplesOf(text, FAMILIES);

/** The samples of `families` in a text exposition, keyed by seriesKey. */
export function samplesOf(text: string, families: ReadonlySet<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const [, name = '', inner = '', value = ''] = match;
    if (!families.has(name)) continue;
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

/** The steps so far, one line each, times from the start: for reading a failure (CORE_DEBUG=1). `where` names the app each went to. */
export function describeSteps(steps: CoreStep[], start: number, where: (index: number) => string = () => ''): string {
  return steps
    .map(({ at, action }, i) => {
      const when = `#${i + 1} t+${(at - start).toFixed(3)}${where(i)}`;
      if (action.kind !== 'webhook') return `${when} ${action.kind} ${JSON.stringify(action.kind === 'forget' ? action.target : action.crash)}`;
      const e = action.event;
      const named = (e.components ?? []).map((c) => `${c.name}:${c.impact ?? '-'}`).join(',');
      const rel = (x: number | null | undefined) => (x == null ? '-' : String(x - start));
      return `${when} ${e.page} ${e.type} ${e.type === 'component_impact_updated' ? `${e.title}=${e.impact}` : `${e.title} [${named}] start=${rel(e.startAt)} end=${rel(e.endAt)}`} created=${rel(e.createdAt)} attempt=${e.attempt}`;
    })
    .join('\n');
}

/** What a step is, for a failure's message. */
export function stepName(action: CoreStep['action']): string {
  return action.kind === 'webhook' ? `${action.event.type} ${action.event.uuid} attempt ${action.event.attempt}` : action.kind;
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

/** The status pages file of a declaration, in a temp dir; none when nothing is declared. */
export function statusPagesFileOf(declared: OracleDeclared): string | undefined {
  if (declared.length === 0) return undefined;
  const file = join(tempDir(), 'status-pages.json');
  const body = { status_pages: declared.map(({ page, components }) => ({ id: page, components: components.map(({ uuid, name }) => ({ uuid, name })) })) };
  writeFileSync(file, JSON.stringify(body));
  return file;
}

/** An operator's forget, as POST /-/forget takes it. */
export function postForget(app: TestApp, target: OracleForget) {
  return request(app.main)
    .post('/-/forget')
    .set('Authorization', `Bearer ${CORE_TOKEN}`)
    .set('Content-Type', 'application/json')
    .send(
      JSON.stringify({
        status_page: target.page,
        ...(target.component === undefined ? {} : { component_uuid: target.component }),
        ...(target.incident === undefined ? {} : { incident_uuid: target.incident }),
        ...(target.maintenance === undefined ? {} : { maintenance_uuid: target.maintenance }),
      }),
    );
}

/** A delivery of StatusMate's. */
export function postEvent(app: TestApp, event: HookEvent) {
  return request(app.main)
    .post('/webhook')
    .set('Authorization', `Bearer ${CORE_TOKEN}`)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(webhookBody(event)));
}

/** The answers the oracle's outcome allows: a stale event of a finished object answers so before its components are looked at. */
export function answersOf(outcome: Outcome): string[] {
  return outcome === 'applied' ? ['applied', 'stale'] : outcome === 'refused_limit' ? ['refused_limit', 'stale'] : [outcome];
}

/** The samples the oracle speaks for, as an app serves them now. */
export async function scrapeCore(app: TestApp): Promise<Map<string, number>> {
  const res = await request(app.main).get('/metrics').set('Authorization', `Bearer ${CORE_TOKEN}`);
  return servedSamples(res.text);
}

/** A step of a drill history shrunk by hand: a delivery or an operator's forget, at `at` on the exporter's clock (seconds). */
export type ShrunkStep = { at: number; deliver: HookEvent | { forget: OracleForget } };

/**
 * Plays a shrunk history on a fresh app (a memory log, `declared` in its status pages file) and
 * on the oracle alike, Date faked to each step's time as the drill does; every delivery must be
 * answered 200. Answers what each serves then. The caller fakes Date (vi.useFakeTimers) around it.
 */
export async function playShrunk(
  start: number,
  steps: ShrunkStep[],
  declared: OracleDeclared = [],
): Promise<{ served: Map<string, number>; expected: Map<string, number> }> {
  vi.setSystemTime(start * 1000);
  const limits = limitsOf(1000);
  const oracle = new CoreOracle(limits, CORE_RETENTION_SECONDS, CORE_PRUNE_WINDOW_SECONDS, declared, start);
  const file = statusPagesFileOf(declared);
  const app = await makeApp({
    store: new MemoryLog(),
    tokens: [CORE_TOKEN],
    limits,
    ...(file === undefined ? {} : { statusPagesFile: file }),
    retentionSeconds: CORE_RETENTION_SECONDS,
    pruneWindowSeconds: CORE_PRUNE_WINDOW_SECONDS,
  });
  try {
    for (const { at, deliver } of steps) {
      vi.setSystemTime(at * 1000);
      if ('forget' in deliver) {
        const status = (await postForget(app, deliver.forget)).status;
        if (status !== 200) throw new Error(`forget answered ${status}`);
        oracle.forget(deliver.forget, at);
      } else {
        oracle.deliver(deliver, at);
        const status = (await postEvent(app, deliver)).status;
        if (status !== 200) throw new Error(`${deliver.type} answered ${status}`);
      }
    }
    return { served: await scrapeCore(app), expected: oracle.samples() };
  } finally {
    await app.close();
  }
}
