import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SIGNAL_ECHO_MS } from '../../src/signals.js';
import { tempDir } from '../support/app.js';
import { requireBuild, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const body = JSON.stringify({ meta: { type: 'component_impact_updated', uuid: '5f844cb4-32f8-43eb-aa3d-99c925d8fffe', impact: 'major_outage' } });

describe('SIGTERM', () => {
  it('lets a request in flight finish, closes the database and exits 0', async () => {
    const dir = tempDir();
    running = await startExporterProcess({ SQLITE_PATH: join(dir, 'shutdown.db') });
    const socket = connect(running.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    const closed = new Promise((resolve) => socket.once('close', resolve));

    // Headers and half the body, then SIGTERM, then the rest of the body.
    socket.write(`POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    socket.write(body.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    running.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(running.child.exitCode).toBeNull(); // still waiting for our request
    socket.write(body.slice(20));

    const { code } = await running.exited;
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('"status":"applied"');
    expect(code).toBe(0);
    expect(running.logs.some((line) => line.msg === 'stopped: store closed')).toBe(true);
    // Closing the last connection checkpoints the WAL into the database file and removes it.
    const wal = join(dir, 'shutdown.db-wal');
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
  });

  it('cuts a backup whose client stops reading, rather than wait for it until SHUTDOWN_TIMEOUT_SECONDS, and exits 0', async () => {
    const dir = tempDir();
    const path = join(dir, 'shutdown.db');
    const env = { SQLITE_PATH: path, WEBHOOK_TOKEN: 'secret', SHUTDOWN_TIMEOUT_SECONDS: '5' };
    running = await startExporterProcess(env);
    await stopProcess(running);
    // A store whose copy is larger than what the sockets' buffers take: 32 MiB of padding.
    const db = new Database(path);
    db.exec('CREATE TABLE padding (bytes BLOB)');
    db.prepare('INSERT INTO padding VALUES (randomblob(?))').run(32 * 1024 * 1024);
    db.close();
    running = await startExporterProcess(env);
    const socket = connect(running.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    // Reads the first piece of the answer, and no more.
    socket.once('data', (chunk: Buffer) => {
      answer = chunk.toString('latin1');
      socket.pause();
    });
    socket.on('error', () => undefined);
    socket.write('GET /-/backup HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer secret\r\n\r\n');
    while (answer === '') await new Promise((resolve) => setTimeout(resolve, 10));
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    running.child.kill('SIGTERM');
    const { code } = await running.exited;
    expect(code).toBe(0);
    expect(running.logs.find((line) => line.msg === 'backup not sent whole')).toMatchObject({
      error: 'the exporter is shutting down: cut (its client may ask the next one)',
    });
    expect(running.logs.some((line) => line.msg === 'stopped: store closed')).toBe(true);
    socket.destroy();
  });

  it('answers a request in flight at SIGTERM with Connection: close, so the client sends its next one elsewhere', async () => {
    running = await startExporterProcess({ STORE: 'memory' });
    const socket = connect(running.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const head = `POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;

    // One request answered before the SIGTERM (kept alive), then one in flight when it comes.
    socket.write(head + body);
    while (!answer.includes('"status":"applied"')) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(answer).toMatch(/\r\nConnection: keep-alive\r\n/i);
    answer = '';
    socket.write(head + body.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    running.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.write(body.slice(20));

    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    // Answered keep-alive, the connection would be closed under the client's next request (a reset, no answer).
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).not.toMatch(/\r\nKeep-Alive:/i);
    expect((await running.exited).code).toBe(0);
  });

  it('refuses new connections once it is shutting down', async () => {
    running = await startExporterProcess({ STORE: 'memory' });
    const { port } = running;
    running.child.kill('SIGTERM');
    const { code } = await running.exited;
    expect(code).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });

  it('writes how many request lines it left out of a flood that ended just before, rather than exiting with them unaccounted for', async () => {
    running = await startExporterProcess({ STORE: 'memory' });
    const flood = 50;
    // All within one second of the clock, past the 20 lines it writes: sent at once, early in a
    // second. One after the other, a flood that crossed a second could end with 20 or fewer in
    // its last, all written (the first saying how many went before it), and nothing left out.
    while (Date.now() % 1000 > 300) await new Promise((resolve) => setTimeout(resolve, 10));
    const url = `http://127.0.0.1:${running.port}/no-such-route`;
    const answers = await Promise.all(Array.from({ length: flood }, () => fetch(url)));
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 404));
    // Well within the second or two before the access log would report them by itself.
    running.child.kill('SIGTERM');
    const { code } = await running.exited;
    expect(code).toBe(0);
    const isReport = (line: Record<string, unknown>) => typeof line.msg === 'string' && line.msg.startsWith('request lines left out');
    const written = running.logs.filter((line) => line.status === 404 && !isReport(line));
    const leftOut = running.logs.filter(isReport);
    const counted = (line: Record<string, unknown>, field: string) => (typeof line[field] === 'number' ? line[field] : 0);
    expect(leftOut.length).toBeGreaterThan(0);
    expect(
      written.length +
        written.reduce((sum, line) => sum + counted(line, 'suppressed_before'), 0) +
        leftOut.reduce((sum, line) => sum + counted(line, 'suppressed'), 0),
    ).toBe(flood);
    // Written before the process says it stopped.
    const stopped = running.logs.findIndex((line) => line.msg === 'stopped: store closed');
    expect(running.logs.indexOf(leftOut.at(-1) as (typeof running.logs)[number])).toBeLessThan(stopped);
  });
});

describe('a second signal during the shutdown', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s again stops at once with exit %i and one line saying nothing acknowledged is lost', async (signal, exitCode) => {
    const dir = tempDir();
    const database = join(dir, 'second.db');
    // A shutdown that would wait 30 s for the request below.
    running = await startExporterProcess({ SQLITE_PATH: database, SHUTDOWN_TIMEOUT_SECONDS: '30' });
    const acknowledged = await fetch(`${running.url}/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect(acknowledged.status).toBe(200);

    // A request in flight (headers and half its body) holds the shutdown open.
    const socket = connect(running.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => undefined);
    socket.write(`POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    socket.write(body.slice(0, 20));
    const shuttingDown = () => running?.logs.some((line) => line.msg === 'shutting down: finishing requests in flight');
    running.child.kill(signal);
    while (!shuttingDown()) await new Promise((resolve) => setTimeout(resolve, 20));
    // A person's second Ctrl-C, not the echo of the first that npm sends (below).
    await new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS + 50));
    running.child.kill(signal);

    const end = await running.exited;
    socket.destroy();
    expect(end).toEqual({ code: exitCode, signal: null });
    const cut = running.logs.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('stopped without finishing its shutdown'));
    expect(cut).toHaveLength(1);
    expect(cut[0]?.msg).toContain(`second ${signal}`);
    expect(cut[0]?.msg).toContain('nothing acknowledged is lost');
    expect(running.logs.some((line) => line.msg === 'stopped: store closed')).toBe(false);

    // And it is not lost: the next start folds the acknowledged event from the log.
    running = await startExporterProcess({ SQLITE_PATH: database });
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/statusmate_component_impact_level\{[^}]*component_uuid="5f844cb4-32f8-43eb-aa3d-99c925d8fffe"[^}]*\} 4/);
  });
});

describe('Ctrl-C under npm start', () => {
  // The terminal sends SIGINT to its foreground process group, npm and node alike, and npm
  // forwards the one it got to node: one Ctrl-C is two SIGINTs, the second one while node waits
  // for a request in flight. It must not be taken for a second Ctrl-C.
  it('is one signal, not two: the request in flight is still answered, and the exit is clean', async () => {
    requireBuild();
    const child = spawn('npm', ['start', '--silent'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', SQLITE_PATH: join(tempDir(), 'npm.db'), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, as a terminal's foreground job
    });
    const group = child.pid as number;
    try {
      const logs: Record<string, unknown>[] = [];
      let pending = '';
      child.stdout.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as Record<string, unknown>);
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const logged = async (msg: string) => {
        while (!logs.some((line) => line.msg === msg)) await new Promise((resolve) => setTimeout(resolve, 20));
        return logs.find((line) => line.msg === msg) as Record<string, unknown>;
      };
      const listening = await logged('statusmate-exporter listening');
      const port = Number(String(listening.address).split(':').pop());

      const socket = connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
      socket.write(`POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      socket.write(body.slice(0, 20));
      process.kill(-group, 'SIGINT'); // Ctrl-C
      await logged('shutting down: finishing requests in flight');
      // Long enough for npm's forwarded copy to have come (it comes within milliseconds).
      await new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS + 50));
      socket.write(body.slice(20));

      expect(await exited).toBe(0);
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(logs.some((line) => line.msg === 'stopped: store closed')).toBe(true);
      expect(logs.some((line) => String(line.msg).startsWith('stopped without finishing'))).toBe(false);
    } finally {
      if (child.exitCode === null) process.kill(-group, 'SIGKILL');
    }
  });
});
