import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFRESH_SECONDS } from '../../src/ui/landing.js';
import { makeApp, type TestApp } from '../support/app.js';
import { chromiumTool, launchChromium, serveOnLoopback, type LoopbackServer } from '../support/chromium.js';

// WCAG 2.2.1: the page reloads itself every 10 s, and each reload put the keyboard focus back on
// the document (a keyboard user tabbing to a link lost it, a screen reader started again). The
// reload can be turned off, from a link on the page, and stays off.

const TOKEN = 'refresh-test-token';
let app: TestApp | undefined;
let server: LoopbackServer | undefined;
let context: BrowserContext | undefined;

describe.skipIf(chromiumTool.path === undefined)('the landing page without its reload, in headless Chromium', () => {
  beforeAll(async () => {
    app = await makeApp({ tokens: [TOKEN], version: 'refresh-test' });
    server = await serveOnLoopback(app.main);
    context = await launchChromium();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await app?.close();
  });

  it('links to a page that does not reload, where the keyboard focus stays where it was put', { timeout: 30_000 }, async () => {
    if (!context || !server) throw new Error('the browser did not start');
    const page = await context.newPage();
    await page.goto(`${server.origin}/?token=${TOKEN}`, { waitUntil: 'load' });
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(1);
    await page.getByRole('link', { name: 'stop reloading' }).click();
    await page.waitForLoadState('load');
    expect(new URL(page.url()).searchParams.get('refresh')).toBe('off');
    expect(new URL(page.url()).searchParams.get('token')).toBe(TOKEN);
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);

    await page.locator('nav a').nth(1).focus();
    await page.waitForTimeout((REFRESH_SECONDS + 1.5) * 1000);
    expect(await page.evaluate<string>(`document.activeElement ? document.activeElement.textContent : ''`)).toBe('/api/v1/state');

    await page.getByRole('link', { name: `reload every ${REFRESH_SECONDS} s` }).click();
    await page.waitForLoadState('load');
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('token')).toBe(TOKEN);
    await page.close();
  });
});
