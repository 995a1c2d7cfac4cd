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

export type TimelineAlert = { fingerprint: string; status: 'firing' | 'resolved'; startsAt: number | null; endsAt: number | null; components: Ref[] };

/** An incident's or maintenance's event, holding one component (its created_at and start_at: `changedAt`). */
export type HoldType = 'incident_created' | 'incident_finished' | 'maintenance_started' | 'maintenance_finished';

export type TimelineEntry =
  /** The status pages file declared these components (a `declare` entry): known operational from `at`. */
  | { kind: 'declare'; at: number; components: Ref[] }
  /** A component_impact_updated webhook: the page shows `impact` from `changedAt` (its created_at), received at `at`. */
  | { kind: 'page'; at: number; ref: Ref; impact: string; changedAt: number }
  /** An incident or maintenance event naming the component with `impact`, made at `changedAt` (created_at and start_at), received at `at`. */
  | { kind: 'hold'; at: number; ref: Ref; type: HoldType; object: string; impact: string; changedAt: number }
  /**
   * One Alertmanager notification, received at `at`; or the exporter's look at Alertmanager's
   * alerts letting go of held ones (src/alertmanager/held-alerts.ts): resolved, no times, no components.
   */
  | { kind: 'alerts'; at: number; alerts: TimelineAlert[] };

export type Timeline = { seed: number; entries: TimelineEntry[]; notes: string[] };

/** One alert as it truly fires: what Alertmanager knows. `end` null: still firing at the end of the timeline. */
type TrueAlert = {
  fingerprint: string;
  start: number;
  end: number | null;
  components: Ref[];
  group: string;
  visibleFrom: number;
  /** From `at`, the appender's matchers name it for `components` only (a matcher taken away). */
  renamed?: { at: number; components: Ref[] };
};

export const GROUP_WAIT = 30;
export const GROUP_INTERVAL = 300;
export const REPEAT_INTERVAL = 4 * 3600;
export const T0 = 1_700_000_000; // ≡ 0 mod 4
/** ALERTMANAGER_ALERTS_CHECK_SECONDS, and the look's wait for a resolution that is not muted (UNSUPPRESSED_RESOLUTION_WAIT_MS). */
export const CHECK_INTERVAL = 60;
export const CHECK_UNSUPPRESSED_WAIT = 600;

const OUTAGE_IMPACTS = ['degraded_performance', 'partial_outage', 'major_outage'];

type Kind =
  | 'plain'
  | 'page-first'
  | 'silent-page'
  | 'flap-then-outage'
  | 'resolved-then-maintenance'
  | 'back-early'
  | 'maintenance'
  | 'noise'
  | 'ends-reversed'
  | 'back-and-away'
  | 'ends-apart'
  | 'incident'
  | 'update-then-incident'
  | 'maintenance-held'
  | 'incident-then-maintenance';
/** With `holds`: the page changes through incidents and maintenances too. */
const HOLD_KINDS: Kind[] = ['incident', 'update-then-incident', 'maintenance-held', 'incident-then-maintenance'];
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
  'back-and-away',
  'ends-apart',
];

export type TimelineOptions = {
  /** Components per page: p0 gets `components`, p1 one. */
  components?: number;
  /** Episodes per component. */
  episodes?: number;
  /**
   * Incidents and maintenances hold components (their events change the page), and a
   * maintenance silences the component's alerts in Alertmanager (the exporter's own silences):
   * an alert that resolves under it gets no resolution.
   */
  holds?: boolean;
  /** Some groups send no resolutions (a receiver with send_resolved: false). */
  lostResolutions?: boolean;
  /** The exporter's look at Alertmanager's alerts every CHECK_INTERVAL lets go of held alerts it no longer has. */
  check?: boolean;
  /** Some alerts that explain two components stop being named for one of them (the appender's matchers changed). */
  letGo?: boolean;
};

/**
 * The page changed by incidents and maintenances too (a maintenance silencing the component's
 * alerts, so that one resolving under it gets no resolution); alerts let go of without an end
 * (an entry no longer naming one for a component; the exporter's look at Alertmanager's alerts);
 * alerts forgotten when no entry named them for a day.
 */
export const FEATURES: Record<string, TimelineOptions> = {
  holds: { holds: true },
  'let go of': { letGo: true },
  'resolutions lost, expired': { holds: true, lostResolutions: true },
  'resolutions lost, looked at': { holds: true, lostResolutions: true, check: true },
  all: { holds: true, lostResolutions: true, check: true, letGo: true },
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
  const changes: { ref: Ref; impact: string; changedAt: number; hold?: { type: HoldType; object: string } }[] = [];
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
  let objects = 0;
  const hold = (ref: Ref, type: HoldType, object: string, impact: string, at: number) => {
    const changedAt = pageAt(at);
    changes.push({ ref, impact, changedAt, hold: { type, object } });
    return changedAt;
  };
  const kinds = options.holds === true ? [...KINDS, ...HOLD_KINDS, ...HOLD_KINDS] : KINDS;

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
      const kind = pick(kinds);
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
        case 'incident': {
          // An incident holds the component; an update during it overrides it and stands at its end.
          const made = Array.from({ length: int(1, 2) }, () => alert(ref, a + int(0, 600), a + int(900, 3600)));
          const first = Math.min(...made.map((m) => m.start));
          const lastEnd = Math.max(...made.map((m) => m.end as number));
          const object = `i${(objects += 1)}`;
          const spoke = hold(ref, 'incident_created', object, outage, first + int(-25, 2000));
          let changed = spoke;
          const update = random() < 0.3 ? pick(['operational', ...OUTAGE_IMPACTS.filter((i) => i !== outage)]) : null;
          if (update !== null) changed = page(ref, update, spoke + int(60, 600));
          const finished = hold(ref, 'incident_finished', object, outage, Math.max(changed + 8, lastEnd + int(-300, 1500)));
          last = Math.max(finished, lastEnd);
          if (update !== null && update !== 'operational') last = page(ref, 'operational', last + int(20, 600));
          notes.push(`incident ${ref[1]}: from ${spoke - T0} to ${finished - T0}, update ${update}, alerts ${first - T0}..${lastEnd - T0}`);
          break;
        }
        case 'update-then-incident': {
          // An update made before an incident is overridden by it, and does not come back at its end.
          const x = alert(ref, a, a + int(1200, 3600));
          const spoke = page(ref, outage, a + int(30, 900));
          const object = `i${(objects += 1)}`;
          const held = hold(ref, 'incident_created', object, 'major_outage', spoke + int(60, 600));
          const finished = hold(ref, 'incident_finished', object, 'major_outage', Math.max(held + 8, (x.end as number) + int(-200, 1500)));
          last = Math.max(finished, x.end as number);
          notes.push(`update-then-incident ${ref[1]}: update ${spoke - T0}, incident ${held - T0}..${finished - T0}, alert ends ${(x.end as number) - T0}`);
          break;
        }
        case 'maintenance-held': {
          // A maintenance's events hold the component under_maintenance and silence its alerts.
          const object = `m${(objects += 1)}`;
          const from = hold(ref, 'maintenance_started', object, 'under_maintenance', a);
          const to = hold(ref, 'maintenance_finished', object, 'under_maintenance', from + int(600, 3600));
          maintenances.push({ ref, from, to });
          const x = alert(ref, from + int(10, to - from - 10), to + int(100, 2000));
          x.visibleFrom = to;
          last = x.end as number;
          if (random() < 0.6) {
            const spoke = page(ref, outage, to + int(10, 900));
            last = page(ref, 'operational', Math.max(spoke, last) + int(20, 900));
          }
          notes.push(`maintenance-held ${ref[1]}: ${from - T0}..${to - T0}, ${x.fingerprint} from ${x.start - T0}`);
          break;
        }
        case 'incident-then-maintenance': {
          // An incident; its alert resolves (maybe under the maintenance's silence: no resolution);
          // a maintenance starts, the incident finishes during it, then the maintenance.
          const x = alert(ref, a, a + int(600, 2400));
          const incident = `i${(objects += 1)}`;
          const spoke = hold(ref, 'incident_created', incident, outage, x.start + int(30, 500));
          const maintenance = `m${(objects += 1)}`;
          const from = hold(ref, 'maintenance_started', maintenance, 'under_maintenance', Math.max(spoke + 8, (x.end as number) + int(-400, 900)));
          const finished = hold(ref, 'incident_finished', incident, outage, from + int(60, 600));
          const to = hold(ref, 'maintenance_finished', maintenance, 'under_maintenance', finished + int(300, 3000));
          maintenances.push({ ref, from, to });
          last = Math.max(to, x.end as number);
          notes.push(
            `incident-then-maintenance ${ref[1]}: ${x.fingerprint} ${x.start - T0}..${(x.end as number) - T0}, incident ${spoke - T0}..${finished - T0}, maintenance ${from - T0}..${to - T0}`,
          );
          break;
        }
        case 'back-and-away': {
          // The page comes back after the alert ended and leaves again, both before the
          // resolution arrives (the group's next flush), then comes back for good.
          const x = alert(ref, a, a + int(600, 2400));
          page(ref, outage, x.start + int(30, 500));
          const back = page(ref, 'operational', (x.end as number) + int(4, 150));
          const away = page(ref, pick(OUTAGE_IMPACTS), back + int(4, 150));
          last = page(ref, 'operational', away + int(60, 1200));
          notes.push(`back-and-away ${ref[1]}: ${x.fingerprint} ends ${(x.end as number) - T0}, back ${back - T0}, away ${away - T0}`);
          break;
        }
        case 'ends-apart': {
          // Two runs apart by a short gap the page came back in, in two groups: the later run's
          // resolution may arrive before the earlier one's. Sometimes a third alert fires after both.
          const x = alert(ref, a, a + int(300, 900), { group: `${ref[1]}-slow` });
          page(ref, outage, x.start + int(30, 250));
          const back = page(ref, 'operational', (x.end as number) + int(4, 40));
          const y = alert(ref, back + int(4, 40), back + int(100, 400), { group: `${ref[1]}-fast` });
          page(ref, outage, y.start + int(4, 60));
          last = page(ref, 'operational', Math.max((y.end as number) + int(8, 600), y.start + 70));
          if (random() < 0.5) last = Math.max(last, alert(ref, (y.end as number) + int(10, 200), last + int(100, 600)).end as number);
          notes.push(
            `ends-apart ${ref[1]}: ${x.fingerprint} ${x.start - T0}..${(x.end as number) - T0}, back ${back - T0}, ${y.fingerprint} ${y.start - T0}..${(y.end as number) - T0}`,
          );
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
    if (options.letGo === true && random() < 0.6 && (spanning.end === null || spanning.end - spanning.start > 1200)) {
      // The appender's matchers stop naming it for `other`: a firing notification after that
      // (another alert of the group fires) lets go of it there, with no end.
      const at = spanning.start + int(200, 900);
      spanning.renamed = { at, components: [spanning.components[0] as Ref] };
      const companion = alert(spanning.components[0] as Ref, at + int(10, 200), at + int(400, 1500), { group: 'spanning' });
      notes.push(`let-go ${other[1]}: ${spanning.fingerprint} from ${at - T0}, ${companion.fingerprint} fires ${companion.start - T0}`);
    }
  }

  const entries: (TimelineEntry & { order: number })[] = [];
  let order = 0;
  entries.push({ kind: 'declare', at: declaredAt, components: refs, order: (order += 1) });
  // The page's webhooks: a few seconds after each change, in order per component.
  const byRef = new Map<Ref, (typeof changes)[number][]>();
  for (const change of changes) byRef.set(change.ref, [...(byRef.get(change.ref) ?? []), change]);
  for (const [ref, list] of byRef) {
    list.sort((x, y) => x.changedAt - y.changedAt);
    let previousAt = declaredAt;
    for (const change of list) {
      // With `holds`, now and then a webhook late enough that an alert it answers arrives first.
      const delay = options.holds === true && random() < 0.2 ? int(20, 90) : int(1, 20);
      const at = Math.max(previousAt + 1, change.changedAt + delay);
      previousAt = at;
      if (change.hold === undefined) entries.push({ kind: 'page', at, ref, impact: change.impact, changedAt: change.changedAt, order: (order += 1) });
      else entries.push({ kind: 'hold', at, ref, ...change.hold, impact: change.impact, changedAt: change.changedAt, order: (order += 1) });
    }
  }
  const model: AlertmanagerModel = {
    receiverFrom,
    // The exporter's maintenance silences: only where maintenances are held by events (and the
    // update-made ones of the drill's first part keep their model: silenced until the end).
    silenced: options.holds === true ? (a, t) => a.components.some((ref) => maintenances.some((m) => m.ref === ref && m.from <= t && t < m.to)) : () => false,
    sendResolved: options.lostResolutions === true ? () => random() >= 0.3 : () => true,
  };
  const notifications = alertmanager(alerts, model, random);
  for (const notification of notifications) entries.push({ kind: 'alerts', ...notification, order: (order += 1) });
  entries.sort((x, y) => x.at - y.at || x.order - y.order);
  if (options.check === true) {
    for (const look of heldAlertsLooks(entries, alerts, model)) entries.push({ ...look, order: (order += 1) });
    entries.sort((x, y) => x.at - y.at || x.order - y.order);
  }
  if (options.holds === true || options.lostResolutions === true) {
    // Entries go on for more than a day after the last (a redeclaration at each reload every few
    // hours), so that alerts no notification names any more expire.
    const lastAt = (entries[entries.length - 1] as { at: number }).at;
    for (let at = lastAt + 3 * 3600; at < lastAt + 30 * 3600; at += 3 * 3600)
      entries.push({ kind: 'declare', at: at - (at % 4) + 2, components: refs, order: (order += 1) });
  }
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
type AlertmanagerModel = {
  /** Nothing reaches the exporter before (a receiver newly configured, an exporter back). */
  receiverFrom: number;
  /** Whether a silence mutes the alert at `t` (firing or resolved: a muted resolution is never sent). */
  silenced: (alert: TrueAlert, t: number) => boolean;
  /** Drawn per group: false for a receiver with send_resolved: false. */
  sendResolved: () => boolean;
};

function alertmanager(alerts: readonly TrueAlert[], model: AlertmanagerModel, random: () => number): { at: number; alerts: TimelineAlert[] }[] {
  const { receiverFrom } = model;
  const groups = new Map<string, TrueAlert[]>();
  for (const a of alerts) groups.set(a.group, [...(groups.get(a.group) ?? []), a]);
  const out: { at: number; alerts: TimelineAlert[] }[] = [];
  const horizon = Math.max(...alerts.map((a) => (a.end ?? a.start) + 2 * GROUP_INTERVAL), T0 + 6 * 3600) + 3 * REPEAT_INTERVAL;
  for (const members of groups.values()) {
    const sendResolved = model.sendResolved();
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
      const stillFiring = inGroup.filter((a) => a.end === null || a.end > now);
      // A silence mutes an alert, its resolution included: it is left out.
      const firing = stillFiring.filter((a) => !model.silenced(a, now));
      const resolved = sendResolved ? inGroup.filter((a) => a.end !== null && a.end <= now && !model.silenced(a, now)) : [];
      const newFiring = firing.some((a) => !lastFiring.has(a.fingerprint));
      let notify: boolean;
      if (firing.length === 0 && resolved.length === 0) notify = false;
      else if (lastSent === null) notify = firing.length > 0;
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
            components: (a.renamed !== undefined && now >= a.renamed.at ? a.renamed.components : a.components).map((ref) => [ref[0], ref[1]] as const),
          })),
        });
        lastFiring = new Set(firing.map((a) => a.fingerprint));
        lastSent = now;
      }
      inGroup = stillFiring;
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

/**
 * The exporter's look at Alertmanager's alerts (src/alertmanager/held-alerts.ts, one replica
 * looking): every CHECK_INTERVAL it lists the alerts Alertmanager has firing, each suppressed or
 * not, and lets go of a held alert missing from two looks in a row, at once if the last look
 * that listed it saw it suppressed, else once it has been missing CHECK_UNSUPPRESSED_WAIT. What
 * it lets go of goes through the log as a notification with those alerts resolved, no times and
 * no components. Held: named firing by the entries so far, not resolved since.
 */
function heldAlertsLooks(entries: readonly TimelineEntry[], alerts: readonly TrueAlert[], model: AlertmanagerModel): TimelineEntry[] {
  const byFingerprint = new Map(alerts.map((a) => [a.fingerprint, a]));
  const notifications = entries.filter((entry) => entry.kind === 'alerts');
  const first = notifications[0];
  if (first === undefined) return [];
  const out: TimelineEntry[] = [];
  const held = new Set<string>();
  let missing = new Map<string, number>();
  const muted = new Set<string>();
  let index = 0;
  const until = (entries[entries.length - 1] as TimelineEntry).at + 2 * CHECK_UNSUPPRESSED_WAIT;
  // Looks at times ≡ 3 mod 4: never at a page's change.
  for (let t = first.at - (first.at % 4) + 3 + CHECK_INTERVAL; t <= until; t += CHECK_INTERVAL) {
    for (; index < notifications.length && (notifications[index] as TimelineEntry).at <= t; index += 1) {
      for (const alert of (notifications[index] as { alerts: TimelineAlert[] }).alerts) {
        if (alert.status === 'firing' && alert.components.length > 0) held.add(alert.fingerprint);
        else held.delete(alert.fingerprint);
      }
    }
    if (held.size === 0) {
      missing.clear();
      muted.clear();
      continue;
    }
    const listed = new Map<string, boolean>();
    for (const fingerprint of held) {
      const a = byFingerprint.get(fingerprint) as TrueAlert;
      if (a.start <= t && (a.end === null || t < a.end)) listed.set(fingerprint, t < a.visibleFrom || model.silenced(a, t));
    }
    for (const fingerprint of muted) if (!held.has(fingerprint)) muted.delete(fingerprint);
    for (const [fingerprint, suppressed] of listed) {
      if (suppressed) muted.add(fingerprint);
      else muted.delete(fingerprint);
    }
    const nextMissing = new Map<string, number>();
    for (const fingerprint of held) if (!listed.has(fingerprint)) nextMissing.set(fingerprint, missing.get(fingerprint) ?? t);
    const gone = [...nextMissing]
      .filter(([fingerprint, since]) => missing.has(fingerprint) && (muted.has(fingerprint) || t - since >= CHECK_UNSUPPRESSED_WAIT))
      .map(([fingerprint]) => fingerprint)
      .sort();
    missing = nextMissing;
    if (gone.length === 0) continue;
    out.push({ kind: 'alerts', at: t, alerts: gone.map((fingerprint) => ({ fingerprint, status: 'resolved', startsAt: null, endsAt: null, components: [] })) });
    for (const fingerprint of gone) {
      held.delete(fingerprint);
      missing.delete(fingerprint);
      muted.delete(fingerprint);
    }
  }
  return out;
}
