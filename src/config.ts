import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_WEIGHTS, weightsEnvSchema, type AvailabilityPolicy } from './domain/availability.js';
import { pageNameProblem } from './domain/labels.js';
import { DEFAULT_LIMITS, type Limits } from './domain/reducer.js';
import { editDistance } from './edit-distance.js';
import { issueWords } from './issue-words.js';
import { BODIES_IN_FLIGHT_BYTES } from './webhook/body-budget.js';
import { UNUSABLE_TOKEN, unusableToken } from './webhook/token-scope.js';

/** The stores STORE names. */
export const STORE_NAMES = ['sqlite', 'memory', 'redis'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const MAX_BODY_BYTES_CEILING = BODIES_IN_FLIGHT_BYTES / 4;

/** An empty variable counts as unset: Helm charts and compose files often render `FOO=""`. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const tokenList = z
  .string()
  .transform((raw) =>
    raw
      .split(',')
      .map((token) => token.trim())
      .filter((token) => token.length > 0),
  )
  // "," or " " is a mistake (an empty secret rendered into a list), not a wish to run without a
  // token: that is what leaving the variable unset or empty says.
  .refine((tokens) => tokens.length > 0, { error: 'holds no token (only commas or blanks); leave it unset to accept webhooks without a token' })
  .refine((tokens) => tokens.every((token) => unusableToken(token) === undefined), { error: `a token ${UNUSABLE_TOKEN}` });

/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
/** An address to listen on. Whether a host name resolves to an address of this machine shows only at listen time. */
const host = z.string().refine((value) => isIP(value) !== 0 || HOSTNAME.test(value), {
  error: 'must be an IP address (like 0.0.0.0 or ::) or a host name',
});

/** ALLOWED_HOSTS: comma-separated names (or addresses) a Host header may carry, without ports. */
const hostList = z
  .string()
  .transform((raw) =>
    raw
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name.length > 0),
  )
  .pipe(
    z
      .array(z.string().refine((value) => isIP(value) !== 0 || HOSTNAME.test(value), { error: 'must list host names or IP addresses, without ports' }))
      .min(1, { error: 'holds no host name; leave it unset to answer any Host' }),
  );

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return false;
    if (url.hostname === '') return false;
    // The client decodes user and password (decodeURIComponent): a `%` not followed by two hex
    // digits would make it throw at connect, past this check, with a stack trace and exit 1.
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    const db = url.pathname.replace(/^\//, '');
    return db === '' || /^\d{1,2}$/.test(db);
  } catch {
    return false;
  }
}

/**
 * ALERTMANAGER_URL: comma-separated http:// or https:// base URLs of one Alertmanager cluster's
 * peers (a path prefix is kept), without credentials: those come from their own variables, so
 * that no URL in a log line or an error carries them.
 */
const alertmanagerUrls = z
  .string()
  .transform((raw) =>
    raw
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url.length > 0),
  )
  .pipe(
    z
      .array(
        z
          .string()
          .refine(
            (value) => {
              try {
                const url = new URL(value);
                return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.search === '' && url.hash === '';
              } catch {
                return false;
              }
            },
            { error: 'must list http:// or https:// URLs (like http://alertmanager:9093), without query or fragment' },
          )
          .refine(
            (value) => {
              const url = new URL(value);
              return url.username === '' && url.password === '';
            },
            { error: 'must not hold credentials: set ALERTMANAGER_USERNAME and ALERTMANAGER_PASSWORD, or ALERTMANAGER_BEARER_TOKEN' },
          )
          .transform((value) => value.replace(/\/+$/, '')),
      )
      .min(1, { error: 'holds no URL; leave it unset to manage no silences' }),
  );

const envSchema = z.object({
  HOST: optional(host).transform((value) => value ?? '0.0.0.0'),
  PORT: optional(port).transform((value) => value ?? 9877),
  METRICS_PORT: optional(port),
  ALLOWED_HOSTS: optional(hostList).transform((value) => value ?? []),
  WEBHOOK_TOKEN: optional(tokenList).transform((value) => value ?? []),
  // POST /alertmanager's bearer tokens (comma-separated for rotation); unset: the endpoint answers 404.
  ALERTMANAGER_WEBHOOK_TOKEN: optional(tokenList).transform((value) => value ?? []),
  STORE: optional(z.enum(STORE_NAMES)).transform((value) => value ?? 'sqlite'),
  // The URL may hold a password: messages name the variable, never echo its value.
  REDIS_URL: optional(
    z.string().refine((value) => isRedisUrl(value), {
      error: 'must be a redis:// or rediss:// URL (redis://[user:password@]host[:port][/db]; percent-encode @ : / % # in the user and password)',
    }),
  ),
  REDIS_KEY_PREFIX: optional(
    z
      .string()
      .min(1)
      .max(100)
      .regex(/^[^\s]+$/, 'must not contain whitespace'),
  ).transform((value) => value ?? 'statusmate:'),
  REDIS_WAIT_REPLICAS: optional(z.coerce.number().int().min(0).max(16)).transform((value) => value ?? 0),
  // The chart sets it to <namespace>/<release>; printable, as it is quoted in a log line.
  REDIS_LOG_OWNER: optional(
    z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  ),
  // How long a replica that finds no Redis log waits before starting one (NEW_LOG_WAIT_MS in store/redis.ts).
  REDIS_NEW_LOG_WAIT_SECONDS: optional(z.coerce.number().min(0).max(600)).transform((value) => value ?? 5),
  SQLITE_PATH: optional(z.string()).transform((value) => value ?? './data/statusmate-exporter.db'),
  SQLITE_SYNCHRONOUS: optional(z.enum(['normal', 'full'])).transform((value) => value ?? 'normal'),
  LOG_LEVEL: optional(z.enum(LOG_LEVELS)).transform((value) => value ?? 'info'),
  DEFAULT_STATUS_PAGE: optional(
    z
      .string()
      .max(200)
      .superRefine((value, ctx) => {
        const problem = pageNameProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
  ).transform((value) => value ?? 'default'),
  // A body must fit, with room for others, in the bytes of bodies the process holds at once
  // (BODIES_IN_FLIGHT_BYTES): a quarter of them at most.
  MAX_BODY_BYTES: optional(
    positiveInt.max(MAX_BODY_BYTES_CEILING, { error: `must be at most ${MAX_BODY_BYTES_CEILING} (8 MiB); a StatusMate webhook is a few KB` }),
  ).transform((value) => value ?? 262144),
  MAX_CONNECTIONS: optional(positiveInt).transform((value) => value ?? 1000),
  MAX_COMPONENTS: optional(positiveInt).transform((value) => value ?? 10000),
  MAX_ACTIVE_INCIDENTS: optional(positiveInt).transform((value) => value ?? 1000),
  MAX_ACTIVE_MAINTENANCES: optional(positiveInt).transform((value) => value ?? 1000),
  MAX_STATUS_PAGES: optional(positiveInt).transform((value) => value ?? 100),
  // Trusted ahead of receipt, a created_at orders what follows: an update stamped a year ahead would
  // make every true update of its component stale for that year. A day is past any clock StatusMate
  // keeps, and bounds what one such event can freeze.
  MAX_CLOCK_SKEW_SECONDS: optional(z.coerce.number().int().min(0).max(86_400)).transform((value) => value ?? 300),
  MAX_HOLDINGS: optional(positiveInt).transform((value) => value ?? DEFAULT_LIMITS.maxHoldings),
  MAX_RETAINED_FINISHED: optional(positiveInt).transform((value) => value ?? DEFAULT_LIMITS.maxRetainedFinished),
  MAX_DEDUP_RECORDS: optional(positiveInt).transform((value) => value ?? DEFAULT_LIMITS.maxDedupRecords),
  FINISHED_RETENTION_SECONDS: optional(positiveInt).transform((value) => value ?? 7 * 24 * 3600),
  LEDGER_RETENTION_DAYS: optional(positiveInt).transform((value) => value ?? DEFAULT_LIMITS.ledgerRetentionDays),
  LEDGER_MAX_DAY_ROWS: optional(positiveInt).transform((value) => value ?? DEFAULT_LIMITS.ledgerMaxDayRows),
  // The availability API's accounting policy (docs/api.md): impact=weight pairs, and whether maintenance leaves the period.
  AVAILABILITY_WEIGHTS: optional(weightsEnvSchema).transform((value) => value ?? DEFAULT_WEIGHTS),
  AVAILABILITY_EXCLUDE_MAINTENANCE: optional(z.enum(['true', 'false'], { error: 'must be "true" or "false"' })).transform((value) => value !== 'false'),
  SHUTDOWN_TIMEOUT_SECONDS: optional(positiveInt).transform((value) => value ?? 10),
  BUILD_REVISION: optional(z.string()).transform((value) => value ?? 'unknown'),
  STATUS_PAGES_FILE: optional(z.string().min(1)),
  // With STATUS_PAGES_FILE: take events for pages the file does not declare (learn them), rather than refuse them 422.
  LEARN_STATUS_PAGES: optional(z.enum(['true', 'false'], { error: 'must be "true" or "false"' })).transform((value) => value === 'true'),
  // Seconds between two looks at STATUS_PAGES_FILE for a change (a ConfigMap update swaps the
  // mounted file without a signal); 0 turns the watch off, leaving SIGHUP and /-/reload.
  STATUS_PAGES_WATCH_SECONDS: optional(z.coerce.number().min(0).max(3600)).transform((value) => value ?? 5),
  // Maintenances drive Alertmanager silences (src/alertmanager/): on when ALERTMANAGER_URL is set.
  ALERTMANAGER_URL: optional(alertmanagerUrls),
  ALERTMANAGER_USERNAME: optional(z.string()),
  ALERTMANAGER_PASSWORD: optional(z.string()),
  ALERTMANAGER_BEARER_TOKEN: optional(z.string()),
  MAINTENANCE_SILENCE_MARGIN_SECONDS: optional(
    z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600),
  ).transform((value) => value ?? 900),
  MAINTENANCE_SILENCE_FROM: optional(z.enum(['started', 'scheduled'], { error: 'must be "started" or "scheduled"' })).transform((value) => value ?? 'started'),
  // Seconds between two looks at Alertmanager's alerts, with ALERTMANAGER_URL and the receiver
  // both on: held alerts it no longer has resolved under a silence (src/alertmanager/held-alerts.ts).
  // 0 turns the look off (the receiver fed by another Alertmanager than ALERTMANAGER_URL's).
  ALERTMANAGER_ALERTS_CHECK_SECONDS: optional(z.coerce.number().int().min(0).max(3600)).transform((value) => value ?? 60),
});

/** How the exporter authenticates to Alertmanager; holds secrets, so it is never logged. */
export type AlertmanagerAuth = { kind: 'none' } | { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };

export type AlertmanagerConfig = {
  /** Base URLs of the peers of one Alertmanager cluster. */
  urls: string[];
  auth: AlertmanagerAuth;
  /** MAINTENANCE_SILENCE_MARGIN_SECONDS. */
  marginSeconds: number;
  /** MAINTENANCE_SILENCE_FROM. */
  from: 'started' | 'scheduled';
  /** ALERTMANAGER_ALERTS_CHECK_SECONDS. */
  alertsCheckSeconds: number;
};

export type Config = {
  host: string;
  port: number;
  /** When set, `/metrics` is served only on this port, so the webhook port can face the internet. */
  metricsPort: number | undefined;
  /** When not empty, requests (but probes) whose Host names none of these are answered 421: DNS rebinding reaches nothing. */
  allowedHosts: string[];
  webhookTokens: string[];
  /** ALERTMANAGER_WEBHOOK_TOKEN: POST /alertmanager's bearer tokens; empty: the endpoint is off (404). */
  alertmanagerWebhookTokens: string[];
  store: StoreName;
  sqlitePath: string;
  /** With STORE=redis; holds credentials, so it is never logged. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key; wrapped in a hash tag (see redisKeys) so all keys share one Cluster slot. */
  redisKeyPrefix: string;
  /** When above 0, a webhook is answered 200 only once this many Redis replicas acknowledged it (WAIT). */
  redisWaitReplicas: number;
  /** REDIS_LOG_OWNER: the install the shared log belongs to; a log another install owns is refused. */
  redisLogOwner: string | undefined;
  /** REDIS_NEW_LOG_WAIT_SECONDS: how long a replica that finds no Redis log waits before starting one. */
  redisNewLogWaitSeconds: number;
  sqliteSynchronous: 'normal' | 'full';
  logLevel: (typeof LOG_LEVELS)[number];
  defaultStatusPage: string;
  maxBodyBytes: number;
  /** Open connections the webhook port takes at most (lowered at start to fit the open-file limit). */
  maxConnections: number;
  maxComponents: number;
  maxActiveIncidents: number;
  maxActiveMaintenances: number;
  maxStatusPages: number;
  /** How far ahead of receipt a created_at is still trusted for ordering. */
  maxClockSkewSeconds: number;
  /** Component entries of unfinished incidents and maintenances: past it, an event is refused. */
  maxHoldings: number;
  /** Finished incidents and maintenances kept for retention, each weighing 1 + its components: past it, the oldest are forgotten. */
  maxRetainedFinished: number;
  /** Dedup records: past it, the oldest are forgotten. */
  maxDedupRecords: number;
  /** Days of the availability ledger kept. */
  ledgerRetentionDays: number;
  /** Day rows of the ledger kept at most (24 bytes each); past it, the oldest days are forgotten. */
  ledgerMaxDayRows: number;
  /** How the availability API counts time (per page, the status pages file may change it). */
  availabilityPolicy: AvailabilityPolicy;
  finishedRetentionSeconds: number;
  shutdownTimeoutSeconds: number;
  buildRevision: string;
  /** The declared status pages and components (YAML or JSON); read at start-up and on reload. */
  statusPagesFile: string | undefined;
  /** With statusPagesFile: events for pages it does not declare are taken (true) or refused 422 (false). */
  learnStatusPages: boolean;
  /** Seconds between two looks at statusPagesFile for a change; 0: no watch. */
  statusPagesWatchSeconds: number;
  /** With ALERTMANAGER_URL: maintenances silence the alerts of their components. */
  alertmanager: AlertmanagerConfig | undefined;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * What is wrong with a variable, in words: a number that is none is coerced to NaN before it is
 * checked, and zod's "expected number, received NaN" hides what was given.
 */
function problemOf(issue: z.core.$ZodIssue, env: NodeJS.ProcessEnv): string {
  const name = issue.path[0];
  const given = typeof name === 'string' ? env[name] : undefined;
  if (given === undefined) return issueWords(issue);
  const quoted = JSON.stringify(given.slice(0, 40));
  if (issue.code === 'invalid_type' && issue.expected === 'number') return `must be a number, not ${quoted}`;
  // Numbers and names from a fixed list are no secrets: quoting them shows a stray unit or case.
  const numeric = issue.code === 'invalid_type' || ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'number');
  if (numeric || issue.code === 'invalid_value') return `${issueWords(issue)}, not ${quoted}`;
  return issueWords(issue);
}

/** Parses the environment into a Config, or throws a ConfigError naming every bad variable on one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${problemOf(issue, env)}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.STORE === 'redis' && e.REDIS_URL === undefined) {
    throw new ConfigError('invalid configuration: REDIS_URL: required with STORE=redis');
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    throw new ConfigError('invalid configuration: METRICS_PORT: must differ from PORT (leave it unset to serve /metrics on PORT)');
  }
  const alertmanager = alertmanagerOf(e);
  return {
    host: e.HOST,
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    allowedHosts: e.ALLOWED_HOSTS,
    webhookTokens: e.WEBHOOK_TOKEN,
    alertmanagerWebhookTokens: e.ALERTMANAGER_WEBHOOK_TOKEN,
    store: e.STORE,
    sqlitePath: e.SQLITE_PATH,
    sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisWaitReplicas: e.REDIS_WAIT_REPLICAS,
    redisLogOwner: e.REDIS_LOG_OWNER,
    redisNewLogWaitSeconds: e.REDIS_NEW_LOG_WAIT_SECONDS,
    logLevel: e.LOG_LEVEL,
    defaultStatusPage: e.DEFAULT_STATUS_PAGE,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxConnections: e.MAX_CONNECTIONS,
    maxComponents: e.MAX_COMPONENTS,
    maxActiveIncidents: e.MAX_ACTIVE_INCIDENTS,
    maxActiveMaintenances: e.MAX_ACTIVE_MAINTENANCES,
    maxStatusPages: e.MAX_STATUS_PAGES,
    maxClockSkewSeconds: e.MAX_CLOCK_SKEW_SECONDS,
    maxHoldings: e.MAX_HOLDINGS,
    maxRetainedFinished: e.MAX_RETAINED_FINISHED,
    maxDedupRecords: e.MAX_DEDUP_RECORDS,
    ledgerRetentionDays: e.LEDGER_RETENTION_DAYS,
    ledgerMaxDayRows: e.LEDGER_MAX_DAY_ROWS,
    availabilityPolicy: { weights: e.AVAILABILITY_WEIGHTS, excludeMaintenance: e.AVAILABILITY_EXCLUDE_MAINTENANCE },
    finishedRetentionSeconds: e.FINISHED_RETENTION_SECONDS,
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT_SECONDS,
    buildRevision: e.BUILD_REVISION,
    statusPagesFile: e.STATUS_PAGES_FILE,
    learnStatusPages: e.LEARN_STATUS_PAGES,
    statusPagesWatchSeconds: e.STATUS_PAGES_WATCH_SECONDS,
    alertmanager,
  };
}

function alertmanagerOf(e: z.infer<typeof envSchema>): AlertmanagerConfig | undefined {
  const basic = e.ALERTMANAGER_USERNAME !== undefined || e.ALERTMANAGER_PASSWORD !== undefined;
  if (e.ALERTMANAGER_USERNAME === undefined && e.ALERTMANAGER_PASSWORD !== undefined) {
    throw new ConfigError('invalid configuration: ALERTMANAGER_USERNAME: required with ALERTMANAGER_PASSWORD');
  }
  if (basic && e.ALERTMANAGER_BEARER_TOKEN !== undefined) {
    throw new ConfigError('invalid configuration: ALERTMANAGER_BEARER_TOKEN: set either it or ALERTMANAGER_USERNAME and ALERTMANAGER_PASSWORD, not both');
  }
  if (e.ALERTMANAGER_URL === undefined) {
    if (basic || e.ALERTMANAGER_BEARER_TOKEN !== undefined) {
      throw new ConfigError('invalid configuration: ALERTMANAGER_URL: required with ALERTMANAGER_USERNAME, ALERTMANAGER_PASSWORD or ALERTMANAGER_BEARER_TOKEN');
    }
    return undefined;
  }
  const auth: AlertmanagerAuth =
    e.ALERTMANAGER_USERNAME !== undefined
      ? { kind: 'basic', username: e.ALERTMANAGER_USERNAME, password: e.ALERTMANAGER_PASSWORD ?? '' }
      : e.ALERTMANAGER_BEARER_TOKEN !== undefined
        ? { kind: 'bearer', token: e.ALERTMANAGER_BEARER_TOKEN }
        : { kind: 'none' };
  return {
    urls: e.ALERTMANAGER_URL,
    auth,
    marginSeconds: e.MAINTENANCE_SILENCE_MARGIN_SECONDS,
    from: e.MAINTENANCE_SILENCE_FROM,
    alertsCheckSeconds: e.ALERTMANAGER_ALERTS_CHECK_SECONDS,
  };
}

/** Every variable the exporter reads (page tokens aside: their names come from STATUS_PAGES_FILE). */
export const KNOWN_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** Prefixes of our variables: another variable that starts with one is most likely a typo of ours. */
export const VARIABLE_PREFIXES = [
  'STATUSMATE_',
  'WEBHOOK_',
  'STATUS_PAGE',
  'SQLITE_',
  'REDIS_',
  'MAX_',
  'ALERTMANAGER_',
  'MAINTENANCE_SILENCE',
  'LEDGER_',
  'AVAILABILITY_',
] as const;

/**
 * Variables Kubernetes service links inject (`REDIS_SERVICE_HOST`, `REDIS_PORT=tcp://…`,
 * `REDIS_PORT_6379_TCP_ADDR`): not typos, however much they look like ours.
 */
const isServiceLink = (name: string, value: string | undefined) =>
  /_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$/.test(name) ||
  /_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/.test(name) ||
  (/_PORT$/.test(name) && /^(tcp|udp|sctp):\/\//.test(value ?? ''));

export type UnknownVariable = { name: string; suggestion: string | undefined };

/**
 * Variables that look like one of ours but are not (a misspelt `STATUS_PAGE_FILE` or
 * `WEBHOOK_TOKNE` is otherwise ignored without a word, the latter leaving the webhook open): those
 * with one of our prefixes, those within two edits of one of our names (one edit for names of
 * up to 7 characters, so HOME is not taken for HOST), and those that are one of our names without
 * its last words (`SHUTDOWN_TIMEOUT`, `LEDGER_RETENTION`: the unit left out, and the value with it
 * ignored). `alsoKnown`: the page token variables.
 */
export function unknownVariables(env: NodeJS.ProcessEnv, alsoKnown: Iterable<string> = []): UnknownVariable[] {
  const known = new Set([...KNOWN_VARIABLES, ...alsoKnown]);
  const found: UnknownVariable[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (known.has(name) || isServiceLink(name, value)) continue;
    let suggestion: string | undefined = name.includes('_') ? KNOWN_VARIABLES.find((candidate) => candidate.startsWith(`${name}_`)) : undefined;
    let best = suggestion === undefined ? Infinity : 0;
    for (const candidate of KNOWN_VARIABLES) {
      const limit = candidate.length >= 8 ? 2 : 1;
      const d = editDistance(name, candidate, limit);
      if (d <= limit && d < best) {
        best = d;
        suggestion = candidate;
      }
    }
    if (suggestion !== undefined || VARIABLE_PREFIXES.some((prefix) => name.startsWith(prefix))) found.push({ name, suggestion });
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** What bounds the status pages file, as configured (inventory/file.ts's InventoryLimits): one place for the start, check and seed-redis. */
export function inventoryLimitsOf(config: Config): { maxStatusPages: number; maxComponents: number } {
  return { maxStatusPages: config.maxStatusPages, maxComponents: config.maxComponents };
}

/** The reducer's limits, as configured. */
export function limitsOf(config: Config): Limits {
  return {
    maxComponents: config.maxComponents,
    maxActiveIncidents: config.maxActiveIncidents,
    maxActiveMaintenances: config.maxActiveMaintenances,
    maxStatusPages: config.maxStatusPages,
    maxClockSkewSeconds: config.maxClockSkewSeconds,
    maxHoldings: config.maxHoldings,
    maxRetainedFinished: config.maxRetainedFinished,
    maxDedupRecords: config.maxDedupRecords,
    ledgerRetentionDays: config.ledgerRetentionDays,
    ledgerMaxDayRows: config.ledgerMaxDayRows,
  };
}
