import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type Tool = { name: string; path: string | undefined; skipReason: string | undefined };

/**
 * Finds a system tool that a suite needs. Outside CI a missing tool skips the suite with a
 * message saying how to install it; under CI=true a missing tool fails the run, because a
 * suite skipped in CI is a suite that does not exist.
 */
export function findTool(name: string, installHint: string): Tool {
  let path: string | undefined;
  try {
    path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    path = undefined;
  }
  if (path) return { name, path, skipReason: undefined };
  const reason = `${name} not found on PATH; install it with: ${installHint}`;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and ${reason}`);
  }
  console.warn(`[skipped] suites needing ${reason}`);
  return { name, path: undefined, skipReason: reason };
}

/**
 * Finds a binary at the first of `candidates` (absolute paths; empty entries are skipped) that
 * exists, with findTool's rule: skip outside CI, fail under CI=true.
 */
export function findBinary(name: string, candidates: Array<string | undefined>, installHint: string): Tool {
  const path = candidates.find((candidate): candidate is string => candidate !== undefined && candidate !== '' && existsSync(candidate));
  if (path) return { name, path, skipReason: undefined };
  const reason = `${name} not found at ${candidates.filter(Boolean).join(' or ') || '(no candidate)'}; install it with: ${installHint}`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`[skipped] suites needing ${reason}`);
  return { name, path: undefined, skipReason: reason };
}

/** `$(go env GOPATH)/bin`, where `go install` puts binaries; undefined without Go. */
export function goBinDir(): string | undefined {
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', timeout: 30_000 }).trim();
    return gopath ? join(gopath.split(':')[0] ?? gopath, 'bin') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The two promtool versions the rules are tested with: Debian's 2.42 (PROMTOOL_2_BIN or
 * /usr/bin/promtool) and a 3.x built with `go install` (PROMTOOL_3_BIN or GOPATH/bin/promtool).
 * Prometheus 3 changed range selectors to left-open, so a rules test can pass on one and not
 * the other; each is found with findBinary's rule (skip outside CI, fail under CI=true).
 */
export function promtools(): Array<{ version: string; tool: Tool }> {
  const goBin = goBinDir();
  return [
    {
      version: 'promtool 2.x',
      tool: findBinary('promtool 2.x', [process.env.PROMTOOL_2_BIN, '/usr/bin/promtool'], 'apt-get install -y prometheus (Debian/Ubuntu; it brings promtool)'),
    },
    {
      version: 'promtool 3.x',
      tool: findBinary(
        'promtool 3.x',
        [process.env.PROMTOOL_3_BIN, goBin === undefined ? undefined : join(goBin, 'promtool')],
        'GOFLAGS=-mod=mod go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0 (or set PROMTOOL_3_BIN)',
      ),
    },
  ];
}
