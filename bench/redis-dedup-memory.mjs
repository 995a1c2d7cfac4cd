// node bench/redis-dedup-memory.mjs (after npm run build): Redis memory of 100k dedup records in
// a snapshot, and of 100k log entries before a snapshot trims them, on a redis-server of its own
// (127.0.0.1, a free-ish port, a temporary directory, stopped by its PID when done).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createClient } from 'redis';
import { createState } from '../dist/domain/state.js';
import { encodeEntry } from '../dist/log/entry.js';
import { encodeSnapshot, SNAPSHOT_FORMAT } from '../dist/log/snapshot.js';
import { dedupKey } from '../dist/ingest/dedup-key.js';
import { DEFAULT_LIMITS } from '../dist/domain/reducer.js';
const port = 16000 + Math.floor(Math.random() * 1000);
const server = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', mkdtempSync(join(tmpdir(), 'redis-mem-'))],
  { stdio: 'ignore' },
);
await new Promise((r) => setTimeout(r, 500));
const client = createClient({ url: `redis://127.0.0.1:${port}` });
await client.connect();
const used = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);
const base = await used();
const state = createState();
const events = [];
for (let i = 0; i < 100_000; i++) {
  const event = {
    type: 'component_impact_updated',
    statusPage: 'p',
    uuid: `00000000-0000-4000-8000-${String(i % 10000).padStart(12, '0')}`,
    createdAt: 1767225600 + i,
    deliveryAttempt: 0,
    name: `Component ${i % 10000}`,
    impact: 'operational',
  };
  state.seen.set(dedupKey(event), 1767225600 + i);
  events.push(event);
}
const fields = { v: String(SNAPSHOT_FORMAT), id: '1-0', t: '1', data: encodeSnapshot(state) };
await client.hSet('{statusmate}:snapshot', fields);
const afterSnapshot = await used();
for (let i = 0; i < events.length; i += 1000) {
  const multi = client.multi();
  for (const event of events.slice(i, i + 1000)) multi.xAdd('{statusmate}:log', '*', encodeEntry('r:1', event, DEFAULT_LIMITS, 604800));
  await multi.exec();
}
const afterLog = await used();
console.log(
  JSON.stringify({
    snapshot_100k_dedup_MiB: ((afterSnapshot - base) / 2 ** 20).toFixed(2),
    log_100k_entries_MiB: ((afterLog - afterSnapshot) / 2 ** 20).toFixed(2),
    snapshot_bytes: fields.data.length,
  }),
);
await client.quit();
server.kill('SIGTERM');
