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
