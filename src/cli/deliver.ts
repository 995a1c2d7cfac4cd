import { z } from 'zod';

// Sending webhooks as StatusMate does: POST JSON, and on anything but a 200 try again, with the
// event's `meta.delivery_attempt` counting the tries (the exporter counts a retry once).

export const SUMMARY_OUTCOMES = ['applied', 'duplicate', 'stale', 'unsupported', 'refused_limit', 'refused', 'failed'] as const;
export type SummaryOutcome = (typeof SUMMARY_OUTCOMES)[number];

export type DeliveryResult = {
  /** The exporter's answer to the last try; `refused` for a final 4xx, `failed` for a final 5xx or no answer. */
  outcome: SummaryOutcome;
  /** HTTP status of the last try; null when there was no answer. */
  status: number | null;
  attempts: number;
  /** The answer's body, or why there was none. */
  detail: string;
};

export type RetryPolicy = {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before the second try; doubled before each further one. */
  baseDelayMs: number;
};

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000 };

const answerSchema = z.object({ status: z.enum(['applied', 'duplicate', 'stale', 'unsupported', 'refused_limit']) });

/** The webhook URL: `http://host:port` alone means `http://host:port/webhook`. */
export function webhookUrl(raw: string): URL {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url must be http or https, not ${url.protocol}`);
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Delivers one webhook body, retrying on anything but a 200. Never throws for the network. */
export async function deliver(
  url: URL,
  token: string | undefined,
  body: Record<string, unknown>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<DeliveryResult> {
  let last: DeliveryResult = { outcome: 'failed', status: null, attempts: 0, detail: 'not sent' };
  for (let attempt = 0; attempt < policy.attempts; attempt += 1) {
    if (attempt > 0) await sleep(policy.baseDelayMs * 2 ** (attempt - 1));
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
        return { outcome: answer.success ? answer.data.status : 'applied', status: 200, attempts: attempt + 1, detail: text };
      }
      last = { outcome: response.status >= 400 && response.status < 500 ? 'refused' : 'failed', status: response.status, attempts: attempt + 1, detail: text };
    } catch (error) {
      last = { outcome: 'failed', status: null, attempts: attempt + 1, detail: (error as Error).message };
    }
  }
  return last;
}
