import { isIP } from 'node:net';
import { z } from 'zod';
import type { Limits } from './domain/reducer.js';

/** The stores STORE names. */
export const STORE_NAMES = ['sqlite', 'memory', 'redis'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

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
  .refine((tokens) => tokens.length > 0, { error: 'holds no token (only commas or blanks); leave it unset to accept webhooks without a token' });

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
    const db = url.pathname.replace(/^\//, '');
    return db === '' || /^\d{1,2}$/.test(db);
  } catch {
    return false;
  }
}

const envSchema = z.object({
  HOST: optional(host).transform((value) => value ?? '0.0.0.0'),
  PORT: optional(port).transform((value) => value ?? 9877),
  METRICS_PORT: optional(port),
  ALLOWED_HOSTS: optional(hostList).transform((value) => value ?? []),
  WEBHOOK_TOKEN: optional(tokenList).transform((value) => value ?? []),
  STORE: optional(z.enum(STORE_NAMES)).transform((value) => value ?? 'sqlite'),
  // The URL may hold a password: messages name the variable, never echo its value.
  REDIS_URL: optional(
    z.string().refine((value) => isRedisUrl(value), { error: 'must be a redis:// or rediss:// URL (redis://[user:password@]host[:port][/db])' }),
  ),
  REDIS_KEY_PREFIX: optional(
    z
      .string()
      .min(1)
      .max(100)
      .regex(/^[^\s]+$/, 'must not contain whitespace'),
  ).transform((value) => value ?? 'statusmate:'),
  REDIS_WAIT_REPLICAS: optional(z.coerce.number().int().min(0).max(16)).transform((value) => value ?? 0),
  SQLITE_PATH: z.string().min(1).default('./data/statusmate-exporter.db'),
  SQLITE_SYNCHRONOUS: optional(z.enum(['normal', 'full'])).transform((value) => value ?? 'normal'),
  LOG_LEVEL: optional(z.enum(LOG_LEVELS)).transform((value) => value ?? 'info'),
  DEFAULT_STATUS_PAGE: z.string().min(1).max(200).default('default'),
  MAX_BODY_BYTES: optional(positiveInt).transform((value) => value ?? 262144),
  MAX_CONNECTIONS: optional(positiveInt).transform((value) => value ?? 1000),
  MAX_COMPONENTS: optional(positiveInt).transform((value) => value ?? 10000),
  MAX_ACTIVE_INCIDENTS: optional(positiveInt).transform((value) => value ?? 1000),
  MAX_ACTIVE_MAINTENANCES: optional(positiveInt).transform((value) => value ?? 1000),
  MAX_STATUS_PAGES: optional(positiveInt).transform((value) => value ?? 100),
  MAX_CLOCK_SKEW_SECONDS: optional(z.coerce.number().int().min(0)).transform((value) => value ?? 300),
  FINISHED_RETENTION_SECONDS: optional(positiveInt).transform((value) => value ?? 7 * 24 * 3600),
  SHUTDOWN_TIMEOUT_SECONDS: optional(positiveInt).transform((value) => value ?? 10),
  BUILD_REVISION: z.string().default('unknown'),
  STATUS_PAGES_FILE: optional(z.string().min(1)),
});

export type Config = {
  host: string;
  port: number;
  /** When set, `/metrics` is served only on this port, so the webhook port can face the internet. */
  metricsPort: number | undefined;
  /** When not empty, requests (but probes) whose Host names none of these are answered 421: DNS rebinding reaches nothing. */
  allowedHosts: string[];
  webhookTokens: string[];
  store: StoreName;
  sqlitePath: string;
  /** With STORE=redis; holds credentials, so it is never logged. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key; wrapped in a hash tag (see redisKeys) so all keys share one Cluster slot. */
  redisKeyPrefix: string;
  /** When above 0, a webhook is answered 200 only once this many Redis replicas acknowledged it (WAIT). */
  redisWaitReplicas: number;
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
  finishedRetentionSeconds: number;
  shutdownTimeoutSeconds: number;
  buildRevision: string;
  /** The declared status pages and components (YAML or JSON); read at start-up and on reload. */
  statusPagesFile: string | undefined;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment into a Config, or throws a ConfigError naming every bad variable on one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.STORE === 'redis' && e.REDIS_URL === undefined) {
    throw new ConfigError('invalid configuration: REDIS_URL: required with STORE=redis');
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    throw new ConfigError('invalid configuration: METRICS_PORT: must differ from PORT (leave it unset to serve /metrics on PORT)');
  }
  return {
    host: e.HOST,
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    allowedHosts: e.ALLOWED_HOSTS,
    webhookTokens: e.WEBHOOK_TOKEN,
    store: e.STORE,
    sqlitePath: e.SQLITE_PATH,
    sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisWaitReplicas: e.REDIS_WAIT_REPLICAS,
    logLevel: e.LOG_LEVEL,
    defaultStatusPage: e.DEFAULT_STATUS_PAGE,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxConnections: e.MAX_CONNECTIONS,
    maxComponents: e.MAX_COMPONENTS,
    maxActiveIncidents: e.MAX_ACTIVE_INCIDENTS,
    maxActiveMaintenances: e.MAX_ACTIVE_MAINTENANCES,
    maxStatusPages: e.MAX_STATUS_PAGES,
    maxClockSkewSeconds: e.MAX_CLOCK_SKEW_SECONDS,
    finishedRetentionSeconds: e.FINISHED_RETENTION_SECONDS,
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT_SECONDS,
    buildRevision: e.BUILD_REVISION,
    statusPagesFile: e.STATUS_PAGES_FILE,
  };
}

/** The reducer's limits, as configured. */
export function limitsOf(config: Config): Limits {
  return {
    maxComponents: config.maxComponents,
    maxActiveIncidents: config.maxActiveIncidents,
    maxActiveMaintenances: config.maxActiveMaintenances,
    maxStatusPages: config.maxStatusPages,
    maxClockSkewSeconds: config.maxClockSkewSeconds,
  };
}
