import { z } from 'zod';
import { isEventType, type AffectedComponent, type EventType, type StatusMateEvent } from '../domain/event.js';
import { IMPACT_PATTERN, internImpact } from '../domain/impact.js';
import { cutLabel } from '../domain/labels.js';
import { fieldPath } from '../http/field-path.js';
import { issueWords } from '../issue-words.js';

// StatusMate's documentation shows the type-specific fields directly under `meta` in its
// per-type examples, but its general example has a `meta.payload` object. We accept both:
// fields under `meta.payload` are read, then fields directly under `meta` override them.

export type Problem = { path: string; message: string };

export type ParseResult =
  | { kind: 'event'; event: StatusMateEvent }
  | { kind: 'unsupported'; type: string }
  | { kind: 'invalid'; type: EventType | undefined; error: string; issues: Problem[] };

/** What routes a webhook. The rest of `meta` is validated by the schema of its type, below. */
const envelopeSchema = z.object({
  text: z.string().nullish(),
  meta: z.object({
    type: z.string().min(1),
    payload: z.record(z.string(), z.unknown()).nullish(),
  }),
});

const id = z.guid({ error: 'must be a UUID' });
/**
 * Validated here and turned into Unix seconds (seconds()) once the whole body passed: a zod
 * transform is a pipe, which costs a webhook a payload object and a check of its issues per
 * date-time, for the same result.
 */
const timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, like 2023-05-19T18:43:00+03:00' });
/** A timestamp's Unix seconds, or null when none was sent. */
const seconds = (value: string | null | undefined): number | null => (value === undefined || value === null ? null : Date.parse(value) / 1000);
const impact = z.string().regex(IMPACT_PATTERN, { error: `must be an impact like "major_outage" (${IMPACT_PATTERN})` });
const optionalText = z.string().nullish();
/**
 * A title or name as sent, or null when it says nothing: an empty (or blank) `meta.title` or
 * component name would otherwise become an empty label and start the component's series over,
 * where an absent one keeps the name known. The next place is read instead (`text`, the uuid).
 */
const given = (value: string | null | undefined): string | null => (value === undefined || value === null || value.trim() === '' ? null : wellFormed(value));

/** Half a surrogate pair, which JSON may escape (`"\ud800"`) but which is no Unicode text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The text with each lone surrogate as U+FFFD, as /metrics writes it (UTF-8 has no bytes for one).
 * Kept as sent, it reached /api/v1/state and /api/v1/availability as `"\ud800"`, which jq refuses
 * (the whole answer) and Python cannot print: every consumer now sees the name /metrics shows.
 */
const wellFormed = (value: string): string => (/[\ud800-\udfff]/.test(value) ? value.replace(LONE_SURROGATE, '\ufffd') : value);
/**
 * A status_page as sent; an empty one counts as absent (sentPage()), so the query parameter or the
 * default applies. Read after validation rather than by a zod preprocess, a pipe, for the cost
 * given for timestamp above.
 */
const statusPage = z.string().nullish();
const sentPage = (value: string | null | undefined): string | null => (value === undefined || value === null || value === '' ? null : value);

const common = {
  uuid: id,
  title: optionalText,
  created_at: timestamp.nullish(),
  delivery_attempt: z.number().int().min(0).nullish(),
  status_page: statusPage,
};

const affectedComponent = z.object({
  impact: impact.nullish(),
  component_details: z.object({
    name: optionalText,
    impact: impact.nullish(),
    component_uuid: id,
  }),
});

const lifecycleSchema = z.object({
  ...common,
  start_at: timestamp.nullish(),
  end_at: timestamp.nullish(),
  affected_components: z.array(affectedComponent).nullish(),
});

/** An incident sets its components' impacts, so each of them must say which. */
const incidentCreatedSchema = lifecycleSchema.superRefine((value, ctx) => {
  value.affected_components?.forEach((entry, index) => {
    if (entry.component_details.impact == null && entry.impact == null) {
      ctx.addIssue({
        code: 'custom',
        path: ['affected_components', index, 'component_details', 'impact'],
        message: 'an incident must give each affected component an impact',
      });
    }
  });
});

const componentSchema = z.object({ ...common, impact });

/** Each issue named by its field's path in the body (see fieldPath), under `prefix` when given. */
function problems(error: z.ZodError, prefix?: string): Problem[] {
  return error.issues.map((issue) => ({ path: fieldPath(prefix === undefined ? issue.path : [prefix, ...issue.path]), message: issueWords(issue) }));
}

function invalid(type: EventType | undefined, issues: Problem[]): ParseResult {
  const first = issues[0];
  const error = first ? `invalid webhook: ${first.path}: ${first.message}` : 'invalid webhook';
  return { kind: 'invalid', type, error, issues };
}

/** An impact as the state keeps it: one string per impact, not a copy per body (internImpact). */
const nullableImpact = (impact: string | null | undefined): string | null => (impact == null ? null : internImpact(impact));

/** The affected components as the reducer sees them; uuids lower-cased, as everywhere. */
function affected(entries: z.infer<typeof affectedComponent>[] | null | undefined): AffectedComponent[] {
  if (!entries) return [];
  return entries.map((entry) => ({
    uuid: entry.component_details.component_uuid.toLowerCase(),
    name: given(entry.component_details.name),
    impact: nullableImpact(entry.component_details.impact ?? entry.impact),
  }));
}

/**
 * Names an event's status page from the `meta.status_page` it sent (null when none) and the uuids
 * (lower-cased) of the components it names: see placeEvent.
 */
export type StatusPageOf = (sent: string | null, components: readonly string[]) => string;

/**
 * Validates a parsed JSON body and normalises it into the reducer's event. `statusPage` names the
 * page: a function of the sent `meta.status_page`, or a plain name used when the body has none.
 */
export function parseWebhook(body: unknown, statusPage: string | StatusPageOf): ParseResult {
  const pageOf: StatusPageOf = typeof statusPage === 'string' ? (sent) => cutLabel(sent ?? statusPage) : statusPage;
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return invalid(undefined, problems(envelope.error));
  const { text, meta } = envelope.data;
  if (!isEventType(meta.type)) return { kind: 'unsupported', type: meta.type };
  const type = meta.type;

  // The envelope's output holds only type and payload; the type's schema reads the body's own
  // meta (an object: the envelope checked it), merged over the payload when there is one.
  const sentMeta = (body as { meta: Record<string, unknown> }).meta;
  let fields = sentMeta;
  if (meta.payload) {
    // The body's own payload, not zod's copy of it. A null prototype, so that a key `__proto__`
    // (JSON.parse makes it an ordinary own key) stays an ordinary key here too: on a plain object
    // its assignment would set the prototype, and uuid, impact or status_page would be read from it.
    const payload = sentMeta.payload as Record<string, unknown>;
    fields = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(payload)) fields[key] = payload[key];
    for (const key of Object.keys(sentMeta)) {
      const value = sentMeta[key];
      if (key !== 'payload' && value !== undefined) fields[key] = value;
    }
  }

  // The events are built field by field (no spreads): this runs for every webhook.
  if (type === 'component_impact_updated') {
    const parsed = componentSchema.safeParse(fields);
    if (!parsed.success) return invalid(type, problems(parsed.error, 'meta'));
    const value = parsed.data;
    return {
      kind: 'event',
      event: {
        type,
        statusPage: pageOf(sentPage(value.status_page), [value.uuid.toLowerCase()]),
        uuid: value.uuid.toLowerCase(),
        createdAt: seconds(value.created_at),
        deliveryAttempt: value.delivery_attempt ?? null,
        name: given(value.title) ?? given(text),
        impact: internImpact(value.impact),
      },
    };
  }

  const schema = type === 'incident_created' ? incidentCreatedSchema : lifecycleSchema;
  const parsed = schema.safeParse(fields);
  if (!parsed.success) return invalid(type, problems(parsed.error, 'meta'));
  const value = parsed.data;
  const components = affected(value.affected_components);
  const event: StatusMateEvent = {
    type,
    statusPage: pageOf(
      sentPage(value.status_page),
      components.map((component) => component.uuid),
    ),
    uuid: value.uuid.toLowerCase(),
    createdAt: seconds(value.created_at),
    deliveryAttempt: value.delivery_attempt ?? null,
    title: given(value.title) ?? given(text),
    startAt: seconds(value.start_at),
    endAt: seconds(value.end_at),
    components,
  };
  return { kind: 'event', event };
}
