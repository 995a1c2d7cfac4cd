import { z } from 'zod';
import { EVENT_TYPES } from '../domain/event.js';
import { bookImpact, decodeLedger, encodeLedger } from '../domain/ledger.js';
import { alertSnapshot, alertStateOf, isEmptyAlertState, type AlertSnapshot } from '../domain/alerts.js';
import { applyPatch, createState, emptyPatch, type State } from '../domain/state.js';
import { RECORD_SCHEMAS } from '../store/records.js';
import { parseJson } from './entry.js';

// The serialised state a snapshot holds, for every store alike. Bump SNAPSHOT_FORMAT when what
// it holds changes; a format newer than this version's is refused, not guessed at.

/**
 * Snapshot format written by this version. Format 2 adds the availability ledger (always) and
 * Alertmanager's alerts per component (when some are held, src/domain/alerts.ts). Format 1 (neither)
 * is still read: each of its components starts its ledger at its last change, in its current
 * impact (its `changedAt` is the event time of that change, so the open interval is exact; only
 * the time before it is unknown and not counted), and it holds no alerts.
 */
export const SNAPSHOT_FORMAT = 2;
/** Older formats this version reads (and upgrades). */
const READABLE_FORMATS = ['1', '2'];

const evidenceData = z.tuple([
  z.number().nullable(),
  z
    .object({
      component: RECORD_SCHEMAS.components,
      incidents: z.array(RECORD_SCHEMAS.incidents),
      maintenances: z.array(RECORD_SCHEMAS.maintenances),
    })
    .nullable(),
  z.array(
    z.tuple([
      z.number(),
      z.enum(EVENT_TYPES),
      z.string(),
      z.union([z.literal(0), z.literal(1)]),
      z.string().nullable(),
      z.string().nullable(),
      z.number().nullable(),
      z.number().nullable(),
    ]),
  ),
]);

const ledgerData = z.object({
  keptFromDay: z.number().int(),
  components: z.array(
    z.tuple([
      z.string(),
      z.string(),
      z.number(),
      z.string(),
      z.number(),
      z.array(z.tuple([z.string(), z.number()])),
      z.string(),
      // Change points (see ledger.ts): absent from snapshots written before them.
      z.array(z.tuple([z.number(), z.string()])).optional(),
      // Evidence (see ledger-evidence.ts): absent from snapshots written before it, or when not known.
      evidenceData.optional(),
    ]),
  ),
  touches: z
    .array(
      z.tuple([z.string(), z.enum(['incident', 'maintenance']), z.string(), z.string(), z.number().nullable(), z.number().nullable(), z.array(z.string())]),
    )
    .optional(),
});

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
  /** Format 2: the availability ledger (see ledger.ts). */
  ledger: ledgerData.optional(),
  /** Format 2, when alerts are held. */
  alerts: alertsData.optional(),
});

/**
 * The snapshot of `state`. `folded` tells the records folded from the log from those only held
 * in memory (declared pages of this process's status pages file), which stay out.
 */
export function encodeSnapshot(state: State, folded: (record: object) => boolean = () => true): string {
  const data: z.output<typeof snapshotData> = {
    pages: [],
    components: [],
    incidents: [],
    maintenances: [],
    seen: [...state.seen],
    lastSeq: state.lastSeq,
    ledger: encodeLedger(state.ledger),
  };
  for (const page of state.pages.values()) {
    if (folded(page.stats)) data.pages.push(page.stats);
    for (const component of page.components.values()) if (folded(component)) data.components.push(component);
    data.incidents.push(...page.incidents.values());
    data.maintenances.push(...page.maintenances.values());
  }
  if (!isEmptyAlertState(state.alerts)) data.alerts = alertSnapshot(state.alerts);
  return JSON.stringify(data);
}

export type DecodedSnapshot = { kind: 'state'; state: State } | { kind: 'newer'; format: string } | { kind: 'invalid'; problem: string };

/** Reads a snapshot's data: a state, a newer format (refuse), or garbage (refuse too: nothing to fold onto). */
export function decodeSnapshot(format: string, text: string): DecodedSnapshot {
  if (!READABLE_FORMATS.includes(format)) {
    return /^\d+$/.test(format) && Number(format) > SNAPSHOT_FORMAT
      ? { kind: 'newer', format }
      : { kind: 'invalid', problem: `unknown snapshot format ${JSON.stringify(format.slice(0, 20))}` };
  }
  const data = snapshotData.safeParse(parseJson(text));
  if (!data.success) {
    const issue = data.error.issues[0];
    return { kind: 'invalid', problem: `snapshot data: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}` };
  }
  try {
    return { kind: 'state', state: stateOf(data.data) };
  } catch (error) {
    return { kind: 'invalid', problem: `snapshot data: ${error instanceof Error ? error.message : String(error)}` };
  }
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
  if (records.ledger) {
    state.ledger = decodeLedger(records.ledger);
  } else {
    // An older snapshot: every component counts from its last change (see SNAPSHOT_FORMAT).
    for (const component of records.components) bookImpact(state.ledger, component.statusPage, component.uuid, component.impact, component.changedAt);
  }
  if (records.alerts) state.alerts = alertStateOf(records.alerts);
  return state;
}
