import { execFileSync } from 'node:child_process';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { negotiateFormat } from '../../src/metrics/exposition.js';
import { fixture, makeApp, sampleValue, type TestApp } from '../support/app.js';
import { affects, componentUpdate, incident, Player, T0 } from '../support/events.js';
import { findTool } from '../support/tools.js';

const promtool = findTool('promtool', 'apt-get install -y prometheus');

// The Accept headers real scrapers send.
const PROMETHEUS_2 = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Every family's samples, checked the way an OpenMetrics parser reads them. */
function checkOpenMetrics(text: string): { families: Map<string, string>; samples: string[] } {
  const lines = text.split('\n');
  expect(lines.at(-1)).toBe('');
  expect(lines.at(-2)).toBe('# EOF');
  expect(lines.filter((line) => line === '# EOF')).toHaveLength(1);
  const families = new Map<string, string>();
  const samples: string[] = [];
  let current = '';
  const closed = new Set<string>();
  for (const line of lines.slice(0, -2)) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      expect(families.has(type[1] ?? ''), `family ${type[1]} declared twice`).toBe(false);
      if (current) closed.add(current);
      current = type[1] ?? '';
      families.set(current, type[2] ?? '');
      continue;
    }
    if (line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
    expect(name.startsWith(current), `${name} outside its family ${current}`).toBe(true);
    samples.push(line);
  }
  for (const [family, type] of families) {
    if (type === 'counter') expect(family.endsWith('_total'), family).toBe(false);
  }
  return { families, samples };
}

describe('content negotiation', () => {
  it.each([
    ['Prometheus 2.x', PROMETHEUS_2, 'openmetrics'],
    ['Prometheus 3.x', PROMETHEUS_3, 'openmetrics'],
    ['no Accept header (curl)', undefined, 'text'],
    ['*/*', '*/*', 'text'],
    ['the text format only', 'text/plain;version=0.0.4', 'text'],
    ['OpenMetrics 0.0.1 only, which is not served', 'application/openmetrics-text;version=0.0.1', 'text'],
    ['OpenMetrics refused with q=0', 'application/openmetrics-text;q=0, text/plain', 'text'],
    ['OpenMetrics ranked below text', 'application/openmetrics-text;q=0.2, text/plain;q=0.5', 'text'],
    ['OpenMetrics unversioned', 'application/openmetrics-text', 'openmetrics'],
  ] as const)('answers %s with %s', (_what, accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
});

describe('domain metrics in OpenMetrics', () => {
  const p = new Player();
  p.play(incident('incident_created', 1, T0, [affects(1, 'major_outage')]), T0 + 100);
  p.play(incident('incident_finished', 1, T0 + 600, []), T0 + 700);
  p.play(componentUpdate(2, 'operational', T0), T0 + 800);

  it('names counter families without _total and gives each page counter a _created at the receipt of its first event', () => {
    const metrics = new DomainMetrics(p.state);
    const { head, tail } = metrics.openMetrics();
    const text = `${Buffer.concat(head).toString('utf8')}${tail.toString('utf8')}# EOF\n`;
    const { families } = checkOpenMetrics(text);
    expect(families.get('statusmate_incidents_created')).toBe('counter');
    expect(families.has('statusmate_incidents_created_total')).toBe(false);
    expect(sampleValue(text, 'statusmate_incidents_created_total')).toBe(1);
    expect(sampleValue(text, 'statusmate_incidents_created_created')).toBe(T0 + 100);
    expect(sampleValue(text, 'statusmate_maintenances_started_created')).toBe(T0 + 100);
    expect(sampleValue(text, 'statusmate_incident_duration_seconds_created')).toBe(T0 + 100);
    expect(sampleValue(text, 'statusmate_incident_duration_seconds_count')).toBe(1);
  });

  it('leaves the text format as it was: the same per-component bytes, counters with _total, no _created', () => {
    const metrics = new DomainMetrics(p.state);
    const before = Buffer.from(metrics.text()).toString('utf8');
    const { head, tail } = metrics.openMetrics();
    const headText = Buffer.concat(head).toString('utf8');
    expect(before.startsWith(headText)).toBe(true);
    expect(tail.toString('utf8')).not.toBe(before.slice(headText.length));
    expect(metrics.text().toString('utf8')).toBe(before);
    expect(before).toContain('# TYPE statusmate_incidents_created_total counter');
    expect(before).not.toContain('_created{');
  });
});

describe('GET /metrics', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function withEvent(): Promise<TestApp> {
    app = await makeApp();
    const response = await request(app.main)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(fixture('seed-incident-created.json')));
    expect(response.status).toBe(200);
    return app;
  }

  it('serves OpenMetrics with _created samples and one final # EOF when Prometheus asks for it', async () => {
    const { main } = await withEvent();
    const response = await request(main).get('/metrics').set('Accept', PROMETHEUS_2);
    expect(response.headers['content-type']).toBe(OPENMETRICS);
    expect(response.headers.vary).toBe('Accept, Accept-Encoding');
    const { families } = checkOpenMetrics(response.text);
    expect(families.get('statusmate_webhook_requests')).toBe('counter');
    expect(families.get('statusmate_webhook_request_duration_seconds')).toBe('histogram');
    expect(families.get('process_cpu_seconds')).toBe('counter');
    const now = Date.now() / 1000;
    const created = sampleValue(response.text, 'statusmate_webhook_requests_created', { outcome: 'applied', type: 'incident_created' }) ?? 0;
    expect(created).toBeGreaterThan(now - 120);
    expect(created).toBeLessThanOrEqual(now);
    expect(sampleValue(response.text, 'statusmate_webhook_requests_total', { outcome: 'applied', type: 'incident_created' })).toBe(1);
    expect(sampleValue(response.text, 'statusmate_webhook_request_duration_seconds_created')).toBe(created);
    expect(sampleValue(response.text, 'statusmate_incidents_created_created')).toBeGreaterThan(now - 120);
  });

  it('serves the text format 0.0.4 by default, and still after an OpenMetrics scrape', async () => {
    const { main } = await withEvent();
    await request(main).get('/metrics').set('Accept', PROMETHEUS_3);
    const response = await request(main).get('/metrics');
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.text).toContain('# TYPE statusmate_webhook_requests_total counter');
    expect(response.text).toContain('# TYPE statusmate_incidents_created_total counter');
    expect(response.text).not.toContain('# EOF');
    expect(response.text).not.toContain('_created{');
  });

  it.skipIf(promtool.skipReason !== undefined)(
    "serves a text format that promtool check metrics parses and finds no fault with in the exporter's metrics",
    async () => {
      const { main } = await withEvent();
      const text = (await request(main).get('/metrics')).text;
      let report: string;
      try {
        report = execFileSync(promtool.path ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (error) {
        const failed = error as { stdout?: string; stderr?: string };
        report = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
      }
      expect(report.split('\n').filter((line) => line.includes('statusmate_') || line.includes('error'))).toEqual([]);
      expect(text).toContain('statusmate_maintenances_active{');
    },
  );

  it('gzips OpenMetrics into the same document', async () => {
    const { main } = await withEvent();
    const plain = (await request(main).get('/metrics').set('Accept', PROMETHEUS_2).set('Accept-Encoding', 'identity')).text;
    const server = createServer(main).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    // Raw bytes through node:http: supertest would decode them.
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/metrics', headers: { Accept: PROMETHEUS_2, 'Accept-Encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    server.close();
    expect(raw.encoding).toBe('gzip');
    const text = gunzipSync(raw.body).toString('utf8');
    checkOpenMetrics(text);
    const withoutVolatile = (t: string) =>
      t
        .split('\n')
        .filter((line) => !/^(process_|nodejs_|statusmate_webhook_request_duration|statusmate_component_impact_seconds_total)/.test(line))
        .join('\n');
    expect(withoutVolatile(text)).toBe(withoutVolatile(plain));
  });
});
