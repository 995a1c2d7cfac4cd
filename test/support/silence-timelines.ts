import type { OracleComponent, OracleFile, OraclePage } from './silences-oracle.js';
import { seeded } from './seeded.js';

// Seeded random timelines of maintenances as StatusMate sends them, for the silences drills: each
// maintenance has a true history (created, rescheduled, started, finished, or some of it), whose
// events are then delivered as a webhook sender does: late, out of order, retried (before and
// after the finish), without created_at, stamped ahead of the receiver's clock, or never; with
// components added and removed between events, forgets, and reloads of the status pages file that
// change matchers and drop (and bring back) a component or a page.

export const SHOP_UUID = '6b2f4e1a-8c3d-4a5b-9e7f-1d2c3b4a5f60';
export const OPS_UUID = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
/** Component n of a page: s (shop) or o (ops). */
export const component = (page: 's' | 'o', n: number) => `${page === 's' ? 'cccccccc' : 'dddddddd'}-0000-4000-8000-${String(n).padStart(12, '0')}`;
export const maintenanceId = (n: number) => `bbbbbbbb-0000-4000-8000-${String(n).padStart(12, '0')}`;

export type TimelineAction =
  | { kind: 'webhook'; meta: Record<string, unknown>; note: string }
  | { kind: 'forget'; body: { status_page: string; maintenance_uuid?: string; component_uuid?: string } }
  | { kind: 'reload'; file: OracleFile }
  /** Nothing arrives: time passes (a look at the silences between deliveries). */
  | { kind: 'probe' }
  /** The exporter restarts on its store (SQLite): what it folded must silence as before. */
  | { kind: 'restart' }
  /** An operator expires, or edits (a matcher added), the `pick`-th (modulo) live silence of the exporter's. */
  | { kind: 'operator'; edit: boolean; pick: number };

/** An action at `at` (Unix seconds, the receiver's clock). */
export type TimelineStep = { at: number; action: TimelineAction };

export type SilenceTimeline = { file: OracleFile; steps: TimelineStep[] };

export type TimelineShape = {
  /** The time of the first event. */
  start: number;
  /**
   * Where the maintenances' windows lie: around their events (`events`), or around this time
   * (a drill on the real clock delivers everything at once, so the windows lie around its now).
   */
  windowsAround?: 'events' | number;
  maintenances?: number;
  /** Forgets and reloads; a drill on the real clock keeps them. */
  operatorMoves?: boolean;
  /** Probes between deliveries (time passing); none on the real clock. */
  probes?: boolean;
  /** Restarts of the exporter (drawn apart, so that a seed's deliveries are the same with or without them). */
  restarts?: boolean;
  /** An operator's expiries and edits of silences in Alertmanager (drawn apart too). */
  operator?: boolean;
};

const MATCHER_POOL = ['service="checkout"', 'service="search"', 'env=~"prod|canary"', 'team!="sre"', 'job=~"api.*"', 'service="db"', 'cluster!~"dev.*"'];

/** A status pages file: shop always, ops unless dropped; matchers drawn anew. */
function randomFile(random: () => number, withOps: boolean): OracleFile {
  const int = (n: number) => Math.floor(random() * n);
  const matchers = (): string[] | undefined => {
    const roll = random();
    if (roll < 0.2) return undefined;
    // A first matcher that does not match an empty label (required), then maybe another.
    const first = ['service="checkout"', 'service="search"', 'service="db"', 'job=~"api.*"'][int(4)] as string;
    const more = roll < 0.6 ? [] : [MATCHER_POOL[int(MATCHER_POOL.length)] as string];
    return [...new Set([first, ...more])];
  };
  const comps = (page: 's' | 'o', count: number): OracleComponent[] =>
    Array.from({ length: count }, (_, i) => i + 1)
      // Now and then a component is dropped from the file.
      .filter(() => random() > 0.1)
      .map((n) => {
        const m = matchers();
        return { uuid: component(page, n), name: `${page.toUpperCase()}${n}`, ...(m === undefined ? {} : { matchers: m }) };
      });
  const pages: OraclePage[] = [{ id: 'shop', uuid: SHOP_UUID, components: comps('s', 4) }];
  if (withOps) pages.push({ id: 'ops', uuid: OPS_UUID, components: comps('o', 3) });
  return { pages };
}

/** The file as YAML, as an operator writes it. */
export function fileYaml(file: OracleFile): string {
  const lines = ['status_pages:'];
  for (const page of file.pages) {
    lines.push(`  - id: ${page.id}`);
    if (page.uuid !== undefined) lines.push(`    uuid: ${page.uuid}`);
    lines.push('    components:');
    if (page.components.length === 0) lines[lines.length - 1] = '    components: []';
    for (const c of page.components) {
      lines.push(`      - uuid: ${c.uuid}`, `        name: ${c.name}`);
      if (c.matchers !== undefined) lines.push(`        alert_matchers: [${c.matchers.map((m) => `'${m}'`).join(', ')}]`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function randomSilenceTimeline(seed: number, shape: TimelineShape): SilenceTimeline {
  const random = seeded(seed);
  const int = (n: number) => Math.floor(random() * n);
  const chance = (p: number) => random() < p;
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  const steps: TimelineStep[] = [];
  const file = randomFile(random, true);
  const count = shape.maintenances ?? 2 + int(3);
  let horizon = shape.start;

  for (let m = 1; m <= count; m += 1) {
    const page: 's' | 'o' = chance(0.75) ? 's' : 'o';
    const statusPage = page === 's' ? pick(['shop', SHOP_UUID]) : pick(['ops', OPS_UUID]);
    const uuid = maintenanceId(m);
    // Components 1..4 of its page (ops declares 1..3: a fourth is one the file never names).
    let named = new Set([1 + int(4), 1 + int(4)]);
    const edit = () => {
      const next = new Set(named);
      if (chance(0.3)) next.add(1 + int(4));
      if (chance(0.2) && next.size > 1) next.delete(pick([...next]));
      named = next;
      return [...next];
    };
    const first = shape.start + int(3_600);
    const around = shape.windowsAround ?? 'events';
    const anchor = around === 'events' ? first + 600 + int(3_600) : around + (int(5) - 2) * 1_800 + int(600);
    let startAt = anchor;
    let endAt: number | null = chance(0.1) ? null : chance(0.03) ? Date.UTC(9999, 11, 31) / 1000 : anchor + 600 + int(7_200);
    const truth: { type: string; at: number; startAt: number; endAt: number | null; components: number[] }[] = [];
    let t = first;
    // Created, rescheduled now and then.
    const creates = chance(0.15) ? 0 : 1 + (chance(0.5) ? 1 + int(2) : 0);
    for (let c = 0; c < creates; c += 1) {
      if (c > 0) {
        startAt += (int(5) - 2) * 900;
        if (endAt !== null && endAt < LATEST_ISH) endAt = Math.max(startAt + 300, endAt + (int(5) - 2) * 900);
      }
      truth.push({ type: 'maintenance_created', at: t, startAt, endAt, components: c === 0 ? [...named] : edit() });
      // Now and then the next event comes in the same second (a tie, ordered by type).
      t += chance(0.1) ? 0 : 60 + int(1_800);
    }
    const started = chance(0.8);
    if (started) {
      // Started on time, early or late.
      const at = around === 'events' ? Math.max(t, startAt + (int(7) - 3) * 600) : t;
      truth.push({ type: 'maintenance_started', at, startAt, endAt, components: edit() });
      t = at + (chance(0.1) ? 0 : 60 + int(3_600));
    }
    // Finished after its start, cancelled (finished, never started), or never finished.
    if ((started && chance(0.7)) || (!started && chance(0.5))) {
      truth.push({ type: 'maintenance_finished', at: t, startAt, endAt, components: edit() });
    }

    for (const event of truth) {
      const names = (n: number) => (chance(0.8) ? `${page.toUpperCase()}${n}` : `Component ${n}`);
      // Its body, the same for every delivery of it but delivery_attempt.
      const createdAt = chance(0.1) ? null : event.at;
      const meta: Record<string, unknown> = {
        type: event.type,
        uuid,
        title: `Maintenance ${m}`,
        status_page: statusPage,
        ...(createdAt === null ? {} : { created_at: iso(createdAt) }),
        // A start or a finish may leave the window out (it was sent with the create).
        ...(event.type !== 'maintenance_created' && chance(0.15)
          ? {}
          : { start_at: iso(event.startAt), ...(event.endAt === null ? {} : { end_at: iso(event.endAt) }) }),
        affected_components: event.components.map((n) => ({
          ...(chance(0.2) ? {} : { impact: 'under_maintenance' }),
          component_details: { name: names(n), component_uuid: component(page, n) },
        })),
      };
      const deliver = (at: number, attempt: number, note: string) => {
        steps.push({ at, action: { kind: 'webhook', meta: { ...meta, ...(attempt === 0 && chance(0.5) ? {} : { delivery_attempt: attempt }) }, note } });
        horizon = Math.max(horizon, at);
      };
      const roll = random();
      if (roll < 0.05) continue; // never delivered
      if (roll < 0.15) {
        // The first delivery failed; a retry gets through later.
        deliver(event.at + 60 + int(900), 1 + int(2), 'retry of a lost delivery');
      } else if (roll < 0.3) {
        // A first delivery that comes late (after later events, maybe after the finish).
        deliver(event.at + 1_800 + int(7_200), 0, 'late first delivery');
      } else if (roll < 0.35 && createdAt !== null) {
        // Stamped ahead of the receiver's clock: within MAX_CLOCK_SKEW_SECONDS, or past it.
        deliver(event.at - (chance(0.5) ? 120 : 900), 0, 'created_at ahead of the receiver');
      } else {
        deliver(event.at + int(120), 0, 'on time');
      }
      // A retry of a delivery that got through: soon, or much later (after the finish).
      if (chance(0.2)) deliver(event.at + 30 + int(chance(0.5) ? 300 : 10_800), 1 + int(3), 'retry of a delivered event');
      // The same body sent again as a first delivery: a new event, not a duplicate.
      if (chance(0.05)) deliver(event.at + int(600), 0, 'the same body again, as a first delivery');
    }
  }

  const end = horizon + 600;
  if (shape.operatorMoves ?? true) {
    // Reloads: matchers drawn anew, a component or the ops page dropped and brought back.
    const reloads = 1 + int(4);
    for (let r = 0; r < reloads; r += 1) {
      steps.push({ at: shape.start + int(Math.max(1, end - shape.start)), action: { kind: 'reload', file: randomFile(random, chance(0.6)) } });
    }
    const forgets = int(3);
    for (let f = 0; f < forgets; f += 1) {
      const page = chance(0.75) ? 'shop' : 'ops';
      const roll = random();
      const body =
        roll < 0.5
          ? { status_page: page, maintenance_uuid: maintenanceId(1 + int(count)) }
          : roll < 0.85
            ? { status_page: page, component_uuid: component(page === 'shop' ? 's' : 'o', 1 + int(4)) }
            : { status_page: page };
      steps.push({ at: shape.start + int(Math.max(1, end - shape.start)), action: { kind: 'forget', body } });
    }
  }
  if (shape.probes ?? true) {
    const probes = 6 + int(10);
    for (let p = 0; p < probes; p += 1) steps.push({ at: shape.start + int(Math.max(1, end + 10_800 - shape.start)), action: { kind: 'probe' } });
  }
  if (shape.restarts ?? false) {
    const apart = seeded(seed ^ 0x5eed);
    const restarts = 1 + Math.floor(apart() * 3);
    for (let r = 0; r < restarts; r += 1) steps.push({ at: shape.start + Math.floor(apart() * Math.max(1, end - shape.start)), action: { kind: 'restart' } });
  }
  if (shape.operator ?? false) {
    const apart = seeded(seed ^ 0x0be7);
    const moves = 1 + Math.floor(apart() * 3);
    for (let o = 0; o < moves; o += 1) {
      const at = shape.start + Math.floor(apart() * Math.max(1, end - shape.start));
      steps.push({ at, action: { kind: 'operator', edit: apart() < 0.5, pick: Math.floor(apart() * 100) } });
    }
  }
  // By time; a stable sort keeps the drawn order of a tie.
  steps.sort((a, b) => a.at - b.at);
  return { file, steps };
}

/** One step as a line of a drill's history, its times from `origin`. */
export function describeStep(step: TimelineStep, origin: number): string {
  const { action } = step;
  const at = Math.round(step.at - origin);
  if (action.kind === 'operator') return `${at} operator ${action.edit ? 'edits' : 'expires'} silence #${action.pick}`;
  if (action.kind !== 'webhook') return `${at} ${action.kind}${action.kind === 'forget' ? ` ${JSON.stringify(action.body)}` : ''}`;
  const { meta } = action;
  const created = typeof meta.created_at === 'string' ? `created ${Date.parse(meta.created_at) / 1000 - origin}` : 'no created_at';
  return `${at} ${JSON.stringify(meta.type)} ${JSON.stringify(meta.uuid)} ${created} attempt ${JSON.stringify(meta.delivery_attempt ?? null)} (${action.note})`;
}

/** Ends past this are the year-9999 ones: never moved by a reschedule. */
const LATEST_ISH = Date.UTC(9000, 0, 1) / 1000;
