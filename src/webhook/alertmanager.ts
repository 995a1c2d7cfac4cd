import type { RequestHandler } from 'express';
import { Counter, type Registry, Gauge } from 'prom-client';
import { z } from 'zod';
import { matchesAll } from '../domain/alert-matchers.js';
import { MAX_COMPONENTS_PER_ALERT, componentKey, type ComponentRef, type StoredAlert } from '../domain/alert-state.js';
import { type AlertsDecision } from '../domain/alerts.js';
import type { DeclaredComponent, DeclaredPage } from '../domain/inventory.js';
import type { State } from '../domain/state.js';
import type { Logger } from '../logger.js';
import { ALERTMANAGER_NOTIFICATION_OUTCOMES, LABEL, METRIC, type AlertmanagerNotificationOutcome } from '../metrics/names.js';
import { fieldPath } from '../http/field-path.js';
import { StoreError } from '../store/store.js';
import { BodiesInFlightError, type BodyBudget, type BodyLease } from './body-budget.js';
import { BodyAbortedError, BodyTooLargeError, bodyText, isEncoded, readBody, transferCodingError, undecodedTransferCoding } from './body.js';
import { createTokenScopes } from './token-scope.js';
import { issueWords } from '../issue-words.js';

// POST /alertmanager: Alertmanager's webhook (payload version 4), on the webhook port. Each alert
// is mapped to components here, by this process's `alert_matchers`, and stored with them in the
// log (see src/domain/alerts.ts for why the appender decides); an alert that matches nothing is
// stored with no component, and the fold of its entry lets go of it where the log holds it, or
// counts it as unmatched. Alertmanager gets a 200 once the alerts are durable and folded, and a
// 503 when the store cannot take them, which it retries.

/** The variable that turns the endpoint on. */
export const TOKEN_VARIABLE = 'ALERTMANAGER_WEBHOOK_TOKEN';
/** A notification's body at most: Alertmanager sends every alert of a group (bound it with max_alerts). */
export const ALERTMANAGER_MAX_BODY_BYTES = 1024 * 1024;
/** Alerts in one notification at most. */
export const MAX_ALERTS_PER_NOTIFICATION = 1000;

/** Where the alerts go: the fold loop. */
export interface AlertSink {
  readonly state: State;
  alerts(alerts: readonly StoredAlert[]): Promise<AlertsDecision>;
}

export type AlertmanagerReceiverOptions = {
  /** ALERTMANAGER_WEBHOOK_TOKEN's tokens (comma-separated for rotation); empty: the endpoint answers 404. */
  tokens: readonly string[];
};

export type AlertmanagerReceiverDeps = {
  sink: AlertSink;
  logger: Logger;
  registry: Registry;
  /** The declared pages in force, read per request so that a reload applies to the next one. */
  pages: () => readonly DeclaredPage[];
  /** The request bodies held at once, shared with POST /webhook. */
  bodies: BodyBudget;
};

const labels = z.record(z.string().min(1).max(256), z.string().max(4096)).refine((value) => Object.keys(value).length <= 128, { error: 'at most 128 labels' });

const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  startsAt: z.string().max(64),
  endsAt: z.string().max(64).optional(),
  fingerprint: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[0-9A-Za-z]+$/, { error: 'must be letters and digits' }),
});

const payloadSchema = z.object({
  version: z.literal('4', { error: 'must be "4" (Alertmanager webhook payload version 4)' }),
  truncatedAlerts: z.number().int().min(0).optional(),
  alerts: z
    .array(alertSchema)
    .max(MAX_ALERTS_PER_NOTIFICATION, { error: `at most ${MAX_ALERTS_PER_NOTIFICATION} alerts: set max_alerts in the webhook config` }),
});

/** Unix seconds of an Alertmanager time; null for Go's zero time (an unset endsAt) or garbage. */
function seconds(text: string | undefined): number | null {
  if (text === undefined) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && ms > 0 ? ms / 1000 : null;
}

type MatcherComponent = { statusPage: string; component: DeclaredComponent };

/** The components that have matchers, sorted by page and uuid, per declared pages object. */
const withMatchers = new WeakMap<readonly DeclaredPage[], MatcherComponent[]>();
function matcherComponents(pages: readonly DeclaredPage[]): MatcherComponent[] {
  let list = withMatchers.get(pages);
  if (!list) {
    list = [];
    for (const page of pages) {
      for (const component of page.components) if ((component.alertMatchers?.length ?? 0) > 0) list.push({ statusPage: page.id, component });
    }
    list.sort((a, b) => (componentKey(a.statusPage, a.component.uuid) < componentKey(b.statusPage, b.component.uuid) ? -1 : 1));
    withMatchers.set(pages, list);
  }
  return list;
}

type Answer = { status: number; body: Record<string, unknown>; outcome: AlertmanagerNotificationOutcome; retryAfterSeconds?: number };

const refused = (status: number, outcome: AlertmanagerNotificationOutcome, error: string, issues: { path: string; message: string }[] = []): Answer => ({
  status,
  body: { error, issues },
  outcome,
});

/** The handler of POST /alertmanager, with its counters registered in `deps.registry`. */
export function alertmanagerReceiver(deps: AlertmanagerReceiverDeps, options: AlertmanagerReceiverOptions): RequestHandler {
  const registers = [deps.registry];
  const notifications = new Counter({
    name: METRIC.alertmanagerNotifications,
    help: 'Notifications received on POST /alertmanager, by outcome.',
    labelNames: [LABEL.outcome],
    registers,
  });
  for (const outcome of ALERTMANAGER_NOTIFICATION_OUTCOMES) notifications.inc({ [LABEL.outcome]: outcome }, 0);
  const unmatched = new Counter({
    name: METRIC.alertmanagerAlertsUnmatched,
    help: 'Alerts received on POST /alertmanager that match no component alert_matchers and let go of no alert held.',
    registers,
  });
  const matchers: Gauge = new Gauge({
    name: METRIC.componentAlertMatchers,
    help: 'One series per declared component with alert_matchers, valued their number: the components whose alerts are measured.',
    labelNames: [LABEL.statusPage, LABEL.componentUuid, LABEL.component],
    registers,
    collect: () => {
      matchers.reset();
      for (const { statusPage, component } of matcherComponents(deps.pages())) {
        matchers.set(
          { [LABEL.statusPage]: statusPage, [LABEL.componentUuid]: component.uuid, [LABEL.component]: component.name },
          component.alertMatchers?.length ?? 0,
        );
      }
    },
  });
  const tokens = createTokenScopes(options.tokens, new Map());

  const handle = async (req: Parameters<RequestHandler>[0], lease: BodyLease): Promise<Answer> => {
    if (!tokens.required) {
      return {
        status: 404,
        body: { error: `POST /alertmanager is off: set ${TOKEN_VARIABLE} to receive Alertmanager's webhook`, variable: TOKEN_VARIABLE, issues: [] },
        outcome: 'disabled',
      };
    }
    const bearer = /^Bearer\s+(\S.*)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1]?.trim();
    if (bearer === undefined) {
      return refused(
        401,
        'unauthorized',
        `no bearer token: configure the webhook receiver with http_config.authorization (type Bearer, the ${TOKEN_VARIABLE} token)`,
      );
    }
    if (tokens.scopeOf(bearer) === undefined) return refused(401, 'unauthorized', 'wrong token');
    if (isEncoded(req.headers['content-encoding'])) {
      return refused(415, 'invalid', 'unsupported Content-Encoding: Alertmanager sends none', [
        { path: 'headers.content-encoding', message: 'must be absent' },
      ]);
    }
    const transferCoding = undecodedTransferCoding(req.headers['transfer-encoding']);
    if (transferCoding !== undefined) {
      return refused(415, 'invalid', transferCodingError(transferCoding), [{ path: 'headers.transfer-encoding', message: 'must be chunked or absent' }]);
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, ALERTMANAGER_MAX_BODY_BYTES, lease);
    } catch (error) {
      // Alertmanager retries a 5xx. The body's rest is read and dropped by Node, not kept.
      if (error instanceof BodiesInFlightError) return { ...refused(503, 'busy', `${error.message}: retry`), retryAfterSeconds: 1 };
      if (error instanceof BodyTooLargeError) {
        return refused(413, 'too_large', `body larger than ${ALERTMANAGER_MAX_BODY_BYTES} bytes: set max_alerts in the webhook config`);
      }
      if (error instanceof BodyAbortedError) return refused(400, 'invalid', 'request body was not received whole');
      throw error;
    }
    const text = bodyText(raw);
    if (text === undefined) return refused(400, 'invalid', 'body is not valid UTF-8', [{ path: 'body', message: 'not valid UTF-8' }]);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return refused(400, 'invalid', 'body is not valid JSON', [{ path: 'body', message: 'not valid JSON' }]);
    }
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 10).map((issue) => ({ path: fieldPath(issue.path), message: issueWords(issue) }));
      const first = issues[0];
      return refused(400, 'invalid', `not an Alertmanager webhook payload: ${first ? `${first.path}: ${first.message}` : 'invalid'}`, issues);
    }

    const components = matcherComponents(deps.pages());
    const stored: StoredAlert[] = parsed.data.alerts.map((alert) => {
      const refs: ComponentRef[] = [];
      for (const { statusPage, component } of components) {
        if (refs.length >= MAX_COMPONENTS_PER_ALERT) break;
        if (matchesAll(component.alertMatchers ?? [], alert.labels)) refs.push([statusPage, component.uuid]);
      }
      // One that matches nothing is stored all the same: whether the log holds it (its matchers
      // changed, and this is its resolution) is the fold's to say, at the entry. This process's
      // state may not have folded yet the entry that made the log hold it.
      return {
        fingerprint: alert.fingerprint,
        status: alert.status,
        startsAt: seconds(alert.startsAt),
        endsAt: alert.status === 'resolved' ? seconds(alert.endsAt) : null,
        components: refs,
      };
    });
    const truncated = parsed.data.truncatedAlerts ?? 0;
    if (truncated > 0) {
      // The alerts left out are not refreshed: they expire after a day although they fire.
      deps.logger.warn({ truncated_alerts: truncated }, 'Alertmanager truncated a notification: raise max_alerts in its webhook config');
    }
    if (stored.length === 0) {
      return { status: 200, body: { status: 'unmatched', alerts: 0, stored: 0, unmatched: 0, truncated }, outcome: 'unmatched' };
    }
    const decision = await deps.sink.alerts(stored);
    unmatched.inc(decision.unmatched);
    const kept = stored.length - decision.unmatched;
    if (kept === 0) {
      return {
        status: 200,
        body: { status: 'unmatched', alerts: stored.length, stored: 0, unmatched: decision.unmatched, truncated },
        outcome: 'unmatched',
      };
    }
    return {
      status: 200,
      body: { status: 'stored', alerts: stored.length, stored: kept, unmatched: decision.unmatched, refused: decision.refused, truncated },
      outcome: 'stored',
    };
  };

  return (req, res) => {
    const lease = deps.bodies.lease();
    handle(req, lease)
      .catch((error: unknown): Answer => {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof StoreError) {
          deps.logger.warn({ err: message }, 'alerts from Alertmanager not stored; answered 503 so that it retries');
          return refused(503, 'error', message);
        }
        // No stack in the log: the message says what failed.
        deps.logger.error({ err: message }, 'alerts from Alertmanager could not be taken');
        return refused(500, 'error', 'internal error');
      })
      .then((answer) => {
        lease.release();
        notifications.inc({ [LABEL.outcome]: answer.outcome });
        if (answer.status === 401) res.set('WWW-Authenticate', 'Bearer');
        if (answer.retryAfterSeconds !== undefined) res.set('Retry-After', String(answer.retryAfterSeconds));
        // The request's line says what became of it, as POST /webhook's does, and why it was
        // refused: Alertmanager drops a notification answered 4xx for good, and its own log is not
        // where the exporter's operator looks. (The messages name no token.)
        res.locals['logFields'] = { outcome: answer.outcome, ...(answer.status >= 400 && 'error' in answer.body ? { error: answer.body.error } : {}) };
        res.status(answer.status).json(answer.body);
      })
      .catch(() => res.destroy());
  };
}
