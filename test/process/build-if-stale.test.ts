import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { REPO_ROOT } from '../support/helm.js';

// npm start's prestart, on a copy of the checkout: it compiles when src/ is newer than dist/,
// and does nothing on a built checkout.

const run = (root: string) => spawnSync(process.execPath, [join(root, 'tools', 'build-if-stale.mjs')], { cwd: root, encoding: 'utf8', timeout: 120_000 });

describe('tools/build-if-stale.mjs', () => {
  it('builds a checkout without dist/, then leaves a built one alone, then builds again after a source changes', () => {
    const root = tempDir('statusmate-checkout-');
    for (const path of ['src', 'tools', 'package.json', 'tsconfig.json', 'tsconfig.build.json'])
      cpSync(join(REPO_ROOT, path), join(root, path), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));

    const first = run(root);
    expect(first.status).toBe(0);
    expect(first.stderr.trim()).toBe('building dist/ (the first start of this checkout: it is not built yet)');
    const main = join(root, 'dist', 'main.js');
    expect(existsSync(main)).toBe(true);
    // The package's bin, which npx runs by its shebang, is executable (tsc writes it 0644).
    expect(statSync(join(root, 'dist', 'cli.js')).mode & 0o111).toBe(0o111);

    const built = statSync(main).mtimeMs;
    const second = run(root);
    expect([second.status, second.stderr]).toEqual([0, '']);
    expect(statSync(main).mtimeMs).toBe(built);

    const later = new Date(built + 60_000);
    utimesSync(join(root, 'src', 'config.ts'), later, later);
    const third = run(root);
    expect(third.status).toBe(0);
    expect(third.stderr.trim()).toBe('building dist/ (src/ changed since the last build)');
    expect(statSync(main).mtimeMs).toBeGreaterThan(built);
  });
});
