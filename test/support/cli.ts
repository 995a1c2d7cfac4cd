import { fileURLToPath } from 'node:url';
import { runNodeToExit, type RunResult } from './exporter.js';

/** The built command, as the package's bin runs it. */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export type CliResult = RunResult;

/** Runs `node dist/cli.js ARGS` to its end. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return runNodeToExit([CLI, ...args], env, timeoutMs, `cli ${args.join(' ')}`);
}
