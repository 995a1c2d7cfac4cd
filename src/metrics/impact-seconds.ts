import { KNOWN_IMPACTS } from '../domain/impact.js';
import { toMs, type ComponentLedger } from '../domain/ledger.js';
import type { ComponentRecord, State } from '../domain/state.js';
import { familyHeader, formatValue, labelPairs } from './exposition.js';
import { LABEL, METRIC } from './names.js';

const HELP =
  'Seconds a component spent in each impact since the exporter first knew it (from the fold of the log: the same on every replica, kept across restarts); the current impact grows until the scrape.';

/** The lines of one component that only change with the state, and the prefix of its open impact's line, as bytes. */
type Lines = { fixed: Buffer; openPrefix: Buffer; openClosedMs: number; openMs: number };

type Layout = {
  version: number;
  /** The fixed lines of every component, in order: one copy per scrape. */
  fixed: Buffer;
  /** Per component, its open line's prefix and values. */
  open: Lines[];
  /** Bytes of the open lines' prefixes. */
  openPrefixBytes: number;
};

type Slab = { memory: Buffer; busy: boolean };

/** The most bytes a value takes: a float's shortest form is at most 24 characters, and a newline. */
const VALUE_BYTES = 25;

/**
 * statusmate_component_impact_seconds_total, rendered at every scrape: the open interval of each
 * component's current impact grows with the clock, so this family cannot be cached per state
 * version like the other domain families. What can be is: per state version, the bytes of every
 * line but the open impact's (lines of a family may come in any order), and per component the
 * bytes of its open line's prefix; a scrape then copies those and formats one number per component.
 * Per component, the bytes are kept while its record and ledger stay the same objects, so a new
 * state version costs a copy of the unchanged components' bytes.
 *
 * A series exists for every known impact from the moment the component is known (0 until it is
 * entered), and for an unknown impact once the component has been in it. Components that no folded event named (declared in
 * the status pages file only) have no series: their time is this process's assumption, which
 * replicas would not share (see docs/metrics.md).
 */
export class ImpactSecondsMetrics {
  private layout: Layout | undefined;
  private readonly cache = new WeakMap<ComponentLedger, { record: ComponentRecord; lines: Lines }>();
  private readonly orders = new WeakMap<Map<string, ComponentRecord>, string[]>();

  constructor(private readonly state: State) {}

  /** The family at `nowSeconds`, in the text format or OpenMetrics (the family named without `_total`). */
  render(nowSeconds: number, format: 'text' | 'openmetrics' = 'text'): Buffer {
    const layout = this.current();
    const header = this.header(format);
    return this.write(Buffer.allocUnsafe(this.bound(layout, header)), layout, header, nowSeconds);
  }

  /**
   * The family at `nowSeconds` written into memory that is re-used once `release` is called (after
   * the response is sent): a scrape of 50,000 series allocates no 8 MiB buffer of its own, which
   * the GC would collect with a pause (bench section 9). Two scrapes at once get two buffers.
   */
  lend(nowSeconds: number, format: 'text' | 'openmetrics' = 'text'): { text: Buffer; release: () => void } {
    const layout = this.current();
    const header = this.header(format);
    const size = this.bound(layout, header);
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
      text: this.write(slab.memory, layout, header, nowSeconds),
      release: () => {
        if (released) return;
        released = true;
        slab.busy = false;
      },
    };
  }

  private readonly slabs: Slab[] = [];

  private header(format: 'text' | 'openmetrics'): string {
    const name = format === 'openmetrics' ? METRIC.componentImpactSeconds.replace(/_total$/, '') : METRIC.componentImpactSeconds;
    return familyHeader(name, 'counter', HELP);
  }

  private bound(layout: Layout, header: string): number {
    return Buffer.byteLength(header) + layout.fixed.length + layout.openPrefixBytes + layout.open.length * VALUE_BYTES;
  }

  private write(out: Buffer, layout: Layout, header: string, nowSeconds: number): Buffer {
    const nowMs = toMs(nowSeconds);
    let at = out.write(header, 0, 'latin1');
    at += layout.fixed.copy(out, at);
    for (const open of layout.open) {
      at += open.openPrefix.copy(out, at);
      at += out.write(`${formatValue((open.openClosedMs + Math.max(0, nowMs - open.openMs)) / 1000)}\n`, at, 'latin1');
    }
    return out.subarray(0, at);
  }

  private current(): Layout {
    if (this.layout?.version === this.state.version) return this.layout;
    const fixed: Buffer[] = [];
    const open: Lines[] = [];
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
        if (cached.lines.fixed.length > 0) fixed.push(cached.lines.fixed);
        open.push(cached.lines);
        openPrefixBytes += cached.lines.openPrefix.length;
      }
    }
    this.layout = { version: this.state.version, fixed: Buffer.concat(fixed), open, openPrefixBytes };
    return this.layout;
  }

  /** A page's sorted component uuids, reused until its count changes (components are only added or forgotten). */
  private order(components: Map<string, ComponentRecord>): string[] {
    let order = this.orders.get(components);
    if (order?.length !== components.size) {
      order = [...components.keys()].sort(compare);
      this.orders.set(components, order);
    }
    return order;
  }
}

function linesOf(record: ComponentRecord, entry: ComponentLedger): Lines {
  const labels = labelPairs([
    [LABEL.statusPage, record.statusPage],
    [LABEL.componentUuid, record.uuid],
    [LABEL.component, record.name],
  ]);
  // Every known impact from the start, at 0 until entered: a series that appeared with its first
  // seconds already counted would lose them to increase() and to the mixin's window arithmetic.
  const impacts = new Set<string>(KNOWN_IMPACTS);
  for (const impact of [...entry.totals.keys()].sort(compare)) impacts.add(impact);
  impacts.add(entry.impact);
  let fixed = '';
  const prefix = (impact: string) => `${METRIC.componentImpactSeconds}{${labels},${labelPairs([[LABEL.impact, impact]])}} `;
  for (const impact of impacts) {
    if (impact === entry.impact) continue;
    fixed += `${prefix(impact)}${formatValue((entry.totals.get(impact) ?? 0) / 1000)}\n`;
  }
  return {
    fixed: Buffer.from(fixed, 'utf8'),
    openPrefix: Buffer.from(prefix(entry.impact), 'utf8'),
    openClosedMs: entry.totals.get(entry.impact) ?? 0,
    openMs: entry.openMs,
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
