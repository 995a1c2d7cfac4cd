import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Histogram } from '../domain/histogram.js';
import { impactLevel, isKnownImpact, KNOWN_IMPACTS } from '../domain/impact.js';
import type { ComponentRecord, IncidentRecord, MaintenanceRecord, Page, State } from '../domain/state.js';
import { familyHeader, labelPairs, sample, type MetricType } from './exposition.js';
import { DURATION_BUCKETS, LABEL, MAINTENANCE_STATES, METRIC } from './names.js';

const gzipAsync = promisify(gzipCallback);

type Rendered = { version: number; text: Buffer; gzip: Promise<Buffer> | undefined };

/** The three per-component families, in the order they are written. */
const COMPONENT_FAMILIES = [
  [METRIC.componentImpact, 'Current impact of a component as a StateSet: 1 for its impact, 0 for each other.'],
  [METRIC.componentImpactLevel, 'Current impact level of a component: 0 operational, 1 under maintenance, 2 degraded performance, 3 partial outage, 4 major outage, -1 unknown.'],
  [METRIC.componentLastChange, 'When the impact of a component last changed, in Unix seconds.'],
] as const;
const FAMILIES = COMPONENT_FAMILIES.length;

/**
 * Where each component's lines sit in the last rendered text: for the component at `slot`,
 * family f spans `offsets[(slot * FAMILIES + f) * 2]` to the next offset.
 */
type Layout = { text: Buffer; slots: Map<ComponentRecord, number>; offsets: Uint32Array };

/**
 * Renders every domain metric from the state at scrape time, so no series outlives its object.
 * The text and its gzip are cached per state version: scrapes between two events cost a buffer
 * write, and only a change of state makes the next scrape render again.
 *
 * A re-render formats only the components whose record changed since the last render (records
 * are replaced, never mutated, so identity says what changed) and copies every other
 * component's bytes from the previous text. Nothing is kept per component but its place in that
 * text, so the cache costs one copy of the exposition (about 1 KiB per component).
 *
 * Compression runs on libuv's thread pool, not the event loop, so a scrape of a large state does
 * not hold up webhooks.
 */
export class DomainMetrics {
  private cached: Rendered | undefined;
  private layout: Layout | undefined;
  private readonly componentOrder = new WeakMap<Map<string, ComponentRecord>, string[]>();

  constructor(private readonly state: State) {}

  text(): Buffer {
    if (this.cached?.version !== this.state.version) {
      this.cached = { version: this.state.version, text: this.render(), gzip: undefined };
    }
    return this.cached.text;
  }

  gzip(): Promise<Buffer> {
    const text = this.text();
    const rendered = this.cached as Rendered;
    if (!rendered.gzip) {
      // Level 1: a tenth of level 6's CPU for a body a few percent larger.
      rendered.gzip = gzipAsync(text, { level: 1 });
      // A failed compression is retried by the next scrape rather than cached.
      rendered.gzip.catch(() => {
        if (this.cached === rendered) rendered.gzip = undefined;
      });
    }
    return rendered.gzip;
  }

  private render(): Buffer {
    // Sorted, so that the same state renders the same bytes whatever order it was loaded in.
    const pages = [...this.state.pages.values()]
      .sort((a, b) => compare(a.stats.statusPage, b.stats.statusPage))
      .map((page) => ({
        stats: page.stats,
        components: this.sortedComponents(page.components),
        incidents: sortedValues(page.activeIncidents),
        maintenances: sortedValues(page.unfinishedMaintenances),
      }));
    const components = pages.flatMap((page) => page.components);
    const tail = this.renderPageFamilies(pages);
    const headers = COMPONENT_FAMILIES.map(([name, help]) => familyHeader(name, 'gauge', help));

    // First pass: where each component's bytes come from (the last text, or new lines), and the size.
    const previous = this.layout;
    const from = new Int32Array(components.length);
    const fresh: (string[] | undefined)[] = new Array<string[] | undefined>(components.length);
    let size = Buffer.byteLength(tail);
    for (const header of headers) size += Buffer.byteLength(header);
    components.forEach((component, index) => {
      const slot = previous?.slots.get(component);
      if (previous !== undefined && slot !== undefined) {
        from[index] = slot;
        const base = slot * FAMILIES * 2;
        for (let f = 0; f < FAMILIES * 2; f += 2) size += (previous.offsets[base + f + 1] as number) - (previous.offsets[base + f] as number);
      } else {
        from[index] = -1;
        const lines = componentLines(component);
        fresh[index] = lines;
        for (const line of lines) size += Buffer.byteLength(line);
      }
    });

    // Second pass: write family by family into one buffer, noting where each component's lines went.
    const text = Buffer.allocUnsafe(size);
    const offsets = new Uint32Array(components.length * FAMILIES * 2);
    const slots = new Map<ComponentRecord, number>();
    let at = 0;
    headers.forEach((header, f) => {
      at += text.write(header, at);
      for (let index = 0; index < components.length; index += 1) {
        const target = (index * FAMILIES + f) * 2;
        offsets[target] = at;
        const slot = from[index] as number;
        if (previous !== undefined && slot >= 0) {
          const source = (slot * FAMILIES + f) * 2;
          at += previous.text.copy(text, at, previous.offsets[source], previous.offsets[source + 1]);
        } else {
          at += text.write((fresh[index] as string[])[f] as string, at);
        }
        offsets[target + 1] = at;
      }
    });
    at += text.write(tail, at);
    components.forEach((component, index) => slots.set(component, index));
    this.layout = { text, slots, offsets };
    return text;
  }

  /** Every family but the per-component ones: a few lines per page, incident and maintenance. */
  private renderPageFamilies(pages: SortedPage[]): string {
    let text = '';
    const family = (name: string, type: MetricType, help: string, body: (page: SortedPage) => string) => {
      text += familyHeader(name, type, help);
      for (const page of pages) text += body(page);
    };
    const pageLabel = (page: SortedPage) => labelPairs([[LABEL.statusPage, page.stats.statusPage]]);

    family(METRIC.incidentsCreated, 'counter', 'Incidents created, each counted once.', (page) => sample(METRIC.incidentsCreated, pageLabel(page), page.stats.incidentsCreated));
    family(METRIC.incidentsFinished, 'counter', 'Incidents finished, each counted once.', (page) => sample(METRIC.incidentsFinished, pageLabel(page), page.stats.incidentsFinished));
    family(METRIC.incidentsActive, 'gauge', 'Incidents created and not yet finished.', (page) => {
      return sample(METRIC.incidentsActive, pageLabel(page), page.incidents.length);
    });
    family(METRIC.incidentInfo, 'gauge', 'One series per active incident, carrying its title.', (page) => {
      let body = '';
      for (const incident of page.incidents) {
        body += sample(METRIC.incidentInfo, labelPairs([[LABEL.statusPage, incident.statusPage], [LABEL.incidentUuid, incident.uuid], [LABEL.title, incident.title]]), 1);
      }
      return body;
    });
    family(METRIC.incidentStart, 'gauge', 'When an active incident started, in Unix seconds.', (page) => {
      let body = '';
      for (const incident of page.incidents) {
        if (incident.startAt === null) continue;
        body += sample(METRIC.incidentStart, labelPairs([[LABEL.statusPage, incident.statusPage], [LABEL.incidentUuid, incident.uuid]]), incident.startAt);
      }
      return body;
    });
    family(METRIC.incidentDuration, 'histogram', 'Durations of finished incidents, in seconds.', (page) => histogram(METRIC.incidentDuration, pageLabel(page), page.stats.incidentDuration));

    family(METRIC.maintenancesCreated, 'counter', 'Maintenances scheduled, each counted once.', (page) => sample(METRIC.maintenancesCreated, pageLabel(page), page.stats.maintenancesCreated));
    family(METRIC.maintenancesStarted, 'counter', 'Maintenances started, each counted once.', (page) => sample(METRIC.maintenancesStarted, pageLabel(page), page.stats.maintenancesStarted));
    family(METRIC.maintenancesFinished, 'counter', 'Maintenances finished, each counted once.', (page) => sample(METRIC.maintenancesFinished, pageLabel(page), page.stats.maintenancesFinished));
    family(METRIC.maintenancesActive, 'gauge', 'Unfinished maintenances by state (scheduled or in_progress).', (page) => {
      const counts = { scheduled: 0, in_progress: 0 };
      for (const maintenance of page.maintenances) if (maintenance.state !== 'finished') counts[maintenance.state] += 1;
      return MAINTENANCE_STATES.map((state) => sample(METRIC.maintenancesActive, labelPairs([[LABEL.statusPage, page.stats.statusPage], [LABEL.state, state]]), counts[state])).join('');
    });
    family(METRIC.maintenanceInfo, 'gauge', 'One series per unfinished maintenance, carrying its title and state.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        body += sample(METRIC.maintenanceInfo, labelPairs([[LABEL.statusPage, m.statusPage], [LABEL.maintenanceUuid, m.uuid], [LABEL.title, m.title], [LABEL.state, m.state]]), 1);
      }
      return body;
    });
    family(METRIC.maintenanceScheduledStart, 'gauge', 'Scheduled start of an unfinished maintenance, in Unix seconds.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        if (m.scheduledStart === null) continue;
        body += sample(METRIC.maintenanceScheduledStart, labelPairs([[LABEL.statusPage, m.statusPage], [LABEL.maintenanceUuid, m.uuid]]), m.scheduledStart);
      }
      return body;
    });
    family(METRIC.maintenanceScheduledEnd, 'gauge', 'Scheduled end of an unfinished maintenance, in Unix seconds.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        if (m.scheduledEnd === null) continue;
        body += sample(METRIC.maintenanceScheduledEnd, labelPairs([[LABEL.statusPage, m.statusPage], [LABEL.maintenanceUuid, m.uuid]]), m.scheduledEnd);
      }
      return body;
    });
    family(METRIC.maintenanceDuration, 'histogram', 'Durations of finished maintenances, from start to finish, in seconds.', (page) => histogram(METRIC.maintenanceDuration, pageLabel(page), page.stats.maintenanceDuration));

    family(METRIC.webhookLastReceived, 'gauge', 'When the last event for a status page was committed, in Unix seconds.', (page) =>
      page.stats.lastReceivedAt === null ? '' : sample(METRIC.webhookLastReceived, pageLabel(page), page.stats.lastReceivedAt),
    );
    return text;
  }

  /** Components are only ever added, so a page's sorted order is reused until its count changes. */
  private sortedComponents(components: Map<string, ComponentRecord>): ComponentRecord[] {
    let order = this.componentOrder.get(components);
    if (order?.length !== components.size) {
      order = [...components.keys()].sort(compare);
      this.componentOrder.set(components, order);
    }
    return order.map((uuid) => components.get(uuid) as ComponentRecord);
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
  return [
    impact,
    sample(METRIC.componentImpactLevel, labels, impactLevel(component.impact)),
    sample(METRIC.componentLastChange, labels, component.changedAt),
  ];
}

type SortedPage = {
  stats: Page['stats'];
  components: ComponentRecord[];
  /** Active incidents only: finished ones have no series. */
  incidents: IncidentRecord[];
  /** Unfinished maintenances only. */
  maintenances: MaintenanceRecord[];
};

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortedValues<T>(map: Map<string, T>): T[] {
  return [...map.keys()].sort(compare).map((key) => map.get(key) as T);
}

function histogram(name: string, labels: string, data: Histogram): string {
  let body = '';
  let cumulative = 0;
  DURATION_BUCKETS.forEach((bound, index) => {
    cumulative += data.counts[index] ?? 0;
    body += sample(`${name}_bucket`, `${labels},le="${bound}"`, cumulative);
  });
  body += sample(`${name}_bucket`, `${labels},le="+Inf"`, data.count);
  body += sample(`${name}_sum`, labels, data.sum);
  body += sample(`${name}_count`, labels, data.count);
  return body;
}
