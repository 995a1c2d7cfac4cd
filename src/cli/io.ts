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
