import { randomUUID } from 'node:crypto';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../support/app.js';
import { chromiumTool, htmlPage, launchChromium, serveOnLoopback, type LoopbackServer } from '../support/chromium.js';

// The landing page against what a webhook sender and another site can do, in headless Chromium
// with JavaScript on: names, titles and a status page label that carry markup, sent through real
// webhooks; the page framed by another site; a cross-site form posting a forget; the token the
// page was opened with, on a link leaving the host.

const TOKEN = 'hostile-test-token';

/** Markup that, run, asks the exporter for /pwned-<where>: a request the test can see. */
const payload = (where: string) =>
  `<script>fetch('/pwned-${where}')</script><img src="/pwned-${where}-img" onerror="fetch('/pwned-${where}-onerror')">"'><svg onload="fetch('/pwned-${where}-svg')">`;

let app: TestApp | undefined;
let server: LoopbackServer | undefined;
let other: LoopbackServer | undefined;
let origin: string;
let otherOrigin: string;
/** The page the other site answers with, set by each test. */
let otherHtml = '';
const contexts: BrowserContext[] = [];

async function launch(options: { bypassCSP: boolean }): Promise<BrowserContext> {
  const context = await launchChromium({ javaScriptEnabled: true, bypassCSP: options.bypassCSP });
  contexts.push(context);
  return context;
}

async function webhook(meta: Record<string, unknown>, text: string): Promise<void> {
  const response = await fetch(`${origin}/webhook?token=${TOKEN}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ text, meta: { created_at: new Date().toISOString(), ...meta } }),
  });
  expect(response.status).toBe(200);
}

describe.skipIf(chromiumTool.path === undefined)('the landing page against hostile senders and sites, in headless Chromium', () => {
  // No double quote: a page name holding one is refused (it breaks the dashboards' queries), so
  // the markup breaks out of single-quoted attributes and text instead.
  const page = `'><script>fetch('/pwned-page')</script><img src=x onerror=fetch('/pwned-img')>`;
  const component = randomUUID();

  beforeAll(async () => {
    app = await makeApp({ tokens: [TOKEN], version: 'hostile-test' });
    server = await serveOnLoopback(app.main);
    origin = server.origin;
    // Another site: localhost is not 127.0.0.1's site. It answers with the page the test sets.
    other = await serveOnLoopback(htmlPage(() => otherHtml));
    otherOrigin = `http://localhost:${other.port}`;

    await webhook({ type: 'component_impact_updated', uuid: component, impact: 'major_outage', status_page: page }, payload('component'));
    await webhook(
      {
        type: 'incident_created',
        uuid: randomUUID(),
        title: payload('incident'),
        status_page: page,
        affected_components: [{ impact: 'major_outage', component_details: { name: payload('component'), impact: 'major_outage', component_uuid: component } }],
      },
      'x',
    );
    const start = new Date(Date.now() + 3_600_000).toISOString();
    const end = new Date(Date.now() + 7_200_000).toISOString();
    await webhook({ type: 'maintenance_created', uuid: randomUUID(), title: payload('maintenance'), start_at: start, end_at: end, status_page: page }, 'x');
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    for (const s of [server, other]) await s?.close();
    await app?.close();
  });

  it.each([
    ['with its Content-Security-Policy', false],
    ['with the Content-Security-Policy bypassed, by its escaping alone', true],
  ])('runs no markup a webhook sent, %s, and shows it as text', async (_how, bypassCSP) => {
    const context = await launch({ bypassCSP });
    const requests: string[] = [];
    const dialogs: string[] = [];
    context.on('request', (request) => requests.push(request.url()));
    const tab = await context.newPage();
    tab.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const response = await tab.goto(`${origin}/?token=${TOKEN}`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await tab.waitForTimeout(300);
    expect(requests.filter((url) => url.includes('pwned'))).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(await tab.locator('script, img, svg, iframe, object, embed').count()).toBe(0);
    expect(await tab.locator(`tr[data-component="${component}"]`).innerText()).toContain(`<script>fetch('/pwned-component')</script>`);
    expect(await tab.locator('h2').first().innerText()).toContain(page);
    const body = await tab.locator('main').innerText();
    expect(body).toContain(`<script>fetch('/pwned-incident')</script>`);
    expect(body).toContain(`<script>fetch('/pwned-maintenance')</script>`);
    await tab.close();
  });

  it('cannot be framed by another site', async () => {
    const context = await launch({ bypassCSP: false });
    otherHtml = `<!doctype html><iframe src="${origin}/?token=${TOKEN}" width="800" height="600"></iframe>`;
    const tab = await context.newPage();
    await tab.goto(`${otherOrigin}/`, { waitUntil: 'load' });
    await tab.waitForTimeout(500);
    const frame = tab.frames().find((f) => f !== tab.mainFrame());
    // Chromium replaces a refused frame with its own error page.
    expect(
      await frame
        ?.locator('.summary')
        .count()
        .catch(() => 0),
    ).toBe(0);
    await tab.close();
  });

  it('lets no form of another site forget a page, even one that knows the token', async () => {
    const context = await launch({ bypassCSP: false });
    // The classic JSON-in-a-text/plain-form: the body reads {"status_page":"…","x":"="}.
    const name = `{"status_page":${JSON.stringify(page)},"x":"`.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    otherHtml =
      `<!doctype html><form method="post" enctype="text/plain" action="${origin}/-/forget?token=${TOKEN}"><input name="${name}" value='"}'><button>go</button></form>` +
      `<form id="reload" method="post" action="${origin}/-/reload?token=${TOKEN}"><button id="r">reload</button></form>`;
    const tab = await context.newPage();
    await tab.goto(`${otherOrigin}/`, { waitUntil: 'load' });
    const answer = tab.waitForResponse((r) => r.url().startsWith(`${origin}/-/forget`));
    await tab.locator('form').first().locator('button').click();
    expect((await answer).status()).toBe(415);
    await tab.goto(`${otherOrigin}/`, { waitUntil: 'load' });
    const reload = tab.waitForResponse((r) => r.url().startsWith(`${origin}/-/reload`));
    await tab.locator('#r').click();
    expect([403, 415]).toContain((await reload).status());
    const state = (await (await fetch(`${origin}/api/v1/state?token=${TOKEN}`)).json()) as { status_pages: { id: string }[] };
    expect(state.status_pages.map((p) => p.id)).toContain(page);
    await tab.close();
  });

  it('sends no Referer, so not its ?token=, to a link leaving the host, and is not stored by the browser', async () => {
    const context = await launch({ bypassCSP: false });
    const referers: (string | undefined)[] = [];
    await context.route('https://github.com/**', async (route) => {
      referers.push(route.request().headers()['referer']);
      await route.fulfill({ status: 200, contentType: 'text/html', body: 'docs' });
    });
    const tab = await context.newPage();
    const response = await tab.goto(`${origin}/?token=${TOKEN}`, { waitUntil: 'load' });
    expect(response?.headers()['cache-control']).toBe('no-store');
    expect(response?.headers()['referrer-policy']).toBe('no-referrer');
    await tab.locator('nav a', { hasText: 'API docs' }).click();
    await tab.waitForURL('https://github.com/**');
    expect(referers).toEqual([undefined]);
    await tab.close();
  });
});
