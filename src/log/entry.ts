import { z } from 'zod';
import type { AffectedComponent, StatusMateEvent } from '../domain/event.js';
import type { Limits } from '../domain/reducer.js';
import type { EntryFields } from '../store/store.js';

// One log entry: a validated, normalised event with what its fold must not take from the folding
// process (the appender's limits and retention). Every store keeps these fields as they are (a
// Redis stream entry, a SQLite row's JSON, an object in memory), and reads them back through the
// schemas below: a log is a boundary like a webhook body, written by other replicas or by an
// earlier version of this code.
//
// Bump ENTRY_FORMAT when what an entry holds changes; a fold refuses (not ready, one error line)
// a format newer than the one it reads, rather than folding what it does not understand.

/** Entry format written and read by this version. */
export const ENTRY_FORMAT = 1;

const nullableNumber = z.number().nullable();
const nullableString = z.string().nullable();

const affected: z.ZodType<AffectedComponent> = z.object({ uuid: z.string(), name: nullableString, impact: nullableString });

const common = { statusPage: z.string(), uuid: z.string(), createdAt: nullableNumber, deliveryAttempt: nullableNumber };

const eventSchema: z.ZodType<StatusMateEvent> = z.discriminatedUnion('type', [
  z.object({ ...common, type: z.literal('component_impact_updated'), name: nullableString, impact: z.string() }),
  z.object({
    ...common,
    type: z.enum(['incident_created', 'incident_finished']),
    title: nullableString,
    startAt: nullableNumber,
    endAt: nullableNumber,
    components: z.array(affected),
  }),
  z.object({
    ...common,
    type: z.enum(['maintenance_created', 'maintenance_started', 'maintenance_finished']),
    title: nullableString,
    startAt: nullableNumber,
    endAt: nullableNumber,
    components: z.array(affected),
  }),
]);

const limitsSchema = z.record(z.string(), z.number());

/** One entry as the fold reads it. */
export type LogEntry = {
  /** Who appended it and which of its appends: lets the appender find the fold of its own entry. */
  origin: string;
  event: StatusMateEvent;
  /** The appender's limits, so a fold never depends on the folding process's configuration. */
  limits: Partial<Limits> & Record<string, number>;
  retentionSeconds: number;
};

/** The fields of a new entry. */
export function encodeEntry(origin: string, event: StatusMateEvent, limits: Limits, retentionSeconds: number): EntryFields {
  return { v: String(ENTRY_FORMAT), o: origin, e: JSON.stringify(event), l: JSON.stringify(limits), r: String(retentionSeconds) };
}

/** What an entry costs to keep, in bytes (roughly: its fields' text). */
export function entryBytes(fields: EntryFields): number {
  let bytes = 0;
  for (const key in fields) bytes += key.length + (fields[key]?.length ?? 0);
  return bytes;
}

export type ParsedEntry = { kind: 'entry'; entry: LogEntry } | { kind: 'newer'; format: string } | { kind: 'invalid'; problem: string };

export function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads one entry: a known format, a newer one (refuse), or garbage of a known format (skip). */
export function decodeEntry(fields: EntryFields): ParsedEntry {
  const format = fields.v ?? '';
  if (format !== String(ENTRY_FORMAT)) {
    return /^\d+$/.test(format) && Number(format) > ENTRY_FORMAT
      ? { kind: 'newer', format }
      : { kind: 'invalid', problem: `unknown entry format ${JSON.stringify(format.slice(0, 20))}` };
  }
  const event = eventSchema.safeParse(parseJson(fields.e));
  if (!event.success) return { kind: 'invalid', problem: `event: ${event.error.issues[0]?.message ?? 'invalid'}` };
  const limits = limitsSchema.safeParse(parseJson(fields.l));
  if (!limits.success) return { kind: 'invalid', problem: 'limits: invalid' };
  const retention = Number(fields.r);
  if (!Number.isFinite(retention) || retention <= 0) return { kind: 'invalid', problem: 'retention: invalid' };
  return { kind: 'entry', entry: { origin: fields.o ?? '', event: event.data, limits: limits.data, retentionSeconds: retention } };
}
