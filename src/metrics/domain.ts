import { componentKey, type ComponentAlerts, type PageAlertStats } from '../domain/alerts.js';
import type { Histogram } from '../domain/histogram.js';
import { impactLevel, isKnownImpact, KNOWN_IMPACTS } from '../domain/impact.js';
import type { ComponentRecord, IncidentRecord, MaintenanceRecord, Page, State } from '../domain/state.js';
import { familyHeader, labelPairs, sample, type MetricType } from './exposition.js';
import type { GzipStart } from './gzip-member.js';
import { PieceGzip, type Piece } from './gzip-pieces.js';
import { ImpactSecondsMetrics, type ImpactSecondsLayout } from './impact-seconds.js';
import { DURATION_BUCKETS, LABEL, MAINTENANCE_STATES, METRIC, RESPONSE_BUCKETS } from './names.js';

/**
 * Memory for one rendered text. A render writes into the slab of the text before last when
 * nothing holds it any more (a response still being sent, a compression still running), so
 * that a changing state re-uses two slabs instead of allocating ten megabytes per scrape, which
 * the allocator does not give back to the system.
 */
type Slab = {
  memory: Buffer;
  holders: number;
  /** For the component at position i of this text, family f spans offsets[(i * FAMILIES + f) * 2] to the next offset. */
  offsets: Uint32Array;
};

type Rendered = {
  version: number;
  text: Buffer;
  slab: Slab;
  gzip: Promise<GzipWithSeconds> | undefined;
  /** Bytes at the end of `text` that the page families take; the rest is the same in both formats. */
  tailBytes: number;
  /** The page families in OpenMetrics, rendered on the first OpenMetrics scrape of this version. */
  openMetricsTail: Buffer | undefined;
  /** The gzip start of the OpenMetrics body, for OpenMetrics scrapes that ask for gzip. */
  gzipOpenMetrics: Promise<GzipWithSeconds> | undefined;
};

/**
 * The start of a gzip member of the cached part of a body, and the layout of the impact seconds
 * whose open lines must follow it (lendImpactSecondsOpen), so that they come from one state version.
 */
export type GzipWithSeconds = { start: GzipStart; seconds: ImpactSecondsLayout };

/** The domain metrics in OpenMetrics: `head` (the per-component families, lent) followed by `tail`. */
export type OpenMetricsParts = { head: Lent; tail: Buffer };

/** The three per-component families, in the order they are written. */
const COMPONENT_FAMILIES = [
  [METRIC.componentImpact, 'Current impact of a component, one series per impact: 1 for its impact, 0 for each other.'],
  [
    METRIC.componentImpactLevel,
    'Current impact level of a component: 0 operational, 1 under maintenance, 2 degraded performance, 3 partial outage, 4 major outage, -1 unknown.',
  ],
  [METRIC.componentLastChange, 'When the impact of a component last changed, in Unix seconds.'],
] as const;
const FAMILIES = COMPONENT_FAMILIES.length;

/**
 * The last text, and the record rendered at each of its `count` positions. Family f's header
 * starts at `familyStarts[f]`; the page families take the last `tailBytes`.
 */
type Layout = { text: Buffer; slab: Slab; records: ComponentRecord[]; count: number; tailBytes: number; familyStarts: number[] };

/**
 * Components per compressed piece of a per-component family: a change of one component
 * compresses its piece of each family again (about 130 KiB in all), not the whole text.
 */
const COMPONENTS_PER_PIECE = 128;

/** A rendered text and the promise to say when it is no longer read. */
export type Lent = { text: Buffer; release: () => void };

/**
 * Renders every domain metric from the state at scrape time, so no series outlives its object.
 * The text and its gzip are cached per state version: scrapes between two events cost a buffer
 * write, and only a change of state makes the next scrape render again.
 *
 * A re-render formats only the components whose record changed since the last render (records
 * are replaced, never mutated, so identity says what changed) and copies every other
 * component's bytes from the previous text, a run of unchanged components at a time. Nothing is
 * kept per component but its place in that text, so the cache costs two buffers of the size of
 * the exposition (about 1 KiB per component), used in turn.
 *
 * Compression runs on libuv's thread pool, not the event loop, so a scrape of a large state does
 * not hold up webhooks.
 */
export class DomainMetrics {
  private cached: Rendered | undefined;
  private layout: Layout | undefined;
  /** The slab of the text before the current one: the next render's memory, once free. */
  private spare: Slab | undefined;
  /** Two arrays of records by position, used in turn: one describes the last text, the other is filled by the next render. */
  private readonly recordArrays: [ComponentRecord[], ComponentRecord[]] = [[], []];
  /** For each position of the next text, the slot of the previous text its lines come from, or -1. */
  private sources = new Int32Array(0);
  private readonly orders = new WeakMap<Map<string, ComponentRecord>, string[]>();
  private readonly pieceGzip = new PieceGzip();

  private readonly seconds: ImpactSecondsMetrics;

  constructor(private readonly state: State) {
    this.seconds = new ImpactSecondsMetrics(state);
  }

  /**
   * The current text of the families cached per state version (all but
   * statusmate_component_impact_seconds_total, which a scrape adds: see impactSeconds). Its memory
   * is re-used two state changes later, so read it at once, or hold it with lend().
   */
  text(): Buffer {
    return this.current().text;
  }

  /** statusmate_component_impact_seconds_total at `nowSeconds`, whole, in a buffer of its own (tests and tools). */
  impactSeconds(nowSeconds = Date.now() / 1000, format: 'text' | 'openmetrics' = 'text'): Buffer {
    return this.seconds.render(nowSeconds, format);
  }

  /**
   * The parts of statusmate_component_impact_seconds_total that a plain scrape sends after the
   * cached text: its header and fixed lines of the current state version, then its open lines at
   * `nowSeconds` (in memory lent until `release`). Both from one state version, so no series is
   * written twice.
   */
  impactSecondsParts(nowSeconds: number, format: 'text' | 'openmetrics'): { parts: Buffer[]; release: () => void } {
    const layout = this.seconds.layout();
    const open = this.seconds.lendOpen(nowSeconds, layout);
    return { parts: [this.seconds.header(format), ...layout.chunks.map((chunk) => chunk.text), open.text], release: open.release };
  }

  /** The open lines of statusmate_component_impact_seconds_total at `nowSeconds`, for the fixed lines of `layout` (see gzip). */
  lendImpactSecondsOpen(nowSeconds: number, layout: ImpactSecondsLayout): Lent {
    return this.seconds.lendOpen(nowSeconds, layout);
  }

  /** The current text, kept intact until `release` is called (after the response is sent). */
  lend(): Lent {
    const { text, slab } = this.current();
    slab.holders += 1;
    let released = false;
    return {
      text,
      release: () => {
        if (released) return;
        released = true;
        slab.holders -= 1;
      },
    };
  }

  /**
   * The same state in OpenMetrics 1.0 (without the final `# EOF`, which ends the telemetry that
   * follows): the per-component families are gauges, written alike in both formats, so their
   * bytes are the text format's; only the page families (counters with `_created`, histograms)
   * are rendered again, once per state version.
   */
  openMetrics(): OpenMetricsParts {
    const tail = this.openMetricsTail();
    const rendered = this.current();
    const { text, release } = this.lend();
    return { head: { text: text.subarray(0, text.length - rendered.tailBytes), release }, tail };
  }

  /** The page families in OpenMetrics (a fresh buffer, never re-used). */
  openMetricsTail(): Buffer {
    const rendered = this.current();
    if (!rendered.openMetricsTail) rendered.openMetricsTail = Buffer.from(this.renderPageFamilies(this.sortedPages(), 'openmetrics'), 'utf8');
    return rendered.openMetricsTail;
  }

  /**
   * The start of a gzip member of the OpenMetrics body up to the open lines of
   * statusmate_component_impact_seconds_total (see gzipEnd): the per-component families, the page
   * families and the impact seconds' header and fixed lines, compressed once per state version.
   * `seconds` is the layout whose open lines must follow.
   */
  gzipOpenMetrics(): Promise<GzipWithSeconds> {
    const rendered = this.current();
    if (!rendered.gzipOpenMetrics) rendered.gzipOpenMetrics = this.compress(rendered, 'openmetrics');
    return rendered.gzipOpenMetrics;
  }

  /** The same for the text format (see gzipOpenMetrics). */
  gzip(): Promise<GzipWithSeconds> {
    const rendered = this.current();
    if (!rendered.gzip) rendered.gzip = this.compress(rendered, 'text');
    return rendered.gzip;
  }

  private compress(rendered: Rendered, format: 'text' | 'openmetrics'): Promise<GzipWithSeconds> {
    const { release } = this.lend();
    const seconds = this.seconds.layout();
    const pieces = format === 'text' ? this.pieces(true) : [...this.pieces(false), { text: this.openMetricsTail(), key: undefined }];
    pieces.push(...this.secondsPieces(seconds, format));
    const started = this.pieceGzip.start(pieces).then((start) => ({ start, seconds }));
    started.then(release, release);
    // A failed compression is retried by the next scrape rather than cached.
    started.catch(() => {
      if (this.cached !== rendered) return;
      if (format === 'text') rendered.gzip = undefined;
      else rendered.gzipOpenMetrics = undefined;
    });
    return started;
  }

  /** The impact seconds' header, then its fixed lines a chunk a piece, keyed by the chunk's lines. */
  private secondsPieces(seconds: ImpactSecondsLayout, format: 'text' | 'openmetrics'): Piece[] {
    const pieces: Piece[] = [{ text: this.seconds.header(format), key: undefined }];
    for (const chunk of seconds.chunks) pieces.push({ text: chunk.text, key: { items: chunk.lines, from: 0, to: chunk.lines.length } });
    return pieces;
  }

  private current(): Rendered {
    if (this.cached?.version !== this.state.version) {
      const layout = this.render();
      this.cached = {
        version: this.state.version,
        text: layout.text,
        slab: layout.slab,
        gzip: undefined,
        tailBytes: layout.tailBytes,
        openMetricsTail: undefined,
        gzipOpenMetrics: undefined,
      };
    }
    return this.cached;
  }

  private slabFor(size: number, components: number): Slab {
    const spare = this.spare;
    if (spare !== undefined && spare.holders === 0 && spare.memory.length >= size && spare.offsets.length >= components * FAMILIES * 2) {
      this.spare = undefined;
      return spare;
    }
    // An eighth more, so that a state that grows a little still fits the next time.
    return {
      memory: Buffer.allocUnsafeSlow(size + (size >> 3)),
      holders: 0,
      offsets: new Uint32Array((components + (components >> 3) + 1) * FAMILIES * 2),
    };
  }

  private render(): Layout {
    const pages = this.sortedPages();
    let count = 0;
    for (const page of pages) count += page.order.length;
    const tail = this.renderPageFamilies(pages, 'text');
    const tailBytes = Buffer.byteLength(tail);
    const headers = COMPONENT_FAMILIES.map(([name, help]) => familyHeader(name, 'gauge', help));

    // First pass: each position's record and where its lines come from: a slot of the previous
    // text (found by position while no component was added, the usual case; else by record),
    // or -1 and new lines. Adds up the size.
    const previous = this.layout;
    const records = this.recordArrays[0] === previous?.records ? this.recordArrays[1] : this.recordArrays[0];
    records.length = count;
    if (this.sources.length < count) this.sources = new Int32Array(count + (count >> 3) + 1);
    const sources = this.sources;
    const samePositions = previous !== undefined && previous.count === count;
    const slotOf =
      samePositions || previous === undefined ? undefined : new Map(previous.records.slice(0, previous.count).map((record, slot) => [record, slot]));
    const fresh = new Map<number, string[]>();
    let size = tailBytes;
    for (const header of headers) size += Buffer.byteLength(header);
    let position = 0;
    for (const page of pages) {
      for (const uuid of page.order) {
        const record = page.components.get(uuid) as ComponentRecord;
        records[position] = record;
        const slot = previous === undefined ? -1 : samePositions ? (previous.records[position] === record ? position : -1) : (slotOf?.get(record) ?? -1);
        sources[position] = slot;
        if (previous !== undefined && slot >= 0) {
          const offsets = previous.slab.offsets;
          for (let k = slot * FAMILIES * 2; k < (slot + 1) * FAMILIES * 2; k += 2) size += (offsets[k + 1] as number) - (offsets[k] as number);
        } else {
          const lines = componentLines(record);
          fresh.set(position, lines);
          for (const line of lines) size += Buffer.byteLength(line);
        }
        position += 1;
      }
    }

    // Second pass: family by family into the slab. Positions whose slots follow each other sit
    // side by side in the previous text, so a run of unchanged components is one copy.
    const slab = this.slabFor(size, count);
    const text = slab.memory.subarray(0, size);
    const offsets = slab.offsets;
    let at = 0;
    const familyStarts: number[] = [];
    headers.forEach((header, f) => {
      familyStarts.push(at);
      at += text.write(header, at);
      let index = 0;
      while (index < count) {
        const slot = sources[index] as number;
        if (previous === undefined || slot < 0) {
          const target = (index * FAMILIES + f) * 2;
          offsets[target] = at;
          at += text.write((fresh.get(index) as string[])[f] as string, at);
          offsets[target + 1] = at;
          index += 1;
          continue;
        }
        let end = index + 1;
        while (end < count && sources[end] === slot + (end - index)) end += 1;
        const from = previous.slab.offsets;
        const start = from[(slot * FAMILIES + f) * 2] as number;
        const stop = from[((slot + end - index - 1) * FAMILIES + f) * 2 + 1] as number;
        const shift = at - start;
        previous.text.copy(text, at, start, stop);
        for (let i = index; i < end; i += 1) {
          const source = ((slot + i - index) * FAMILIES + f) * 2;
          const target = (i * FAMILIES + f) * 2;
          offsets[target] = (from[source] as number) + shift;
          offsets[target + 1] = (from[source + 1] as number) + shift;
        }
        at += stop - start;
        index = end;
      }
    });
    at += text.write(tail, at);
    if (previous !== undefined) this.spare = previous.slab;
    this.layout = { text, slab, records, count, tailBytes, familyStarts };
    return this.layout;
  }

  /**
   * The current text in pieces for compression: each per-component family in runs of
   * COMPONENTS_PER_PIECE components (the first with the family's header), keyed by the records
   * rendered in them, then the page families (when `withTail`), compressed every time.
   */
  private pieces(withTail: boolean): Piece[] {
    const layout = this.layout as Layout;
    const { text, records, count, familyStarts } = layout;
    const offsets = layout.slab.offsets;
    const tailStart = text.length - layout.tailBytes;
    const pieces: Piece[] = [];
    const runs = Math.max(1, Math.ceil(count / COMPONENTS_PER_PIECE));
    for (let f = 0; f < FAMILIES; f += 1) {
      const familyEnd = f + 1 < FAMILIES ? (familyStarts[f + 1] as number) : tailStart;
      for (let run = 0; run < runs; run += 1) {
        const from = run * COMPONENTS_PER_PIECE;
        const to = Math.min(count, from + COMPONENTS_PER_PIECE);
        const start = run === 0 ? (familyStarts[f] as number) : (offsets[(from * FAMILIES + f) * 2] as number);
        const end = to < count ? (offsets[(to * FAMILIES + f) * 2] as number) : familyEnd;
        pieces.push({ text: text.subarray(start, end), key: { items: records, from, to } });
      }
    }
    if (withTail) pieces.push({ text: text.subarray(tailStart), key: undefined });
    return pieces;
  }

  /** Sorted, so that the same state renders the same bytes whatever order it was loaded in. */
  private sortedPages(): SortedPage[] {
    return [...this.state.pages.values()]
      .sort((a, b) => compare(a.stats.statusPage, b.stats.statusPage))
      .map((page) => ({
        stats: page.stats,
        components: page.components,
        order: this.componentOrder(page.components),
        incidents: sortedValues(page.activeIncidents),
        maintenances: sortedValues(page.unfinishedMaintenances),
      }));
  }

  /**
   * Every family but the per-component ones: a few lines per page, incident and maintenance. In
   * OpenMetrics, a counter family is named without `_total`, and every counter and histogram of
   * a page has a `_created` sample: the receipt time of the page's first event, when it started
   * from zero.
   */
  private renderPageFamilies(pages: SortedPage[], format: 'text' | 'openmetrics'): string {
    let text = '';
    const openMetrics = format === 'openmetrics';
    const family = (name: string, type: MetricType, help: string, body: (page: SortedPage) => string) => {
      text += familyHeader(name, type, help);
      for (const page of pages) text += body(page);
    };
    const pageLabel = (page: SortedPage) => labelPairs([[LABEL.statusPage, page.stats.statusPage]]);
    const counter = (name: string, help: string, value: (stats: Page['stats']) => number) => {
      const familyName = openMetrics ? name.replace(/_total$/, '') : name;
      family(familyName, 'counter', help, (page) => {
        const line = sample(name, pageLabel(page), value(page.stats));
        return openMetrics ? line + sample(`${familyName}_created`, pageLabel(page), page.stats.createdAt) : line;
      });
    };
    const histogramOf = (page: SortedPage, name: string, data: Histogram) => {
      const body = histogram(name, pageLabel(page), data);
      return openMetrics ? body + sample(`${name}_created`, pageLabel(page), page.stats.createdAt) : body;
    };

    counter(METRIC.incidentsCreated, 'Incidents created, each counted once.', (stats) => stats.incidentsCreated);
    counter(METRIC.incidentsFinished, 'Incidents finished, each counted once.', (stats) => stats.incidentsFinished);
    family(METRIC.incidentsActive, 'gauge', 'Incidents created and not yet finished.', (page) => {
      return sample(METRIC.incidentsActive, pageLabel(page), page.incidents.length);
    });
    family(METRIC.incidentInfo, 'gauge', 'One series per active incident, carrying its title.', (page) => {
      let body = '';
      for (const incident of page.incidents) {
        body += sample(
          METRIC.incidentInfo,
          labelPairs([
            [LABEL.statusPage, incident.statusPage],
            [LABEL.incidentUuid, incident.uuid],
            [LABEL.title, incident.title],
          ]),
          1,
        );
      }
      return body;
    });
    family(METRIC.incidentStart, 'gauge', 'When an active incident started, in Unix seconds.', (page) => {
      let body = '';
      for (const incident of page.incidents) {
        if (incident.startAt === null) continue;
        body += sample(
          METRIC.incidentStart,
          labelPairs([
            [LABEL.statusPage, incident.statusPage],
            [LABEL.incidentUuid, incident.uuid],
          ]),
          incident.startAt,
        );
      }
      return body;
    });
    family(METRIC.incidentDuration, 'histogram', 'Durations of finished incidents, in seconds.', (page) =>
      histogramOf(page, METRIC.incidentDuration, page.stats.incidentDuration),
    );

    counter(METRIC.maintenancesCreated, 'Maintenances scheduled, each counted once.', (stats) => stats.maintenancesCreated);
    counter(METRIC.maintenancesStarted, 'Maintenances started, each counted once.', (stats) => stats.maintenancesStarted);
    counter(METRIC.maintenancesFinished, 'Maintenances finished, each counted once.', (stats) => stats.maintenancesFinished);
    family(METRIC.maintenancesActive, 'gauge', 'Unfinished maintenances by state (scheduled or in_progress).', (page) => {
      const counts = { scheduled: 0, in_progress: 0 };
      for (const maintenance of page.maintenances) if (maintenance.state !== 'finished') counts[maintenance.state] += 1;
      return MAINTENANCE_STATES.map((state) =>
        sample(
          METRIC.maintenancesActive,
          labelPairs([
            [LABEL.statusPage, page.stats.statusPage],
            [LABEL.state, state],
          ]),
          counts[state],
        ),
      ).join('');
    });
    family(METRIC.maintenanceInfo, 'gauge', 'One series per unfinished maintenance, carrying its title and state.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        body += sample(
          METRIC.maintenanceInfo,
          labelPairs([
            [LABEL.statusPage, m.statusPage],
            [LABEL.maintenanceUuid, m.uuid],
            [LABEL.title, m.title],
            [LABEL.state, m.state],
          ]),
          1,
        );
      }
      return body;
    });
    family(METRIC.maintenanceScheduledStart, 'gauge', 'Scheduled start of an unfinished maintenance, in Unix seconds.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        if (m.scheduledStart === null) continue;
        body += sample(
          METRIC.maintenanceScheduledStart,
          labelPairs([
            [LABEL.statusPage, m.statusPage],
            [LABEL.maintenanceUuid, m.uuid],
          ]),
          m.scheduledStart,
        );
      }
      return body;
    });
    family(METRIC.maintenanceScheduledEnd, 'gauge', 'Scheduled end of an unfinished maintenance, in Unix seconds.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        if (m.scheduledEnd === null) continue;
        body += sample(
          METRIC.maintenanceScheduledEnd,
          labelPairs([
            [LABEL.statusPage, m.statusPage],
            [LABEL.maintenanceUuid, m.uuid],
          ]),
          m.scheduledEnd,
        );
      }
      return body;
    });
    family(METRIC.maintenanceStart, 'gauge', 'When a maintenance in progress started (its maintenance_started event), in Unix seconds.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        if (m.state !== 'in_progress' || m.startedAt === null) continue;
        body += sample(
          METRIC.maintenanceStart,
          labelPairs([
            [LABEL.statusPage, m.statusPage],
            [LABEL.maintenanceUuid, m.uuid],
          ]),
          m.startedAt,
        );
      }
      return body;
    });
    family(METRIC.maintenanceDuration, 'histogram', 'Durations of finished maintenances, from start to finish, in seconds.', (page) =>
      histogramOf(page, METRIC.maintenanceDuration, page.stats.maintenanceDuration),
    );

    family(METRIC.webhookLastReceived, 'gauge', 'When the last event for a status page was committed, in Unix seconds.', (page) =>
      page.stats.lastReceivedAt === null ? '' : sample(METRIC.webhookLastReceived, pageLabel(page), page.stats.lastReceivedAt),
    );
    text += this.renderAlertFamilies(openMetrics);
    return text;
  }

  /**
   * What Alertmanager's alerts measure (see src/domain/alerts.ts): the firing alerts of each
   * component that has some (or waits for its page to recover), and per page that saw an episode
   * the response and recovery lag histograms. Rendered from the alert state alone, so that every
   * replica folding the same log renders the same series whatever pages its own file declares.
   */
  private renderAlertFamilies(openMetrics: boolean): string {
    const alerts = this.state.alerts;
    const components = [...alerts.components.values()].sort((a, b) => compare(componentKey(a.statusPage, a.uuid), componentKey(b.statusPage, b.uuid)));
    const pages = [...alerts.pages.values()].sort((a, b) => compare(a.statusPage, b.statusPage));
    let text = familyHeader(METRIC.componentAlertsFiring, 'gauge', 'Firing Alertmanager alerts that match the component (its alert_matchers).');
    for (const record of components) text += sample(METRIC.componentAlertsFiring, this.alertComponentLabels(record), record.firing.size);
    const pageLabel = (stats: PageAlertStats) => labelPairs([[LABEL.statusPage, stats.statusPage]]);
    const histogramFamily = (name: string, help: string, data: (stats: PageAlertStats) => Histogram) => {
      text += familyHeader(name, 'histogram', help);
      for (const stats of pages) {
        text += histogram(name, pageLabel(stats), data(stats), RESPONSE_BUCKETS);
        if (openMetrics) text += sample(`${name}_created`, pageLabel(stats), stats.createdAt);
      }
    };
    histogramFamily(
      METRIC.statusPageResponse,
      "Time to communicate: from a component's first firing alert, while the page showed it operational, to the page showing it not operational, in seconds.",
      (stats) => stats.response,
    );
    histogramFamily(
      METRIC.statusPageRecoveryLag,
      "From a component's last alert resolving to the page showing it operational again, in seconds.",
      (stats) => stats.recoveryLag,
    );
    const counter = (name: string, help: string, value: (stats: PageAlertStats) => number) => {
      const family = openMetrics ? name.replace(/_total$/, '') : name;
      text += familyHeader(family, 'counter', help);
      for (const stats of pages) {
        text += sample(name, pageLabel(stats), value(stats));
        if (openMetrics) text += sample(`${family}_created`, pageLabel(stats), stats.createdAt);
      }
    };
    counter(METRIC.statusPageAlertsRefused, 'Firing alerts not held because the alert bounds were reached.', (stats) => stats.refused);
    counter(METRIC.statusPageAlertsExpired, 'Firing alerts forgotten because no Alertmanager notification named them for a day.', (stats) => stats.expired);
    return text;
  }

  private alertComponentLabels(record: ComponentAlerts): string {
    const name = this.state.pages.get(record.statusPage)?.components.get(record.uuid)?.name ?? record.uuid;
    return labelPairs([
      [LABEL.statusPage, record.statusPage],
      [LABEL.componentUuid, record.uuid],
      [LABEL.component, name],
    ]);
  }

  /**
   * A page's sorted component uuids, reused while the page's map holds the same keys: checked by
   * count and membership, since a forget followed by a new component keeps the count.
   */
  private componentOrder(components: Map<string, ComponentRecord>): string[] {
    let order = this.orders.get(components);
    if (order?.length !== components.size || !order.every((uuid) => components.has(uuid))) {
      order = [...components.keys()].sort(compare);
      this.orders.set(components, order);
    }
    return order;
  }
}

/** A component's lines of each per-component family, in COMPONENT_FAMILIES order. */
function componentLines(component: ComponentRecord): string[] {
  const labels = labelPairs([
    [LABEL.statusPage, component.statusPage],
    [LABEL.componentUuid, component.uuid],
    [LABEL.component, component.name],
  ]);
  let impact = '';
  for (const known of KNOWN_IMPACTS) {
    impact += sample(METRIC.componentImpact, `${labels},${LABEL.impact}="${known}"`, known === component.impact ? 1 : 0);
  }
  if (!isKnownImpact(component.impact)) {
    impact += sample(METRIC.componentImpact, `${labels},${labelPairs([[LABEL.impact, component.impact]])}`, 1);
  }
  return [impact, sample(METRIC.componentImpactLevel, labels, impactLevel(component.impact)), sample(METRIC.componentLastChange, labels, component.changedAt)];
}

type SortedPage = {
  stats: Page['stats'];
  components: Map<string, ComponentRecord>;
  /** The page's component uuids, sorted. */
  order: string[];
  /** Active incidents only: finished ones have no series. */
  incidents: IncidentRecord[];
  /** Unfinished maintenances only. */
  maintenances: MaintenanceRecord[];
};

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortedValues<T>(map: Map<string, T>): T[] {
  return [...map.keys()].sort(compare).map((key) => map.get(key) as T);
}

function histogram(name: string, labels: string, data: Histogram, bounds: readonly number[] = DURATION_BUCKETS): string {
  let body = '';
  let cumulative = 0;
  bounds.forEach((bound, index) => {
    cumulative += data.counts[index] ?? 0;
    body += sample(`${name}_bucket`, `${labels},le="${bound}"`, cumulative);
  });
  body += sample(`${name}_bucket`, `${labels},le="+Inf"`, data.count);
  body += sample(`${name}_sum`, labels, data.sum);
  body += sample(`${name}_count`, labels, data.count);
  return body;
}
