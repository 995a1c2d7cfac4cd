import type { HookEvent, OracleForget } from './core-oracle.js';
import { seeded } from './seeded.js';

// Seeded timelines of the deliveries StatusMate really makes, for the drill of the incident,
// maintenance and component series against the oracle (core-oracle.ts): a story of happenings in
// time (component updates, incidents and maintenances, each one lifecycle, some edited while they
// run so that later events name fewer or more components), each event delivered after a delay
// (late ones arrive after later events, now and then after the retention passed), some retried
// (delivery_attempt >= 1, the first delivery sometimes lost), some sent twice as first
// deliveries, some without created_at, some with one far ahead of their receipt (clock skew), some
// in the same second as others; the operator's
// forgets and the exporter's restarts between them.

export const PAGES = ['p1', 'p2'] as const;
export const cuid = (n: number) => `c0c0c0c0-0000-4000-8000-${String(n).padStart(12, '0')}`;
export const iuid = (n: number) => `1c1c1c1c-0000-4000-8000-${String(n).padStart(12, '0')}`;
export const muid = (n: number) => `3a3a3a3a-0000-4000-8000-${String(n).padStart(12, '0')}`;
/** Components 1-4 are on p1, 5-6 on p2. */
const COMPONENTS: Record<(typeof PAGES)[number], number[]> = { p1: [1, 2, 3, 4], p2: [5, 6] };
const IMPACTS = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'];
const UNKNOWN_IMPACTS = ['outage_custom', 'zeta_custom'];

export type CoreAction = { kind: 'webhook'; event: HookEvent } | { kind: 'forget'; target: OracleForget } | { kind: 'restart'; crash: boolean };
/** An action at a log time (seconds, ms precision), the times non-decreasing. */
export type CoreStep = { at: number; action: CoreAction };

export type TimelineOptions = { length: number; retentionSeconds: number; pruneWindowSeconds: number };

export function coreTimeline(seed: number, start: number, options: TimelineOptions): CoreStep[] {
  const random = seeded(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => random() < p;
  const impact = () => (chance(0.06) ? pick(UNKNOWN_IMPACTS) : pick(IMPACTS));
  const subset = (from: number[], min = 1) => {
    const chosen = from.filter(() => chance(0.5));
    while (chosen.length < min) {
      const n = pick(from);
      if (!chosen.includes(n)) chosen.push(n);
    }
    return chosen.sort((a, b) => a - b);
  };
  const name = (n: number) => `C${n}`;

  /** Events in the order they happen, with the time they happen (their created_at unless dropped). */
  const happened: { at: number; event: Omit<HookEvent, 'createdAt' | 'attempt'> }[] = [];
  let t = start;
  let incidents = 0;
  let maintenances = 0;
  const jump = options.retentionSeconds + options.pruneWindowSeconds + 60;
  while (happened.length < options.length) {
    // The same second as the last happening now and then: ties of created_at.
    t += chance(0.15) ? 0 : chance(0.06) ? jump + int(600) : 1 + int(chance(0.7) ? 60 : 900);
    const page = pick(PAGES);
    const roll = random();
    if (roll < 0.4) {
      const n = pick(COMPONENTS[page]);
      happened.push({ at: t, event: { type: 'component_impact_updated', page, uuid: cuid(n), title: name(n), impact: impact() } });
    } else if (roll < 0.72) {
      incidents += 1;
      const uuid = iuid(incidents);
      const title = `Incident ${incidents}`;
      const named = subset(COMPONENTS[page]);
      const impacts = new Map(named.map((n) => [n, impact()]));
      const startAt = chance(0.3) ? null : t - int(300);
      const components = (ns: number[]) => ns.map((n) => ({ uuid: cuid(n), name: name(n), impact: impacts.get(n) ?? impact() }));
      const createdAt = t;
      happened.push({ at: createdAt, event: { type: 'incident_created', page, uuid, title, startAt, endAt: null, components: components(named) } });
      if (chance(0.85)) {
        const finishedAt = createdAt + (chance(0.1) ? 0 : 1 + int(chance(0.5) ? 600 : 6000));
        // Edited while it ran: the finish names fewer (or other) components.
        const finishNames = chance(0.3) ? subset(named) : chance(0.1) ? subset(COMPONENTS[page]) : named;
        const endAt = chance(0.3) ? null : finishedAt;
        happened.push({ at: finishedAt, event: { type: 'incident_finished', page, uuid, title, startAt, endAt, components: components(finishNames) } });
      }
    } else {
      maintenances += 1;
      const uuid = muid(maintenances);
      const title = `Maintenance ${maintenances}`;
      const named = subset(COMPONENTS[page]);
      const held = chance(0.8) ? null : pick(['under_maintenance', 'major_outage']);
      const components = (ns: number[]) => ns.map((n) => ({ uuid: cuid(n), name: name(n), impact: held }));
      const startsIn = 1 + int(chance(0.5) ? 300 : 3000);
      const lasts = chance(0.1) ? 0 : 1 + int(chance(0.5) ? 600 : 6000);
      const window = { startAt: t + startsIn, endAt: t + startsIn + 1800 };
      const steps = chance(0.8) ? [true, true, true] : [chance(0.7), chance(0.7), chance(0.7)];
      if (steps[0]) happened.push({ at: t, event: { type: 'maintenance_created', page, uuid, title, ...window, components: components(named) } });
      const startNames = chance(0.25) ? subset(COMPONENTS[page]) : named;
      if (steps[1])
        happened.push({ at: t + startsIn, event: { type: 'maintenance_started', page, uuid, title, ...window, components: components(startNames) } });
      const finishNames = chance(0.25) ? subset(startNames) : startNames;
      if (steps[2])
        happened.push({ at: t + startsIn + lasts, event: { type: 'maintenance_finished', page, uuid, title, ...window, components: components(finishNames) } });
    }
  }

  /** Each delivery at its receipt time; ms apart so that the log's order is the order here. */
  const deliveries: { at: number; order: number; event: HookEvent }[] = [];
  let order = 0;
  for (const { at, event } of happened) {
    // StatusMate's clock now and then far ahead: a created_at past MAX_CLOCK_SKEW_SECONDS (300) of its receipt.
    const createdAt = chance(0.08) ? null : chance(0.05) ? at + 200 + int(3000) : at;
    const withTime: HookEvent = { ...event, createdAt, attempt: 0 };
    const delay = chance(0.75) ? int(5) : chance(0.85) ? 30 + int(900) : jump + int(3600);
    const receipt = at + delay + int(1000) / 1000;
    const lostFirst = chance(0.06);
    if (!lostFirst) deliveries.push({ at: receipt, order: (order += 1), event: withTime });
    if (lostFirst || chance(0.15)) {
      const retries = 1 + int(3);
      let when = receipt;
      for (let attempt = 1; attempt <= retries; attempt += 1) {
        when += chance(0.8) ? 1 + int(120) : jump + int(600);
        deliveries.push({ at: when + int(1000) / 1000, order: (order += 1), event: { ...withTime, attempt } });
      }
    }
    // The same body again as a first delivery (a flap back, or StatusMate sending it twice).
    if (chance(0.05)) deliveries.push({ at: receipt + int(300), order: (order += 1), event: withTime });
  }
  deliveries.sort((a, b) => a.at - b.at || a.order - b.order);

  const steps: CoreStep[] = [];
  for (const delivery of deliveries) {
    if (chance(0.04)) {
      const page = pick(PAGES);
      const what = random();
      const target: OracleForget =
        what < 0.15
          ? { page }
          : what < 0.45
            ? { page, component: cuid(pick(COMPONENTS[page])) }
            : what < 0.75
              ? { page, incident: iuid(1 + int(Math.max(1, incidents))) }
              : { page, maintenance: muid(1 + int(Math.max(1, maintenances))) };
      steps.push({ at: delivery.at, action: { kind: 'forget', target } });
    }
    if (chance(0.04)) steps.push({ at: delivery.at, action: { kind: 'restart', crash: chance(0.5) } });
    steps.push({ at: delivery.at, action: { kind: 'webhook', event: delivery.event } });
  }
  return steps;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** The webhook body StatusMate would send for an event (fields under `meta`, as its per-type examples). */
export function webhookBody(event: HookEvent): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    type: event.type,
    uuid: event.uuid,
    title: event.title,
    status_page: event.page,
    delivery_attempt: event.attempt,
    ...(event.createdAt === null ? {} : { created_at: iso(event.createdAt) }),
  };
  if (event.type === 'component_impact_updated') {
    meta.impact = event.impact;
  } else {
    meta.start_at = event.startAt == null ? null : iso(event.startAt);
    meta.end_at = event.endAt == null ? null : iso(event.endAt);
    meta.affected_components = (event.components ?? []).map((c) => ({
      ...(c.impact === null ? {} : { impact: c.impact }),
      component_details: { name: c.name, component_uuid: c.uuid, ...(c.impact === null ? {} : { impact: c.impact }) },
    }));
  }
  return { text: event.title, meta };
}
