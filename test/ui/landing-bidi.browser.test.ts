import { randomUUID } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../support/app.js';
import { chromiumTool, launchChromium, serveOnLoopback, type LoopbackServer } from '../support/chromium.js';

// Names and labels a webhook sent with bidi controls left open, drawn by headless Chromium: the
// exporter's own words after them (an impact badge, "learnt from webhooks") must stay after them
// on screen. A sender could otherwise put "major outage" inside a name that reads as all well.

/** An override, then an isolate, both left open: Chromium drew what followed the <bdi> inside it. */
const OVERRIDE_THEN_ISOLATE = 'shop\u202eevil\u2066';
/** An override alone, left open: outside a <bdi> it reverses every word after it. */
const OVERRIDE = 'mall\u202eevil';

let app: TestApp | undefined;
let server: LoopbackServer | undefined;
let context: BrowserContext | undefined;

async function webhook(statusPage: string, name: string): Promise<void> {
  const response = await fetch(`${server?.origin}/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      meta: {
        type: 'component_impact_updated',
        uuid: randomUUID(),
        component_uuid: randomUUID(),
        impact: 'major_outage',
        title: name,
        status_page: statusPage,
      },
    }),
  });
  expect(response.status).toBe(200);
}

/** Runs `script` (an expression, as text: the page's DOM has no types here) in the page. */
const inPage = <T>(tab: Page, script: string): Promise<T> => tab.evaluate<T>(script);

describe.skipIf(chromiumTool.path === undefined)('the landing page with bidi controls a webhook left open, in headless Chromium', () => {
  beforeAll(async () => {
    app = await makeApp({ version: 'bidi-test' });
    server = await serveOnLoopback(app.main);
    await webhook(OVERRIDE_THEN_ISOLATE, OVERRIDE_THEN_ISOLATE);
    await webhook(OVERRIDE, OVERRIDE);
    context = await launchChromium();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await app?.close();
  });

  it.each([OVERRIDE_THEN_ISOLATE, OVERRIDE])('draws the impact badge after the page %j in the overview, not inside it', async (id) => {
    if (!context) throw new Error('the browser did not start');
    const tab = await context.newPage();
    await tab.goto(`${server?.origin}/?refresh=off`, { waitUntil: 'load' });
    const href = `#${encodeURIComponent(`page-${id}`)}`;
    const drawn = await inPage<{ nameRight: number; badgeLeft: number } | null>(
      tab,
      `(() => {
        const item = [...document.querySelectorAll('ul.overview > li')].find((li) => li.querySelector('a')?.getAttribute('href') === ${JSON.stringify(href)});
        return item ? { nameRight: item.querySelector('bdi').getBoundingClientRect().right, badgeLeft: item.querySelector('.impact').getBoundingClientRect().left } : null;
      })()`,
    );
    expect(drawn).not.toBeNull();
    expect(drawn?.nameRight).toBeLessThanOrEqual(drawn?.badgeLeft ?? 0);
    await tab.close();
  });

  it.each([OVERRIDE_THEN_ISOLATE, OVERRIDE])('keeps "learnt from webhooks" after the label %j, in reading order', async (id) => {
    if (!context) throw new Error('the browser did not start');
    const tab = await context.newPage();
    await tab.goto(`${server?.origin}/?refresh=off`, { waitUntil: 'load' });
    // The words after the label: drawn right of it, and left to right.
    const drawn = await inPage<{ labelRight: number; restLeft: number; learnt: number; webhooks: number }>(
      tab,
      `(() => {
        const code = document.querySelector(${JSON.stringify(`section.page[id="page-${id}"] .sub code`)});
        const rest = code.nextSibling;
        const text = rest.textContent;
        const left = (from, to) => {
          const range = document.createRange();
          range.setStart(rest, from);
          range.setEnd(rest, to);
          return range.getBoundingClientRect().left;
        };
        const at = (word) => left(text.indexOf(word), text.indexOf(word) + word.length);
        return { labelRight: code.getBoundingClientRect().right, restLeft: left(0, text.length), learnt: at('learnt'), webhooks: at('webhooks') };
      })()`,
    );
    expect(drawn.labelRight).toBeLessThanOrEqual(drawn.restLeft);
    expect(drawn.learnt).toBeLessThan(drawn.webhooks);
    await tab.close();
  });
});
