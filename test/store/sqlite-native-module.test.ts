import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeModuleProblem } from '../../src/store/sqlite-file.js';

// better-sqlite3's compiled module is loaded at the first open. Built for another Node (a `nodedir`
// in ~/.npmrc naming another Node's headers did it on a first `npm ci` here) or not built at all,
// the start used to say "SQLite file ./data/statusmate-exporter.db (SQLITE_PATH): cannot open: The
// module ... was compiled against a different Node.js version", which blames the file.

const require = createRequire(import.meta.url);
let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** What Node 20 said, word for word, loading a better-sqlite3 that Node 24 had built. */
const ABI_MISMATCH =
  "The module '/srv/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
  'was compiled against a different Node.js version using\n' +
  'NODE_MODULE_VERSION 115. This version of Node.js requires\n' +
  'NODE_MODULE_VERSION 137. Please try re-compiling or re-installing\n' +
  'the module (for instance, using `npm rebuild` or `npm install`).';

describe("a better-sqlite3 this Node cannot load, said as what it is, not as the SQLite file's fault", () => {
  it('names the Node versions and the rebuild for a module built for another Node', () => {
    const problem = nativeModuleProblem(Object.assign(new Error(ABI_MISMATCH), { code: 'ERR_DLOPEN_FAILED' }));
    expect(problem).toBe(
      `STORE=sqlite: better-sqlite3's compiled module cannot be loaded by this Node (${process.version}, NODE_MODULE_VERSION ${process.versions.modules}): ` +
        'it was built for NODE_MODULE_VERSION 115, another Node version; rebuild it for this Node: npm rebuild better-sqlite3, with this node first on PATH ' +
        '(offline, with npm_config_nodedir set to its prefix: see the README), or set STORE=memory',
    );
    expect(problem).not.toContain('\n');
  });

  it('gives the first line of what Node said for a file that is no module at all', () => {
    dir = mkdtempSync(join(tmpdir(), 'native-module-'));
    const broken = join(dir, 'better_sqlite3.node');
    writeFileSync(broken, 'not a shared object');
    let error: unknown;
    try {
      process.dlopen({ exports: {} }, broken);
    } catch (caught) {
      error = caught;
    }
    expect((error as { code?: string }).code).toBe('ERR_DLOPEN_FAILED');
    const problem = nativeModuleProblem(error);
    expect(problem).toMatch(/^STORE=sqlite: better-sqlite3's compiled module cannot be loaded by this Node \(v\d+/);
    expect(problem).toContain(broken);
    expect(problem).toContain('npm rebuild better-sqlite3');
    expect(problem).not.toContain('\n');
  });

  it('says the module is missing when it was never built, rather than listing the thirteen paths it tried', () => {
    dir = mkdtempSync(join(tmpdir(), 'native-module-'));
    writeFileSync(join(dir, 'package.json'), '{}');
    let error: unknown;
    try {
      // The loader better-sqlite3 itself uses, looking in a package that has no build.
      (require('bindings') as (options: { bindings: string; module_root: string }) => unknown)({ bindings: 'better_sqlite3.node', module_root: dir });
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).toMatch(/^Could not locate the bindings file/);
    expect(nativeModuleProblem(error)).toMatch(
      /^STORE=sqlite: better-sqlite3's compiled module is missing .*npm rebuild better-sqlite3.* or set STORE=memory$/,
    );
  });

  it('leaves every other error to the message that names the file', () => {
    expect(nativeModuleProblem(Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' }))).toBeUndefined();
    expect(nativeModuleProblem('a string')).toBeUndefined();
    expect(nativeModuleProblem(undefined)).toBeUndefined();
  });
});
