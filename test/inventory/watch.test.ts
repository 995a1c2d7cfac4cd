import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_INVENTORY_LIMITS, maxFileBytes } from '../../src/inventory/file.js';
import { LiveInventory } from '../../src/inventory/live.js';
import { fileFingerprint, watchFile, type FileWatcher } from '../../src/inventory/watch.js';
import { createLogger } from '../../src/logger.js';
import { sampleValue, tempDir } from '../support/app.js';
import { ConfigMapVolume } from '../support/configmap-volume.js';

const page = (id: string) => `status_pages:\n  - id: ${id}\n    components:\n      - uuid: 88337a51-852b-48f3-ac8d-840e5f5326a0\n        name: API\n`;

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const MAX_BYTES = maxFileBytes(DEFAULT_INVENTORY_LIMITS);

let watcher: FileWatcher | undefined;
afterEach(() => watcher?.stop());

describe('watching a status pages file mounted from a ConfigMap', () => {
  it('reports a change when the kubelet swaps the ..data symlink, and none while the content stays the same', async () => {
    const volume = new ConfigMapVolume(tempDir(), 'status-pages.yaml', page('acme'));
    let changes = 0;
    watcher = watchFile({ file: volume.path, maxBytes: MAX_BYTES, intervalSeconds: 0.02, onChange: () => Promise.resolve(changes++) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(changes).toBe(0);
    volume.update(page('shop'));
    await until(() => changes === 1);
    volume.update(page('shop')); // a new generation with the same content
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(changes).toBe(1);
  });

  it('sees a change made before its first look when given the fingerprint taken before the load', async () => {
    const volume = new ConfigMapVolume(tempDir(), 'status-pages.yaml', page('acme'));
    const before = await fileFingerprint(volume.path, MAX_BYTES);
    volume.update(page('shop')); // while the caller was still opening its store
    let changes = 0;
    watcher = watchFile({
      file: volume.path,
      maxBytes: MAX_BYTES,
      intervalSeconds: 0.02,
      initialFingerprint: before,
      onChange: () => Promise.resolve(changes++),
    });
    await until(() => changes === 1);
  });

  it('stops looking once stopped', async () => {
    const volume = new ConfigMapVolume(tempDir(), 'status-pages.yaml', page('acme'));
    let changes = 0;
    watcher = watchFile({ file: volume.path, maxBytes: MAX_BYTES, intervalSeconds: 0.02, onChange: () => Promise.resolve(changes++) });
    await new Promise((resolve) => setTimeout(resolve, 60));
    watcher.stop();
    volume.update(page('shop'));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(changes).toBe(0);
  });

  it('keeps watching after a change handler fails, and hands it the error', async () => {
    const volume = new ConfigMapVolume(tempDir(), 'status-pages.yaml', page('acme'));
    const errors: unknown[] = [];
    let calls = 0;
    watcher = watchFile({
      file: volume.path,
      maxBytes: MAX_BYTES,
      intervalSeconds: 0.02,
      onChange: () => (++calls === 1 ? Promise.reject(new Error('first fails')) : Promise.resolve()),
      onError: (error) => errors.push(error),
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    volume.update(page('shop'));
    await until(() => calls === 1);
    volume.update(page('blog'));
    await until(() => calls === 2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['first fails']);
  });

  it('reloads the live inventory on a swap, and flags an invalid file through statusmate_config_last_reload_successful', async () => {
    const volume = new ConfigMapVolume(tempDir(), 'status-pages.yaml', page('acme'));
    const inventory = LiveInventory.load({ file: volume.path, env: {}, allPagesTokens: [], defaultStatusPage: 'default', logger: createLogger('silent') });
    const registry = new Registry();
    inventory.register(registry);
    watcher = watchFile({ file: volume.path, maxBytes: MAX_BYTES, intervalSeconds: 0.02, onChange: () => inventory.reload() });
    await new Promise((resolve) => setTimeout(resolve, 60));

    volume.update(page('shop'));
    await until(() => inventory.current().pages[0]?.id === 'shop');

    volume.update('status_pages:\n  - id: shop\n    componentz: []\n');
    await until(async () => sampleValue(await registry.metrics(), 'statusmate_config_last_reload_successful') === 0);
    expect(inventory.current().pages.map((p) => p.id)).toEqual(['shop']);

    volume.update(page('blog'));
    await until(async () => sampleValue(await registry.metrics(), 'statusmate_config_last_reload_successful') === 1);
    expect(inventory.current().pages.map((p) => p.id)).toEqual(['blog']);
  });
});

describe('the fingerprint of a status pages file', () => {
  it('reads no further than a load would: a file past the limit changed only beyond it keeps its fingerprint', async () => {
    const path = join(tempDir(), 'pages.yaml');
    writeFileSync(path, `${'#'.repeat(999)}a`);
    const before = await fileFingerprint(path, 100);
    writeFileSync(path, `${'#'.repeat(999)}b`);
    expect(await fileFingerprint(path, 100)).toBe(before);
    writeFileSync(path, `${'#'.repeat(50)}b`);
    expect(await fileFingerprint(path, 100)).not.toBe(before);
  });

  it('takes a named pipe as no regular file, without waiting for something to write to it', async () => {
    const pipe = join(tempDir(), 'pages.yaml');
    execFileSync('mkfifo', [pipe]);
    expect(await fileFingerprint(pipe, MAX_BYTES)).toBe('error:not-a-file');
  });
});
