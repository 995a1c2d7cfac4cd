import request from 'supertest';
import { expect } from 'vitest';
import { REFUSING_STORE } from '../../src/log/fold-loop.js';
import { sampleValue, type TestApp } from './app.js';
import { eventually } from './redis.js';

// What the replica tests ask of an app in process: its readiness, its exposition, its refusals,
// and a webhook of one component's update.

/** A `component_impact_updated` of component `n` (uuid 00000000-0000-4000-8000-00000000000n). */
export const componentUpdate = (n: number, impact: string) => ({
  meta: { type: 'component_impact_updated', uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, title: `C${n}`, impact },
});

export const readyStatus = async (app: TestApp) => (await request(app.main).get('/readyz')).status;

export const postEvent = (app: TestApp, body: unknown) => request(app.main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify(body));

export const metricsText = async (app: TestApp) => (await request(app.main).get('/metrics')).text;

/** The app's `refusing the store` lines. */
export const refusalLines = (app: TestApp) => app.logs.lines.filter((line) => line.msg === REFUSING_STORE);

export const storeUpValue = async (app: TestApp) => sampleValue(await metricsText(app), 'statusmate_store_up');

/** Within 5 s: not ready, store_up 0, and a webhook answered 503 (what issue 16 asks of a store fault). */
export const refusedWithin5s = async (app: TestApp) => {
  const started = Date.now();
  await eventually(
    () => readyStatus(app),
    (status) => status === 503,
    5_000,
  );
  await eventually(
    () => storeUpValue(app),
    (up) => up === 0,
    Math.max(100, 5_000 - (Date.now() - started)),
  );
  expect((await postEvent(app, componentUpdate(99, 'major_outage'))).status).toBe(503);
};
