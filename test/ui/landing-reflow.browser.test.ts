import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLandingPage, type ComponentHistory } from '../../src/ui/landing.js';
import { chromiumTool, htmlPage, launchChromium, serveOnLoopback, type LoopbackServer } from '../support/chromium.js';
import { fourPages, NOW } from './landing-view.js';

// WCAG 1.4.10 (reflow): at 320 CSS px wide (a 1280 px screen zoomed to 400 %) and at 640 (200 %)
// the page itself must not scroll sideways, and an impact word must read whole, whatever the
// names beside it: a 200-character name without a space, a long label, a long file path, and
// the 90-day bars, which alone are 18rem wide.

let server: LoopbackServer | undefined;
let origin: string;
let context: BrowserContext | undefined;

const DAY = 86_400;
const history: ComponentHistory = {
  cells: Array.from({ length: 90 }, (_, i) => ({
    day: Math.floor(NOW / DAY) - 89 + i,
    worst: i === 80 ? 'degraded_performance' : 'operational',
    availability: i === 80 ? 0.99 : 1,
  })),
  availability30: 0.9997,
};

describe.skipIf(chromiumTool.path === undefined)('the landing page at 320 and 640 px wide, in headless Chromium', () => {
  beforeAll(async () => {
    const view = fourPages({ overdueMaintenance: true });
    const [alpha] = view.status_pages;
    if (!alpha?.components[0] || !alpha.components[1]) throw new Error('no page');
    alpha.components[0].name = 'W'.repeat(200);
    alpha.components[1].impact = 'degraded_performance';
    alpha.id = `alpha-${'R'.repeat(190)}`;
    view.exporter.status_pages_file = `/etc/${'statusmate-exporter-'.repeat(8)}status-pages.yaml`;
    view.recent_deliveries = [
      {
        at: new Date((NOW - 60) * 1000).toISOString(),
        event_uuid: null,
        status: 422,
        outcome: 'invalid',
        type: 'component_impact_updated',
        status_page: 'payments',
        delivery_attempt: 2,
        error: 'x'.repeat(150),
      },
    ];
    const html = renderLandingPage(view, NOW, () => history);
    server = await serveOnLoopback(htmlPage(() => html));
    origin = server.origin;
    context = await launchChromium();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  it.each([320, 640, 1280])('does not scroll sideways at %i px, and reads every impact word on one line', async (width) => {
    if (!context) throw new Error('the browser did not start');
    const page = await context.newPage();
    await page.setViewportSize({ width, height: 800 });
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    const { scrollWidth, clientWidth, broken } = await page.evaluate<{ scrollWidth: number; clientWidth: number; broken: string[] }>(`(() => {
      const broken = [...document.querySelectorAll('.impact')]
        .filter((e) => e.getBoundingClientRect().height > 1.5 * parseFloat(getComputedStyle(e).lineHeight || '0') || e.getBoundingClientRect().height > 30)
        .map((e) => e.textContent);
      return { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, broken };
    })()`);
    expect(broken).toEqual([]);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    await page.close();
  });

  it('names every table by a caption, for the list of tables a screen reader offers', async () => {
    if (!context) throw new Error('the browser did not start');
    const page = await context.newPage();
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    const captions = await page.evaluate<string[]>(`[...document.querySelectorAll('table')].map((t) => t.caption ? t.caption.textContent : '')`);
    expect(captions.length).toBe(5);
    expect(captions.filter((c) => c === '')).toEqual([]);
    expect(captions).toContain('Recent deliveries');
    await page.close();
  });
});
