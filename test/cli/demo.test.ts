import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, watch } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateViewSchema } from '../../src/api/state.js';
import { dayEndingNow, DEMO_LAST_EVENT_AGO_SECONDS, demoMonth, DEMO_TOKEN } from '../../src/cli/demo.js';
import { readRecording } from '../../src/cli/replay.js';
import { SIGNAL_ECHO_MS } from '../../src/signals.js';
import { CLI, EXAMPLES, runCli } from '../support/cli.js';
import { inherited, requireBuild } from '../support/exporter.js';

/**
 * The demo as `npm run demo` starts it, once it says it is ready ("Ctrl-C stops the demo"): its
 * process, its exit (code and signal), and what it printed so far (kept up to date). Killed when
 * it does not get ready.
 */
async function startDemo() {
  requireBuild();
  const child = spawn(process.execPath, [CLI, 'demo'], { env: { ...inherited(), PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo not ready: ${output.stdout} ${output.stderr}`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output.stdout += chunk.toString('utf8');
        if (output.stdout.includes('Ctrl-C stops the demo')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(([code]) => reject(new Error(`demo exited ${code}: ${output.stdout} ${output.stderr}`)));
    });
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
  return { child, exited, output };
}

describe('npm run demo', () => {
  it('starts an exporter on a temporary store, replays the example day, says where to look, and cleans up on SIGTERM', async () => {
    const { child, exited, output } = await startDemo();
    const stdout = output.stdout;
    try {
      const [, base, store] = /listening on (http:\/\/127\.0\.0\.1:\d+), store (\S+)/.exec(stdout) ?? [];
      expect(stdout).toContain('22 events: 16 applied, 5 duplicate, 1 stale, 0 unsupported, 0 refused_limit, 0 refused, 0 failed');
      expect(stdout).toContain(`${base}/metrics`);
      // The operator views need the demo's token on its one port; the printed links carry it.
      expect(stdout).toContain(`${base}/?token=${DEMO_TOKEN}`);
      expect((await fetch(`${base}/?token=${DEMO_TOKEN}`)).status).toBe(200);
      expect(stdout).toContain('grafana/dashboards/statusmate-overview.json');
      const view = stateViewSchema.parse(await (await fetch(`${base}/api/v1/state?token=${DEMO_TOKEN}`)).json());
      expect(view.status_pages.map((page) => page.name)).toEqual(['ACME public status', 'ACME Payments status']);
      // Dated relative to now: every change within the month replayed before the day, none in the future.
      const changes = view.status_pages.flatMap((page) => page.components.filter((c) => c.reported).map((c) => Date.parse(c.last_change_at)));
      expect(changes.length).toBeGreaterThan(0);
      for (const at of changes) {
        expect(at).toBeLessThanOrEqual(Date.now());
        expect(at).toBeGreaterThan(Date.now() - 33 * 86_400_000);
      }
      // The month before the day: every component has history, and some of it was down.
      expect(stdout).toContain('replayed a month of history before it: 26 events: 26 applied');
      const csv = await (await fetch(`${base}/api/v1/availability?token=${DEMO_TOKEN}&format=csv`)).text();
      expect(csv).toContain(',API,');
      expect(stdout).toContain(`${base}/api/v1/availability?token=${DEMO_TOKEN}&format=csv`);
      // Where to look: what each URL shows starts in one column, whatever the port and token.
      const block = stdout.slice(stdout.indexOf('Where to look'), stdout.indexOf('Send one more event'));
      const columns = block
        .split('\n')
        .filter((line) => line.startsWith(`  ${base}`))
        .map((line) => /^ {2}\S+ +/.exec(line)?.[0].length);
      expect(columns).toHaveLength(4);
      expect(new Set(columns).size).toBe(1);
      expect(existsSync(store as string)).toBe(true);
      child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
      expect(existsSync(store as string)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('npm run demo stopped at once', () => {
  it('removes its temporary store when Ctrl-C comes while the exporter is still starting', async () => {
    requireBuild();
    const tmp = mkdtempSync(join(tmpdir(), 'demo-early-'));
    // The demo's temporary directory is the first thing it makes; the signal follows it at once,
    // while the exporter opens its store and loads the example pages.
    const watcher = watch(tmp);
    const child = spawn(process.execPath, [CLI, 'demo'], { env: { PATH: process.env.PATH ?? '', PORT: '0', TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
    try {
      await new Promise<void>((resolve) => watcher.once('change', () => resolve()));
      child.kill('SIGINT');
      expect(await exited).toEqual([0, null]);
      // Signalled before it said where it listens: it never got that far.
      expect(stdout).not.toContain('Ctrl-C stops the demo');
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      watcher.close();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('the demo day', () => {
  const recorded = readRecording(`${EXAMPLES}statusmate-day.jsonl`);
  const metaOf = (body: Record<string, unknown>) => body.meta as Record<string, string | null>;
  const times = (bodies: Record<string, unknown>[], key: string) => bodies.map((body) => metaOf(body)[key] ?? null);

  it('on a port in use, or a bad PORT, says so in one line (exit 64) and leaves no temporary store behind', async () => {
    requireBuild();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const tmp = mkdtempSync(join(tmpdir(), 'demo-tmp-'));
    try {
      for (const [env, message] of [
        [String(port), `port ${port} is in use: choose another, as in PORT=9878 npm run demo`],
        ['abc', 'PORT'],
      ] as const) {
        const result = await runCli(['demo'], { PORT: env, TMPDIR: tmp });
        expect(result.code).toBe(64);
        expect(result.stderr).toContain(message);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(readdirSync(tmp)).toEqual([]);
      }
    } finally {
      blocker.close();
    }
  });

  it('ends its last event ten minutes before now, whatever the date', () => {
    for (const now of [Date.parse('2026-12-03T04:00:00Z'), Date.parse('2031-06-01T12:00:00Z')]) {
      const day = dayEndingNow(recorded, now);
      const latest = Math.max(...times(day, 'created_at').map((at) => Date.parse(at ?? '')));
      expect(now - latest).toBe(DEMO_LAST_EVENT_AGO_SECONDS * 1000);
    }
  });

  it('moves every time by the same amount, keeping the order, the gaps and what was still to come', () => {
    const now = Date.parse('2031-06-01T12:00:00Z');
    const day = dayEndingNow(recorded, now);
    const offset = Date.parse(metaOf(day[0] ?? {}).created_at ?? '') - Date.parse(metaOf(recorded[0] ?? {}).created_at ?? '');
    for (const key of ['created_at', 'start_at', 'end_at']) {
      const before = times(recorded, key);
      const after = times(day, key);
      after.forEach((at, index) => {
        const was = before[index];
        if (was === null || was === undefined) expect(at).toBeNull();
        else expect(Date.parse(at ?? '') - Date.parse(was)).toBe(offset);
      });
    }
    expect(day.map((body) => ({ ...metaOf(body), created_at: null, start_at: null, end_at: null }))).toEqual(
      recorded.map((body) => ({ ...metaOf(body), created_at: null, start_at: null, end_at: null })),
    );
  });
});

describe('npm run demo, stopped', () => {
  // A closed terminal or SSH session sends SIGHUP: by default it killed the demo on the spot and
  // left its temporary store (a SQLite file and its WAL) in the temp directory for good.
  it.each(['SIGHUP', 'SIGINT'] as const)('removes its store on %s too', async (signal) => {
    const { child, exited, output } = await startDemo();
    const stdout = output.stdout;
    try {
      const store = /store (\S+)/.exec(stdout)?.[1] as string;
      expect(existsSync(dirname(store))).toBe(true);
      child.kill(signal);
      expect((await exited)[0]).toBe(0);
      expect(existsSync(dirname(store))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('the demo month', () => {
  it('comes before the day, in order, from 31 days before it, each episode back to operational', () => {
    const end = Date.parse('2026-11-30T01:00:00Z');
    const bodies = demoMonth(end);
    const times = bodies.map((body) => Date.parse((body.meta as { created_at: string }).created_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.max(...times)).toBeLessThan(end);
    expect(Math.min(...times)).toBe(Date.parse('2026-10-30T00:00:00Z'));
    expect(bodies).toHaveLength(26);
    const last = new Map(bodies.map((body) => [(body.meta as { uuid: string }).uuid, (body.meta as { impact: string }).impact]));
    expect(new Set(last.values())).toEqual(new Set(['operational']));
  });
});

describe('npm run demo, stopped twice', () => {
  // The first Ctrl-C waits for requests in flight; the second used to meet Node's default (the
  // first handler was a `once`): killed on the spot, its temporary store left behind.
  it('stops at once on a second Ctrl-C while a request holds the first one, and removes its store', async () => {
    const { child, exited, output } = await startDemo();
    const stdout = output.stdout;
    try {
      const store = /store (\S+)/.exec(stdout)?.[1] as string;
      const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
      // A request in flight: its headers, and half the body they announce.
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"meta"');
      child.kill('SIGINT');
      // The first is handled once the port refuses new connections.
      const refused = () =>
        new Promise<boolean>((resolve) => {
          const probe = connect(port, '127.0.0.1');
          probe.once('connect', () => (probe.destroy(), resolve(false)));
          probe.once('error', () => resolve(true));
        });
      while (!(await refused())) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(child.exitCode).toBeNull(); // held by the request in flight
      // A person's second Ctrl-C, not the echo of the first that npx sends.
      await new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS + 50));
      child.kill('SIGINT');
      expect(await exited).toEqual([130, null]);
      socket.destroy();
      expect(output.stderr).toContain('demo stopped at once (second SIGINT)');
      expect(existsSync(dirname(store))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
