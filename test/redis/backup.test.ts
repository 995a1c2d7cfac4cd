import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { domainSamples, makeApp, sqliteStore, tempDir, type TestApp, whenReady } from '../support/app.js';
import { eventually, redisStore, redisTool, redisPerTest } from '../support/redis.js';

// GET /-/backup on a Redis replica: the folded state in a new SQLite file, which an exporter on
// SQLite serves as the replicas do (and seed-redis would take back into an empty Redis).

const TOKEN = 't0ken';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const INCIDENT = 'bd25a449-b655-49e3-ac46-a9d6ffd50691';
const REPORT = '/api/v1/availability?from=2026-12-01&to=2026-12-03';

const fixture = redisPerTest();

const webhook = (app: TestApp, meta: Record<string, unknown>) =>
  request(app.main)
    .post('/webhook')
    .set('Authorization', `Bearer ${TOKEN}`)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify({ meta: { status_page: 'shop', ...meta } }));
const get = (app: TestApp, path: string) => request(app.main).get(path).set('Authorization', `Bearer ${TOKEN}`);
const served = async (app: TestApp) => domainSamples((await get(app, '/metrics')).text).filter((line) => !line.includes('_seconds_total{'));
const report = async (app: TestApp) => ({ ...((await get(app, REPORT)).body as Record<string, unknown>), generated_at: undefined });

describe.skipIf(redisTool.skipReason !== undefined)('GET /-/backup on STORE=redis', () => {
  it('sends the folded state as a SQLite file: an exporter on it serves what the replicas serve, ledger included', async () => {
    const dir = tempDir();
    const open = async () => {
      const app = await makeApp({ tokens: [TOKEN], store: redisStore({ url: fixture.server.url }), backupDirectory: dir });
      fixture.apps.push(app);
      await whenReady(app);
      return app;
    };
    const [a, b] = [await open(), await open()];
    const affected = [{ impact: 'major_outage', component_details: { name: 'API', component_uuid: API } }];
    expect(
      (
        await webhook(a, {
          type: 'incident_created',
          uuid: INCIDENT,
          title: 'API down',
          created_at: '2026-12-01T11:00:00+00:00',
          affected_components: affected,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await webhook(b, {
          type: 'incident_finished',
          uuid: INCIDENT,
          title: 'API down',
          created_at: '2026-12-02T09:30:00+00:00',
          affected_components: affected,
        })
      ).status,
    ).toBe(200);
    await eventually(
      () => served(a),
      (lines) => lines.includes('statusmate_incidents_finished_total{status_page="shop"} 1'),
    );

    const res = await get(a, '/-/backup')
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(res.status).toBe(200);
    expect(readdirSync(dir).filter((name) => name.includes('.backup-'))).toEqual([]);
    const copy = join(tempDir(), 'from-redis.db');
    writeFileSync(copy, res.body as Buffer);
    const sqlite = await makeApp({ tokens: [TOKEN], store: sqliteStore(copy) });
    fixture.apps.push(sqlite);
    expect(await served(sqlite)).toEqual(await served(b));
    expect(await report(sqlite)).toEqual(await report(b));
    expect(await report(sqlite)).toMatchObject({ status_pages: [{ id: 'shop', down_seconds: 81_000 }] });
  });
});
