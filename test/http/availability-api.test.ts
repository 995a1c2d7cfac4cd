import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cutPercent } from '../../src/domain/availability.js';
import { ResponseSlots } from '../../src/http/response-slots.js';
import { SCRAPE_PAUSE_FACTOR } from '../../src/metrics/handler.js';
import { percent } from '../../src/ui/landing.js';
import { makeApp, sampleValue, sqliteStore, tempDir, type TestApp } from '../support/app.js';

// Issue 20 end to end: a component in major_outage for a measured interval, then operational.
// The counter and GET /api/v1/availability agree with the interval to within a second, before
// and after a restart on the same SQLite file, and the CSV names the component.

const ACME_UUID = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const SEARCH = '77337a51-852b-48f3-ac8d-840e5f5326a1';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function statusPagesFile(extra = ''): string {
  const file = join(tempDir(), 'status-pages.yaml');
  writeFileSync(
    file,
    `status_pages:\n  - id: acme\n    uuid: ${ACME_UUID}\n    name: ACME public status\n${extra}    components:\n      - uuid: ${API}\n        name: API\n      - uuid: ${SEARCH}\n        name: Search\n`,
  );
  return file;
}

const update = (target: TestApp, impact: string) =>
  request(target.main)
    .post('/webhook')
    .set('Content-Type', 'application/json')
    .send(JSON.stringify({ meta: { type: 'component_impact_updated', uuid: API, title: 'API', impact, status_page: ACME_UUID } }));

const today = () => new Date().toISOString().slice(0, 10);
const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

type ComponentReport = {
  uuid: string;
  name: string;
  known_since: string | null;
  known_seconds: number;
  availability: number | null;
  seconds: Record<string, number>;
  down_seconds: number;
};
type Report = {
  from: string;
  to: string;
  status_pages: { id: string; availability: number | null; seconds: Record<string, number>; components: ComponentReport[] }[];
};

async function report(target: TestApp, query = `?from=${yesterday()}&to=${today()}`): Promise<Report> {
  const response = await request(target.main).get(`/api/v1/availability${query}`);
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return response.body as Report;
}

describe('GET /api/v1/availability and the impact counter, end to end', () => {
  it('agree with a measured outage within a second, before and after a restart, and the CSV names the component', async () => {
    const path = join(tempDir(), 'ledger.db');
    const file = statusPagesFile();
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });

    const before = Date.now();
    expect((await update(app, 'major_outage')).status).toBe(200);
    const started = Date.now();
    await sleep(1_500);
    const ending = Date.now();
    expect((await update(app, 'operational')).status).toBe(200);
    const ended = Date.now();
    // The outage began between `before` and `started`, and ended between `ending` and `ended`.
    const shortest = (ending - started) / 1000;
    const longest = (ended - before) / 1000;

    const check = async (target: TestApp) => {
      const metrics = (await request(target.main).get('/metrics')).text;
      const counted = sampleValue(metrics, 'statusmate_component_impact_seconds_total', { component_uuid: API, impact: 'major_outage' });
      expect(counted).toBeGreaterThanOrEqual(shortest - 1);
      expect(counted).toBeLessThanOrEqual(longest + 1);
      const body = await report(target);
      const api = body.status_pages[0]?.components.find((c) => c.uuid === API);
      expect(api?.seconds.major_outage).toBeGreaterThanOrEqual(shortest - 1);
      expect(api?.seconds.major_outage).toBeLessThanOrEqual(longest + 1);
      // The two agree with each other to the millisecond: the same booked interval.
      expect(Math.abs((api?.seconds.major_outage ?? 0) - (counted ?? 0))).toBeLessThan(0.002);
      expect(api?.availability).toBeLessThan(1);
      expect(api?.down_seconds).toBeCloseTo(api?.seconds.major_outage ?? 0, 3);
      // Declared and never reported: operational from its declaration (in the log: the same after a restart).
      const search = body.status_pages[0]?.components.find((c) => c.uuid === SEARCH);
      expect(search).toMatchObject({ name: 'Search', availability: 1, down_seconds: 0 });
      expect(Date.parse(search?.known_since ?? '')).toBeLessThanOrEqual(before);
      expect(search?.seconds.operational).toBeGreaterThan(0);
      return counted;
    };
    const first = await check(app);
    await app.close();
    app = undefined;

    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    const second = await check(app);
    // The closed interval is the same number after the restart: it is in the snapshot / the log.
    expect(second).toBe(first);

    const csv = await request(app.main).get(`/api/v1/availability?format=csv&from=${yesterday()}&to=${today()}`);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const rows = csv.text.trim().split('\r\n');
    expect(rows[0]).toMatch(/^scope,status_page,component_uuid,component,from,to,availability_percent,/);
    const apiRow = rows.find((row) => row.includes(API));
    expect(apiRow).toMatch(new RegExp(`^component,acme,${API},API,${yesterday()},${today()},`));
    expect(rows.some((row) => row.startsWith('status_page,acme,,ACME public status,'))).toBe(true);
  });

  it('cuts the CSV percentage to 4 decimals (the landing page to 2), never rounding a period with downtime up to 100', () => {
    expect(cutPercent(0.99999965, 4)).toBe(99.9999);
    expect(cutPercent(1, 4)).toBe(100);
    expect(cutPercent(0.98809524, 4)).toBe(98.8095);
    // Binary fractions just under the decimal they stand for stay that decimal.
    expect(cutPercent(0.57, 4)).toBe(57);
    expect(cutPercent(0.29, 4)).toBe(29);
    expect(cutPercent(0, 4)).toBe(0);
    // Downtime too short for the 9-place rounding (a millisecond in 29 days) still is downtime.
    expect(cutPercent(0.9999999996, 4)).toBe(99.9999);
    expect(cutPercent(1 - Number.EPSILON, 2)).toBe(99.99);
    // A ratio truly under the next place is cut, not rounded up: 56.80129995 % (a random history's
    // component, 1 − down / counted) read 56.8013 when the ratio was first rounded to 9 places.
    expect(cutPercent(0.5680129995471469, 4)).toBe(56.8012);
    expect(cutPercent(0.5679999996, 2)).toBe(56.79);
    expect(percent(0.9899999996)).toBe('98.99 %');
    expect(percent(0.9999999996)).toBe('99.99 %');
    // The landing page cuts the same way, to 2 places (it showed 0.57 as 56.99 %).
    expect(percent(0.57)).toBe('57.00 %');
    expect(percent(0.99999965)).toBe('99.99 %');
    expect(percent(1)).toBe('100 %');
  });

  it('answers 400 naming the problem for bad parameters, and 404 for an unknown page', async () => {
    app = await makeApp({ statusPagesFile: statusPagesFile() });
    const cases: [string, RegExp][] = [
      ['?from=2026-13-01', /from must be a date/],
      ['?to=yesterday', /to must be a date/],
      ['?from=2026-11-30&to=2026-11-01', /is after to/],
      ['?from=2020-01-01&to=2026-01-01', /more than the 401 days/],
      // A day not begun yet: nothing of it is known, so a report up to it would read as no data.
      ['?from=9999-12-02&to=9999-12-31', new RegExp(`^invalid query: to \\(9999-12-31\\) is after today \\(${today()}, UTC\\)`)],
      [`?to=${tomorrow()}`, /to \(\d{4}-\d\d-\d\d\) is after today/],
      [`?from=${today()}&to=9999-12-31`, /to \(9999-12-31\) is after today/],
      ['?format=xml', /format must be json or csv/],
      ['?color=red', /unknown parameter "color"/],
      ['?from=2026-11-01&from=2026-11-02', /from is given more than once/],
    ];
    for (const [query, problem] of cases) {
      const response = await request(app.main).get(`/api/v1/availability${query}`);
      expect(response.status, query).toBe(400);
      expect((response.body as { error: string }).error, query).toMatch(problem);
    }
    const missing = await request(app.main).get('/api/v1/availability?status_page=nope');
    expect(missing.status).toBe(404);
  });

  it('follows the policy of the status pages file: degraded counted half, maintenance not excluded', async () => {
    const file = statusPagesFile('    availability:\n      weights: { degraded_performance: 0.5 }\n      exclude_maintenance: false\n');
    app = await makeApp({ statusPagesFile: file });
    const body = await report(app, '');
    expect(body.to).toBe(today());
    expect((body.status_pages[0] as unknown as { policy: unknown }).policy).toEqual({
      weights: { major_outage: 1, partial_outage: 1, degraded_performance: 0.5 },
      exclude_maintenance: false,
    });
  });
});

describe('GET /api/v1/availability of a declared component whose history arrives late', () => {
  it('books the history from its own times when its first event leaves the component as it was (a maintenance scheduled)', async () => {
    app = await makeApp({ statusPagesFile: statusPagesFile('    availability:\n      weights: { degraded_performance: 0.5 }\n') });
    const day = yesterday();
    const at = (hour: number) => `${day}T${String(hour).padStart(2, '0')}:00:00Z`;
    const affected = (impact: string) => [{ impact, component_details: { name: 'API', impact, component_uuid: API } }];
    const window = { start_at: at(8), end_at: at(10) };
    const M = 'bbbbbbbb-0000-4000-8000-000000000002';
    const I = 'cccccccc-0000-4000-8000-000000000002';
    const history = [
      { type: 'maintenance_created', uuid: M, title: 'M', created_at: at(7), ...window, affected_components: affected('under_maintenance') },
      { type: 'maintenance_started', uuid: M, title: 'M', created_at: at(8), ...window, affected_components: affected('under_maintenance') },
      { type: 'incident_created', uuid: I, title: 'I', created_at: at(9), affected_components: affected('degraded_performance') },
      { type: 'maintenance_finished', uuid: M, title: 'M', created_at: at(10), ...window, affected_components: affected('operational') },
      { type: 'incident_finished', uuid: I, title: 'I', created_at: at(11), affected_components: affected('operational') },
    ];
    for (const meta of history) {
      const answer = await request(app.main).post(`/webhook?status_page=acme`).set('Content-Type', 'application/json').send(JSON.stringify({ meta }));
      expect(answer.body.status).toBe('applied');
    }
    const api = (await report(app, `?from=${day}&to=${day}`)).status_pages[0]?.components.find((c) => c.uuid === API);
    // Known from 07:00: 17 h, 1 h of it excluded (maintenance alone), 2 h degraded counted half.
    expect(api).toMatchObject({ known_since: `${day}T07:00:00.000Z`, known_seconds: 61_200, down_seconds: 3_600 });
  });
});

describe('GET /api/v1/availability at its byte bound', () => {
  // A report repeats each incident under every component it named: at the default limits one
  // answer took the exporter past its heap (MAX_ANSWER_BYTES says how). Here the bound is small.
  it('refuses a report larger than the bound with a 400 naming what narrows it, and answers a narrower one whole', async () => {
    const title = 'Checkout and search down '.repeat(8);
    app = await makeApp({ statusPagesFile: statusPagesFile(), availabilityMaxBytes: 4_000 });
    const affected = [API, SEARCH].map((uuid) => ({ impact: 'major_outage', component_details: { name: 'x', impact: 'major_outage', component_uuid: uuid } }));
    for (let i = 0; i < 4; i += 1) {
      const meta = { type: 'incident_created', uuid: `cccccccc-0000-4000-8000-00000000000${i}`, title, status_page: 'acme', affected_components: affected };
      expect((await request(app.main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify({ meta }))).status).toBe(200);
    }
    const all = await request(app.main).get('/api/v1/availability');
    expect(all.status).toBe(400);
    expect(all.body).toEqual({
      error:
        'report too large: more than the 4000 bytes one answer takes; ask for one status page (status_page=<id>), or a shorter period (from, to), or format=csv',
      issues: [],
    });
    const one = await request(app.main).get('/api/v1/availability?status_page=acme');
    expect(one.status).toBe(400);
    expect(one.body.error).toBe('report too large: more than the 4000 bytes one answer takes; ask for a shorter period (from, to), or format=csv');
    // The CSV names each title once per row, without the incidents' uuids and times: it fits.
    const csv = await request(app.main).get('/api/v1/availability?status_page=acme&format=csv');
    expect(csv.status).toBe(200);
    expect(Number(csv.headers['content-length'])).toBe(Buffer.byteLength(csv.text));
    expect(Buffer.byteLength(csv.text)).toBeLessThanOrEqual(4_000);
    expect(csv.text.split('\r\n')).toHaveLength(5); // header, two components, the page, and the end
  });

  it('writes the JSON report piece by piece exactly as one JSON.stringify would', async () => {
    app = await makeApp({ statusPagesFile: statusPagesFile() });
    expect((await update(app, 'major_outage')).status).toBe(200);
    const response = await request(app.main).get('/api/v1/availability');
    expect(response.status).toBe(200);
    expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.text));
    expect(JSON.stringify(JSON.parse(response.text))).toBe(response.text);
    expect((JSON.parse(response.text) as Report).status_pages.map((page) => page.components.length)).toEqual([2]);
  });
});

describe('GET /api/v1/availability under a crowd', () => {
  it("takes a slot that rests after every answer, at least as long as a scrape's under a crowd: reports are computed per query, in one go", async () => {
    app = await makeApp({ statusPagesFile: statusPagesFile() });
    const taken: ResponseSlots[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own `this` below
    const take = ResponseSlots.prototype.take;
    const spy = vi.spyOn(ResponseSlots.prototype, 'take').mockImplementation(function (this: ResponseSlots, res) {
      taken.push(this);
      return take.call(this, res);
    });
    try {
      for (const path of ['/api/v1/availability', '/api/v1/state', '/']) expect((await request(app.main).get(path)).status).toBe(200);
    } finally {
      spy.mockRestore();
    }
    expect(taken).toHaveLength(3);
    for (const slots of taken) {
      expect(slots.pacing.pauseFactor).toBeGreaterThanOrEqual(SCRAPE_PAUSE_FACTOR);
      expect(slots.pacing.restAfterEvery).toBe(true);
    }
  });
});
