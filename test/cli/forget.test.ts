import { afterEach, describe, expect, it } from 'vitest';
import { forgetBody, forgetUrl, parseForgetOptions } from '../../src/cli/forget.js';
import { runCli } from '../support/cli.js';
import { freePort } from '../support/prometheus.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

const COMPONENT = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const INCIDENT = 'bd25a449-b655-49e3-ac46-a9d6ffd50691';

let exporter: ExporterProcess | undefined;
afterEach(async () => {
  await stopProcess(exporter);
  exporter = undefined;
});

describe('forget', () => {
  it('builds the body of POST /-/forget from its flags, on the base of any exporter URL', () => {
    const options = parseForgetOptions(['--url', 'http://127.0.0.1:9877/webhook?token=x', '--token', 't', '--page', 'shop', '--incident', INCIDENT]);
    expect(forgetBody(options)).toEqual({ status_page: 'shop', incident_uuid: INCIDENT });
    expect(forgetUrl(options.url).href).toBe('http://127.0.0.1:9877/-/forget');
    expect(forgetBody(parseForgetOptions(['--url', 'http://h', '--page', 'shop']))).toEqual({ status_page: 'shop' });
  });

  it('refuses flags that name two things, or no page, before sending anything', async () => {
    expect(() => parseForgetOptions(['--url', 'http://h', '--page', 'p', '--component', COMPONENT, '--incident', INCIDENT])).toThrow(/at most one of/);
    expect(() => parseForgetOptions(['--url', 'http://h'])).toThrow(/--page: is required/);
    expect(() => parseForgetOptions(['--url', 'http://h', '--page', 'p', '--component', 'nope'])).toThrow(/--component: must be a UUID/);
    const result = await runCli(['forget', '--url', 'http://127.0.0.1:1', '--page', 'p', '--maintenance', 'x']);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('--maintenance: must be a UUID');
  });

  it('forgets a component on a running exporter, exits 0, and /metrics no longer shows it', async () => {
    exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'secret' });
    const sent = await runCli([
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
      '--status-page',
      'acme',
    ]);
    expect(sent.code).toBe(0);
    const result = await runCli(['forget', '--url', exporter.url, '--token', 'secret', '--page', 'acme', '--component', COMPONENT]);
    expect(result.stdout).toMatch(new RegExp(`^forget acme ${COMPONENT}: forgotten \\(HTTP 200\\)`));
    expect(result.code).toBe(0);
    const metrics = await (await fetch(`${exporter.url}/metrics`)).text();
    expect(metrics).not.toContain(COMPONENT);
  });

  it('exits 1 with the answer when the exporter refuses: a wrong token, or nothing to forget', async () => {
    exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'secret' });
    const wrong = await runCli(['forget', '--url', exporter.url, '--token', 'nope', '--page', 'acme']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^forget acme: HTTP 401 .*wrong token: .*needs a WEBHOOK_TOKEN token/);
    const missing = await runCli(['forget', '--url', exporter.url, '--token', 'secret', '--page', 'acme']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('forget acme: HTTP 404 {"error":"no status page \\"acme\\""');
  });

  it('takes the token of a webhook URL given as --url when --token is absent, as send and replay do', async () => {
    exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'secret' });
    const event = ['--type', 'component_impact_updated', '--component', COMPONENT, '--impact', 'major_outage'];
    // The URL StatusMate is given, pasted whole: its token opens the forget too (it is a WEBHOOK_TOKEN token).
    const webhook = `${exporter.url}/webhook?token=secret&status_page=acme`;
    expect((await runCli(['send', '--url', webhook, ...event])).code).toBe(0);
    const result = await runCli(['forget', '--url', webhook, '--page', 'acme']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^forget acme: forgotten \(HTTP 200\)/);
    expect(result.code).toBe(0);
  });

  it("takes a base64 token from --url's ?token= with its '+' as pasted", async () => {
    exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'q+Z3/kV9+w1=' });
    const webhook = `${exporter.url}/webhook?token=q+Z3/kV9+w1=&status_page=acme`;
    const event = ['--type', 'component_impact_updated', '--component', COMPONENT, '--impact', 'major_outage'];
    expect((await runCli(['send', '--url', webhook, ...event])).code).toBe(0);
    const result = await runCli(['forget', '--url', webhook, '--page', 'acme']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^forget acme: forgotten \(HTTP 200\)/);
  });

  it('names the address that refused the connection', async () => {
    const port = await freePort(); // nothing listens there
    const result = await runCli(['forget', '--url', `http://127.0.0.1:${port}`, '--token', 't', '--page', 'acme']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`connection refused by 127.0.0.1:${port}`);
  });
});
