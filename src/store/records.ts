import { z } from 'zod';
import { internImpact } from '../domain/impact.js';
import { LEGACY_SEQ } from '../domain/order.js';
import type { ComponentRecord, IncidentRecord, MaintenanceRecord, PageStats } from '../domain/state.js';

// The records as a store reads them back: a file (or a server) is a boundary, so each row is
// validated, and rows written by earlier versions are brought to the current shape here.
//
// Before stamps (see src/domain/order.ts), records kept one time per ordering field, from
// created_at or from receipt. Such a time becomes the stamp's `at`, with the lowest sequence, so
// any event that arrives now counts as later unless both carry a created_at.

// `rank` and `object` (how ties of created_at are ordered) are absent from stamps written before them.
const stamp = z.object({ at: z.number().nullable(), seq: z.number().int(), rank: z.number().int().optional(), object: z.string().optional() });
const histogram = z.object({ counts: z.array(z.number()), sum: z.number(), count: z.number() });
const legacy = (at: number) => ({ at, seq: LEGACY_SEQ });

const pageStats = z
  .object({
    statusPage: z.string(),
    incidentsCreated: z.number(),
    incidentsFinished: z.number(),
    maintenancesCreated: z.number(),
    maintenancesStarted: z.number(),
    maintenancesFinished: z.number(),
    incidentDuration: histogram,
    maintenanceDuration: histogram,
    lastReceivedAt: z.number().nullable(),
    /** Rows written before pages had a creation time: the last event's receipt is the best known bound. */
    createdAt: z.number().optional(),
  })
  .transform((stats): PageStats => ({ ...stats, createdAt: stats.createdAt ?? stats.lastReceivedAt ?? 0 }));

/** An impact as the state keeps it: one string per impact, not a copy per record read (internImpact). */
const impact = z.string().transform(internImpact);

const componentImpact = z.object({ uuid: z.string(), impact: impact.nullable() });

const component = z
  .object({
    statusPage: z.string(),
    uuid: z.string(),
    name: z.string(),
    impact,
    changedAt: z.number(),
    direct: z.object({ stamp, impact }).nullable().optional(),
    cleared: stamp.nullable().optional(),
    /** Before stamps: a component set directly keeps its impact as that direct update's. */
    directUpdateAt: z.number().nullable().optional(),
  })
  .transform(({ statusPage, uuid, name, impact, changedAt, direct, cleared, directUpdateAt }): ComponentRecord => ({
    statusPage,
    uuid,
    name,
    impact,
    changedAt,
    direct: direct !== undefined ? direct : directUpdateAt == null ? null : { stamp: legacy(directUpdateAt), impact },
    cleared: cleared ?? null,
  }));

const lifecycle = {
  statusPage: z.string(),
  uuid: z.string(),
  title: z.string(),
  components: z.array(componentImpact),
  lastEvent: stamp.optional(),
  since: stamp.nullable().optional(),
  /** Before stamps. */
  lastEventAt: z.number().optional(),
  createdCounted: z.boolean(),
  finishedCounted: z.boolean(),
  durationObserved: z.boolean(),
  finishedReceivedAt: z.number().nullable(),
};

const incident = z
  .object({
    ...lifecycle,
    state: z.enum(['active', 'finished']),
    startAt: z.number().nullable(),
    endAt: z.number().nullable(),
    /** Written since event entries of format 13: the finish's own trusted created_at. */
    finishedAt: z.number().nullable().optional(),
  })
  .transform(({ lastEventAt, lastEvent, since, ...rest }): IncidentRecord => ({
    ...rest,
    lastEvent: lastEvent ?? legacy(lastEventAt ?? 0),
    since: since !== undefined ? since : rest.state === 'active' && rest.startAt !== null ? legacy(rest.startAt) : null,
  }));

const maintenance = z
  .object({
    ...lifecycle,
    state: z.enum(['scheduled', 'in_progress', 'finished']),
    scheduledStart: z.number().nullable(),
    scheduledEnd: z.number().nullable(),
    startedAt: z.number().nullable(),
    finishedAt: z.number().nullable(),
    startedCounted: z.boolean(),
  })
  .transform(({ lastEventAt, lastEvent, since, ...rest }): MaintenanceRecord => ({
    ...rest,
    lastEvent: lastEvent ?? legacy(lastEventAt ?? 0),
    since: since !== undefined ? since : rest.state === 'in_progress' && rest.startedAt !== null ? legacy(rest.startedAt) : null,
  }));

export const RECORD_SCHEMAS = { pages: pageStats, components: component, incidents: incident, maintenances: maintenance } as const;
export type RecordKind = keyof typeof RECORD_SCHEMAS;

/** Parses one stored row (JSON text) of a kind; throws an Error naming the kind and the problem. */
export function parseRecord<K extends RecordKind>(kind: K, text: string): z.output<(typeof RECORD_SCHEMAS)[K]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`stored ${kind} row is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = RECORD_SCHEMAS[kind].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`stored ${kind} row is not readable: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data as z.output<(typeof RECORD_SCHEMAS)[K]>;
}
