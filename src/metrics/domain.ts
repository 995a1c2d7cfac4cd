import { gzipSync } from 'node:zlib';
import type { Histogram } from '../domain/histogram.js';
import { impactLevel, isKnownImpact, KNOWN_IMPACTS } from '../domain/impact.js';
import type { ComponentRecord, IncidentRecord, MaintenanceRecord, Page, State } from '../domain/state.js';
import { familyHeader, labelPairs, sample, type MetricType } from './exposition.js';
import { DURATION_BUCKETS, LABEL, MAINTENANCE_STATES, METRIC } from './names.js';

type Rendered = { version: number; text: Buffer; gzip: Buffer | undefined };

/**
 * Renders every domain metric from the state at scrape time, so no series outlives its object.
 * The text (and its gzip) is cached per state version: scrapes between two events cost a
 * buffer write, and only a committed event makes the next scrape render again.
 */
export class DomainMetrics {
  private cached: Rendered | undefined;
  /** Records are replaced, never mutated, so a record's label string can be cached by identity. */
  private readonly componentLabels = new WeakMap<ComponentRecord, string>();

  constructor(private readonly state: State) {}

  text(): Buffer {
    return this.current().text;
  }

  gzip(): Buffer {
    const rendered = this.current();
    rendered.gzip ??= gzipSync(rendered.text, { level: 6 });
    return rendered.gzip;
  }

  private current(): Rendered {
    if (this.cached?.version !== this.state.version) {
      this.cached = { version: this.state.version, text: Buffer.from(this.render(), 'utf8'), gzip: undefined };
    }
    return this.cached;
  }

  private labelsOf(component: ComponentRecord): string {
    let labels = this.componentLabels.get(component);
    if (labels === undefined) {
      labels = labelPairs([
        [LABEL.statusPage, component.statusPage],
        [LABEL.componentUuid, component.uuid],
        [LABEL.component, component.name],
      ]);
      this.componentLabels.set(component, labels);
    }
    return labels;
  }

  private render(): string {
    // Sorted, so that the same state renders the same bytes whatever order it was loaded in.
    const pages = [...this.state.pages.values()]
      .sort((a, b) => compare(a.stats.statusPage, b.stats.statusPage))
      .map((page) => ({
        stats: page.stats,
        components: sortedValues(page.components),
        incidents: sortedValues(page.activeIncidents),
        maintenances: sortedValues(page.unfinishedMaintenances),
      }));
    let out = '';
    const family = (name: string, type: MetricType, help: string, body: (page: SortedPage) => string) => {
      out += familyHeader(name, type, help);
      for (const page of pages) out += body(page);
    };
    const pageLabel = (page: SortedPage) => labelPairs([[LABEL.statusPage, page.stats.statusPage]]);

    family(METRIC.componentImpact, 'gauge', 'Current impact of a component as a StateSet: 1 for its impact, 0 for each other.', (page) => {
      let body = '';
      for (const component of page.components) {
        const labels = this.labelsOf(component);
        for (const impact of KNOWN_IMPACTS) {
          body += sample(METRIC.componentImpact, `${labels},${LABEL.impact}="${impact}"`, impact === component.impact ? 1 : 0);
        }
        if (!isKnownImpact(component.impact)) {
          body += sample(METRIC.componentImpact, `${labels},${labelPairs([[LABEL.impact, component.impact]])}`, 1);
        }
      }
      return body;
    });
    family(METRIC.componentImpactLevel, 'gauge', 'Current impact level of a component: 0 operational, 1 under maintenance, 2 degraded performance, 3 partial outage, 4 major outage, -1 unknown.', (page) => {
      let body = '';
      for (const component of page.components) {
        body += sample(METRIC.componentImpactLevel, this.labelsOf(component), impactLevel(component.impact));
      }
      return body;
    });
    family(METRIC.componentLastChange, 'gauge', 'When the impact of a component last changed, in Unix seconds.', (page) => {
      let body = '';
      for (const component of page.components) {
        body += sample(METRIC.componentLastChange, this.labelsOf(component), component.changedAt);
      }
      return body;
    });

    family(METRIC.incidentsCreated, 'counter', 'Incidents created, each counted once.', (page) => sample(METRIC.incidentsCreated, pageLabel(page), page.stats.incidentsCreated));
    family(METRIC.incidentsFinished, 'counter', 'Incidents finished, each counted once.', (page) => sample(METRIC.incidentsFinished, pageLabel(page), page.stats.incidentsFinished));
    family(METRIC.incidentsActive, 'gauge', 'Incidents created and not yet finished.', (page) => {
      let active = 0;
      for (const incident of page.incidents) if (incident.state === 'active') active += 1;
      return sample(METRIC.incidentsActive, pageLabel(page), active);
    });
    family(METRIC.incidentInfo, 'gauge', 'One series per active incident, carrying its title.', (page) => {
      let body = '';
      for (const incident of page.incidents) {
        if (incident.state !== 'active') continue;
        body += sample(METRIC.incidentInfo, labelPairs([[LABEL.statusPage, incident.statusPage], [LABEL.incidentUuid, incident.uuid], [LABEL.title, incident.title]]), 1);
      }
      return body;
    });
    family(METRIC.incidentStart, 'gauge', 'When an active incident started, in Unix seconds.', (page) => {
      let body = '';
      for (const incident of page.incidents) {
        if (incident.state !== 'active' || incident.startAt === null) continue;
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
        if (m.state === 'finished') continue;
        body += sample(METRIC.maintenanceInfo, labelPairs([[LABEL.statusPage, m.statusPage], [LABEL.maintenanceUuid, m.uuid], [LABEL.title, m.title], [LABEL.state, m.state]]), 1);
      }
      return body;
    });
    family(METRIC.maintenanceScheduledStart, 'gauge', 'Scheduled start of an unfinished maintenance, in Unix seconds.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        if (m.state === 'finished' || m.scheduledStart === null) continue;
        body += sample(METRIC.maintenanceScheduledStart, labelPairs([[LABEL.statusPage, m.statusPage], [LABEL.maintenanceUuid, m.uuid]]), m.scheduledStart);
      }
      return body;
    });
    family(METRIC.maintenanceScheduledEnd, 'gauge', 'Scheduled end of an unfinished maintenance, in Unix seconds.', (page) => {
      let body = '';
      for (const m of page.maintenances) {
        if (m.state === 'finished' || m.scheduledEnd === null) continue;
        body += sample(METRIC.maintenanceScheduledEnd, labelPairs([[LABEL.statusPage, m.statusPage], [LABEL.maintenanceUuid, m.uuid]]), m.scheduledEnd);
      }
      return body;
    });
    family(METRIC.maintenanceDuration, 'histogram', 'Durations of finished maintenances, from start to finish, in seconds.', (page) => histogram(METRIC.maintenanceDuration, pageLabel(page), page.stats.maintenanceDuration));

    family(METRIC.webhookLastReceived, 'gauge', 'When the last event for a status page was committed, in Unix seconds.', (page) =>
      page.stats.lastReceivedAt === null ? '' : sample(METRIC.webhookLastReceived, pageLabel(page), page.stats.lastReceivedAt),
    );
    return out;
  }
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
