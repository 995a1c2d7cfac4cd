import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';
import { tempDir } from './app.js';
import { findTool } from './tools.js';

/** Debian's chromium: the page tests drive a real browser, never a downloaded build. */
export const chromiumTool = findTool('chromium', "apt-get install chromium (Debian's package; .ci/run installs it)");

/** Headless as root in a VM, and quiet: nothing of Chromium's own reaches the network. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A headless Chromium with a profile of its own, at a laptop's 1280×800. Scripts are off unless
 * asked for: the landing page works without any, as a browser with them off shows it.
 */
export function launchChromium(options: { javaScriptEnabled?: boolean; bypassCSP?: boolean } = {}): Promise<BrowserContext> {
  if (chromiumTool.path === undefined) throw new Error('chromium is not installed');
  return chromium.launchPersistentContext(tempDir('statusmate-chromium-'), {
    executablePath: chromiumTool.path,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    javaScriptEnabled: options.javaScriptEnabled ?? false,
    bypassCSP: options.bypassCSP ?? false,
  });
}

/** A server on 127.0.0.1 for the browser to load: its port, and a close that drops kept-alive connections. */
export type LoopbackServer = { port: number; origin: string; close(): Promise<void> };

/** Serves `handler` (an app's Express handler, or a fixed page) on a free port of 127.0.0.1. */
export async function serveOnLoopback(handler: RequestListener): Promise<LoopbackServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      // Chromium keeps its connections alive: close() alone waits for them.
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A handler answering every request with `html`. */
export const htmlPage =
  (html: () => string): RequestListener =>
  (_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html());
