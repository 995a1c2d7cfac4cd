import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { parseWebhook } from '../../src/webhook/schema.js';
import { makeApp, sampleValue, type TestApp } from '../support/app.js';

// JSON may escape half a surrogate pair ("\ud800"), which is no Unicode text. /metrics writes it
// as U+FFFD; served back as "\ud800" in /api/v1/state and /api/v1/availability, it made jq refuse
// the whole answer ("Invalid \uXXXX\uXXXX surrogate pair escape") and Python's print of the name fail.
const COMPONENT = '55555555-5555-4555-8555-555555555555';
const OTHER = '77777777-7777-4777-8777-777777777777';
const INCIDENT = '66666666-6666-4666-8666-666666666666';
/** A \u escape of a surrogate that is not one half of a pair, as JSON.stringify writes it. */
const LONE_ESCAPE = /\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i;

function eventOf(body: unknown): StatusMateEvent {
  const parsed = parseWebhook(body, 'default');
  if (parsed.kind !== 'event') throw new Error(`not an event: ${JSON.stringify(parsed)}`);
  return parsed.event;
}

describe('a lone surrogate in a name or title', () => {
  it('is taken as U+FFFD, as /metrics writes it, in meta.title, text and component_details.name; a whole pair is kept', () => {
    const update = eventOf({ meta: { uuid: COMPONENT, title: 'a\ud800b\udc00', type: 'component_impact_updated', impact: 'operational' } });
    expect(update.type === 'component_impact_updated' && update.name).toBe('a\ufffdb\ufffd');
    const incident = eventOf({
      text: 'down \udfff',
      meta: {
        uuid: INCIDENT,
        type: 'incident_created',
        affected_components: [{ impact: 'major_outage', component_details: { name: '\ud83d\udd25 \ud83d', component_uuid: COMPONENT } }],
      },
    });
    expect(incident.type === 'incident_created' && [incident.title, incident.components[0]?.name]).toEqual(['down \ufffd', '\u{1f525} \ufffd']);
  });

  describe('served back', () => {
    let app: TestApp | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    it('leaves /api/v1/state and /api/v1/availability JSON that strict parsers take, naming it as /metrics does', async () => {
      app = await makeApp();
      const post = (body: string) => request(app!.main).post('/webhook?status_page=acme').set('Content-Type', 'application/json').send(body);
      // Written by hand: JSON.stringify of a JavaScript string would escape the surrogate the same way, but say so less plainly.
      expect((await post(`{"meta":{"type":"component_impact_updated","uuid":"${COMPONENT}","impact":"major_outage","title":"api \\ud800"}}`)).status).toBe(200);
      const incident = `{"meta":{"type":"incident_created","uuid":"${INCIDENT}","title":"outage \\udc00","affected_components":[{"impact":"partial_outage","component_details":{"name":"web \\ud800","component_uuid":"${OTHER}"}}]}}`;
      expect((await post(incident)).status).toBe(200);

      const state = await request(app.main).get('/api/v1/state');
      expect(state.status).toBe(200);
      expect(state.text).not.toMatch(LONE_ESCAPE);
      const page = (state.body as { status_pages: { id: string; components: { name: string }[]; incidents: { title: string }[] }[] }).status_pages.find(
        (each) => each.id === 'acme',
      );
      expect(page?.components.map((component) => component.name).sort()).toEqual(['api \ufffd', 'web \ufffd']);
      expect(page?.incidents.map((each) => each.title)).toEqual(['outage \ufffd']);

      const availability = await request(app.main).get('/api/v1/availability');
      expect(availability.status).toBe(200);
      expect(availability.text).not.toMatch(LONE_ESCAPE);

      const metrics = (await request(app.main).get('/metrics')).text;
      expect(sampleValue(metrics, 'statusmate_component_impact_level', { status_page: 'acme', component: 'api \ufffd' })).toBe(4);
    });
  });
});
