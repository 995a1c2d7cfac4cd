import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, type TestApp } from '../support/app.js';

let app: TestApp;
beforeAll(async () => {
  app = await makeApp({ store: new MemoryLog(), maxComponents: 50 });
});
afterAll(async () => app.close());

const uuidish = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }));
const impactish = fc.oneof(fc.constantFrom('operational', 'major_outage', 'under_maintenance', 'new_kind'), fc.string({ maxLength: 10 }), fc.integer());
const timeish = fc.oneof(
  fc.constant(null),
  fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.string({ maxLength: 30 }),
);
const component = fc.record(
  {
    impact: impactish,
    component_details: fc.record({ name: fc.oneof(fc.string(), fc.constant(null)), impact: impactish, component_uuid: uuidish }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const meta = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom(
        'incident_created',
        'incident_finished',
        'maintenance_created',
        'maintenance_started',
        'maintenance_finished',
        'component_impact_updated',
      ),
      fc.string({ maxLength: 12 }),
    ),
    uuid: uuidish,
    title: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
    created_at: timeish,
    start_at: timeish,
    end_at: timeish,
    delivery_attempt: fc.oneof(fc.nat(), fc.integer(), fc.constant(null)),
    status_page: fc.oneof(fc.string({ maxLength: 300 }), fc.constant(null)),
    impact: impactish,
    affected_components: fc.oneof(fc.array(component, { maxLength: 4 }), fc.constant(null), fc.string()),
    payload: fc.oneof(fc.constant({}), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), fc.constant(null)),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(fc.record({ text: fc.oneof(fc.string(), fc.constant(null)), meta }, { requiredKeys: ['meta'] }), fc.jsonValue({ maxDepth: 3 }));

describe('whatever a client sends', () => {
  it('is answered with 200 or 400 and a JSON body, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const response = await request(app.main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify(payload));
        expect([200, 400]).toContain(response.status);
        expect(typeof response.body).toBe('object');
        if (response.status === 400) expect(response.body.error).toEqual(expect.any(String));
      }),
      { numRuns: 400 },
    );
  });

  it('survives bytes that are not UTF-8 JSON', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const response = await request(app.main).post('/webhook').set('Content-Type', 'application/json').send(Buffer.from(bytes));
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: 200 },
    );
    expect((await request(app.main).get('/healthz')).status).toBe(200);
  });
});

describe('a long path', () => {
  it('is echoed cut, in the 404 and in its log line, as every value a client sent', async () => {
    const own = await makeApp({ store: new MemoryLog() });
    try {
      const path = `/${'a'.repeat(15_000)}`;
      const response = await request(own.main).get(path);
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ error: `no route for GET /${'a'.repeat(99)}…`, issues: [] });
      const line = own.logs.lines.find((entry) => entry.msg === 'request' && entry.status === 404);
      expect(line?.path).toBe(`/${'a'.repeat(199)}…`);
    } finally {
      await own.close();
    }
  });
});
