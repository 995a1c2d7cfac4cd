import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { runCli } from '../support/cli.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// The exporter's 401 tells an HTTP client how to send a token (a header, ?token=); a user of the
// CLI gives it with the command's own flags, and that is what the command says.

const COMPONENT = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const HINT = 'the exporter requires a token and none was sent: give this command --token T or --token-file F';

let exporter: ExporterProcess | undefined;
beforeAll(async () => {
  exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'secret' });
});
afterAll(async () => stopProcess(exporter));

describe('a command run without a token against an exporter that requires one', () => {
  it('send names --token and --token-file, not the HTTP headers', async () => {
    const url = (exporter as ExporterProcess).url;
    const result = await runCli(['send', '--url', url, '--type', 'component_impact_updated', '--component', COMPONENT, '--impact', 'major_outage']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`HTTP 401 ${HINT}`);
    expect(result.stderr).not.toContain('X-Webhook-Token');
  });

  it('replay names them too, and still says where to resume', async () => {
    const file = join(tempDir(), 'one.jsonl');
    writeFileSync(file, `${JSON.stringify({ meta: { type: 'component_impact_updated', uuid: COMPONENT, impact: 'major_outage' } })}\n`);
    const result = await runCli(['replay', file, '--url', (exporter as ExporterProcess).url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`event 1 (line 1): refused after 1 attempt(s): HTTP 401 ${HINT}`);
    expect(result.stderr).toContain('(resume from line 1)');
    expect(result.stderr).not.toContain('X-Webhook-Token');
  });

  it('forget names them, and that METRICS_PORT needs none', async () => {
    const result = await runCli(['forget', '--url', (exporter as ExporterProcess).url, '--page', 'acme']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`forget acme: HTTP 401 ${HINT} (a WEBHOOK_TOKEN token; none is needed on METRICS_PORT)\n`);
  });

  it("with a wrong token, still shows the exporter's own answer", async () => {
    const url = (exporter as ExporterProcess).url;
    const result = await runCli([
      'send',
      '--url',
      url,
      '--token',
      'nope',
      '--type',
      'component_impact_updated',
      '--component',
      COMPONENT,
      '--impact',
      'major_outage',
    ]);
    expect(result.stderr).toContain('HTTP 401 {"error":"wrong webhook token"');
  });
});

describe('send --help and replay --help', () => {
  it.each(['send', 'replay'])('%s --help says what --url and --token take, as forget --help does', async (command) => {
    const help = await runCli([command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}--url URL {9}the exporter's PORT/m);
    expect(help.stdout).toMatch(/^ {2}--token T {9}a WEBHOOK_TOKEN token, or the status page's own/m);
  });
});
