import { z } from 'zod';
import { alertSnapshot, alertStateOf, isEmptyAlertState, type AlertSnapshot } from '../domain/alerts.js';
import { applyPatch, createState, emptyPatch, type State } from '../domain/state.js';
import { RECORD_SCHEMAS } from '../store/records.js';
import { parseJson } from './entry.js';

// The serialised state a snapshot holds, for every store alike. Bump SNAPSHOT_FORMAT when what
// it holds changes; a format newer than this version's is refused, not guessed at.

//
// Format 2 adds `alerts` (Alertmanager's alerts per component, src/domain/alerts.ts), and only a
// state holding some is written as format 2: one without is written as format 1, byte for byte
// as before, so a replica of the previous version still loads it during a rolling upgrade, and
// refuses (rather than silently drops) the alerts once there are some. Format 1 reads as no alerts.

/** The newest snapshot format written and read by this version. */
export const SNAPSHOT_FORMAT = 2;
/** The format of a snapshot without alerts. */
export const SNAPSHOT_FORMAT_WITHOUT_ALERTS = 1;

const histogramSchema = z.object({ counts: z.array(z.number()), sum: z.number(), count: z.number() });
const alertsData: z.ZodType<AlertSnapshot> = z.object({
  components: z.array(
    z.object({
      statusPage: z.string(),
      uuid: z.string(),
      firing: z.array(z.tuple([z.string(), z.number()])),
      silentSince: z.number().nullable(),
      resolvedAt: z.number().nullable(),
    }),
  ),
  pages: z.array(
    z.object({
      statusPage: z.string(),
      response: histogramSchema,
      recoveryLag: histogramSchema,
      refused: z.number(),
      expired: z.number(),
      createdAt: z.number(),
    }),
  ),
  seen: z.array(z.tuple([z.string(), z.number()])),
  staleSeconds: z.number().positive(),
});

// Records are read with the schemas that also upgrade rows written by earlier versions.
const snapshotData = z.object({
  pages: z.array(RECORD_SCHEMAS.pages),
  components: z.array(RECORD_SCHEMAS.components),
  incidents: z.array(RECORD_SCHEMAS.incidents),
  maintenances: z.array(RECORD_SCHEMAS.maintenances),
  /** Dedup keys with their receipt time, as pairs. */
  seen: z.array(z.tuple([z.string(), z.number()])),
  /** The state's last stamp sequence, which pruned records may have held: restored as it was. */
  lastSeq: z.number().int().min(0),
  /** Format 2 only. */
  alerts: alertsData.optional(),
});

/**
 * The snapshot of `state`. `folded` tells the records folded from the log from those only held
 * in memory (declared pages of this process's status pages file), which stay out.
 */
export function encodeSnapshot(state: State, folded: (record: object) => boolean = () => true): string {
  return encodeSnapshotWithFormat(state, folded).data;
}

/** The snapshot of `state` and its format: format 1 while it holds no alerts (see SNAPSHOT_FORMAT). */
export function encodeSnapshotWithFormat(state: State, folded: (record: object) => boolean = () => true): { format: string; data: string } {
  const data: z.output<typeof snapshotData> = { pages: [], components: [], incidents: [], maintenances: [], seen: [...state.seen], lastSeq: state.lastSeq };
  for (const page of state.pages.values()) {
    if (folded(page.stats)) data.pages.push(page.stats);
    for (const component of page.components.values()) if (folded(component)) data.components.push(component);
    data.incidents.push(...page.incidents.values());
    data.maintenances.push(...page.maintenances.values());
  }
  if (isEmptyAlertState(state.alerts)) return { format: String(SNAPSHOT_FORMAT_WITHOUT_ALERTS), data: JSON.stringify(data) };
  data.alerts = alertSnapshot(state.alerts);
  return { format: String(SNAPSHOT_FORMAT), data: JSON.stringify(data) };
}

export type DecodedSnapshot = { kind: 'state'; state: State } | { kind: 'newer'; format: string } | { kind: 'invalid'; problem: string };

/** Reads a snapshot's data: a state, a newer format (refuse), or garbage (refuse too: nothing to fold onto). */
export function decodeSnapshot(format: string, text: string): DecodedSnapshot {
  if (format !== String(SNAPSHOT_FORMAT) && format !== String(SNAPSHOT_FORMAT_WITHOUT_ALERTS)) {
    return /^\d+$/.test(format) && Number(format) > SNAPSHOT_FORMAT
      ? { kind: 'newer', format }
      : { kind: 'invalid', problem: `unknown snapshot format ${JSON.stringify(format.slice(0, 20))}` };
  }
  const data = snapshotData.safeParse(parseJson(text));
  if (!data.success) {
    const issue = data.error.issues[0];
    return { kind: 'invalid', problem: `snapshot data: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}` };
  }
  return { kind: 'state', state: stateOf(data.data) };
}

/** A state holding exactly these records. */
export function stateOf(records: z.output<typeof snapshotData>): State {
  const patch = emptyPatch();
  patch.pages = records.pages;
  patch.components = records.components;
  patch.incidents = records.incidents;
  patch.maintenances = records.maintenances;
  patch.seen = records.seen.map(([key, receivedAt]) => ({ key, receivedAt }));
  const state = createState();
  applyPatch(state, patch);
  state.lastSeq = Math.max(state.lastSeq, records.lastSeq);
  if (records.alerts) state.alerts = alertStateOf(records.alerts);
  return state;
}
