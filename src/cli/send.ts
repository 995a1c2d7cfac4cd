import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../domain/event.js';
import { KNOWN_IMPACTS } from '../domain/impact.js';
import { answered, attemptsSchema, DEFAULT_RETRY, deliver, FINAL_STATUS_TEXT, retryLine, webhookUrl } from './deliver.js';
import { flagsError, meantOf, parseFlags, UsageError, type Io } from './io.js';
import { TOKEN_FILE_USAGE, tokenOf, WEBHOOK_URL_TOKEN_USAGE } from './token.js';

export const SEND_USAGE = `statusmate-exporter send --url URL [--token T | --token-file F] --type TYPE [options]
  ${WEBHOOK_URL_TOKEN_USAGE}
  ${TOKEN_FILE_USAGE}
  --type            one of ${EVENT_TYPES.join(', ')}
  --component UUID  a component (repeat for several); the one component of component_impact_updated
  --impact IMPACT   ${KNOWN_IMPACTS.join(', ')}
                    (default: major_outage for incidents, under_maintenance for maintenances)
  --incident UUID   the incident (incident_*; made up for incident_created when absent)
  --maintenance UUID the maintenance (maintenance_*; made up for maintenance_created when absent)
  --title TEXT      title of the incident or maintenance, name of the component (without it, a
                    follow-up of an existing one keeps the title, name and start the exporter knows)
  --status-page ID  meta.status_page of the event
  --attempts N      tries in all before giving up (default ${DEFAULT_RETRY.attempts}); never retried:
                    HTTP ${FINAL_STATUS_TEXT}, which the same request gets again`;

const uuid = z.guid({ error: 'must be a UUID' });
const optionsSchema = z.object({
  url: z.string({ error: 'is required' }).min(1),
  token: z.string().optional(),
  'token-file': z.string().min(1).optional(),
  type: z.enum(EVENT_TYPES, {
    error: (issue) => {
      const meant = typeof issue.input === 'string' ? meantOf(issue.input, EVENT_TYPES) : undefined;
      return meant === undefined ? `must be one of ${EVENT_TYPES.join(', ')}` : `did you mean ${meant}? (one of ${EVENT_TYPES.join(', ')})`;
    },
  }),
  component: z.array(uuid).default([]),
  // The exporter keeps an impact it does not know (StatusMate may add some), but a test event's
  // unknown impact is a typo: sent, it set the component to it and exited 0.
  impact: z.enum(KNOWN_IMPACTS, { error: `must be one of ${KNOWN_IMPACTS.join(', ')}` }).optional(),
  incident: uuid.optional(),
  maintenance: uuid.optional(),
  title: z.string().min(1).optional(),
  'status-page': z.string().min(1).optional(),
  attempts: attemptsSchema.default(DEFAULT_RETRY.attempts),
});
type SendOptions = z.infer<typeof optionsSchema>;

/** The StatusMate body that the flags describe, shaped as the seed's per-type examples. */
export function buildEvent(options: SendOptions, now: Date = new Date()): Record<string, unknown> {
  const type: EventType = options.type;
  const createdAt = now.toISOString();
  const common = { type, created_at: createdAt, delivery_attempt: 0, ...(options['status-page'] ? { status_page: options['status-page'] } : {}) };
  if (type === 'component_impact_updated') {
    const [component, ...more] = options.component;
    if (component === undefined || more.length > 0) throw new UsageError('component_impact_updated needs exactly one --component');
    if (options.impact === undefined) throw new UsageError('component_impact_updated needs --impact');
    // Without --title no name is sent (null): the exporter keeps the one it knows, or names the
    // component by its uuid, rather than renaming it "Component" (a new series).
    const title = options.title ?? null;
    return { text: title, meta: { ...common, title, uuid: component, impact: options.impact } };
  }
  const incident = type === 'incident_created' || type === 'incident_finished';
  const id = incident ? options.incident : options.maintenance;
  const flag = incident ? '--incident' : '--maintenance';
  if (id === undefined && type !== 'incident_created' && type !== 'maintenance_created')
    throw new UsageError(`${type} needs ${flag} UUID (the one given when it was created)`);
  const impact = options.impact ?? (incident ? 'major_outage' : 'under_maintenance');
  const created = type === 'incident_created' || type === 'maintenance_created';
  // A follow-up of an existing incident or maintenance sends what the flags say and null for what
  // only the real object knows (its title without --title, its start): null keeps the exporter's
  // record. A made-up start of now finished a two-hour incident as lasting 0 s, and renamed it.
  const title = options.title ?? (created ? (incident ? 'Test incident' : 'Test maintenance') : null);
  const hour = 3600 * 1000;
  // A made-up maintenance is scheduled an hour from now, for an hour.
  const scheduled = { start: new Date(now.getTime() + hour), end: new Date(now.getTime() + 2 * hour) };
  const startAt = type === 'maintenance_created' ? scheduled.start : type === 'incident_created' ? now : null;
  return {
    text: title,
    meta: {
      ...common,
      title,
      uuid: id ?? randomUUID(),
      start_at: startAt === null ? null : startAt.toISOString(),
      end_at: type === 'incident_finished' || type === 'maintenance_finished' ? createdAt : type === 'maintenance_created' ? scheduled.end.toISOString() : null,
      affected_components: options.component.map((component) => ({ impact, component_details: { name: null, impact, component_uuid: component } })),
    },
  };
}

export function parseSendOptions(args: string[]): SendOptions {
  const { values } = parseFlags({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      type: { type: 'string' },
      component: { type: 'string', multiple: true },
      impact: { type: 'string' },
      incident: { type: 'string' },
      maintenance: { type: 'string' },
      title: { type: 'string' },
      'status-page': { type: 'string' },
      attempts: { type: 'string' },
    },
  });
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) {
    throw flagsError(parsed.error, values);
  }
  return { ...parsed.data, token: tokenOf(parsed.data) };
}

/** `send`: one event from flags. Exit code 0 once the exporter answered 200, 1 when it never did. */
export async function send(args: string[], io: Io): Promise<number> {
  const options = parseSendOptions(args);
  const url = webhookUrl(options.url);
  const body = buildEvent(options);
  const meta = body.meta as { uuid: string; type: string };
  const result = await deliver(url, options.token, body, { attempts: options.attempts, baseDelayMs: DEFAULT_RETRY.baseDelayMs }, (notice) =>
    io.err(retryLine(`${meta.type} ${meta.uuid}`, notice)),
  );
  if (answered(result)) {
    io.out(`${meta.type} ${meta.uuid}: ${result.outcome} (HTTP 200 after ${result.attempts} attempt(s)) ${result.detail}`);
    return 0;
  }
  io.err(
    `${meta.type} ${meta.uuid}: ${result.outcome} after ${result.attempts} attempt(s)${result.final ? ' (not retried: the same request gets the same answer)' : ''}: ${result.status === null ? '' : `HTTP ${result.status} `}${result.detail}`,
  );
  return 1;
}
