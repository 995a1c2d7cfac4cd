import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/domain/event.js';
import { buildEvent, parseSendOptions } from '../../src/cli/send.js';
import { parseWebhook } from '../../src/webhook/schema.js';
import { makeApp, sampleValue, type TestApp } from '../support/app.js';
import { runCli } from '../support/cli.js';
import { startExporterProcess, stopProcess } from '../support/exporter.js';

const COMPONENT = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const INCIDENT = 'bd25a449-b655-49e3-ac46-a9d6ffd50691';

describe('send', () => {
  it.each(EVENT_TYPES)('builds a %s that the exporter accepts', (type) => {
    const options = parseSendOptions([
      '--url',
      'http://127.0.0.1:1',
      '--type',
      type,
      '--component',
      COMPONENT,
      '--impact',
      'partial_outage',
      '--incident',
      INCIDENT,
      '--maintenance',
      INCIDENT,
      '--title',
      'Test',
    ]);
    const parsed = parseWebhook(buildEvent(options), 'default');
    expect(parsed.kind).toBe('event');
  });

  describe('a follow-up of an existing object', () => {
    let app: TestApp | undefined;
    afterEach(async () => app?.close());
    const post = async (body: unknown) => {
      const response = await request((app as TestApp).main)
        .post('/webhook')
        .set('Authorization', 'Bearer t')
        .send(body as object);
      expect(response.status).toBe(200);
      return response.body as { status: string };
    };
    const sent = (args: string[], now: Date) => buildEvent(parseSendOptions(['--url', 'http://127.0.0.1:1', ...args]), now);

    it('finishes an incident keeping its start and title: the duration is the real one', async () => {
      app = await makeApp({ tokens: ['t'] });
      const start = new Date(Date.now() - 2 * 3600_000);
      const real = {
        text: 'Real outage',
        meta: {
          type: 'incident_created',
          uuid: INCIDENT,
          title: 'Real outage',
          created_at: start.toISOString(),
          start_at: start.toISOString(),
          end_at: null,
          affected_components: [{ impact: 'major_outage', component_details: { name: 'API', impact: 'major_outage', component_uuid: COMPONENT } }],
        },
      };
      expect((await post(real)).status).toBe('applied');
      const finish = sent(['--type', 'incident_finished', '--incident', INCIDENT, '--component', COMPONENT, '--impact', 'operational'], new Date());
      expect((finish.meta as { start_at: unknown; title: unknown }).start_at).toBeNull();
      expect((finish.meta as { title: unknown }).title).toBeNull();
      expect((await post(finish)).status).toBe('applied');
      const text = (await request(app.main).get('/metrics')).text;
      const seconds = sampleValue(text, 'statusmate_incident_duration_seconds_sum', { status_page: 'default' }) ?? 0;
      expect(seconds).toBeGreaterThan(2 * 3600 - 60);
      expect(seconds).toBeLessThan(2 * 3600 + 60);
      const record = app.ingestor.state.pages.get('default')?.incidents.get(INCIDENT);
      expect(record).toMatchObject({ title: 'Real outage', state: 'finished', startAt: start.getTime() / 1000 });
    });

    it('updates a component without --title keeping its name', async () => {
      app = await makeApp({ tokens: ['t'] });
      expect(
        (await post(sent(['--type', 'component_impact_updated', '--component', COMPONENT, '--impact', 'major_outage', '--title', 'API'], new Date()))).status,
      ).toBe('applied');
      expect(
        (await post(sent(['--type', 'component_impact_updated', '--component', COMPONENT, '--impact', 'operational'], new Date(Date.now() + 1000)))).status,
      ).toBe('applied');
      const text = (await request(app.main).get('/metrics')).text;
      expect(sampleValue(text, 'statusmate_component_impact_level', { component_uuid: COMPONENT, component: 'API' })).toBe(0);
      expect(text).not.toContain('component="Component"');
    });
  });

  it('sends one event to a running exporter and prints its answer', async () => {
    const exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'secret' });
    try {
      const result = await runCli([
        'send',
        '--url',
        exporter.url,
        '--token',
        'secret',
        '--type',
        'component_impact_updated',
        '--component',
        COMPONENT,
        '--impact',
        'major_outage',
        '--title',
        'API',
        '--status-page',
        'acme',
      ]);
      expect(result.stdout).toMatch(new RegExp(`^component_impact_updated ${COMPONENT}: applied \\(HTTP 200 after 1 attempt\\(s\\)\\)`));
      expect(result.code).toBe(0);
      const metrics = await (await fetch(`${exporter.url}/metrics`)).text();
      expect(metrics).toContain(`statusmate_component_impact_level{status_page="acme",component_uuid="${COMPONENT}",component="API"} 4`);
    } finally {
      await stopProcess(exporter);
    }
  });

  it("exits 1 at once when a 200 is not the exporter's answer (another server at --url), rather than call it applied", async () => {
    const { createServer } = await import('node:http');
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const result = await runCli(['send', '--url', `http://127.0.0.1:${port}`, '--type', 'incident_created', '--component', COMPONENT]);
      expect([result.code, result.stdout, requests]).toEqual([1, '', 1]);
      expect(result.stderr).toMatch(
        /^incident_created [0-9a-f-]{36}: failed after 1 attempt\(s\).*HTTP 200 but the answer is not the exporter's \(hello\): does --url name the exporter\?/,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('exits 1 at once with the answer when the token is wrong, without retrying', async () => {
    const exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'secret' });
    try {
      const started = Date.now();
      const result = await runCli(['send', '--url', exporter.url, '--token', 'wrong', '--type', 'incident_created', '--component', COMPONENT]);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^incident_created [0-9a-f-]{36}: refused after 1 attempt\(s\) \(not retried: the same request gets the same answer\): HTTP 401 \{"error":"wrong webhook token"/,
      );
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await stopProcess(exporter);
    }
  });

  it.each([
    [['--url', 'http://x', '--type', 'component_impact_updated', '--component', COMPONENT], 'component_impact_updated needs --impact'],
    [['--url', 'http://x', '--type', 'incident_finished'], 'incident_finished needs --incident UUID'],
    [['--url', 'http://x', '--type', 'oops'], '--type: must be one of'],
    [['--url', 'http://x', '--type', 'incident_create'], '--type: did you mean incident_created? (one of'],
    [['--type', 'incident_created'], '--url: is required'],
    // A repeated flag is named with the value refused, not by its index among the values given.
    [['--url', 'http://x', '--type', 'incident_created', '--component', 'not-a-uuid'], '--component "not-a-uuid": must be a UUID'],
    [['--url', 'http://x', '--type', 'incident_created', '--component', COMPONENT, '--component', 'abc'], '--component "abc": must be a UUID'],
    [['--url', 'not-a-url', '--type', 'incident_created'], '--url: not a URL: "not-a-url"'],
    [['--url', 'ftp://x', '--type', 'incident_created'], '--url must be http or https, not ftp:'],
    // The address alone, as a listening log line gives it: the scheme is what is missing.
    [['--url', '127.0.0.1:9877', '--type', 'incident_created'], '--url: not a URL: "127.0.0.1:9877" (did you mean http://127.0.0.1:9877?)'],
    [['--url', 'localhost:9877', '--type', 'incident_created'], '--url must be http or https, not localhost: (did you mean http://localhost:9877?)'],
    // A typo is not sent: it would set the component to an impact nobody meant, and exit 0.
    [
      ['--url', 'http://x', '--type', 'component_impact_updated', '--component', COMPONENT, '--impact', 'major_outgae'],
      '--impact: must be one of operational, under_maintenance, degraded_performance, partial_outage, major_outage',
    ],
    [['--url', 'http://x', '--type', 'incident_created', '--attempts', 'abc'], '--attempts: must be a whole number from 1 to 20'],
    [['--url', 'http://x', '--type', 'incident_created', '--attempts', '0'], '--attempts: must be a whole number from 1 to 20'],
  ])('refuses %j with exit 64 and what is wrong, in one line', async (args, message) => {
    const result = await runCli(['send', ...args]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
