import type { StateView, StatusPageView } from '../api/state.js';
import { cutPercent, dayText, type DayCell } from '../domain/availability.js';
import { impactLevel, OPERATIONAL, UNKNOWN_IMPACT_LEVEL } from '../domain/impact.js';

// GET /: the landing page, rendered on the server from the same view as /api/v1/state. One
// self-contained document: styles inline, no script, no font or image from anywhere, so it reads
// the same with JavaScript off and behind any network policy. It refreshes itself.

export const REFRESH_SECONDS = 10;
const DOCS = 'https://github.com/statusmate-exporter/statusmate-exporter/blob/main/docs';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (char) => ESCAPES[char] as string);

/**
 * The colour of each impact, a variable of the style's, which gives it a light and a dark value
 * (the page follows the browser's colour scheme: the light ones drew under 4:1 on a dark canvas);
 * the word is always shown beside it.
 */
const IMPACT_COLOURS: Record<string, string> = {
  operational: 'var(--ok)',
  under_maintenance: 'var(--maintenance)',
  degraded_performance: 'var(--degraded)',
  partial_outage: 'var(--partial)',
  major_outage: 'var(--major)',
};

const words = (value: string) => value.replace(/_/g, ' ');

/**
 * A table's own entry for a key sent in a webhook: an impact may be any name, and
 * `constructor` must not find Object.prototype's (a function), which broke the page for good.
 */
const entryOf = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

/**
 * A span of whole seconds in words: "45 s", "12 min", then to two units, "1 h 5 min", "1 d 6 h",
 * each cut (never rounded up). One unit was too coarse: a 2-hour maintenance a day away read
 * "in 1 d to in 1 d", its start and end alike.
 */
export function duration(seconds: number): string {
  const span = Math.max(0, Math.floor(seconds));
  if (span < 60) return `${span} s`;
  if (span < 3600) return `${Math.floor(span / 60)} min`;
  const [big, bigUnit, small, smallUnit] =
    span < 86_400
      ? [Math.floor(span / 3600), 'h', Math.floor((span % 3600) / 60), 'min']
      : [Math.floor(span / 86_400), 'd', Math.floor((span % 86_400) / 3600), 'h'];
  return small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
}

/** "12 s ago", "5 min ago", "3 h 10 min ago", "2 d 4 h ago"; "in 4 h" for the future. */
export function relative(iso: string, now: number): string {
  const seconds = Math.round(now - Date.parse(iso) / 1000);
  const text = duration(Math.abs(seconds));
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/** A time as "… ago" or "in …", its exact instant in its title; `none` when there is no time. */
const when = (iso: string | null, now: number, none = '—') =>
  iso === null ? none : `<time datetime="${escapeHtml(iso)}" title="${escapeHtml(iso)}">${escapeHtml(relative(iso, now))}</time>`;

/**
 * A name or title a webhook or the status pages file gave: escaped, its control characters (a
 * NUL, an escape) shown as spaces as /metrics shows them, and isolated (<bdi>), so that a
 * right-to-left override in one name cannot reverse the words after it ("Incident: solved").
 */
const given = (value: string) => `<bdi>${escapeHtml(closeBidi(value.replace(/\p{Cc}/gu, ' ')))}</bdi>`;

/**
 * `value` with every bidi embedding, override and isolate it opens closed at its end (PDIs, then
 * PDFs; a closing character with nothing open is ignored). <bdi> alone did not hold them in
 * Chromium: an override followed by an isolate left open (`x\u202Eevil\u2066`) drew the words
 * after the <bdi> inside the name.
 */
function closeBidi(value: string): string {
  const isolates = value.match(/[\u2066-\u2068]/g)?.length ?? 0;
  const embeddings = value.match(/[\u202a-\u202e]/g)?.length ?? 0;
  return isolates + embeddings === 0 ? value : `${value}${'\u2069'.repeat(isolates)}${'\u202c'.repeat(embeddings)}`;
}

function impactBadge(impact: string): string {
  const colour = entryOf(IMPACT_COLOURS, impact) ?? 'var(--muted)';
  return `<span class="impact" style="--c:${colour}"><span class="dot" aria-hidden="true"></span>${escapeHtml(words(impact))}</span>`;
}

/**
 * How bad an impact is, for ordering: its level, with an impact StatusMate may add later (level
 * -1) ranked just above operational, since it is not known to be fine.
 */
const severity = (impact: string) => {
  const level = impactLevel(impact);
  return level === UNKNOWN_IMPACT_LEVEL ? 0.5 : level;
};

/** The worst impact of a page's components; operational for a page without components. */
const worstImpact = (page: StatusPageView) =>
  page.components.reduce<string>((worst, c) => (severity(c.impact) > severity(worst) ? c.impact : worst), OPERATIONAL);

const displayName = (page: StatusPageView) => page.name ?? page.id;
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Pages with the worst impact first, then by name (then id, which is unique). */
export function orderPages(pages: readonly StatusPageView[]): StatusPageView[] {
  return [...pages].sort((a, b) => severity(worstImpact(b)) - severity(worstImpact(a)) || byText(displayName(a), displayName(b)) || byText(a.id, b.id));
}

/** Components with the worst impact first, then by name: a page's trouble sits at the top of its card. */
const orderComponents = (components: StatusPageView['components']) =>
  [...components].sort((a, b) => severity(b.impact) - severity(a.impact) || byText(a.name, b.name) || byText(a.uuid, b.uuid));

/** How a count of components at an impact reads in the summary: "1 major outage", "2 degraded". */
const IMPACT_COUNT_WORDS: Record<string, [string, string]> = {
  major_outage: ['major outage', 'major outages'],
  partial_outage: ['partial outage', 'partial outages'],
  degraded_performance: ['degraded', 'degraded'],
  under_maintenance: ['under maintenance', 'under maintenance'],
};
const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

type MaintenanceView = StatusPageView['maintenances'][number];

/**
 * Why a maintenance is overdue at `now`, or undefined: its window ended and it is not finished,
 * or its start passed and it has not started.
 */
export function overdue(maintenance: MaintenanceView, now: number): string | undefined {
  const past = (iso: string | null) => iso !== null && Date.parse(iso) / 1000 < now;
  if (past(maintenance.scheduled_end_at)) return `scheduled to end ${relative(maintenance.scheduled_end_at as string, now)}, not finished`;
  if (maintenance.state === 'scheduled' && past(maintenance.scheduled_start_at))
    return `scheduled to start ${relative(maintenance.scheduled_start_at as string, now)}, not started`;
  return undefined;
}

/**
 * The line that opens the page: components not operational by impact (worst first), on how many
 * of the pages; active incidents; overdue maintenances.
 * "1 major outage, 1 partial outage on 2 of 4 pages; 1 active incident".
 */
export function summaryLine(view: StateView, now: number): string {
  const pages = view.status_pages;
  const counts = new Map<string, number>();
  let affected = 0;
  let components = 0;
  for (const page of pages) {
    let hit = false;
    for (const component of page.components) {
      components += 1;
      if (component.impact === OPERATIONAL) continue;
      counts.set(component.impact, (counts.get(component.impact) ?? 0) + 1);
      hit = true;
    }
    if (hit) affected += 1;
  }
  const impacts = [...counts.entries()]
    .sort(([a], [b]) => severity(b) - severity(a) || byText(a, b))
    .map(([impact, count]) => {
      const [one, many] = entryOf(IMPACT_COUNT_WORDS, impact) ?? [words(impact), words(impact)];
      return plural(count, one, many);
    });
  // A first start has nothing to count: "All 0 components operational on 0 pages" would read as
  // a verdict on pages that do not exist yet.
  const state =
    impacts.length > 0
      ? `${impacts.join(', ')} on ${affected} of ${plural(pages.length, 'page', 'pages')}`
      : pages.length === 0
        ? 'No status page yet'
        : components === 0
          ? `No component known yet on ${plural(pages.length, 'page', 'pages')}`
          : `All ${plural(components, 'component', 'components')} operational on ${plural(pages.length, 'page', 'pages')}`;
  const incidents = pages.reduce((sum, page) => sum + page.incidents.length, 0);
  const late = pages.reduce((sum, page) => sum + page.maintenances.filter((m) => overdue(m, now) !== undefined).length, 0);
  const parts = [state, incidents === 0 ? 'no active incident' : plural(incidents, 'active incident', 'active incidents')];
  if (late > 0) parts.push(plural(late, 'overdue maintenance', 'overdue maintenances'));
  return parts.join('; ');
}

/**
 * Active incidents and maintenances listed per page, and components named per incident: like
 * LANDING_COMPONENTS_PER_PAGE, what a person reads and a bound on the page's bytes (a thousand
 * incidents naming ten components each made a 4 MB page). The state API lists them all.
 */
export const LANDING_ITEMS_PER_LIST = 50;
export const LANDING_COMPONENTS_PER_INCIDENT = 10;
/**
 * What the whole document lists, pages in order (worst first), whatever MAX_STATUS_PAGES,
 * MAX_COMPONENTS and MAX_ACTIVE_INCIDENTS let in: the caps per page alone let 100 pages of 100
 * components and 1,000 incidents make a page of 25 MB. With names of 200 escaped characters, the
 * document stays under about 3.5 MB; with ordinary names, well under 1 MB.
 */
export const LANDING_PAGES = 100;
export const LANDING_COMPONENTS = 500;
export const LANDING_INCIDENTS = 100;
export const LANDING_MAINTENANCES = 100;

/** What the document may still list: counted down as the pages are rendered, in order. */
type Budget = { bars: number; components: number; incidents: number; maintenances: number };

/** A link to one page in the state API, which lists all of it. */
const stateLink = (page: StatusPageView, token: TokenQuery) =>
  `<a href="api/v1/state?status_page=${encodeURIComponent(page.id)}${token.and}">/api/v1/state?status_page=${escapeHtml(page.id)}</a>`;

/** "API (major outage), Website (partial outage)": an incident's components by name, with the impact it gave each. */
function incidentComponents(incident: StatusPageView['incidents'][number], names: ReadonlyMap<string, string | null>): string {
  if (incident.components.length === 0) return 'no component named';
  const shown = incident.components
    .slice(0, LANDING_COMPONENTS_PER_INCIDENT)
    .map((c) => `${given(names.get(c.uuid) ?? c.uuid)} (${c.impact === null ? 'impact not given' : impactBadge(c.impact)})`);
  const rest = incident.components.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${plural(rest, 'more component', 'more components')}` : shown.join(', ');
}

/**
 * A list cut at LANDING_ITEMS_PER_LIST and at what the document may still list (`left`, counted
 * down), with a line saying how many the state API has beyond it.
 */
function cutList<T>(
  items: readonly T[],
  item: (value: T) => string,
  what: [string, string],
  page: StatusPageView,
  token: TokenQuery,
  left: { budget: Budget; key: 'incidents' | 'maintenances'; total: number },
): string {
  const count = Math.min(items.length, LANDING_ITEMS_PER_LIST, left.budget[left.key]);
  left.budget[left.key] -= count;
  const rest = items.length - count;
  const name = rest === 1 ? what[0] : what[1];
  const more =
    rest === 0
      ? ''
      : count === 0
        ? `<p class="more">${rest} ${name} not listed: the page lists ${left.total} in all; all of them in ${stateLink(page, token)}</p>`
        : `<p class="more">… and ${rest} more ${name}: all of them in ${stateLink(page, token)}</p>`;
  return `${count > 0 ? `<ul>${items.slice(0, count).map(item).join('')}</ul>` : ''}${more}`;
}

/**
 * "window: start in 1 d 6 h, end in 1 d 8 h (2 h)": each end told by its own word, and the
 * length beside them, since a short window days away reads the same at both ends.
 */
function maintenanceWindow(m: MaintenanceView, now: number): string {
  const start = m.scheduled_start_at;
  const end = m.scheduled_end_at;
  if (start === null && end === null) return 'no window given';
  let length = '';
  if (start !== null && end !== null) {
    const seconds = (Date.parse(end) - Date.parse(start)) / 1000;
    length = seconds < 0 ? ' (ends before it starts)' : ` (${duration(seconds)})`;
  }
  return `window: start ${when(start, now, 'not given')}, end ${when(end, now, 'not given')}${length}`;
}

function maintenanceItem(m: MaintenanceView, now: number): string {
  const late = overdue(m, now);
  const window = maintenanceWindow(m, now);
  return late === undefined
    ? `<li><strong>${given(m.title)}</strong> — ${escapeHtml(words(m.state))}, ${window}</li>`
    : `<li class="overdue"><strong>${given(m.title)}</strong> — <strong class="warn">overdue</strong>: ${escapeHtml(words(m.state))}, ${escapeHtml(late)}; ${window}</li>`;
}

/** A component's history from the availability ledger: one cell per UTC day, oldest first, and its 30-day availability. */
export type ComponentHistory = { cells: DayCell[]; availability30: number | null };
/** Finds a component's history; undefined: none to show (no bars column at all when the caller has no ledger). */
export type HistoryOf = (statusPage: string, uuid: string) => ComponentHistory | undefined;

/** Days in a component's bar. */
export const BAR_DAYS = 90;
/**
 * Components with a bar, over the whole document (the first ones shown, pages in order): a bar
 * is about 3.7 KB (its cells, and its summary for screen readers), so this bounds what bars add
 * to the page at about 0.75 MB whatever the number of pages. The components past it still show
 * their 30-day availability.
 */
export const LANDING_BARS = 200;

/** The class of a day's cell, by its worst impact (n: no data). */
const CELL_CLASSES: Record<string, string> = {
  operational: 'o',
  under_maintenance: 'm',
  degraded_performance: 'd',
  partial_outage: 'p',
  major_outage: 'x',
  other: 'u',
};

/** "99.95 %": cut, never rounded up, so that a day with any downtime never reads 100 %. */
export function percent(availability: number | null): string {
  if (availability === null) return 'no data';
  if (availability >= 1) return '100 %';
  return `${cutPercent(availability, 2).toFixed(2)} %`;
}

function bar(history: ComponentHistory): string {
  const cells = history.cells
    .map((cell) => {
      const label = cell.worst === null ? 'no data' : `${percent(cell.availability)}${cell.worst === OPERATIONAL ? '' : `, worst ${words(cell.worst)}`}`;
      return `<i class="${cell.worst === null ? 'n' : (entryOf(CELL_CLASSES, cell.worst) ?? 'u')}" title="${dayText(cell.day)}: ${escapeHtml(label)}"></i>`;
    })
    .join('');
  return `<span class="bar" role="img" aria-label="${escapeHtml(barSummary(history.cells))}">${cells}</span>`;
}

/** Days a bar's summary names one by one, worst first: its bytes stay bounded whatever the history. */
export const BAR_SUMMARY_DAYS = 3;

/**
 * What a bar says to a screen reader, which reads neither colours nor the cells' titles inside an
 * image: the days counted by their worst impact, most common first, and the worst few days with
 * their availability. "last 90 days: 84 operational, 5 no data, 1 major outage; worst: 2026-11-03
 * 97.08 % (major outage)".
 */
export function barSummary(cells: readonly DayCell[]): string {
  const counts = new Map<string, number>();
  for (const cell of cells) {
    const kind = cell.worst === null ? 'no data' : words(cell.worst);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  // Ties by name, so that the same cells always read the same.
  const counted = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)).map(([kind, n]) => `${n} ${kind}`);
  const worst = cells
    .filter((cell) => cell.worst !== null && cell.worst !== OPERATIONAL)
    .sort((a, b) => (a.availability ?? 1) - (b.availability ?? 1) || a.day - b.day)
    .slice(0, BAR_SUMMARY_DAYS)
    .map((cell) => `${dayText(cell.day)}${cell.availability === null ? '' : ` ${percent(cell.availability)}`} (${words(cell.worst ?? '')})`);
  return `last ${cells.length} days: ${counted.join(', ')}${worst.length > 0 ? `; worst: ${worst.join(', ')}` : ''}`;
}

/**
 * Components shown per page, worst first: what a person reads, and a bound on the page's bytes
 * (10,000 components would be megabytes). The rest are counted, and the state API has them all.
 */
export const LANDING_COMPONENTS_PER_PAGE = 100;

function pageSection(page: StatusPageView, now: number, historyOf: HistoryOf | undefined, budget: Budget, token: TokenQuery): string {
  const title = page.name ?? page.id;
  const subtitle = [
    // A label a webhook named, isolated as a name is: an override in it reversed "learnt from webhooks".
    `label <code>${given(page.id)}</code>`,
    page.uuid ? `uuid <code>${escapeHtml(page.uuid)}</code>` : '',
    page.declared ? 'declared' : 'learnt from webhooks',
  ]
    .filter(Boolean)
    .join(' · ');
  const shown = Math.min(page.components.length, LANDING_COMPONENTS_PER_PAGE, budget.components);
  budget.components -= shown;
  const ordered = orderComponents(page.components);
  const rows = ordered
    .slice(0, shown)
    .map((c) => {
      const history = historyOf?.(page.id, c.uuid);
      let columns = '';
      if (historyOf) {
        const withBar = history !== undefined && budget.bars > 0;
        if (withBar) budget.bars -= 1;
        columns = `<td class="avail">${history ? percent(history.availability30) : 'no data'}</td><td>${withBar ? bar(history) : ''}</td>`;
      }
      return `<tr data-component="${escapeHtml(c.uuid)}"><td>${given(c.name)}</td><td>${impactBadge(c.impact)}</td>${columns}<td>${c.reported ? when(c.last_change_at, now) : `declared ${when(c.last_change_at, now)}, no webhook yet`}</td></tr>`;
    })
    .join('');
  const table =
    shown === 0
      ? ''
      : wide(
          `Components of ${escapeHtml(title.replace(/\p{Cc}/gu, ' '))}`,
          `<thead><tr><th scope="col">Component</th><th scope="col">Impact</th>${historyOf ? `<th scope="col">30 days</th><th scope="col">Last ${BAR_DAYS} days (UTC)</th>` : ''}<th scope="col">Last change</th></tr></thead><tbody>${rows}</tbody>`,
        );
  const components =
    page.components.length === 0
      ? '<p class="none">No components known yet: declare them in STATUS_PAGES_FILE, or wait for a webhook that names one.</p>'
      : `${table}${moreComponents(page, ordered.slice(shown), shown, token)}`;
  const names = new Map(page.components.map((c) => [c.uuid, c.name]));
  const incidents =
    page.incidents.length === 0
      ? '<p class="none">No active incident.</p>'
      : cutList(
          page.incidents,
          (i) =>
            `<li data-incident="${escapeHtml(i.uuid)}"><strong>${given(i.title)}</strong> — ${i.started_at === null ? 'start not given' : `started ${when(i.started_at, now)}`}; ${incidentComponents(i, names)}</li>`,
          ['active incident', 'active incidents'],
          page,
          token,
          { budget, key: 'incidents', total: LANDING_INCIDENTS },
        );
  const maintenances =
    page.maintenances.length === 0
      ? '<p class="none">No scheduled or running maintenance.</p>'
      : cutList(page.maintenances, (m) => maintenanceItem(m, now), ['maintenance', 'maintenances'], page, token, {
          budget,
          key: 'maintenances',
          total: LANDING_MAINTENANCES,
        });
  return `<section class="page" id="page-${escapeHtml(page.id)}">
<h2>${given(title)} ${impactBadge(worstImpact(page))}</h2>
<p class="sub">${subtitle}</p>
<p>Last webhook: ${page.last_received_at === null ? '<strong>none yet</strong>' : when(page.last_received_at, now)}</p>
${components}
<h3>Active incidents</h3>
${incidents}
<h3>Maintenances</h3>
${maintenances}
</section>`;
}

/**
 * The line under a table cut at LANDING_COMPONENTS_PER_PAGE or at LANDING_COMPONENTS: how many
 * more (`rest`, worst first), and how good they are at worst.
 */
function moreComponents(page: StatusPageView, rest: StatusPageView['components'], shown: number, token: TokenQuery): string {
  if (rest.length === 0) return '';
  const worst = `none worse than ${impactBadge(rest[0]?.impact ?? OPERATIONAL)}`;
  const name = rest.length === 1 ? 'component' : 'components';
  return shown === 0
    ? `<p class="more">${rest.length} ${name}, ${worst}, not listed: the page lists ${LANDING_COMPONENTS} in all; all of them in ${stateLink(page, token)}</p>`
    : `<p class="more">… and ${rest.length} more ${name}, ${worst}: all of them in ${stateLink(page, token)}</p>`;
}

/**
 * A table with its caption (its name for a screen reader's list of tables), in a region that
 * scrolls sideways on its own: at 320 px (1280 px zoomed to 400 %) a table wider than the screen
 * made the whole page scroll sideways and cut its last columns off. The region takes the keyboard
 * focus, so that it can be scrolled without a pointer.
 */
const wide = (caption: string, body: string) =>
  `<div class="wide" role="region" tabindex="0" aria-label="${caption}"><table><caption class="vh">${caption}</caption>${body}</table></div>`;

function deliveriesSection(view: StateView, now: number): string {
  if (view.recent_deliveries.length === 0) {
    return '<p class="none">No webhook received since start-up. Send one with <code>statusmate-exporter send</code> (see the README), or trigger a change in StatusMate.</p>';
  }
  const rows = view.recent_deliveries
    .map(
      (d) =>
        `<tr><td>${when(d.at, now)}</td><td>${d.status}</td><td>${escapeHtml(d.outcome)}</td><td>${escapeHtml(d.type)}</td><td>${escapeHtml(d.status_page ?? '—')}</td><td>${d.delivery_attempt ?? '—'}</td><td>${escapeHtml(d.error ?? '')}</td></tr>`,
    )
    .join('');
  return wide(
    'Recent deliveries',
    `<thead><tr>${['When', 'HTTP', 'Outcome', 'Type', 'Status page', 'Attempt', 'Error'].map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead><tbody>${rows}</tbody>`,
  );
}

function tokenSummary(view: StateView): string {
  const { exporter } = view;
  if (!exporter.webhook_token_required) {
    return '<strong class="warn">no token set: anyone who reaches the webhook port can change this state</strong>';
  }
  const parts = [exporter.all_pages_token ? 'WEBHOOK_TOKEN for every page' : 'no all-pages token'];
  if (exporter.page_tokens.length > 0) parts.push(`own tokens for ${exporter.page_tokens.map((id) => `<code>${escapeHtml(id)}</code>`).join(', ')}`);
  return `required (${parts.join('; ')})`;
}

const STYLE = `
:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.4;--ok:#1a7f37;--maintenance:#0969da;--degraded:#9a6700;--partial:#bc4c00;--major:#cf222e;--muted:#57606a}
@media (prefers-color-scheme:dark){:root{--ok:#3fb950;--maintenance:#58a6ff;--degraded:#d29922;--partial:#f0883e;--major:#f85149;--muted:#9198a1}}
body{margin:0 auto;max-width:72rem;padding:1rem 1.5rem}
header{border-bottom:1px solid #8884;margin-bottom:1rem}
h1{font-size:1.5rem;margin:.5rem 0}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1rem;margin:.5rem 0 1rem}
dt{font-weight:600}
dd{margin:0}
nav a{margin-right:1rem}
section.page{border:1px solid #8884;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
h2{margin:.3rem 0;font-size:1.25rem}
h3{font-size:1rem;margin:.8rem 0 .3rem}
.sub{margin:0;color:var(--muted);font-size:.9rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .6rem;border-bottom:1px solid #8883;vertical-align:top}
.impact{display:inline-flex;align-items:center;gap:.4rem;font-weight:600;color:var(--c);white-space:nowrap}
.dot{width:.8rem;height:.8rem;border-radius:50%;background:var(--c);display:inline-block;flex-shrink:0}
.wide{overflow-x:auto}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.none{color:var(--muted)}
.warn{color:var(--major)}
.summary{font-size:1.15rem;font-weight:600;margin:.2rem 0 .5rem}
.overview{list-style:none;padding:0;margin:0 0 .5rem;display:flex;flex-wrap:wrap;gap:.3rem 1.5rem}
h2 .impact{font-size:.9rem;margin-left:.5rem}
li.overdue{border-left:3px solid var(--major);padding-left:.4rem}
code{font-size:.9em}
/* A day's cell: its colour, and its height (the worse the day, the taller) for whoever cannot
   tell the colours apart; every colour 3:1 or more against both backgrounds, and a day without
   data an outline rather than a faint fill. */
.bar{display:flex;gap:1px;min-width:18rem;height:1.3rem;align-items:flex-end}
.bar i{flex:1;border-radius:1px;background:#1a7f37;height:40%}
.bar i.m{background:#0969da;height:55%}.bar i.d{background:#9a6700;height:70%}.bar i.p{background:#bc4c00;height:85%}.bar i.x{background:#cf222e;height:100%}.bar i.u{background:#8250df;height:100%}.bar i.n{background:none;box-shadow:inset 0 0 0 1px #767676}
td.avail{font-variant-numeric:tabular-nums;white-space:nowrap}
/* A name of 200 characters without a space wraps, rather than pushing the impact off-screen. */
td,li,h2,h3,dd,code,.sub,.more{overflow-wrap:anywhere}
footer{margin-top:2rem;color:var(--muted);font-size:.85rem}
`;

/** The whole landing page. `now` is Unix seconds, for the "… ago" texts. */
/**
 * What the page's links to the token-guarded views carry: the `?token=` the page was opened with
 * (the README's way to open it in a browser), or nothing. Without it each link answered 401.
 */
type TokenQuery = { only: string; and: string };

/**
 * `autoRefresh` false (`/?refresh=off`): no reload every REFRESH_SECONDS. Each reload moved the
 * keyboard focus back to the top of the document and made a screen reader start again, every
 * 10 s (WCAG 2.2.1 asks that such a limit can be turned off); the footer links to either way.
 */
export function renderLandingPage(view: StateView, now: number, historyOf?: HistoryOf, queryToken?: string, autoRefresh = true): string {
  const encoded = queryToken === undefined ? undefined : encodeURIComponent(queryToken);
  const token: TokenQuery = encoded === undefined ? { only: '', and: '' } : { only: `?token=${encoded}`, and: `&amp;token=${encoded}` };
  const budget: Budget = { bars: LANDING_BARS, components: LANDING_COMPONENTS, incidents: LANDING_INCIDENTS, maintenances: LANDING_MAINTENANCES };
  const ordered = orderPages(view.status_pages);
  const listed = ordered.slice(0, LANDING_PAGES);
  const unlisted = ordered.slice(LANDING_PAGES);
  const morePages =
    unlisted.length === 0
      ? ''
      : `… and ${plural(unlisted.length, 'more status page', 'more status pages')}, none worse than ${impactBadge(worstImpact(unlisted[0] as StatusPageView))}: all of them in <a href="api/v1/state${token.only}">/api/v1/state</a>`;
  // The links' fragments are percent-encoded: a browser decodes a fragment before it looks for
  // the id, so a learnt label holding "%25" (or "#", a space) reached no section.
  // Every page's worst impact in one line under the summary, so the first screen shows them all
  // however long the first page's card is.
  const overview =
    ordered.length === 0
      ? ''
      : `<ul class="overview">${listed.map((page) => `<li><a href="#${escapeHtml(encodeURIComponent(`page-${page.id}`))}">${given(displayName(page))}</a> ${impactBadge(worstImpact(page))}</li>`).join('')}${morePages === '' ? '' : `<li>${morePages}</li>`}</ul>`;
  const pages =
    view.status_pages.length === 0
      ? '<p class="none">No status page yet: declare one in STATUS_PAGES_FILE, or send a webhook.</p>'
      : `${listed.map((page) => pageSection(page, now, historyOf, budget, token)).join('\n')}${morePages === '' ? '' : `\n<p class="more">${morePages}</p>`}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${
  autoRefresh
    ? `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
`
    : ''
}<link rel="icon" href="data:,">
<title>statusmate-exporter</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>statusmate-exporter ${escapeHtml(view.exporter.version)}</h1>
<p class="summary" role="status">${escapeHtml(summaryLine(view, now))}</p>
${overview}
<dl>
<dt>Store</dt><dd>${escapeHtml(view.exporter.store)}${view.exporter.store === 'memory' ? ' (state is lost on restart)' : ''}</dd>
<dt>Webhook token</dt><dd>${tokenSummary(view)}</dd>
<dt>Status pages file</dt><dd>${view.exporter.status_pages_file === null ? 'not set (STATUS_PAGES_FILE)' : `<code>${escapeHtml(view.exporter.status_pages_file)}</code>`}</dd>
</dl>
<nav><a href="metrics">/metrics</a><a href="api/v1/state${token.only}">/api/v1/state</a><a href="api/v1/availability?format=csv${token.and}">availability (CSV, 30 days)</a><a href="${DOCS}/api.md">API docs</a><a href="${DOCS}/metrics.md">Metrics docs</a></nav>
</header>
<main>
${pages}
<h2>Recent deliveries</h2>
${deliveriesSection(view, now)}
</main>
<footer>Rendered ${escapeHtml(view.generated_at)}; ${
    autoRefresh
      ? `this page reloads itself every ${REFRESH_SECONDS} s (<a href="?refresh=off${token.and}">stop reloading</a>).`
      : `this page does not reload itself (<a href="./${token.only}">reload every ${REFRESH_SECONDS} s</a>).`
  }</footer>
</body>
</html>
`;
}
