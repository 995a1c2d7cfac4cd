import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, type TestApp } from '../support/app.js';
import { eventually, holdLogClock, redisPerTest, redisTool } from '../support/redis.js';
import { caughtUp, openGatedReplica, type ReadGate } from '../support/replica-drill.js';

// POST /-/forget on a replica of one Redis log that is behind it (its fold held): the forget is a
// log entry, and its answer (forgotten, or 404) is the fold of that entry, which comes after every
// entry the log held when it was appended. A replica that has not folded the incident yet must
// neither answer 404 for it nor leave it on any replica.

const TOKEN = 't0ken';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const INCIDENT = 'bd25a449-b655-49e3-ac46-a9d6ffd50691';
const KEY_PREFIX = 'forget-lag:';

const fixture = redisPerTest();
const gates: ReadGate[] = [];
afterEach(() => {
  for (const gate of gates.splice(0)) gate.release();
});

const post = (app: TestApp, path: string, body: unknown) =>
  request(app.main).post(path).set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'application/json').send(JSON.stringify(body));

const incidents = async (app: TestApp) =>
  sampleValue((await request(app.main).get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).text, 'statusmate_incidents_active', { status_page: 'shop' }) ??
  0;

describe.skipIf(redisTool.skipReason !== undefined)('POST /-/forget on a Redis replica behind the log', () => {
  it('forgets an incident the receiving replica has not folded yet: the fold of the forget decides', async () => {
    const where = { url: fixture.server.url, keyPrefix: KEY_PREFIX };
    const log = await holdLogClock(fixture.server.url, KEY_PREFIX);
    try {
      const a = await openGatedReplica(where, { tokens: [TOKEN] }, gates, fixture.apps);
      const b = await openGatedReplica(where, { tokens: [TOKEN] }, gates, fixture.apps);
      await caughtUp([a.app, b.app]);
      b.gate.hold();
      expect(
        (
          await post(a.app, '/webhook', {
            text: 'x',
            meta: { uuid: API, type: 'component_impact_updated', impact: 'operational', title: 'API', status_page: 'shop' },
          })
        ).status,
      ).toBe(200);
      const created = {
        text: 'x',
        meta: {
          type: 'incident_created',
          uuid: INCIDENT,
          title: 'API down',
          status_page: 'shop',
          affected_components: [{ impact: 'major_outage', component_details: { name: 'API', component_uuid: API } }],
        },
      };
      expect((await post(a.app, '/webhook', created)).status).toBe(200);
      expect(await incidents(a.app)).toBe(1);
      expect(b.app.fold.state.pages.get('shop')?.incidents.has(INCIDENT) ?? false, 'B has not folded the incident').toBe(false);

      const endBefore = await log.end();
      const forgetting = post(b.app, '/-/forget', { status_page: 'shop', incident_uuid: INCIDENT }).then((res) => res);
      // B answers at once from its own state, or appends (and waits for its fold, held): B's fold
      // is released only once B decided.
      const answeredFirst = await Promise.race([
        forgetting.then(() => true),
        eventually(
          () => log.end(),
          (end) => end !== endBefore,
        ).then(() => false),
      ]);
      b.gate.release();
      const answer = await forgetting;
      expect({ status: answer.status, body: answer.body as unknown, answeredFirst }).toEqual({
        status: 200,
        body: { status: 'forgotten', status_page: 'shop', incident_uuid: INCIDENT },
        answeredFirst: false,
      });
      await caughtUp([a.app, b.app]);
      expect({ a: await incidents(a.app), b: await incidents(b.app) }).toEqual({ a: 0, b: 0 });
    } finally {
      await log.close();
    }
  });
});
