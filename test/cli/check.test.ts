import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_USAGE } from '../../src/cli/check.js';
import { tempDir } from '../support/app.js';
import { runCli } from '../support/cli.js';
import { MAIN, runNodeToExit } from '../support/exporter.js';

const PAGES = `status_pages:
  - id: acme
    token_env: ACME_WEBHOOK_TOKEN
    components:
      - uuid: 88337a51-852b-48f3-ac8d-840e5f5326a0
        name: API
      - uuid: 88337a51-852b-48f3-ac8d-840e5f5326a1
        name: Web
  - id: beta
    components:
      - uuid: 98337a51-852b-48f3-ac8d-840e5f5326a0
        name: API
`;

function file(text: string): string {
  const path = join(tempDir(), 'pages.yaml');
  writeFileSync(path, text);
  return path;
}

/** The one line a start logs (at fatal) before it exits 78 on this environment. */
async function startRefusal(env: Record<string, string>): Promise<string> {
  const start = await runNodeToExit([MAIN], { HOST: '127.0.0.1', PORT: '0', STORE: 'memory', ...env }, 30_000, 'exporter start');
  expect(start.code).toBe(78);
  const lines = start.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { level: string; msg: string });
  return lines.find((line) => line.level === 'fatal')?.msg ?? '';
}

describe('statusmate-exporter check', () => {
  it('passes a file a start takes, listing its pages, components and where their tokens come from', async () => {
    const pages = file(PAGES);
    const result = await runCli(['check', pages], { STORE: 'memory', ACME_WEBHOOK_TOKEN: 'acme-secret' });
    expect(result).toEqual({
      code: 0,
      stdout: [
        'the environment: ok (STORE=memory; webhooks need a token)',
        `STATUS_PAGES_FILE ${pages}: ok, 2 status pages and 3 components`,
        '  acme: 2 components; its token from ACME_WEBHOOK_TOKEN',
        '  beta: 1 component',
        '',
      ].join('\n'),
      // Once a page has a token, every webhook needs one: beta has none, and WEBHOOK_TOKEN is unset.
      stderr:
        'warning: status page "beta" has no token_env and WEBHOOK_TOKEN is not set: every webhook of it is refused (401), since a page\'s token_env makes every webhook need a token; give it a token_env, or set WEBHOOK_TOKEN\n',
    });
    // WEBHOOK_TOKEN opens beta: nothing to warn of.
    expect((await runCli(['check', pages], { STORE: 'memory', ACME_WEBHOOK_TOKEN: 'acme-secret', WEBHOOK_TOKEN: 'all-pages-secret' })).stderr).toBe('');
  });

  it('refuses a file as a start does, with the line the start exits 78 with, and exits 1', async () => {
    const pages = file(PAGES.replace('uuid: 98337a51-852b-48f3-ac8d-840e5f5326a0', 'uuid: not-a-uuid'));
    const env = { STORE: 'memory', ACME_WEBHOOK_TOKEN: 'acme-secret' };
    const result = await runCli(['check', pages], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`STATUS_PAGES_FILE ${pages}: status_pages[1].components[0].uuid: must be a UUID (at line 11, column 15)\n`);
    expect(result.stderr.trimEnd()).toBe(await startRefusal({ ...env, STATUS_PAGES_FILE: pages }));
  });

  it('reads STATUS_PAGES_FILE when no file is given, and checks the variables as a start does', async () => {
    const pages = file(PAGES);
    const passed = await runCli(['check'], { STORE: 'memory', STATUS_PAGES_FILE: pages, ACME_WEBHOOK_TOKEN: 'acme-secret' });
    expect([passed.code, passed.stdout.split('\n')[1]]).toEqual([0, `STATUS_PAGES_FILE ${pages}: ok, 2 status pages and 3 components`]);

    const env = { STORE: 'memory', MAX_COMPONENTS: 'many' };
    const refused = await runCli(['check'], env);
    expect([refused.code, refused.stderr]).toEqual([1, 'invalid configuration: MAX_COMPONENTS: must be a number, not "many"\n']);
    expect(refused.stderr.trimEnd()).toBe(await startRefusal(env));
  });

  it('applies MAX_COMPONENTS from the environment to the file, as a start does', async () => {
    const result = await runCli(['check', file(PAGES)], { STORE: 'memory', MAX_COMPONENTS: '2', ACME_WEBHOOK_TOKEN: 'acme-secret' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/MAX_COMPONENTS/);
  });

  it('checks a file without its token variables with --without-tokens, and names the flag when they alone fail', async () => {
    const pages = file(PAGES);
    const without = await runCli(['check', pages, '--without-tokens'], { STORE: 'memory', WEBHOOK_TOKEN: 'all-pages-secret' });
    expect(without.code).toBe(0);
    expect(without.stdout).toContain('  acme: 2 components; its token from ACME_WEBHOOK_TOKEN, unset here: not checked\n');

    const plain = await runCli(['check', pages], { STORE: 'memory', WEBHOOK_TOKEN: 'all-pages-secret' });
    expect([plain.code, plain.stderr]).toEqual([
      1,
      `STATUS_PAGES_FILE ${pages}: status_pages[0].token_env: the environment variable ACME_WEBHOOK_TOKEN is not set (at line 3, column 16) (check --without-tokens checks the rest of the file without ACME_WEBHOOK_TOKEN)\n`,
    ]);

    // The flag does not pass what else is wrong, nor a token variable that is set but unusable.
    const broken = await runCli(['check', file(PAGES.replace('id: beta', 'id: "be ta"')), '--without-tokens'], { STORE: 'memory' });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/status_pages\[1\]\.id/);
    const unusable = await runCli(['check', pages, '--without-tokens'], { STORE: 'memory', ACME_WEBHOOK_TOKEN: 'with space' });
    expect(unusable.code).toBe(1);
    expect(unusable.stderr).toMatch(/status_pages\[0\]\.token_env: a token in ACME_WEBHOOK_TOKEN/);
  });

  it('warns as a start does: a misspelt variable, webhooks without a token, Alertmanager with nothing to silence', async () => {
    const result = await runCli(['check', file(PAGES), '--without-tokens'], {
      STORE: 'memory',
      STATUSMATE_STROE: 'redis',
      ALERTMANAGER_URL: 'http://127.0.0.1:9093',
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: STATUSMATE_STROE is not a statusmate-exporter setting and is ignored');
    expect(result.stderr).toContain('warning: ALERTMANAGER_URL is set, but no component of STATUS_PAGES_FILE has alert_matchers');

    // A token short enough to guess (it also opens /-/forget, /-/reload and /-/backup): said, not refused.
    const short = await runCli(['check'], { STORE: 'memory', WEBHOOK_TOKEN: 'ab' });
    expect(short.code).toBe(0);
    expect(short.stderr).toBe('warning: WEBHOOK_TOKEN holds a token shorter than 16 characters, which can be guessed: make one with openssl rand -hex 32\n');

    const open = await runCli(['check'], { STORE: 'memory' });
    expect(open.code).toBe(0);
    expect(open.stderr).toBe('warning: WEBHOOK_TOKEN is not set: webhooks are accepted without a token\n');
    expect(open.stdout).toBe(
      'the environment: ok (STORE=memory; webhooks need no token)\nno STATUS_PAGES_FILE: status pages and components are learnt from webhooks\n',
    );
  });

  it('names a file it cannot read, and refuses usage errors with exit 64', async () => {
    const missing = join(tempDir(), 'nowhere.yaml');
    const result = await runCli(['check', missing], { STORE: 'memory' });
    expect([result.code, result.stderr]).toEqual([1, `STATUS_PAGES_FILE ${missing}: no such file: check the path (ENOENT)\n`]);
    expect((await runCli(['check', 'a.yaml', 'b.yaml'])).code).toBe(64);
    expect((await runCli(['check', '--without-token'])).stderr).toContain('unknown flag --without-token: did you mean --without-tokens?');
    expect((await runCli(['check', '--help'])).stdout).toBe(`${CHECK_USAGE}\n`);
  });

  it('refuses a named pipe as a start does, neither of them waiting for something to write to it', async () => {
    const pipe = join(tempDir(), 'pages.yaml');
    execFileSync('mkfifo', [pipe]);
    const env = { STORE: 'memory', STATUS_PAGES_FILE: pipe };
    const result = await runCli(['check'], env, 20_000);
    expect([result.code, result.stderr]).toEqual([1, `STATUS_PAGES_FILE ${pipe}: not a regular file\n`]);
    expect(result.stderr.trimEnd()).toBe(await startRefusal(env));
  }, 60_000);
});
