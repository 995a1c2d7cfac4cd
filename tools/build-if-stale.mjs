// `npm start`'s prestart: compiles dist/ only when a source is newer than it, so that starting a
// built checkout costs no build. Plain JavaScript because it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist', 'main.js');

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted or renamed file shows as a newer directory
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const cli = join(root, 'dist', 'cli.js');
// The package's bin: tsc writes it without the execute bit, which `npx statusmate-exporter` needs
// (npm exec runs the file by its shebang). `npm run build` sets it too.
const executableBin = () => {
  if (existsSync(cli)) chmodSync(cli, 0o755);
};

const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'tsconfig.json')), newest(join(root, 'tsconfig.build.json')));
if (existsSync(built) && statSync(built).mtimeMs >= sources) {
  executableBin();
  process.exit(0);
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  console.error('dist/ is missing or older than src/, and TypeScript is not installed: run npm ci, then npm run build');
  process.exit(1);
}
// A fresh clone has no dist/ at all: "src/ changed since the last build" would speak of a build that never was.
console.error(
  existsSync(built) ? 'building dist/ (src/ changed since the last build)' : 'building dist/ (the first start of this checkout: it is not built yet)',
);
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (result.status === 0) executableBin();
process.exit(result.status ?? 1);
