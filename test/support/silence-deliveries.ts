import { writeFileSync } from 'node:fs';
import request from 'supertest';
import type { TestApp } from './app.js';
import { fileYaml, type TimelineStep } from './silence-timelines.js';

// How the silences drills (test/domain/silences-drill.test.ts, test/e2e-silences-drill.test.ts)
// deliver one step of a timeline to an app: a webhook or a forget over HTTP, a reload of the
// status pages file at `path`; the other steps are the drill's own to act on.

/** The token the drills' apps take for webhooks and forgets. */
export const DRILL_TOKEN = 'drill-token';

/** Delivers one step; what the app answered (or the step's kind), for the drill's history. */
export async function deliverStep(app: TestApp, path: string, step: TimelineStep): Promise<string> {
  const { action } = step;
  if (action.kind === 'probe' || action.kind === 'restart' || action.kind === 'operator') return action.kind;
  if (action.kind === 'reload') {
    writeFileSync(path, fileYaml(action.file));
    return JSON.stringify(await app.inventory.reload());
  }
  const res = await request(app.main)
    .post(action.kind === 'webhook' ? '/webhook' : '/-/forget')
    .set('Authorization', `Bearer ${DRILL_TOKEN}`)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(action.kind === 'webhook' ? { meta: action.meta } : action.body));
  return `${res.status} ${String(res.body.status ?? res.body.error)}`;
}
