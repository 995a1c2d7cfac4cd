import { readFileSync } from 'node:fs';
import { UsageError } from './io.js';

/** The usage line every command that sends a token shows for --token-file. */
export const TOKEN_FILE_USAGE = `--token-file F    read the token from file F (its first line), instead of --token, whose value
                    any user of the machine can read in the process list (ps)`;

/** The longest token file read: a token is one short line; a larger file is the wrong file. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/**
 * The token a command sends: --token's, or the first line of --token-file (a mounted Kubernetes
 * Secret, a file only its owner reads), without the line break an editor or `echo` ends it with.
 * Both given, or a file that cannot be read or holds no token, is a usage error naming the file,
 * never its content.
 */
export function tokenOf(options: { token?: string | undefined; 'token-file'?: string | undefined }): string | undefined {
  const file = options['token-file'];
  if (file === undefined) return options.token;
  if (options.token !== undefined) throw new UsageError('give --token or --token-file, not both');
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_TOKEN_FILE_BYTES) throw new UsageError(`--token-file ${file}: ${bytes.length} bytes, not a token (at most ${MAX_TOKEN_FILE_BYTES})`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--token-file ${file}: cannot be read (${code ?? (error as Error).message})`);
  }
  const token = (text.split(/\r?\n/, 1)[0] ?? '').trim();
  if (token === '') throw new UsageError(`--token-file ${file}: its first line holds no token`);
  return token;
}
