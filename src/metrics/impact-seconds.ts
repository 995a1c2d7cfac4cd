import { KNOWN_IMPACTS, OPERATIONAL } from '../domain/impact.js';
import { ledgerOf, toMs, type ComponentLedger } from '../domain/ledger.js';
import type { ComponentRecord, State } from '../domain/state.js';
import { familyHeader, formatValue, labelPairs } from './exposition.js';
import { LABEL, METRIC } from './names.js';

const HELP =
  'Seconds a component spent in each impact since the exporter first knew it (from the fold of the log: the same on every replica, kept across restarts); the current impact grows until the scrape.';

/** The lines of one component that only change with the state, and the prefix of its open impact's line. */
type Lines = { fixed: string; openPrefix: string; openClosedMs: number; openMs: number };

type Layout = { version: number; fixed: string; open: { prefix: string; closedMs: number; openMs: number }[] };

/**
 * statusmate_component_impact_seconds_total, rendered at every scrape: the open interval of each
 * component's current impact grows with the clock, so this family cannot be cached per state
 * version like the other domain families. What can be is: per state version, the text of every
 * line but the open impact's (lines of a family may come in any order), and per component the
 * prefix of its open line; a scrape then formats one number per component.
 *
 * A series exists for `operational` from the moment the component is known, and for another
 * impact once the component has been in it. Components that no folded event named (declared in
 * the status pages file only) have no series: their time is this process's assumption, which
 * replicas would not share (see docs/metrics.md).
 */
export class ImpactSecondsMetrics {
  private layout: Layout | undefined;
  private readonly cache = new WeakMap<ComponentLedger, { record: ComponentRecord; lines: Lines }>();

  constructor(private readonly state: State) {}

  /** The family at `nowSeconds`, in the text format or OpenMetrics (the family named without `_total`). */
  render(nowSeconds: number, format: 'text' | 'openmetrics' = 'text'): Buffer {
    const layout = this.current();
    const nowMs = toMs(nowSeconds);
    const name = format === 'openmetrics' ? METRIC.componentImpactSeconds.replace(/_total$/, '') : METRIC.componentImpactSeconds;
    let text = familyHeader(name, 'counter', HELP) + layout.fixed;
    for (const open of layout.open) text += `${open.prefix}${formatValue((open.closedMs + Math.max(0, nowMs - open.openMs)) / 1000)}\n`;
    return Buffer.from(text, 'utf8');
  }

  private current(): Layout {
    if (this.layout?.version === this.state.version) return this.layout;
    let fixed = '';
    const open: Layout['open'] = [];
    const pages = [...this.state.pages.keys()].sort(compare);
    for (const statusPage of pages) {
      const page = this.state.pages.get(statusPage);
      if (!page) continue;
      for (const uuid of [...page.components.keys()].sort(compare)) {
        const entry = ledgerOf(this.state.ledger, statusPage, uuid);
        const record = page.components.get(uuid);
        if (!entry || !record) continue;
        let cached = this.cache.get(entry);
        if (cached?.record !== record) {
          cached = { record, lines: linesOf(record, entry) };
          this.cache.set(entry, cached);
        }
        fixed += cached.lines.fixed;
        open.push({ prefix: cached.lines.openPrefix, closedMs: cached.lines.openClosedMs, openMs: cached.lines.openMs });
      }
    }
    this.layout = { version: this.state.version, fixed, open };
    return this.layout;
  }
}

function linesOf(record: ComponentRecord, entry: ComponentLedger): Lines {
  const labels = labelPairs([
    [LABEL.statusPage, record.statusPage],
    [LABEL.componentUuid, record.uuid],
    [LABEL.component, record.name],
  ]);
  const impacts = new Set<string>([OPERATIONAL]);
  for (const impact of KNOWN_IMPACTS) if (entry.totals.has(impact)) impacts.add(impact);
  for (const impact of [...entry.totals.keys()].sort(compare)) impacts.add(impact);
  let fixed = '';
  const prefix = (impact: string) => `${METRIC.componentImpactSeconds}{${labels},${labelPairs([[LABEL.impact, impact]])}} `;
  for (const impact of impacts) {
    if (impact === entry.impact) continue;
    fixed += `${prefix(impact)}${formatValue((entry.totals.get(impact) ?? 0) / 1000)}\n`;
  }
  return { fixed, openPrefix: prefix(entry.impact), openClosedMs: entry.totals.get(entry.impact) ?? 0, openMs: entry.openMs };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
