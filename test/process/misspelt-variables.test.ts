import { afterEach, describe, expect, it } from 'vitest';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

describe('a misspelt variable at start-up', () => {
  it('is warned about by name with the variable meant, and the exporter still starts', async () => {
    running = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKNE: 's3cret' });
    const warning = running.logs.find((line) => line.variable === 'WEBHOOK_TOKNE');
    expect(warning).toMatchObject({
      level: 'warn',
      did_you_mean: 'WEBHOOK_TOKEN',
      msg: 'WEBHOOK_TOKNE is not a statusmate-exporter setting and is ignored; did you mean WEBHOOK_TOKEN?',
    });
    expect(JSON.stringify(running.logs)).not.toContain('s3cret');
    expect(running.logs.some((line) => line.msg === 'WEBHOOK_TOKEN is not set: webhooks are accepted without a token')).toBe(true);
  });
});
