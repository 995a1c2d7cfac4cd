import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLandingPage } from '../../src/ui/landing.js';
import { makeApp, tempDir, type TestApp } from '../support/app.js';
import { fourPages, NOW } from './landing-view.js';
import { chromiumTool, htmlPage, launchChromium, serveOnLoopback, type LoopbackServer } from '../support/chromium.js';

// The landing page in a real browser: Debian's chromium driven by playwright-core, with
// JavaScript off (the page must not need it), a fresh profile, and every request watched.

export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const ACME_UUID = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';

/** innerText with its line breaks (an inline-flex badge starts one) as single spaces. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

// Unset until beforeAll gets that far: afterAll closes what was started.
let app: TestApp | undefined;
let server: LoopbackServer | undefined;
let origin: string;
let context: BrowserContext | undefined;

describe.skipIf(chromiumTool.path === undefined)('the landing page in headless Chromium', () => {
  beforeAll(async () => {
    const file = join(tempDir(), 'status-pages.yaml');
    writeFileSync(
      file,
      `status_pages:\n  - id: acme\n    uuid: ${ACME_UUID}\n    name: ACME public status\n    components:\n      - uuid: ${API}\n        name: API\n      - uuid: ${WEBSITE}\n        name: Website\n  - id: payments\n    name: Payments\n`,
    );
    app = await makeApp({ statusPagesFile: file, version: 'browser-test' });
    server = await serveOnLoopback(app.main);
    origin = server.origin;
    context = await launchChromium();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await app?.close();
  });

  it('shows a component a webhook just changed, without console errors or requests leaving the host', async () => {
    const requests: string[] = [];
    const errors: string[] = [];
    if (!context) throw new Error('the browser did not start');
    context.on('request', (req) => requests.push(req.url()));
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));

    const webhook = await fetch(`${origin}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        text: 'API',
        meta: {
          type: 'component_impact_updated',
          uuid: API,
          impact: 'major_outage',
          status_page: ACME_UUID,
          created_at: new Date(Date.now() - 90_000).toISOString(),
        },
      }),
    });
    expect(webhook.status).toBe(200);

    const response = await page.goto(`${origin}/`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    const api = page.locator(`tr[data-component="${API}"]`);
    // Impact, 30-day availability (down all the 90 s it has been known), its bar (no text), last change.
    expect(await api.innerText()).toMatch(/^API\s+major outage\s+0\.00 %\s+1 min ago$/);
    // Declared, no webhook yet: operational from its declaration in the log, so 100 % (not no data).
    expect(await page.locator(`tr[data-component="${WEBSITE}"]`).innerText()).toMatch(/^Website\s+operational\s+100 %\s+declared \d+ s ago, no webhook yet$/);
    expect((await page.locator('h2').allInnerTexts()).map(oneLine)).toEqual(['ACME public status major outage', 'Payments operational', 'Recent deliveries']);
    expect(await page.locator('.summary').innerText()).toBe('1 major outage on 1 of 2 pages; no active incident');
    expect(await page.locator('main table').last().innerText()).toContain('applied');

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = await page.screenshot({ path: join(ARTIFACTS, 'landing-page.png') });
    // A PNG's IHDR holds its width and height.
    expect([screenshot.readUInt32BE(16), screenshot.readUInt32BE(20)]).toEqual([1280, 800]);

    expect(errors).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
  });

  it('shows the summary and the worst component of four pages at 1280×800 without scrolling', async () => {
    if (!context) throw new Error('the browser did not start');
    const html = renderLandingPage(fourPages({ overdueMaintenance: true }), NOW);
    const static_ = await serveOnLoopback(htmlPage(() => html));
    try {
      const page = await context.newPage();
      await page.goto(`${static_.origin}/`, { waitUntil: 'load' });
      const viewport = page.viewportSize();
      expect(viewport).toEqual({ width: 1280, height: 800 });

      const summary = page.locator('.summary');
      expect(await summary.innerText()).toBe('1 major outage, 1 partial outage on 2 of 4 pages; 1 active incident; 2 overdue maintenances');
      const worst = page.locator('#page-zeta tbody tr').first();
      expect(await worst.innerText()).toMatch(/^Checkout\s+major outage\s+1 min ago$/);
      for (const visible of [summary, worst]) {
        const box = await visible.boundingBox();
        expect(box).not.toBeNull();
        expect((box?.y ?? Infinity) + (box?.height ?? 0)).toBeLessThanOrEqual(800);
        expect(box?.y).toBeGreaterThanOrEqual(0);
      }
      expect((await page.locator('section.page h2').allInnerTexts()).map(oneLine)).toEqual([
        'Zeta shop major outage',
        'Payments partial outage',
        'Alpha status operational',
        'Blog operational',
      ]);
      expect(await page.locator('li.overdue').count()).toBe(2);
      const overview = page.locator('ul.overview li');
      expect((await overview.allInnerTexts()).map(oneLine)).toEqual([
        'Zeta shop major outage',
        'Payments partial outage',
        'Alpha status operational',
        'Blog operational',
      ]);
      const lastOverview = await overview.last().boundingBox();
      expect((lastOverview?.y ?? Infinity) + (lastOverview?.height ?? 0)).toBeLessThanOrEqual(800);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'landing-page-worst-first.png') });
      await page.screenshot({ path: join(ARTIFACTS, 'landing-page-worst-first-full.png'), fullPage: true });
      await page.close();
    } finally {
      await static_.close();
    }
  });
});
