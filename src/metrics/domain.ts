import { componentKey, type ComponentAlerts, type PageAlertStats } from '../domain/alert-state.js';
import type { Histogram } from '../domain/histogram.js';
import { impactLevel, isKnownImpact, KNOWN_IMPACTS } from '../domain/impact.js';
import { incidentStart, type ComponentRecord, type IncidentRecord, type MaintenanceRecord, type Page, type State } from '../domain/state.js';
import { familyHeader, labelPairs, sample, type MetricType } from './exposition.js';
import { continueGzip, type GzipStart } from './gzip-member.js';
import { compare, ComponentOrders } from './component-order.js';
import { PieceGzip, sameObjects, type Piece } from './gzip-pieces.js';
import { ImpactSecondsMetrics, type ImpactSecondsLayout } from './impact-seconds.js';
import { DURATION_BUCKETS, LABEL, MAINTENANCE_STATES, METRIC, RESPONSE_BUCKETS } from './names.js';

/**
 * The lines of up to COMPONENTS_PER_CHUNK components in a row, one buffer per per-component
 * family, never written again once made: a response or a compression may hold it as long as it
 * needs, and a state change makes new chunks for the components it changed only.
 */
type Chunk = {
  records: readonly ComponentRecord[];
  /** Per family, the chunk's lines of that family. */
  texts: readonly Buffer[];
  /** Where record i's lines of family f end in texts[f]: ends[i * FAMILIES + f] (they start where record i - 1's end). */
  ends: Uint32Array;
};

type Rendered = {
  version: number;
  /** The text format's body, in order: each per-component family's header and chunks, then the page families (`tail`). */
  parts: Buffer[];
  /** The page families in the text format: the last part. */
  tail: Buffer;
  /** `parts` in one buffer, made when a test or tool asks for it (text()). */
  text: Buffer | undefined;
  gzip: Promise<GzipStart> | undefined;
  /**
   * The impact seconds' layout each gzip start holds the fixed lines of: within one version the
   * layout is made again once a component booked ahead is reached (see ImpactSecondsLayout),
   * and a start of the older one would miss that component's fixed lines.
   */
  gzipLayouts: { text?: ImpactSecondsLayout; openmetrics?: ImpactSecondsLayout };
  /** The page families in OpenMetrics, rendered on the first OpenMetrics scrape of this version. */
  openMetricsTail: Buffer | undefined;
  /** The gzip start of the OpenMetrics body, for OpenMetrics scrapes that ask for gzip. */
  gzipOpenMetrics: Promise<GzipStart> | undefined;
};

/** The domain metrics in OpenMetrics: `head` (the per-component families, the same bytes as the text format's) followed by `tail`. */
export type OpenMetricsParts = { head: readonly Buffer[]; tail: Buffer };

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

/** The records of the last render, by position, and its chunks. */
type Layout = { records: ComponentRecord[]; chunks: Chunk[] };

/**
 * Components per chunk of the per-component families: a change of one component writes its
 * chunk of each family again (about 130 KiB in all) and compresses only those (each chunk is a
 * piece of the gzip body), not the whole text.
 */
const COMPONENTS_PER_CHUNK = 128;

/** The per-component families' headers, and a key per header that keeps its compressed piece for good. */
const FAMILY_HEADERS = COMPONENT_FAMILIES.map(([name, help]) => Buffer.from(familyHeader(name, 'gauge', help), 'utf8'));
const HEADER_KEYS = FAMILY_HEADERS.map((header) => ({ items: [header], from: 0, to: 1 }));

/**
 * Renders every domain metric from the state at scrape time, so no series outlives its object.
 * The text and its gzip are cached per state version: scrapes between two events cost a buffer
 * write, and only a change of state makes the next scrape render again.
 *
 * The per-component families are kept in chunks of COMPONENTS_PER_CHUNK components. A re-render
 * compares each chunk's records with the state's (records are replaced, never mutated, so
 * identity says what changed), keeps the chunks whose records are the same, and makes new ones
 * for the others: their changed components formatted, their unchanged ones copied from the
 * chunk they were in. The cache costs the exposition's size once (about 1 KiB per component):
 * an old chunk lives only while a response or a compression still holds it.
 *
 * Compression runs on libuv's thread pool, not the event loop, so a scrape of a large state does
 * not hold up webhooks.
 */
export class DomainMetrics {
  private cached: Rendered | undefined;
  private layout: Layout | undefined;
  /** Where each record rendered in the current chunks is: its lines are copied from there when its chunk is made again. */
  private placed = new WeakMap<ComponentRecord, { chunk: Chunk; index: number }>();
  private readonly orders: ComponentOrders;
  private readonly pieceGzip = new PieceGzip();
  /** Per object family and page, its lines and the records they were written from (see objectLines). */
  private readonly objectFamilies = new Map<string, { records: readonly unknown[]; text: string; version: number }>();

  private readonly seconds: ImpactSecondsMetrics;

  constructor(private readonly state: State) {
    this.orders = new ComponentOrders(state);
    this.seconds = new ImpactSecondsMetrics(state, this.orders);
  }

  /**
   * The text format's body of the families cached per state version (all but
   * statusmate_component_impact_seconds_total, which a scrape adds: see impactSeconds), in parts
   * that are never written again.
   */
  parts(): readonly Buffer[] {
    return this.current().parts;
  }

  /** The same in one buffer (tests and tools: /metrics sends the parts). */
  text(): Buffer {
    const rendered = this.current();
    rendered.text ??= Buffer.concat(rendered.parts);
    return rendered.text;
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
    const layout = this.seconds.layout(nowSeconds);
    const open = this.seconds.lendOpen(nowSeconds, layout);
    return { parts: [this.seconds.header(format), ...layout.chunks.map((chunk) => chunk.text), open.text], release: open.release };
  }

  /**
   * The same state in OpenMetrics 1.0 (without the final `# EOF`, which ends the telemetry that
   * follows): the per-component families are gauges, written alike in both formats, so their
   * bytes are the text format's; only the page families (counters with `_created`, histograms)
   * are rendered again, once per state version.
   */
  openMetrics(): OpenMetricsParts {
    const tail = this.openMetricsTail();
    return { head: this.current().parts.slice(0, -1), tail };
  }

  /** The page families in OpenMetrics (a fresh buffer, never re-used). */
  openMetricsTail(): Buffer {
    const rendered = this.current();
    if (!rendered.openMetricsTail) rendered.openMetricsTail = Buffer.from(this.renderPageFamilies(this.sortedPages(), 'openmetrics'), 'utf8');
    return rendered.openMetricsTail;
  }

  /**
   * A gzip scrape's domain part at `nowSeconds`, as the start of one gzip member (see gzipEnd):
   * the part cached per state version (see gzip), continued by the impact seconds' open lines,
   * which change at every scrape (1.7 MB at 10,000 components, compressed on the thread pool).
   *
   * The open lines go to the thread pool first: they compress while the event loop renders and
   * compresses the chunks a change touched, rather than after. Both are taken in this turn of
   * the event loop, so from one state version.
   */
  async gzipScrape(nowSeconds: number, format: 'text' | 'openmetrics'): Promise<GzipStart> {
    const layout = this.seconds.layout(nowSeconds);
    const compressing = this.seconds.compressOpen(nowSeconds, layout);
    const [start, openPieces] = await Promise.all([format === 'text' ? this.gzip(layout) : this.gzipOpenMetrics(layout), compressing]);
    return continueGzip(start, openPieces);
  }

  /**
   * The start of a gzip member of the OpenMetrics body up to the open lines of
   * statusmate_component_impact_seconds_total (see gzipScrape): the per-component families, the
   * page families and the impact seconds' header and fixed lines, compressed once per state version.
   */
  gzipOpenMetrics(layout = this.seconds.layout()): Promise<GzipStart> {
    const rendered = this.current();
    if (!rendered.gzipOpenMetrics || rendered.gzipLayouts.openmetrics !== layout) {
      rendered.gzipOpenMetrics = this.compress(rendered, 'openmetrics', layout);
      rendered.gzipLayouts.openmetrics = layout;
    }
    return rendered.gzipOpenMetrics;
  }

  /** The same for the text format (see gzipOpenMetrics). */
  gzip(layout = this.seconds.layout()): Promise<GzipStart> {
    const rendered = this.current();
    if (!rendered.gzip || rendered.gzipLayouts.text !== layout) {
      rendered.gzip = this.compress(rendered, 'text', layout);
      rendered.gzipLayouts.text = layout;
    }
    return rendered.gzip;
  }

  private compress(rendered: Rendered, format: 'text' | 'openmetrics', layout: ImpactSecondsLayout): Promise<GzipStart> {
    const pieces = this.pieces(format === 'text' ? rendered.tail : this.openMetricsTail());
    pieces.push(...this.secondsPieces(layout, format));
    const started = this.pieceGzip.start(pieces);
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
      const pages = this.sortedPages();
      const chunks = this.render(pages);
      const tail = Buffer.from(this.renderPageFamilies(pages, 'text'), 'utf8');
      const parts: Buffer[] = [];
      FAMILY_HEADERS.forEach((header, f) => {
        parts.push(header);
        for (const chunk of chunks) parts.push(chunk.texts[f] as Buffer);
      });
      parts.push(tail);
      // Lines of a page no longer rendered are let go (the OpenMetrics tail of this version, rendered later, uses the same).
      for (const [key, kept] of this.objectFamilies) if (kept.version !== this.state.version) this.objectFamilies.delete(key);
      this.cached = {
        version: this.state.version,
        parts,
        tail,
        text: undefined,
        gzip: undefined,
        gzipLayouts: {},
        openMetricsTail: undefined,
        gzipOpenMetrics: undefined,
      };
    }
    return this.cached;
  }

  /** The chunks of the current state: the last render's where their records are the same objects, new ones elsewhere. */
  private render(pages: SortedPage[]): Chunk[] {
    const records: ComponentRecord[] = [];
    for (const page of pages) for (const record of page.records) records.push(record);
    const previous = this.layout;
    const chunks: Chunk[] = [];
    for (let from = 0, c = 0; from < records.length; from += COMPONENTS_PER_CHUNK, c += 1) {
      const to = Math.min(records.length, from + COMPONENTS_PER_CHUNK);
      const old = previous?.chunks[c];
      chunks.push(old !== undefined && sameObjects(old.records, records, from, to) ? old : this.writeChunk(records.slice(from, to)));
    }
    this.layout = { records, chunks };
    return chunks;
  }

  /** A new chunk of `records`: a record rendered before is copied from its chunk, a new one formatted. */
  private writeChunk(records: ComponentRecord[]): Chunk {
    const ends = new Uint32Array(records.length * FAMILIES);
    const sizes = new Array<number>(FAMILIES).fill(0);
    const sources = records.map((record) => {
      const placed = this.placed.get(record);
      if (placed !== undefined) {
        const { chunk, index } = placed;
        for (let f = 0; f < FAMILIES; f += 1) {
          const end = chunk.ends[index * FAMILIES + f] as number;
          const start = index === 0 ? 0 : (chunk.ends[(index - 1) * FAMILIES + f] as number);
          (sizes[f] as number) += end - start;
        }
        return placed;
      }
      const lines = componentLines(record);
      for (let f = 0; f < FAMILIES; f += 1) (sizes[f] as number) += Buffer.byteLength(lines[f] as string);
      return lines;
    });
    const texts = sizes.map((size) => Buffer.allocUnsafeSlow(size));
    const chunk: Chunk = { records, texts, ends };
    const at = new Array<number>(FAMILIES).fill(0);
    sources.forEach((source, i) => {
      for (let f = 0; f < FAMILIES; f += 1) {
        const text = texts[f] as Buffer;
        if (Array.isArray(source)) {
          (at[f] as number) += text.write(source[f] as string, at[f] as number, 'utf8');
        } else {
          const { chunk: from, index } = source;
          const end = from.ends[index * FAMILIES + f] as number;
          const start = index === 0 ? 0 : (from.ends[(index - 1) * FAMILIES + f] as number);
          (at[f] as number) += from.texts[f]?.copy(text, at[f], start, end) ?? 0;
        }
        ends[i * FAMILIES + f] = at[f] as number;
      }
      this.placed.set(records[i] as ComponentRecord, { chunk, index: i });
    });
    return chunk;
  }

  /**
   * The body in pieces for compression: each per-component family's header (compressed once) and
   * chunks (keyed by their records, so an unchanged chunk is not compressed again), then `tail`
   * (the page families in the scrape's format), compressed every time.
   */
  private pieces(tail: Buffer): Piece[] {
    const chunks = (this.layout as Layout).chunks;
    const pieces: Piece[] = [];
    FAMILY_HEADERS.forEach((header, f) => {
      pieces.push({ text: header, key: HEADER_KEYS[f] });
      for (const chunk of chunks) pieces.push({ text: chunk.texts[f] as Buffer, key: { items: chunk.records, from: 0, to: chunk.records.length } });
    });
    pieces.push({ text: tail, key: undefined });
    return pieces;
  }

  /**
   * One page's lines of a family with a line per active incident or unfinished maintenance,
   * written again only when the page's records changed (records are replaced, never mutated, so
   * the same objects write the same lines): a component update leaves them as they were, where 200
   * objects are about 100 KB of labels. The same in both formats (these families are gauges).
   */
  private objectLines<T>(family: string, page: SortedPage, records: readonly T[], line: (record: T) => string): string {
    const key = `${family} ${page.stats.statusPage}`;
    const kept = this.objectFamilies.get(key);
    const version = this.state.version;
    if (kept !== undefined && sameObjects(kept.records, records, 0, records.length)) {
      kept.version = version;
      return kept.text;
    }
    const text = records.map(line).join('');
    this.objectFamilies.set(key, { records, text, version });
    return text;
  }

  /** Sorted, so that the same state renders the same bytes whatever order it was loaded in. */
  private sortedPages(): SortedPage[] {
    return [...this.state.pages.values()]
      .sort((a, b) => compare(a.stats.statusPage, b.stats.statusPage))
      .map((page) => ({
        stats: page.stats,
        components: page.components,
        records: this.orders.recordsOf(page.components),
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
    /** A gauge family of one time per incident or maintenance that has it (Unix seconds), labelled by its page and uuid. */
    const objectTimes = <R extends { statusPage: string; uuid: string }>(
      name: string,
      help: string,
      uuidLabel: string,
      records: (page: SortedPage) => readonly R[],
      time: (record: R) => number | null,
    ) =>
      family(name, 'gauge', help, (page) =>
        this.objectLines(name, page, records(page), (record) => {
          const at = time(record);
          return at === null
            ? ''
            : sample(
                name,
                labelPairs([
                  [LABEL.statusPage, record.statusPage],
                  [uuidLabel, record.uuid],
                ]),
                at,
              );
        }),
      );

    counter(METRIC.incidentsCreated, 'Incidents created, each counted once.', (stats) => stats.incidentsCreated);
    counter(METRIC.incidentsFinished, 'Incidents finished, each counted once.', (stats) => stats.incidentsFinished);
    family(METRIC.incidentsActive, 'gauge', 'Incidents created and not yet finished.', (page) => {
      return sample(METRIC.incidentsActive, pageLabel(page), page.incidents.length);
    });
    family(METRIC.incidentInfo, 'gauge', 'One series per active incident, carrying its title.', (page) =>
      this.objectLines(METRIC.incidentInfo, page, page.incidents, (incident) =>
        sample(
          METRIC.incidentInfo,
          labelPairs([
            [LABEL.statusPage, incident.statusPage],
            [LABEL.incidentUuid, incident.uuid],
            [LABEL.title, incident.title],
          ]),
          1,
        ),
      ),
    );
    objectTimes(
      METRIC.incidentStart,
      'When an active incident started, in Unix seconds.',
      LABEL.incidentUuid,
      (page) => page.incidents,
      // Created again at an earlier time, it began there, not at the start_at first sent.
      incidentStart,
    );
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
    family(METRIC.maintenanceInfo, 'gauge', 'One series per unfinished maintenance, carrying its title and state.', (page) =>
      this.objectLines(METRIC.maintenanceInfo, page, page.maintenances, (m) =>
        sample(
          METRIC.maintenanceInfo,
          labelPairs([
            [LABEL.statusPage, m.statusPage],
            [LABEL.maintenanceUuid, m.uuid],
            [LABEL.title, m.title],
            [LABEL.state, m.state],
          ]),
          1,
        ),
      ),
    );
    const maintenanceTime = (name: string, help: string, time: (m: MaintenanceRecord) => number | null) =>
      objectTimes(name, help, LABEL.maintenanceUuid, (page) => page.maintenances, time);
    maintenanceTime(METRIC.maintenanceScheduledStart, 'Scheduled start of an unfinished maintenance, in Unix seconds.', (m) => m.scheduledStart);
    maintenanceTime(METRIC.maintenanceScheduledEnd, 'Scheduled end of an unfinished maintenance, in Unix seconds.', (m) => m.scheduledEnd);
    maintenanceTime(METRIC.maintenanceStart, 'When a maintenance in progress started (its maintenance_started event), in Unix seconds.', (m) =>
      m.state === 'in_progress' ? m.startedAt : null,
    );
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
   * component that has some (or waits for its page to recover), and per page that held an alert
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
  records: readonly ComponentRecord[];
  /** Active incidents only: finished ones have no series. */
  incidents: IncidentRecord[];
  /** Unfinished maintenances only. */
  maintenances: MaintenanceRecord[];
};

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
