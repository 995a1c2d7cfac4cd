import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { makeApp, sampleValue, sqliteStore, tempDir, type TestApp } from '../support/app.js';
import { redisPerTest, redisTool } from '../support/redis.js';
import { caughtUp, openGatedReplica, type ReadGate } from '../support/replica-drill.js';

// GET /-/backup on a replica of one Redis log that is behind it (its fold held, as a replica
// paused or starved of CPU is). The copy is the replica's folded state (README "Backing up the
// store"): answered as it stands, it lacked events another replica had acknowledged before the
// backup was asked for, and nothing said so. Whether the copy holds an entry must not depend on
// which replica the request reached.

const TOKEN = 't0ken';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';

const fixture = redisPerTest();
const gates: ReadGate[] = [];
afterEach(() => {
  for (const gate of gates.splice(0)) gate.release();
});

const impact = (app: TestApp, value: string) =>
  request(app.main)
    .post('/webhook')
    .set('Authorization', `Bearer ${TOKEN}`)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify({ text: 'x', meta: { uuid: API, type: 'component_impact_updated', impact: value, title: 'API', status_page: 'shop' } }));

const backup = (app: TestApp) =>
  request(app.main)
    .get('/-/backup')
    .set('Authorization', `Bearer ${TOKEN}`)
    .buffer(true)
    .parse((response, done) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done(null, Buffer.concat(chunks)));
    });

/** The API component's impact as an exporter started on a backup copy serves it (null: absent). */
async function impactInCopy(copy: Buffer): Promise<string | null> {
  const path = join(tempDir(), 'copy.db');
  writeFileSync(path, copy);
  const app = await makeApp({ tokens: [TOKEN], store: sqliteStore(path) });
  fixture.apps.push(app);
  const text = (await request(app.main).get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).text;
  for (const value of ['operational', 'major_outage']) {
    if (sampleValue(text, 'statusmate_component_impact', { component_uuid: API, impact: value }) === 1) return value;
  }
  return null;
}

describe.skipIf(redisTool.skipReason !== undefined)('GET /-/backup on a Redis replica behind the log', () => {
  it('never answers a copy without an event acknowledged before it was asked for', async () => {
    const where = { url: fixture.server.url, keyPrefix: 'backup-lag:' };
    const options = { tokens: [TOKEN], backupDirectory: tempDir() };
    const a = await openGatedReplica(where, options, gates, fixture.apps);
    const b = await openGatedReplica(where, options, gates, fixture.apps);
    expect((await impact(a.app, 'operational')).status).toBe(200);
    await caughtUp([a.app, b.app]);

    // B falls behind: an entry of A's first, so that B's read in flight returns, and its next waits.
    b.gate.hold();
    expect((await impact(a.app, 'operational')).status).toBe(200);
    expect((await impact(a.app, 'major_outage')).status).toBe(200);

    // Asked while B cannot fold the outage that A acknowledged: no copy without it.
    const behind = await backup(b.app);
    const said = behind.status === 200 ? `a copy with API ${String(await impactInCopy(behind.body as Buffer))}` : `${behind.status}`;
    expect(said, 'B answered a copy of its own state, behind the log').toBe('503');
    expect(JSON.parse((behind.body as Buffer).toString('utf8'))).toMatchObject({ error: expect.stringContaining('behind') });

    // Once B folds on, its copy holds what A acknowledged (and it is not held back by the 503).
    b.gate.release();
    await caughtUp([a.app, b.app]);
    const copy = await backup(b.app);
    expect(copy.status).toBe(200);
    expect(await impactInCopy(copy.body as Buffer)).toBe('major_outage');
  });

  it('waits for the log end it can reach: a copy asked for as the replica folds on holds the event', async () => {
    const where = { url: fixture.server.url, keyPrefix: 'backup-lag:' };
    const options = { tokens: [TOKEN], backupDirectory: tempDir() };
    const a = await openGatedReplica(where, options, gates, fixture.apps);
    const b = await openGatedReplica(where, options, gates, fixture.apps);
    await caughtUp([a.app, b.app]);
    b.gate.hold();
    expect((await impact(a.app, 'operational')).status).toBe(200);
    expect((await impact(a.app, 'major_outage')).status).toBe(200);
    // B is released as the copy is asked for: a replica a moment behind answers the whole log.
    const asked = backup(b.app).then((res) => res);
    b.gate.release();
    const copy = await asked;
    expect(copy.status).toBe(200);
    expect(await impactInCopy(copy.body as Buffer)).toBe('major_outage');
  });
});
