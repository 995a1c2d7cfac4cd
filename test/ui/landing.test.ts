import { describe, expect, it } from 'vitest';
import {
  barSummary,
  BAR_SUMMARY_DAYS,
  LANDING_COMPONENTS,
  LANDING_COMPONENTS_PER_INCIDENT,
  LANDING_INCIDENTS,
  LANDING_PAGES,
  LANDING_COMPONENTS_PER_PAGE,
  LANDING_ITEMS_PER_LIST,
  orderPages,
  overdue,
  renderLandingPage,
  summaryLine,
} from '../../src/ui/landing.js';
import { fourPages, NOW, text } from './landing-view.js';

describe('the landing page summary', () => {
  it('opens with the impacts worst first, on how many pages, and the active incidents', () => {
    expect(summaryLine(fourPages(), NOW)).toBe('1 major outage, 1 partial outage on 2 of 4 pages; 1 active incident');
  });

  it('counts overdue maintenances too', () => {
    expect(summaryLine(fourPages({ overdueMaintenance: true }), NOW)).toBe(
      '1 major outage, 1 partial outage on 2 of 4 pages; 1 active incident; 2 overdue maintenances',
    );
  });

  it('says all is operational when it is', () => {
    const view = fourPages();
    for (const page of view.status_pages) {
      page.incidents = [];
      for (const component of page.components) component.impact = 'operational';
    }
    expect(summaryLine(view, NOW)).toBe('All 25 components operational on 4 pages; no active incident');
  });

  it('says there is nothing yet on a first start, rather than counting 0 components operational on 0 pages', () => {
    const view = fourPages();
    view.status_pages = [];
    expect(summaryLine(view, NOW)).toBe('No status page yet; no active incident');
    const learnt = fourPages();
    learnt.status_pages = learnt.status_pages.slice(0, 2).map((page) => ({ ...page, components: [], incidents: [], maintenances: [] }));
    expect(summaryLine(learnt, NOW)).toBe('No component known yet on 2 pages; no active incident');
  });

  it('comes before the status pages in the document', () => {
    const html = renderLandingPage(fourPages(), NOW);
    expect(html.indexOf('class="summary"')).toBeGreaterThan(0);
    expect(html.indexOf('class="summary"')).toBeLessThan(html.indexOf('<section class="page"'));
  });
});

describe('the landing page order', () => {
  it('puts the page with the worst impact first, then the others by name, not by label', () => {
    expect(orderPages(fourPages().status_pages).map((page) => page.id)).toEqual(['zeta', 'payments', 'alpha', 'blog']);
  });

  it('lists the worst component first within its page', () => {
    const html = renderLandingPage(fourPages(), NOW);
    const zeta = html.slice(html.indexOf('id="page-zeta"'));
    expect(text(zeta.slice(zeta.indexOf('<tbody>'))).trim()).toMatch(/^Checkout major outage 1 min ago Zeta service 1 operational/);
  });
});

describe('incidents and maintenances on the landing page', () => {
  it('names each component of an incident with the impact the incident gave it', () => {
    expect(text(renderLandingPage(fourPages(), NOW))).toContain(
      'Card payments failing — started 10 min ago ; Card processing ( partial outage ), Payouts (impact not given)',
    );
  });

  it('marks a maintenance whose end has passed, or whose start passed before it started, as overdue, and no other', () => {
    const [late, notStarted, future] = fourPages({ overdueMaintenance: true }).status_pages.find((page) => page.id === 'blog')?.maintenances ?? [];
    expect(late && overdue(late, NOW)).toBe('scheduled to end 2 h ago, not finished');
    expect(notStarted && overdue(notStarted, NOW)).toBe('scheduled to start 30 min ago, not started');
    expect(future && overdue(future, NOW)).toBeUndefined();
    const html = text(renderLandingPage(fourPages({ overdueMaintenance: true }), NOW));
    expect(html).toContain('Database upgrade — overdue : in progress, scheduled to end 2 h ago, not finished');
    expect(html).toContain('Next week — scheduled, window: start in 7 d , end in 7 d 1 h (1 h)');
  });
});

describe('the landing page size', () => {
  it('shows the worst components of a page up to a cap, counts the rest and links to all of them, so 10,000 components stay small', () => {
    const view = fourPages();
    const page = view.status_pages[0];
    if (!page) throw new Error('no page');
    const template = page.components[0];
    if (!template) throw new Error('no component');
    page.components = Array.from({ length: 10_000 }, (_, n) => ({
      ...template,
      uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      name: `Component ${String(n).padStart(5, '0')}`,
      impact: n === 9_999 ? 'major_outage' : 'operational',
    }));
    const html = renderLandingPage(view, NOW);
    const rows = html.match(/<tr data-component=/g) ?? [];
    const otherRows = view.status_pages.slice(1).reduce((sum, p) => sum + Math.min(p.components.length, LANDING_COMPONENTS_PER_PAGE), 0);
    expect(rows.length).toBe(LANDING_COMPONENTS_PER_PAGE + otherRows);
    // The one outage of the 10,000 is among those shown: worst first.
    expect(html).toContain('Component 09999');
    expect(text(html)).toContain(`… and ${10_000 - LANDING_COMPONENTS_PER_PAGE} more components, none worse than`);
    expect(html).toContain(`/api/v1/state?status_page=${page.id}`);
    expect(html.length).toBeLessThan(200_000);
  });

  it("lists active incidents and maintenances up to a cap, and names an incident's components up to a cap, so 1,000 fat incidents stay small", () => {
    const view = fourPages({ overdueMaintenance: true });
    const page = view.status_pages.find((p) => p.incidents.length > 0);
    const incident = page?.incidents[0];
    const maintenance = view.status_pages.flatMap((p) => p.maintenances)[0];
    if (!page || !incident || !maintenance) throw new Error('no incident or maintenance');
    const names = Array.from({ length: 20 }, (_, n) => ({ uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, impact: 'major_outage' }));
    page.components = names.map(({ uuid }, n) => ({
      ...(page.components[0] ?? ({} as never)),
      uuid,
      name: `Named ${String(n).padStart(2, '0')} ${'x'.repeat(150)}`,
    }));
    page.incidents = Array.from({ length: 1_000 }, (_, n) => ({
      ...incident,
      uuid: `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      title: `Incident ${n}`,
      components: names,
    }));
    page.maintenances = Array.from({ length: 1_000 }, (_, n) => ({
      ...maintenance,
      uuid: `20000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      title: `Work ${n}`,
    }));
    const html = renderLandingPage(view, NOW);
    const section = text(html);
    expect(html.match(/<li data-incident=/g)).toHaveLength(LANDING_ITEMS_PER_LIST);
    expect(section).toContain(`… and ${1_000 - LANDING_ITEMS_PER_LIST} more active incidents`);
    expect(section).toContain(`… and ${1_000 - LANDING_ITEMS_PER_LIST} more maintenances`);
    const first = text(/<li data-incident=[\s\S]*?<\/li>/.exec(html)?.[0] ?? '');
    expect(first).toContain(`Named ${String(LANDING_COMPONENTS_PER_INCIDENT - 1).padStart(2, '0')}`);
    expect(first).not.toContain(`Named ${String(LANDING_COMPONENTS_PER_INCIDENT).padStart(2, '0')}`);
    expect(first).toContain(`and ${20 - LANDING_COMPONENTS_PER_INCIDENT} more components`);
    expect(html.length).toBeLessThan(300_000);
  });

  it('stays a few megabytes however many pages, components and incidents the limits let in, and says what it left out', () => {
    // 300 pages of 100 components and 20 of 50 incidents naming 10 components each, every name
    // and title 200 escaped characters: 25 MB before the page had bounds over the whole document.
    const view = fourPages();
    const template = view.status_pages.find((p) => p.incidents.length > 0);
    const component = template?.components[0];
    const incident = template?.incidents[0];
    if (!template || !component || !incident) throw new Error('no template');
    const heavy = '&'.repeat(200);
    const id = (prefix: number, n: number) => `${prefix}0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    view.status_pages = Array.from({ length: 300 }, (_, p) => ({
      ...template,
      id: `page-${String(p).padStart(3, '0')}`,
      name: `${heavy}${p}`,
      components: Array.from({ length: 100 }, (_, n) => ({ ...component, uuid: id(0, p * 100 + n), name: heavy, impact: 'major_outage' })),
      incidents:
        p < 20
          ? Array.from({ length: 50 }, (_, n) => ({
              ...incident,
              uuid: id(1, p * 50 + n),
              title: heavy,
              components: Array.from({ length: 10 }, (_, c) => ({ uuid: id(0, p * 100 + c), impact: 'major_outage' })),
            }))
          : [],
      maintenances: [],
    }));
    const html = renderLandingPage(view, NOW);
    expect(Buffer.byteLength(html)).toBeLessThan(4_000_000);
    expect(html.match(/<tr data-component=/g)).toHaveLength(LANDING_COMPONENTS);
    expect(html.match(/<li data-incident=/g)).toHaveLength(LANDING_INCIDENTS);
    expect(html.match(/<section class="page"/g)).toHaveLength(LANDING_PAGES);
    const words = text(html);
    // A page past the components' budget says how many it left out, and where they all are.
    expect(words).toContain(
      `100 components, none worse than major outage , not listed: the page lists ${LANDING_COMPONENTS} in all; all of them in /api/v1/state?status_page=page-`,
    );
    expect(words).toContain(`50 active incidents not listed: the page lists ${LANDING_INCIDENTS} in all; all of them in /api/v1/state?status_page=page-`);
    expect(words).toContain(`… and ${300 - LANDING_PAGES} more status pages, none worse than major outage : all of them in /api/v1/state`);
    // The summary still counts everything.
    expect(summaryLine(view, NOW)).toBe('30000 major outages on 300 of 300 pages; 1000 active incidents');
  });

  it('carries the ?token= it was opened with into its links to the token-guarded views, escaped', () => {
    const view = fourPages();
    const plain = renderLandingPage(view, NOW);
    expect(plain).toContain('<a href="api/v1/state">');
    expect(plain).not.toContain('token=');
    const html = renderLandingPage(view, NOW, undefined, 'a&b"<c');
    expect(html).toContain('<a href="api/v1/state?token=a%26b%22%3Cc">');
    expect(html).toContain('<a href="api/v1/availability?format=csv&amp;token=a%26b%22%3Cc">');
  });

  it('isolates names and titles, so that a right-to-left override in one cannot reverse the words after it, and shows control characters as spaces', () => {
    const view = fourPages();
    const page = view.status_pages[0];
    const component = page?.components[0];
    if (!page || !component) throw new Error('no component');
    component.name = '\u202eIPA\u0000x';
    const html = renderLandingPage(view, NOW);
    // The override is closed where the name ends (U+202C), as well as isolated.
    expect(html).toContain('<td><bdi>\u202eIPA x\u202c</bdi></td>');
    expect(html).not.toContain('\u0000');
  });

  it('shows an impact named like a property of every object (constructor) as any other unknown impact, not a 500', () => {
    const view = fourPages();
    const component = view.status_pages[0]?.components[0];
    if (!component) throw new Error('no component');
    component.impact = 'constructor';
    component.level = -1;
    expect(summaryLine(view, NOW)).toBe('1 major outage, 1 partial outage, 1 constructor on 3 of 4 pages; 1 active incident');
    const html = renderLandingPage(view, NOW);
    expect(text(html)).toContain('constructor');
    expect(html).not.toContain('function');
  });
});

describe("a bar's summary for screen readers", () => {
  const DAY = 20_400; // 2025-11-08
  const cell = (offset: number, worst: string | null, availability: number | null) => ({ day: DAY + offset, worst, availability });

  it('counts the days by their worst impact and names the worst days with their availability, so that the colours are not the only telling', () => {
    const cells = [
      cell(0, null, null),
      cell(1, null, null),
      cell(2, 'operational', 1),
      cell(3, 'major_outage', 0.9708),
      cell(4, 'operational', 1),
      cell(5, 'degraded_performance', 0.995),
      cell(6, 'under_maintenance', null),
      cell(7, 'operational', 1),
    ];
    expect(barSummary(cells)).toBe(
      'last 8 days: 3 operational, 2 no data, 1 degraded performance, 1 major outage, 1 under maintenance; ' +
        'worst: 2025-11-11 97.08 % (major outage), 2025-11-13 99.50 % (degraded performance), 2025-11-14 (under maintenance)',
    );
  });

  it('names a few worst days at most, the earliest first among equals, and none when every day was operational', () => {
    const cells = Array.from({ length: 90 }, (_, n) => cell(n, n % 2 === 0 ? 'partial_outage' : 'operational', n % 2 === 0 ? 0.99 : 1));
    const summary = barSummary(cells);
    expect(summary.match(/\(partial outage\)/g)).toHaveLength(BAR_SUMMARY_DAYS);
    expect(summary).toContain('worst: 2025-11-08 99.00 % (partial outage), 2025-11-10 99.00 %');
    expect(summary.length).toBeLessThan(250);
    expect(barSummary([cell(0, 'operational', 1), cell(1, 'operational', 1)])).toBe('last 2 days: 2 operational');
  });
});
