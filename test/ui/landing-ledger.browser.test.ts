import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayEndingNow, demoMonth, DEMO_TOKEN, EXAMPLES } from '../../src/cli/demo.js';
import { readRecording } from '../../src/cli/replay.js';
import { BAR_DAYS } from '../../src/ui/landing.js';
import { makeApp, type TestApp } from '../support/app.js';
import { chromiumTool, launchChromium, serveOnLoopback, type LoopbackServer } from '../support/chromium.js';

// Issue 20: the landing page with the demo's month of history and its day, in headless Chromium
// with JavaScript off: a 90-day bar per component, coloured by each day's worst impact, the day's
// availability in each cell's title, and the 30-day availability beside it. The screenshot is
// test-artifacts/landing-page-ledger.png.

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const PAYOUTS = 'b2f6d8ea-3c5a-4f7b-9d1e-4a6c8eaf2b3d';

let app: TestApp | undefined;
let server: LoopbackServer | undefined;
let origin: string;
let context: BrowserContext | undefined;

describe.skipIf(chromiumTool.path === undefined)('the landing page with a month of history, in headless Chromium', () => {
  beforeAll(async () => {
    app = await makeApp({
      statusPagesFile: join(EXAMPLES, 'status-pages.yaml'),
      env: { ACME_WEBHOOK_TOKEN: 'acme-token' },
      tokens: [DEMO_TOKEN],
      version: 'ledger-test',
    });
    server = await serveOnLoopback(app.main);
    origin = server.origin;
    // The demo's replay: the month, then the recorded day ending 10 minutes ago.
    const day = dayEndingNow(readRecording(join(EXAMPLES, 'statusmate-day.jsonl')), Date.now());
    const first = Math.min(...day.map((body) => Date.parse((body.meta as { created_at?: string }).created_at ?? 'x')).filter(Number.isFinite));
    for (const body of [...demoMonth(first), ...day]) {
      const response = await fetch(`${origin}/webhook?token=${DEMO_TOKEN}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
    }
    context = await launchChromium();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await app?.close();
  });

  it('draws a 90-day bar per component with each day in a title, and the 30-day availability beside it', async () => {
    if (!context) throw new Error('the browser did not start');
    const errors: string[] = [];
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const response = await page.goto(`${origin}/?token=${DEMO_TOKEN}`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);

    // Every component with history has a bar of 90 cells (the six declared, and one the day's webhooks named); the last is today.
    expect(await page.locator('tr[data-component] .bar').count()).toBeGreaterThanOrEqual(6);
    const apiCells = page.locator(`tr[data-component="${API}"] .bar i`);
    expect(await apiCells.count()).toBe(BAR_DAYS);
    const titles = await apiCells.evaluateAll((cells): string[] =>
      cells.map((cell: { getAttribute(name: string): string | null }) => cell.getAttribute('title') ?? ''),
    );
    expect(titles.at(-1)).toMatch(new RegExp(`^${new Date().toISOString().slice(0, 10)}: `));
    // Before the month: no data; the month's outages show as coloured days with their availability.
    expect(titles[0]).toMatch(/: no data$/);
    expect(titles.some((title) => /: 97\.08 %, worst major outage$/.test(title))).toBe(true); // 42 min down of 1440
    const classes = await apiCells.evaluateAll((cells): string[] => cells.map((cell: { className: string }) => cell.className));
    expect(classes.filter((c) => c === 'x').length).toBeGreaterThanOrEqual(1);
    expect(classes.filter((c) => c === 'd').length).toBeGreaterThanOrEqual(1);
    expect(classes.filter((c) => c === 'n').length).toBeGreaterThan(50);
    // A screen reader, which reads neither the colours nor the cells' titles inside the image, hears the days counted and the worst ones.
    // The recorded day ends 10 minutes before the test runs: its part of today (and of yesterday) may rank before the month's
    // major outage, by how much of today has passed, so that day is one of the worst, not always the first.
    const spoken = await page.locator(`tr[data-component="${API}"] .bar`).ariaSnapshot();
    expect(spoken).toMatch(/^- '?img "last 90 days: \d+ no data, .*\d+ major outage.*; worst: (?:[^"]*\), )?\d{4}-\d\d-\d\d 97\.08 % \(major outage\)/);
    // The colour is the worst impact's: red for a major outage.
    const red = await page
      .locator(`tr[data-component="${API}"] .bar i.x`)
      .first()
      .evaluate(
        (cell) => (globalThis as unknown as { getComputedStyle(element: unknown): { backgroundColor: string } }).getComputedStyle(cell).backgroundColor,
      );
    expect(red).toBe('rgb(207, 34, 46)');

    // The 30-day availability beside each component: API was down 42 + 25 min, under 100 %.
    const api30 = await page.locator(`tr[data-component="${API}"] td.avail`).innerText();
    expect(api30).toMatch(/^99\.\d\d %$/);
    expect(await page.locator(`tr[data-component="${PAYOUTS}"] td.avail`).innerText()).toMatch(/^99\.\d\d %$/);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = await page.screenshot({ path: join(ARTIFACTS, 'landing-page-ledger.png'), fullPage: true });
    expect(screenshot.readUInt32BE(16)).toBe(1280);
    expect(errors).toEqual([]);
  });
});
