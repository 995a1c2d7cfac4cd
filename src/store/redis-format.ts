import { z } from 'zod';
import type { AffectedComponent, StatusMateEvent } from '../domain/event.js';
import type { Limits } from '../domain/reducer.js';
import { applyPatch, createState, emptyPatch, type State } from '../domain/state.js';
import { RECORD_SCHEMAS } from './records.js';

// What STORE=redis keeps in Redis, and the schemas that read it back: Redis is a boundary like
// a webhook body, written by other replicas that may run another version of this code.
//
// - `<tag>log`: a Stream; each entry one validated, normalised event (ENTRY_FORMAT).
// - `<tag>snapshot`: a hash holding a serialised state and the id of the last entry it covers (SNAPSHOT_FORMAT).
// - `<tag>trimmed`: the id below which the log may have been trimmed.
//
// Bump a format when what it holds changes; a replica refuses (not ready, an error line) a
// format newer than the one it reads, rather than folding what it does not understand.

/** Entry format written and read by this version. */
export const ENTRY_FORMAT = 1;
/** Snapshot format written and read by this version. */
export const SNAPSHOT_FORMAT = 1;

export type RedisKeys = { log: string; snapshot: string; trimmed: string };

/**
 * The keys under a prefix. They share one hash tag, so that a Redis Cluster keeps them in one
 * slot (a Lua script touches several): `statusmate:` becomes `{statusmate}:log`. A prefix that
 * already holds a `{…}` tag is used as it is.
 */
export function redisKeys(prefix: string): RedisKeys {
  const tag = /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix.replace(/:+$/, '')}}:`;
  return { log: `${tag}log`, snapshot: `${tag}snapshot`, trimmed: `${tag}trimmed` };
}

// ---- log entries ----------------------------------------------------------------------------

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

/** One appended event as the fold reads it. */
export type LogEntry = {
  id: string;
  /** The entry id's millisecond time, in seconds: the receipt time every replica reduces with. */
  time: number;
  /** Who appended it and which of its appends: lets the appender find the fold of its own entry. */
  origin: string;
  event: StatusMateEvent;
  /** The appender's limits and retention, so a fold never depends on the folding replica's configuration. */
  limits: Partial<Limits> & Record<string, number>;
  retentionSeconds: number;
};

/** The fields of a new entry, as XADD takes them. */
export function entryFields(origin: string, event: StatusMateEvent, limits: Limits, retentionSeconds: number): string[] {
  return ['v', String(ENTRY_FORMAT), 'o', origin, 'e', JSON.stringify(event), 'l', JSON.stringify(limits), 'r', String(retentionSeconds)];
}

/** The millisecond time of a stream id, in seconds. */
export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-'))) / 1000;
}

/** Whether stream id `a` sorts before `b`. */
export function idBefore(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

export type ParsedEntry = { kind: 'entry'; entry: LogEntry } | { kind: 'newer'; format: string } | { kind: 'invalid'; problem: string };

function fieldMap(fields: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  return map;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads one stream entry: a known format, a newer one (refuse), or garbage of a known format (skip). */
export function parseEntry(id: string, fields: string[]): ParsedEntry {
  const map = fieldMap(fields);
  const format = map.get('v') ?? '';
  if (format !== String(ENTRY_FORMAT)) {
    return /^\d+$/.test(format) && Number(format) > ENTRY_FORMAT
      ? { kind: 'newer', format }
      : { kind: 'invalid', problem: `unknown entry format ${JSON.stringify(format.slice(0, 20))}` };
  }
  const event = eventSchema.safeParse(parseJson(map.get('e')));
  if (!event.success) return { kind: 'invalid', problem: `event: ${event.error.issues[0]?.message ?? 'invalid'}` };
  const limits = limitsSchema.safeParse(parseJson(map.get('l')));
  if (!limits.success) return { kind: 'invalid', problem: 'limits: invalid' };
  const retention = Number(map.get('r'));
  if (!Number.isFinite(retention) || retention <= 0) return { kind: 'invalid', problem: 'retention: invalid' };
  const origin = map.get('o') ?? '';
  return { kind: 'entry', entry: { id, time: idTime(id), origin, event: event.data, limits: limits.data, retentionSeconds: retention } };
}

// ---- snapshots ------------------------------------------------------------------------------

// The records are read with the same schemas as SQLite's rows (one table of record kinds).
const snapshotData = z.object({
  pages: z.array(RECORD_SCHEMAS.pages),
  components: z.array(RECORD_SCHEMAS.components),
  incidents: z.array(RECORD_SCHEMAS.incidents),
  maintenances: z.array(RECORD_SCHEMAS.maintenances),
  /** Dedup keys with their receipt time, as pairs. */
  seen: z.array(z.tuple([z.string(), z.number()])),
  /** The state's last stamp sequence, which pruned records may have held: restored as it was. */
  lastSeq: z.number().int().min(0),
});

/** Where a fold stands: the state after the entry `id`, whose time was `time` (0-0 and 0: nothing folded). */
export type FoldPoint = { id: string; time: number };

/**
 * The hash fields of a snapshot of `state` at `point`, as HSET takes them. `folded` tells the
 * records folded from the log from those only held in memory (declared pages), which stay out.
 */
export function snapshotFields(
  state: State,
  point: FoldPoint,
  folded: (record: object) => boolean = () => true,
): { format: string; id: string; time: string; data: string } {
  const data: z.output<typeof snapshotData> = { pages: [], components: [], incidents: [], maintenances: [], seen: [...state.seen], lastSeq: state.lastSeq };
  for (const page of state.pages.values()) {
    if (folded(page.stats)) data.pages.push(page.stats);
    for (const component of page.components.values()) if (folded(component)) data.components.push(component);
    data.incidents.push(...page.incidents.values());
    data.maintenances.push(...page.maintenances.values());
  }
  return { format: String(SNAPSHOT_FORMAT), id: point.id, time: String(point.time), data: JSON.stringify(data) };
}

export type ParsedSnapshot =
  { kind: 'none' } | { kind: 'snapshot'; state: State; point: FoldPoint } | { kind: 'newer'; format: string } | { kind: 'invalid'; problem: string };

/** Reads a snapshot hash (HGETALL's fields): none, a state, a newer format (refuse) or garbage (refuse too: nothing to fold onto). */
export function parseSnapshot(hash: Record<string, string>): ParsedSnapshot {
  if (Object.keys(hash).length === 0) return { kind: 'none' };
  const format = hash.v ?? '';
  if (format !== String(SNAPSHOT_FORMAT)) {
    return /^\d+$/.test(format) && Number(format) > SNAPSHOT_FORMAT
      ? { kind: 'newer', format }
      : { kind: 'invalid', problem: `unknown snapshot format ${JSON.stringify(format.slice(0, 20))}` };
  }
  const id = hash.id ?? '';
  const time = Number(hash.t);
  if (!/^\d+-\d+$/.test(id) || !Number.isFinite(time)) return { kind: 'invalid', problem: 'snapshot id or time invalid' };
  const data = snapshotData.safeParse(parseJson(hash.data));
  if (!data.success)
    return { kind: 'invalid', problem: `snapshot data: ${data.error.issues[0]?.path.join('.') ?? ''} ${data.error.issues[0]?.message ?? 'invalid'}` };
  const patch = emptyPatch();
  patch.pages = data.data.pages;
  patch.components = data.data.components;
  patch.incidents = data.data.incidents;
  patch.maintenances = data.data.maintenances;
  patch.seen = data.data.seen.map(([key, receivedAt]) => ({ key, receivedAt }));
  const state = createState();
  applyPatch(state, patch);
  state.lastSeq = Math.max(state.lastSeq, data.data.lastSeq);
  return { kind: 'snapshot', state, point: { id, time } };
}
