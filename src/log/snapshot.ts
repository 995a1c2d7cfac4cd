import { z } from 'zod';
import { EVENT_TYPES } from '../domain/event.js';
import { bookImpact } from '../domain/ledger.js';
import { decodeLedger, encodeLedgerComponents, encodeLedgerTouches, type EncodedComponentLedger, type EncodedTouch } from '../domain/ledger-codec.js';
import { alertSnapshot, alertStateOf, isEmptyAlertState, type AlertSnapshot } from '../domain/alert-snapshot.js';
import { applyPatch, createState, emptyPatch, type State } from '../domain/state.js';
import { RECORD_SCHEMAS } from '../store/records.js';
import { parseJson } from './entry.js';

// The serialised state a snapshot holds, for every store alike. Bump SNAPSHOT_FORMAT when what
// it holds changes; a format newer than this version's is refused, not guessed at.

/**
 * Snapshot format written by this version. Format 5 is format 4's text whose stamps may carry
 * `rank` and `object` (how ties of created_at are ordered, src/domain/order.ts). It has a number
 * of its own because the previous release reads format 4 and drops those fields without a word:
 * started on a snapshot of this release (a rollback, a replica of it restarted during a rolling
 * upgrade, a SQLite file after a clean stop), it would serve as ready, fold ties of the events
 * its stamps saw by arrival, and write the stamps back without them, so that a replica of this
 * release loading that snapshot decides the next tie of that second unlike the others. It
 * refuses format 5 as newer instead. Format 4 is format 3's text, which a store may keep
 * in pieces of whole lines (SQLite a row a piece, Redis a hash field a piece; see snapshotPieces).
 * It has a number of its own for the replicas of an earlier version: one of them would read only
 * the first piece, whole lines that decode to a state missing the rest, so it must refuse the
 * snapshot as newer instead. Format 3 holds what format 2 does, one JSON value a line
 * (see encodeSnapshot), so that reading it never holds the whole state as parsed JSON: a format 2
 * snapshot of 35 MB parsed to about 85 MiB of objects beside the state being built, and a restart
 * peaked at 330-360 MiB RSS. Format 2 adds the availability ledger (always) and
 * Alertmanager's alerts per component (when some are held, src/domain/alerts.ts). Format 1 (neither)
 * is still read: each of its components starts its ledger at its last change, in its current
 * impact (its `changedAt` is the event time of that change, so the open interval is exact; only
 * the time before it is unknown and not counted), and it holds no alerts.
 */
export const SNAPSHOT_FORMAT = 5;
/** Older formats this version reads (and upgrades). */
const READABLE_FORMATS = ['1', '2', '3', '4', '5'];

/**
 * An array checked one element at a time, each raw element replaced in place by its checked copy.
 * zod otherwise builds the whole checked copy while the whole parsed JSON is still referenced: a
 * 35 MB snapshot of 10,000 busy components parses to about 85 MiB of objects, and holding both
 * peaked the heap at 270 MiB while starting, enough to get a pod under a 256 MiB limit OOM-killed
 * at every restart. In place, each raw element is garbage once checked, so the two together stay
 * about one copy. The parsed JSON is this module's own (decodeSnapshot parses it), so changing it
 * in place is safe. Big arrays only: the rest stays plain zod.
 */
function checkedInPlace<T extends z.ZodType>(item: T) {
  return z
    .custom<unknown[]>((value) => Array.isArray(value), 'expected an array')
    .transform((items, ctx): z.output<T>[] => {
      for (let i = 0; i < items.length; i += 1) {
        const checked = item.safeParse(items[i]);
        if (!checked.success) {
          for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [i, ...issue.path] });
          return z.NEVER;
        }
        items[i] = checked.data;
      }
      return items as z.output<T>[];
    });
}

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

/** One component's ledger (EncodedComponentLedger in ledger-codec.ts). */
const ledgerComponent = z.tuple([
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
]);

/** One touch of the ledger (EncodedTouch in ledger-codec.ts). */
const ledgerTouch = z.tuple([
  z.string(),
  z.enum(['incident', 'maintenance']),
  z.string(),
  z.string(),
  z.number().nullable(),
  z.number().nullable(),
  z.array(z.string()),
]);

const ledgerData = z.object({
  keptFromDay: z.number().int(),
  components: checkedInPlace(ledgerComponent),
  touches: z.array(ledgerTouch).optional(),
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
      endedAt: z.number().nullable().optional(),
      answered: z.number().nullable().optional(),
      recoveryFrom: z.number().nullable().optional(),
      recoveredAt: z.number().nullable().optional(),
      ended: z.array(z.tuple([z.number(), z.number()])).optional(),
    }),
  ),
  closedRuns: z
    .array(
      z.object({
        statusPage: z.string(),
        uuid: z.string(),
        end: z.number(),
        silentSince: z.number().nullable(),
        answered: z.number().nullable().optional(),
        recovered: z.number().nullable().optional(),
      }),
    )
    .optional(),
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

const seenPair = z.tuple([z.string(), z.number()]);

// Records are read with the schemas that also upgrade rows written by earlier versions.
const snapshotData = z.object({
  pages: z.array(RECORD_SCHEMAS.pages),
  components: checkedInPlace(RECORD_SCHEMAS.components),
  incidents: checkedInPlace(RECORD_SCHEMAS.incidents),
  maintenances: checkedInPlace(RECORD_SCHEMAS.maintenances),
  /** Dedup keys with their receipt time, as pairs. */
  seen: checkedInPlace(seenPair),
  /** The state's last stamp sequence, which pruned records may have held: restored as it was. */
  lastSeq: z.number().int().min(0),
  /** Format 2: the availability ledger (see ledger.ts). */
  ledger: ledgerData.optional(),
  /** Format 2, when alerts are held. */
  alerts: alertsData.optional(),
});

// Format 3: one JSON value per line (JSON never holds a raw newline), so that neither writing nor
// reading ever holds the whole state twice as objects. Line 1 is the header; then, per status page,
// the page's stats, its components, incidents and maintenances; the dedup keys in lines of
// SEEN_PER_LINE; the ledger's touches; the alerts (when held); and last the ledger's components,
// one a line, which a reader decodes into the ledger as it goes. Each line but the header is
// [kind, value], its value checked with the schema of its kind.

const SEEN_PER_LINE = 1000;
const header = z.object({ lastSeq: z.number().int().min(0), keptFromDay: z.number().int() });
const LINE_SCHEMAS = {
  page: RECORD_SCHEMAS.pages,
  component: RECORD_SCHEMAS.components,
  incident: RECORD_SCHEMAS.incidents,
  maintenance: RECORD_SCHEMAS.maintenances,
  seen: z.array(seenPair),
  touch: ledgerTouch,
  alerts: alertsData,
  ledger: ledgerComponent,
} as const;
type LineKind = keyof typeof LINE_SCHEMAS;
type Line = { [K in LineKind]: [K, z.output<(typeof LINE_SCHEMAS)[K]>] }[LineKind];

/**
 * Characters a piece of the snapshot's text holds, give or take a line. The stores write a
 * snapshot piece by piece, so that writing one never holds its whole text as one string beside
 * its lines, its UTF-8 copy and SQLite's own copy: with the busy bench state's 35 MB, writing it
 * in one piece added about 100 MiB to the RSS for a moment, every 10,000 entries, and got the
 * exporter OOM-killed under a 256 MiB limit (bench/README.md). A piece costs one row or command.
 */
export const SNAPSHOT_PIECE_CHARS = 1 << 20;

/**
 * The snapshot of `state` (format 3, above), in pieces of whole lines: the text is the pieces
 * joined by newlines. Each piece is made when it is asked for, from the state as it is then: a
 * store writes one before the next is made (see LogStore.writeSnapshot). `folded` tells the
 * records folded from the log from those only held in memory (declared pages of this process's
 * status pages file), which stay out.
 */
export function* snapshotPieces(state: State, folded: (record: object) => boolean = () => true, pieceChars = SNAPSHOT_PIECE_CHARS): Generator<string> {
  let lines: string[] = [JSON.stringify({ lastSeq: state.lastSeq, keptFromDay: state.ledger.keptFromDay })];
  let chars = (lines[0] as string).length;
  /** The piece to hand out before `text`, when `text` would take the current one past pieceChars. */
  const add = (text: string): string | undefined => {
    let full: string | undefined;
    if (chars > 0 && chars + text.length > pieceChars) {
      full = lines.join('\n');
      lines = [];
      chars = 0;
    }
    lines.push(text);
    chars += text.length + 1;
    return full;
  };
  const line = (...value: Line) => add(JSON.stringify(value));
  let full: string | undefined;
  for (const page of state.pages.values()) {
    if (folded(page.stats) && (full = line('page', page.stats))) yield full;
    for (const component of page.components.values()) if (folded(component) && (full = line('component', component))) yield full;
    for (const incident of page.incidents.values()) if ((full = line('incident', incident))) yield full;
    for (const maintenance of page.maintenances.values()) if ((full = line('maintenance', maintenance))) yield full;
  }
  let seen: [string, number][] = [];
  for (const pair of state.seen) {
    seen.push(pair);
    if (seen.length === SEEN_PER_LINE) {
      if ((full = line('seen', seen))) yield full;
      seen = [];
    }
  }
  if (seen.length > 0 && (full = line('seen', seen))) yield full;
  for (const touch of encodeLedgerTouches(state.ledger)) if ((full = line('touch', touch))) yield full;
  if (!isEmptyAlertState(state.alerts) && (full = line('alerts', alertSnapshot(state.alerts)))) yield full;
  for (const component of encodeLedgerComponents(state.ledger)) if ((full = line('ledger', component))) yield full;
  yield lines.join('\n');
}

/** All the pieces of the snapshot of `state` at once (see snapshotPieces). */
export function encodeSnapshotPieces(state: State, folded: (record: object) => boolean = () => true, pieceChars = SNAPSHOT_PIECE_CHARS): string[] {
  return [...snapshotPieces(state, folded, pieceChars)];
}

/** The length of a snapshot's text from its pieces (joined by newlines). */
export const snapshotLength = (pieces: readonly string[]): number => pieces.reduce((sum, piece) => sum + piece.length, Math.max(0, pieces.length - 1));

/** The snapshot of `state` as one text (encodeSnapshotPieces joined): for tools and tests. */
export function encodeSnapshot(state: State, folded: (record: object) => boolean = () => true): string {
  return encodeSnapshotPieces(state, folded).join('\n');
}

export type DecodedSnapshot = { kind: 'state'; state: State } | { kind: 'newer'; format: string } | { kind: 'invalid'; problem: string };

/**
 * Reads a snapshot's data, one text or its pieces (joined by newlines): a state, a newer format
 * (refuse), or garbage (refuse too: nothing to fold onto). An array of pieces is emptied as it is
 * read, each piece dropped once its lines are decoded, so that the text and the state it becomes
 * are never both whole at once: the caller gives the array up.
 */
export function decodeSnapshot(format: string, data: string | string[]): DecodedSnapshot {
  const pieces = typeof data === 'string' ? [data] : data;
  if (!READABLE_FORMATS.includes(format)) {
    return /^\d+$/.test(format) && Number(format) > SNAPSHOT_FORMAT
      ? { kind: 'newer', format }
      : { kind: 'invalid', problem: `unknown snapshot format ${JSON.stringify(format.slice(0, 20))}` };
  }
  if (format === '3' || format === '4' || format === '5') {
    try {
      return { kind: 'state', state: stateOfLines(pieces) };
    } catch (error) {
      return { kind: 'invalid', problem: `snapshot data: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  // Formats 1 and 2 are one JSON document, which older versions wrote in one piece.
  const checked = snapshotData.safeParse(parseJson(pieces.join('\n')));
  if (!checked.success) return { kind: 'invalid', problem: `snapshot data: ${describeIssue(checked.error)}` };
  try {
    return { kind: 'state', state: stateOf(checked.data) };
  } catch (error) {
    return { kind: 'invalid', problem: `snapshot data: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The state a format 3 snapshot holds; throws an Error naming the line it cannot read. */
function stateOfLines(pieces: string[]): State {
  let piece = 0;
  let at = 0;
  let number = 0;
  /** The next line, or undefined past the last. Pieces hold whole lines, as encodeSnapshotPieces writes them. */
  const next = (): string | undefined => {
    let text = pieces[piece];
    if (text !== undefined && at > text.length) {
      pieces[piece] = '';
      piece += 1;
      at = 0;
      text = pieces[piece];
    }
    if (text === undefined) return undefined;
    const end = text.indexOf('\n', at);
    const stop = end < 0 ? text.length : end;
    const read = text.slice(at, stop);
    at = stop + 1;
    number += 1;
    return read;
  };
  const parse = (read: string): unknown => {
    const value = parseJson(read);
    if (value === undefined) throw new Error(`line ${number}: not JSON`);
    return value;
  };
  const head = header.safeParse(parse(next() ?? ''));
  if (!head.success) throw new Error(`line 1 (header): ${describeIssue(head.error)}`);
  const lineOf = (read: string): Line => {
    const value = parse(read);
    const kind: unknown = Array.isArray(value) ? value[0] : undefined;
    if (!Array.isArray(value) || value.length !== 2 || typeof kind !== 'string' || !Object.hasOwn(LINE_SCHEMAS, kind)) {
      throw new Error(`line ${number}: not a [kind, value] pair of a known kind`);
    }
    const checked = LINE_SCHEMAS[kind as LineKind].safeParse(value[1]);
    if (!checked.success) throw new Error(`line ${number} (${kind}): ${describeIssue(checked.error)}`);
    return [kind, checked.data] as Line;
  };
  const records: z.output<typeof snapshotData> = { pages: [], components: [], incidents: [], maintenances: [], seen: [], lastSeq: head.data.lastSeq };
  const touches: EncodedTouch[] = [];
  let first: EncodedComponentLedger | undefined;
  for (let read = next(); read !== undefined; read = next()) {
    const [kind, value] = lineOf(read);
    if (kind === 'page') records.pages.push(value);
    else if (kind === 'component') records.components.push(value);
    else if (kind === 'incident') records.incidents.push(value);
    else if (kind === 'maintenance') records.maintenances.push(value);
    else if (kind === 'seen') records.seen.push(...value);
    else if (kind === 'touch') touches.push(value);
    else if (kind === 'alerts') records.alerts = value;
    else {
      first = value;
      break;
    }
  }
  // The ledger's components are the last lines: decoded one by one as decodeLedger pulls them.
  function* ledgerComponents(): Generator<EncodedComponentLedger> {
    if (first === undefined) return;
    yield first;
    for (let read = next(); read !== undefined; read = next()) {
      const [kind, value] = lineOf(read);
      if (kind !== 'ledger') throw new Error(`line ${number}: a ${kind} line after the ledger's components`);
      yield value;
    }
  }
  return stateOf({ ...records, ledger: { keptFromDay: head.data.keptFromDay, touches, components: ledgerComponents() } });
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.trim();
}

/**
 * The items of an array, each dropped from it as it is handed out: the ledger's checked snapshot
 * data becomes garbage as its components are decoded, instead of staying whole until the ledger is
 * (see checkedInPlace for why the peak matters). Leaves the array of holes it empties.
 */
function* draining<T>(items: (T | undefined)[]): Generator<T> {
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i] as T;
    items[i] = undefined;
    yield item;
  }
}

/**
 * A state holding exactly these records. Empties `records.ledger.components` as it decodes it
 * (see draining): callers pass records they do not use again.
 */
export function stateOf(
  records: Omit<z.output<typeof snapshotData>, 'ledger'> & {
    ledger?: (Omit<z.output<typeof ledgerData>, 'components'> & { components: EncodedComponentLedger[] | Iterable<EncodedComponentLedger> }) | undefined;
  },
): State {
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
    const { components } = records.ledger;
    state.ledger = decodeLedger({ ...records.ledger, components: Array.isArray(components) ? draining(components) : components });
  } else {
    // An older snapshot: every component counts from its last change (see SNAPSHOT_FORMAT).
    for (const component of records.components) bookImpact(state.ledger, component.statusPage, component.uuid, component.impact, component.changedAt);
  }
  if (records.alerts) state.alerts = alertStateOf(records.alerts);
  return state;
}
