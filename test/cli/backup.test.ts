import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBackupOptions } from '../../src/cli/backup.js';
import { tempDir } from '../support/app.js';
import { CLI, runCli } from '../support/cli.js';
import { postJson, processesPerTest, type ExporterProcess } from '../support/exporter.js';

const TOKEN = 'secret';
const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const INCIDENT = 'bd25a449-b655-49e3-ac46-a9d6ffd50691';
/** The first event of each exporter the tests copy. */
const WEBSITE_PARTIAL = {
  type: 'component_impact_updated',
  uuid: WEBSITE,
  title: 'Website',
  impact: 'partial_outage',
  created_at: '2026-12-01T10:00:00+00:00',
};

const { start } = processesPerTest({ WEBHOOK_TOKEN: TOKEN });
let fake: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (fake ? fake.close(resolve) : resolve(undefined)));
  fake = undefined;
});
async function post(exporter: ExporterProcess, meta: Record<string, unknown>): Promise<void> {
  const res = await postJson(`${exporter.url}/webhook`, { meta: { status_page: 'shop', ...meta } }, { Authorization: `Bearer ${TOKEN}` });
  expect(res.status, await res.text()).toBe(200);
}
/** The shared-state series of /metrics: what a copy must serve alike. */
async function served(exporter: ExporterProcess): Promise<string[]> {
  const text = await (await fetch(`${exporter.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
  return text.split('\n').filter((line) => /^statusmate_(component|incident|maintenance)/.test(line) && !line.includes('_seconds_total{'));
}
/** A loopback server answering every request with `status` and `body`. */
async function answering(status: number, body: string): Promise<string> {
  fake = createServer((_req, res) => res.writeHead(status, { 'Content-Type': 'application/octet-stream' }).end(body));
  await new Promise<void>((resolve) => (fake as Server).listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
}

/** A loopback server that counts the requests it gets and answers each with an empty 200: whether the command asked at all. */
async function counting(): Promise<{ url: string; asked: () => number }> {
  let asked = 0;
  fake = createServer((_req, res) => {
    asked += 1;
    res.writeHead(200, { 'Content-Type': 'application/vnd.sqlite3' }).end('');
  });
  await new Promise<void>((resolve) => (fake as Server).listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, asked: () => asked };
}

describe('backup', () => {
  it('takes its token from --token, --token-file or the ?token= of --url, and needs --url and --out', () => {
    expect(parseBackupOptions(['--url', 'http://h', '--out', 'x.db', '--token', 't']).token).toBe('t');
    expect(() => parseBackupOptions(['--url', 'http://h'])).toThrow(/--out: is required/);
    expect(() => parseBackupOptions(['--out', 'x.db'])).toThrow(/--url: is required/);
  });

  it('copies the store of a running exporter, which keeps serving; an exporter started on the copy serves the same state', async () => {
    const dir = tempDir();
    const exporter = await start({ SQLITE_PATH: join(dir, 'live.db') });
    await post(exporter, WEBSITE_PARTIAL);
    await post(exporter, {
      type: 'incident_created',
      uuid: INCIDENT,
      title: 'Checkout down',
      created_at: '2026-12-01T11:00:00+00:00',
      affected_components: [{ impact: 'major_outage', component_details: { name: 'Website', component_uuid: WEBSITE } }],
    });
    const out = join(tempDir(), 'copy.db');
    const result = await runCli(['backup', '--url', `${exporter.url}/webhook?token=${TOKEN}`, '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^backup: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ bytes, (no snapshot yet and \\d+ entr(y|ies)|the state as of \\S+ and \\d+ entr(y|ies) after it)\\n$`,
      ),
    );
    expect(existsSync(`${out}.partial`)).toBe(false);
    // Still serving, and nothing of the copy left beside its file.
    await post(exporter, {
      type: 'component_impact_updated',
      uuid: WEBSITE,
      title: 'Website',
      impact: 'major_outage',
      created_at: '2026-12-02T09:00:00+00:00',
    });
    expect(readdirSync(dir).filter((name) => name.includes('.backup-'))).toEqual([]);

    const restored = await start({ SQLITE_PATH: out });
    const copied = await served(restored);
    expect(copied).toContainEqual(expect.stringContaining('statusmate_incidents_active{status_page="shop"} 1'));
    expect(copied).toContainEqual(expect.stringMatching(new RegExp(`component_uuid="${WEBSITE}",component="Website",impact="major_outage"\\} 1$`)));
    // The copy was made before the last update: the live exporter's state differs by it alone.
    await post(restored, {
      type: 'component_impact_updated',
      uuid: WEBSITE,
      title: 'Website',
      impact: 'major_outage',
      created_at: '2026-12-02T09:00:00+00:00',
    });
    expect(await served(restored)).toEqual(await served(exporter));
  });

  it('exits 1 naming --token when the exporter wants one and none was given; no file is written', async () => {
    const exporter = await start({ SQLITE_PATH: join(tempDir(), 'live.db') });
    const out = join(tempDir(), 'copy.db');
    const result = await runCli(['backup', '--url', exporter.url, '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('backup: HTTP 401 the exporter requires a token and none was sent: give this command --token T or --token-file F');
    expect(existsSync(out)).toBe(false);
  });

  it('copies an exporter on STORE=memory too: its state, in a SQLite file written beside SQLITE_PATH', async () => {
    const dir = tempDir();
    const exporter = await start({ STORE: 'memory', SQLITE_PATH: join(dir, 'unused.db') });
    await post(exporter, WEBSITE_PARTIAL);
    const out = join(tempDir(), 'copy.db');
    const result = await runCli(['backup', '--url', exporter.url, '--token', TOKEN, '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/: \d+ bytes, the state as of \d{4}-\d\d-\d\dT[\d:.]+Z and 0 entries after it\n$/);
    expect(readdirSync(dir)).toEqual([]);
    const restored = await start({ SQLITE_PATH: out });
    expect(await served(restored)).toEqual(await served(exporter));
  });

  it('keeps FILE as it was when the answer is not a SQLite file this release opens', async () => {
    const url = await answering(200, 'SQLite format 3\0 but not really a database, cut short');
    const out = join(tempDir(), 'copy.db');
    writeFileSync(out, 'yesterday’s copy');
    const result = await runCli(['backup', '--url', url, '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^backup: the answer is not a copy this release opens: .+; .+copy\.db is left as it was\n$/);
    expect(readFileSync(out, 'utf8')).toBe('yesterday’s copy');
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('checks --out before it asks: a directory that is not there, or one at FILE, is named in one line, and the exporter copies nothing', async () => {
    const { url, asked } = await counting();
    const out = join(tempDir(), 'missing', 'copy.db');
    const result = await runCli(['backup', '--url', url, '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`backup: not made: --out ${out}: cannot write ${out}.partial (ENOENT: no such file or directory)\n`);
    // A copy the exporter made would be lost, and hold its next backup back for ten times its writing time.
    expect(asked()).toBe(0);
    // A directory at FILE: found at the rename, after the whole copy came, it stopped the command with a stack trace.
    const folder = tempDir();
    const intoFolder = await runCli(['backup', '--url', url, '--out', folder]);
    expect(intoFolder.code).toBe(1);
    expect(intoFolder.stderr).toBe(`backup: not made: --out ${folder} is a directory: name the file the copy goes to\n`);
    expect(existsSync(`${folder}.partial`)).toBe(false);
    expect(asked()).toBe(0);
  });

  it("refuses an --out it would replace rather than write: a symbolic link, a device, or a running exporter's own file", async () => {
    const { url, asked } = await counting();
    const link = join(tempDir(), 'latest.db');
    symlinkSync('/dev/null', link);
    const throughLink = await runCli(['backup', '--url', url, '--out', link]);
    expect([throughLink.code, throughLink.stderr]).toEqual([
      1,
      `backup: not made: --out ${link} is a symbolic link, which the copy would replace: name a regular file\n`,
    ]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const device = await runCli(['backup', '--url', url, '--out', '/dev/null']);
    expect(device.stderr).toContain('is not a regular file (a device, a pipe or a socket)');
    expect(asked()).toBe(0);

    // The exporter's own SQLITE_PATH: renamed over, it answered 503 to every webhook until restarted.
    const file = join(tempDir(), 'live.db');
    const exporter = await start({ SQLITE_PATH: file });
    await post(exporter, WEBSITE_PARTIAL);
    const own = await runCli(['backup', '--url', exporter.url, '--token', TOKEN, '--out', file]);
    expect([own.code, own.stderr]).toEqual([1, `backup: not made: --out ${file} is in use by a running exporter (its SQLITE_PATH): name another file\n`]);
    await post(exporter, { ...WEBSITE_PARTIAL, impact: 'major_outage', created_at: '2026-12-01T11:00:00+00:00' });
  });

  it('says the copy could not be written when the disk is full, not that it did not arrive', async () => {
    const url = await answering(200, 'x'.repeat(256 * 1024));
    const out = join(tempDir(), 'copy.db');
    // FILE.partial opened for writing lands on /dev/full: every write fails as on a full volume (ENOSPC).
    symlinkSync('/dev/full', `${out}.partial`);
    const result = await runCli(['backup', '--url', url, '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^backup: the copy could not be written to ${out}\\.partial after \\d+ bytes \\(ENOSPC: no space left on device.*\\); ${out} is left as it was\\n$`,
      ),
    );
    expect(existsSync(out)).toBe(false);
  });

  it('says in one line that an answer not from the exporter (a web page on a wrong port) is not one, and how long a 429 asks to wait', async () => {
    fake = createServer((_req, res) =>
      res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!DOCTYPE html>\n<html>\n<body>\n<h1>Not Found</h1>\n</body>\n</html>\n'),
    );
    await new Promise<void>((resolve) => (fake as Server).listen(0, '127.0.0.1', resolve));
    const out = join(tempDir(), 'copy.db');
    writeFileSync(out, 'yesterday’s copy');
    const html = await runCli(['backup', '--url', `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, '--out', out]);
    expect(html.code).toBe(1);
    expect(html.stderr).toBe(
      "backup: HTTP 404 (text/html; charset=utf-8, not the exporter's JSON answer: is --url the exporter's PORT, or METRICS_PORT when set?)\n",
    );
    expect(readFileSync(out, 'utf8')).toBe('yesterday’s copy');
    expect(existsSync(`${out}.partial`)).toBe(false);

    // Two asked at once: one is copied, the other is told to wait (while the first is written, or
    // for the gap after it). One after the other, the second's process could start after the gap
    // on a machine under load, and be copied too.
    const exporter = await start({ SQLITE_PATH: join(tempDir(), 'live.db') });
    const both = await Promise.all(
      [out, join(tempDir(), 'again.db')].map((file) => runCli(['backup', '--url', exporter.url, '--token', TOKEN, '--out', file])),
    );
    expect(both.map((result) => result.code).sort()).toEqual([0, 1]);
    const again = both.find((result) => result.code === 1);
    expect(again?.stderr).toMatch(
      /^backup: HTTP 429 \{"error":"a backup (is being written: ask again once it is sent|was made a moment ago: ask again after Retry-After seconds)","issues":\[\]\} \(Retry-After: \d+ s\)\n$/,
    );
  });

  it('says how much of the copy came when the server closes mid-body, and keeps FILE as it was', async () => {
    fake = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.sqlite3', 'Content-Length': '100000' });
      res.write(Buffer.alloc(5000), () => res.socket?.destroy());
    });
    await new Promise<void>((resolve) => (fake as Server).listen(0, '127.0.0.1', resolve));
    const out = join(tempDir(), 'copy.db');
    writeFileSync(out, 'yesterday’s copy');
    const result = await runCli(['backup', '--url', `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^backup: the copy did not arrive whole \(\d+ of 100000 bytes: terminated: other side closed\); .+copy\.db is left as it was\n$/,
    );
    expect(readFileSync(out, 'utf8')).toBe('yesterday’s copy');
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('removes FILE.partial when interrupted mid-copy, and exits as a shell reports Ctrl-C', async () => {
    fake = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.sqlite3', 'Content-Length': '100000' });
      res.write(Buffer.alloc(5000)); // and nothing more: the copy is still coming when Ctrl-C is pressed
    });
    await new Promise<void>((resolve) => (fake as Server).listen(0, '127.0.0.1', resolve));
    const out = join(tempDir(), 'copy.db');
    writeFileSync(out, 'yesterday’s copy');
    const child = spawn(process.execPath, [CLI, 'backup', '--url', `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      for (let i = 0; i < 400 && !(existsSync(`${out}.partial`) && statSync(`${out}.partial`).size >= 5000); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(statSync(`${out}.partial`).size).toBe(5000);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toMatch(/^backup: interrupted \(SIGINT\); .+copy\.db is left as it was\n$/);
      expect(existsSync(`${out}.partial`)).toBe(false);
      expect(readFileSync(out, 'utf8')).toBe('yesterday’s copy');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('says where it could not connect', async () => {
    const url = await answering(200, '');
    await new Promise((resolve) => (fake as Server).close(resolve));
    fake = undefined;
    const result = await runCli(['backup', '--url', url, '--out', join(tempDir(), 'copy.db')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^backup: not made: connection refused by 127\.0\.0\.1:\d+/);
  });
});
