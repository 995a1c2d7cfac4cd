import { KNOWN_IMPACTS } from '../domain/impact.js';
import { toMs, type ComponentLedger } from '../domain/ledger.js';
import type { ComponentRecord, State } from '../domain/state.js';
import { familyHeader, formatValue, labelPairs } from './exposition.js';
import { LABEL, METRIC } from './names.js';

const HELP =
  'Seconds a component spent in each impact since the exporter first knew it (from the fold of the log: the same on every replica, kept across restarts); the current impact grows until the scrape.';

/** The lines of one component that only change with the state, and the prefix of its open impact's line, as bytes. */
type Lines = {
  /** The bytes of the fixed lines. */
  fixedBytes: number;
  /**
   * Their text until it is first written into a slab; later versions copy those bytes from the
   * previous slab instead, so that each component's lines are not kept twice.
   */
  pending: string | undefined;
  record: ComponentRecord;
  entry: ComponentLedger;
  openPrefix: Buffer;
  openClosedMs: number;
  openMs: number;
};

/** The family's lines of one state version but the open impacts' values. */
export type ImpactSecondsLayout = {
  version: number;
  /** Every component's fixed lines, in order: the same in both formats. Its memory is re-used two versions later: hold it with hold(). */
  fixed: Buffer;
  /** The memory of `fixed`. */
  slab: FixedSlab;
  /** Where component i's fixed lines end in `fixed` (they start where component i - 1's end). */
  fixedEnds: number[];
  /** Per component, in order: its lines. Kept while its record and ledger stay the same objects, so equal objects mean equal bytes. */
  lines: Lines[];
  /** Bytes of the open lines' prefixes. */
  openPrefixBytes: number;
};

type Slab = { memory: Buffer; busy: boolean };

/** Memory for the fixed lines of one version, re-used by the version after next when nothing holds it (see DomainMetrics' Slab). */
type FixedSlab = { memory: Buffer; holders: number };

/** The most bytes a value takes: a float's shortest form is at most 24 characters, and a newline. */
const VALUE_BYTES = 25;

/**
 * statusmate_component_impact_seconds_total. The open interval of each component's current impact
 * grows with the clock, so the family cannot be cached whole per state version like the other
 * domain families. It comes in three parts:
 *
 * - its header (one per format);
 * - per state version, the fixed lines: every impact's but the open one's (lines of a family may
 *   come in any order), the same bytes in both formats; DomainMetrics compresses them with the
 *   cached text, in pieces reused while their components are unchanged;
 * - per scrape, the open lines: one prefix copied and one number formatted per component.
 *
 * Per component, the bytes are kept while its record and ledger stay the same objects, so a new
 * state version costs a copy of the unchanged components' bytes.
 *
 * A series exists for every known impact from the moment the component is known (0 until it is
 * entered), and for an unknown impact once the component has been in it. A component is known
 * from the first folded event that names it or the first folded declaration of it (the status
 * pages file's, appended to the log: the same on every replica, see docs/metrics.md). Series are
 * rendered for components the state holds a record of: the ledger of a page the file no longer
 * declares is kept, without series, until a webhook or a declaration brings its records back.
 */
export class ImpactSecondsMetrics {
  private current: ImpactSecondsLayout | undefined;
  private readonly cache = new WeakMap<ComponentLedger, { record: ComponentRecord; lines: Lines }>();
  private readonly orders = new WeakMap<Map<string, ComponentRecord>, string[]>();
  private readonly slabs: Slab[] = [];
  /** The memory of the fixed lines before the current ones: the next version's, once free. */
  private fixedSpare: FixedSlab | undefined;
  private readonly headers = {
    text: Buffer.from(familyHeader(METRIC.componentImpactSeconds, 'counter', HELP)),
    openmetrics: Buffer.from(familyHeader(METRIC.componentImpactSeconds.replace(/_total$/, ''), 'counter', HELP)),
  };

  constructor(private readonly state: State) {}

  /** The family's header: OpenMetrics names the family without `_total`. */
  header(format: 'text' | 'openmetrics'): Buffer {
    return this.headers[format];
  }

  /** The whole family at `nowSeconds` in a buffer of its own (tests and tools; /metrics uses the parts). */
  render(nowSeconds: number, format: 'text' | 'openmetrics' = 'text'): Buffer {
    const layout = this.layout();
    const open = this.lendOpen(nowSeconds, layout);
    try {
      return Buffer.concat([this.header(format), layout.fixed, open.text]);
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
    const size = layout.openPrefixBytes + layout.lines.length * VALUE_BYTES;
    const index = this.slabs.findIndex((slab) => !slab.busy && slab.memory.length >= size);
    const slab = index >= 0 ? (this.slabs[index] as Slab) : { memory: Buffer.allocUnsafeSlow(size + (size >> 3)), busy: false };
    if (index < 0) {
      // Two slabs at most are kept: a third scrape at once gets memory of its own, let go after.
      const free = this.slabs.findIndex((s) => !s.busy);
      if (this.slabs.length < 2) this.slabs.push(slab);
      else if (free >= 0) this.slabs[free] = slab;
    }
    slab.busy = true;
    let released = false;
    return {
      text: writeOpen(slab.memory, layout.lines, toMs(nowSeconds)),
      release: () => {
        if (released) return;
        released = true;
        slab.busy = false;
      },
    };
  }

  /** The fixed lines of the current state version, and where each component's end. */
  layout(): ImpactSecondsLayout {
    if (this.current?.version === this.state.version) return this.current;
    const previous = this.current;
    const lines: Lines[] = [];
    let fixedBytes = 0;
    let openPrefixBytes = 0;
    const pages = [...this.state.pages.keys()].sort(compare);
    for (const statusPage of pages) {
      const page = this.state.pages.get(statusPage);
      const ledger = this.state.ledger.pages.get(statusPage);
      if (!page || !ledger) continue;
      for (const uuid of this.order(page.components)) {
        const entry = ledger.get(uuid);
        const record = page.components.get(uuid);
        if (!entry || !record) continue;
        let cached = this.cache.get(entry);
        if (cached?.record !== record) {
          cached = { record, lines: linesOf(record, entry) };
          this.cache.set(entry, cached);
        }
        lines.push(cached.lines);
        fixedBytes += cached.lines.fixedBytes;
        openPrefixBytes += cached.lines.openPrefix.length;
      }
    }
    const slab = this.fixedSlab(fixedBytes);
    const fixed = slab.memory.subarray(0, fixedBytes);
    const fixedEnds = new Array<number>(lines.length);
    // A run of components whose lines are the objects at the same places last time is one copy
    // of the previous text; a component whose lines moved (a component was added or forgotten
    // before it) is copied from its old place; a changed one is written from its text.
    const same = previous !== undefined && previous.lines.length === lines.length;
    let placeOf: Map<Lines, number> | undefined;
    let at = 0;
    let index = 0;
    while (index < lines.length) {
      const current = lines[index] as Lines;
      if (!same || previous.lines[index] !== current) {
        if (previous !== undefined && !same) placeOf ??= new Map(previous.lines.map((line, place) => [line, place]));
        const place = placeOf?.get(current);
        if (previous !== undefined && place !== undefined) {
          at += previous.fixed.copy(fixed, at, place === 0 ? 0 : previous.fixedEnds[place - 1], previous.fixedEnds[place]);
        } else {
          at += fixed.write(current.pending ?? fixedText(current.record, current.entry), at, 'utf8');
          current.pending = undefined;
        }
        fixedEnds[index] = at;
        index += 1;
        continue;
      }
      let end = index + 1;
      while (end < lines.length && previous.lines[end] === lines[end]) end += 1;
      const from = index === 0 ? 0 : (previous.fixedEnds[index - 1] as number);
      const shift = at - from;
      at += previous.fixed.copy(fixed, at, from, previous.fixedEnds[end - 1]);
      for (let i = index; i < end; i += 1) fixedEnds[i] = (previous.fixedEnds[i] as number) + shift;
      index = end;
    }
    if (previous !== undefined) this.fixedSpare = previous.slab;
    this.current = { version: this.state.version, fixed, slab, fixedEnds, lines, openPrefixBytes };
    return this.current;
  }

  /** Keeps `layout`'s fixed lines intact until the returned function is called. */
  hold(layout: ImpactSecondsLayout): () => void {
    layout.slab.holders += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      layout.slab.holders -= 1;
    };
  }

  private fixedSlab(size: number): FixedSlab {
    const spare = this.fixedSpare;
    if (spare !== undefined && spare.holders === 0 && spare.memory.length >= size) {
      this.fixedSpare = undefined;
      return spare;
    }
    // An eighth more, so that a state that grows a little still fits the next time.
    return { memory: Buffer.allocUnsafeSlow(size + (size >> 3)), holders: 0 };
  }

  /** A page's sorted component uuids, reused while the page's map of components holds the same keys. */
  private order(components: Map<string, ComponentRecord>): string[] {
    let order = this.orders.get(components);
    if (order?.length !== components.size || !order.every((uuid) => components.has(uuid))) {
      order = [...components.keys()].sort(compare);
      this.orders.set(components, order);
    }
    return order;
  }
}

/** Each component's open line at `nowMs`: its prefix, then its seconds (closed time plus the open interval up to now). */
function writeOpen(out: Buffer, lines: readonly Lines[], nowMs: number): Buffer {
  let at = 0;
  for (const line of lines) {
    at += line.openPrefix.copy(out, at);
    at = writeMilliseconds(out, at, line.openClosedMs + Math.max(0, nowMs - line.openMs));
    out[at++] = NEWLINE;
  }
  return out.subarray(0, at);
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

/** Every impact's line but the open one's. */
function fixedText(record: ComponentRecord, entry: ComponentLedger): string {
  const labels = labelsOf(record);
  // Every known impact from the start, at 0 until entered: a series that appeared with its first
  // seconds already counted would lose them to increase() and to the mixin's window arithmetic.
  const impacts = new Set<string>(KNOWN_IMPACTS);
  for (const impact of [...entry.totals.keys()].sort(compare)) impacts.add(impact);
  impacts.add(entry.impact);
  let fixed = '';
  for (const impact of impacts) {
    if (impact === entry.impact) continue;
    fixed += `${prefixOf(labels, impact)}${formatValue((entry.totals.get(impact) ?? 0) / 1000)}\n`;
  }
  return fixed;
}

function linesOf(record: ComponentRecord, entry: ComponentLedger): Lines {
  const pending = fixedText(record, entry);
  return {
    fixedBytes: Buffer.byteLength(pending),
    pending,
    record,
    entry,
    openPrefix: Buffer.from(prefixOf(labelsOf(record), entry.impact), 'utf8'),
    openClosedMs: entry.totals.get(entry.impact) ?? 0,
    openMs: entry.openMs,
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
