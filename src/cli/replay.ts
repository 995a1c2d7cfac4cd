import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  answered,
  attemptsSchema,
  DEFAULT_RETRY,
  deliver,
  FINAL_STATUS_TEXT,
  retryLine,
  SUMMARY_OUTCOMES,
  webhookUrl,
  type RetryPolicy,
  type SummaryOutcome,
} from './deliver.js';
import { parseWebhook } from '../webhook/schema.js';
import { parseFlags, UsageError, type Io } from './io.js';
import { TOKEN_FILE_USAGE, tokenOf, WEBHOOK_URL_TOKEN_USAGE } from './token.js';

export const REPLAY_USAGE = `statusmate-exporter replay FILE.jsonl --url URL [--token T | --token-file F] [--attempts N] [--retry-delay MS]
  ${WEBHOOK_URL_TOKEN_USAGE}
  ${TOKEN_FILE_USAGE}
  Checks every line of FILE (one StatusMate webhook body per line, or one body on as many lines as
  StatusMate's documentation prints it) first: a line that is not one stops it before anything is
  sent, naming the line (exit 64). Then sends them in order, retrying
  like StatusMate on anything but a 200. Exits 1 when a delivery finally failed; stops at once on HTTP
  ${FINAL_STATUS_TEXT}, which no retry changes (a malformed body, a wrong token, URL or content type,
  a status page not declared), and at an event that got no answer at all (the exporter is not
  there), naming the line to resume from.
  --attempts N       tries per event in all (default ${DEFAULT_RETRY.attempts})
  --retry-delay MS   wait before the first retry, doubled for each further one (default ${DEFAULT_RETRY.baseDelayMs})`;

export type Summary = Record<SummaryOutcome, number> & {
  /** Events sent. */
  events: number;
  /** Events there were to send. */
  total: number;
  retries: number;
  /** Ended early on an answer no retry can change. */ stopped: boolean;
};

const bodySchema = z.record(z.string(), z.unknown());

/** One webhook body of a recording, with the line of the file it is on (from 1). */
export type RecordedBody = { line: number; body: Record<string, unknown> };

/**
 * JSON.parse's message for one line of a file: its "in JSON at position 1 (line 1 column 2)"
 * counts within the line, and "line 1" beside the file's own line number misleads; the column is
 * what helps.
 */
function withinLine(message: string): string {
  return message.replace(/ in JSON at position \d+ \(line 1 column (\d+)\)/, ' at column $1');
}

/** The bodies of a JSONL file, in order; blank lines skipped. Throws a UsageError naming the first bad line. */
export function readRecording(file: string): Record<string, unknown>[] {
  return readRecordingLines(file).map((recorded) => recorded.body);
}

/** readRecording, with each body's line: what replay's messages name, so that an event can be found in the file. */
export function readRecordingLines(file: string): RecordedBody[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  // A leading byte order mark (an editor's UTF-8 with BOM) is skipped, as the webhook skips one.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = text.split('\n');
  // One body spread over several lines, as StatusMate's documentation prints its examples (and as
  // `jq .` writes one), is one event: its first line is the line of it.
  const whole = wholeBody(text);
  if (whole !== undefined) {
    const first = lines.findIndex((line) => line.trim() !== '');
    return [{ line: first + 1, body: checked(file, first + 1, whole) }];
  }
  const bodies: RecordedBody[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${file}:${index + 1}: not JSON (${withinLine((error as Error).message)}); ${ONE_PER_LINE}; nothing was sent`);
    }
    const body = bodySchema.safeParse(json);
    if (!body.success) throw new UsageError(`${file}:${index + 1}: must be a JSON object, one webhook body per line; nothing was sent`);
    bodies.push({ line: index + 1, body: checked(file, index + 1, body.data) });
  });
  return bodies;
}

/** What a line that is not JSON tells the user to do: the two shapes replay reads. */
const ONE_PER_LINE = `replay reads one webhook body per line (JSON Lines: \`jq -c . FILE\` writes each body on one line), or a file holding a single body`;

/** The file's whole text as one webhook body, when it is one JSON object (on one line or several); else undefined. */
function wholeBody(text: string): Record<string, unknown> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const body = bodySchema.safeParse(json);
  return body.success ? body.data : undefined;
}

/**
 * The body, once the exporter's schema takes it. What the exporter would answer 400 is found here,
 * before the first event goes: sent, the events before it were applied and the replay stopped
 * there, half done. (What depends on the exporter, a status page it does not declare, is still its
 * to answer.)
 */
function checked(file: string, line: number, body: Record<string, unknown>): Record<string, unknown> {
  const webhook = parseWebhook(body, 'default');
  if (webhook.kind === 'invalid') throw new UsageError(`${file}:${line}: ${webhook.error}; nothing was sent`);
  return body;
}

const plural = (count: number, one: string, many: string) => (count === 1 ? one : many);

export function formatSummary(summary: Summary): string {
  const counts = SUMMARY_OUTCOMES.map((outcome) => `${summary[outcome]} ${outcome}`).join(', ');
  const events = summary.events < summary.total ? `${summary.events} of ${summary.total}` : String(summary.events);
  // "1 of 3 events" counts the file's events: the noun follows the total, not what was sent.
  return `${events} ${plural(summary.total, 'event', 'events')}: ${counts}; ${summary.retries} ${plural(summary.retries, 'retry', 'retries')}${summary.stopped ? '; stopped early' : ''}`;
}

/**
 * Replays bodies in order; progress every tenth of a long file goes to `io.err`. `lines`, when the
 * bodies come from a file, are their lines in it: each message names the line of its event.
 */
export async function replayBodies(
  bodies: Record<string, unknown>[],
  url: URL,
  token: string | undefined,
  policy: RetryPolicy,
  io: Io,
  lines?: readonly number[],
  sending?: (index: number, summary: Summary) => void,
): Promise<Summary> {
  const line = (index: number) => lines?.[index];
  const name = (index: number) => `event ${index + 1}${line(index) === undefined ? '' : ` (line ${line(index)})`}`;
  const summary: Summary = {
    events: 0,
    total: bodies.length,
    retries: 0,
    stopped: false,
    applied: 0,
    duplicate: 0,
    stale: 0,
    unsupported: 0,
    refused_limit: 0,
    refused: 0,
    failed: 0,
  };
  const step = bodies.length >= 50 ? Math.ceil(bodies.length / 10) : Infinity;
  for (const [index, body] of bodies.entries()) {
    sending?.(index, summary);
    const result = await deliver(url, token, body, policy, (notice) => io.err(retryLine(name(index), notice)));
    summary.events += 1;
    summary.retries += result.attempts - 1;
    summary[result.outcome] += 1;
    if (!answered(result)) {
      io.err(
        `${name(index)}: ${result.outcome} after ${result.attempts} attempt(s): ${result.status === null ? '' : `HTTP ${result.status} `}${result.detail}`,
      );
    }
    // The rest would be answered alike (a wrong token, URL or content type), or not at all (every
    // try of this one found no exporter: each later event would spend as long, 15 s by default,
    // finding none), and a recording is replayed in order: stop here rather than send the
    // remaining events into the same refusal, and say where to resume.
    const why = result.final
      ? result.status === 200
        ? "the answer is not the exporter's"
        : `HTTP ${result.status} is not retried`
      : result.status === null
        ? 'no answer from the exporter'
        : undefined;
    if (why !== undefined) {
      const at = line(index) === undefined ? '' : ` (line ${line(index)})`;
      const resume = line(index) === undefined ? '' : ` (resume from line ${line(index)})`;
      const rest = bodies.length - index - 1;
      const unsent = rest === 0 ? '' : rest === 1 ? ', and the event after it was not sent' : `, and the ${rest} events after it were not sent`;
      io.err(`replay stopped at event ${index + 1} of ${bodies.length}${at}: ${why}${unsent}${resume}`);
      summary.stopped = true;
      break;
    }
    if ((index + 1) % step === 0 && index + 1 < bodies.length) io.err(`replay: ${index + 1}/${bodies.length} sent`);
  }
  return summary;
}

/** `replay FILE --url URL`: exit code 0 when every event was answered 200, else 1. */
export async function replay(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      attempts: { type: 'string' },
      'retry-delay': { type: 'string' },
    },
  });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('replay takes one FILE.jsonl');
  if (values.url === undefined) throw new UsageError('--url is required');
  const attempts = attemptsSchema.safeParse(values.attempts ?? DEFAULT_RETRY.attempts);
  const delay = z.coerce
    .number()
    .int()
    .min(0)
    .max(600_000)
    .safeParse(values['retry-delay'] ?? DEFAULT_RETRY.baseDelayMs);
  if (!attempts.success) throw new UsageError('--attempts must be a whole number from 1 to 20');
  if (!delay.success) throw new UsageError('--retry-delay must be a number of milliseconds');
  const token = tokenOf(values);
  const recorded = readRecordingLines(file);
  // Ctrl-C stops a replay as an answer no retry changes does: saying where to resume. Node's own
  // SIGINT exit said nothing, and the progress lines count events, not the file's lines.
  let at: { index: number; summary: Summary } | undefined;
  const interrupted = () => {
    if (at !== undefined) {
      const { index, summary } = at;
      const line = recorded[index]?.line;
      io.err(
        `replay interrupted at event ${index + 1} of ${recorded.length} (line ${line}): its answer did not come, so it may or may not be applied (resume from line ${line})`,
      );
      io.out(`replayed ${file}: ${formatSummary({ ...summary, stopped: true })}`);
    }
    process.exit(130); // 128 + SIGINT, as a shell reports a command Ctrl-C stopped
  };
  process.once('SIGINT', interrupted);
  try {
    const summary = await replayBodies(
      recorded.map((r) => r.body),
      webhookUrl(values.url),
      token,
      { attempts: attempts.data, baseDelayMs: delay.data },
      io,
      recorded.map((r) => r.line),
      (index, summary) => (at = { index, summary }),
    );
    io.out(`replayed ${file}: ${formatSummary(summary)}`);
    return summary.refused + summary.failed > 0 || summary.stopped ? 1 : 0;
  } finally {
    process.removeListener('SIGINT', interrupted);
  }
}
