import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLandingPage, type ComponentHistory } from '../../src/ui/landing.js';
import { chromiumTool, htmlPage, launchChromium, serveOnLoopback, type LoopbackServer } from '../support/chromium.js';
import { fourPages, NOW } from './landing-view.js';

// The landing page's coloured text against what it is drawn on, in headless Chromium, in the
// light and the dark colour scheme (the page declares `color-scheme: light dark`, so a browser
// set to dark draws it on a dark canvas): WCAG AA asks 4.5:1 for text of its size.

let server: LoopbackServer | undefined;
let origin: string;
let context: BrowserContext | undefined;

/** WCAG's contrast ratio of two `rgb(…)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (rgb: string) => {
    const [r, g, bl] = (rgb.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (bl ?? 0);
  };
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return ((x ?? 0) + 0.05) / ((y ?? 0) + 0.05);
}

describe.skipIf(chromiumTool.path === undefined)('the landing page colours in headless Chromium', () => {
  beforeAll(async () => {
    const view = fourPages({ overdueMaintenance: true });
    // Every impact, an unknown one too, on a page's components.
    const page = view.status_pages[0];
    if (!page) throw new Error('no page');
    ['under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage', 'brand_new_impact'].forEach((impact, n) => {
      const component = page.components[n];
      if (component) component.impact = impact;
    });
    // A bar with a day of every kind: no data, each impact, an unknown one.
    const worsts = [null, 'operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage', 'brand_new_impact'];
    const history: ComponentHistory = {
      cells: Array.from({ length: 90 }, (_, i) => {
        const worst = worsts[i % worsts.length] ?? null;
        return { day: Math.floor(NOW / 86_400) - 89 + i, worst, availability: worst === null ? null : 0.5 };
      }),
      availability30: 0.5,
    };
    const html = renderLandingPage(view, NOW, () => history);
    server = await serveOnLoopback(htmlPage(() => html));
    origin = server.origin;
    context = await launchChromium();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  it.each(['light', 'dark'] as const)('draws every impact word and every grey or red text at 4.5:1 or more in the %s scheme', async (scheme) => {
    if (!context) throw new Error('the browser did not start');
    const page = await context.newPage();
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    // A string, run in the page: this project's TypeScript has no DOM types.
    const { canvas, texts } = await page.evaluate<{ canvas: string; texts: { what: string; colour: string }[] }>(`(() => {
      // What the page is drawn on: the scheme's canvas unless the body sets a background.
      const probe = document.createElement('div');
      probe.style.backgroundColor = 'Canvas';
      document.body.append(probe);
      const body = getComputedStyle(document.body).backgroundColor;
      const canvas = body === 'rgba(0, 0, 0, 0)' ? getComputedStyle(probe).backgroundColor : body;
      probe.remove();
      const texts = [...document.querySelectorAll('.impact, .sub, .none, .warn, footer, .more')].map((element) => ({
        what: (element.className || element.tagName) + ': ' + (element.textContent || '').slice(0, 30),
        colour: getComputedStyle(element).color,
      }));
      return { canvas, texts };
    })()`);
    expect(texts.length).toBeGreaterThan(10);
    const poor = texts.map((t) => ({ ...t, ratio: Math.round(contrast(t.colour, canvas) * 100) / 100 })).filter((t) => t.ratio < 4.5);
    expect(poor).toEqual([]);
    await page.close();
  });

  it.each(['light', 'dark'] as const)(
    'draws every day of a bar at 3:1 or more against the canvas in the %s scheme, and a worse day taller, so colour is not the only cue',
    async (scheme) => {
      if (!context) throw new Error('the browser did not start');
      const page = await context.newPage();
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${origin}/`, { waitUntil: 'load' });
      const { canvas, cells } = await page.evaluate<{ canvas: string; cells: { kind: string; fill: string; edge: string; height: number }[] }>(`(() => {
        const probe = document.createElement('div');
        probe.style.backgroundColor = 'Canvas';
        document.body.append(probe);
        const canvas = getComputedStyle(probe).backgroundColor;
        probe.remove();
        const seen = new Map();
        for (const cell of document.querySelectorAll('.bar i')) {
          if (seen.has(cell.className)) continue;
          const style = getComputedStyle(cell);
          // A cell drawn as an outline: the colour of its inset shadow.
          const edge = (style.boxShadow.match(/rgba?\\([^)]*\\)/) || [''])[0];
          seen.set(cell.className, { kind: cell.className, fill: style.backgroundColor, edge, height: cell.getBoundingClientRect().height });
        }
        return { canvas, cells: [...seen.values()] };
      })()`);
      expect(cells.map((c) => c.kind).sort()).toEqual(['d', 'm', 'n', 'o', 'p', 'u', 'x']);
      const drawn = (c: { fill: string; edge: string }) => (c.fill === 'rgba(0, 0, 0, 0)' ? c.edge : c.fill);
      const poor = cells.map((c) => ({ kind: c.kind, ratio: Math.round(contrast(drawn(c), canvas) * 100) / 100 })).filter((c) => c.ratio < 3);
      expect(poor).toEqual([]);
      const height = (kind: string) => cells.find((c) => c.kind === kind)?.height ?? 0;
      // Operational, maintenance, degraded, partial, major: each taller than the one before.
      const order = ['o', 'm', 'd', 'p', 'x'].map(height);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(new Set(order).size).toBe(5);
      await page.close();
    },
  );
});
