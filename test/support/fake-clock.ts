import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The preload that makes a process's Date read a clock file (see the file). */
export const FAKE_CLOCK_PRELOAD = fileURLToPath(new URL('./fake-clock.mjs', import.meta.url));

export type FakeClock = {
  /** The environment that puts a process (an exporter, a command) on this clock. */
  env: Record<string, string>;
  /** Sets the time every process on the clock reads, in milliseconds since the epoch. */
  set(ms: number): void;
  now(): number;
};

/** A clock in `dir` that the processes started with its `env` read as their Date. */
export function fakeClock(dir: string, startMs: number): FakeClock {
  const file = join(dir, 'clock');
  let current = startMs;
  const write = (ms: number) => {
    // Renamed into place: a process reading it mid-write would see an empty file.
    writeFileSync(`${file}.next`, String(ms));
    renameSync(`${file}.next`, file);
  };
  write(startMs);
  return {
    env: { FAKE_CLOCK_FILE: file, NODE_OPTIONS: `--import=${FAKE_CLOCK_PRELOAD}` },
    set(ms) {
      current = ms;
      write(ms);
    },
    now: () => current,
  };
}

export type ShiftedClock = {
  /** The environment that puts a process on this clock. */
  env: Record<string, string>;
  /** The shifted time, in milliseconds since the epoch: what the processes on the clock read now. */
  now(): number;
};

/**
 * A clock that runs as the real one does, `offsetMs` ahead of it (or behind): for a test that
 * needs time to pass but must not run into a UTC midnight, started at a time of day it chose.
 */
export function shiftedClock(offsetMs: number): ShiftedClock {
  return {
    env: { FAKE_CLOCK_OFFSET_MS: String(offsetMs), NODE_OPTIONS: `--import=${FAKE_CLOCK_PRELOAD}` },
    now: () => Date.now() + offsetMs,
  };
}

/** The shift that makes a clock read `hourUtc` o'clock of today (UTC) now. */
export function shiftToHour(hourUtc: number, realMs = Date.now()): number {
  const day = 86_400_000;
  return Math.floor(realMs / day) * day + hourUtc * 3_600_000 - realMs;
}
