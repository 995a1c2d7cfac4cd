import { execFileSync } from 'node:child_process';

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
