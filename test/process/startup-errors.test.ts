import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { MAIN, runExporterToExit, runNodeToExit } from '../support/exporter.js';

/** The output of a start that must fail as a configuration error: exit 78, one JSON line, no stack. */
async function failedStart(env: Record<string, string>) {
  const { code, stdout, stderr } = await runExporterToExit(env);
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  return { code, stderr, lines, last: JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown> };
}

describe('a start that cannot listen', () => {
  it('stops with exit 78 and one line naming HOST when the host name does not resolve', async () => {
    const { code, stderr, last } = await failedStart({ HOST: 'not-a-host', STORE: 'memory' });
    expect(code).toBe(78);
    expect(stderr).toBe('');
    expect(last.level).toBe('fatal');
    expect(last.msg).toMatch(/^invalid configuration: HOST, PORT: cannot listen on not-a-host:0: the host name does not resolve.* \((ENOTFOUND|EAI_AGAIN)\)$/);
    expect(JSON.stringify(last)).not.toContain('stack');
  });

  it('stops with exit 78 and one line when the address is not one of this machine', async () => {
    // 192.0.2.0/24 is reserved for documentation: never an address of a real interface.
    const { code, last } = await failedStart({ HOST: '192.0.2.1', SQLITE_PATH: join(tempDir(), 'unused.db') });
    expect(code).toBe(78);
    expect(last.msg).toBe('invalid configuration: HOST, PORT: cannot listen on 192.0.2.1:0: not an address of this machine (EADDRNOTAVAIL)');
    expect(JSON.stringify(last)).not.toContain('stack');
  });
});

describe('a start on a port another process holds', () => {
  it.each(['PORT', 'METRICS_PORT'])('says in words that %s is in use and what to do, with exit 78 and one line', async (variable) => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const env: Record<string, string> = variable === 'PORT' ? { PORT: String(port) } : { PORT: '0', METRICS_PORT: String(port) };
      const { code, stderr, last } = await failedStart({ HOST: '127.0.0.1', STORE: 'memory', ...env });
      expect(code).toBe(78);
      expect(stderr).toBe('');
      expect(last.msg).toBe(
        `invalid configuration: HOST, ${variable}: cannot listen on 127.0.0.1:${port}: another process listens there (stop it, or set ${variable} to a free port) (EADDRINUSE)`,
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('a start with a bad variable', () => {
  it.each([
    [{ HOST: 'not a host' }, 'HOST'],
    [{ WEBHOOK_TOKEN: ',' }, 'WEBHOOK_TOKEN'],
  ])('stops %j with exit 78 and one line naming the variable', async (env, variable) => {
    const { code, lines, last } = await failedStart({ STORE: 'memory', ...env });
    expect(code).toBe(78);
    expect(lines).toHaveLength(1);
    expect(last.msg).toContain(`${variable}: `);
  });
});

describe('dist/main.js given an argument', () => {
  it('stops with exit 64 and one line pointing at the CLI, instead of starting an exporter that ignores it', async () => {
    const { code, stdout, stderr } = await runNodeToExit([MAIN, 'reset-redis', '--yes'], { STORE: 'memory', HOST: '127.0.0.1', PORT: '0' }, 20_000, 'main.js');
    expect(code).toBe(64);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^dist\/main\.js takes no arguments \(got "reset-redis --yes"\).*dist\/cli\.js/)]);
  });

  it('names the variables that flags meant (npm start -- --port 9999), never echoing a token', async () => {
    const args = ['--port', '9999', '--webhook-token=s3cret', '--metrics_port=9100', '--verbose'];
    const { code, stdout, stderr } = await runNodeToExit([MAIN, ...args], { STORE: 'memory', HOST: '127.0.0.1', PORT: '0' }, 20_000, 'main.js');
    expect(code).toBe(64);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      'it is configured by environment variables; set PORT=9999 WEBHOOK_TOKEN=<secret> METRICS_PORT=9100 in its environment instead (PORT=9999 WEBHOOK_TOKEN=<secret> METRICS_PORT=9100 npm start)',
    );
    expect(stderr).not.toContain('s3cret');
  });
});
