import { describe, expect, it } from 'vitest';
import { KNOWN_VARIABLES, limitsOf, loadConfig, unknownVariables } from '../src/config.js';

describe('configuration from the environment', () => {
  it('reads the availability policy and ledger retention, naming what is wrong', () => {
    const config = loadConfig({
      AVAILABILITY_WEIGHTS: 'degraded_performance=0.5, under_maintenance=1',
      AVAILABILITY_EXCLUDE_MAINTENANCE: 'false',
      LEDGER_RETENTION_DAYS: '90',
    });
    expect(config.availabilityPolicy).toEqual({
      weights: { major_outage: 1, partial_outage: 1, degraded_performance: 0.5, under_maintenance: 1 },
      excludeMaintenance: false,
    });
    expect(limitsOf(config).ledgerRetentionDays).toBe(90);
    expect(() => loadConfig({ AVAILABILITY_WEIGHTS: 'major_outage=2' })).toThrow(/AVAILABILITY_WEIGHTS.*major_outage=2/);
    expect(() => loadConfig({ AVAILABILITY_WEIGHTS: 'Major Outage=1' })).toThrow(/AVAILABILITY_WEIGHTS/);
    expect(() => loadConfig({ AVAILABILITY_WEIGHTS: 'major_outage=1,major_outage=0' })).toThrow(
      'AVAILABILITY_WEIGHTS: major_outage is given twice: give each impact once',
    );
    expect(() => loadConfig({ AVAILABILITY_EXCLUDE_MAINTENANCE: 'yes' })).toThrow(/AVAILABILITY_EXCLUDE_MAINTENANCE/);
    expect(() => loadConfig({ LEDGER_RETENTION_DAYS: '0' })).toThrow(/LEDGER_RETENTION_DAYS/);
  });

  it('has production defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      host: '0.0.0.0',
      port: 9877,
      metricsPort: undefined,
      allowedHosts: [],
      webhookTokens: [],
      alertmanagerWebhookTokens: [],
      store: 'sqlite',
      sqlitePath: './data/statusmate-exporter.db',
      sqliteSynchronous: 'normal',
      redisUrl: undefined,
      redisKeyPrefix: 'statusmate:',
      redisWaitReplicas: 0,
      redisNewLogWaitSeconds: 5,
      logLevel: 'info',
      defaultStatusPage: 'default',
      maxBodyBytes: 262144,
      maxConnections: 1000,
      maxComponents: 10000,
      maxActiveIncidents: 1000,
      maxActiveMaintenances: 1000,
      maxStatusPages: 100,
      maxClockSkewSeconds: 300,
      maxHoldings: 10000,
      maxRetainedFinished: 10000,
      maxDedupRecords: 100000,
      ledgerRetentionDays: 400,
      ledgerMaxDayRows: 1000000,
      availabilityPolicy: { weights: { major_outage: 1, partial_outage: 1, degraded_performance: 0 }, excludeMaintenance: true },
      finishedRetentionSeconds: 604800,
      shutdownTimeoutSeconds: 10,
      buildRevision: 'unknown',
      statusPagesFile: undefined,
      learnStatusPages: false,
      statusPagesWatchSeconds: 5,
      alertmanager: undefined,
    });
  });

  it('turns maintenance silences on with ALERTMANAGER_URL: a cluster of http(s) peers, with defaults for the margin and the start', () => {
    expect(loadConfig({ ALERTMANAGER_URL: ' http://am-0:9093/ , https://am-1.example.com/alertmanager ' }).alertmanager).toEqual({
      urls: ['http://am-0:9093', 'https://am-1.example.com/alertmanager'],
      auth: { kind: 'none' },
      marginSeconds: 900,
      from: 'started',
      alertsCheckSeconds: 60,
    });
    expect(loadConfig({ ALERTMANAGER_URL: 'http://am:9093', ALERTMANAGER_ALERTS_CHECK_SECONDS: '5' }).alertmanager?.alertsCheckSeconds).toBe(5);
    expect(loadConfig({ ALERTMANAGER_URL: 'http://am:9093', ALERTMANAGER_ALERTS_CHECK_SECONDS: '0' }).alertmanager?.alertsCheckSeconds).toBe(0);
    expect(() => loadConfig({ ALERTMANAGER_URL: 'http://am:9093', ALERTMANAGER_ALERTS_CHECK_SECONDS: '-1' })).toThrow(/ALERTMANAGER_ALERTS_CHECK_SECONDS/);
    expect(
      loadConfig({ ALERTMANAGER_URL: 'http://am:9093', MAINTENANCE_SILENCE_MARGIN_SECONDS: '0', MAINTENANCE_SILENCE_FROM: 'scheduled' }).alertmanager,
    ).toMatchObject({
      marginSeconds: 0,
      from: 'scheduled',
    });
    expect(() => loadConfig({ ALERTMANAGER_URL: 'am:9093' })).toThrow(/ALERTMANAGER_URL/);
    expect(() => loadConfig({ ALERTMANAGER_URL: ' , ' })).toThrow(/ALERTMANAGER_URL/);
    expect(() => loadConfig({ ALERTMANAGER_URL: 'http://am:9093', MAINTENANCE_SILENCE_FROM: 'now' })).toThrow(/MAINTENANCE_SILENCE_FROM/);
    expect(() => loadConfig({ ALERTMANAGER_URL: 'http://am:9093', MAINTENANCE_SILENCE_MARGIN_SECONDS: '-1' })).toThrow(/MAINTENANCE_SILENCE_MARGIN_SECONDS/);
  });

  it('takes Alertmanager credentials from their own variables, never from the URL, and never echoes them', () => {
    expect(loadConfig({ ALERTMANAGER_URL: 'http://am:9093', ALERTMANAGER_USERNAME: 'u', ALERTMANAGER_PASSWORD: 'p' }).alertmanager?.auth).toEqual({
      kind: 'basic',
      username: 'u',
      password: 'p',
    });
    expect(loadConfig({ ALERTMANAGER_URL: 'http://am:9093', ALERTMANAGER_BEARER_TOKEN: 't' }).alertmanager?.auth).toEqual({ kind: 'bearer', token: 't' });
    let message = '';
    try {
      loadConfig({ ALERTMANAGER_URL: 'http://user:s3cret@am:9093' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/ALERTMANAGER_URL[.0-9]*: must not hold credentials/);
    expect(message).not.toContain('s3cret');
    expect(() => loadConfig({ ALERTMANAGER_URL: 'http://am:9093', ALERTMANAGER_PASSWORD: 'p' })).toThrow(/ALERTMANAGER_USERNAME: required/);
    expect(() => loadConfig({ ALERTMANAGER_URL: 'http://am', ALERTMANAGER_USERNAME: 'u', ALERTMANAGER_BEARER_TOKEN: 't' })).toThrow(/not both/);
    expect(() => loadConfig({ ALERTMANAGER_BEARER_TOKEN: 't' })).toThrow(/ALERTMANAGER_URL: required/);
  });

  it('reads the size bounds, and passes them to the reducer', () => {
    const config = loadConfig({ MAX_HOLDINGS: '500', MAX_RETAINED_FINISHED: '600', MAX_DEDUP_RECORDS: '700' });
    expect(limitsOf(config)).toMatchObject({ maxHoldings: 500, maxRetainedFinished: 600, maxDedupRecords: 700 });
    expect(() => loadConfig({ MAX_HOLDINGS: '0' })).toThrow(/MAX_HOLDINGS/);
    expect(() => loadConfig({ MAX_DEDUP_RECORDS: 'many' })).toThrow(/MAX_DEDUP_RECORDS/);
  });

  it('says a number variable must be a number, quoting what it got, rather than "received NaN"', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/^invalid configuration: PORT: must be a number, not "abc"$/);
    expect(() => loadConfig({ MAX_DEDUP_RECORDS: 'many' })).toThrow(/^invalid configuration: MAX_DEDUP_RECORDS: must be a number, not "many"$/);
    expect(() => loadConfig({ PORT: '98x', METRICS_PORT: 'x' })).toThrow(
      /^invalid configuration: PORT: must be a number, not "98x"; METRICS_PORT: must be a number, not "x"$/,
    );
  });

  it('splits WEBHOOK_TOKEN on commas so tokens can be rotated, dropping blanks', () => {
    expect(loadConfig({ WEBHOOK_TOKEN: ' old , new ,, ' }).webhookTokens).toEqual(['old', 'new']);
  });

  it('takes STATUS_PAGES_FILE as a path, read later at start-up', () => {
    expect(loadConfig({ STATUS_PAGES_FILE: '/etc/statusmate/pages.yaml' }).statusPagesFile).toBe('/etc/statusmate/pages.yaml');
    expect(loadConfig({ STATUS_PAGES_FILE: '' }).statusPagesFile).toBeUndefined();
  });

  it('learns status pages from webhooks only when LEARN_STATUS_PAGES is "true", and names anything else', () => {
    expect(loadConfig({ LEARN_STATUS_PAGES: 'true' }).learnStatusPages).toBe(true);
    expect(loadConfig({ LEARN_STATUS_PAGES: 'false' }).learnStatusPages).toBe(false);
    expect(loadConfig({ LEARN_STATUS_PAGES: '' }).learnStatusPages).toBe(false);
    expect(() => loadConfig({ LEARN_STATUS_PAGES: 'yes' })).toThrow(/LEARN_STATUS_PAGES: must be "true" or "false"/);
  });

  it('lets a replica that finds no Redis log wait 5 seconds before starting one unless REDIS_NEW_LOG_WAIT_SECONDS says otherwise (0: at once)', () => {
    expect(loadConfig({}).redisNewLogWaitSeconds).toBe(5);
    expect(loadConfig({ REDIS_NEW_LOG_WAIT_SECONDS: '0' }).redisNewLogWaitSeconds).toBe(0);
    expect(loadConfig({ REDIS_NEW_LOG_WAIT_SECONDS: '1.5' }).redisNewLogWaitSeconds).toBe(1.5);
  });

  it('looks at STATUS_PAGES_FILE for changes every 5 seconds unless STATUS_PAGES_WATCH_SECONDS says otherwise (0: never)', () => {
    expect(loadConfig({}).statusPagesWatchSeconds).toBe(5);
    expect(loadConfig({ STATUS_PAGES_WATCH_SECONDS: '0' }).statusPagesWatchSeconds).toBe(0);
    expect(loadConfig({ STATUS_PAGES_WATCH_SECONDS: '0.5' }).statusPagesWatchSeconds).toBe(0.5);
    expect(() => loadConfig({ STATUS_PAGES_WATCH_SECONDS: '-1' })).toThrow('STATUS_PAGES_WATCH_SECONDS');
  });

  it.each(['127.0.0.1', '::', '::1', 'localhost', 'exporter.example.internal'])('accepts HOST=%s, an IP address or a host name', (host) => {
    expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it('reads ALERTMANAGER_WEBHOOK_TOKEN as a comma-separated list for rotation, and refuses one of only commas', () => {
    expect(loadConfig({ ALERTMANAGER_WEBHOOK_TOKEN: ' new , old ' }).alertmanagerWebhookTokens).toEqual(['new', 'old']);
    expect(loadConfig({ ALERTMANAGER_WEBHOOK_TOKEN: '' }).alertmanagerWebhookTokens).toEqual([]);
    expect(() => loadConfig({ ALERTMANAGER_WEBHOOK_TOKEN: ',' })).toThrow(/ALERTMANAGER_WEBHOOK_TOKEN/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ HOST: '', PORT: '', METRICS_PORT: '', STORE: '', WEBHOOK_TOKEN: '' })).toMatchObject({
      host: '0.0.0.0',
      port: 9877,
      metricsPort: undefined,
      store: 'sqlite',
      webhookTokens: [],
    });
  });

  it('treats every variable it knows, set empty, as unset (a chart or compose file renders FOO="")', () => {
    const empty = Object.fromEntries(KNOWN_VARIABLES.map((name) => [name, '']));
    expect(loadConfig(empty)).toEqual(loadConfig({}));
  });

  it('takes redis:// and rediss:// URLs with credentials and a database number', () => {
    expect(loadConfig({ STORE: 'redis', REDIS_URL: 'rediss://app:pw@redis.internal:6380/2', REDIS_WAIT_REPLICAS: '1' })).toMatchObject({
      store: 'redis',
      redisUrl: 'rediss://app:pw@redis.internal:6380/2',
      redisKeyPrefix: 'statusmate:',
      redisWaitReplicas: 1,
    });
    expect(loadConfig({ STORE: 'redis', REDIS_URL: 'redis://127.0.0.1' }).redisUrl).toBe('redis://127.0.0.1');
  });

  it('never repeats a bad REDIS_URL, which may hold a password, in its message', () => {
    expect(() => loadConfig({ STORE: 'redis', REDIS_URL: 'http://user:s3cret@redis:6379' })).toThrow(/^(?!.*s3cret)/s);
  });

  it.each([
    [{ PORT: 'nine' }, 'invalid configuration: PORT: must be a number, not "nine"'],
    [{ PORT: '70000' }, 'invalid configuration: PORT: must be 65535 or less, not "70000"'],
    [{ STORE: 'valkey' }, 'invalid configuration: STORE: must be one of sqlite, memory, redis, not "valkey"'],
    [{ STORE: 'redis' }, 'invalid configuration: REDIS_URL: required with STORE=redis'],
    [
      { STORE: 'redis', REDIS_URL: 'http://user:s3cret@redis:6379' },
      'invalid configuration: REDIS_URL: must be a redis:// or rediss:// URL (redis://[user:password@]host[:port][/db]; percent-encode @ : / % # in the user and password)',
    ],
    [{ STORE: 'redis', REDIS_URL: 'redis://redis:6379/x' }, 'invalid configuration: REDIS_URL: must be a redis:// or rediss:// URL'],
    [{ REDIS_WAIT_REPLICAS: '-1' }, 'invalid configuration: REDIS_WAIT_REPLICAS: must be 0 or more, not "-1"'],
    [{ REDIS_NEW_LOG_WAIT_SECONDS: 'soon' }, 'invalid configuration: REDIS_NEW_LOG_WAIT_SECONDS: must be a number, not "soon"'],
    [{ REDIS_NEW_LOG_WAIT_SECONDS: '601' }, 'invalid configuration: REDIS_NEW_LOG_WAIT_SECONDS: must be 600 or less, not "601"'],
    [{ LOG_LEVEL: 'loud' }, 'invalid configuration: LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, not "loud"'],
    [{ MAX_CLOCK_SKEW_SECONDS: '86401' }, 'invalid configuration: MAX_CLOCK_SKEW_SECONDS: must be 86400 or less, not "86401"'],
    [{ MAX_CONNECTIONS: '0' }, 'invalid configuration: MAX_CONNECTIONS: must be more than 0, not "0"'],
    [{ MAX_COMPONENTS: '0' }, 'invalid configuration: MAX_COMPONENTS: must be more than 0, not "0"'],
    [{ MAX_BODY_BYTES: '1.5' }, 'invalid configuration: MAX_BODY_BYTES: must be a whole number, not "1.5"'],
    [{ MAX_BODY_BYTES: '8388609' }, 'invalid configuration: MAX_BODY_BYTES: must be at most 8388608 (8 MiB); a StatusMate webhook is a few KB'],
    [{ PORT: '9000', METRICS_PORT: '9000' }, 'invalid configuration: METRICS_PORT: must differ from PORT (leave it unset to serve /metrics on PORT)'],
    [{ WEBHOOK_TOKEN: ',' }, 'invalid configuration: WEBHOOK_TOKEN: holds no token (only commas or blanks); leave it unset to accept webhooks without a token'],
    [
      { WEBHOOK_TOKEN: ' , ' },
      'invalid configuration: WEBHOOK_TOKEN: holds no token (only commas or blanks); leave it unset to accept webhooks without a token',
    ],
    [
      { WEBHOOK_TOKEN: 'ok-token,pässword' },
      'invalid configuration: WEBHOOK_TOKEN: a token holds a character outside visible ASCII (a space, an accent, a control character), which an HTTP header cannot carry alike',
    ],
    [{ HOST: 'not a host' }, 'invalid configuration: HOST: must be an IP address (like 0.0.0.0 or ::) or a host name'],
    [{ HOST: 'http://0.0.0.0' }, 'invalid configuration: HOST: must be an IP address (like 0.0.0.0 or ::) or a host name'],
    [{ PORT: 'x', STORE: 'y' }, 'invalid configuration: PORT: must be a number, not "x"; STORE: must be one of sqlite, memory, redis, not "y"'],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('variables that look like ours but are not', () => {
  it('names a misspelt STATUS_PAGE_FILE and WEBHOOK_TOKNE, with the variable meant', () => {
    expect(unknownVariables({ STATUS_PAGE_FILE: '/etc/pages.yaml', WEBHOOK_TOKNE: 's3cret' })).toEqual([
      { name: 'STATUS_PAGE_FILE', suggestion: 'STATUS_PAGES_FILE' },
      { name: 'WEBHOOK_TOKNE', suggestion: 'WEBHOOK_TOKEN' },
    ]);
  });

  it.each(['STATUSMATE_TOKEN', 'WEBHOOK_SECRET', 'STATUS_PAGE', 'SQLITE_FILE', 'REDIS_PASSWORD', 'MAX_EVENTS'])(
    'names %s, which has one of our prefixes, even with no close name to suggest',
    (name) => {
      expect(unknownVariables({ [name]: 'x' }).map((v) => v.name)).toEqual([name]);
    },
  );

  it('names a variable given without its unit, or with the prefix of the ledger or availability settings', () => {
    expect(
      unknownVariables({
        SHUTDOWN_TIMEOUT: '30',
        LEDGER_RETENTION: '90',
        FINISHED_RETENTION: '86400',
        LEDGER_MAX_EVIDENCE_WEIGHT: '1000',
        AVAILABILITY_POLICY: 'x',
      }),
    ).toEqual([
      { name: 'AVAILABILITY_POLICY', suggestion: undefined },
      { name: 'FINISHED_RETENTION', suggestion: 'FINISHED_RETENTION_SECONDS' },
      { name: 'LEDGER_MAX_EVIDENCE_WEIGHT', suggestion: undefined },
      { name: 'LEDGER_RETENTION', suggestion: 'LEDGER_RETENTION_DAYS' },
      { name: 'SHUTDOWN_TIMEOUT', suggestion: 'SHUTDOWN_TIMEOUT_SECONDS' },
    ]);
    // A single word that starts one of our names is the system's, not a shortened one of ours.
    expect(unknownVariables({ LOG: '1', METRICS: '1', SHUTDOWN: '1' })).toEqual([]);
  });

  it('takes one edit for a short name and two for a long one', () => {
    expect(unknownVariables({ PROT: '9877', LOG_LEVLE: 'debug' })).toEqual([
      { name: 'LOG_LEVLE', suggestion: 'LOG_LEVEL' },
      { name: 'PROT', suggestion: 'PORT' },
    ]);
  });

  it('leaves our own variables, page token variables, the system and Kubernetes service links alone', () => {
    const env: Record<string, string> = Object.fromEntries(KNOWN_VARIABLES.map((name) => [name, 'x']));
    Object.assign(env, {
      HOME: '/root',
      HOSTNAME: 'pod-1',
      PATH: '/usr/bin',
      PWD: '/app',
      SHELL: '/bin/sh',
      NODE_ENV: 'production',
      npm_config_nodedir: '/opt/node24',
      WEBHOOK_TOKEN_ACME: 'page token',
      REDIS_SERVICE_HOST: '10.0.0.1',
      REDIS_SERVICE_PORT: '6379',
      REDIS_PORT: 'tcp://10.0.0.1:6379',
      REDIS_PORT_6379_TCP_ADDR: '10.0.0.1',
    });
    expect(unknownVariables(env, ['WEBHOOK_TOKEN_ACME'])).toEqual([]);
  });
});
