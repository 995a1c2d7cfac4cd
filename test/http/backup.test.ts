import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, get as httpGet, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { SqliteLog } from '../../src/store/sqlite.js';
import { StoreError } from '../../src/store/store.js';
import { appsPerTest, domainSamples, sqliteStore, tempDir, type TestApp } from '../support/app.js';

const TOKEN = 't0ken';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const INCIDENT = 'bd25a449-b655-49e3-ac46-a9d6ffd50691';

const { start, stop } = appsPerTest({ tokens: [TOKEN] });

const update = (uuid: string, impact: string, createdAt: string, name = 'Website') => ({
  meta: { type: 'component_impact_updated', uuid, impact, title: name, status_page: 'shop', created_at: createdAt },
});
const incident = (type: 'incident_created' | 'incident_finished', createdAt: string) => ({
  meta: {
    type,
    uuid: INCIDENT,
    title: 'API down',
    status_page: 'shop',
    created_at: createdAt,
    affected_components: [{ impact: 'major_outage', component_details: { name: 'API', component_uuid: API } }],
  },
});
async function post(app: TestApp, body: unknown): Promise<void> {
  const res = await request(app.main)
    .post('/webhook')
    .set('Authorization', `Bearer ${TOKEN}`)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(body));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}
const get = (app: TestApp, path: string, token: string | null = TOKEN) => {
  const req = request(app.main).get(path);
  if (token !== null) req.set('Authorization', `Bearer ${token}`);
  return req;
};
/** GET /-/backup, its body as bytes. */
const backup = (app: TestApp, token: string | null = TOKEN) =>
  get(app, '/-/backup', token)
    .buffer(true)
    .parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
const REPORT = '/api/v1/availability?from=2026-12-01&to=2026-12-03';
const leftovers = (dir: string) => readdirSync(dir).filter((name) => name.includes('.backup-'));

/**
 * An exporter on a SQLite file whose copies are 64 MiB (more than the sockets' buffers take, so
 * that a send is under way while its client goes away or stops reading), listening on loopback.
 */
async function listeningWithLargeCopies(): Promise<{ dir: string; size: number; app: TestApp; server: Server }> {
  const dir = tempDir();
  const store = sqliteStore(join(dir, 'store.db'));
  const backups = store.backups;
  if (!backups) throw new Error('a SQLite file has backups');
  const size = 64 * 1024 * 1024;
  Object.defineProperty(store, 'backups', {
    value: { ...backups, write: (to: string) => Promise.resolve(writeFileSync(to, Buffer.alloc(size))) },
  });
  const app = await start({ store });
  const server = createServer(app.main).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { dir, size, app, server };
}

describe('GET /-/backup', () => {
  it('copies the store while it serves: a new exporter on the copy serves the same series and availability', async () => {
    const dir = tempDir();
    const path = join(dir, 'store.db');
    let app = await start({ store: sqliteStore(path) });
    await post(app, update(WEBSITE, 'degraded_performance', '2026-12-01T10:00:00+00:00'));
    await post(app, incident('incident_created', '2026-12-01T11:00:00+00:00'));
    // Stopped: its last snapshot holds these; the events after the restart are entries after it.
    await stop(app);
    app = await start({ store: sqliteStore(path) });
    await post(app, incident('incident_finished', '2026-12-02T11:30:00+00:00'));
    await post(app, update(WEBSITE, 'operational', '2026-12-02T12:00:00+00:00'));

    const res = await backup(app);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.sqlite3');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="statusmate-exporter-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.db"$/);
    const copy = res.body as Buffer;
    expect(Number(res.headers['content-length'])).toBe(copy.length);
    expect(copy.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    // Sent from an unlinked file: nothing is left beside the store.
    expect(leftovers(dir)).toEqual([]);

    const restored = join(tempDir(), 'restored.db');
    writeFileSync(restored, copy);
    const second = await start({ store: sqliteStore(restored) });
    const served = async (target: TestApp) => domainSamples((await get(target, '/metrics')).text).filter((line) => !line.includes('_seconds_total{'));
    expect(await served(second)).toEqual(await served(app));
    expect(await served(second)).toContainEqual(expect.stringContaining('statusmate_incidents_finished_total{status_page="shop"} 1'));
    // All but when each report was made.
    const report = async (target: TestApp) => ({ ...((await get(target, REPORT)).body as Record<string, unknown>), generated_at: undefined });
    expect(await report(second)).toEqual(await report(app));
    expect(await report(second)).toMatchObject({ status_pages: [{ id: 'shop', down_seconds: 88_200 }] });
    // The copy takes new events on top.
    await post(second, update(API, 'partial_outage', '2026-12-03T08:00:00+00:00', 'API'));
    expect((await get(second, '/metrics')).text).toContain(
      `statusmate_component_impact{status_page="shop",component_uuid="${API}",component="API",impact="partial_outage"} 1`,
    );
  });

  it('copies a store whose file is served by a worker thread (SQLITE_SYNCHRONOUS=full) alike', async () => {
    const dir = tempDir();
    const app = await start({ store: new SqliteLog({ path: join(dir, 'full.db'), synchronous: 'full' }) });
    await post(app, update(WEBSITE, 'major_outage', '2026-12-01T10:00:00+00:00'));
    const res = await backup(app);
    expect(res.status).toBe(200);
    const restored = join(tempDir(), 'restored.db');
    writeFileSync(restored, res.body as Buffer);
    const second = await start({ store: sqliteStore(restored) });
    expect((await get(second, '/metrics')).text).toContain(`component_uuid="${WEBSITE}",component="Website",impact="major_outage"} 1`);
    expect(leftovers(dir)).toEqual([]);
  });

  it('needs a WEBHOOK_TOKEN token on PORT, and writes no copy without one', async () => {
    const dir = tempDir();
    const app = await start({ store: sqliteStore(join(dir, 'store.db')) });
    expect((await backup(app, null)).status).toBe(401);
    expect((await backup(app, 'wrong')).status).toBe(401);
    expect(leftovers(dir)).toEqual([]);
    expect((await backup(app)).status).toBe(200);
  });

  it('is refused on PORT when no token is configured (403 naming METRICS_PORT), where the other reads answer anyone', async () => {
    const dir = tempDir();
    const app = await start({ tokens: [], store: sqliteStore(join(dir, 'store.db')) });
    expect((await request(app.main).get('/api/v1/state')).status).toBe(200);
    const res = await request(app.main).get('/-/backup');
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: 'GET /-/backup is not served on PORT without WEBHOOK_TOKEN: set METRICS_PORT to serve it on a port of its own',
      issues: [],
    });
    expect(leftovers(dir)).toEqual([]);
  });

  // Express routes these to /-/backup: it ignores case and a final slash.
  it.each(['/-/backup/', '/-/Backup', '/-/BACKUP/'])('is refused as %s too when no token is configured, as Express routes it to /-/backup', async (path) => {
    const dir = tempDir();
    const app = await start({ tokens: [], store: sqliteStore(join(dir, 'store.db')) });
    const res = await request(app.main).get(path);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      error: 'GET /-/backup is not served on PORT without WEBHOOK_TOKEN: set METRICS_PORT to serve it on a port of its own',
      issues: [],
    });
    expect(leftovers(dir)).toEqual([]);
  });

  it('is served on METRICS_PORT, without a token, when it is set; the webhook port says where it went', async () => {
    const app = await start({ separateMetrics: true });
    const moved = await get(app, '/-/backup');
    expect(moved.status).toBe(404);
    expect(moved.body).toEqual({ error: 'GET /-/backup is served on METRICS_PORT, not on this port', issues: [] });
    if (!app.metrics) throw new Error('expected a metrics app');
    const res = await request(app.metrics).get('/-/backup');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.sqlite3');
  });

  it('answers a backup asked right after another 429 with Retry-After, so that a loop cannot hold the store', async () => {
    const app = await start();
    expect((await backup(app)).status).toBe(200);
    const again = await get(app, '/-/backup');
    expect(again.status).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(again.body).toEqual({ error: expect.stringContaining('Retry-After') as unknown, issues: [] });
  });

  it('writes no copy for a HEAD', async () => {
    const dir = tempDir();
    const app = await start({ store: sqliteStore(join(dir, 'store.db')) });
    const res = await request(app.main).head('/-/backup').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET');
    // The HEAD left no gap to wait out: it wrote nothing.
    expect((await backup(app)).status).toBe(200);
  });

  it('answers 405 naming GET for another method', async () => {
    const app = await start();
    const res = await request(app.main).post('/-/backup').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(405);
    expect(res.body).toEqual({ error: expect.stringContaining('use GET for /-/backup') as unknown, issues: [] });
  });

  it('copies a store that is not one file (memory here; Redis in test/redis) as its folded state in a new SQLite file', async () => {
    const dir = tempDir();
    const memory = await start({ store: new MemoryLog(), backupDirectory: dir });
    await post(memory, update(WEBSITE, 'degraded_performance', '2026-12-01T10:00:00+00:00'));
    await post(memory, incident('incident_created', '2026-12-01T11:00:00+00:00'));
    await post(memory, incident('incident_finished', '2026-12-02T11:30:00+00:00'));
    const res = await backup(memory);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.sqlite3');
    expect(leftovers(dir)).toEqual([]);
    const restored = join(tempDir(), 'restored.db');
    writeFileSync(restored, res.body as Buffer);
    const sqlite = await start({ store: sqliteStore(restored) });
    const served = async (target: TestApp) => domainSamples((await get(target, '/metrics')).text).filter((line) => !line.includes('_seconds_total{'));
    expect(await served(sqlite)).toEqual(await served(memory));
    const report = async (target: TestApp) => ({ ...((await get(target, REPORT)).body as Record<string, unknown>), generated_at: undefined });
    expect(await report(sqlite)).toEqual(await report(memory));
    expect(await report(sqlite)).toMatchObject({ status_pages: [{ id: 'shop', down_seconds: 88_200 }] });
  });

  it('answers 409 saying why when the exporter was wired without a directory for such a copy', async () => {
    const memory = await start({ store: new MemoryLog() });
    const res = await get(memory, '/-/backup');
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: expect.stringContaining('no directory to write a copy of its state in') as unknown, issues: [] });
  });

  it('answers 503 naming the cause when the copy cannot be written, and webhooks go on', async () => {
    const dir = tempDir();
    const store = sqliteStore(join(dir, 'store.db'));
    const backups = store.backups;
    if (!backups) throw new Error('a SQLite file has backups');
    Object.defineProperty(store, 'backups', {
      value: {
        ...backups,
        write: (to: string) => {
          writeFileSync(to, 'half a copy');
          return Promise.reject(new StoreError('SQLite backup failed: database or disk is full'));
        },
      },
    });
    const app = await start({ store });
    const res = await get(app, '/-/backup');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'the backup could not be written: SQLite backup failed: database or disk is full', issues: [] });
    expect(leftovers(dir)).toEqual([]);
    const line = app.logs.lines.find((entry) => entry['path'] === '/-/backup');
    expect(line).toMatchObject({ status: 503, error: 'backup failed: SQLite backup failed: database or disk is full' });
    await post(app, update(WEBSITE, 'major_outage', '2026-12-01T10:00:00+00:00'));
  });

  it('logs one line when the client goes away before the whole copy is sent, and leaves nothing beside the store', async () => {
    const { dir, size, app, server } = await listeningWithLargeCopies();
    try {
      const { port } = server.address() as AddressInfo;
      const req = httpGet({ host: '127.0.0.1', port, path: '/-/backup', headers: { Authorization: `Bearer ${TOKEN}` } });
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      expect(res.statusCode).toBe(200);
      await once(res, 'data');
      req.destroy();
      const line = () => app.logs.lines.find((entry) => entry['path'] === '/-/backup');
      for (let i = 0; i < 400 && line() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(line()).toMatchObject({
        level: 'warn',
        msg: 'backup not sent whole',
        status: 200,
        remote_address: '127.0.0.1',
        backup_bytes: size,
        error: 'the client did not read the whole backup',
      });
      expect(app.logs.lines.filter((entry) => entry['path'] === '/-/backup')).toHaveLength(1);
      expect(leftovers(dir)).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('logs one line, the 499, when the client goes away while the copy is still being written', async () => {
    // The access log writes a 499 line for a request never answered; the route's own 'backup not
    // sent whole' (status 200) would be a second line for the same request, claiming an answer
    // the client never got.
    const dir = tempDir();
    const store = sqliteStore(join(dir, 'store.db'));
    const backups = store.backups;
    if (!backups) throw new Error('a SQLite file has backups');
    let finishCopy = () => {};
    const copyHeld = new Promise<void>((resolve) => (finishCopy = resolve));
    let copyBegun = () => {};
    const begun = new Promise<void>((resolve) => (copyBegun = resolve));
    Object.defineProperty(store, 'backups', {
      value: {
        ...backups,
        write: async (to: string) => {
          copyBegun();
          await copyHeld;
          writeFileSync(to, Buffer.alloc(1024));
        },
      },
    });
    const app = await start({ store });
    const server = createServer(app.main).listen(0, '127.0.0.1');
    try {
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      socket.write(`GET /-/backup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
      await begun;
      socket.destroy();
      const lines = () => app.logs.lines.filter((entry) => entry['path'] === '/-/backup');
      for (let i = 0; i < 400 && lines().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      finishCopy();
      // The route goes on once the copy is written, opens it and fails to send it at once (the
      // socket is gone): its line, were it written, comes within moments. Absence is waited for.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(lines()).toEqual([expect.objectContaining({ status: 499, error: 'the client went away before the answer' })]);
      expect(leftovers(dir)).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('cuts a copy still being sent when the exporter begins to shut down, and begins none then', async () => {
    const { dir, app, server } = await listeningWithLargeCopies();
    try {
      const { port } = server.address() as AddressInfo;
      const req = httpGet({ host: '127.0.0.1', port, path: '/-/backup', headers: { Authorization: `Bearer ${TOKEN}` } });
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      expect(res.statusCode).toBe(200);
      res.pause(); // a client that reads no more: before, the send waited for it up to its deadline
      app.beginShutdown();
      const line = () => app.logs.lines.find((entry) => entry['path'] === '/-/backup');
      for (let i = 0; i < 400 && line() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(line()).toMatchObject({
        level: 'warn',
        msg: 'backup not sent whole',
        error: 'the exporter is shutting down: cut (its client may ask the next one)',
      });
      // Read on, the answer ends short of its Content-Length ("aborted").
      const ended = new Promise((resolve) => {
        res.once('error', resolve);
        res.once('close', resolve);
      });
      res.resume();
      await ended;
      expect(res.complete).toBe(false);
      expect(leftovers(dir)).toEqual([]);
      const after = await request(app.main).get('/-/backup').set('Authorization', `Bearer ${TOKEN}`);
      expect([after.status, after.body]).toEqual([503, { error: 'the exporter is shutting down: ask the next one', issues: [] }]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('removes, at start, the copies a process that died while sending them left beside the store', async () => {
    const dir = tempDir();
    const leftover = join(dir, '.store.db.backup-1-1764000000000-1.db');
    writeFileSync(leftover, 'a copy from before');
    const unrelated = join(dir, 'notes.txt');
    writeFileSync(unrelated, 'mine');
    const app = await start({ store: sqliteStore(join(dir, 'store.db')) });
    expect(existsSync(leftover)).toBe(false);
    expect(readFileSync(unrelated, 'utf8')).toBe('mine');
    expect(app.logs.lines).toContainEqual(expect.objectContaining({ msg: 'removed a backup copy left by an earlier process', file: leftover }));
  });
});

describe('SqliteLog backups', () => {
  it('refuses to write over a file that exists, with a StoreError naming it', async () => {
    const dir = tempDir();
    const store = sqliteStore(join(dir, 'store.db'));
    await store.open();
    try {
      const to = join(dir, 'there.db');
      writeFileSync(to, 'someone else’s');
      await expect(store.backups?.write(to)).rejects.toThrow(StoreError);
      await expect(store.backups?.write(to)).rejects.toThrow(`SQLite backup into ${to} failed`);
      expect(readFileSync(to, 'utf8')).toBe('someone else’s');
    } finally {
      await store.close();
    }
  });
});
