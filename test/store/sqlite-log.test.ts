import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTRY_FORMAT } from '../../src/log/entry.js';
import { REFUSING_STORE } from '../../src/log/fold-loop.js';
import { SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { isSharedStateSample } from '../../src/metrics/names.js';
import { schemaVersionOf } from '../../src/store/sqlite-file.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import { StoreError } from '../../src/store/store.js';
import { domainSamples, makeApp, sampleValue, sqliteStore, tempDir, type TestApp } from '../support/app.js';
import { runExporterToExit, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// The SQLite log on a real file: one writer, upgrades that keep what was acknowledged, and a
// snapshot that bounds what a start replays.

/**
 * Files written by earlier releases (each folder's README says how): schema version 2 (rows), 3
 * (one snapshot text), and 4 with event entries of format 5 after its snapshot.
 */
const FIXTURES = [
  { release: 'the release before the log (schema 2)', folder: new URL('../fixtures/sqlite-v2/', import.meta.url) },
  { release: 'the release before snapshot pieces (schema 3), with entries after its snapshot', folder: new URL('../fixtures/sqlite-v3/', import.meta.url) },
  {
    release: 'the release before event entries of format 6, with entries after its snapshot',
    folder: new URL('../fixtures/sqlite-format-5/', import.meta.url),
  },
];
const FORMAT_5 = new URL('../fixtures/sqlite-format-5/', import.meta.url);
const post = (app: TestApp, body: unknown) => request(app.main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify(body));
const metrics = async (app: TestApp) => (await request(app.main).get('/metrics')).text;
const update = (uuid: string, impact: string) => ({
  meta: { type: 'component_impact_updated', uuid, title: 'New', impact, created_at: '2026-12-02T10:00:00Z' },
});

let apps: TestApp[] = [];
let running: ExporterProcess | undefined;
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
  await stopProcess(running);
  running = undefined;
});
const open = async (path: string) => {
  const app = await makeApp({ store: sqliteStore(path) });
  apps.push(app);
  return app;
};

/** A SqliteLog on `path` with two entries appended, `first` and `second`. */
async function openWithTwoEntries(path: string, synchronous: 'normal' | 'full'): Promise<SqliteLog> {
  const store = new SqliteLog({ path, synchronous });
  await store.open();
  expect(
    await store.append([
      { v: '1', e: 'first' },
      { v: '1', e: 'second' },
    ]),
  ).toEqual([null, null]);
  return store;
}

describe('one writer per SQLite file', () => {
  it('stops a second exporter on the same file at start with exit 78 and one line naming the file, and it never answers', async () => {
    const path = join(tempDir(), 'shared.db');
    running = await startExporterProcess({ SQLITE_PATH: path });
    const second = await runExporterToExit({ SQLITE_PATH: path });
    expect(second.code).toBe(78);
    const lines = second.stdout.split('\n').filter((line) => line.trim() !== '');
    const last = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
    expect(last.level).toBe('fatal');
    expect(last.msg).toBe(`could not start: SQLite file ${path} (SQLITE_PATH) is in use by another process: stop that exporter, or give this one another file`);
    expect(lines.some((line) => line.includes('statusmate-exporter listening'))).toBe(false);
    expect(second.stderr).toBe('');
    // The first one still answers.
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  });

  it('finds the file in use when it first looks at its schema version, rather than waiting out a busy timeout', async () => {
    // better-sqlite3 waits 5 s by default for a lock: a second `npm start` sat silent that long,
    // then read the version as "none" and only the open after it said why.
    const path = join(tempDir(), 'held.db');
    const first = new SqliteLog({ path, synchronous: 'normal' });
    await first.open();
    try {
      expect(() => schemaVersionOf(path)).toThrow(
        new StoreError(`SQLite file ${path} (SQLITE_PATH) is in use by another process: stop that exporter, or give this one another file`),
      );
    } finally {
      await first.close();
    }
    expect(schemaVersionOf(path)).toBe(4);
  });

  it('refuses a second store in the same process too, and lets the file go when the first closes', async () => {
    const path = join(tempDir(), 'twice.db');
    const first = new SqliteLog({ path, synchronous: 'normal' });
    await first.open();
    const second = new SqliteLog({ path, synchronous: 'normal' });
    await expect(second.open()).rejects.toThrow(/is in use by another process/);
    await second.close();
    await first.close();
    const third = new SqliteLog({ path, synchronous: 'normal' });
    await expect(third.open()).resolves.toBeUndefined();
    await third.close();
  });

  it.each([
    ['a directory', (dir: string) => dir, /: is a directory: name a file in it, such as .*\/statusmate-exporter\.db$/],
    ['under a file', (dir: string) => (writeFileSync(join(dir, 'plain'), 'x'), join(dir, 'plain', 'x.db')), /cannot create its directory .* \(ENOTDIR\)/],
    ['under /proc', () => '/proc/nope/x.db', /cannot create its directory \/proc\/nope \(ENOENT\)/],
  ])('stops at start with exit 78 and one line naming SQLITE_PATH when the path is %s', async (_what, pathOf, message) => {
    const path = pathOf(tempDir());
    const { code, stdout, stderr } = await runExporterToExit({ SQLITE_PATH: path }, 15_000);
    expect(code).toBe(78);
    expect(stderr).toBe('');
    const last = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(String(last.msg)).toContain(`SQLite file ${path} (SQLITE_PATH)`);
    expect(String(last.msg)).toMatch(message);
    expect(JSON.stringify(last)).not.toContain('stack');
  });
});

describe('a file written by the release before the log', () => {
  it.each(FIXTURES)('serves exactly the series $release served, takes new events on top, and keeps both across a restart', async ({ folder }) => {
    const path = join(tempDir(), 'upgraded.db');
    copyFileSync(new URL('statusmate-exporter.db', folder), path);
    const served = readFileSync(new URL('metrics.txt', folder), 'utf8').split('\n').filter(isSharedStateSample);
    expect(served.length).toBeGreaterThan(50);

    const app = await open(path);
    expect(domainSamples(await metrics(app))).toEqual(served);
    expect((await post(app, update('11111111-2222-4333-8444-555555555555', 'major_outage'))).body.status).toBe('applied');
    // A retry of an event the old release applied is still a duplicate: its dedup records came along.
    const history = readFileSync(new URL('history.jsonl', folder), 'utf8').trim().split('\n');
    const first = JSON.parse(history[0] ?? '{}') as { meta: Record<string, unknown> };
    expect((await post(app, { ...first, meta: { ...first.meta, delivery_attempt: 2 } })).body.status).toBe('duplicate');
    const after = domainSamples(await metrics(app));
    expect(after.filter((line) => line.includes('11111111-2222-4333-8444-555555555555')).length).toBeGreaterThan(0);
    await app.close();
    apps = [];

    const reopened = await open(path);
    expect(domainSamples(await metrics(reopened))).toEqual(after);
    await reopened.close();
    apps = [];
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT version FROM schema_version').get()).toEqual({ version: 4 });
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
      expect(tables).not.toContain('components');
      expect(tables).toEqual(expect.arrayContaining(['log', 'snapshot', 'snapshot_piece']));
      // The text lives in its pieces: the old column is left empty.
      expect(db.prepare('SELECT data FROM snapshot').get()).toEqual({ data: '' });
      expect((db.prepare('SELECT count(*) AS n FROM snapshot_piece').get() as { n: number }).n).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});

describe('a file written by the release before event entries of format 6', () => {
  const report = async (app: TestApp) => {
    const answer = await request(app.main).get('/api/v1/availability?from=2026-11-30&to=2026-12-01');
    expect(answer.status).toBe(200);
    const { generated_at: _generatedAt, ...rest } = answer.body as Record<string, unknown>;
    return rest;
  };
  const refunds = (body: Record<string, unknown>) =>
    (body.status_pages as { components: { name: string; seconds: Record<string, number> }[] }[])
      .flatMap((page) => page.components)
      .find((component) => component.name === 'Refunds')?.seconds;

  it('serves the availability report that release served: its format 5 entries are folded by its rules', async () => {
    const path = join(tempDir(), 'format5.db');
    copyFileSync(new URL('statusmate-exporter.db', FORMAT_5), path);
    const { generated_at: _generatedAt, ...served } = JSON.parse(readFileSync(new URL('availability.json', FORMAT_5), 'utf8')) as Record<string, unknown>;
    const app = await open(path);
    const upgraded = await report(app);
    // What that release served, and kept_from, which this release's reports added.
    expect(upgraded).toEqual({ ...served, kept_from: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    // That release booked Refunds, named only by the late incident_created, operational throughout.
    expect(refunds(upgraded)?.major_outage).toBe(0);

    // The same history appended by a release from format 6 on books the incident's 30 minutes.
    const fresh = await makeApp({});
    apps.push(fresh);
    for (const line of readFileSync(new URL('history.jsonl', FORMAT_5), 'utf8').trim().split('\n')) {
      expect((await post(fresh, JSON.parse(line))).status).toBe(200);
    }
    expect(refunds(await report(fresh))?.major_outage).toBe(1800);
  });
});

describe('a file with alerts entries of format 3 after its snapshot', () => {
  const ALERTS_FIXTURE = new URL('../fixtures/sqlite-alerts-format-3/', import.meta.url);

  it('serves the response and recovery lag that release measured: its alerts entries are folded as it folded them', async () => {
    const path = join(tempDir(), 'alerts.db');
    copyFileSync(new URL('statusmate-exporter.db', ALERTS_FIXTURE), path);
    const served = readFileSync(new URL('metrics.txt', ALERTS_FIXTURE), 'utf8').split('\n').filter(isSharedStateSample);
    // The file's alerts entries after the snapshot are those a start folds again.
    const db = new Database(path, { readonly: true });
    try {
      const snapshotAt = (db.prepare('SELECT position FROM snapshot').get() as { position: number }).position;
      const after = (db.prepare('SELECT entry FROM log WHERE position > ?').all(snapshotAt) as { entry: string }[]).map(
        ({ entry }) => JSON.parse(entry) as { v: string; k?: string },
      );
      expect(after.filter((entry) => entry.k === 'alerts' && entry.v === '3')).toHaveLength(5);
    } finally {
      db.close();
    }

    const app = await makeApp({
      store: sqliteStore(path),
      tokens: ['hook'],
      alertmanagerTokens: ['am'],
      statusPagesFile: fileURLToPath(new URL('status-pages.yaml', ALERTS_FIXTURE)),
    });
    apps.push(app);
    const text = (await request(app.main).get('/metrics').set('Authorization', 'Bearer hook')).text;
    expect(domainSamples(text)).toEqual(served);
    // What the file's README says that release measured, named here so that a change shows which.
    expect(sampleValue(text, 'statusmate_status_page_response_seconds_count', { status_page: 'shop' })).toBe(5);
    expect(sampleValue(text, 'statusmate_status_page_response_seconds_sum', { status_page: 'shop' })).toBe(1010);
    expect(sampleValue(text, 'statusmate_status_page_recovery_lag_seconds_count', { status_page: 'shop' })).toBe(1);
    expect(sampleValue(text, 'statusmate_status_page_recovery_lag_seconds_sum', { status_page: 'shop' })).toBe(900);
  });
});

describe('a file this release wrote, as the release before finds it', () => {
  // That release reads snapshots of format 5, event entries up to format 12 and alerts entries up
  // to format 10: it serves a file this one stopped cleanly, and refuses one it left with entries
  // after its snapshot (README, 'Upgrading from the release before an incident created again at
  // an earlier time moved its start back').
  it('holds a format 5 snapshot and no entry after a clean stop, and format 17 entries after a crash', async () => {
    const path = join(tempDir(), 'downgrade.db');
    const app = await makeApp({ store: sqliteStore(path), snapshots: { checkMs: 60_000 } });
    apps.push(app);
    for (const impact of ['major_outage', 'operational']) expect((await post(app, update('00000000-0000-4000-8000-000000000001', impact))).status).toBe(200);
    // As a crash would leave it: copy the file while the entries are only in the log.
    const crashed = join(tempDir(), 'crashed.db');
    copyFileSync(path, crashed);
    try {
      copyFileSync(`${path}-wal`, `${crashed}-wal`);
    } catch {
      // no WAL file: everything is in the main file
    }
    await app.close();
    apps = [];
    const formats = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        const snapshot = db.prepare('SELECT format FROM snapshot').get() as { format: string } | undefined;
        const entries = (db.prepare('SELECT entry FROM log ORDER BY position').all() as { entry: string }[]).map(
          (row) => (JSON.parse(row.entry) as { v: string }).v,
        );
        return { snapshot: snapshot?.format ?? null, entries };
      } finally {
        db.close();
      }
    };
    expect(formats(path)).toEqual({ snapshot: '5', entries: [] });
    expect(formats(crashed)).toEqual({ snapshot: null, entries: ['17', '17'] });
  });
});

describe('a file a later release wrote, as this release finds it', () => {
  // A rollback onto a file a later release left (README, Upgrading: Rolling back): what this
  // release cannot fold must make it refuse the file, not ready and saying why, rather than skip
  // the entry as garbage and serve, as ready, a state that release contradicts; and it must leave
  // the file as it found it, so that the later release started again loses nothing.
  const crashCopy = (path: string, name: string) => {
    const copy = join(tempDir(), name);
    copyFileSync(path, copy);
    try {
      copyFileSync(`${path}-wal`, `${copy}-wal`);
    } catch {
      // no WAL file: everything is in the main file
    }
    return copy;
  };
  const refusals = (app: TestApp) => app.logs.lines.filter((line) => line.msg === REFUSING_STORE).map((line) => String(line.reason));

  it('refuses an entry of a newer format after its snapshot: not ready, webhooks 503, one line naming the format, the entry kept', async () => {
    const path = join(tempDir(), 'later-entry.db');
    const app = await makeApp({ store: sqliteStore(path), snapshots: { checkMs: 60_000 } });
    apps.push(app);
    expect((await post(app, update('00000000-0000-4000-8000-000000000001', 'major_outage'))).status).toBe(200);
    const copy = crashCopy(path, 'later-entry-crashed.db');
    const newer = String(ENTRY_FORMAT + 1);
    const db = new Database(copy);
    try {
      // The first entry again, as a later release would write it (its own format number).
      db.prepare("INSERT INTO log (time, entry) SELECT time, json_set(entry, '$.v', ?) FROM log ORDER BY position LIMIT 1").run(newer);
    } finally {
      db.close();
    }
    const rolledBack = await open(copy);
    await expect.poll(() => refusals(rolledBack)).toEqual([`log entry 2 has format ${newer}, newer than this exporter reads (upgrade it)`]);
    expect((await request(rolledBack.main).get('/readyz')).status).toBe(503);
    expect(sampleValue(await metrics(rolledBack), 'statusmate_store_up')).toBe(0);
    expect((await post(rolledBack, update('00000000-0000-4000-8000-000000000002', 'partial_outage'))).status).toBe(503);
    expect(rolledBack.logs.lines.some((line) => line.msg === 'log entry cannot be read; skipped')).toBe(false);
    await rolledBack.close();
    apps = apps.filter((one) => one !== rolledBack);
    const after = new Database(copy, { readonly: true });
    try {
      const entries = (after.prepare('SELECT entry FROM log ORDER BY position').all() as { entry: string }[]).map(
        (row) => (JSON.parse(row.entry) as { v: string }).v,
      );
      expect({ snapshot: after.prepare('SELECT format FROM snapshot').get() ?? null, entries }).toEqual({
        snapshot: null,
        entries: [String(ENTRY_FORMAT), newer],
      });
    } finally {
      after.close();
    }
  });

  it('refuses a snapshot of a newer format: not ready, webhooks 503, one line naming the format, the snapshot kept', async () => {
    const path = join(tempDir(), 'later-snapshot.db');
    const app = await open(path);
    expect((await post(app, update('00000000-0000-4000-8000-000000000001', 'major_outage'))).status).toBe(200);
    await app.close();
    apps = [];
    const newer = String(SNAPSHOT_FORMAT + 1);
    const db = new Database(path);
    try {
      expect(db.prepare('UPDATE snapshot SET format = ?').run(newer).changes).toBe(1);
    } finally {
      db.close();
    }
    const rolledBack = await open(path);
    await expect
      .poll(() => refusals(rolledBack))
      .toEqual([`the sqlite snapshot has format ${newer}; this exporter reads format ${SNAPSHOT_FORMAT} (upgrade it)`]);
    expect((await request(rolledBack.main).get('/readyz')).status).toBe(503);
    expect(sampleValue(await metrics(rolledBack), 'statusmate_store_up')).toBe(0);
    expect((await post(rolledBack, update('00000000-0000-4000-8000-000000000002', 'partial_outage'))).status).toBe(503);
    await rolledBack.close();
    apps = [];
    const after = new Database(path, { readonly: true });
    try {
      expect(after.prepare('SELECT format FROM snapshot').get()).toEqual({ format: newer });
    } finally {
      after.close();
    }
  });
});

describe('snapshots of the SQLite log', () => {
  it('writes one on close that covers every entry, so the next start replays none', async () => {
    const path = join(tempDir(), 'snap.db');
    const app = await open(path);
    for (let n = 0; n < 20; n++) await post(app, update(`00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, 'partial_outage'));
    const expected = domainSamples(await metrics(app));
    await app.close();
    apps = [];
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM log').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT position FROM snapshot').get()).toEqual({ position: 20 });
    } finally {
      db.close();
    }
    const reopened = await open(path);
    expect(domainSamples(await metrics(reopened))).toEqual(expected);
    expect(reopened.logs.lines.find((line) => line.msg === 'log opened; folding from here')).toMatchObject({ folded_to: '20', entries_to_fold: 0 });
  });

  it('keeps a snapshot one row a piece, and a smaller one replaces every piece of the one before', async () => {
    const path = join(tempDir(), 'pieces.db');
    const store = await openWithTwoEntries(path, 'normal');
    const big = ['["a"]', '["b"]', '["c"]'];
    expect(await store.writeSnapshot({ position: '1', time: 1, format: '3', data: big })).toBe(true);
    expect(await store.readSnapshot()).toEqual({ position: '1', time: 1, format: '3', data: big });
    expect(await store.writeSnapshot({ position: '2', time: 2, format: '3', data: ['["d"]'] })).toBe(true);
    expect(await store.readSnapshot()).toEqual({ position: '2', time: 2, format: '3', data: ['["d"]'] });
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT seq, data FROM snapshot_piece').all()).toEqual([{ seq: 0, data: '["d"]' }]);
    } finally {
      db.close();
    }
  });

  it('replays the entries after the snapshot when the process died before writing another', async () => {
    const path = join(tempDir(), 'replay.db');
    const app = await makeApp({ store: sqliteStore(path), snapshots: { checkMs: 60_000 } });
    apps.push(app);
    for (let n = 0; n < 5; n++) await post(app, update(`00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, 'major_outage'));
    const expected = domainSamples(await metrics(app));
    // As a crash would leave it: copy the file while the entries are only in the log.
    const copy = join(tempDir(), 'crashed.db');
    copyFileSync(path, copy);
    for (const suffix of ['-wal']) {
      try {
        copyFileSync(path + suffix, copy + suffix);
      } catch {
        // no WAL file: everything is in the main file
      }
    }
    const restarted = await open(copy);
    expect(domainSamples(await metrics(restarted))).toEqual(expected);
    expect(restarted.logs.lines.find((line) => line.msg === 'log opened; folding from here')).toMatchObject({ folded_to: '0', entries_to_fold: 5 });
  });
});

describe('a damaged log row', () => {
  it('is logged and skipped like any unreadable entry: the entries after it are folded, and the exporter takes webhooks', async () => {
    const path = join(tempDir(), 'damaged.db');
    const app = await makeApp({ store: sqliteStore(path), snapshots: { checkMs: 60_000 } });
    apps.push(app);
    await post(app, update('00000000-0000-4000-8000-000000000001', 'major_outage'));
    const copy = join(tempDir(), 'damaged-copy.db');
    copyFileSync(path, copy);
    try {
      copyFileSync(`${path}-wal`, `${copy}-wal`);
    } catch {
      // no WAL file: everything is in the main file
    }
    const db = new Database(copy);
    try {
      // Rows that are not a JSON object, then a readable entry after them (the first row's, re-appended).
      const time = (db.prepare('SELECT time FROM log ORDER BY position LIMIT 1').get() as { time: number }).time;
      for (const junk of ['{not json', 'null', '[1]']) db.prepare('INSERT INTO log (time, entry) VALUES (?, ?)').run(time, junk);
      db.prepare('INSERT INTO log (time, entry) SELECT time, entry FROM log ORDER BY position LIMIT 1').run();
    } finally {
      db.close();
    }
    const restarted = await open(copy);
    expect(restarted.logs.lines.filter((line) => line.msg === 'log entry cannot be read; skipped').map((line) => line.entry)).toEqual(['2', '3', '4']);
    expect(restarted.logs.lines.some((line) => line.msg === 'reading the log failed; retrying')).toBe(false);
    expect((await request(restarted.main).get('/readyz')).status).toBe(200);
    expect((await post(restarted, update('00000000-0000-4000-8000-000000000002', 'partial_outage'))).status).toBe(200);
    expect(await metrics(restarted)).toMatch(/statusmate_webhook_requests_total\{event_type="component_impact_updated",outcome="applied"\} 1/);
  });
});

describe('where the file is written', () => {
  // normal: on the event loop; full: on a worker thread, so that an fsync per append never blocks it.
  it.each(['normal', 'full'] as const)('appends, reads back, snapshots and locks alike with SQLITE_SYNCHRONOUS=%s', async (synchronous) => {
    const path = join(tempDir(), `${synchronous}.db`);
    const store = await openWithTwoEntries(path, synchronous);
    const read = await store.read('0', 10);
    expect(read.map((entry) => [entry.position, entry.fields.e])).toEqual([
      ['1', 'first'],
      ['2', 'second'],
    ]);
    // Pieces made as they are read, as the fold loop hands them over (a worker thread gets them one a message).
    const pieces = function* () {
      yield 'state';
      yield 'more';
    };
    expect(await store.writeSnapshot({ position: '1', time: read[0]?.time ?? 0, format: '1', data: pieces() })).toBe(true);
    const other = new SqliteLog({ path, synchronous });
    await expect(other.open()).rejects.toThrow(/is in use by another process/);
    await other.close();
    await store.close();

    const reopened = new SqliteLog({ path, synchronous });
    await reopened.open();
    expect(await reopened.snapshotInfo()).toMatchObject({ position: '1' });
    expect((await reopened.readSnapshot())?.data).toEqual(['state', 'more']);
    expect((await reopened.read('1', 10)).map((entry) => entry.fields.e)).toEqual(['second']);
    await reopened.close();
  });

  // On the event loop (normal) the commit and the append held meanwhile are answered in one turn: their order is not observable there.
  it.each(['full'] as const)(
    'with SQLITE_SYNCHRONOUS=%s, sends a snapshot a piece at a time and answers an append sent meanwhile once the snapshot commits',
    async (synchronous) => {
      const path = join(tempDir(), 'stream.db');
      const store = await openWithTwoEntries(path, synchronous);
      const answered: string[] = [];
      let appended: Promise<(Error | null)[]> | undefined;
      const pieces = function* () {
        yield 'first piece';
        // Made once the first piece is on its way: the thread has opened the snapshot's transaction,
        // so it holds the append back. Had the pieces been collected first, it would be answered first.
        appended = store.append([{ v: '1', e: 'third' }]).then((result) => (answered.push('append'), result));
        yield 'second piece';
      };
      const written = store.writeSnapshot({ position: '2', time: 0, format: '1', data: pieces() }).then((result) => (answered.push('snapshot'), result));
      expect(await written).toBe(true);
      expect(await appended).toEqual([null]);
      expect(answered).toEqual(['snapshot', 'append']);
      await store.close();

      const reopened = new SqliteLog({ path, synchronous });
      await reopened.open();
      expect(await reopened.readSnapshot()).toMatchObject({ position: '2', data: ['first piece', 'second piece'] });
      expect((await reopened.read('2', 10)).map((entry) => [entry.position, entry.fields.e])).toEqual([['3', 'third']]);
      await reopened.close();
    },
  );

  it.each(['normal', 'full'] as const)("with SQLITE_SYNCHRONOUS=%s, lets the event loop turn between a snapshot's pieces", async (synchronous) => {
    const store = await openWithTwoEntries(join(tempDir(), 'turns.db'), synchronous);
    // Timers and I/O callbacks run between pieces: written in one go, a large state's snapshot
    // stopped the event loop (probes, scrapes, webhooks' bodies) for its whole length.
    let turned = false;
    const ran: boolean[] = [];
    const pieces = function* () {
      setImmediate(() => (turned = true));
      for (let i = 0; i < 3; i += 1) {
        ran.push(turned);
        yield `piece ${i}`;
      }
    };
    expect(await store.writeSnapshot({ position: '2', time: 0, format: '1', data: pieces() })).toBe(true);
    expect(ran).toEqual([false, true, true]);
    expect((await store.readSnapshot())?.data).toEqual(['piece 0', 'piece 1', 'piece 2']);
    await store.close();
  });

  it.each(['normal', 'full'] as const)(
    'with SQLITE_SYNCHRONOUS=%s, a snapshot whose pieces fail part-way leaves the stored one, and the appends held meanwhile are kept',
    async (synchronous) => {
      const path = join(tempDir(), 'aborted.db');
      const store = await openWithTwoEntries(path, synchronous);
      expect(await store.writeSnapshot({ position: '1', time: 0, format: '1', data: ['older'] })).toBe(true);
      let appended: Promise<(Error | null)[]> | undefined;
      const failing = function* () {
        yield 'half';
        appended = store.append([{ v: '1', e: 'third' }]);
        throw new Error('the state moved on while its pieces were made');
      };
      await expect(store.writeSnapshot({ position: '2', time: 0, format: '1', data: failing() })).rejects.toThrow('the state moved on');
      expect(await appended).toEqual([null]);
      expect(await store.readSnapshot()).toMatchObject({ position: '1', data: ['older'] });
      expect((await store.read('1', 10)).map((entry) => entry.fields.e)).toEqual(['second', 'third']);
      // The file takes the next snapshot.
      expect(await store.writeSnapshot({ position: '3', time: 0, format: '1', data: ['newest'] })).toBe(true);
      await store.close();
    },
  );

  it.each(['normal', 'full'] as const)(
    'with SQLITE_SYNCHRONOUS=%s, a snapshot whose pieces the file refuses one after another rejects once, leaving no rejection unhandled',
    async (synchronous) => {
      // As on a full disk: every piece is refused, the one sent while the one before it was
      // answered too. A rejection nobody handles stops the exporter (unhandled rejection; exiting).
      const unhandled: unknown[] = [];
      const collect = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', collect);
      try {
        const store = await openWithTwoEntries(join(tempDir(), 'refused.db'), synchronous);
        expect(await store.writeSnapshot({ position: '1', time: 0, format: '1', data: ['older'] })).toBe(true);
        const refused = ['one', 'two', 'three'].map(() => null as unknown as string);
        await expect(store.writeSnapshot({ position: '2', time: 0, format: '1', data: refused })).rejects.toThrow(/NOT NULL/);
        // Unhandled rejections are reported once the microtasks run out: after this turn.
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
        expect(await store.readSnapshot()).toMatchObject({ position: '1', data: ['older'] });
        await store.close();
      } finally {
        process.off('unhandledRejection', collect);
      }
    },
  );

  it.each(['normal', 'full'] as const)(
    'with SQLITE_SYNCHRONOUS=%s, reads a snapshot a piece at a time, all of one snapshot, while a write and an append wait their turn',
    async (synchronous) => {
      const path = join(tempDir(), 'read.db');
      const store = await openWithTwoEntries(path, synchronous);
      expect(await store.writeSnapshot({ position: '1', time: 0, format: '1', data: ['one', 'two', 'three'] })).toBe(true);
      const read = store.readSnapshot();
      const replaced = store.writeSnapshot({ position: '2', time: 0, format: '1', data: ['newer'] });
      const appended = store.append([{ v: '1', e: 'third' }]);
      expect(await read).toEqual({ position: '1', time: 0, format: '1', data: ['one', 'two', 'three'] });
      expect(await replaced).toBe(true);
      expect(await appended).toEqual([null]);
      expect(await store.readSnapshot()).toEqual({ position: '2', time: 0, format: '1', data: ['newer'] });
      expect((await store.read('2', 10)).map((entry) => entry.fields.e)).toEqual(['third']);
      await store.close();
    },
  );
});
