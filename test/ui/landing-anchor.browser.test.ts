import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLandingPage } from '../../src/ui/landing.js';
import { chromiumTool, htmlPage, launchChromium, serveOnLoopback, type LoopbackServer } from '../support/chromium.js';
import { fourPages, NOW } from './landing-view.js';

// The overview's links lead to each page's section, whatever its label: a page learnt from
// webhooks may be labelled with a space, "#", a percent escape or a letter outside ASCII
// (?status_page=50%2525%20up), and a browser decodes a link's fragment before it looks for the id.

let server: LoopbackServer | undefined;
let origin: string;
let context: BrowserContext | undefined;
const LABELS = ['50%25 up', 'x#y', 'a b', 'ünï'];

describe.skipIf(chromiumTool.path === undefined)("the overview's links to the pages, in headless Chromium", () => {
  beforeAll(async () => {
    const view = fourPages();
    view.status_pages.forEach((page, n) => {
      page.id = LABELS[n] ?? page.id;
    });
    const html = renderLandingPage(view, NOW);
    server = await serveOnLoopback(htmlPage(() => html));
    origin = server.origin;
    context = await launchChromium();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  it.each(LABELS)('scrolls to the section of the page labelled %j', async (label) => {
    if (!context) throw new Error('the browser did not start');
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 400 });
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    const index = await page.evaluate<number>(`[...document.querySelectorAll('section.page')].findIndex((s) => s.id === ${JSON.stringify(`page-${label}`)})`);
    expect(index).toBeGreaterThanOrEqual(0);
    await page.locator('ul.overview a').nth(index).click();
    await page.waitForTimeout(100);
    const top = await page.evaluate<number>(`Math.round(document.getElementById(${JSON.stringify(`page-${label}`)}).getBoundingClientRect().top)`);
    expect(Math.abs(top)).toBeLessThanOrEqual(2);
    await page.close();
  });
});
