// A seeded, realistic set of StatusMate webhook bodies with many events of one created_at second:
// two status pages, 30-80 components, 20-40 incidents and 10 maintenances (one lifecycle each),
// component updates of which about two in five fall in the second of an incident's or
// maintenance's event naming the component, and retries (delivery_attempt 1 or 2) of a tenth of
// them. Never two updates of one component in one second (decided by arrival, as documented),
// never more than 28 events a component (the evidence keeps 32). Used by ties-workload.test.ts.

import { seeded } from './seeded.js';

export type WebhookBody = { text: string; meta: Record<string, unknown> };
export type TieEvent = { id: number; at: number; body: WebhookBody; retryOf?: number };
/** `add`: a tenth of the incidents' finishes name one component more than their create. */
export type TieOptions = { dayStart: number; addAtFinish?: boolean };

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const INCIDENT_IMPACTS = ['degraded_performance', 'partial_outage', 'major_outage'];
const UPDATE_IMPACTS = ['operational', 'operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'];
const MAX_PER_COMPONENT = 28;

/** An ISO 8601 time, in UTC or with StatusMate's +03:00. */
function iso(seconds: number, moscow = false): string {
  if (!moscow) return new Date(seconds * 1000).toISOString().replace('.000Z', '+00:00');
  return new Date((seconds + 3 * 3600) * 1000).toISOString().replace('.000Z', '+03:00');
}

type Component = { uuid: string; name: string; page: string };
type Named = { c: Component; impact: string };
type Anchor = { type: string; at: number; page: string; comps: Named[] };

export function tieWorkload(seed: number, options: TieOptions): TieEvent[] {
  const r = seeded(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const tag = hex(seed & 0xffff, 4);
  const pages = [`a${tag}0000-0000-4000-8000-000000000001`, `b${tag}0000-0000-4000-8000-000000000002`];
  const components: Component[] = Array.from({ length: int(30, 80) }, (_, i) => ({
    uuid: `c${tag}000-0000-4000-8000-${hex(i, 12)}`,
    name: `Component ${i}`,
    page: pages[i % 2] as string,
  }));
  // Three days up to an hour before dayStart (every event, ends included): whole past days,
  // trusted when received after dayStart.
  const from = options.dayStart - 3 * 86400;
  const to = options.dayStart - 3600;
  const count = new Map(components.map((c) => [c.uuid, 0]));
  const updateSeconds = new Map(components.map((c) => [c.uuid, new Set<number>()]));
  const events: TieEvent[] = [];
  const anchors: Anchor[] = [];
  const envelope = (type: string, uuid: string, title: string, at: number, page: string, rest: Record<string, unknown>): WebhookBody => ({
    text: title,
    meta: { type, uuid, title, created_at: iso(at, r() < 0.3), delivery_attempt: 0, status_page: page, ...rest },
  });
  const affected = (list: Named[]) => list.map(({ c, impact }) => ({ impact, component_details: { name: c.name, impact, component_uuid: c.uuid } }));
  const take = (page: string, n: number): Component[] => {
    const pool = components.filter((c) => c.page === page && (count.get(c.uuid) ?? 0) < MAX_PER_COMPONENT - 4);
    const chosen: Component[] = [];
    while (chosen.length < n && pool.length > 0) chosen.push(...pool.splice(Math.floor(r() * pool.length), 1));
    return chosen;
  };
  const push = (at: number, body: WebhookBody, named: Named[]) => {
    for (const { c } of named) count.set(c.uuid, (count.get(c.uuid) ?? 0) + 1);
    events.push({ id: events.length, at, body });
  };
  const sharing = (page: string, comps: Component[], after = -Infinity) =>
    anchors.filter((a) => a.page === page && a.at > after && a.comps.some((x) => comps.includes(x.c)));

  const incidents = int(20, 40);
  for (let n = 0; n < incidents; n++) {
    const page = pick(pages);
    const comps = take(page, int(1, 4));
    if (comps.length === 0) continue;
    const uuid = `1${tag}${hex(n, 3)}-0000-4000-8000-${hex(seed % 4096, 12)}`;
    const title = `Incident ${n}`;
    // A quarter start in the second of another event naming one of their components.
    const shared = sharing(page, comps).filter((a) => a.at <= to - 6 * 3600);
    const t0 = shared.length > 0 && r() < 0.25 ? pick(shared).at : int(from, to - 7 * 3600);
    const startAt = r() < 0.3 ? t0 - int(30, 900) : t0;
    // Some are resolved in the second they were created, or within a minute.
    const t1 = t0 + (r() < 0.1 ? 0 : r() < 0.2 ? int(1, 60) : int(300, 6 * 3600));
    const created = comps.map((c) => ({ c, impact: pick(INCIDENT_IMPACTS) }));
    let finished = r() < 0.5 ? comps.map((c) => ({ c, impact: 'operational' })) : created;
    if (options.addAtFinish && r() < 0.1) {
      const extra = take(page, 1).filter((c) => !comps.includes(c));
      finished = [...finished, ...extra.map((c) => ({ c, impact: finished[0]?.impact ?? 'operational' }))];
    }
    push(t0, envelope('incident_created', uuid, title, t0, page, { start_at: iso(startAt), end_at: null, affected_components: affected(created) }), created);
    push(
      t1,
      envelope('incident_finished', uuid, title, t1, page, { start_at: iso(startAt), end_at: iso(t1), affected_components: affected(finished) }),
      finished,
    );
    anchors.push({ type: 'incident_created', at: t0, page, comps: created });
    if (startAt !== t0) anchors.push({ type: 'incident_start', at: startAt, page, comps: created });
    anchors.push({ type: 'incident_finished', at: t1, page, comps: finished });
  }
  for (let n = 0; n < 10; n++) {
    const page = pick(pages);
    const comps = take(page, int(1, 3));
    if (comps.length === 0) continue;
    const uuid = `2${tag}${hex(n, 3)}-0000-4000-8000-${hex(seed % 4096, 12)}`;
    const title = `Maintenance ${n}`;
    const tc = int(from, to - 30 * 3600);
    // A fifth start at once (created and started in one second); some in another event's second.
    let ts = r() < 0.2 ? tc : tc + int(3600, 24 * 3600);
    const shared = sharing(page, comps, tc).filter((a) => a.at <= to - 4 * 3600);
    if (shared.length > 0 && r() < 0.3) ts = pick(shared).at;
    const te = ts + (r() < 0.1 ? 0 : int(1800, 4 * 3600));
    const named = comps.map((c) => ({ c, impact: 'under_maintenance' }));
    const rest = { start_at: iso(ts), end_at: iso(te), affected_components: affected(named) };
    push(tc, envelope('maintenance_created', uuid, title, tc, page, rest), named);
    push(ts, envelope('maintenance_started', uuid, title, ts, page, rest), named);
    push(te, envelope('maintenance_finished', uuid, title, te, page, rest), named);
    anchors.push({ type: 'maintenance_started', at: ts, page, comps: named });
    anchors.push({ type: 'maintenance_finished', at: te, page, comps: named });
    anchors.push({ type: 'maintenance_created', at: tc, page, comps: named });
  }
  for (const c of components) {
    const mine = anchors.filter((a) => a.comps.some((x) => x.c === c));
    const n = int(2, 8);
    for (let k = 0; k < n && (count.get(c.uuid) ?? 0) < MAX_PER_COMPONENT; k++) {
      let at: number;
      let impact = pick(UPDATE_IMPACTS);
      if (mine.length > 0 && r() < 0.85) {
        const anchor = pick(mine);
        at = anchor.at;
        // Mostly what StatusMate would show then: the incident's impact, operational after a finish.
        if (r() < 0.6) {
          const own = anchor.comps.find((x) => x.c === c)?.impact ?? 'operational';
          impact = anchor.type === 'maintenance_created' || anchor.type.endsWith('finished') ? 'operational' : own;
        }
      } else at = int(from, to);
      const seconds = updateSeconds.get(c.uuid) as Set<number>;
      if (seconds.has(at)) continue;
      seconds.add(at);
      const meta = {
        type: 'component_impact_updated',
        uuid: c.uuid,
        title: c.name,
        impact,
        created_at: iso(at, r() < 0.3),
        delivery_attempt: 0,
        status_page: c.page,
      };
      push(at, { text: c.name, meta }, [{ c, impact }]);
    }
  }
  const originals = events.length;
  for (let i = 0; i < originals; i++) {
    const original = events[i] as TieEvent;
    if (r() < 0.1) {
      const body = { ...original.body, meta: { ...original.body.meta, delivery_attempt: int(1, 2) } };
      events.push({ id: events.length, at: original.at, body, retryOf: original.id });
    }
  }
  return events;
}

/** The events in created_at order (a retry after its first delivery). */
export const inCreatedOrder = (events: readonly TieEvent[]): TieEvent[] => events.slice().sort((a, b) => a.at - b.at || a.id - b.id);

/** A seeded shuffle in which each retry still comes after its first delivery (StatusMate retries only what failed). */
export function shuffledOrder(events: readonly TieEvent[], seed: number): TieEvent[] {
  const r = seeded(seed ^ 0x5bd1e995);
  const order = events.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j] as TieEvent, order[i] as TieEvent];
  }
  const position = new Map(order.map((e, i) => [e.id, i]));
  for (const e of events) {
    if (e.retryOf === undefined) continue;
    const a = position.get(e.id) as number;
    const b = position.get(e.retryOf) as number;
    if (a > b) continue;
    [order[a], order[b]] = [order[b] as TieEvent, order[a] as TieEvent];
    position.set(e.id, b);
    position.set(e.retryOf, a);
  }
  return order;
}
