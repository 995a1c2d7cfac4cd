// Identifiers shared by the load generator, the state builder and the prom-client baseline, so
// that every process names the same components, incidents and maintenances.

export const PAGE = 'bench';
export const IMPACTS = ['operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'];
/** 2026-01-01T00:00:00Z: event times are T0 + a sequence number, in seconds. */
export const T0 = 1767225600;

const hex = (n, width) => n.toString(16).padStart(width, '0');

/** `space` keeps the ids of one run apart from another's (and from the pre-built state's, space 0). */
export const componentUuid = (i) => `c0000000-0000-4000-8000-${hex(i, 12)}`;
export const componentName = (i) => `Component ${i}`;
export const incidentUuid = (i, space = 0) => `1${hex(space, 7)}-0000-4000-8000-${hex(i, 12)}`;
export const maintenanceUuid = (i, space = 0) => `2${hex(space, 7)}-0000-4000-8000-${hex(i, 12)}`;

/** An ISO 8601 time with an offset, as StatusMate sends it. */
export const isoTime = (seconds) => new Date(seconds * 1000).toISOString().replace('.000Z', '+00:00');
