import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir } from '../support/app.js';
import { postJson, runExporterToExit, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// Faults of the store under a running exporter, on a real SQLite file. What must hold in each:
// no event is answered 200 unless it is in the file the next start loads, /readyz and
// statusmate_store_up say the store is down while it is, and a store that heals needs no restart.

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const componentId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const update = (n: number) => ({ meta: { type: 'component_impact_updated', uuid: componentId(n), title: `Component ${n}`, impact: 'major_outage' } });

/** Posts component n's update; returns the status. */
async function send(exporter: ExporterProcess, n: number): Promise<number> {
  const response = await postJson(`${exporter.url}/webhook`, update(n));
  await response.arrayBuffer();
  return response.status;
}

const readyz = async (exporter: ExporterProcess) => (await fetch(`${exporter.url}/readyz`)).status;
const storeUp = async (exporter: ExporterProcess) => sampleValue(await (await fetch(`${exporter.url}/metrics`)).text(), 'statusmate_store_up');

/** The components a (restarted) exporter serves. */
async function componentsServed(exporter: ExporterProcess): Promise<Set<string>> {
  const text = await (await fetch(`${exporter.url}/metrics`)).text();
  return new Set([...text.matchAll(/^statusmate_component_impact_level\{[^}]*component_uuid="([^"]+)"/gm)].map((match) => match[1] as string));
}

describe('the SQLite file deleted under a running exporter', () => {
  it('answers 503 and reports not ready from then on, and logs why', async () => {
    const path = join(tempDir(), 'deleted.db');
    running = await startExporterProcess({ SQLITE_PATH: path });
    for (let n = 0; n < 5; n++) expect(await send(running, n)).toBe(200);

    unlinkSync(path);
    const after = [];
    for (let n = 5; n < 10; n++) after.push(await send(running, n));
    expect(after).toEqual([503, 503, 503, 503, 503]);
    expect(await readyz(running)).toBe(503);
    expect(await storeUp(running)).toBe(0);
    expect(running.logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'the store refuses writes: not ready until a write succeeds',
        err: expect.stringContaining(`${path} was deleted while open`),
      }),
    );

    // A restart opens a new file; none of the events answered 503 is in it.
    await stopProcess(running, 'SIGTERM');
    running = await startExporterProcess({ SQLITE_PATH: path });
    expect(await readyz(running)).toBe(200);
    expect(await componentsServed(running)).toEqual(new Set());
  });
});

describe('the SQLite file replaced under a running exporter', () => {
  it('answers 503 and reports not ready, and nothing answered 200 is missing after a restart', async () => {
    const dir = tempDir();
    const path = join(dir, 'replaced.db');
    running = await startExporterProcess({ SQLITE_PATH: path });
    for (let n = 0; n < 5; n++) expect(await send(running, n)).toBe(200);

    // A copy moved over the path, as a restore from backup would be (the exporter holds the
    // file's lock, so the copy is of the bytes, not through SQLite).
    copyFileSync(path, join(dir, 'copy.db'));
    renameSync(join(dir, 'copy.db'), path);

    const statuses = new Map<number, number>();
    for (let n = 0; n < 5; n++) statuses.set(n, 200);
    for (let n = 5; n < 10; n++) statuses.set(n, await send(running, n));
    expect([...statuses.values()].slice(5)).toEqual([503, 503, 503, 503, 503]);
    expect(await readyz(running)).toBe(503);
    expect(await storeUp(running)).toBe(0);
    expect(running.logs).toContainEqual(
      expect.objectContaining({ level: 'error', err: expect.stringContaining(`${path} was replaced by another file while open`) }),
    );

    await stopProcess(running, 'SIGTERM');
    running = await startExporterProcess({ SQLITE_PATH: path });
    const answered200 = [...statuses].filter(([, status]) => status === 200).map(([n]) => componentId(n));
    expect(await componentsServed(running)).toEqual(new Set(answered200));
  });
});

describe('the SQLite write-ahead log deleted under a running exporter', () => {
  it('answers 503 from then on, and nothing answered 200 is missing after a SIGKILL and a restart', async () => {
    const path = join(tempDir(), 'wal.db');
    running = await startExporterProcess({ SQLITE_PATH: path });
    const statuses = new Map<number, number>();
    for (let n = 0; n < 5; n++) statuses.set(n, await send(running, n));
    expect([...statuses.values()]).toEqual([200, 200, 200, 200, 200]);

    // The entries since the last checkpoint live only in the -wal file: a clean-up that removes
    // it leaves SQLite writing into a file no start will read.
    unlinkSync(`${path}-wal`);
    for (let n = 5; n < 10; n++) statuses.set(n, await send(running, n));
    expect([...statuses.values()].slice(5)).toEqual([503, 503, 503, 503, 503]);
    expect(await readyz(running)).toBe(503);
    expect(await storeUp(running)).toBe(0);
    expect(running.logs).toContainEqual(expect.objectContaining({ level: 'error', err: expect.stringContaining(`${path}-wal was deleted while open`) }));

    // A crash then (no shutdown checkpoint) must not take the acknowledged events with it.
    await stopProcess(running, 'SIGKILL');
    running = await startExporterProcess({ SQLITE_PATH: path });
    const answered200 = [...statuses].filter(([, status]) => status === 200).map(([n]) => componentId(n));
    expect(await componentsServed(running)).toEqual(new Set(answered200));
  });
});

/**
 * A small tmpfs of our own, so that the disk can really fill up (or be made read-only). Mounting needs root (and a
 * container allowed to mount); outside CI the suite is skipped without it.
 */
function mountSmallDisk(): { dir: string; unmount: () => void } | string {
  const dir = join(tempDir(), 'disk');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    const reason = `cannot mount a tmpfs (needs root): ${((error as { stderr?: Buffer }).stderr ?? '').toString().trim() || (error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`, { cause: error });
    console.warn(`[skipped] disk-full suite: ${reason}`);
    return reason;
  }
  return { dir, unmount: () => execFileSync('umount', [dir]) };
}

/** Writes a file until the filesystem has no byte left. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const size of [64 * 1024, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

const disk = mountSmallDisk();
const readOnlyDisk = mountSmallDisk();
afterAll(() => {
  if (typeof disk !== 'string') disk.unmount();
  if (typeof readOnlyDisk !== 'string') readOnlyDisk.unmount();
});

describe.skipIf(typeof readOnlyDisk === 'string')('a read-only disk at start', () => {
  it('stops with exit 78 and one line saying the file system is read-only, not "disk I/O error"', async () => {
    if (typeof readOnlyDisk === 'string') return;
    const path = join(readOnlyDisk.dir, 'kept.db');
    running = await startExporterProcess({ SQLITE_PATH: path });
    expect(await send(running, 1)).toBe(200);
    await stopProcess(running, 'SIGTERM');
    // As a volume mounted read-only by mistake would be (readOnly: true in a pod spec).
    execFileSync('mount', ['-o', 'remount,ro', readOnlyDisk.dir]);

    for (const [file, what] of [
      [path, 'the file'],
      [join(readOnlyDisk.dir, 'new.db'), `its directory ${readOnlyDisk.dir}`],
    ] as const) {
      const { code, stdout } = await runExporterToExit({ SQLITE_PATH: file });
      const lines = stdout.split('\n').filter((line) => line.trim() !== '');
      expect(code).toBe(78);
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0] as string) as { level: string; msg: string };
      expect(line.level).toBe('fatal');
      expect(line.msg).toContain(`SQLite file ${file} (SQLITE_PATH): cannot open for writing: ${what} is on a read-only file system (EROFS)`);
    }
  });
});

describe.skipIf(typeof disk === 'string')('a full disk under a running exporter', () => {
  it('shows in /readyz and statusmate_store_up until a write succeeds, and recovers without a restart', async () => {
    if (typeof disk === 'string') return;
    const path = join(disk.dir, 'full.db');
    const filler = join(disk.dir, 'filler');
    try {
      running = await startExporterProcess({ SQLITE_PATH: path });
      const statuses = new Map<number, number>();
      for (let n = 0; n < 3; n++) statuses.set(n, await send(running, n));

      fill(filler);
      statuses.set(3, await send(running, 3));
      expect(statuses.get(3)).toBe(503);
      expect(await readyz(running)).toBe(503);
      expect(await storeUp(running)).toBe(0);
      expect(running.logs).toContainEqual(
        expect.objectContaining({ level: 'error', msg: 'the store refuses writes: not ready until a write succeeds', err: expect.stringMatching(/full/) }),
      );

      // Room again: readiness comes back by itself (no webhook is needed to prove it) ...
      rmSync(filler);
      expect(await readyz(running)).toBe(200);
      expect(await storeUp(running)).toBe(1);
      // ... and StatusMate's retry is committed.
      statuses.set(3, await send(running, 3));
      statuses.set(4, await send(running, 4));
      expect([...statuses.values()]).toEqual([200, 200, 200, 200, 200]);

      await stopProcess(running, 'SIGTERM');
      running = await startExporterProcess({ SQLITE_PATH: path });
      expect(await componentsServed(running)).toEqual(new Set([0, 1, 2, 3, 4].map(componentId)));
    } finally {
      await stopProcess(running, 'SIGKILL');
      rmSync(filler, { force: true });
    }
  });
});
