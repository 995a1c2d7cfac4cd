import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir } from '../support/app.js';
import { ConfigMapVolume } from '../support/configmap-volume.js';
import { MAIN, requireBuild, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const scrape = async (url: string) => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('STATUS_PAGES_FILE in the real process', () => {
  const BOMB = `${['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefgh'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)].join('\n')}\nstatus_pages: []\n`;
  it.each([
    [
      'a bad uuid',
      'status_pages:\n  - id: acme\n    components:\n      - uuid: nope\n        name: API\n',
      'status_pages[0].components[0].uuid: must be a UUID (at line 4, column 15)',
    ],
    ['a YAML alias bomb', BOMB, 'not accepted: Excessive alias count'],
    ['a YAML syntax error', 'status_pages:\n  - id: acme\n   x: [\n', 'not valid YAML or JSON at line 3, column'],
  ])('stops start-up on %s with exit 78 and one line saying why, no stack', async (_name, text, reason) => {
    requireBuild();
    const file = join(tempDir(), 'bad.yaml');
    writeFileSync(file, text);
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', STORE: 'memory', PORT: '0', HOST: '127.0.0.1', STATUS_PAGES_FILE: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(78);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string) as { level: string; msg: string; err?: unknown };
    expect(line.level).toBe('fatal');
    expect(line.msg.startsWith(`STATUS_PAGES_FILE ${file}: ${reason}`)).toBe(true);
    expect(line.err).toBeUndefined();
  });

  it('reloads the file on SIGHUP', async () => {
    const file = join(tempDir(), 'pages.yaml');
    writeFileSync(file, `status_pages:\n  - id: acme\n    components:\n      - uuid: ${API}\n        name: API\n`);
    running = await startExporterProcess({ STORE: 'memory', STATUS_PAGES_FILE: file });
    const exporter = running;
    expect(await scrape(exporter.url)).toContain('component="API"');
    writeFileSync(file, `status_pages:\n  - id: acme\n    components:\n      - uuid: ${API}\n        name: Public API\n`);
    exporter.child.kill('SIGHUP');
    await until(async () => (await scrape(exporter.url)).includes('component="Public API"'));
    expect(exporter.logs.some((line) => line.msg === 'status pages reloaded')).toBe(true);

    writeFileSync(file, 'status_pages: nope\n');
    exporter.child.kill('SIGHUP');
    await until(async () => sampleValue(await scrape(exporter.url), 'statusmate_config_last_reload_successful') === 0);
    expect(await scrape(exporter.url)).toContain('component="Public API"');
    expect(exporter.child.exitCode).toBeNull();
  });

  it('logs its pid at start, the one to send SIGHUP to', async () => {
    running = await startExporterProcess({ STORE: 'memory' });
    expect(running.logs.find((line) => line.msg === 'statusmate-exporter listening')?.pid).toBe(running.child.pid);
  });

  it('reloads a ConfigMap-mounted file when the kubelet swaps it, without a signal or a restart', async () => {
    const volume = new ConfigMapVolume(
      tempDir(),
      'status-pages.yaml',
      `status_pages:\n  - id: acme\n    components:\n      - uuid: ${API}\n        name: API\n`,
    );
    running = await startExporterProcess({ STORE: 'memory', STATUS_PAGES_FILE: volume.path, STATUS_PAGES_WATCH_SECONDS: '0.1' });
    const exporter = running;
    expect(await scrape(exporter.url)).toContain('component="API"');

    volume.update(`status_pages:\n  - id: acme\n    components:\n      - uuid: ${API}\n        name: Public API\n`);
    await until(async () => (await scrape(exporter.url)).includes('component="Public API"'));
    expect(exporter.logs.some((line) => line.msg === 'STATUS_PAGES_FILE changed; reloading')).toBe(true);

    volume.update('status_pages: nope\n');
    await until(async () => sampleValue(await scrape(exporter.url), 'statusmate_config_last_reload_successful') === 0);
    expect(await scrape(exporter.url)).toContain('component="Public API"');
    expect(exporter.child.pid).toBe(running.child.pid);
    expect(exporter.child.exitCode).toBeNull();
  });
});
