import { z } from 'zod';
import { queryToken } from '../webhook/auth.js';
import { UsageError } from './io.js';
import { missingTokenHint } from './token.js';

// Sending webhooks as StatusMate does: POST JSON, and on anything but a 200 try again, with the
// event's `meta.delivery_attempt` counting the tries (the exporter counts a retry once).

export const SUMMARY_OUTCOMES = ['applied', 'duplicate', 'stale', 'unsupported', 'refused_limit', 'refused', 'failed'] as const;
export type SummaryOutcome = (typeof SUMMARY_OUTCOMES)[number];

export type DeliveryResult = {
  /** The exporter's answer to the last try; `refused` for a final 4xx, `failed` for a final 5xx or no answer. */
  outcome: SummaryOutcome;
  /** Answered with a status no retry can change (FINAL_STATUSES): sending more of the same is pointless. */
  final: boolean;
  /** HTTP status of the last try; null when there was no answer. */
  status: number | null;
  attempts: number;
  /** The answer's body, or why there was none. */
  detail: string;
};

/** Whether the exporter answered the event (applied, duplicate, …): a 200 of another server is not. */
export const answered = (result: DeliveryResult): boolean => result.status === 200 && result.outcome !== 'failed';

export type RetryPolicy = {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before the second try; doubled before each further one. */
  baseDelayMs: number;
};

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000 };

const ATTEMPTS_ERROR = 'must be a whole number from 1 to 20';
/** --attempts: tries in all, from 1 to 20 (zod's own "expected number, received NaN" names no bound). */
export const attemptsSchema = z.coerce
  .number({ error: ATTEMPTS_ERROR })
  .int({ error: ATTEMPTS_ERROR })
  .min(1, { error: ATTEMPTS_ERROR })
  .max(20, { error: ATTEMPTS_ERROR });

/**
 * Answers that the same request will get again: a malformed or oversized body, a wrong token or
 * a token for another page, a wrong URL (no route: 404; the path of a GET route such as
 * /metrics: 405; a host name ALLOWED_HOSTS does not list: 421), a wrong content type. Retrying
 * them only delays the answer (five tries over 15 s per event, minutes for a replay).
 */
export const FINAL_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 405, 413, 415, 421, 422]);

/** FINAL_STATUSES as the usage texts list them: "400, 401, …, 415 and 422". */
export const FINAL_STATUS_TEXT = ((statuses: number[]) => `${statuses.slice(0, -1).join(', ')} and ${String(statuses.at(-1))}`)([...FINAL_STATUSES]);

/** What a retry is told: which try failed, why, and how long until the next. */
export type RetryNotice = { attempt: number; attempts: number; reason: string; delayMs: number };

/** Longest answer body quoted in a message. */
const MAX_DETAIL = 500;
const clip = (text: string) => (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text);

/**
 * Why a request got no answer, naming the address: fetch says only "fetch failed", and the
 * reason is in its cause (ECONNREFUSED with the address and port, ENOTFOUND with the host name).
 */
export function networkReason(url: URL, error: unknown): string {
  const cause = (error as { cause?: unknown }).cause as (NodeJS.ErrnoException & { address?: string; port?: number }) | undefined;
  const where = cause?.address !== undefined ? `${cause.address}${cause.port !== undefined ? `:${cause.port}` : ''}` : url.host;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} (${url.origin}): is the exporter running and listening there?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${url.hostname} (${cause.code})`;
    case 'ECONNRESET':
      return `connection reset by ${where}`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connecting to ${where} timed out`;
    default:
      break;
  }
  if ((error as Error).name === 'TimeoutError') return `no answer from ${url.host} within 10 s`;
  const detail = cause?.code !== undefined ? `${cause.code}: ${cause.message}` : (cause?.message ?? (error as Error).message);
  return `${url.host}: ${detail}`;
}

const answerSchema = z.object({ status: z.enum(['applied', 'duplicate', 'stale', 'unsupported', 'refused_limit']) });

/** --url as an http or https URL; a usage error (one line, exit 64) when it is neither. */
export function httpUrl(raw: string): URL {
  // `127.0.0.1:9877` is no URL, and `localhost:9877` one of the scheme "localhost:": both mean http.
  const meant = !raw.includes('://') && URL.canParse(`http://${raw}`) ? ` (did you mean http://${raw.slice(0, 100)}?)` : '';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url: not a URL: ${JSON.stringify(raw.slice(0, 100))}${meant}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http or https, not ${url.protocol}${meant}`);
  return url;
}

/** The webhook URL: `http://host:port` alone means `http://host:port/webhook`. */
export function webhookUrl(raw: string): URL {
  const url = httpUrl(raw);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/webhook';
  return url;
}

/** The body with `meta.delivery_attempt` moved on by `retries`, as StatusMate's retries carry it. */
function attemptBody(body: Record<string, unknown>, retries: number): Record<string, unknown> {
  const meta = body.meta;
  if (retries === 0 || typeof meta !== 'object' || meta === null || Array.isArray(meta)) return body;
  const sent = (meta as Record<string, unknown>).delivery_attempt;
  const first = typeof sent === 'number' && Number.isInteger(sent) ? sent : 0;
  return { ...body, meta: { ...meta, delivery_attempt: first + retries } };
}

/** `<what>: attempt 1 of 5 failed (HTTP 503 …); retrying in 1 s`, the line printed before a retry. */
export function retryLine(what: string, notice: RetryNotice): string {
  const wait = notice.delayMs >= 1000 ? `${notice.delayMs / 1000} s` : `${notice.delayMs} ms`;
  return `${what}: attempt ${notice.attempt} of ${notice.attempts} failed (${notice.reason}); retrying in ${wait}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Delivers one webhook body, retrying on anything but a 200 or a FINAL_STATUSES answer, and
 * telling `onRetry` before each retry. Never throws for the network.
 */
export async function deliver(
  url: URL,
  token: string | undefined,
  body: Record<string, unknown>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (notice: RetryNotice) => void,
): Promise<DeliveryResult> {
  let last: DeliveryResult = { outcome: 'failed', final: false, status: null, attempts: 0, detail: 'not sent' };
  for (let attempt = 0; attempt < policy.attempts; attempt += 1) {
    if (attempt > 0) {
      const delayMs = policy.baseDelayMs * 2 ** (attempt - 1);
      const reason = last.status === null ? last.detail : `HTTP ${last.status} ${clip(last.detail)}`;
      onRetry?.({ attempt, attempts: policy.attempts, reason, delayMs });
      await sleep(delayMs);
    }
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(attemptBody(body, attempt)),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      if (response.status === 200) {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const answer = answerSchema.safeParse(json);
        if (answer.success) return { outcome: answer.data.status, final: false, status: 200, attempts: attempt + 1, detail: text };
        // A 200 that is not the exporter's answer (a proxy's page, another service at --url) says
        // nothing of the event: counted as applied, it hid a webhook URL pointing nowhere.
        return {
          outcome: 'failed',
          final: true,
          status: 200,
          attempts: attempt + 1,
          detail: `but the answer is not the exporter's (${clip(text) || 'empty'}): does --url name the exporter?`,
        };
      }
      const final = FINAL_STATUSES.has(response.status);
      const tokenless = response.status === 401 && !token && !queryToken(url.searchParams);
      last = {
        outcome: response.status >= 400 && response.status < 500 ? 'refused' : 'failed',
        final,
        status: response.status,
        attempts: attempt + 1,
        detail: tokenless ? missingTokenHint("a WEBHOOK_TOKEN token, or the status page's token_env one") : clip(text),
      };
      if (final) return last;
    } catch (error) {
      last = { outcome: 'failed', final: false, status: null, attempts: attempt + 1, detail: networkReason(url, error) };
    }
  }
  return last;
}
