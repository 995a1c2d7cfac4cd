import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

/** The warn lines of a start with `env`. Stopped before reading: every line it wrote at start is then in its logs. */
const warnings = async (env: Record<string, string>) => {
  running = await startExporterProcess({ STORE: 'memory', ...env });
  const { port } = running;
  await stopProcess(running);
  return { port, warnings: running.logs.filter((line) => line.level === 'warn').map((line) => line.msg) };
};

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
    expect(running.logs.some((line) => line.msg?.toString().startsWith('WEBHOOK_TOKEN is not set: webhooks are accepted without a token'))).toBe(true);
  });
});

describe('a start without any token', () => {
  it('warns that the operator views answer anyone on the webhook port too, naming it, unless METRICS_PORT takes them', async () => {
    const open = await warnings({});
    expect(open.warnings).toContain(
      `WEBHOOK_TOKEN is not set: webhooks are accepted without a token, and GET /, /api/v1/state and /api/v1/availability answer anyone on port ${open.port} (METRICS_PORT moves them)`,
    );
    expect((await warnings({ METRICS_PORT: '0' })).warnings).toContain('WEBHOOK_TOKEN is not set: webhooks are accepted without a token');
  });
});

describe('a start with a short token', () => {
  it('warns of a token short enough to guess, as check does, and takes it', async () => {
    const guessable = 'WEBHOOK_TOKEN holds a token shorter than 16 characters, which can be guessed: make one with openssl rand -hex 32';
    expect((await warnings({ WEBHOOK_TOKEN: 'ab' })).warnings).toContain(guessable);
    expect((await warnings({ WEBHOOK_TOKEN: 'a'.repeat(32) })).warnings).not.toContain(guessable);
  });
});

describe('a start with page tokens only', () => {
  it('warns of each declared page that no token opens, as check does', async () => {
    const file = join(tempDir(), 'status-pages.yaml');
    writeFileSync(file, 'status_pages:\n  - id: acme\n    token_env: ACME_WEBHOOK_TOKEN\n  - id: payments\n');
    running = await startExporterProcess({ STORE: 'memory', STATUS_PAGES_FILE: file, ACME_WEBHOOK_TOKEN: 'acme-secret' });
    await stopProcess(running);
    expect(running.logs.filter((line) => line.level === 'warn').map((line) => line.msg)).toContain(
      'status page "payments" has no token_env and WEBHOOK_TOKEN is not set: every webhook of it is refused (401), since a page\'s token_env makes every webhook need a token; give it a token_env, or set WEBHOOK_TOKEN',
    );
    expect(JSON.stringify(running.logs)).not.toContain('acme-secret');
  });
});

describe("Node's own warnings", () => {
  it('are logged as JSON lines, not written to stderr as text', async () => {
    // A warning Node emits once the exporter runs (as a deprecation a request reaches would be).
    const preload = join(tempDir(), 'emit-warning.mjs');
    writeFileSync(preload, "setTimeout(() => process.emitWarning('a warning of the test', 'DeprecationWarning', 'DEP9999'), 500).unref();\n");
    running = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 's3cret', NODE_OPTIONS: `--import=${preload}` });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !running.logs.some((line) => line.warning !== undefined)) await new Promise((resolve) => setTimeout(resolve, 50));
    await stopProcess(running);
    expect(running.logs.filter((line) => line.warning !== undefined)).toEqual([
      expect.objectContaining({ level: 'warn', warning: 'DeprecationWarning', code: 'DEP9999', msg: 'a warning of the test' }),
    ]);
    expect(running.logs.filter((line) => 'stderr' in line)).toEqual([]);
  });
});
