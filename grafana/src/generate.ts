// `npm run dashboards`: writes every dashboard's JSON into grafana/dashboards/. The JSON is
// committed; test/grafana-dashboards.test.ts fails when it differs from what this writes.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, render } from './dashboards.js';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'dashboards');
mkdirSync(outDir, { recursive: true });
for (const { file, build } of DASHBOARDS) {
  const path = join(outDir, file);
  writeFileSync(path, render(build()));
  console.log(`wrote ${path}`);
}
