import { STORE_NAMES } from '../config.js';
import { z } from 'zod';
import { isAssumed, type DeclaredPage } from '../domain/inventory.js';
import { impactLevel } from '../domain/impact.js';
import { incidentStart, type State } from '../domain/state.js';
import { OUTCOMES, WEBHOOK_TYPE_LABELS } from '../metrics/names.js';
import type { Delivery } from '../webhook/deliveries.js';

// GET /api/v1/state: what the exporter believes, as JSON. The schema below is the contract
// (docs/api.md documents it); the landing page renders the same view.

const time = z.iso.datetime({ offset: true }).describe('RFC 3339');

export const componentViewSchema = z.object({
  uuid: z.string(),
  name: z.string(),
  impact: z.string(),
  level: z.number().int(),
  last_change_at: time,
  /** False for a declared component no webhook has mentioned yet: its impact is the assumed `operational`. */
  reported: z.boolean(),
});

export const statusPageViewSchema = z.object({
  id: z.string(),
  uuid: z.string().nullable(),
  name: z.string().nullable(),
  declared: z.boolean(),
  last_received_at: time.nullable(),
  components: z.array(componentViewSchema),
  incidents: z.array(
    z.object({
      uuid: z.string(),
      title: z.string(),
      started_at: time.nullable(),
      components: z.array(z.object({ uuid: z.string(), impact: z.string().nullable() })),
    }),
  ),
  maintenances: z.array(
    z.object({
      uuid: z.string(),
      title: z.string(),
      state: z.enum(['scheduled', 'in_progress']),
      scheduled_start_at: time.nullable(),
      scheduled_end_at: time.nullable(),
    }),
  ),
});

export const deliveryViewSchema = z.object({
  at: time,
  status: z.number().int(),
  type: z.enum(WEBHOOK_TYPE_LABELS),
  outcome: z.enum(OUTCOMES),
  status_page: z.string().nullable(),
  event_uuid: z.string().nullable(),
  delivery_attempt: z.number().int().nullable(),
  error: z.string().nullable(),
});

export const stateViewSchema = z.object({
  generated_at: time,
  exporter: z.object({
    version: z.string(),
    store: z.enum(STORE_NAMES),
    /** Whether webhooks need a token, and which pages have one of their own. */
    webhook_token_required: z.boolean(),
    all_pages_token: z.boolean(),
    page_tokens: z.array(z.string()),
    status_pages_file: z.string().nullable(),
  }),
  status_pages: z.array(statusPageViewSchema),
  recent_deliveries: z.array(deliveryViewSchema),
});

export type StateView = z.infer<typeof stateViewSchema>;
export type StatusPageView = z.infer<typeof statusPageViewSchema>;
export type DeliveryView = z.infer<typeof deliveryViewSchema>;

export type StateViewInput = {
  state: State;
  declared: readonly DeclaredPage[];
  deliveries: readonly Delivery[];
  exporter: StateView['exporter'];
  now: number;
};

const rfc3339 = (seconds: number) => new Date(Math.round(seconds * 1000)).toISOString();
const rfc3339OrNull = (seconds: number | null) => (seconds === null ? null : rfc3339(seconds));
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The view of a state: pages sorted by id (declared ones included before any webhook), their
 * components by name, their active incidents and unfinished maintenances by uuid. Reads only.
 */
export function stateView(input: StateViewInput): StateView {
  const declared = new Map(input.declared.map((page) => [page.id, page]));
  const ids = new Set([...input.state.pages.keys(), ...declared.keys()]);
  const status_pages = [...ids].sort(byText).map((id): StatusPageView => {
    const page = input.state.pages.get(id);
    const info = declared.get(id);
    const components = page ? [...page.components.values()] : [];
    const declaredComponents = new Set(info?.components.map((component) => component.uuid));
    components.sort((a, b) => byText(a.name, b.name) || byText(a.uuid, b.uuid));
    return {
      id,
      // A page learnt from `meta.status_page` is labelled with its uuid.
      uuid: info?.uuid ?? (GUID.test(id) ? id.toLowerCase() : null),
      name: info?.name ?? null,
      declared: info !== undefined,
      last_received_at: rfc3339OrNull(page?.stats.lastReceivedAt ?? null),
      components: components.map((component) => ({
        uuid: component.uuid,
        name: component.name,
        impact: component.impact,
        level: impactLevel(component.impact),
        last_change_at: rfc3339(component.changedAt),
        reported: !(declaredComponents.has(component.uuid) && page !== undefined && isAssumed(component, page)),
      })),
      incidents: page
        ? [...page.activeIncidents.values()]
            .sort((a, b) => byText(a.uuid, b.uuid))
            .map((incident) => ({
              uuid: incident.uuid,
              title: incident.title,
              started_at: rfc3339OrNull(incidentStart(incident)),
              components: incident.components.map((c) => ({ uuid: c.uuid, impact: c.impact })),
            }))
        : [],
      maintenances: page
        ? [...page.unfinishedMaintenances.values()]
            .filter((m) => m.state !== 'finished')
            .sort((a, b) => byText(a.uuid, b.uuid))
            .map((m) => ({
              uuid: m.uuid,
              title: m.title,
              state: m.state as 'scheduled' | 'in_progress',
              scheduled_start_at: rfc3339OrNull(m.scheduledStart),
              scheduled_end_at: rfc3339OrNull(m.scheduledEnd),
            }))
        : [],
    };
  });
  return {
    generated_at: rfc3339(input.now),
    exporter: input.exporter,
    status_pages,
    recent_deliveries: input.deliveries.map(deliveryView),
  };
}

/** One answered webhook as the view lists it. */
export const deliveryView = (d: Delivery): DeliveryView => ({
  at: rfc3339(d.at),
  status: d.status,
  type: d.type,
  outcome: d.outcome,
  status_page: d.statusPage,
  event_uuid: d.eventUuid,
  delivery_attempt: d.deliveryAttempt,
  error: d.error,
});
