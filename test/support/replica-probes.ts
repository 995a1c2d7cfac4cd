import request from 'supertest';
import { REFUSING_STORE } from '../../src/log/fold-loop.js';
import type { TestApp } from './app.js';

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
