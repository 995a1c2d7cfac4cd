import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORGET_USAGE } from '../../src/cli/forget.js';
import { REPLAY_USAGE } from '../../src/cli/replay.js';
import { SEND_USAGE } from '../../src/cli/send.js';
import { CLI, runCli } from '../support/cli.js';
import { requireBuild } from '../support/exporter.js';

describe('statusmate-exporter serve', () => {
  it.each([[[]], [['serve']]])('runs the exporter when called with %j, and stops on SIGTERM', async (args: string[]) => {
    requireBuild();
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', STORE: 'memory' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const port = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`not listening: ${out}`)), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          const match = /"address":"127\.0\.0\.1:(\d+)"/.exec(out);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
      });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('names the command or flag a typo meant, or the flags the command takes', async () => {
    const suffix = ' (statusmate-exporter --help lists the commands and their flags)\n';
    const cases: [string[], string][] = [
      [['sned'], 'unknown command "sned": did you mean send?'],
      [['reset-redsi', '--yes'], 'unknown command "reset-redsi": did you mean reset-redis?'],
      [['send', '--url', 'http://127.0.0.1:1', '--tokn', 's3cret'], 'unknown flag --tokn: did you mean --token?'],
      [['replay', 'day.jsonl', '--retries', '3'], 'unknown flag --retries: it takes --url, --token, --token-file, --attempts, --retry-delay'],
      [
        ['forget', '--url', 'http://127.0.0.1:1', '--status-page', 'acme'],
        'unknown flag --status-page: it takes --url, --token, --token-file, --page, --component, --incident, --maintenance',
      ],
      [['forget', '--url', 'http://127.0.0.1:1', '--pag', 'acme'], 'unknown flag --pag: did you mean --page?'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect([args, result.code, result.stderr]).toEqual([args, 64, `statusmate-exporter: ${message}${suffix}`]);
    }
  });

  it('refuses arguments to serve, and unknown commands, with exit 64', async () => {
    expect((await runCli(['serve', '--port', '1'])).code).toBe(64);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toBe('statusmate-exporter: unknown command "frobnicate" (statusmate-exporter --help lists the commands and their flags)\n');
    // A name every object has is not a command: its --help prints no function's source.
    const inherited = await runCli(['constructor', '--help']);
    expect([inherited.code, inherited.stdout]).toEqual([64, '']);
    expect(inherited.stderr).toContain('unknown command "constructor"');
    // node's parseArgs explains some mistakes over three lines; the command says it in one.
    const dash = await runCli(['replay', 'day.jsonl', '--url', 'http://127.0.0.1:1', '--retry-delay', '-5']);
    expect(dash.code).toBe(64);
    expect(dash.stderr).toBe(
      "statusmate-exporter: Option '--retry-delay' argument is ambiguous. Did you forget to specify the option argument for '--retry-delay'? To specify an option argument starting with a dash use '--retry-delay=-XYZ'. (statusmate-exporter --help lists the commands and their flags)\n",
    );
  });

  it('ends quietly, with its own exit status, when the reader of its output goes away (| head -1)', async () => {
    requireBuild();
    const child = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the command writes: its first write meets a pipe nobody reads (EPIPE).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect([code, stderr]).toEqual([0, '']);
  });

  it("prints a command's own usage for COMMAND --help, starting nothing, and its version for --version", async () => {
    for (const [command, usage] of [
      ['send', SEND_USAGE],
      ['replay', REPLAY_USAGE],
      ['forget', FORGET_USAGE],
    ] as const) {
      const help = await runCli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toBe(`${usage}\n`);
    }
    // serve --help must not start an exporter: runCli would time out on one.
    const serve = await runCli(['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toMatch(/environment variables/);
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}\n`);
  });

  it('runs as the package bin, as npx statusmate-exporter runs it: dist/cli.js is executable after the build', () => {
    requireBuild();
    // npx (npm exec) runs the bin file itself, by its shebang: tsc writes it without the execute
    // bit, and npx then failed with "statusmate-exporter: Permission denied" (exit 126/127).
    const out = execFileSync(CLI, ['--version'], { encoding: 'utf8', env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` } });
    expect(out).toBe(`${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}\n`);
  });
});
