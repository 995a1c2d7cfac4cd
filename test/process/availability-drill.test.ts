import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir } from '../support/app.js';
import {
  DAY,
  KNOWN_IMPACTS,
  ledgerTimelines,
  randomHistory,
  referenceReport,
  referenceTouches,
  secondsIn,
  type LedgerOptions,
  type Policy,
  type RefEvent,
  type RefFigures,
  type RefStep,
  type RefTouch,
} from '../support/availability-reference.js';
import { seeded } from '../support/seeded.js';
import { shiftedClock, shiftToHour } from '../support/fake-clock.js';
import { chromiumTool, launchChromium } from '../support/chromium.js';
import type { BrowserContext } from 'playwright-core';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// A drill of GET /api/v1/availability (JSON and CSV), the landing page's bars and the impact
// counter of the built exporter (SQLite) against the reference calculator, which reads only the
// docs: two declared pages, one under the environment's policy and one under its own, declared
// components beside components learnt from webhooks, a short LEDGER_RETENTION_DAYS, events
// delivered out of created_at order with StatusMate's retries among them, a SIGTERM and a SIGKILL
// mid-history, then an operator's forget and a reload that drops a page and a component.
// AVAILABILITY_DRILL_SEEDS=21,22,… runs more seeds (a test knob, not the exporter's).

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const TOKEN = 'drill-token';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const SEEDS = (process.env.AVAILABILITY_DRILL_SEEDS ?? '21').split(',').map(Number);
/**
 * The drill's time, the exporter's and this file's alike: the real clock shifted to read noon
 * (UTC) at the start, so that no run spans a midnight, which would move the days it compares.
 */
const CLOCK = shiftedClock(shiftToHour(12));
const RETENTION_DAYS = 3;
const PAGES = ['sla', 'ops'] as const;
type PageId = (typeof PAGES)[number];
const pageIndex = (page: PageId) => PAGES.indexOf(page) + 1;
const componentUuid = (page: PageId, id: string) => `00000000-0000-4000-8${pageIndex(page)}00-${id.slice(1).padStart(12, '0')}`;
const objectUuid = (page: PageId, id: string) => `00000000-0000-4000-9${pageIndex(page)}${id[0] === 'i' ? '1' : '2'}0-${id.slice(1).padStart(12, '0')}`;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const dayText = (day: number) => iso(day * DAY).slice(0, 10);

/** docs/api.md "Policy": AVAILABILITY_WEIGHTS replaces the default's weights it names. */
const ENV_WEIGHTS = 'partial_outage=0.5,other=0.75';
const ENV_POLICY: Policy = { weights: { major_outage: 1, partial_outage: 0.5, degraded_performance: 0, other: 0.75 }, excludeMaintenance: true };
/** `ops`'s own `availability:`, merged over the environment's. */
const OPS_POLICY: Policy = {
  weights: { ...ENV_POLICY.weights, degraded_performance: 0.5, under_maintenance: 0.25, major_outage: 0.9 },
  excludeMaintenance: false,
};
const POLICIES: Record<PageId, Policy> = { sla: ENV_POLICY, ops: OPS_POLICY };
/** Declared components: c9 no webhook names; the other is named by the history too. */
const DECLARED: Record<PageId, string[]> = { sla: ['c2', 'c9'], ops: ['c1', 'c9'] };

function pagesFile(pages: Record<string, string[]>): string {
  const lines = ['status_pages:'];
  for (const [page, components] of Object.entries(pages)) {
    lines.push(`  - id: ${page}`, `    name: Page ${page}`);
    if (page === 'ops') {
      lines.push(
        '    availability:',
        '      weights: { degraded_performance: 0.5, under_maintenance: 0.25, major_outage: 0.9 }',
        '      exclude_maintenance: false',
      );
    }
    lines.push('    components:');
    for (const c of components) lines.push(`      - uuid: ${componentUuid(page as PageId, c)}`, `        name: Component ${c}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The webhook StatusMate would send for a reference event (its documented payload). */
function webhook(page: PageId, event: RefEvent, history: readonly RefEvent[], attempt: number): { meta: Record<string, unknown> } {
  if (event.kind === 'update') {
    return {
      meta: {
        type: 'component_impact_updated',
        uuid: componentUuid(page, event.component),
        title: `Component ${event.component}`,
        impact: event.impact,
        created_at: iso(event.at),
        delivery_attempt: attempt,
      },
    };
  }
  const affected = event.components.map((c) => (typeof c === 'string' ? { component: c, impact: 'under_maintenance' } : c));
  const created = history.find((e) => e.kind !== 'update' && e.id === event.id && e.kind.endsWith('_created'))!;
  return {
    meta: {
      type: event.kind,
      uuid: objectUuid(page, event.id),
      title: `Object ${event.id}`,
      created_at: iso(event.at),
      start_at: iso(created.at),
      end_at: event.kind.endsWith('_finished') ? iso(event.at) : null,
      delivery_attempt: attempt,
      affected_components: affected.map(({ component, impact }) => ({
        impact,
        component_details: { name: `Component ${component}`, impact, component_uuid: componentUuid(page, component) },
      })),
    },
  };
}

type Figures = { availability: number | null; known_seconds: number; excluded_seconds: number; down_seconds: number; seconds: Record<string, number> };
type TouchAnswer = { uuid: string; title: string; started_at: string | null; ended_at: string | null };
type Touches = { incidents: TouchAnswer[]; maintenances: TouchAnswer[] };
type ComponentAnswer = Figures & Touches & { uuid: string; name: string; known_since: string | null };
type PageAnswer = Figures &
  Touches & {
    id: string;
    name: string | null;
    policy: { weights: Record<string, number>; exclude_maintenance: boolean };
    components: ComponentAnswer[];
  };
type Report = { generated_at: string; from: string; to: string; period: { start: string; end: string }; status_pages: PageAnswer[] };

/** Differences found, each one line: the drill goes on past one to show them all. */
class Differences {
  readonly lines: string[] = [];
  /** What was compared, to show the drill did not pass by comparing nothing. */
  readonly counts = { reports: 0, components: 0, touches: 0, csvRows: 0, counters: 0, cells: 0 };
  near(actual: number | null | undefined, expected: number | null, tolerance: number, what: string): void {
    if (expected === null || actual === null || actual === undefined) {
      if (actual !== expected) this.lines.push(`${what}: ${actual} (expected ${expected})`);
      return;
    }
    if (!(Math.abs(actual - expected) <= tolerance)) this.lines.push(`${what}: ${actual} (expected ${expected})`);
  }
  same(actual: unknown, expected: unknown, what: string): void {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) this.lines.push(`${what}: ${JSON.stringify(actual)} (expected ${JSON.stringify(expected)})`);
  }
  note(line: string): void {
    this.lines.push(line);
  }
}

/**
 * docs/api.md: seconds to the millisecond; availability computed before that rounding. `slack`:
 * seconds a time the reference takes may be off by (a forget's log time is known to a few ms).
 */
function compareFigures(diffs: Differences, actual: Figures, expected: RefFigures, what: string, slack = 0): void {
  const tolerance = 0.0015 + slack;
  for (const slot of [...KNOWN_IMPACTS, 'other']) diffs.near(actual.seconds[slot], expected.seconds[slot]!, tolerance, `${what} seconds.${slot}`);
  diffs.near(actual.known_seconds, expected.known_seconds, tolerance, `${what} known_seconds`);
  diffs.near(actual.excluded_seconds, expected.excluded_seconds, tolerance, `${what} excluded_seconds`);
  diffs.near(actual.down_seconds, expected.down_seconds, tolerance, `${what} down_seconds`);
  const counted = expected.known_seconds - expected.excluded_seconds;
  diffs.near(actual.availability, expected.availability, 1e-9 + (slack * 2) / Math.max(counted, 1), `${what} availability`);
}

/** docs/api.md "CSV": RFC 4180 rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += ch;
  }
  if (field !== '' || row.length > 0) throw new Error(`CSV does not end with CRLF: ${JSON.stringify(text.slice(-40))}`);
  return rows;
}

/** docs/api.md "CSV": `incidents` and `maintenances` list the titles, separated by `; `, in the JSON's order. */
const titles = (list: TouchAnswer[]) => list.map((t) => t.title).join('; ');

const CSV_COLUMNS =
  'scope,status_page,component_uuid,component,from,to,availability_percent,known_seconds,excluded_seconds,down_seconds,operational_seconds,under_maintenance_seconds,degraded_performance_seconds,partial_outage_seconds,major_outage_seconds,other_seconds,incidents,maintenances';

/** docs/api.md: availability_percent is cut (never rounded up) to 4 decimals; empty without data. */
function compareCsvFigures(diffs: Differences, cells: Record<string, string>, json: Figures, what: string, slack: number): void {
  const percent = cells.availability_percent!;
  if (json.availability === null) diffs.same(percent, '', `${what} availability_percent`);
  else if (slack > 0) {
    // Asked after the JSON: the open intervals grew by up to `slack` seconds.
    const counted = json.known_seconds - json.excluded_seconds;
    diffs.near(Number(percent), json.availability * 100, 1e-4 + (200 * slack) / Math.max(counted, 1), `${what} availability_percent`);
  } else {
    const value = Number(percent);
    const exact = json.availability * 100;
    // Cut: at most the exact value (plus the float error of the product), less than a unit of the 4th place below it.
    if (!(value <= exact + 1e-9 && value > exact - 1e-4 - 1e-9) || !/^\d+(\.\d{1,4})?$/.test(percent)) {
      diffs.note(`${what} availability_percent ${percent} is not ${exact} cut to 4 decimals`);
    }
    if (json.availability < 1 && value >= 100) diffs.note(`${what} availability_percent reads 100 with downtime (${exact})`);
  }
  for (const key of ['known_seconds', 'excluded_seconds', 'down_seconds'] as const) diffs.near(Number(cells[key]), json[key], slack, `${what} ${key}`);
  for (const slot of [...KNOWN_IMPACTS, 'other']) diffs.near(Number(cells[`${slot}_seconds`]), json.seconds[slot]!, slack, `${what} ${slot}_seconds`);
}

type Drill = {
  url: () => string;
  history: Record<PageId, RefEvent[]>;
  /** What each page's ledger folded so far: its events, then forgets. */
  sent: Record<PageId, RefStep[]>;
  options: Record<PageId, LedgerOptions>;
  /** Pages the report lists. */
  listed: Record<PageId, boolean>;
  /** Components the report leaves out: declared only, then dropped from the file (their ledger is kept). */
  hidden: Record<PageId, Set<string>>;
  /** The policy each page is reported under: its own while the file declares it, else the environment's. */
  policy: Record<PageId, Policy>;
  /** Seconds the times the reference takes may be off by (a forget's log time). */
  slack: number;
  /** When the state or the status pages last changed (ms). */
  changedAt: number;
  diffs: Differences;
};

async function getReport(drill: Drill, query: string): Promise<{ status: number; json?: Report; text: string; type: string | null }> {
  const answer = await fetch(`${drill.url()}/api/v1/availability?${query}`, { headers: AUTH, signal: AbortSignal.timeout(10_000) });
  const text = await answer.text();
  return {
    status: answer.status,
    text,
    type: answer.headers.get('content-type'),
    json: answer.ok && !query.includes('format=csv') ? (JSON.parse(text) as Report) : undefined,
  };
}

/** Every range worth asking, by day numbers: the kept days, each day and the edges. */
function ranges(today: number): [number, number][] {
  const kept = today - RETENTION_DAYS;
  const out: [number, number][] = [[kept, today]];
  for (let day = kept - 1; day <= today; day += 1) out.push([day, day]);
  out.push([kept - 1, today - 1], [kept + 1, today]);
  return out;
}

async function compareReports(drill: Drill, what: string): Promise<void> {
  const { diffs } = drill;
  const today = Math.floor(CLOCK.now() / 1000 / DAY);
  for (const [from, to] of ranges(today)) {
    const span = to - from + 1;
    const query = `from=${dayText(from)}&to=${dayText(to)}`;
    const where = `${what}, ${dayText(from)}..${dayText(to)}`;
    const answer = await getReport(drill, query);
    if (span > RETENTION_DAYS + 1) {
      diffs.same(answer.status, 400, `${where}: a span of ${span} days`);
      continue;
    }
    if (answer.status !== 200 || !answer.json) {
      diffs.note(`${where}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
      continue;
    }
    const report = answer.json;
    diffs.counts.reports += 1;
    const now = Date.parse(report.generated_at) / 1000;
    const csv = await getReport(drill, `${query}&format=csv`);
    // A period ending now grew between the two answers (each is computed at its request).
    const csvSlack = to === today ? CLOCK.now() / 1000 - now + 0.002 : 0;
    diffs.same(csv.type, 'text/csv; charset=utf-8', `${where} CSV content type`);
    const rows = parseCsv(csv.text);
    diffs.same(rows[0]?.join(','), CSV_COLUMNS, `${where} CSV header`);
    const csvRows = rows.slice(1).map((cells) => Object.fromEntries(CSV_COLUMNS.split(',').map((name, i) => [name, cells[i] ?? ''])));
    let row = 0;
    const listedPages = PAGES.filter((page) => drill.listed[page]);
    diffs.same(
      report.status_pages.map((p) => p.id),
      listedPages.slice().sort(),
      `${where} pages`,
    );
    for (const page of report.status_pages) {
      const id = page.id as PageId;
      const policy = drill.policy[id];
      diffs.same(page.policy, { weights: policy.weights, exclude_maintenance: policy.excludeMaintenance }, `${where} ${id} policy`);
      const expected = referenceReport(drill.sent[id], now, from, to, policy, drill.options[id]);
      for (const hidden of drill.hidden[id]) expected.components.delete(hidden);
      const pageFigures = referenceReport(drill.sent[id], now, from, to, policy, {
        ...drill.options[id],
        declared: new Map([...drill.options[id].declared!].filter(([c]) => !drill.hidden[id].has(c))),
      }).page;
      compareFigures(diffs, page, drill.hidden[id].size === 0 ? expected.page : pageFigures, `${where} ${id}`, drill.slack);
      // The incidents and maintenances of the period, of the page and of each component they named.
      const touches = referenceTouches(drill.sent[id], from * DAY, Math.min((to + 1) * DAY, now), drill.options[id].keptFrom);
      const listed = (kind: RefTouch['kind'], component?: string) =>
        touches
          .filter((t) => t.kind === kind && (component === undefined || t.components.includes(component)))
          .map((t) => ({ uuid: objectUuid(id, t.id), title: `Object ${t.id}`, started_at: iso(t.start), ended_at: t.end === null ? null : iso(t.end) }))
          .sort((a, b) => a.uuid.localeCompare(b.uuid));
      const byUuid = (list: TouchAnswer[]) => list.slice().sort((a, b) => a.uuid.localeCompare(b.uuid));
      diffs.same(byUuid(page.incidents), listed('incident'), `${where} ${id} incidents`);
      diffs.same(byUuid(page.maintenances), listed('maintenance'), `${where} ${id} maintenances`);
      const uuids = new Map([...expected.components.keys()].map((c) => [componentUuid(id, c), c]));
      diffs.same(page.components.map((c) => c.uuid).sort(), [...uuids.keys()].sort(), `${where} ${id} components`);
      for (const component of page.components) {
        const ref = uuids.get(component.uuid);
        const figures = ref === undefined ? undefined : expected.components.get(ref);
        diffs.counts.components += 1;
        if (figures) {
          diffs.same(component.known_since, iso(figures.known_since), `${where} ${id}/${ref} known_since`);
          compareFigures(diffs, component, figures, `${where} ${id}/${ref}`, drill.slack);
          diffs.same(byUuid(component.incidents), listed('incident', ref), `${where} ${id}/${ref} incidents`);
          diffs.same(byUuid(component.maintenances), listed('maintenance', ref), `${where} ${id}/${ref} maintenances`);
          diffs.counts.touches += component.incidents.length + component.maintenances.length;
        }
        const cells = csvRows[row++];
        if (!cells || cells.scope !== 'component' || cells.component_uuid !== component.uuid) {
          diffs.note(`${where} CSV row ${row}: ${JSON.stringify(cells)} is not component ${component.uuid}`);
          continue;
        }
        diffs.same([cells.status_page, cells.from, cells.to, cells.component], [id, report.from, report.to, component.name], `${where} CSV ${id}/${ref} ids`);
        compareCsvFigures(diffs, cells, component, `${where} CSV ${id}/${ref}`, csvSlack);
        diffs.same([cells.incidents, cells.maintenances], [titles(component.incidents), titles(component.maintenances)], `${where} CSV ${id}/${ref} titles`);
      }
      const cells = csvRows[row++];
      if (!cells || cells.scope !== 'status_page' || cells.status_page !== id)
        diffs.note(`${where} CSV row ${row}: ${JSON.stringify(cells)} is not page ${id}`);
      else {
        diffs.same([cells.component_uuid, cells.component], ['', page.name ?? id], `${where} CSV page ${id} ids`);
        compareCsvFigures(diffs, cells, page, `${where} CSV page ${id}`, csvSlack * page.components.length);
        diffs.same([cells.incidents, cells.maintenances], [titles(page.incidents), titles(page.maintenances)], `${where} CSV page ${id} titles`);
      }
    }
    diffs.same(csvRows.length, row, `${where} CSV rows`);
    diffs.counts.csvRows += row;
  }
  // Ahead of today: 400 naming it.
  const ahead = await getReport(drill, `from=${dayText(today)}&to=${dayText(today + 1)}`);
  diffs.same(ahead.status, 400, `${what}: to after today`);
  if (!ahead.text.includes(`to (${dayText(today + 1)}) is after today`)) diffs.note(`${what}: to after today says ${ahead.text}`);
  // No parameters: the 30 days before today (docs/api.md), or what the ledger keeps.
  const plain = await getReport(drill, '');
  if (plain.status !== 200) diffs.note(`${what}: GET /api/v1/availability without parameters: HTTP ${plain.status} ${plain.text}`);
}

/** The counter: every impact's seconds since the component was first known (never pruned), the open one up to the scrape. */
async function compareCounter(drill: Drill, what: string): Promise<void> {
  const before = CLOCK.now() / 1000;
  const metrics = await (await fetch(`${drill.url()}/metrics`, { headers: AUTH })).text();
  const after = CLOCK.now() / 1000;
  for (const page of PAGES) {
    if (!drill.listed[page]) continue;
    const low = ledgerTimelines(drill.sent[page], before, drill.options[page]);
    const high = ledgerTimelines(drill.sent[page], after, drill.options[page]);
    for (const [component, segments] of low) {
      // docs/metrics.md: a component the file stops declaring loses its series with its records.
      if (drill.hidden[page].has(component)) continue;
      for (const [slot, seconds] of Object.entries(secondsIn(segments, -Infinity, Infinity))) {
        const labels = { status_page: page, component_uuid: componentUuid(page, component), impact: slot };
        const counted = sampleValue(metrics, 'statusmate_component_impact_seconds_total', labels);
        const most = secondsIn(high.get(component)!, -Infinity, Infinity)[slot]!;
        if (slot === 'other' && most === 0 && counted === undefined) continue;
        drill.diffs.counts.counters += 1;
        if (counted === undefined || counted < seconds - 0.002 - drill.slack || counted > most + 0.002 + drill.slack) {
          drill.diffs.note(`${what}: counter ${page}/${component} ${slot} = ${counted}, expected ${seconds}..${most}`);
        }
      }
    }
  }
}

/**
 * The counter against the report for the same component: a component first known within the kept
 * days has booked in the report over them (to today) every second the counter counted, impact by
 * impact; the open interval grows between the two reads, by at most the time between them.
 */
async function compareCounterWithReport(drill: Drill, what: string): Promise<void> {
  const today = Math.floor(CLOCK.now() / 1000 / DAY);
  const before = CLOCK.now() / 1000;
  const report = (await getReport(drill, `from=${dayText(today - RETENTION_DAYS)}&to=${dayText(today)}`)).json;
  const metrics = await (await fetch(`${drill.url()}/metrics`, { headers: AUTH })).text();
  const slack = CLOCK.now() / 1000 - before + 0.002;
  for (const page of report?.status_pages ?? []) {
    for (const component of page.components) {
      if (component.known_since === null || Date.parse(component.known_since) < (today - RETENTION_DAYS) * DAY * 1000) continue;
      for (const slot of [...KNOWN_IMPACTS, 'other']) {
        const counted =
          sampleValue(metrics, 'statusmate_component_impact_seconds_total', { status_page: page.id, component_uuid: component.uuid, impact: slot }) ?? 0;
        drill.diffs.counts.counters += 1;
        drill.diffs.near(counted, component.seconds[slot]!, slack, `${what}: counter of ${page.id}/${component.uuid} ${slot} against the report`);
      }
    }
  }
}

/** docs/api.md "GET /": a cell per UTC day, coloured by the day's worst impact, the day's availability in its title. */
const CELL_CLASSES: Record<string, string> = {
  operational: 'o',
  under_maintenance: 'm',
  degraded_performance: 'd',
  partial_outage: 'p',
  major_outage: 'x',
  other: 'u',
};
/** docs/metrics.md "Impact levels": an unknown impact has level -1, yet time in one is not operational. */
const WORST_ORDER = ['operational', 'other', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'];
const cut2 = (availability: number) => Math.floor(availability * 10_000 + 1e-6) / 100;

type LandingCell = { cls: string; day: string; label: string; colour?: string };
type LandingRow = { avail: string; cells: LandingCell[] };

/** The landing page's rows by component uuid, as served (HTML) or as headless Chromium shows them (DOM, styles applied). */
async function readLanding(drill: Drill, browser: BrowserContext | undefined): Promise<{ rendered: string | undefined; rows: Map<string, LandingRow> }> {
  if (browser) {
    const tab = await browser.newPage();
    try {
      await tab.goto(`${drill.url()}/?token=${TOKEN}`);
      const rendered = /Rendered ([^;]+);/.exec((await tab.textContent('footer')) ?? '')?.[1];
      // A string, run in the page: this project's TypeScript has no DOM types.
      const rows = await tab.evaluate<(LandingRow & { uuid: string })[]>(`[...document.querySelectorAll('tr[data-component]')].map((tr) => ({
        uuid: tr.getAttribute('data-component'),
        avail: tr.querySelector('td.avail')?.textContent ?? '',
        cells: [...tr.querySelectorAll('.bar i')].map((i) => {
          const [day, ...label] = (i.getAttribute('title') ?? '').split(': ');
          return { cls: i.className, day, label: label.join(': '), colour: getComputedStyle(i).backgroundColor };
        }),
      }))`);
      return { rendered, rows: new Map(rows.map(({ uuid, ...row }) => [uuid, row])) };
    } finally {
      await tab.close();
    }
  }
  const html = await (await fetch(`${drill.url()}/`, { headers: AUTH })).text();
  const rows = new Map<string, LandingRow>();
  for (const match of html.matchAll(/<tr data-component="([^"]+)">(.*?)<\/tr>/g)) {
    const cells = [...match[2]!.matchAll(/<i class="(\w+)" title="(\d{4}-\d{2}-\d{2}): ([^"]*)"><\/i>/g)].map((m) => ({
      cls: m[1]!,
      day: m[2]!,
      label: m[3]!.replace(/&#39;/g, "'"),
    }));
    rows.set(match[1]!, { avail: /<td class="avail">([^<]*)<\/td>/.exec(match[2]!)?.[1] ?? '', cells });
  }
  return { rendered: /<footer>Rendered ([^;]+);/.exec(html)?.[1], rows };
}

async function compareLanding(drill: Drill, what: string, browser?: BrowserContext): Promise<void> {
  const { diffs } = drill;
  // docs/api.md: a rendering is reused for up to 20 times its cost, at most 5 s, after the state
  // or the status pages changed: wait for one rendered after the last change.
  let landing = await readLanding(drill, browser);
  for (let tries = 0; tries < 40 && !(Date.parse(landing.rendered ?? '') >= drill.changedAt); tries += 1) {
    await sleep(250);
    landing = await readLanding(drill, browser);
  }
  const today = Math.floor(CLOCK.now() / 1000 / DAY);
  const dayReports = new Map<number, Report>();
  for (let day = today - RETENTION_DAYS - 2; day <= today; day += 1) {
    const answer = await getReport(drill, `from=${dayText(day)}&to=${dayText(day)}`);
    if (answer.json) dayReports.set(day, answer.json);
  }
  // The 30-day figure: over the last 30 days, which are the kept ones here.
  const kept = (await getReport(drill, `from=${dayText(today - RETENTION_DAYS)}&to=${dayText(today)}`)).json;
  const colours = new Map<string, string>();
  for (const page of PAGES) {
    if (!drill.listed[page]) continue;
    const inApi = dayReports.get(today)?.status_pages.find((p) => p.id === page)?.components ?? [];
    for (const component of inApi) {
      const row = landing.rows.get(component.uuid);
      if (!row) {
        diffs.note(`${what}: landing page has no row for ${page}/${component.uuid}`);
        continue;
      }
      const thirty = kept?.status_pages.find((p) => p.id === page)?.components.find((c) => c.uuid === component.uuid)?.availability;
      if (thirty === null || thirty === undefined) diffs.same(row.avail, 'no data', `${what}: landing ${page}/${component.uuid} 30 days`);
      else if (thirty >= 1) diffs.same(row.avail, '100 %', `${what}: landing ${page}/${component.uuid} 30 days`);
      // Rendered before the report was asked: the open interval may have moved the last place.
      else diffs.near(Number(row.avail.replace(' %', '')), cut2(thirty), 0.011, `${what}: landing ${page}/${component.uuid} 30 days (${row.avail})`);
      const { cells } = row;
      if (cells.length !== 90) diffs.note(`${what}: ${page}/${component.uuid} bar has ${cells.length} cells`);
      for (const cell of cells) {
        if (cell.colour !== undefined) {
          // What a browser shows: one colour per kind of day, a different one for each kind.
          const known = colours.get(cell.cls);
          if (known === undefined) colours.set(cell.cls, cell.colour);
          else diffs.same(cell.colour, known, `${what}: colour of a "${cell.cls}" cell`);
        }
        const day = Date.parse(`${cell.day}T00:00:00Z`) / 1000 / DAY;
        const report = dayReports
          .get(day)
          ?.status_pages.find((p) => p.id === page)
          ?.components.find((c) => c.uuid === component.uuid);
        let expectedClass = 'n';
        let expectedLabel = 'no data';
        if (!report && day >= today - RETENTION_DAYS - 2) diffs.note(`${what}: no report of ${cell.day} for ${page}/${component.uuid}`);
        if (report && report.known_seconds > 0) {
          const worst = [...WORST_ORDER].reverse().find((slot) => (report.seconds[slot] ?? 0) > 0) ?? 'operational';
          expectedClass = CELL_CLASSES[worst]!;
          const percent = report.availability === null ? 'no data' : report.availability >= 1 ? '100 %' : `${cut2(report.availability).toFixed(2)} %`;
          expectedLabel = `${percent}${worst === 'operational' ? '' : `, worst ${worst.replace(/_/g, ' ')}`}`;
        }
        const tag = `${what}: landing ${page}/${component.uuid} ${cell.day}`;
        diffs.counts.cells += 1;
        if (day === today) {
          // Rendered a few seconds before the API's report: the open interval may have grown since.
          diffs.same(cell.cls, expectedClass, `${tag} class`);
        } else diffs.same([cell.cls, cell.label], [expectedClass, expectedLabel], tag);
      }
    }
  }
  if (browser && new Set(colours.values()).size !== colours.size) diffs.note(`${what}: two kinds of day share a colour: ${JSON.stringify([...colours])}`);
}

/** `first`: the event's first arrival (applied, or stale when a later one of its object came first), else a duplicate. */
async function post(drill: Drill, page: PageId, event: RefEvent, attempt: number, first: boolean): Promise<void> {
  const answer = await postJson(`${drill.url()}/webhook?status_page=${page}`, webhook(page, event, drill.history[page], attempt), AUTH);
  const body = (await answer.json()) as { status?: string };
  drill.changedAt = CLOCK.now();
  if (answer.status !== 200 || (first && body.status !== 'applied' && body.status !== 'stale') || (!first && body.status !== 'duplicate')) {
    drill.diffs.note(`${page} ${JSON.stringify(event)} attempt ${attempt}: HTTP ${answer.status} ${JSON.stringify(body)}`);
  }
}

/**
 * The order events are delivered in: created_at order for those older than the kept days (a late
 * one of them is booked as it arrives: docs/metrics.md), and within them each event moved a few
 * places later at random, a StatusMate retry (delivery_attempt 1) of some now and then.
 */
function deliveries(seed: number, events: readonly RefEvent[], keptFrom: number): { event: RefEvent; attempt: number; first: boolean }[] {
  const next = seeded(seed);
  const order = events.slice();
  for (let i = order.length - 2; i >= 0; i -= 1) {
    if (order[i]!.at < keptFrom + 3600 || next() >= 0.35) continue;
    const j = Math.min(order.length - 1, i + 1 + Math.floor(next() * 3));
    const [moved] = order.splice(i, 1);
    order.splice(j, 0, moved!);
  }
  const out: { event: RefEvent; attempt: number; first: boolean }[] = [];
  const retries: { event: RefEvent; due: number }[] = [];
  for (const [i, event] of order.entries()) {
    // Now and then the first attempt was lost (a timeout): the first to arrive is a retry.
    out.push({ event, attempt: next() < 0.1 ? 1 + Math.floor(next() * 3) : 0, first: true });
    if (next() < 0.2) retries.push({ event, due: i + 1 + Math.floor(next() * 6) });
    for (const retry of retries.filter((r) => r.due === i)) out.push({ event: retry.event, attempt: 1 + Math.floor(next() * 3), first: false });
  }
  for (const retry of retries.filter((r) => r.due >= order.length)) out.push({ event: retry.event, attempt: 4, first: false });
  return out;
}

describe('a drill of the availability reports against the reference calculator', () => {
  for (const seed of SEEDS) {
    it(`agrees on seed ${seed}`, { timeout: 240_000 }, async () => {
      const nowAtStart = Math.floor(CLOCK.now() / 1000);
      const today = Math.floor(nowAtStart / DAY);
      const keptFrom = (today - RETENTION_DAYS) * DAY;
      const end = nowAtStart - 600;
      const shape = { components: 4, start: end - 6 * DAY + 7200, end, incidents: 9, maintenances: 4, updates: 24 };
      const history = { sla: randomHistory(seed, shape), ops: randomHistory(seed + 1000, shape) };
      const dir = tempDir();
      const file = join(dir, 'pages.yaml');
      writeFileSync(file, pagesFile(DECLARED));
      const env = {
        STORE: 'sqlite',
        SQLITE_PATH: join(dir, 'drill.db'),
        STATUS_PAGES_FILE: file,
        WEBHOOK_TOKEN: TOKEN,
        AVAILABILITY_WEIGHTS: ENV_WEIGHTS,
        AVAILABILITY_EXCLUDE_MAINTENANCE: 'true',
        LEDGER_RETENTION_DAYS: String(RETENTION_DAYS),
        ...CLOCK.env,
      };
      const diffs = new Differences();
      const drill: Drill = {
        url: () => running!.url,
        history,
        sent: { sla: [], ops: [] },
        options: { sla: { keptFrom, declared: new Map() }, ops: { keptFrom, declared: new Map() } },
        listed: { sla: true, ops: true },
        hidden: { sla: new Set(), ops: new Set() },
        policy: { ...POLICIES },
        slack: 0,
        changedAt: 0,
        diffs,
      };
      running = await startExporterProcess(env);
      // The declaration's time: its log time, which the report gives as a declared-only component's known_since.
      const first = await getReport(drill, `from=${dayText(today)}&to=${dayText(today)}`);
      for (const page of PAGES) {
        const c9 = first.json?.status_pages.find((p) => p.id === page)?.components.find((c) => c.uuid === componentUuid(page, 'c9'));
        const declaredAt = c9?.known_since ? Date.parse(c9.known_since) / 1000 : NaN;
        if (!(declaredAt >= nowAtStart - 1 && declaredAt <= CLOCK.now() / 1000)) diffs.note(`${page}: declared c9 known_since ${c9?.known_since}`);
        for (const c of DECLARED[page]) drill.options[page].declared = new Map([...drill.options[page].declared!, [c, declaredAt]]);
      }

      const plans = PAGES.map((page, p) => deliveries(seed * 7 + p, history[page], keptFrom).map((d) => ({ ...d, page })));
      // The two pages' deliveries interleaved.
      const all: { event: RefEvent; attempt: number; first: boolean; page: PageId }[] = [];
      for (let i = 0; i < Math.max(...plans.map((plan) => plan.length)); i += 1) for (const plan of plans) if (plan[i]) all.push(plan[i]!);
      // A reference folds a prefix of the history in created_at order: each phase ends at the first
      // delivery after its third where what was delivered is one (no event held back for later).
      const isPrefix = (until: number) =>
        PAGES.every((page) => {
          const delivered = new Set(
            all
              .slice(0, until)
              .filter((d) => d.page === page)
              .map((d) => d.event),
          );
          return history[page].slice(0, delivered.size).every((e) => delivered.has(e));
        });
      const cut = (from: number) => {
        let until = from;
        while (until < all.length && !isPrefix(until)) until += 1;
        return until;
      };
      // Restarts at a third and two thirds of the deliveries, events held back for later across
      // them; comparisons at the first delivery from there where what was delivered is a prefix.
      const restarts = new Map([
        [Math.floor(all.length / 3), 'SIGTERM' as const],
        [Math.floor((2 * all.length) / 3), 'SIGKILL' as const],
      ]);
      const checkpoints = new Set([...[...restarts.keys()].map(cut), all.length]);
      const compareAt = async (at: number, what: string) => {
        // The reference folds what was delivered, in created_at order.
        for (const page of PAGES) {
          const delivered = new Set(
            all
              .slice(0, at)
              .filter((d) => d.page === page)
              .map((d) => d.event),
          );
          drill.sent[page] = history[page].filter((e) => delivered.has(e));
        }
        await compareReports(drill, what);
        await compareCounter(drill, what);
        await compareCounterWithReport(drill, what);
      };
      for (let at = 0; at < all.length;) {
        const { event, attempt, first, page } = all[at]!;
        await post(drill, page, event, attempt, first);
        at += 1;
        if (checkpoints.has(at)) await compareAt(at, `seed ${seed}, after ${at} deliveries`);
        const signal = restarts.get(at);
        if (signal !== undefined) {
          await stopProcess(running, signal);
          running = await startExporterProcess(env);
          if (isPrefix(at)) await compareAt(at, `seed ${seed}, after ${at} deliveries and a ${signal}`);
        }
      }
      await compareLanding(drill, `seed ${seed}, at the end`);
      // Once in headless Chromium (the suite's, scripts off): what a person sees of the same bars.
      if (chromiumTool.path !== undefined) {
        const browser = await launchChromium();
        try {
          await compareLanding(drill, `seed ${seed}, at the end, in Chromium`, browser);
        } finally {
          await browser.close();
        }
      }

      // An operator's forget: an incident still going on (else the last one), and a component learnt from webhooks.
      const forgetAt = async (page: PageId, body: Record<string, string>, step: (at: number) => RefStep) => {
        const answer = await postJson(`${drill.url()}/-/forget`, { status_page: page, ...body }, AUTH);
        if (answer.status !== 200) diffs.note(`forget ${JSON.stringify(body)}: HTTP ${answer.status} ${await answer.text()}`);
        // Its log time: between the request and the answer; the reference takes the answer's second.
        drill.sent[page].push(step(CLOCK.now() / 1000));
        drill.changedAt = CLOCK.now();
      };
      const finished = new Set(history.sla.filter((e) => e.kind === 'incident_finished').map((e) => e.kind !== 'update' && e.id));
      const open = history.sla.find((e) => e.kind === 'incident_created' && !finished.has(e.id)) ?? history.sla.findLast((e) => e.kind === 'incident_created');
      if (open && open.kind !== 'update') {
        await forgetAt('sla', { incident_uuid: objectUuid('sla', open.id) }, (t) => ({ kind: 'forget_incident', at: t, id: open.id }));
      }
      await forgetAt('ops', { component_uuid: componentUuid('ops', 'c3') }, (t) => ({ kind: 'forget_component', at: t, component: 'c3' }));
      drill.slack = 0.05;
      await compareReports(drill, `seed ${seed}, forgotten`);
      await compareCounter(drill, `seed ${seed}, forgotten`);

      // A reload that drops the page ops and sla's declared-only c9: ops, which webhooks made, is
      // still listed, under the environment's policy; c9, which only the file made, is not.
      writeFileSync(file, pagesFile({ sla: ['c2'] }));
      const reload = await postJson(`${drill.url()}/-/reload`, undefined, AUTH);
      diffs.same(reload.status, 200, 'reload');
      drill.changedAt = CLOCK.now();
      drill.policy.ops = ENV_POLICY;
      drill.hidden = { sla: new Set(['c9']), ops: new Set(['c9']) };
      await compareReports(drill, `seed ${seed}, reloaded`);
      await compareLanding(drill, `seed ${seed}, reloaded`);
      // Declared again, it is listed as it was, from its first declaration.
      writeFileSync(file, pagesFile(DECLARED));
      diffs.same((await postJson(`${drill.url()}/-/reload`, undefined, AUTH)).status, 200, 'reload again');
      drill.changedAt = CLOCK.now();
      drill.policy.ops = OPS_POLICY;
      drill.hidden = { sla: new Set(), ops: new Set() };
      await compareReports(drill, `seed ${seed}, declared again`);
      await compareCounter(drill, `seed ${seed}, declared again`);
      await compareLanding(drill, `seed ${seed}, declared again`);
      if (process.env.AVAILABILITY_DRILL_OUT)
        writeFileSync(`${process.env.AVAILABILITY_DRILL_OUT}.${seed}`, [JSON.stringify(diffs.counts), ...diffs.lines].join('\n'));
      expect(diffs.lines).toEqual([]);
      expect(diffs.counts.reports).toBeGreaterThan(30);
      expect(diffs.counts.cells).toBeGreaterThan(1000);
    });
  }
});
