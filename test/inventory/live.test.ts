import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../src/inventory/file.js';
import { LiveInventory, type LiveInventoryOptions } from '../../src/inventory/live.js';
import { createLogger } from '../../src/logger.js';
import { LogCapture, tempDir } from '../support/app.js';

const WITH_TOKEN = 'status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n  - id: internal\n';
const WITHOUT_TOKEN = 'status_pages:\n  - id: acme\n  - id: internal\n';

function live(text: string, options: Partial<LiveInventoryOptions> = {}) {
  const file = join(tempDir(), 'status-pages.yaml');
  writeFileSync(file, text);
  const parses = { count: 0 };
  const logs = new LogCapture();
  const inventory = LiveInventory.load({
    file,
    env: { ACME_WEBHOOK_TOKEN: 'acme-token' },
    allPagesTokens: [],
    defaultStatusPage: 'default',
    logger: createLogger('debug', logs),
    parse: (...args) => {
      parses.count += 1;
      return parseInventory(...args);
    },
    ...options,
  });
  return { file, inventory, parses, logs };
}

describe('reloading the status pages file', () => {
  it('costs a read and a hash, not a parse, when neither the file nor the tokens changed', async () => {
    const { inventory, parses } = live(WITH_TOKEN);
    expect(parses.count).toBe(1);
    for (let i = 0; i < 50; i += 1) expect(await inventory.reload()).toEqual({ ok: true, statusPages: 2, components: 0 });
    expect(parses.count).toBe(1);
  });

  it('costs no parse when the file was rewritten with the same bytes (a touch, a config-map sync)', async () => {
    const { file, inventory, parses } = live(WITH_TOKEN);
    writeFileSync(file, WITH_TOKEN);
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect((await inventory.reload()).ok).toBe(true);
    expect(parses.count).toBe(1);
  });

  it('runs one reload for a burst asked for while another runs', async () => {
    const { file, inventory, parses } = live(WITH_TOKEN);
    writeFileSync(file, `${WITH_TOKEN}  - id: third\n`);
    const results = await Promise.all(Array.from({ length: 20 }, () => inventory.reload()));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(parses.count).toBe(2);
  });

  it('parses again once the file changed', async () => {
    const { file, inventory, parses } = live(WITH_TOKEN);
    writeFileSync(file, `${WITH_TOKEN}  - id: third\n`);
    expect(await inventory.reload()).toEqual({ ok: true, statusPages: 3, components: 0 });
    expect(parses.count).toBe(2);
  });

  it('retries a refused file without parsing it again, and says why each time', async () => {
    const { file, inventory, parses } = live(WITH_TOKEN);
    writeFileSync(file, 'status_pages: [\n');
    const first = await inventory.reload();
    const second = await inventory.reload();
    expect(first).toEqual(second);
    expect(first.ok).toBe(false);
    expect(parses.count).toBe(2);
  });

  it('warns, on a reload that adds one, of a page no token opens (page tokens only, no WEBHOOK_TOKEN), and not when WEBHOOK_TOKEN opens it', async () => {
    const warning =
      'status page "third" has no token_env and WEBHOOK_TOKEN is not set: every webhook of it is refused (401), since a page\'s token_env makes every webhook need a token; give it a token_env, or set WEBHOOK_TOKEN';
    const { file, inventory, logs } = live('status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n');
    writeFileSync(file, 'status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n  - id: third\n');
    expect((await inventory.reload()).ok).toBe(true);
    expect(logs.lines.filter((line) => line.level === 'warn').map((line) => line.msg)).toEqual([warning]);

    const opened = live('status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n', { allPagesTokens: ['all-pages'] });
    writeFileSync(opened.file, 'status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n  - id: third\n');
    expect((await opened.inventory.reload()).ok).toBe(true);
    expect(opened.logs.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });

  it('refuses a file that would leave webhooks without any token, keeping the tokens in force', async () => {
    const { file, inventory, logs } = live(WITH_TOKEN);
    writeFileSync(file, WITHOUT_TOKEN);
    const result = await inventory.reload();
    expect(result).toEqual({
      ok: false,
      error: `STATUS_PAGES_FILE ${file}: refused: it names no token_env and WEBHOOK_TOKEN is unset, so webhooks would be accepted without any token; restart the exporter to run without a token`,
    });
    expect(inventory.webhookAccess().tokens.required).toBe(true);
    expect(inventory.current().pageTokens.get('acme')).toEqual(['acme-token']);
    expect(logs.lines.some((line) => line.msg === 'reload failed; the status pages in force are kept')).toBe(true);
  });

  it('still starts with no token at all, and reloads a file without one', async () => {
    const { file, inventory } = live(WITHOUT_TOKEN);
    expect(inventory.webhookAccess().tokens.required).toBe(false);
    writeFileSync(file, `${WITHOUT_TOKEN}  - id: third\n`);
    expect((await inventory.reload()).ok).toBe(true);
  });

  it('lets a file drop its last token_env when WEBHOOK_TOKEN still guards every page', async () => {
    const { file, inventory } = live(WITH_TOKEN, { allPagesTokens: ['all-pages'] });
    writeFileSync(file, WITHOUT_TOKEN);
    expect((await inventory.reload()).ok).toBe(true);
    expect(inventory.webhookAccess().tokens.required).toBe(true);
  });

  it.each([
    ['status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n', 'status_pages:\n  - id: acme\n    token_env: ACME_WEBH'],
    ['status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n', 'status_pages:\n  - id: acme\n'],
    ['status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n', ''],
  ])('never accepts a cut of a file with a token as a reload that opens its pages (%#)', async (whole, cut) => {
    const { file, inventory } = live(whole);
    writeFileSync(file, cut);
    expect((await inventory.reload()).ok).toBe(false);
    expect(inventory.webhookAccess().tokens.required).toBe(true);
  });
});
