import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { alertSnapshot } from '../../src/domain/alert-snapshot.js';
import { RESPONSE_BUCKETS, type StoredAlert } from '../../src/domain/alert-state.js';
import { PRUNE_WINDOW_SECONDS } from '../../src/log/fold-loop.js';
import { tempDir, type TestApp } from './app.js';
import { FEATURES, randomTimeline, T0, type Ref, type Timeline, type TimelineAlert, type TimelineEntry, type TimelineOptions } from './alert-timelines.js';
import { EXPIRY_WINDOW, type AlertsOracle } from './alerts-oracle.js';
import { samplesOf } from './core-drill.js';
import { seriesKey } from './core-oracle.js';
import { seeded } from './seeded.js';

// The pieces the drills of the alert series share (test/store/alerts-series-drill.test.ts on a
// memory store and a SQLite file, test/redis/alerts-series-drill.test.ts on replicas of one Redis
// log): a timeline of test/support/alert-timelines.ts sent to the real app as what the exporter
// receives (StatusMate's webhooks for the page's changes, Alertmanager's webhook for its
// notifications, the look at Alertmanager's alerts through the fold as held-alerts.ts appends it),
// and the alert series it serves on /metrics read against the oracle of docs/metrics.md
// (alerts-oracle.ts), as the domain drill reads the fold (test/domain/alerts-drill.test.ts).

export const HOOK_TOKEN = 'hook';
export const ALERTMANAGER_TOKEN = 'am-token';

/**
 * Added to a timeline's times on their way to the exporter: its log runs in 2032, ahead of the
 * real clock (Redis stamps the log with its own clock when that is ahead: holdLogClock), and a
 * whole number of days, so that the 10-minute windows of log time and the times' residues mod 4
 * the timelines choose (no ties) stay as they are.
 */
export const TIME_SHIFT = 3000 * 86_400;
// The fold loop expires alerts at the first entry of each window of its prune window, of log time
// (its default, as the exporter runs it): the oracle's windows ("every 10 minutes of log time").
if (EXPIRY_WINDOW !== PRUNE_WINDOW_SECONDS) throw new Error(`the oracle expires at windows of ${EXPIRY_WINDOW} s, the fold loop at ${PRUNE_WINDOW_SECONDS} s`);
if (TIME_SHIFT % EXPIRY_WINDOW !== 0 || TIME_SHIFT % 4 !== 0) throw new Error('TIME_SHIFT must keep the windows and the residues');

/**
 * The timeline as a seed delivers it: for half the seeds each entry is received at some
 * millisecond of its second (a log's times have milliseconds: a let-go's end, the log's windows
 * and a snapshot's time then are not whole seconds), never before the entry before it.
 */
export function deliveredTimeline(seed: number, options: TimelineOptions): Timeline {
  const timeline = randomTimeline(seed, options);
  const random = seeded(seed ^ 0x3e11e5);
  if (random() < 0.5) return timeline;
  let previous = Number.NEGATIVE_INFINITY;
  const entries = timeline.entries.map((entry) => {
    previous = Math.max(previous, entry.at + Math.floor(random() * 1000) / 1000);
    return { ...entry, at: previous };
  });
  return { ...timeline, entries };
}

/** The Date (ms) an entry is delivered at: its time, shifted. */
export const deliveredMs = (at: number) => Math.round((at + TIME_SHIFT) * 1000);

/** The timelines drilled: the domain drill's first part (plain) and each of its features. */
export const VARIANTS: Record<string, TimelineOptions> = { plain: {}, ...FEATURES };

/**
 * The variant of a seed: ALERTS_DRILL_VARIANT's (a name of VARIANTS) when set, else the seeds go
 * round them all; `episodes` per component (longer timelines) when given, else ALERTS_DRILL_EPISODES's when set.
 */
export function variantOf(seed: number, episodesOf?: number): [name: string, options: TimelineOptions] {
  const names = Object.keys(VARIANTS);
  const wanted = process.env.ALERTS_DRILL_VARIANT;
  if (wanted !== undefined && !(wanted in VARIANTS)) throw new Error(`ALERTS_DRILL_VARIANT=${wanted}: not one of ${names.join(', ')}`);
  const name = wanted ?? names[seed % names.length] ?? 'plain';
  const episodes = episodesOf ?? (process.env.ALERTS_DRILL_EPISODES === undefined ? undefined : Number(process.env.ALERTS_DRILL_EPISODES));
  return [name, { ...VARIANTS[name], ...(episodes === undefined ? {} : { episodes }) }];
}

/** A page no alert names, whose component's updates stand for the timeline's later declarations (see deliver()). */
const TICKS_PAGE = 'ticks';
const TICK_UUID = 'b0b0b0b0-0000-4000-8000-000000000001';

const iso = (seconds: number) => new Date((seconds + TIME_SHIFT) * 1000).toISOString();

/** The uuids, labels and fingerprints a timeline's names become on the wire. */
export class Naming {
  private readonly uuids = new Map<string, string>();
  readonly refs: readonly Ref[];

  constructor(timeline: Timeline) {
    const first = timeline.entries[0];
    if (first?.kind !== 'declare') throw new Error(`seed ${timeline.seed}: a timeline starts with its declaration`);
    this.refs = first.components;
    first.components.forEach((ref, index) => this.uuids.set(key(ref), `a1e70000-0000-4000-8000-${String(index + 1).padStart(12, '0')}`));
  }

  uuid(ref: Ref): string {
    const uuid = this.uuids.get(key(ref));
    if (uuid === undefined) throw new Error(`${key(ref)} is not declared`);
    return uuid;
  }

  /** The label an alert carries for each component it explains, which that component's alert_matchers select. */
  static label(ref: Ref): string {
    return `explains_${ref[0]}_${ref[1]}`.replace(/[^A-Za-z0-9_]/g, '_');
  }

  /** An incident's or maintenance's uuid (`i12`, `m3`). */
  static object(name: string): string {
    const serial = String(Number(name.slice(1))).padStart(12, '0');
    return name.startsWith('i') ? `1c1c1c1c-0000-4000-8000-${serial}` : `3a3a3a3a-0000-4000-8000-${serial}`;
  }

  /** Alertmanager's fingerprints are letters and digits. */
  static fingerprint(name: string): string {
    return name.replace(/[^A-Za-z0-9]/g, 'x');
  }
}

const key = (ref: Ref) => `${ref[0]}/${ref[1]}`;

/** The status pages file: each component's alert_matchers select the alerts that carry its label; the ticks page has none. */
export function alertsPagesFile(naming: Naming): string {
  const pages = new Map<string, { uuid: string; name: string; alert_matchers: string[] }[]>();
  for (const ref of naming.refs) {
    pages.set(ref[0], [...(pages.get(ref[0]) ?? []), { uuid: naming.uuid(ref), name: ref[1], alert_matchers: [`${Naming.label(ref)}="yes"`] }]);
  }
  const body = {
    status_pages: [...[...pages].map(([id, components]) => ({ id, components })), { id: TICKS_PAGE, components: [{ uuid: TICK_UUID, name: 'Tick' }] }],
  };
  const file = join(tempDir(), 'status-pages.json');
  writeFileSync(file, JSON.stringify(body));
  return file;
}

/** The options of an app of the drill (its store and snapshots aside). */
export const alertsAppOptions = (pagesFile: string) => ({ tokens: [HOOK_TOKEN], alertmanagerTokens: [ALERTMANAGER_TOKEN], statusPagesFile: pagesFile });

const postWebhook = (app: TestApp, body: unknown) =>
  request(app.main).post('/webhook').set('Authorization', `Bearer ${HOOK_TOKEN}`).set('Content-Type', 'application/json').send(JSON.stringify(body));

/** A version 4 payload as Alertmanager sends it: a firing alert's endsAt is the resolve time it was given, ahead. */
function alertmanagerPayload(entry: TimelineEntry & { kind: 'alerts' }): unknown {
  const firing = entry.alerts.some((alert) => alert.status === 'firing');
  return {
    version: '4',
    groupKey: '{}:{alertname="DrillAlert"}',
    truncatedAlerts: 0,
    status: firing ? 'firing' : 'resolved',
    receiver: 'statusmate',
    groupLabels: { alertname: 'DrillAlert' },
    commonLabels: { alertname: 'DrillAlert' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: entry.alerts.map((alert) => ({
      status: alert.status,
      labels: { alertname: 'DrillAlert', instance: alert.fingerprint, ...Object.fromEntries(alert.components.map((ref) => [Naming.label(ref), 'yes'])) },
      annotations: { summary: `${alert.fingerprint} fires` },
      startsAt: iso(alert.startsAt ?? entry.at),
      endsAt: alert.status === 'resolved' && alert.endsAt !== null ? iso(alert.endsAt) : iso(entry.at + 240),
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: Naming.fingerprint(alert.fingerprint),
    })),
  };
}

/** The exporter's look at Alertmanager's alerts letting go of held ones: resolved, no times, no components. */
const isLook = (alerts: readonly TimelineAlert[]) =>
  alerts.every((alert) => alert.status === 'resolved' && alert.startsAt === null && alert.components.length === 0);

/** Whether an entry may be delivered again: StatusMate's webhooks and Alertmanager's notifications are retried, the rest is not. */
export const retried = (entry: TimelineEntry) => entry.kind === 'page' || entry.kind === 'hold' || (entry.kind === 'alerts' && !isLook(entry.alerts));

/**
 * Sends one entry of the timeline to `app`, the fake clock at the entry's time; throws what the
 * exporter answered unless it took it. `attempt` > 0: a retry of one it took (StatusMate's
 * answered as a duplicate; Alertmanager's, which resends a notification whose answer it missed,
 * stored again, and telling nothing new). The first declaration is the app's start with the status
 * pages file; the later ones (a redeclaration at each reload, in the timeline, so that log time
 * goes on) append nothing on the real exporter, which knows the components: an update of the
 * ticks page stands for each, an entry at that time that changes no alert series.
 */
export async function deliver(app: TestApp, entry: TimelineEntry, naming: Naming, attempt = 0): Promise<void> {
  let res: request.Response;
  let taken: string[];
  if (entry.kind === 'declare') {
    res = await postWebhook(app, {
      text: 'tick',
      meta: { type: 'component_impact_updated', uuid: TICK_UUID, title: 'Tick', status_page: TICKS_PAGE, impact: 'operational', created_at: iso(entry.at) },
    });
    taken = ['applied'];
  } else if (entry.kind === 'page') {
    res = await postWebhook(app, {
      text: `${entry.ref[1]} is ${entry.impact}`,
      meta: {
        type: 'component_impact_updated',
        uuid: naming.uuid(entry.ref),
        title: entry.ref[1],
        status_page: entry.ref[0],
        impact: entry.impact,
        created_at: iso(entry.changedAt),
        delivery_attempt: attempt,
      },
    });
    taken = attempt === 0 ? ['applied'] : ['duplicate'];
  } else if (entry.kind === 'hold') {
    const finished = entry.type === 'incident_finished' || entry.type === 'maintenance_finished';
    res = await postWebhook(app, {
      text: entry.object,
      meta: {
        type: entry.type,
        uuid: Naming.object(entry.object),
        title: entry.object,
        status_page: entry.ref[0],
        created_at: iso(entry.changedAt),
        start_at: iso(entry.changedAt),
        end_at: finished ? iso(entry.changedAt) : null,
        delivery_attempt: attempt,
        affected_components: [
          { impact: entry.impact, component_details: { name: entry.ref[1], component_uuid: naming.uuid(entry.ref), impact: entry.impact } },
        ],
      },
    });
    taken = attempt === 0 ? ['applied'] : ['duplicate'];
  } else if (isLook(entry.alerts)) {
    // As src/alertmanager/held-alerts.ts appends it, through the fold.
    const alerts: StoredAlert[] = entry.alerts.map((alert) => ({
      fingerprint: Naming.fingerprint(alert.fingerprint),
      status: 'resolved',
      startsAt: null,
      endsAt: null,
      components: [],
    }));
    await app.fold.alerts(alerts);
    return;
  } else {
    res = await request(app.main)
      .post('/alertmanager')
      .set('Authorization', `Bearer ${ALERTMANAGER_TOKEN}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(alertmanagerPayload(entry)));
    taken = ['stored'];
  }
  const status = (res.body as { status?: unknown }).status;
  if (res.status !== 200 || !taken.includes(String(status))) {
    throw new Error(`${describeEntry(entry)}: answered ${res.status} ${res.text}`);
  }
}

/** The alert families (docs/metrics.md "Alerts measure the status page") whose samples are shared state. */
const ALERT_FAMILIES = new Set([
  'statusmate_component_alerts_firing',
  ...['statusmate_status_page_response_seconds', 'statusmate_status_page_recovery_lag_seconds'].flatMap((name) => [
    `${name}_bucket`,
    `${name}_sum`,
    `${name}_count`,
  ]),
  'statusmate_status_page_alerts_refused_total',
  'statusmate_status_page_alerts_expired_total',
]);

const MEASURES = { response: 'statusmate_status_page_response_seconds', recovery: 'statusmate_status_page_recovery_lag_seconds' } as const;

/** Every sample of the alert families an app serves now: what replicas of one log, or stores of one timeline, serve alike. */
export async function scrapeAlerts(app: TestApp): Promise<Map<string, number>> {
  const res = await request(app.main).get('/metrics').set('Authorization', `Bearer ${HOOK_TOKEN}`);
  return samplesOf(res.text, ALERT_FAMILIES);
}

/**
 * The samples the oracle speaks for: both histograms (buckets, sum, count) of each page that
 * observed something (a page has them at 0 from its first alert held: the domain drill, and the
 * oracle, leave those out).
 */
export function measured(samples: ReadonlyMap<string, number>): Map<string, number> {
  const observed = new Set<string>();
  for (const [series, value] of samples) {
    const match = /^statusmate_status_page_(?:response|recovery_lag)_seconds_count\{status_page="(.*)"\}$/.exec(series);
    if (match !== null && value > 0) observed.add(match[1] as string);
  }
  const out = new Map<string, number>();
  for (const [series, value] of samples) {
    const page = /status_page="((?:[^"\\]|\\.)*)"/.exec(series)?.[1];
    if (series.startsWith('statusmate_status_page_re') && series.includes('_seconds_') && page !== undefined && observed.has(page))
      out.set(series, toMs(value));
  }
  return out;
}

/**
 * To the millisecond: the log's times are (deliveredMs), and the oracle's and the exporter's
 * differences of them, taken at different magnitudes (the exporter's are shifted), differ past it.
 */
const toMs = (value: number) => Math.round(value * 1000) / 1000;

/** What the oracle's observations make of those samples. */
export function expectedOf(oracle: AlertsOracle): Map<string, number> {
  const out = new Map<string, number>();
  const pages = new Set(oracle.observations.map((o) => o.statusPage));
  for (const page of pages) {
    for (const [metric, name] of Object.entries(MEASURES)) {
      const values = oracle.observations.filter((o) => o.statusPage === page && o.metric === metric).map((o) => o.value);
      for (const bound of RESPONSE_BUCKETS)
        out.set(seriesKey(`${name}_bucket`, { status_page: page, le: String(bound) }), values.filter((v) => v <= bound).length);
      out.set(seriesKey(`${name}_bucket`, { status_page: page, le: '+Inf' }), values.length);
      out.set(seriesKey(`${name}_sum`, { status_page: page }), toMs(values.reduce((a, b) => a + b, 0)));
      out.set(seriesKey(`${name}_count`, { status_page: page }), values.length);
    }
  }
  return out;
}

/**
 * The alert state an app folded, as its snapshot holds it (every record, closed run and page
 * measure, sorted): what a restart restores, compared whole, since a field lost on the way may
 * change what is served only in a rare situation, long after.
 */
export const foldedAlerts = (app: TestApp): string => JSON.stringify(alertSnapshot(app.fold.state.alerts));

/** One entry, times from T0, for a failure's message. */
export function describeEntry(entry: TimelineEntry): string {
  const rel = (t: number | null) => (t === null ? '-' : String(t - T0));
  const when = `+${entry.at - T0}`;
  if (entry.kind === 'declare') return `${when} declare`;
  if (entry.kind === 'page') return `${when} ${entry.ref.join('/')} ${entry.impact} changed ${rel(entry.changedAt)}`;
  if (entry.kind === 'hold') return `${when} ${entry.ref.join('/')} ${entry.type} ${entry.object} ${entry.impact} at ${rel(entry.changedAt)}`;
  const alerts = entry.alerts.map(
    (a) => `${a.fingerprint} ${a.status} ${rel(a.startsAt)}..${rel(a.endsAt)} [${a.components.map((r) => r.join('/')).join(',')}]`,
  );
  return `${when} ${isLook(entry.alerts) ? 'look' : 'alerts'} ${alerts.join('; ')}`;
}

/** The oracle's last observations, times from T0, for a failure's message. */
export function lastObservations(oracle: AlertsOracle, count = 4): string {
  return JSON.stringify(oracle.observations.slice(-count).map((o) => ({ ...o, at: o.at - T0 })));
}
