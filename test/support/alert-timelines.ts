import { seeded } from './seeded.js';

// Seeded timelines of a status page and of Alertmanager's alerts about its components, as the
// exporter's log receives them: the page's component updates (webhooks, a few seconds after the
// change) and Alertmanager's notifications (group_wait, group_interval, repeat_interval,
// resolutions at the next flush, silences during maintenances). Plain data, no exporter types:
// the drill feeds it both to the real fold and to the oracle written from docs/metrics.md.
//
// Times are whole seconds chosen so that no two kinds coincide (page changes ≡ 0 mod 4, alert
// starts ≡ 1, alert ends ≡ 3, declarations ≡ 2): the docs say nothing of ties, so the drill
// does not ask about them.

export type Ref = readonly [statusPage: string, component: string];

export type TimelineAlert = { fingerprint: string; status: 'firing' | 'resolved'; startsAt: number; endsAt: number | null; components: Ref[] };

export type TimelineEntry =
  /** The status pages file declared these components (a `declare` entry): known operational from `at`. */
  | { kind: 'declare'; at: number; components: Ref[] }
  /** A component_impact_updated webhook: the page shows `impact` from `changedAt` (its created_at), received at `at`. */
  | { kind: 'page'; at: number; ref: Ref; impact: string; changedAt: number }
  /** One Alertmanager notification, received at `at`. */
  | { kind: 'alerts'; at: number; alerts: TimelineAlert[] };

export type Timeline = { seed: number; entries: TimelineEntry[]; notes: string[] };

/** One alert as it truly fires: what Alertmanager knows. `end` null: still firing at the end of the timeline. */
type TrueAlert = { fingerprint: string; start: number; end: number | null; components: Ref[]; group: string; visibleFrom: number };

export const GROUP_WAIT = 30;
export const GROUP_INTERVAL = 300;
export const REPEAT_INTERVAL = 4 * 3600;
export const T0 = 1_700_000_000; // ≡ 0 mod 4

const OUTAGE_IMPACTS = ['degraded_performance', 'partial_outage', 'major_outage'];

type Kind =
  'plain' | 'page-first' | 'silent-page' | 'flap-then-outage' | 'resolved-then-maintenance' | 'back-early' | 'maintenance' | 'noise' | 'ends-reversed';
const KINDS: Kind[] = [
  'plain',
  'page-first',
  'silent-page',
  'flap-then-outage',
  'resolved-then-maintenance',
  'back-early',
  'maintenance',
  'noise',
  'ends-reversed',
];

export type TimelineOptions = {
  /** Components per page: p0 gets `components`, p1 one. */
  components?: number;
  /** Episodes per component. */
  episodes?: number;
};

/**
 * A random timeline. Some seeds start with an alert that fired days before the exporter first
 * saw it: either the receiver was newly configured (the exporter declared the components long
 * before) or the exporter restarted without its state (declared now).
 */
export function randomTimeline(seed: number, options: TimelineOptions = {}): Timeline {
  const random = seeded(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const at4 = (t: number, residue: number) => t - (((t % 4) + 4) % 4) + residue + (((t % 4) + 4) % 4 > residue ? 4 : 0);
  const pageAt = (t: number) => at4(t, 0);
  const startAt = (t: number) => at4(t, 1);
  const endAt = (t: number) => at4(t, 3);

  const refs: Ref[] = [...Array.from({ length: options.components ?? 3 }, (_, i): Ref => ['p0', `c${i}`]), ['p1', 'c9']];
  const notes: string[] = [];
  const changes: { ref: Ref; impact: string; changedAt: number }[] = [];
  const alerts: TrueAlert[] = [];
  const maintenances: { ref: Ref; from: number; to: number }[] = [];

  const oldAlert = random() < 0.3 ? pick(['new-receiver', 'restarted'] as const) : null;
  const declaredAt = oldAlert === 'new-receiver' ? T0 - 10 * 86_400 + 2 : T0 + 2;
  /** From when Alertmanager sends to the exporter (a receiver newly configured, an exporter back). */
  const receiverFrom = oldAlert === null ? declaredAt : T0 + 2 * 3600 + 2;

  let serial = 0;
  const alert = (ref: Ref, start: number, end: number | null, extra: Partial<TrueAlert> = {}): TrueAlert => {
    const made: TrueAlert = {
      fingerprint: `${ref[1]}-a${(serial += 1)}`,
      start: startAt(start),
      end: end === null ? null : endAt(Math.max(end, start + 2)),
      components: [ref],
      group: `${ref[1]}-g${int(0, 1)}`,
      visibleFrom: 0,
      ...extra,
    };
    made.visibleFrom = made.start;
    alerts.push(made);
    return made;
  };
  const page = (ref: Ref, impact: string, at: number) => {
    const changedAt = pageAt(at);
    changes.push({ ref, impact, changedAt });
    return changedAt;
  };

  for (const ref of refs) {
    let cursor = T0 + int(0, 1200);
    if (oldAlert !== null && ref[1] === 'c0') {
      // Fired three days ago; the exporter hears of it only once Alertmanager sends to it.
      const fired = alert(ref, T0 - 3 * 86_400, T0 + 4 * 3600);
      const spoke = page(ref, 'major_outage', receiverFrom + int(600, 3600));
      page(ref, 'operational', (fired.end as number) + int(60, 1800));
      notes.push(`${oldAlert}: ${fired.fingerprint} fired at ${fired.start - T0}, page spoke at ${spoke - T0}`);
      cursor = (fired.end as number) + 4000;
    }
    const episodes = options.episodes ?? int(1, 4);
    for (let e = 0; e < episodes; e += 1) {
      const kind = pick(KINDS);
      const a = cursor;
      const outage = pick(OUTAGE_IMPACTS);
      let last = a;
      switch (kind) {
        case 'plain':
        case 'ends-reversed': {
          const n = kind === 'ends-reversed' ? 2 : int(1, 3);
          const made = Array.from({ length: n }, () => alert(ref, a + int(0, 900), a + int(1000, 4000)));
          if (kind === 'ends-reversed') {
            // Two groups: the one that ended first is resolved in the later notification.
            const [x, y] = made as [TrueAlert, TrueAlert];
            x.group = `${ref[1]}-fast`;
            y.group = `${ref[1]}-slow`;
            x.end = endAt(a + 3000);
            y.end = endAt(a + 2600);
            notes.push(`ends-reversed ${ref[1]}: ${x.fingerprint} ends ${x.end - T0}, ${y.fingerprint} ends ${y.end - T0}`);
          }
          if (random() < 0.2) {
            // Still firing at the end of the timeline.
            (made[0] as TrueAlert).end = null;
          }
          const first = Math.min(...made.map((m) => m.start));
          const spoke = page(ref, outage, first + int(20, 3000));
          if (random() < 0.3) page(ref, pick(OUTAGE_IMPACTS.filter((i) => i !== outage)), spoke + int(60, 600));
          const ends = made.map((m) => m.end ?? Number.POSITIVE_INFINITY);
          const lastEnd = Math.max(...ends);
          if (Number.isFinite(lastEnd)) last = page(ref, 'operational', Math.max(spoke + 8, lastEnd + int(-100, 2400)));
          else last = spoke + 5000;
          if (Number.isFinite(lastEnd)) last = Math.max(last, lastEnd);
          break;
        }
        case 'page-first': {
          // The page speaks before Alertmanager's group_wait has passed, or before the alert fired.
          const x = alert(ref, a + int(0, 300), a + int(1200, 3000));
          const spoke = page(ref, outage, x.start + int(-200, 25));
          last = page(ref, 'operational', (x.end as number) + int(20, 1500));
          notes.push(`page-first ${ref[1]}: fired ${x.start - T0}, page ${spoke - T0}`);
          break;
        }
        case 'silent-page': {
          const x = alert(ref, a, a + int(300, 2400));
          last = x.end as number;
          break;
        }
        case 'flap-then-outage': {
          // A first alert resolves before the page speaks; a second one of the same outage fires after.
          const x = alert(ref, a, a + int(60, 600));
          const spoke = page(ref, outage, (x.end as number) + int(20, 900));
          const y = alert(ref, random() < 0.5 ? spoke + int(10, 900) : spoke - int(10, 100), spoke + int(1000, 3000), { group: x.group });
          if (y.start <= (x.end as number)) y.start = startAt((x.end as number) + 2);
          y.visibleFrom = y.start;
          last = page(ref, 'operational', (y.end as number) + int(20, 1500));
          notes.push(
            `flap-then-outage ${ref[1]}: ${x.fingerprint} ${x.start - T0}..${(x.end as number) - T0}, page ${spoke - T0}, ${y.fingerprint} from ${y.start - T0}`,
          );
          break;
        }
        case 'resolved-then-maintenance': {
          // Alerts resolved, the page goes under_maintenance, then operational.
          const x = alert(ref, a, a + int(600, 2400));
          page(ref, outage, x.start + int(30, 500));
          const maintained = page(ref, 'under_maintenance', (x.end as number) + int(60, 900));
          last = page(ref, 'operational', maintained + int(300, 3600));
          notes.push(`resolved-then-maintenance ${ref[1]}: ${x.fingerprint} ends ${(x.end as number) - T0}, maintenance ${maintained - T0}..${last - T0}`);
          break;
        }
        case 'back-early': {
          // The page says operational while the alert still fires.
          const x = alert(ref, a, a + int(1500, 4000));
          const spoke = page(ref, outage, x.start + int(30, 600));
          const back = page(ref, 'operational', spoke + int(60, 600));
          last = back;
          if (random() < 0.5) last = page(ref, outage, back + int(60, 600));
          last = page(ref, 'operational', Math.max(last, x.end as number) + int(8, 900));
          break;
        }
        case 'maintenance': {
          // A maintenance silences the alerts that fire during it; Alertmanager sends them at its end.
          const from = page(ref, 'under_maintenance', a);
          const to = page(ref, 'operational', from + int(600, 3600));
          maintenances.push({ ref, from, to });
          const x = alert(ref, from + int(10, to - from - 10), to + int(100, 2000));
          x.visibleFrom = to;
          last = x.end as number;
          if (random() < 0.6) {
            const spoke = page(ref, outage, to + int(10, 900));
            last = page(ref, 'operational', Math.max(spoke, last) + int(20, 900));
          }
          break;
        }
        case 'noise': {
          // Alerts that fire and resolve while the page stays operational.
          for (let i = int(1, 3); i > 0; i -= 1) last = Math.max(last, alert(ref, a + int(0, 1200), a + int(1300, 2000)).end as number);
          break;
        }
      }
      cursor = last + int(600, 3000);
    }
  }

  // A few alerts explain two components: dropped from a component whose maintenance would silence them.
  const singles = alerts.filter((a) => a.components.length === 1 && a.visibleFrom === a.start && a.start >= T0);
  for (const spanning of singles) {
    if (random() > 0.1) continue;
    const other = pick(refs);
    if (other === spanning.components[0]) continue;
    const end = spanning.end ?? Number.POSITIVE_INFINITY;
    if (maintenances.some((m) => m.ref === other && m.from < end && spanning.start < m.to)) continue;
    spanning.components = [...spanning.components, other];
    spanning.group = 'spanning';
  }

  const entries: (TimelineEntry & { order: number })[] = [];
  let order = 0;
  entries.push({ kind: 'declare', at: declaredAt, components: refs, order: (order += 1) });
  // The page's webhooks: a few seconds after each change, in order per component.
  const byRef = new Map<Ref, { impact: string; changedAt: number }[]>();
  for (const change of changes) byRef.set(change.ref, [...(byRef.get(change.ref) ?? []), change]);
  for (const [ref, list] of byRef) {
    list.sort((x, y) => x.changedAt - y.changedAt);
    let previousAt = declaredAt;
    for (const change of list) {
      const at = Math.max(previousAt + 1, change.changedAt + int(1, 20));
      previousAt = at;
      entries.push({ kind: 'page', at, ref, impact: change.impact, changedAt: change.changedAt, order: (order += 1) });
    }
  }
  for (const notification of alertmanager(alerts, receiverFrom, random)) entries.push({ kind: 'alerts', ...notification, order: (order += 1) });
  entries.sort((x, y) => x.at - y.at || x.order - y.order);
  return { seed, entries: entries.map(({ order: _, ...entry }) => entry), notes };
}

/**
 * Alertmanager's aggregation groups, as its dispatcher and notification log behave: a group is
 * flushed group_wait after its first alert (at once if that alert started longer ago), then every
 * group_interval; a flush notifies when an alert fires that the last notification did not list as
 * firing, when one resolved (send_resolved), or when repeat_interval passed; it lists the group's
 * firing alerts and those resolved since, then forgets the resolved ones. A group left with no
 * alert is deleted. Silenced alerts are left out. Nothing reaches the exporter before `receiverFrom`.
 */
function alertmanager(alerts: readonly TrueAlert[], receiverFrom: number, random: () => number): { at: number; alerts: TimelineAlert[] }[] {
  const groups = new Map<string, TrueAlert[]>();
  for (const a of alerts) groups.set(a.group, [...(groups.get(a.group) ?? []), a]);
  const out: { at: number; alerts: TimelineAlert[] }[] = [];
  const horizon = Math.max(...alerts.map((a) => (a.end ?? a.start) + 2 * GROUP_INTERVAL), T0 + 6 * 3600) + 3 * REPEAT_INTERVAL;
  for (const members of groups.values()) {
    // Alertmanager receives an alert once it fires and is not silenced (visibleFrom), for the exporter's route from receiverFrom.
    const arrives = (a: TrueAlert) => Math.max(a.visibleFrom, receiverFrom);
    const pending = [...members].sort((x, y) => arrives(x) - arrives(y));
    let inGroup: TrueAlert[] = [];
    let flushAt: number | null = null;
    let lastFiring = new Set<string>();
    let lastSent: number | null = null;
    let next = 0;
    for (;;) {
      const nextArrival = next < pending.length ? arrives(pending[next] as TrueAlert) : Number.POSITIVE_INFINITY;
      if (flushAt === null) {
        if (!Number.isFinite(nextArrival)) break;
        const first = pending[next] as TrueAlert;
        // A new group: flush after group_wait, at once when the alert started longer ago than that.
        flushAt = first.start + GROUP_WAIT < nextArrival ? nextArrival : nextArrival + GROUP_WAIT;
        lastFiring = new Set();
        lastSent = null;
      }
      while (next < pending.length && arrives(pending[next] as TrueAlert) <= flushAt) {
        const a = pending[next] as TrueAlert;
        next += 1;
        // One that fired and resolved while it was not sent (silenced all along) never reaches the group.
        if (a.end !== null && a.end <= arrives(a)) continue;
        inGroup.push(a);
      }
      if (flushAt > horizon) break;
      const now: number = flushAt;
      const firing = inGroup.filter((a) => a.end === null || a.end > now);
      const resolved = inGroup.filter((a) => a.end !== null && a.end <= now);
      const newFiring = firing.some((a) => !lastFiring.has(a.fingerprint));
      let notify: boolean;
      if (lastSent === null) notify = firing.length > 0;
      else if (newFiring) notify = true;
      else if (firing.length === 0) notify = lastFiring.size > 0;
      else if (resolved.length > 0) notify = true;
      else notify = now - lastSent >= REPEAT_INTERVAL;
      if (notify) {
        out.push({
          at: now + Math.floor(random() * 3),
          alerts: [...firing, ...resolved].map((a) => ({
            fingerprint: a.fingerprint,
            status: a.end !== null && a.end <= now ? 'resolved' : 'firing',
            startsAt: a.start,
            endsAt: a.end !== null && a.end <= now ? a.end : null,
            components: a.components.map((ref) => [ref[0], ref[1]] as const),
          })),
        });
        lastFiring = new Set(firing.map((a) => a.fingerprint));
        lastSent = now;
      }
      inGroup = firing;
      if (inGroup.length === 0 && !(next < pending.length && arrives(pending[next] as TrueAlert) <= now + GROUP_WAIT)) {
        // Deleted (the dispatcher's maintenance, every 30 s): the next alert makes a new group.
        flushAt = null;
        continue;
      }
      flushAt = now + GROUP_INTERVAL;
    }
  }
  return out;
}
