import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { runCli } from '../support/cli.js';
import { postJson, processesPerTest, type ExporterProcess } from '../support/exporter.js';
import { fakeClock } from '../support/fake-clock.js';
import { redisTool, startRedis, type RedisServer } from '../support/redis.js';

// From one exporter on SQLite to replicas on Redis, with real processes: what was counted and the
// availability ledger go along, and a Redis that holds a log is never written over.

const TOKEN = 'secret';
const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const INCIDENT = 'bd25a449-b655-49e3-ac46-a9d6ffd50691';
const REPORT = '/api/v1/availability?from=2026-12-01&to=2026-12-03';

let redis: RedisServer | undefined;
afterEach(async () => {
  await redis?.stop('SIGKILL');
  redis = undefined;
});
// After the hook above: vitest runs after-hooks last registered first, so the exporters stop before Redis.
const { start, stop } = processesPerTest({ WEBHOOK_TOKEN: TOKEN });
async function post(exporter: ExporterProcess, meta: Record<string, unknown>): Promise<void> {
  const res = await postJson(`${exporter.url}/webhook`, { meta: { status_page: 'shop', ...meta } }, { Authorization: `Bearer ${TOKEN}` });
  expect(res.status, await res.text()).toBe(200);
}
const get = async (exporter: ExporterProcess, path: string) => fetch(`${exporter.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
/** The shared state's series (the ledger's seconds grow with the clock: left out). */
const served = async (exporter: ExporterProcess) =>
  (await (await get(exporter, '/metrics')).text())
    .split('\n')
    .filter((line) => /^statusmate_(component|incident|maintenance)/.test(line) && !line.includes('_seconds_total{'));
/** The availability report, but for when it was made. */
const report = async (exporter: ExporterProcess) => ({ ...((await (await get(exporter, REPORT)).json()) as Record<string, unknown>), generated_at: undefined });
async function ready(exporter: ExporterProcess): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await fetch(`${exporter.url}/readyz`)).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${exporter.url} never became ready`);
}

/** A SQLite file with a day's history: a snapshot (a clean stop), and entries after it. */
async function sqliteHistory(): Promise<string> {
  const path = join(tempDir(), 'statusmate.db');
  let exporter = await start({ SQLITE_PATH: path });
  await post(exporter, {
    type: 'component_impact_updated',
    uuid: WEBSITE,
    title: 'Website',
    impact: 'degraded_performance',
    created_at: '2026-12-01T10:00:00+00:00',
  });
  await post(exporter, {
    type: 'incident_created',
    uuid: INCIDENT,
    title: 'API down',
    created_at: '2026-12-01T11:00:00+00:00',
    affected_components: [{ impact: 'major_outage', component_details: { name: 'API', component_uuid: API } }],
  });
  await stop(exporter);
  exporter = await start({ SQLITE_PATH: path });
  await post(exporter, {
    type: 'incident_finished',
    uuid: INCIDENT,
    title: 'API down',
    created_at: '2026-12-02T09:30:00+00:00',
    affected_components: [{ impact: 'operational', component_details: { name: 'API', component_uuid: API } }],
  });
  // Killed: the last entry is after the snapshot, some of it maybe still in the -wal file.
  await stop(exporter, 'SIGKILL');
  return path;
}

describe.skipIf(redisTool.skipReason !== undefined)('seed-redis', () => {
  it('starts the shared log from a SQLite store: replicas serve what the SQLite exporter served, ledger included, and take new events', async () => {
    const path = await sqliteHistory();
    const before = readFileSync(path);
    redis = await startRedis();
    const seeded = await runCli(['seed-redis', path], { REDIS_URL: redis.url });
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(
      /^seeded redis:\/\/127\.0\.0\.1:\d+ \{statusmate\}:log from .+statusmate\.db: a snapshot of \d+ bytes, the log as of 2026-\d\d-\d\dT.+Z; start the replicas\n$/,
    );
    // Read, never changed.
    expect(readFileSync(path).equals(before)).toBe(true);

    const sqlite = await start({ SQLITE_PATH: path });
    const replicas = [await start({ STORE: 'redis', REDIS_URL: redis.url }), await start({ STORE: 'redis', REDIS_URL: redis.url })];
    for (const replica of replicas) await ready(replica);
    const want = await served(sqlite);
    expect(want).toContainEqual('statusmate_incidents_finished_total{status_page="shop"} 1');
    for (const replica of replicas) {
      expect(await served(replica)).toEqual(want);
      expect(await report(replica)).toEqual(await report(sqlite));
    }
    expect(await report(sqlite)).toMatchObject({ status_pages: [{ id: 'shop', down_seconds: 81_000 }] });

    // New events on top, on either replica, as on the SQLite exporter.
    const next = { type: 'component_impact_updated', uuid: WEBSITE, title: 'Website', impact: 'operational', created_at: '2026-12-03T08:00:00+00:00' };
    await post(replicas[0] as ExporterProcess, next);
    await post(sqlite, next);
    for (let i = 0; i < 200 && JSON.stringify(await served(replicas[1] as ExporterProcess)) !== JSON.stringify(await served(sqlite)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await served(replicas[1] as ExporterProcess)).toEqual(await served(sqlite));
  });

  it('never writes over a Redis that holds a log: exit 1, and the replicas keep serving it', async () => {
    const path = await sqliteHistory();
    redis = await startRedis();
    const replica = await start({ STORE: 'redis', REDIS_URL: redis.url });
    await ready(replica);
    await post(replica, { type: 'component_impact_updated', uuid: API, title: 'API', impact: 'partial_outage', created_at: '2026-12-03T08:00:00+00:00' });
    const client = createClient({ url: redis.url });
    await client.connect();
    // What the seed would write, read before and after it. The replica's own writes on its timers
    // (a snapshot, its trim mark, its probe, an alert lease) may land in between, under load.
    const own = /^\{statusmate\}:(snapshot|trimmed|probe|lease:)/;
    const seedable = async () => ({
      keys: (await client.keys('*')).filter((key) => !own.test(key)).sort(),
      log: await client.sendCommand(['XRANGE', '{statusmate}:log', '-', '+']),
      epoch: await client.get('{statusmate}:epoch'),
      owner: await client.get('{statusmate}:owner'),
    });
    const before = await seedable();
    expect(before.keys).toContain('{statusmate}:log');
    const again = await runCli(['seed-redis', path], { REDIS_URL: redis.url });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^statusmate-exporter seed-redis: redis:\/\/127\.0\.0\.1:\d+ \{statusmate\}:log: the redis store holds a log already: only an empty one is seeded\n$/,
    );
    expect(await seedable()).toEqual(before);
    await client.quit();
    expect((await fetch(`${replica.url}/readyz`)).status).toBe(200);
    expect(await served(replica)).toContainEqual(expect.stringMatching(new RegExp(`component_uuid="${API}",component="API",impact="partial_outage"\\} 1$`)));
  });

  it('refuses a log a replica has loaded (under REDIS_KEY_PREFIX), which would keep its empty state and replace the seeded one', async () => {
    const path = await sqliteHistory();
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'drill:' };
    // Started before the seed, as a rollout that scaled the replicas up too early would: it folded an empty log.
    const replica = await start({ STORE: 'redis', ...env });
    await ready(replica);
    const client = createClient({ url: redis.url });
    await client.connect();
    // Its probe, written before it loads the log, marks the log as loaded by a replica: at once,
    // not at its first check seconds later, so that a seed after the load always sees it.
    expect(await client.exists('{drill}:probe')).toBe(1);
    const refused = await runCli(['seed-redis', path], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^statusmate-exporter seed-redis: redis:\/\/127\.0\.0\.1:\d+ \{drill\}:log: a replica has run on this log \(\{drill\}:probe written at 20\d\d-.+Z\): .+ stop every replica, run statusmate-exporter reset-redis --yes, seed again, then start them\n$/,
    );
    expect(await client.exists('{drill}:snapshot')).toBe(0);

    // The way the refusal names: the replica stopped, the log reset, seeded; a replica then serves the SQLite state.
    await stop(replica);
    expect((await runCli(['reset-redis', '--yes'], env)).code).toBe(0);
    const seeded = await runCli(['seed-redis', path], env);
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(0);
    await client.quit();
    const sqlite = await start({ SQLITE_PATH: path });
    const again = await start({ STORE: 'redis', ...env });
    await ready(again);
    expect(await served(again)).toEqual(await served(sqlite));
  });

  it('refuses a file an exporter is running on, and one that is not a SQLite store, in one line each', async () => {
    redis = await startRedis();
    const path = join(tempDir(), 'live.db');
    await start({ SQLITE_PATH: path });
    const busy = await runCli(['seed-redis', path], { REDIS_URL: redis.url });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`${path} is in use by a running exporter: stop it, or seed from a copy that statusmate-exporter backup made`);
    const junk = join(tempDir(), 'junk.db');
    writeFileSync(junk, 'not a database at all, and long enough to be read as one page of something');
    const refused = await runCli(['seed-redis', junk], { REDIS_URL: redis.url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/junk\.db is not a SQLite store this release opens: .+\n$/);
    // Nothing was written: a replica started now begins an empty log.
    const client = createClient({ url: redis.url });
    await client.connect();
    expect(await client.exists('{statusmate}:snapshot')).toBe(0);
    await client.quit();
  });

  it("folds the entries after the snapshot with STATUS_PAGES_FILE's declared pages, as the exporter does at a start", async () => {
    // A declared page and component whose first event is after the store's snapshot: the exporter
    // folds it onto the records the file declares (counted from the declaration), and so must the
    // seeding, or the replicas serve another last change and _created than the SQLite exporter.
    const dir = tempDir();
    const file = join(dir, 'status-pages.yaml');
    writeFileSync(file, `status_pages:\n  - id: shop\n    token_env: SHOP_TOKEN\n    components:\n      - { uuid: ${API}, name: API }\n`);
    const clock = fakeClock(dir, Date.UTC(2026, 11, 1, 8));
    // The page's own token is the exporters' to check; the seeding takes no webhook, and needs none.
    const env = { ...clock.env, STATUS_PAGES_FILE: file };
    const serving = { ...env, SHOP_TOKEN: 'shop-token' };
    const path = join(dir, 'statusmate.db');
    const exporter = await start({ ...serving, SQLITE_PATH: path });
    clock.set(Date.UTC(2026, 11, 1, 9));
    // Operational as declared: its record changed last at the declaration, not now.
    await post(exporter, { type: 'component_impact_updated', uuid: API, title: 'API', impact: 'operational', created_at: '2026-12-01T08:59:00+00:00' });
    const copy = join(dir, 'copy.db');
    const backup = await runCli(['backup', '--url', exporter.url, '--token', TOKEN, '--out', copy], clock.env);
    expect(backup.stdout).toMatch(/no snapshot yet and \d+ entries/);
    await stop(exporter);

    redis = await startRedis();
    const seeded = await runCli(['seed-redis', copy], { ...env, REDIS_URL: redis.url });
    expect(seeded.stderr).toBe('');
    const sqlite = await start({ ...serving, SQLITE_PATH: copy });
    const replica = await start({ ...serving, STORE: 'redis', REDIS_URL: redis.url });
    await ready(replica);
    const openMetrics = async (exporter: ExporterProcess) =>
      (
        await (
          await fetch(`${exporter.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/openmetrics-text; version=1.0.0' } })
        ).text()
      )
        .split('\n')
        .filter((line) => /^statusmate_(component_last_change|incidents_created_created)/.test(line));
    const want = await openMetrics(sqlite);
    expect(want).toEqual([
      `statusmate_component_last_change_timestamp_seconds{status_page="shop",component_uuid="${API}",component="API"} 1796112000`,
      'statusmate_incidents_created_created{status_page="shop"} 1796112000',
    ]);
    expect(await openMetrics(replica)).toEqual(want);
  });

  it('says what it needs before touching anything: one file, and REDIS_URL', async () => {
    expect((await runCli(['seed-redis'], {})).stderr).toContain('seed-redis takes one SQLite file');
    const missing = await runCli(['seed-redis', join(tempDir(), 'x.db')], {});
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('invalid configuration: REDIS_URL: required with STORE=redis');
    const none = await runCli(['seed-redis', join(tempDir(), 'nowhere.db')], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('nowhere.db: no such file');
    // A status pages file the exporter would refuse: one line naming it and the problem, before Redis is touched.
    const dir = tempDir();
    const store = join(dir, 'store.db');
    writeFileSync(store, '');
    const pages = join(dir, 'pages.yaml');
    writeFileSync(pages, 'status_pages: [{ id: shop, components: [{ uuid: not-a-uuid }] }]\n');
    const invalid = await runCli(['seed-redis', store], { REDIS_URL: 'redis://127.0.0.1:1', STATUS_PAGES_FILE: pages });
    expect(invalid.code).toBe(64);
    expect(invalid.stderr).toContain(`STATUS_PAGES_FILE ${pages}: status_pages[0].components[0]`);
    expect(invalid.stderr.trim().split('\n')).toHaveLength(1);
  });
});
