// Events as the reducer sees them: already validated and normalised by src/webhook/schema.ts.
// Times are Unix seconds; `null` means StatusMate did not send the field.

export const EVENT_TYPES = [
  'maintenance_created',
  'maintenance_started',
  'maintenance_finished',
  'incident_created',
  'incident_finished',
  'component_impact_updated',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

export type AffectedComponent = {
  uuid: string;
  name: string | null;
  /** `component_details.impact`, else the entry's own `impact`; null when neither was sent. */
  impact: string | null;
};

type Common = {
  statusPage: string;
  uuid: string;
  createdAt: number | null;
  deliveryAttempt: number | null;
};

export type ComponentImpactUpdated = Common & {
  type: 'component_impact_updated';
  name: string | null;
  impact: string;
};

export type IncidentEvent = Common & {
  type: 'incident_created' | 'incident_finished';
  title: string | null;
  startAt: number | null;
  endAt: number | null;
  components: AffectedComponent[];
};

export type MaintenanceEvent = Common & {
  type: 'maintenance_created' | 'maintenance_started' | 'maintenance_finished';
  title: string | null;
  /** The scheduled window. */
  startAt: number | null;
  endAt: number | null;
  components: AffectedComponent[];
};

export type StatusMateEvent = ComponentImpactUpdated | IncidentEvent | MaintenanceEvent;

/** The event's own time: `created_at` when StatusMate sent it, else when we received it. */
export function eventTime(event: StatusMateEvent, receivedAt: number): number {
  return event.createdAt ?? receivedAt;
}
