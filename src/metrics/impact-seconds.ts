import { KNOWN_IMPACTS } from '../domain/impact.js';
import { toMs, totalKeyOf, type ComponentLedger } from '../domain/ledger.js';
import { secondsByImpact } from '../domain/ledger-reading.js';
import type { ComponentRecord, State } from '../domain/state.js';
import { compare, ComponentOrders } from './component-order.js';
import { sameObjects } from './gzip-pieces.js';
import { deflatePiece, deflatePieceSync, PARALLEL_PIECES, poolChunkSize, SYNC_BYTES, type DeflatedPiece } from './gzip-member.js';
import { familyHeader, formatValue, labelPairs } from './exposition.js';
import { LABEL, METRIC } from './names.js';

const HELP =
  'Seconds a component spent in each impact since the exporter first knew it (from the fold of the log: the same on every replica, kept across restarts); the current impact grows until the scrape.';

/** The lines of one component that only change with the state, and the prefix of its open impact's line, as bytes. */
type Lines = {
  /** The bytes of the fixed lines. */
  fixedBytes: number;
  /** The fixed lines' text, then the open line's prefix, until first written into a chunk; later chunks copy those bytes from `written`. */
  pending: string | undefined;
  /** The chunk whose buffers its lines were last written into, and where (unset while pending). */
  written: ImpactSecondsChunk | undefined;
  writtenAt: number;
  writtenPrefixAt: number;
  record: ComponentRecord;
  entry: ComponentLedger;
  openPrefixBytes: number;
  openClosedMs: number;
  openMs: number;
};

/**
 * Up to COMPONENTS_PER_CHUNK components in a row: their fixed lines, and what their open lines
 * are made of (the prefixes one after another, and per component where its prefix ends, its
 * booked and open milliseconds), in memory of their own that is never written again: a response
 * or a compression may hold it as long as it needs. A scrape reads the open lines' parts in
 * order from these few arrays rather than from 10,000 objects scattered over the heap.
 */
export type ImpactSecondsChunk = {
  readonly lines: readonly Lines[];
  readonly text: Buffer;
  readonly prefixes: Buffer;
  readonly prefixEnds: Int32Array;
  readonly closedMs: Float64Array;
  readonly openMs: Float64Array;
};

/** The family's lines of one state version but the open impacts' values. */
export type ImpactSecondsLayout = {
  version: number;
  /** Every component's fixed lines, in order, in chunks: the same bytes in both formats. */
  chunks: readonly ImpactSecondsChunk[];
  /** Per component, in order: its lines. Kept while its record and ledger stay the same objects, so equal objects mean equal bytes. */
  lines: Lines[];
  /** Bytes of the open lines' prefixes. */
  openPrefixBytes: number;
  /**
   * The components whose newest change was booked ahead of the time the layout was made (a
   * created_at trusted up to MAX_CLOCK_SKEW_SECONDS ahead): their closed intervals reach past now,
   * so none of their lines is fixed; every scrape writes them whole, counted up to its own time
   * (see aheadText). Usually none.
   */
  ahead: readonly { record: ComponentRecord; entry: ComponentLedger }[];
  /**
   * The earliest time (ms) an `ahead` component's change is booked at (Infinity when none): once
   * a scrape is past it, the layout is made again and that component's lines are cached like
   * the others'. Were it kept until the next version instead, 10,000 components once ahead would
   * cost 60 ms of the event loop at every scrape (1 ms laid out) for as long as no webhook came.
   */
  aheadUntilMs: number;
};

/**
 * Components per chunk of fixed lines: a change re-writes its component's chunk (about 80 KB at
 * 128), and each chunk is one piece of the gzip body (see DomainMetrics).
 */
export const COMPONENTS_PER_CHUNK = 128;

/**
 * Memory a scrape writes its open lines into: the lines from 0, and after room for them, a copy of
 * the layout's prefixes one after another (`prefixesOf` says which layout's), copied once per
 * state version. A line's prefix is then copied within the one buffer (copyWithin): no view
 * object per line, where Buffer.copy from the chunks made one for each of 10,000 lines. The copy
 * costs the prefixes' size once more per slab: 1.7 MB at 10,000 components.
 */
type Slab = { memory: Buffer; busy: boolean; prefixesOf: ImpactSecondsLayout | undefined };

/** The most bytes a value takes: a float's shortest form is at most 24 characters, and a newline. */
const VALUE_BYTES = 25;

/**
 * statusmate_component_impact_seconds_total. The open interval of each component's current impact
 * grows with the clock, so the family cannot be cached whole per state version like the other
 * domain families. It comes in three parts:
 *
 * - its header (one per format);
 * - per state version, the fixed lines: every impact's but the open one's (lines of a family may
 *   come in any order), the same bytes in both formats, in chunks of COMPONENTS_PER_CHUNK
 *   components; a chunk whose components are unchanged is the same chunk in the next version, so
 *   a change costs one chunk's bytes (and DomainMetrics compresses only that chunk again);
 * - per scrape, the open lines: one prefix copied and one number formatted per component.
 *
 * Per component, the bytes are kept while its record and ledger stay the same objects.
 *
 * A series exists for every known impact from the moment the component is known (0 until it is
 * entered), and `other` (every impact StatusMate may add beyond those, totalled together) once the
 * component has been in one. A component is known from the first folded event that names it or
 * the first folded declaration of it (the status pages file's, appended to the log: the same on
 * every replica, see docs/metrics.md). Series are
 * rendered for components the state holds a record of: the ledger of a page the file no longer
 * declares is kept, without series, until a webhook or a declaration brings its records back.
 */
export class ImpactSecondsMetrics {
  private current: ImpactSecondsLayout | undefined;
  private readonly slabs: Slab[] = [];
  private readonly headers = {
    text: Buffer.from(familyHeader(METRIC.componentImpactSeconds, 'counter', HELP)),
    openmetrics: Buffer.from(familyHeader(METRIC.componentImpactSeconds.replace(/_total$/, ''), 'counter', HELP)),
  };

  constructor(
    private readonly state: State,
    private readonly orders: ComponentOrders = new ComponentOrders(state),
  ) {}

  /** The family's header: OpenMetrics names the family without `_total`. */
  header(format: 'text' | 'openmetrics'): Buffer {
    return this.headers[format];
  }

  /** The whole family at `nowSeconds` in a buffer of its own (tests and tools; /metrics uses the parts). */
  render(nowSeconds: number, format: 'text' | 'openmetrics' = 'text'): Buffer {
    const layout = this.layout(nowSeconds);
    const open = this.lendOpen(nowSeconds, layout);
    try {
      return Buffer.concat([this.header(format), ...layout.chunks.map((chunk) => chunk.text), open.text]);
    } finally {
      open.release();
    }
  }

  /**
   * The open lines of `layout` at `nowSeconds`, written into memory that is re-used once `release` is called
   * (after the response is sent): a scrape allocates no buffer of its own for 10,000 lines, which
   * the GC would collect with a pause. Two scrapes at once get two buffers.
   */
  lendOpen(nowSeconds: number, layout: ImpactSecondsLayout): { text: Buffer; release: () => void } {
    const lent = this.lendSlab(layout);
    const cursor = { at: 0, prefixAt: lent.prefixesAt };
    const nowMs = toMs(nowSeconds);
    writeOpen(lent.memory, cursor, layout.chunks, 0, layout.chunks.length, nowMs);
    const open = lent.memory.subarray(0, cursor.at);
    return { text: layout.ahead.length === 0 ? open : Buffer.concat([open, aheadText(layout, nowMs)]), release: lent.release };
  }

  /**
   * The open lines of `layout` at `nowSeconds`, deflated (see gzip-member.ts). Past SYNC_BYTES
   * they are written a cut of chunks at a time, and each cut goes to the thread pool as soon as it
   * is written: the pool deflates the first while the event loop writes the next.
   */
  compressOpen(nowSeconds: number, layout: ImpactSecondsLayout): Promise<DeflatedPiece[]> {
    const lent = this.lendSlab(layout);
    const nowMs = toMs(nowSeconds);
    const cursor = { at: 0, prefixAt: lent.prefixesAt };
    const { chunks } = layout;
    const ahead = layout.ahead.length === 0 ? [] : [deflatePieceSync(aheadText(layout, nowMs))];
    if (layout.openPrefixBytes < SYNC_BYTES) {
      try {
        writeOpen(lent.memory, cursor, chunks, 0, chunks.length, nowMs);
        return Promise.resolve([deflatePieceSync(lent.memory.subarray(0, cursor.at)), ...ahead]);
      } finally {
        lent.release();
      }
    }
    const perCut = Math.ceil(chunks.length / PARALLEL_PIECES);
    const pieces: Promise<DeflatedPiece>[] = [];
    for (let from = 0; from < chunks.length; from += perCut) {
      const start = cursor.at;
      writeOpen(lent.memory, cursor, chunks, from, Math.min(chunks.length, from + perCut), nowMs);
      pieces.push(deflatePiece(lent.memory.subarray(start, cursor.at), poolChunkSize(cursor.at - start)));
    }
    // The memory is lent until every cut's compression is done, whether it succeeds or not.
    void Promise.allSettled(pieces).then(lent.release);
    return Promise.all(pieces).then((open) => [...open, ...ahead]);
  }

  /**
   * A slab for the open lines of `layout`, with the layout's prefixes at its end (copied there
   * once per layout: room for the open lines does not reach them), lent until `release`.
   */
  private lendSlab(layout: ImpactSecondsLayout): { memory: Buffer; prefixesAt: number; release: () => void } {
    const size = layout.openPrefixBytes + layout.lines.length * VALUE_BYTES + layout.openPrefixBytes;
    const index = this.slabs.findIndex((slab) => !slab.busy && slab.memory.length >= size);
    const slab = index >= 0 ? (this.slabs[index] as Slab) : { memory: Buffer.allocUnsafeSlow(size + (size >> 3)), busy: false, prefixesOf: undefined };
    if (index < 0) {
      // Two slabs at most are kept: a third scrape at once gets memory of its own, let go after.
      const free = this.slabs.findIndex((s) => !s.busy);
      if (this.slabs.length < 2) this.slabs.push(slab);
      else if (free >= 0) this.slabs[free] = slab;
    }
    slab.busy = true;
    const prefixesAt = slab.memory.length - layout.openPrefixBytes;
    if (slab.prefixesOf !== layout) {
      let at = prefixesAt;
      for (const chunk of layout.chunks) at += chunk.prefixes.copy(slab.memory, at);
      slab.prefixesOf = layout;
    }
    let released = false;
    return {
      memory: slab.memory,
      prefixesAt,
      release: () => {
        if (released) return;
        released = true;
        slab.busy = false;
      },
    };
  }

  /**
   * The fixed lines of the current state version, in chunks, made at `nowSeconds` when the
   * version's first scrape asks (a component booked ahead of it is written per scrape instead).
   */
  layout(nowSeconds = Date.now() / 1000): ImpactSecondsLayout {
    const nowMs = toMs(nowSeconds);
    if (this.current?.version === this.state.version && nowMs < this.current.aheadUntilMs) return this.current;
    const ahead: { record: ComponentRecord; entry: ComponentLedger }[] = [];
    let aheadUntilMs = Infinity;
    const previous = this.current;
    const lines: Lines[] = [];
    let openPrefixBytes = 0;
    // A component's lines are found at its place last time while no component was added or
    // forgotten before it (the usual case: one changed), else by its ledger record.
    let byEntry: Map<ComponentLedger, Lines> | undefined;
    const chunks: ImpactSecondsChunk[] = [];
    // Each chunk is written as soon as its lines are known: a new line's text lives until its chunk
    // is written, so a first render holds 128 components' texts at a time, not 10,000 (at 10,000
    // components with 200-byte names, 30 MB of strings that outlived young collections).
    const chunkUpTo = (to: number) => {
      const from = chunks.length * COMPONENTS_PER_CHUNK;
      const old = previous?.chunks[chunks.length];
      chunks.push(old !== undefined && sameObjects(old.lines, lines, from, to) ? old : writeChunk(lines.slice(from, to)));
    };
    const pages = [...this.state.pages.keys()].sort(compare);
    for (const statusPage of pages) {
      const page = this.state.pages.get(statusPage);
      const ledger = this.state.ledger.pages.get(statusPage);
      if (!page || !ledger) continue;
      const records = this.orders.recordsOf(page.components);
      const entries = this.orders.ledgerOf(page.components, ledger);
      for (let index = 0; index < records.length; index += 1) {
        const record = records[index] as ComponentRecord;
        const entry = entries[index];
        if (!entry) continue;
        // Time passes without a new version: a component not ahead now never is for this layout.
        if (entry.openMs > nowMs) {
          ahead.push({ record, entry });
          aheadUntilMs = Math.min(aheadUntilMs, entry.openMs);
          continue;
        }
        let found = previous?.lines[lines.length];
        // The same record object is the same component: its uuid is not read (a cache miss per component).
        if (found !== undefined && found.record !== record && (found.record.uuid !== record.uuid || found.record.statusPage !== statusPage)) {
          byEntry ??= new Map(previous?.lines.map((line) => [line.entry, line]));
          found = byEntry.get(entry);
        }
        const line = found?.record === record && found.entry === entry ? found : linesOf(record, entry);
        lines.push(line);
        openPrefixBytes += line.openPrefixBytes;
        if (lines.length % COMPONENTS_PER_CHUNK === 0) chunkUpTo(lines.length);
      }
    }
    if (lines.length % COMPONENTS_PER_CHUNK !== 0) chunkUpTo(lines.length);
    this.current = { version: this.state.version, chunks, lines, openPrefixBytes, ahead, aheadUntilMs };
    return this.current;
  }
}

/** A new chunk of `lines`: each component's bytes copied from the chunk they were last written into, or written from its text. */
function writeChunk(lines: Lines[]): ImpactSecondsChunk {
  let size = 0;
  let prefixBytes = 0;
  for (const line of lines) {
    size += line.fixedBytes;
    prefixBytes += line.openPrefixBytes;
  }
  const chunk: ImpactSecondsChunk = {
    lines,
    text: Buffer.allocUnsafeSlow(size),
    prefixes: Buffer.allocUnsafeSlow(prefixBytes),
    prefixEnds: new Int32Array(lines.length),
    closedMs: new Float64Array(lines.length),
    openMs: new Float64Array(lines.length),
  };
  let at = 0;
  let prefixAt = 0;
  lines.forEach((line, index) => {
    const from = line.written;
    if (from !== undefined) {
      from.text.copy(chunk.text, at, line.writtenAt, line.writtenAt + line.fixedBytes);
      from.prefixes.copy(chunk.prefixes, prefixAt, line.writtenPrefixAt, line.writtenPrefixAt + line.openPrefixBytes);
    } else {
      // The pending text is the fixed lines, then the prefix (fixedBytes, then openPrefixBytes, as UTF-8).
      const pending = Buffer.from(line.pending ?? '', 'utf8');
      pending.copy(chunk.text, at, 0, line.fixedBytes);
      pending.copy(chunk.prefixes, prefixAt, line.fixedBytes);
    }
    line.pending = undefined;
    line.written = chunk;
    line.writtenAt = at;
    line.writtenPrefixAt = prefixAt;
    at += line.fixedBytes;
    prefixAt += line.openPrefixBytes;
    chunk.prefixEnds[index] = prefixAt;
    chunk.closedMs[index] = line.openClosedMs;
    chunk.openMs[index] = line.openMs;
  });
  return chunk;
}

/**
 * The open lines of chunks [from, to) at `nowMs`, each its prefix then its seconds (closed time
 * plus the open interval up to now), written at `cursor.at`. The prefixes are `out`'s bytes from
 * `cursor.prefixAt` on, one after another in the chunks' order; both advance.
 */
function writeOpen(
  out: Buffer,
  cursor: { at: number; prefixAt: number },
  chunks: readonly ImpactSecondsChunk[],
  from: number,
  to: number,
  nowMs: number,
): void {
  let { at, prefixAt } = cursor;
  for (let c = from; c < to; c += 1) {
    const { prefixEnds, closedMs, openMs } = chunks[c] as ImpactSecondsChunk;
    const base = prefixAt;
    for (let index = 0; index < prefixEnds.length; index += 1) {
      const end = base + (prefixEnds[index] as number);
      out.copyWithin(at, prefixAt, end);
      at += end - prefixAt;
      prefixAt = end;
      at = writeMilliseconds(out, at, (closedMs[index] as number) + Math.max(0, nowMs - (openMs[index] as number)));
      out[at++] = NEWLINE;
    }
  }
  cursor.at = at;
  cursor.prefixAt = prefixAt;
}

const NEWLINE = 0x0a;
const DOT = 0x2e;
const ZERO = 0x30;

/**
 * Whole milliseconds `ms` as seconds, written as String(ms / 1000) would (`12`, `12.5`, `12.345`),
 * without making a string per line: 10,000 lines a scrape.
 */
export function writeMilliseconds(out: Buffer, at: number, ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const fraction = ms - seconds * 1000;
  at = writeWhole(out, at, seconds);
  if (fraction === 0) return at;
  out[at++] = DOT;
  out[at++] = ZERO + Math.floor(fraction / 100);
  const tens = Math.floor(fraction / 10) % 10;
  const units = fraction % 10;
  if (tens !== 0 || units !== 0) out[at++] = ZERO + tens;
  if (units !== 0) out[at++] = ZERO + units;
  return at;
}

function writeWhole(out: Buffer, at: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
  let rest = value;
  for (let i = at + digits - 1; i >= at; i -= 1) {
    out[i] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return at + digits;
}

function labelsOf(record: ComponentRecord): string {
  return labelPairs([
    [LABEL.statusPage, record.statusPage],
    [LABEL.componentUuid, record.uuid],
    [LABEL.component, record.name],
  ]);
}

const prefixOf = (labels: string, impact: string) => `${METRIC.componentImpactSeconds}{${labels},${labelPairs([[LABEL.impact, impact]])}} `;

/**
 * Every line of the components booked ahead of the layout (see ImpactSecondsLayout.ahead), counted
 * up to `nowMs` and not past it: a change timed ahead closed the interval before it at a time
 * still to come, and those seconds are counted as they pass, so the sum over impacts stays the
 * time since the component was first known (secondsByImpact).
 */
function aheadText(layout: ImpactSecondsLayout, nowMs: number): Buffer {
  let text = '';
  for (const { record, entry } of layout.ahead) {
    const labels = labelsOf(record);
    const seconds = secondsByImpact(entry, nowMs / 1000);
    for (const impact of KNOWN_IMPACTS) if (!seconds.has(impact)) seconds.set(impact, 0);
    for (const impact of [...seconds.keys()].sort(compare)) text += `${prefixOf(labels, impact)}${formatValue(seconds.get(impact) ?? 0)}\n`;
  }
  return Buffer.from(text, 'utf8');
}

/** Every impact's line but the open one's. */
function fixedText(record: ComponentRecord, entry: ComponentLedger): string {
  const labels = labelsOf(record);
  // Every known impact from the start, at 0 until entered: a series that appeared with its first
  // seconds already counted would lose them to increase() and to the mixin's window arithmetic.
  const impacts = new Set<string>(KNOWN_IMPACTS);
  for (const impact of [...entry.totals.keys()].sort(compare)) impacts.add(impact);
  const open = totalKeyOf(entry.impact);
  impacts.add(open);
  let fixed = '';
  for (const impact of impacts) {
    if (impact === open) continue;
    fixed += `${prefixOf(labels, impact)}${formatValue((entry.totals.get(impact) ?? 0) / 1000)}\n`;
  }
  return fixed;
}

function linesOf(record: ComponentRecord, entry: ComponentLedger): Lines {
  const fixed = fixedText(record, entry);
  // An unknown impact's seconds are totalled as `other` (totalKeyOf): its open interval grows that line.
  const openPrefix = prefixOf(labelsOf(record), totalKeyOf(entry.impact));
  return {
    fixedBytes: Buffer.byteLength(fixed),
    pending: fixed + openPrefix,
    written: undefined,
    writtenAt: 0,
    writtenPrefixAt: 0,
    record,
    entry,
    openPrefixBytes: Buffer.byteLength(openPrefix),
    openClosedMs: entry.totals.get(totalKeyOf(entry.impact)) ?? 0,
    openMs: entry.openMs,
  };
}
