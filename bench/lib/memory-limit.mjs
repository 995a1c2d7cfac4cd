// A memory limit like a container's, for the exporter the bench starts. The chart runs the exporter
// under resources.limits.memory, and Node sizes its heap from that limit: under 384 MiB its heap
// limit is about 260 MiB, without a limit about 4 GiB on this kind of machine. V8 collects garbage
// far more eagerly near its limit, so a bench without the limit measures peaks (and survives
// loads) that the chart's pod would not. The limit is a memory cgroup of its own per child, made
// under /sys/fs/cgroup (v1's memory hierarchy or v2's), which needs root; where it cannot be made,
// the bench says so and measures without it.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V1 = '/sys/fs/cgroup/memory';
const V2 = '/sys/fs/cgroup';

let made = 0;

/**
 * Removes the empty groups earlier bench runs left (a run killed by a signal cannot wait for its
 * children to exit before it removes theirs). rmdir removes a group only once it has no process.
 */
function removeLeftovers(root) {
  for (const name of readdirSync(root)) {
    if (!name.startsWith('statusmate-bench-')) continue;
    try {
      rmdirSync(join(root, name));
    } catch {
      // a process still in it: another bench's, running now
    }
  }
}

/** Parses "384Mi", "256M", "1Gi" or plain bytes; "0", "off" or "" mean no limit (null). */
export function parseMemoryLimit(text) {
  const value = (text ?? '').trim();
  if (value === '' || value === '0' || value === 'off') return null;
  const match = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(value);
  if (!match) throw new Error(`BENCH_MEMORY_LIMIT: "${value}" is not a size such as 384Mi`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

function v2HasMemory() {
  try {
    return readFileSync(join(V2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
  } catch {
    return false;
  }
}

/**
 * A new memory cgroup limited to `bytes`, or { reason } saying why none could be made. Its
 * `procs` is the file a child writes its own PID to before it execs node (so that node sizes its
 * heap from the limit); `oomKills()` counts the kernel's OOM kills in it; `close()` removes it
 * once its processes have exited.
 */
export function makeMemoryCgroup(bytes) {
  const name = `statusmate-bench-${process.pid}-${made++}`;
  try {
    if (existsSync(join(V1, 'memory.limit_in_bytes'))) {
      if (made === 1) removeLeftovers(V1);
      const dir = join(V1, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(bytes));
      return cgroup(dir, () => oomKillsOf(join(dir, 'memory.oom_control')));
    }
    if (v2HasMemory()) {
      if (made === 1) removeLeftovers(V2);
      const dir = join(V2, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'memory.max'), String(bytes));
      writeFileSync(join(dir, 'memory.swap.max'), '0');
      return cgroup(dir, () => oomKillsOf(join(dir, 'memory.events')));
    }
    return { reason: 'no memory cgroup hierarchy under /sys/fs/cgroup' };
  } catch (error) {
    return { reason: `cannot make a memory cgroup: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function oomKillsOf(file) {
  const match = /^oom_kill (\d+)$/m.exec(readFileSync(file, 'utf8'));
  return match ? Number(match[1]) : 0;
}

function cgroup(dir, countOomKills) {
  let closedWith = null;
  return {
    procs: join(dir, 'cgroup.procs'),
    oomKills: () => closedWith ?? countOomKills(),
    close() {
      closedWith = countOomKills();
      try {
        rmdirSync(dir);
      } catch {
        // still has a process; removeLeftovers removes the group once it is empty
      }
    },
  };
}
