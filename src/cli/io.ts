import { parseArgs, type ParseArgsConfig } from 'node:util';
import { editDistance } from '../edit-distance.js';

/** Where a command writes: stdout for its results, stderr for progress and problems. */
export type Io = { out(line: string): void; err(line: string): void };

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** A command line that cannot be run as given: exit 64 (EX_USAGE) with the message. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The one of `names` that `typed` most likely meant: within two edits (one for short names), or one it begins. */
export function meantOf(typed: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const limit = name.length > 4 ? 2 : 1;
    const distance = editDistance(typed, name, limit);
    if (distance <= limit && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best ?? names.find((name) => typed.length >= 3 && name.startsWith(typed));
}

/**
 * node's parseArgs, with an unknown flag named beside the one meant, or beside the flags the
 * command takes: node says only "Unknown option '--tokn'".
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const flag = /^Unknown option '--([^']+)'/.exec((error as Error).message)?.[1];
    if ((error as { code?: unknown }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || flag === undefined) throw error;
    const known = Object.keys(config.options ?? {});
    const meant = meantOf(flag, known);
    throw new UsageError(
      meant !== undefined
        ? `unknown flag --${flag}: did you mean --${meant}?`
        : `unknown flag --${flag}: it takes ${known.map((name) => `--${name}`).join(', ')}`,
    );
  }
}
