// `npm ci`'s install step for this package: compiles native/malloc.c (binding.gyp) with the
// node-gyp npm puts on PATH for scripts, as better-sqlite3 is compiled. The addon is optional:
// without a C compiler the exporter runs without it (it says so once at start), so a failed
// build warns in one line and lets the install go on. Plain JavaScript: nothing is compiled yet.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const result = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], shell: process.platform === 'win32' });
if (result.status !== 0) {
  const reason = result.error?.message ?? (result.stderr?.toString().trim().split('\n').filter(Boolean).at(-1) || `exit ${result.status}`);
  console.warn(`statusmate-exporter: the malloc addon was not built (${reason}); the exporter runs without it, holding more memory after bursts`);
}
