import { describe, expect, it } from 'vitest';
import { InventoryError, parseInventory } from '../../src/inventory/file.js';
import { parseOffThread } from '../../src/inventory/parse-off-thread.js';

const LIMITS = { maxStatusPages: 100, maxComponents: 20_000 };
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const bigFile = (components: number) =>
  `status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n    components:\n${Array.from({ length: components }, (_, i) => `      - uuid: ${uuid(i)}\n        name: Component ${i}\n`).join('')}`;

describe('a reload parses in a thread of its own', () => {
  it('gives the inventory the main thread would, tokens included', async () => {
    const text = bigFile(50);
    const env = { ACME_WEBHOOK_TOKEN: 'a,b', PATH: '/bin' };
    expect(await parseOffThread(text, 'f.yaml', env, LIMITS)).toEqual(parseInventory(text, 'f.yaml', env, LIMITS));
  });

  it('refuses an invalid file with the same one-line reason', async () => {
    const text = 'status_pages:\n  - id: a\n    uuid: nope\n';
    await expect(parseOffThread(text, 'f.yaml', {}, LIMITS)).rejects.toThrow(
      new InventoryError('STATUS_PAGES_FILE f.yaml: status_pages[0].uuid: must be a UUID (at line 3, column 11)'),
    );
  });

  it('keeps the event loop turning while a large file is parsed', async () => {
    const text = bigFile(10_000);
    const env = { ACME_WEBHOOK_TOKEN: 't' };
    const started = performance.now();
    parseInventory(text, 'f.yaml', env, LIMITS);
    const onMainThread = performance.now() - started;

    let last = performance.now();
    let longest = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    try {
      const inventory = await parseOffThread(text, 'f.yaml', env, LIMITS);
      expect(inventory.pages[0]?.components).toHaveLength(10_000);
    } finally {
      clearInterval(ticker);
    }
    expect(longest).toBeLessThan(onMainThread / 2);
  });
});
