import type { StoredAlert } from '../../src/domain/alert-state.js';
import type { AffectedComponent, StatusMateEvent } from '../../src/domain/event.js';
import type { ForgetTarget } from '../../src/domain/forget.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/domain/reducer.js';
import { encodeAlerts, encodeDeclare, encodeEntry, encodeForget } from '../../src/log/entry.js';
import type { EntryFields } from '../../src/store/store.js';
import { T0, uuid } from './events.js';
import { seeded } from './seeded.js';

// Random logs for the differential tests of a restart (test/log/restart-differential.test.ts):
// every kind of entry (events of every type, retries, forgets, alerts, declarations), with
// created_at out of order, missing, tied in one second or too far ahead, and log times that
// jump past the retention, the prune window and UTC days, under limits small enough that
// refusals and forgetting happen.

/** The appender's limits: small, so that every bound is reached within a few dozen entries. */
export const SMALL_LIMITS: Limits = {
  ...DEFAULT_LIMITS,
  maxComponents: 9,
  maxActiveIncidents: 3,
  maxActiveMaintenances: 2,
  maxStatusPages: 2,
  maxHoldings: 7,
  maxRetainedFinished: 6,
  maxDedupRecords: 8,
  ledgerRetentionDays: 2,
  ledgerMaxDayRows: 24,
};
export const SMALL_ALERT_LIMITS = { maxFiringAlerts: 4, maxFiringAlertBytes: 4096, maxClockSkewSeconds: 300, alertStaleSeconds: 1500 };
export const RETENTION_SECONDS = 900;
export const PRUNE_WINDOW_SECONDS = 300;

/** page-c is the third page, past MAX_STATUS_PAGES until a forget of another: it comes up less often. */
export const PAGES = ['page-a', 'page-b', 'page-a', 'page-b', 'page-c'] as const;
const IMPACTS = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance', 'zeta_impact'];

/** One entry of a random log: its fields as an appender writes them, and its log time (seconds). */
/** The webhook types a random history draws from: component updates twice as often as each other type. */
export const EVENT_TYPES = [
  'component_impact_updated',
  'component_impact_updated',
  'incident_created',
  'incident_finished',
  'maintenance_created',
  'maintenance_started',
  'maintenance_finished',
] as const;

export type TimedEntry = { fields: EntryFields; time: number };

export function randomLog(seed: number, length: number): TimedEntry[] {
  const random = seeded(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => random() < p;
  const limits = SMALL_LIMITS;
  const alertLimits = { ...limits, ...SMALL_ALERT_LIMITS };
  let time = T0 + int(86_400);
  const events: StatusMateEvent[] = [];
  const createdAts: number[] = [];
  const entries: TimedEntry[] = [];
  const components = (): AffectedComponent[] => {
    const chosen = new Set<number>();
    const count = 1 + int(3);
    while (chosen.size < count) chosen.add(1 + int(5));
    return [...chosen].map((n) => ({ uuid: uuid(n), name: `Component ${n}`, impact: chance(0.2) ? null : pick(IMPACTS) }));
  };
  const createdAt = (): number | null => {
    if (chance(0.12)) return null;
    if (createdAts.length > 0 && chance(0.2)) return pick(createdAts); // a tie with an earlier event
    if (chance(0.04)) return Math.floor(time) + 3_600; // past the clock skew: not trusted
    const at = Math.floor(time) - int(chance(0.3) ? 2_000 : 60);
    createdAts.push(at);
    return at;
  };
  // The first entries may be of the releases before (formats 1 and 5): an upgraded log.
  const oldFormats = chance(0.3) ? int(8) : 0;
  for (let i = 0; i < length; i += 1) {
    // The log's time: mostly seconds apart, at times past the retention, a prune window, or a day.
    const step = random();
    time += (step < 0.55 ? int(3) : step < 0.85 ? int(120) : step < 0.95 ? RETENTION_SECONDS + int(600) : 86_400 / 2 + int(86_400)) + int(1000) / 1000;
    const origin = `seed${seed}:${i}`;
    const roll = random();
    let fields: EntryFields;
    if (roll < 0.18 && events.length > 0) {
      // A retry of an earlier event, or the same event sent again later.
      const again = pick(events);
      fields = encodeEntry(origin, { ...again, deliveryAttempt: (again.deliveryAttempt ?? 0) + 1 }, limits, RETENTION_SECONDS);
    } else if (roll < 0.2) {
      const statusPage = pick(PAGES);
      const kind = pick(['page', 'component', 'incident', 'maintenance'] as const);
      const target: ForgetTarget =
        kind === 'page'
          ? { kind, statusPage }
          : { kind, statusPage, uuid: uuid(kind === 'component' ? 1 + int(5) : kind === 'incident' ? 1000 + 1 + int(4) : 2000 + 1 + int(3)) };
      fields = encodeForget(origin, target, limits, RETENTION_SECONDS);
    } else if (roll < 0.28) {
      const alerts: StoredAlert[] = [];
      for (let a = 0, n = 1 + int(3); a < n; a += 1) {
        const firing = chance(0.7);
        const refs = [...new Set([1 + int(5), 1 + int(5)])].map((n) => [pick(PAGES), uuid(n)] as const);
        alerts.push({
          fingerprint: `f${int(6)}`,
          status: firing ? 'firing' : 'resolved',
          startsAt: chance(0.2) ? null : Math.floor(time) - int(600),
          endsAt: firing ? null : Math.floor(time) - int(30),
          components: refs.map(([page, id]) => [page, id]),
        });
      }
      fields = encodeAlerts(origin, alerts, alertLimits, RETENTION_SECONDS);
    } else if (roll < 0.33) {
      const statusPage = pick(PAGES);
      fields = encodeDeclare(origin, [{ statusPage, uuids: [...new Set([uuid(1 + int(6)), uuid(1 + int(6))])] }], limits, RETENTION_SECONDS);
    } else {
      const statusPage = pick(PAGES);
      const type = pick(EVENT_TYPES);
      const at = createdAt();
      let event: StatusMateEvent;
      if (type === 'component_impact_updated') {
        const n = 1 + int(6);
        event = { type, statusPage, uuid: uuid(n), name: `Component ${n}`, impact: pick(IMPACTS), createdAt: at, deliveryAttempt: 0 };
      } else if (type === 'incident_created' || type === 'incident_finished') {
        const id = 1 + int(4);
        const startAt = chance(0.3) ? null : (at ?? Math.floor(time)) - int(100);
        event = {
          type,
          statusPage,
          uuid: uuid(1000 + id),
          title: `Incident ${id}`,
          startAt,
          endAt: type === 'incident_finished' && chance(0.7) ? (at ?? Math.floor(time)) : null,
          createdAt: at,
          deliveryAttempt: 0,
          components: components(),
        };
      } else {
        const id = 1 + int(3);
        const start = (at ?? Math.floor(time)) - int(100);
        event = {
          type,
          statusPage,
          uuid: uuid(2000 + id),
          title: `Maintenance ${id}`,
          startAt: chance(0.2) ? null : start,
          endAt: chance(0.2) ? null : start + 600,
          createdAt: at,
          deliveryAttempt: 0,
          components: components(),
        };
      }
      events.push(event);
      fields = encodeEntry(origin, event, limits, RETENTION_SECONDS);
      if (i < oldFormats) fields = { ...fields, v: chance(0.5) ? '1' : '5' };
    }
    entries.push({ fields, time });
  }
  return entries;
}
