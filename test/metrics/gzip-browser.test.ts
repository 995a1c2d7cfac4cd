import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, type TestApp } from '../support/app.js';
import { componentUpdate, T0 } from '../support/events.js';
import { findTool } from '../support/tools.js';

// Chromium stops at the end of the first gzip member: a /metrics in two members showed only its
// first part. Here the browser asks for gzip as it always does, and must show all of it.

const tool = findTool('chromium', "apt-get install chromium (Debian's package; .ci/run installs it)");

let app: TestApp | undefined;
let server: Server | undefined;
let browser: Browser | undefined;
let origin: string;

describe.skipIf(tool.path === undefined)('GET /metrics, gzipped, in headless Chromium', () => {
  beforeAll(async () => {
    const a = await makeApp({ store: new MemoryLog(), maxComponents: 20_000 });
    app = a;
    for (let i = 0; i < 2_000; i += 1) await a.ingestor.ingest(componentUpdate(i, 'major_outage', T0 + i), T0 + i);
    const listening = createServer(a.main);
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: tool.path, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await app?.close();
  });

  it('shows the whole body, the telemetry at its end included', async () => {
    if (!browser) throw new Error('no browser');
    const page = await browser.newPage();
    const response = await page.goto(`${origin}/metrics`);
    expect(response?.headers()['content-encoding']).toBe('gzip');
    const text = (await response?.text()) ?? '';
    expect(text.length).toBeGreaterThan(500_000);
    expect(text).toContain('component_uuid="00000000-0000-4000-8000-000000001999"');
    expect(text).toContain('statusmate_exporter_build_info');
    await page.close();
  });
});
