import { z } from 'zod';
import type { AlertmanagerAuth } from '../config.js';
import {
  keyOfComment,
  ownExpiryNotedAt,
  SILENCE_CREATED_BY,
  stampedComment,
  stampOfComment,
  withOwnExpiryNote,
  type DesiredSilence,
  type ObservedSilence,
} from '../domain/silences.js';

// Alertmanager's API v2, as far as silences go: list, create or update (POST /api/v2/silences,
// with an id to update), expire (DELETE /api/v2/silence/{id}). One client per cluster: it reads
// from every peer (a peer that has not heard a silence by gossip yet still counts one that
// has) and writes to the first peer that takes the write. Node's fetch; no dependency.

export const ALERTMANAGER_OPERATIONS = ['list', 'create', 'update', 'expire', 'list_alerts'] as const;
export type AlertmanagerOperation = (typeof ALERTMANAGER_OPERATIONS)[number];
/**
 * `ok`: a 2xx answer that reads as Alertmanager's; `refused`: 4xx (a request Alertmanager will not
 * take); `error`: 5xx, timeouts, no connection, or a 2xx that is not Alertmanager's answer (a
 * proxy's login page, another API at that address).
 */
export const ALERTMANAGER_REQUEST_OUTCOMES = ['ok', 'refused', 'error'] as const;
export type AlertmanagerRequestOutcome = (typeof ALERTMANAGER_REQUEST_OUTCOMES)[number];

/**
 * The largest answer read, in bytes (32 MiB: some 50,000 silences, expired ones included, or
 * 30,000 alerts). Past it the rest is not read and the request fails: a server at that address
 * that streams without end (not Alertmanager) held it all in memory, 5.8 GB for 3 GB sent.
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** The answer's text, or undefined when it is over MAX_ANSWER_BYTES (the rest is not read). */
async function boundedText(response: Response): Promise<string | undefined> {
  if (Number(response.headers.get('content-length') ?? 0) > MAX_ANSWER_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream, which closes the connection.
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const causeOf = (error: unknown) => (error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error));

/** How long the other peers of a cluster may take to answer a list once one has answered. */
const PEER_GRACE_MS = 1_000;

export class AlertmanagerError extends Error {
  override name = 'AlertmanagerError';
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/** A silence as Alertmanager's API v2 lists it (GET /api/v2/silences): the fields the exporter reads. */
export const alertmanagerSilenceSchema = z
  .object({
    id: z.string(),
    createdBy: z.string(),
    comment: z.string(),
    startsAt: z.string(),
    endsAt: z.string(),
    updatedAt: z.string(),
    status: z.object({ state: z.enum(['active', 'pending', 'expired']) }).loose(),
    matchers: z.array(z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean().default(true) }).loose()),
  })
  .loose();
const listSchema = z.array(z.unknown());
const alertSchema = z
  .object({
    fingerprint: z.string().min(1).max(100),
    status: z
      .object({ state: z.string().optional(), silencedBy: z.array(z.unknown()).optional(), inhibitedBy: z.array(z.unknown()).optional() })
      .loose()
      .optional(),
  })
  .loose();
const postSchema = z.object({ silenceID: z.string() }).loose();

export type AlertmanagerClientOptions = {
  urls: readonly string[];
  auth: AlertmanagerAuth;
  /** Called once per request, with its outcome: statusmate_alertmanager_requests_total. */
  onRequest?: (operation: AlertmanagerOperation, outcome: AlertmanagerRequestOutcome) => void;
  timeoutMs?: number;
};

const seconds = (iso: string) => Date.parse(iso) / 1000;
const iso = (unixSeconds: number) => new Date(Math.round(unixSeconds * 1000)).toISOString();

export class AlertmanagerClient {
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  /**
   * What each peer that answered the last listSilences held of the exporter's silences (id to
   * state): a peer cut off from the gossip mesh never hears a silence, or its expiry, from the
   * others, while the merged list says all is well.
   */
  peerViews = new Map<string, Map<string, ObservedSilence['state']>>();
  /** The peer that took the last write: tried first (see write). */
  private lastWriter: string | undefined;

  constructor(private readonly options: AlertmanagerClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    const { auth } = options;
    this.headers = { accept: 'application/json' };
    if (auth.kind === 'basic') this.headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    if (auth.kind === 'bearer') this.headers.authorization = `Bearer ${auth.token}`;
  }

  /** One request; resolves with the answer read by `answer` (nothing expected when absent). */
  private async request<T = undefined>(
    operation: AlertmanagerOperation,
    base: string,
    method: string,
    path: string,
    body?: unknown,
    answer?: z.ZodType<T>,
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      this.options.onRequest?.(operation, 'error');
      throw new AlertmanagerError(`${method} ${base}${path}: ${causeOf(error)}`, undefined);
    }
    let text: string | undefined;
    try {
      text = await boundedText(response);
    } catch (error) {
      // The answer broke off (a timeout while it was read, the connection closed).
      if (response.ok) {
        this.options.onRequest?.(operation, 'error');
        throw new AlertmanagerError(`${method} ${base}${path}: ${causeOf(error)}`, response.status);
      }
      text = '';
    }
    if (text === undefined) {
      this.options.onRequest?.(operation, 'error');
      throw new AlertmanagerError(`${method} ${base}${path}: the answer is over ${MAX_ANSWER_BYTES} bytes`, response.status);
    }
    if (!response.ok) {
      this.options.onRequest?.(operation, response.status >= 400 && response.status < 500 ? 'refused' : 'error');
      throw new AlertmanagerError(`${method} ${base}${path}: ${response.status} ${text.slice(0, 300).trim()}`, response.status);
    }
    if (answer === undefined) {
      this.options.onRequest?.(operation, 'ok');
      return undefined as T;
    }
    // A 2xx that is not Alertmanager's answer is an error, not an ok: what fails shows in
    // statusmate_alertmanager_requests_total, and the log line names the request (one line).
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      this.options.onRequest?.(operation, 'error');
      throw new AlertmanagerError(`${method} ${base}${path}: the answer is not JSON`, response.status);
    }
    const parsed = answer.safeParse(json);
    if (!parsed.success) {
      this.options.onRequest?.(operation, 'error');
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
      throw new AlertmanagerError(`${method} ${base}${path}: the answer is not Alertmanager's (${issue?.message ?? 'unexpected'}${where})`, response.status);
    }
    this.options.onRequest?.(operation, 'ok');
    return parsed.data;
  }

  /** The items of a list every peer is asked for, from every peer that answers; rejects only when none does. */
  private async listFromEveryPeer(operation: AlertmanagerOperation, path: string): Promise<unknown[]> {
    return (await this.listFromEachPeer(operation, path)).flatMap(([, items]) => items);
  }

  /** The same, peer by peer: [base URL, items] for every peer that answered. */
  private async listFromEachPeer(operation: AlertmanagerOperation, path: string): Promise<[string, unknown[]][]> {
    // Once one peer answered, the others get PEER_GRACE_MS more, not the whole timeout: a peer
    // that hangs cost every reconcile 5 s. One that misses it counts as not answering, as a peer
    // that is down does (the gossip brings its silences to the others).
    let graceTimer: NodeJS.Timeout | undefined;
    let endGrace = () => {};
    const grace = new Promise<PromiseSettledResult<unknown>>((resolve) => {
      endGrace = () => resolve({ status: 'rejected', reason: new AlertmanagerError(`no answer within ${PEER_GRACE_MS} ms of another peer's`, undefined) });
    });
    const startGrace = () => (graceTimer ??= setTimeout(endGrace, PEER_GRACE_MS));
    const asked = this.options.urls.map((base) =>
      this.request(operation, base, 'GET', path, undefined, listSchema).then(
        (value): PromiseSettledResult<unknown> => {
          startGrace();
          return { status: 'fulfilled', value };
        },
        (reason: unknown): PromiseSettledResult<unknown> => ({ status: 'rejected', reason }),
      ),
    );
    const answers = await Promise.all(asked.map((answer) => Promise.race([answer, grace])));
    clearTimeout(graceTimer);
    const items: [string, unknown[]][] = [];
    let failure: unknown;
    answers.forEach((answer, index) => {
      if (answer.status === 'rejected') failure = answer.reason;
      else items.push([this.options.urls[index] as string, answer.value as unknown[]]);
    });
    if (items.length === 0) throw failure instanceof Error ? failure : new AlertmanagerError('no Alertmanager answered', undefined);
    return items;
  }

  /**
   * The exporter's silences (createdBy and a marker in the comment), from every peer that answers,
   * one per id (the most recently updated copy); rejects only when no peer answers.
   */
  async listSilences(): Promise<ObservedSilence[]> {
    const byId = new Map<string, ObservedSilence>();
    const peers = new Map<string, Map<string, ObservedSilence['state']>>();
    for (const [base, items] of await this.listFromEachPeer('list', '/api/v2/silences')) {
      const held = new Map<string, ObservedSilence['state']>();
      peers.set(base, held);
      for (const item of items) {
        const parsed = alertmanagerSilenceSchema.safeParse(item);
        if (!parsed.success || parsed.data.createdBy !== SILENCE_CREATED_BY) continue;
        const key = keyOfComment(parsed.data.comment);
        if (key === undefined) continue;
        const silence: ObservedSilence = {
          id: parsed.data.id,
          key,
          matchers: parsed.data.matchers.map(({ name, value, isRegex, isEqual }) => ({ name, value, isRegex, isEqual })),
          startsAt: seconds(parsed.data.startsAt),
          endsAt: seconds(parsed.data.endsAt),
          updatedAt: seconds(parsed.data.updatedAt),
          state: parsed.data.status.state,
          stamp: stampOfComment(parsed.data.comment),
          comment: parsed.data.comment,
          expiryNotedAt: ownExpiryNotedAt(parsed.data.comment),
        };
        held.set(silence.id, silence.state);
        const known = byId.get(silence.id);
        if (!known || known.updatedAt < silence.updatedAt) byId.set(silence.id, silence);
      }
    }
    this.peerViews = peers;
    return [...byId.values()];
  }

  /**
   * The fingerprints of the alerts Alertmanager holds as firing (silenced and inhibited ones
   * included: resolved ones are not listed), from every peer that answers (Prometheus sends its
   * alerts to each); rejects only when no peer answers.
   */
  async firingFingerprints(): Promise<Set<string>> {
    return new Set((await this.firingAlerts()).keys());
  }

  /**
   * The same alerts, each with whether it is suppressed (silenced or inhibited) on every peer that
   * lists it: Alertmanager notifies no one of a suppressed alert, its resolution included.
   */
  async firingAlerts(): Promise<Map<string, { suppressed: boolean }>> {
    const firing = new Map<string, { suppressed: boolean }>();
    for (const item of await this.listFromEveryPeer('list_alerts', '/api/v2/alerts')) {
      const parsed = alertSchema.safeParse(item);
      if (!parsed.success) continue;
      const { state, silencedBy = [], inhibitedBy = [] } = parsed.data.status ?? {};
      const suppressed = state === 'suppressed' || silencedBy.length > 0 || inhibitedBy.length > 0;
      // A peer that notifies of it (not suppressed there) sends its resolution too.
      firing.set(parsed.data.fingerprint, { suppressed: suppressed && (firing.get(parsed.data.fingerprint)?.suppressed ?? true) });
    }
    return firing;
  }

  /** Tries each peer in turn until one takes the write; rejects with the last refusal. */
  private async write<T>(attempt: (base: string) => Promise<T>): Promise<T> {
    let last: unknown;
    // The peer that took the last write first: a peer that hangs cost every write its timeout
    // (5 s a silence, 17 s for two) when the list was always tried in its own order.
    const first = this.lastWriter;
    const order = first === undefined ? this.options.urls : [first, ...this.options.urls.filter((base) => base !== first)];
    for (const base of order) {
      try {
        const result = await attempt(base);
        this.lastWriter = base;
        return result;
      } catch (error) {
        last = error;
      }
    }
    throw last instanceof Error ? last : new AlertmanagerError('no Alertmanager took the write', undefined);
  }

  private body(desired: DesiredSilence, startsAt: number, id?: string) {
    return {
      ...(id === undefined ? {} : { id }),
      matchers: desired.matchers.map(({ name, value, isRegex, isEqual }) => ({ name, value, isRegex, isEqual })),
      startsAt: iso(startsAt),
      endsAt: iso(desired.endsAt),
      createdBy: SILENCE_CREATED_BY,
      // Stamped with what is written, so that an edit by hand shows (editedByHand).
      comment: stampedComment(desired.comment, desired.matchers, desired.endsAt),
    };
  }

  /** Creates the silence; resolves with its id. */
  create(desired: DesiredSilence): Promise<string> {
    return this.write(
      async (base) => (await this.request('create', base, 'POST', '/api/v2/silences', this.body(desired, desired.startsAt), postSchema)).silenceID,
    );
  }

  /**
   * Updates silence `id` (its start kept: Alertmanager updates an active silence in place only
   * then; new matchers make it expire the old and answer a new id). A peer that has not heard of
   * the silence yet answers 404: the next peer is asked.
   */
  update(id: string, desired: DesiredSilence, startsAt: number): Promise<string> {
    return this.write(async (base) => (await this.request('update', base, 'POST', '/api/v2/silences', this.body(desired, startsAt, id), postSchema)).silenceID);
  }

  /**
   * Writes the note of the exporter's own expiry at `at` (Unix seconds) into `silence`'s comment,
   * all else as Alertmanager holds it (so that it updates the silence in place); resolves with the
   * id that now holds it (a new one, should Alertmanager have replaced it).
   */
  noteOwnExpiry(silence: ObservedSilence & { comment: string }, at: number): Promise<string> {
    const body = {
      id: silence.id,
      matchers: silence.matchers.map(({ name, value, isRegex, isEqual }) => ({ name, value, isRegex, isEqual })),
      startsAt: iso(silence.startsAt),
      endsAt: iso(silence.endsAt),
      createdBy: SILENCE_CREATED_BY,
      comment: withOwnExpiryNote(silence.comment, at),
    };
    return this.write(async (base) => (await this.request('update', base, 'POST', '/api/v2/silences', body, postSchema)).silenceID);
  }

  /** Expires silence `id` on peer `base` only: one that still holds it live while the cluster expired it. */
  async expireOn(base: string, id: string): Promise<void> {
    await this.request('expire', base, 'DELETE', `/api/v2/silence/${encodeURIComponent(id)}`);
  }

  /** Expires silence `id`. */
  async expire(id: string): Promise<void> {
    await this.write((base) => this.request('expire', base, 'DELETE', `/api/v2/silence/${encodeURIComponent(id)}`));
  }
}
