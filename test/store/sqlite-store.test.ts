import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyPatch, emptyPageStats, type ComponentRecord, type Patch } from '../../src/domain/state.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { StoreError } from '../../src/store/store.js';
import { tempDir } from '../support/app.js';

const component = (uuid: string, impact: string): ComponentRecord => ({
  statusPage: 'shop',
  uuid,
  name: `Component ${uuid}`,
  impact,
  changedAt: 1_700_000_000,
  direct: { stamp: { at: 1_700_000_000, seq: 1 }, impact },
  cleared: null,
});

const patchOf = (records: ComponentRecord[], key: string): Patch => ({
  ...emptyPatch(),
  pages: [emptyPageStats('shop')],
  components: records,
  seen: [{ key, receivedAt: 1_700_000_001 }],
});

/** The worker thread behind a store, to kill it as a crash would. */
const workerOf = (store: SqliteStore) => (store as unknown as { worker: Worker | undefined }).worker;

let stores: SqliteStore[] = [];
const open = (path: string, busyTimeoutMs?: number) => {
  const store = new SqliteStore({ path, synchronous: 'normal', busyTimeoutMs });
  stores.push(store);
  return store;
};

afterEach(async () => {
  await Promise.all(stores.map((store) => store.close()));
  stores = [];
});

describe('SqliteStore', () => {
  it('loads after a reopen exactly what was committed', async () => {
    const path = join(tempDir(), 'state.db');
    const first = open(path);
    await first.commit(patchOf([component('a', 'major_outage'), component('b', 'operational')], 'k1'));
    await first.commit(patchOf([component('a', 'operational')], 'k2'));
    await first.close();

    const state = await open(path).load();
    const page = state.pages.get('shop');
    expect(page?.components.get('a')?.impact).toBe('operational');
    expect(page?.components.get('b')?.impact).toBe('operational');
    expect([...state.seen.keys()].sort()).toEqual(['k1', 'k2']);
    expect(state.componentCount).toBe(2);
  });

  it('loads a page stored before pages had a creation time with its last receipt as the creation time', async () => {
    const path = join(tempDir(), 'old-rows.db');
    const first = open(path);
    await first.commit({
      ...patchOf([component('a', 'operational')], 'k1'),
      pages: [{ ...emptyPageStats('shop', 1_700_000_000), lastReceivedAt: 1_700_000_500 }],
    });
    await first.close();
    // Rewrite the row as an older exporter wrote it: no createdAt.
    const db = new Database(path);
    const row = db.prepare('SELECT data FROM pages WHERE status_page = ?').get('shop') as { data: string };
    const { createdAt, ...old } = JSON.parse(row.data) as Record<string, unknown>;
    expect(createdAt).toBe(1_700_000_000);
    db.prepare('UPDATE pages SET data = ? WHERE status_page = ?').run(JSON.stringify(old), 'shop');
    db.close();

    const state = await open(path).load();
    expect(state.pages.get('shop')?.stats.createdAt).toBe(1_700_000_500);
  });

  it('forgets exactly the dedup keys a prune names, also when they share a commit with kept ones', async () => {
    const path = join(tempDir(), 'prune.db');
    const store = open(path);
    await store.commit({ ...emptyPatch(), seen: ['k1', 'k2', 'k3'].map((key, i) => ({ key, receivedAt: 1_700_000_000 + i })) });
    await store.commit({ ...emptyPatch(), seen: [{ key: 'k4', receivedAt: 1_700_000_100 }] });
    await store.commit({ ...emptyPatch(), forgetSeen: ['k1', 'k3', 'k4'] });
    await store.close();
    expect([...(await open(path).load()).seen.keys()]).toEqual(['k2']);
  });

  it('migrates a version 1 file, whose dedup records were a row per key, keeping every record', async () => {
    const path = join(tempDir(), 'v1.db');
    const db = new Database(path);
    db.exec(`
      CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
      CREATE TABLE pages (status_page TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE components (status_page TEXT NOT NULL, uuid TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (status_page, uuid)) WITHOUT ROWID;
      CREATE TABLE incidents (status_page TEXT NOT NULL, uuid TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (status_page, uuid)) WITHOUT ROWID;
      CREATE TABLE maintenances (status_page TEXT NOT NULL, uuid TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (status_page, uuid)) WITHOUT ROWID;
      CREATE TABLE seen (key TEXT PRIMARY KEY, received_at REAL NOT NULL) WITHOUT ROWID;
      INSERT INTO seen VALUES ('old-a', 1700000000.25), ('old-b', 1700000000.75), ('old-c', 1700000042.5);
    `);
    db.prepare('INSERT INTO pages VALUES (?, ?)').run('shop', JSON.stringify(emptyPageStats('shop')));
    db.prepare('INSERT INTO components VALUES (?, ?, ?)').run('shop', 'a', JSON.stringify(component('a', 'major_outage')));
    db.close();

    const store = open(path);
    const state = await store.load();
    expect(new Map([...state.seen].sort())).toEqual(
      new Map([
        ['old-a', 1700000000.75],
        ['old-b', 1700000000.75],
        ['old-c', 1700000042.5],
      ]),
    );
    expect(state.pages.get('shop')?.components.get('a')?.impact).toBe('major_outage');
    await store.close();
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT version FROM schema_version').get()).toEqual({ version: 2 });
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'seen'").get()).toBeUndefined();
    after.close();
  });

  it('refuses a file of another schema version with the reason, and reports itself unhealthy', async () => {
    const path = join(tempDir(), 'future.db');
    const db = new Database(path);
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99);');
    db.close();
    const store = open(path);
    await expect(store.load()).rejects.toThrow(/schema version 99; this exporter reads version 2/);
    expect(await store.healthy()).toBe(false);
  });

  it('fails the commit in flight when its worker dies, and starts a new worker for the next one', async () => {
    const path = join(tempDir(), 'crash.db');
    const store = open(path);
    await store.commit(patchOf([component('a', 'major_outage')], 'k1'));
    const worker = workerOf(store);
    if (!worker) throw new Error('expected a running worker');
    const inFlight = store.commit(patchOf([component('b', 'major_outage')], 'k2'));
    await worker.terminate();
    const failure = await inFlight.then(
      () => undefined,
      (error: unknown) => error,
    );
    // Either the commit made it before the worker died, or it failed as a StoreError; never a hang.
    if (failure !== undefined) expect(failure).toBeInstanceOf(StoreError);

    // After a failure a store takes no commit until the state was read again (the ingestor reloads it).
    if (failure !== undefined) {
      await expect(store.commit(patchOf([component('c', 'partial_outage')], 'k3'))).rejects.toThrow(/earlier commit failed/);
      await store.load();
    }
    await store.commit(patchOf([component('c', 'partial_outage')], 'k3'));
    expect(workerOf(store)).not.toBe(worker);
    const components = (await store.load()).pages.get('shop')?.components;
    expect(components?.get('a')?.impact).toBe('major_outage');
    expect(components?.get('c')?.impact).toBe('partial_outage');
  });

  it('rejects work after close, and close twice is harmless', async () => {
    const store = open(join(tempDir(), 'closed.db'));
    await store.load();
    await store.close();
    await store.close();
    await expect(store.commit(emptyPatch())).rejects.toThrow(StoreError);
    expect(await store.healthy()).toBe(false);
  });

  it('answers a commit with a StoreError while another connection holds the write lock, then commits once released and read again', async () => {
    const path = join(tempDir(), 'locked.db');
    const store = open(path, 20);
    await store.load();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    await expect(store.commit(patchOf([component('a', 'major_outage')], 'k1'))).rejects.toThrow(/SQLite commit failed: database is locked/);
    other.exec('ROLLBACK');
    other.close();
    await expect(store.commit(patchOf([component('a', 'major_outage')], 'k1'))).rejects.toThrow(/earlier commit failed/);
    await store.load();
    await store.commit(patchOf([component('a', 'major_outage')], 'k1'));
    expect((await store.load()).pages.get('shop')?.components.get('a')?.impact).toBe('major_outage');
  });
});
