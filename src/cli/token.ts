import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError } from './io.js';

/** The usage lines of --url and --token for the commands that send webhooks (send, replay). */
export const WEBHOOK_URL_TOKEN_USAGE = `--url URL         the exporter's PORT, as http://HOST:PORT (POST /webhook there), or the webhook
                    URL StatusMate is given (its ?status_page= and ?token= are sent as they are)
  --token T         a WEBHOOK_TOKEN token, or the status page's own (token_env); none when the
                    exporter requires none`;

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
    // One byte past the bound is read at most: a large file, or a device that never ends
    // (/dev/zero, a FIFO's writer), is refused without being read whole.
    const bytes = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
    const fd = openSync(file, 'r');
    let length = 0;
    try {
      while (length < bytes.length) {
        const read = readSync(fd, bytes, length, bytes.length - length, null);
        if (read === 0) break;
        length += read;
      }
    } finally {
      closeSync(fd);
    }
    if (length > MAX_TOKEN_FILE_BYTES) throw new UsageError(`--token-file ${file}: over ${MAX_TOKEN_FILE_BYTES} bytes, not a token`);
    text = bytes.toString('utf8', 0, length);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--token-file ${file}: cannot be read (${code ?? (error as Error).message})`);
  }
  const token = (text.split(/\r?\n/, 1)[0] ?? '').trim();
  if (token === '') throw new UsageError(`--token-file ${file}: its first line holds no token`);
  return token;
}

/**
 * What a command says for a 401 when it sent no token. The exporter's own answer names the HTTP
 * ways to send one (a header, ?token=), which a user of this command does not write: the command
 * has its flags for that. `whose` says which token opens the endpoint.
 */
export function missingTokenHint(whose: string): string {
  return `the exporter requires a token and none was sent: give this command --token T or --token-file F (${whose})`;
}
