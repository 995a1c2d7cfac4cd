import { RETENTION_SECONDS, EVENT_TYPES } from './random-log.js';
import { seeded } from './seeded.js';

// Random deliveries to an exporter, as an operator's install gets them: webhooks of every type
// (retries among them), forgets, Alertmanager's alerts, and reloads of a status pages file that
// drops and brings back a page. Shared by the differential drills of restarts
// (test/store/restart-differential.test.ts) and of the operator's moves
// (test/process/operator-moves.test.ts).

export const TOKEN = 'hook';
export const AM_TOKEN = 'am';
export const SHOP = '6b2f4e1a-8c3d-4a5b-9e7f-1d2c3b4a5f60';
export const LEARNT = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
export const cid = (n: number) => `cccccccc-0000-4000-8000-${String(n).padStart(12, '0')}`;
export const oid = (kind: 'a' | 'b', n: number) => `${kind.repeat(8)}-0000-4000-8000-${String(n).padStart(12, '0')}`;
const IMPACTS = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'];

/** The status pages file of the drills: page shop, and page old while `withOld`. */
export const statusPagesFile = (withOld: boolean) =>
  'status_pages:\n' +
  `  - id: shop\n    uuid: ${SHOP}\n    components:\n` +
  `      - { uuid: ${cid(1)}, name: C1, alert_matchers: ['service="c1"'] }\n` +
  `      - { uuid: ${cid(2)}, name: C2, alert_matchers: ['service="c2"'] }\n` +
  `      - { uuid: ${cid(3)}, name: C3 }\n` +
  (withOld ? `  - id: old\n    components:\n      - { uuid: ${cid(9)}, name: Old, alert_matchers: ['service="c1"'] }\n` : '');

export type Delivery =
  | { kind: 'webhook'; body: Record<string, unknown> }
  | { kind: 'forget'; body: Record<string, string> }
  | { kind: 'alerts'; body: Record<string, unknown> }
  | { kind: 'reload'; withOld: boolean };

/** A delivery, and how far the log's time moves before it (seconds). */
export type Step = { advance: number; delivery: Delivery };

/**
 * `clock` says whose time passes: the log's (fake Date: seconds to days between deliveries) or the
 * real one (tenths of a second, and now and then a second, past a retention of one).
 */
export function randomDeliveries(seed: number, length: number, start: number, clock: 'fake' | 'real' = 'fake'): Step[] {
  const random = seeded(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => random() < p;
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  let now = start;
  const sent: Record<string, unknown>[] = [];
  const createdAts: number[] = [];
  let withOld = true;
  const steps: Step[] = [];
  for (let i = 0; i < length; i += 1) {
    const roll = random();
    const step = random();
    const advance =
      clock === 'real'
        ? step < 0.95
          ? int(3) / 10
          : 1.2
        : (step < 0.5 ? int(3) : step < 0.85 ? int(200) : step < 0.95 ? RETENTION_SECONDS + int(600) : 43_200 + int(86_400)) + int(1000) / 1000;
    now += advance;
    const page = pick([SHOP, SHOP, 'shop', LEARNT, undefined, 'old']);
    let delivery: Delivery;
    if (roll < 0.15 && sent.length > 0) {
      const again = pick(sent);
      delivery = { kind: 'webhook', body: { meta: { ...again, delivery_attempt: Number(again.delivery_attempt ?? 0) + 1 } } };
    } else if (roll < 0.22) {
      const target = pick(['page', 'component', 'incident', 'maintenance'] as const);
      const statusPage = pick(['shop', LEARNT, 'default', 'old']);
      const body: Record<string, string> = { status_page: statusPage };
      if (target === 'component') body.component_uuid = cid(1 + int(5));
      if (target === 'incident') body.incident_uuid = oid('a', 1 + int(3));
      if (target === 'maintenance') body.maintenance_uuid = oid('b', 1 + int(2));
      delivery = { kind: 'forget', body };
    } else if (roll < 0.3) {
      const alerts = Array.from({ length: 1 + int(3) }, () => {
        const firing = chance(0.7);
        return {
          status: firing ? 'firing' : 'resolved',
          labels: { alertname: 'Down', service: pick(['c1', 'c2', 'c3']) },
          annotations: {},
          startsAt: iso(Math.floor(now) - int(600)),
          endsAt: firing ? '0001-01-01T00:00:00Z' : iso(Math.floor(now) - int(30)),
          generatorURL: 'http://prometheus.example:9090/graph',
          fingerprint: `f${int(5)}`,
        };
      });
      delivery = {
        kind: 'alerts',
        body: {
          version: '4',
          groupKey: '{}:{alertname="Down"}',
          truncatedAlerts: 0,
          status: alerts.some((alert) => alert.status === 'firing') ? 'firing' : 'resolved',
          receiver: 'statusmate',
          groupLabels: { alertname: 'Down' },
          commonLabels: {},
          commonAnnotations: {},
          externalURL: 'http://alertmanager.example:9093',
          alerts,
        },
      };
    } else if (roll < 0.34) {
      withOld = !withOld;
      delivery = { kind: 'reload', withOld };
    } else {
      let createdAt: number | null = Math.floor(now) - int(chance(0.3) ? 2_000 : 60);
      if (chance(0.1)) createdAt = null;
      else if (createdAts.length > 0 && chance(0.2)) createdAt = pick(createdAts);
      else createdAts.push(createdAt);
      const type = pick(EVENT_TYPES);
      const meta: Record<string, unknown> = { type, ...(createdAt === null ? {} : { created_at: iso(createdAt) }) };
      if (page !== undefined) meta.status_page = page;
      if (type === 'component_impact_updated') {
        const n = 1 + int(5);
        // Named as the file names it, otherwise, or not at all.
        const title = pick([`C${n}`, `C${n}`, `Component ${n}`, undefined]);
        Object.assign(meta, { uuid: cid(n), ...(title === undefined ? {} : { title }), impact: pick(IMPACTS) });
      } else {
        const incident = type.startsWith('incident');
        const id = 1 + int(incident ? 3 : 2);
        const begins = (createdAt ?? Math.floor(now)) - int(100);
        // An incident must give each component an impact; a maintenance may leave it out.
        const components = [...new Set([1 + int(5), 1 + int(5)])].map((n) => ({
          ...(!incident && chance(0.25) ? {} : { impact: pick(IMPACTS) }),
          component_details: { name: chance(0.8) ? `C${n}` : `Component ${n}`, component_uuid: cid(n) },
        }));
        Object.assign(meta, {
          uuid: oid(incident ? 'a' : 'b', id),
          title: `${incident ? 'Incident' : 'Maintenance'} ${id}`,
          start_at: iso(begins),
          ...(incident && type === 'incident_created' ? {} : { end_at: iso(begins + 600) }),
          affected_components: components,
        });
      }
      sent.push(meta);
      delivery = { kind: 'webhook', body: { meta } };
    }
    steps.push({ advance, delivery });
  }
  return steps;
}
