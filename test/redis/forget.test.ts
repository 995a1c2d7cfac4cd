import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { domainSamples, makeApp, sampleValue, type TestApp, whenReady } from '../support/app.js';
import { eventually, redisStore, redisTool, redisPerTest } from '../support/redis.js';

// A forget travels the Redis log like an event: every replica folds it, and so does one started later.

const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const TOKEN = 't0ken';
const AUTH = `Bearer ${TOKEN}`;

const fixture = redisPerTest();

const open = async () => {
  const app = await makeApp({ tokens: [TOKEN], store: redisStore({ url: fixture.server.url }) });
  fixture.apps.push(app);
  await whenReady(app);
  return app;
};
const post = (app: TestApp, uuid: string, impact: string) =>
  request(app.main)
    .post('/webhook?status_page=shop')
    .set('Authorization', AUTH)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify({ meta: { type: 'component_impact_updated', uuid, impact, title: 'C' } }));
const metrics = async (app: TestApp) => (await request(app.main).get('/metrics').set('Authorization', AUTH)).text;

describe.skipIf(redisTool.skipReason !== undefined)('forget on STORE=redis', () => {
  it('makes both replicas forget a component one of them was asked to forget, and a replica started later too', async () => {
    const [a, b] = [await open(), await open()];
    expect((await post(a, WEBSITE, 'major_outage')).status).toBe(200);
    expect((await post(b, API, 'partial_outage')).status).toBe(200);
    await eventually(
      async () => sampleValue(await metrics(b), 'statusmate_component_impact', { component_uuid: WEBSITE, impact: 'major_outage' }),
      (value) => value === 1,
    );

    const res = await request(b.main)
      .post('/-/forget')
      .set('Authorization', AUTH)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ status_page: 'shop', component_uuid: WEBSITE }));
    expect(res.status).toBe(200);
    expect(await metrics(b)).not.toContain(`component_uuid="${WEBSITE}"`);
    const onA = await eventually(
      async () => await metrics(a),
      (text) => !text.includes(`component_uuid="${WEBSITE}"`),
    );
    expect(sampleValue(onA, 'statusmate_component_impact', { component_uuid: API, impact: 'partial_outage' })).toBe(1);

    const c = await open();
    expect(domainSamples(await metrics(c)).filter((line) => !line.includes('timestamp_seconds'))).toEqual(
      domainSamples(await metrics(a)).filter((line) => !line.includes('timestamp_seconds')),
    );
    expect(await metrics(c)).not.toContain(`component_uuid="${WEBSITE}"`);
  });
});
