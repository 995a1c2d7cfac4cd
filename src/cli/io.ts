import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { editDistance } from '../edit-distance.js';
import { issueWords } from '../issue-words.js';

/** Where a command writes: stdout for its results, stderr for progress and problems. */
export type Io = { out(line: string): void; err(line: string): void };

/**
 * Streams whose reader went away (`| head -1`, a closed terminal): what the command prints ends
 * there, not what it does (a replay goes on sending and exits with its own status). Node reported
 * the EPIPE as an unhandled 'error' event, with a stack trace and exit 1, after the work was done.
 */
const gone = new Set<NodeJS.WriteStream>();
function writerOf(stream: NodeJS.WriteStream): (line: string) => void {
  let listening = false;
  return (line) => {
    if (!listening) {
      listening = true;
      stream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error;
        gone.add(stream);
      });
    }
    if (!gone.has(stream)) stream.write(`${line}\n`);
  };
}

export const processIo: Io = {
  out: writerOf(process.stdout),
  err: writerOf(process.stderr),
};

/** A command line that cannot be run as given: exit 64 (EX_USAGE) with the message. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The flags a command was given that its schema refused, as one usage line: `--url: is required`.
 * A flag given more than once (`--component`) is named with the value refused, not by zod's
 * index into the values: `--component "abc": must be a UUID`, where `--component.0` left the
 * user to count which one. Only a repeated flag's value is shown: a token is never one.
 */
export function flagsError(error: z.ZodError, values: Readonly<Record<string, unknown>>): UsageError {
  const words = error.issues.map((issue) => {
    const [flag, index] = issue.path;
    const given = typeof index === 'number' ? (values[String(flag)] as unknown[] | undefined)?.[index] : undefined;
    return `--${String(flag)}${typeof given === 'string' ? ` ${JSON.stringify(given)}` : ''}: ${issueWords(issue)}`;
  });
  return new UsageError(words.join('; '));
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
