import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { isSharedStateSample } from '../../src/metrics/names.js';
import { CONVERSION_MAX_LIVE_BYTES, conversionRefusal, WAL_SIZE_LIMIT_BYTES } from '../../src/store/sqlite-file.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import { domainSamples, makeApp, sampleValue, tempDir, type TestApp } from '../support/app.js';

// A SQLite file gives back to the volume the pages its trims free: after a burst of webhooks is
// covered by a snapshot, it shrinks back to about what its state takes, and so does its
// write-ahead log. Sizes only, never timings.

const MIB = 1024 * 1024;
const TOKEN = 'reclaim-token';
const KEPT = '99999999-2222-4333-8444-000000000000';
const bytesOf = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};
/** SQLite's own view of a closed file: its auto_vacuum mode (0 none, 2 incremental) and free pages. */
function pagesOf(path: string): { autoVacuum: number; free: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return { autoVacuum: Number(db.pragma('auto_vacuum', { simple: true })), free: Number(db.pragma('freelist_count', { simple: true })) };
  } finally {
    db.close();
  }
}

let apps: TestApp[] = [];
let stores: SqliteLog[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(stores.map((store) => store.close()));
  apps = [];
  stores = [];
});
const openStore = async (path: string, synchronous: 'normal' | 'full') => {
  const store = new SqliteLog({ path, synchronous });
  stores.push(store);
  await store.open();
  return store;
};

describe('a SQLite file after a burst its snapshot trims', () => {
  it.each(['normal', 'full'] as const)(
    'shrinks back, its write-ahead log too, and keeps the snapshot and the entries after it across a restart (SQLITE_SYNCHRONOUS=%s)',
    async (synchronous) => {
      const path = join(tempDir(), 'burst.db');
      const store = await openStore(path, synchronous);
      // 20 MiB of entries: a busy day's fat incidents.
      const fat = 'x'.repeat(10_000);
      for (let batch = 0; batch < 20; batch++) {
        const appended = await store.append(Array.from({ length: 100 }, (_, n) => ({ v: '1', body: `${batch}-${n}-${fat}` })));
        expect(appended.every((error) => error === null)).toBe(true);
      }
      const grown = bytesOf(path) + bytesOf(`${path}-wal`);
      expect(grown).toBeGreaterThan(16 * MIB);

      const { position, time } = await store.tip('0');
      expect(await store.writeSnapshot({ position, time, format: 'test', data: ['the state', 'in two pieces'] })).toBe(true);
      await store.reclaimed();
      expect(await store.append([{ v: '1', e: 'after' }])).toEqual([null]);

      // Before: 20 MiB of free pages kept in the file for ever.
      expect(bytesOf(path)).toBeLessThan(MIB);
      expect(bytesOf(`${path}-wal`)).toBeLessThan(MIB);

      // A copy (GET /-/backup) keeps the page map: restored, it gives pages back too.
      const copy = join(tempDir(), 'copy.db');
      await store.backups?.write(copy);
      expect(pagesOf(copy)).toEqual({ autoVacuum: 2, free: 0 });
      await store.close();
      expect(bytesOf(path)).toBeLessThan(MIB);
      expect(pagesOf(path)).toEqual({ autoVacuum: 2, free: 0 });
      const reopened = await openStore(path, synchronous);
      expect(await reopened.readSnapshot()).toEqual({ position, time, format: 'test', data: ['the state', 'in two pieces'] });
      expect((await reopened.read(position, 10)).map((entry) => entry.fields)).toEqual([{ v: '1', e: 'after' }]);
    },
  );

  it('serves the same series after a burst of webhooks its last snapshot trimmed, and gives the pages its close left back at the next start', async () => {
    const path = join(tempDir(), 'webhooks.db');
    const burst = 120;
    const fat = Array.from({ length: 4 }, (_, n) => `11111111-2222-4333-8444-${String(n).padStart(12, '0')}`);
    // No snapshot but the one at shutdown: the file first grows with the whole burst.
    const never = {
      maxAgeMs: Number.MAX_SAFE_INTEGER,
      maxAgeCapMs: Number.MAX_SAFE_INTEGER,
      maxEntries: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    };
    const app = await makeApp({ store: new SqliteLog({ path, synchronous: 'normal' }), tokens: [TOKEN], snapshots: never });
    apps.push(app);
    const send = (route: string, body: unknown) =>
      request(app.main).post(route).set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'application/json').send(JSON.stringify(body));
    const update = (uuid: string, title: string, impact: string, second: number) => ({
      meta: { type: 'component_impact_updated', uuid, title, impact, created_at: new Date(Date.UTC(2026, 11, 1, 0, 0, second)).toISOString() },
    });
    expect((await send('/webhook', update(KEPT, 'Kept', 'partial_outage', 0))).status).toBe(200);
    for (let n = 1; n <= burst; n++) {
      // 120 kB an entry: fat incidents' components, say.
      const title = `Burst ${n} ${'t'.repeat(120_000)}`;
      expect((await send('/webhook', update(fat[n % fat.length] as string, title, n % 2 === 0 ? 'major_outage' : 'degraded_performance', n))).status).toBe(200);
    }
    for (const uuid of fat) expect((await send('/-/forget', { status_page: 'default', component_uuid: uuid })).status).toBe(200);
    expect(bytesOf(path) + bytesOf(`${path}-wal`)).toBeGreaterThan(12 * MIB);
    const served = domainSamples((await request(app.main).get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).text);
    expect(sampleValue(served.join('\n'), 'statusmate_component_impact', { component_uuid: KEPT, impact: 'partial_outage' })).toBe(1);
    // Its snapshot at shutdown trims the burst; the close cuts short giving its pages back.
    await app.close();
    apps = [];

    const store = new SqliteLog({ path, synchronous: 'normal' });
    const reopened = await makeApp({ store, tokens: [TOKEN] });
    apps.push(reopened);
    expect(domainSamples((await request(reopened.main).get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).text)).toEqual(served);
    await store.reclaimed();
    // What is left: a small snapshot, and the write-ahead log cut back. Before: the burst's size, for ever.
    expect(bytesOf(path)).toBeLessThan(MIB);
    expect(bytesOf(`${path}-wal`)).toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES);
    await reopened.close();
    apps = [];
    expect(pagesOf(path)).toEqual({ autoVacuum: 2, free: 0 });
  });
});

describe('a file of a release before free pages were given back (auto_vacuum NONE)', () => {
  const V3 = new URL('../fixtures/sqlite-v3/', import.meta.url);

  it('is converted once at start: it shrinks, says so in one line, and serves exactly the series that release served', async () => {
    const path = join(tempDir(), 'old.db');
    copyFileSync(new URL('statusmate-exporter.db', V3), path);
    // As that release left it after a burst: 20 MiB of free pages it could only reuse.
    const db = new Database(path);
    db.exec('CREATE TABLE burst (data TEXT)');
    const insert = db.prepare('INSERT INTO burst (data) VALUES (?)');
    db.transaction(() => {
      for (let n = 0; n < 2000; n++) insert.run('b'.repeat(10_000));
    })();
    db.exec('DROP TABLE burst');
    db.close();
    expect(pagesOf(path).autoVacuum).toBe(0);
    expect(pagesOf(path).free).toBeGreaterThan(4000);
    const before = bytesOf(path);
    expect(before).toBeGreaterThan(16 * MIB);

    const served = readFileSync(new URL('metrics.txt', V3), 'utf8').split('\n').filter(isSharedStateSample);
    const app = await makeApp({ store: (logger) => new SqliteLog({ path, synchronous: 'normal' }, logger) });
    apps.push(app);
    expect(domainSamples((await request(app.main).get('/metrics')).text)).toEqual(served);
    expect(bytesOf(path)).toBeLessThan(MIB);
    expect(bytesOf(`${path}-wal`)).toBeLessThan(MIB);
    const converted = app.logs.lines.filter((line) => String(line.msg).startsWith('SQLite file of an older release'));
    expect(converted).toEqual([
      expect.objectContaining({
        level: 'info',
        sqlite_path: path,
        bytes_before: before,
        bytes_after: bytesOf(path),
        msg: expect.stringContaining('converted'),
      }),
    ]);
    await app.close();
    apps = [];
    expect(pagesOf(path)).toEqual({ autoVacuum: 2, free: 0 });

    // Once: the next start has nothing to convert, and serves the same.
    const again = await makeApp({ store: (logger) => new SqliteLog({ path, synchronous: 'normal' }, logger) });
    apps.push(again);
    expect(domainSamples((await request(again.main).get('/metrics')).text)).toEqual(served);
    expect(again.logs.lines.filter((line) => String(line.msg).startsWith('SQLite file of an older release'))).toEqual([]);
  });

  it('is kept as it is when the volume lacks the room converting writes (the pages in use once more, and a margin)', () => {
    expect(conversionRefusal(10 * MIB, 100 * MIB)).toBeUndefined();
    expect(conversionRefusal(10 * MIB, 26 * MIB)).toBeUndefined();
    expect(conversionRefusal(10 * MIB, 25 * MIB)).toBe(
      'the volume has 25.0 MiB free; converting needs 26.0 MiB (the pages in use, written once more, and a margin)',
    );
    // Its VACUUM holds the pages in use in memory: not past CONVERSION_MAX_LIVE_BYTES, whatever the volume's room.
    expect(conversionRefusal(CONVERSION_MAX_LIVE_BYTES, 1024 * MIB)).toBeUndefined();
    expect(conversionRefusal(CONVERSION_MAX_LIVE_BYTES + 1, 1024 * MIB)).toBe(
      'its pages in use (128.0 MiB) are more than a conversion holds in memory (128.0 MiB): convert it by hand (README, "When the SQLite file shrinks")',
    );
  });
});
