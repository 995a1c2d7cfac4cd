import {
  availabilityOf,
  cutPercent,
  dayCells,
  dayOf,
  dayText,
  emptyUsage,
  firstReadDay,
  mergeUsage,
  policyFor,
  usageOf,
  type AvailabilityPolicy,
  type Usage,
} from '../domain/availability.js';
import type { DeclaredPage } from '../domain/inventory.js';
import { DAY_MS, incidentTouch, ledgerOf, LEDGER_SLOTS, maintenanceTouch, toMs, type LedgerTouch } from '../domain/ledger.js';
import { OPERATIONAL } from '../domain/impact.js';
import type { IncidentRecord, MaintenanceRecord, State } from '../domain/state.js';
import type { HistoryOf } from '../ui/landing.js';

// GET /api/v1/availability: the availability ledger as a report, per component and per status
// page, over whole UTC days, in JSON or CSV (a monthly SLA report). docs/api.md documents it.

/** Days a report covers by default (today and the 29 before). */
export const DEFAULT_DAYS = 30;

export type AvailabilityInput = {
  state: State;
  declared: readonly DeclaredPage[];
  policy: AvailabilityPolicy;
  /** The query string's parameters. */
  query: URLSearchParams;
  /** Seconds. */
  now: number;
  /** The most days one report may span: the days the ledger keeps (LEDGER_RETENTION_DAYS and today). */
  maxDays: number;
  /** The most bytes one answer takes (MAX_ANSWER_BYTES unless given). */
  maxBytes?: number;
};

/** The answer, as the pieces of its body (written one after the other, never joined into one copy). */
export type AvailabilityAnswer = { status: number; contentType: string; body: Buffer[] };

/**
 * The most bytes one answer takes. A report repeats each incident and maintenance under every
 * component it named, so its size follows the touches the ledger keeps, not the components alone:
 * at the default limits (10,000 components, touches weighing 100,000) it was 24 MB with titles of
 * 80 characters, and with titles and names of 200 control characters (JSON writes each in six
 * bytes) one report went past the heap the chart gives Node and ended the exporter (heap out of
 * memory). A report that would be larger is refused before it grows past this: the two answers
 * the read slots allow, and the one kept for the next same query, stay within about 50 MiB.
 */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const IMPACTS = [OPERATIONAL, ...LEDGER_SLOTS] as const;
const QUERY_KEYS = new Set(['status_page', 'from', 'to', 'format', 'token']);

type Touch = { uuid: string; title: string; started_at: string | null; ended_at: string | null };

/** What a report says of a component, and of a page over its components. */
type Accounting = {
  availability: number | null;
  known_seconds: number;
  excluded_seconds: number;
  down_seconds: number;
  seconds: Record<string, number>;
  incidents: Touch[];
  maintenances: Touch[];
};

type ComponentReport = Accounting & { uuid: string; name: string; known_since: string | null };

type PageReport = Accounting & {
  id: string;
  name: string | null;
  policy: { weights: Record<string, number>; exclude_maintenance: boolean };
  components: ComponentReport[];
};

const rfc3339 = (seconds: number) => new Date(Math.round(seconds * 1000)).toISOString();
const orNull = (seconds: number | null) => (seconds === null ? null : rfc3339(seconds));
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const round3 = (ms: number) => Math.round(ms) / 1000;

const jsonAnswer = (status: number, body: unknown): AvailabilityAnswer => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: [Buffer.from(JSON.stringify(body), 'utf8')],
});

function bad(problem: string): AvailabilityAnswer {
  return jsonAnswer(400, { error: `invalid query: ${problem}`, issues: [] });
}

export function availabilityAnswer(input: AvailabilityInput): AvailabilityAnswer {
  const { query } = input;
  for (const key of query.keys()) if (!QUERY_KEYS.has(key)) return bad(`unknown parameter ${JSON.stringify(key.slice(0, 40))} (status_page, from, to, format)`);
  for (const key of QUERY_KEYS) if (query.getAll(key).length > 1) return bad(`${key} is given more than once`);
  const format = query.get('format') ?? 'json';
  if (format !== 'json' && format !== 'csv') return bad(`format must be json or csv, not ${JSON.stringify(format.slice(0, 40))}`);
  const today = Math.floor(toMs(input.now) / DAY_MS);
  const toText = query.get('to');
  const fromText = query.get('from');
  const toDay = toText === null ? today : dayOf(toText);
  if (toDay === null) return bad(`to must be a date like 2026-11-30, not ${JSON.stringify(toText?.slice(0, 40))}`);
  // A day not begun yet has nothing known: a report up to it would read as "no data" for its days
  // (a range wholly ahead answered every component null), and a CSV row's `to` would claim a
  // period the report never covered. Refused as the other impossible ranges are.
  if (toDay > today) return bad(`to (${dayText(toDay)}) is after today (${dayText(today)}, UTC): give today or an earlier day`);
  // By default the last DEFAULT_DAYS days, or as many as the ledger keeps: a default the span
  // bound refused made the plain GET a 400 under a LEDGER_RETENTION_DAYS below 29.
  const fromDay = fromText === null ? toDay - (Math.min(DEFAULT_DAYS, input.maxDays) - 1) : dayOf(fromText);
  if (fromDay === null) return bad(`from must be a date like 2026-11-01, not ${JSON.stringify(fromText?.slice(0, 40))}`);
  if (fromDay > toDay) return bad(`from (${dayText(fromDay)}) is after to (${dayText(toDay)})`);
  if (toDay - fromDay + 1 > input.maxDays) return bad(`from..to spans ${toDay - fromDay + 1} days, more than the ${input.maxDays} days the ledger keeps`);
  const wanted = query.get('status_page');
  const declared = new Map(input.declared.map((page) => [page.id, page]));
  if (wanted !== null && !input.state.pages.has(wanted) && !declared.has(wanted)) {
    return jsonAnswer(404, { error: `no status page ${JSON.stringify(wanted.slice(0, 100))}`, issues: [] });
  }
  const report = availabilityReport({ ...input, retentionDays: input.maxDays - 1 }, fromDay, toDay, wanted);
  const body = new BoundedBody(input.maxBytes ?? MAX_ANSWER_BYTES);
  const whole = format === 'csv' ? writeCsv(report, body) : writeJson(report, body);
  if (!whole) {
    // Not "invalid query": the query is right, its answer too large. What narrows it is named.
    const narrower = [
      wanted === null ? 'one status page (status_page=<id>)' : undefined,
      'a shorter period (from, to)',
      format === 'json' ? 'format=csv' : undefined,
    ].filter((way) => way !== undefined);
    return jsonAnswer(400, {
      error: `report too large: more than the ${body.max} bytes one answer takes; ask for ${narrower.join(', or ')}`,
      issues: [],
    });
  }
  return { status: 200, contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8', body: body.pieces() };
}

/**
 * A body written in pieces that gives up as soon as it would pass `max` bytes: what a report too
 * large for one answer costs is the bound, not its size. Text is gathered into pieces of about
 * 64 KiB of UTF-8.
 */
class BoundedBody {
  private readonly done: Buffer[] = [];
  private pending: string[] = [];
  private pendingBytes = 0;
  private bytes = 0;

  constructor(readonly max: number) {}

  /** Adds `text`; false (and nothing added) when the body would pass `max`. */
  add(text: string): boolean {
    const size = Buffer.byteLength(text, 'utf8');
    if (this.bytes + size > this.max) return false;
    this.bytes += size;
    this.pending.push(text);
    this.pendingBytes += size;
    if (this.pendingBytes >= 65_536) this.flush();
    return true;
  }

  pieces(): Buffer[] {
    this.flush();
    return this.done;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.done.push(Buffer.from(this.pending.join(''), 'utf8'));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/**
 * The report as JSON.stringify writes it, an incident, a maintenance or a component at a time;
 * false past the body's bound. No piece is larger than one of them: a page lists every incident
 * and maintenance the ledger keeps for it (up to MAX_TOUCH_WEIGHT, each title up to 200
 * characters, a control character six bytes in JSON), so its list written as one text was up to
 * 130 MB, made whole before the bound could refuse it (heap out of memory under the chart's limit).
 */
function writeJson(report: AvailabilityReport, body: BoundedBody): boolean {
  // status_pages is the report's last key; incidents, maintenances and components a page's, and
  // incidents and maintenances a component's: each list is written after the rest, in this order.
  const { status_pages, ...head } = report;
  if (!body.add(`${JSON.stringify(head).slice(0, -1)},"status_pages":[`)) return false;
  for (const [p, page] of status_pages.entries()) {
    const { incidents, maintenances, components, ...rest } = page;
    if (!body.add(p === 0 ? '' : ',') || !writeLists(body, rest, { incidents, maintenances }, true)) return false;
    if (!body.add(',"components":[')) return false;
    for (const [c, component] of components.entries()) {
      const { incidents: its, maintenances: theirs, ...fields } = component;
      if (!body.add(c === 0 ? '' : ',') || !writeLists(body, fields, { incidents: its, maintenances: theirs }, false)) return false;
    }
    if (!body.add(']}')) return false;
  }
  return body.add(']}');
}

/** `{...fields,"key":[item,…],…}`, each item written on its own; left open (no `}`) with `open`. */
function writeLists(body: BoundedBody, fields: object, lists: Record<string, readonly unknown[]>, open: boolean): boolean {
  if (!body.add(JSON.stringify(fields).slice(0, -1))) return false;
  for (const [key, items] of Object.entries(lists)) {
    if (!body.add(`,${JSON.stringify(key)}:[`)) return false;
    for (const [i, item] of items.entries()) if (!body.add(`${i === 0 ? '' : ','}${JSON.stringify(item)}`)) return false;
    if (!body.add(']')) return false;
  }
  return open || body.add('}');
}

export type AvailabilityReport = {
  generated_at: string;
  from: string;
  to: string;
  /**
   * The oldest day the ledger can report: a day before it is no data (LEDGER_RETENTION_DAYS, or
   * later once LEDGER_MAX_DAY_ROWS forgot more), so a `from` before it asks for part of the period
   * unknown. Without it, a client could not tell a component known for part of the period from days
   * the ledger no longer holds.
   */
  kept_from: string;
  period: { start: string; end: string };
  status_pages: PageReport[];
};

/** The report over the days [fromDay, toDay] (inclusive), for one page or all. */
export function availabilityReport(
  input: Omit<AvailabilityInput, 'query' | 'maxDays' | 'maxBytes'> & {
    /** LEDGER_RETENTION_DAYS: days before it are not read, pruned yet or not (firstReadDay); undefined: the ledger's kept days. */
    retentionDays?: number;
  },
  fromDay: number,
  toDay: number,
  only: string | null,
): AvailabilityReport {
  const nowMs = toMs(input.now);
  const readFrom = firstReadDay(input.state.ledger.keptFromDay, nowMs, input.retentionDays);
  const startMs = fromDay * DAY_MS;
  const endMs = Math.min((toDay + 1) * DAY_MS, Math.max(startMs, nowMs));
  const declared = new Map(input.declared.map((page) => [page.id, page]));
  const ids = [...new Set([...input.state.pages.keys(), ...declared.keys()])].filter((id) => only === null || id === only).sort(byText);
  const { ledger } = input.state;
  const status_pages = ids.map((id): PageReport => {
    const page = input.state.pages.get(id);
    const info = declared.get(id);
    const policy = policyFor(input.policy, info?.availability);
    const pageUsage = emptyUsage();
    const touches = touchesOf(ledger.touches.get(id), page?.incidents, page?.maintenances, startMs, endMs, readFrom * DAY_MS);
    const declaredNames = new Map(info?.components.map((c) => [c.uuid, c.name]));
    const componentIds = new Set([...(page?.components.keys() ?? []), ...declaredNames.keys()]);
    const components = [...componentIds].map((uuid): ComponentReport => {
      const record = page?.components.get(uuid);
      const entry = ledgerOf(ledger, id, uuid);
      const usage = entry ? usageOf(entry, readFrom, fromDay, toDay, Math.min(nowMs, endMs), policy) : emptyUsage();
      mergeUsage(pageUsage, usage);
      return {
        uuid,
        name: record?.name ?? declaredNames.get(uuid) ?? uuid,
        known_since: entry ? rfc3339(entry.sinceMs / 1000) : null,
        ...figures(usage),
        incidents: touches.incidents.get(uuid) ?? [],
        maintenances: touches.maintenances.get(uuid) ?? [],
      };
    });
    components.sort((a, b) => byText(a.name, b.name) || byText(a.uuid, b.uuid));
    return {
      id,
      name: info?.name ?? null,
      policy: { weights: { ...policy.weights }, exclude_maintenance: policy.excludeMaintenance },
      ...figures(pageUsage),
      incidents: touches.allIncidents,
      maintenances: touches.allMaintenances,
      components,
    };
  });
  return {
    generated_at: rfc3339(input.now),
    from: dayText(fromDay),
    to: dayText(toDay),
    kept_from: dayText(readFrom),
    period: { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() },
    status_pages,
  };
}

function figures(usage: Usage) {
  const seconds: Record<string, number> = {};
  for (const impact of IMPACTS) seconds[impact] = round3(usage.byImpact[impact] ?? 0);
  return {
    availability: availabilityOf(usage),
    known_seconds: round3(usage.known),
    excluded_seconds: round3(usage.excluded),
    down_seconds: round3(usage.down),
    seconds,
  };
}

/**
 * The incidents and the started maintenances whose time overlaps [startMs, endMs), per component
 * and in all, but for those that ended before `readFromMs` (the first day read): the ledger forgets
 * them when it prunes that day, which it may not have done yet, and the state remembers finished
 * ones for FINISHED_RETENTION_SECONDS, which may be longer than LEDGER_RETENTION_DAYS.
 */
function touchesOf(
  kept: ReadonlyMap<string, LedgerTouch> | undefined,
  incidents: Map<string, IncidentRecord> | undefined,
  maintenances: Map<string, MaintenanceRecord> | undefined,
  startMs: number,
  endMs: number,
  readFromMs: number,
) {
  // The ledger's touches (kept with the days), and any incident or maintenance the state still
  // remembers that the ledger lacks (one folded before the ledger existed).
  const all = new Map<string, LedgerTouch>();
  for (const i of incidents?.values() ?? []) {
    const touch = incidentTouch(i);
    if (touch) all.set(`incident:${i.uuid}`, touch);
  }
  for (const m of maintenances?.values() ?? []) {
    const touch = maintenanceTouch(m);
    if (touch) all.set(`maintenance:${m.uuid}`, touch);
  }
  for (const [key, touch] of kept ?? []) all.set(key, touch);
  // Overlapping the period [from, endMs) read: an end exactly at its start has no time in it (a
  // maintenance ending at 00:00 is the day before's), but one of no length at all (created and
  // finished in one second) belongs to the period it happened in.
  const from = Math.max(startMs, readFromMs);
  const overlapping = [...all.values()]
    .filter((t) => t.start !== null && toMs(t.start) < endMs && (t.end === null || toMs(t.end) > from || (toMs(t.end) === from && toMs(t.start) >= from)))
    .sort((a, b) => (a.start ?? 0) - (b.start ?? 0) || byText(a.uuid, b.uuid));
  const listed = (kind: LedgerTouch['kind']) =>
    overlapping
      .filter((t) => t.kind === kind)
      .map((t) => ({ touch: { uuid: t.uuid, title: t.title, started_at: orNull(t.start), ended_at: orNull(t.end) }, components: t.components }));
  const byComponent = (records: { touch: Touch; components: readonly string[] }[]) => {
    const out = new Map<string, Touch[]>();
    // Appended in place: a copy per touch was quadratic in a component's touches (50,000 touches
    // of one component copied 1.25 billion entries: about a minute of the event loop).
    for (const { touch, components } of records) {
      for (const uuid of components) {
        const list = out.get(uuid);
        if (list) list.push(touch);
        else out.set(uuid, [touch]);
      }
    }
    return out;
  };
  const incidentList = listed('incident');
  const maintenanceList = listed('maintenance');
  return {
    incidents: byComponent(incidentList),
    maintenances: byComponent(maintenanceList),
    allIncidents: incidentList.map((i) => i.touch),
    allMaintenances: maintenanceList.map((m) => m.touch),
  };
}

// ---- the landing page's bars --------------------------------------------------------------

/**
 * What the landing page shows of each component's ledger: BAR_DAYS cells (the last of them today)
 * and the availability over the last DEFAULT_DAYS days, under its page's policy. Computed only for
 * the components the page shows.
 */
export function historyFinder(
  state: State,
  declared: readonly DeclaredPage[],
  policy: AvailabilityPolicy,
  now: number,
  barDays: number,
  retentionDays?: number,
): HistoryOf {
  const nowMs = toMs(now);
  const today = Math.floor(nowMs / DAY_MS);
  const readFrom = firstReadDay(state.ledger.keptFromDay, nowMs, retentionDays);
  const policies = new Map(declared.map((page) => [page.id, policyFor(policy, page.availability)]));
  return (statusPage, uuid) => {
    const entry = ledgerOf(state.ledger, statusPage, uuid);
    if (!entry) return undefined;
    const pagePolicy = policies.get(statusPage) ?? policy;
    return {
      cells: dayCells(entry, readFrom, today - barDays + 1, today, nowMs, pagePolicy),
      availability30: availabilityOf(usageOf(entry, readFrom, today - DEFAULT_DAYS + 1, today, nowMs, pagePolicy)),
    };
  };
}

// ---- CSV ----------------------------------------------------------------------------------

export const CSV_HEADER = [
  'scope',
  'status_page',
  'component_uuid',
  'component',
  'from',
  'to',
  'availability_percent',
  'known_seconds',
  'excluded_seconds',
  'down_seconds',
  ...IMPACTS.map((impact) => `${impact}_seconds`),
  'incidents',
  'maintenances',
];

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; a leading =+-@ is neutralised for spreadsheets. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The report as CSV, a row at a time (a row's incidents and maintenances a title at a time); false
 * past the body's bound. A page's row names every incident and maintenance the report lists for
 * it, up to MAX_TOUCH_WEIGHT titles: joined into one field first, it was up to 80 MB before the
 * bound could refuse it.
 */
function writeCsv(report: AvailabilityReport, body: BoundedBody): boolean {
  if (!body.add(`${CSV_HEADER.join(',')}\r\n`)) return false;
  const row = (scope: string, page: PageReport, what: ComponentReport | PageReport, uuid: string, name: string) =>
    body.add(
      [
        scope,
        page.id,
        uuid,
        name,
        report.from,
        report.to,
        what.availability === null ? null : cutPercent(what.availability, 4),
        what.known_seconds,
        what.excluded_seconds,
        what.down_seconds,
        ...IMPACTS.map((impact) => what.seconds[impact] ?? 0),
      ]
        .map(csvField)
        .join(','),
    ) &&
    body.add(',') &&
    titlesField(body, what.incidents) &&
    body.add(',') &&
    titlesField(body, what.maintenances) &&
    body.add('\r\n');
  for (const page of report.status_pages) {
    for (const component of page.components) if (!row('component', page, component, component.uuid, component.name)) return false;
    if (!row('status_page', page, page, '', page.name ?? page.id)) return false;
  }
  return true;
}

/** csvField of the touches' titles joined by "; ", written a title at a time. */
function titlesField(body: BoundedBody, touches: readonly Touch[]): boolean {
  const separator = '; ';
  // What csvField decides from the joined text: its first character, and whether it needs quotes.
  const first = touches.length === 0 ? '' : (touches[0] as Touch).title.length > 0 ? (touches[0] as Touch).title : touches.length > 1 ? separator : '';
  const neutralise = /^[=+\-@\t\r]/.test(first);
  const quote = touches.some((touch) => /[",\r\n]/.test(touch.title));
  if (!body.add(`${quote ? '"' : ''}${neutralise ? "'" : ''}`)) return false;
  for (const [i, touch] of touches.entries()) {
    if (!body.add(`${i === 0 ? '' : separator}${quote ? touch.title.replace(/"/g, '""') : touch.title}`)) return false;
  }
  return body.add(quote ? '"' : '');
}
