import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, inventoryLimitsOf, limitsOf, loadConfig } from '../config.js';
import { inventoryPatch } from '../domain/inventory.js';
import { InventoryError, loadInventory } from '../inventory/file.js';
import { FoldLoop } from '../log/fold-loop.js';
import { createLogger, lineDestination } from '../logger.js';
import { redactedRedisUrl, redisKeys } from '../store/redis-format.js';
import { inspectCopy, schemaVersionOf } from '../store/sqlite-file.js';
import { SqliteLog } from '../store/sqlite.js';
import { StoreError } from '../store/store.js';
import { withTimeout } from '../store/with-timeout.js';
import { parseFlags, UsageError, type Io } from './io.js';

export const SEED_REDIS_USAGE = `statusmate-exporter seed-redis FILE.db
  Starts the shared log in Redis (REDIS_URL and REDIS_KEY_PREFIX, read from the environment as
  the exporter reads them) from the state a SQLite store holds: the way from one exporter on
  SQLite to replicas on Redis that keeps what was counted and the availability ledger. Run it with
  the exporter's STATUS_PAGES_FILE: the entries after the store's snapshot are folded on the pages
  and components it declares, as the exporter folds them (their token_env need not be set). FILE is
  the SQLITE_PATH of a stopped exporter, or a copy \`statusmate-exporter backup\` made (of any
  store); it is read, never changed. Redis must hold no log under the prefix yet, and no replica
  may have loaded it: seed it before starting the replicas (exit 1 otherwise). Gives up (exit 1) after 60 s.`;

/** What to do once a replica has loaded the log to be seeded. */
const SEED_AGAIN =
  'one still running serves the state it loaded, and its next snapshot replaces the seeded one; stop every replica, run statusmate-exporter reset-redis --yes, seed again, then start them';

/** When a replica last wrote its probe key, as the refusal says it. */
const replicaSeen = (key: string, ms: number) => (Number.isFinite(ms) ? `${key} written at ${new Date(ms).toISOString()}` : `${key} is set`);

/** How long the whole seeding may take before the command gives up. */
export const SEED_DEADLINE_MS = 60_000;

/** `statusmate-exporter seed-redis FILE.db`: 0 once Redis holds the state as its snapshot, 1 otherwise. */
export async function seedRedis(args: string[], io: Io, env: NodeJS.ProcessEnv = process.env, deadlineMs = SEED_DEADLINE_MS): Promise<number> {
  const { positionals } = parseFlags({ args, options: {}, strict: true, allowPositionals: true });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('seed-redis takes one SQLite file: statusmate-exporter seed-redis FILE.db');
  let config;
  try {
    config = loadConfig({ ...env, STORE: 'redis' });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const url = config.redisUrl;
  if (url === undefined) throw new UsageError('REDIS_URL is not set');
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  // The exporter folds the entries after its snapshot onto the records its status pages file
  // declares (a declared component's first event keeps the change time of its declaration, a
  // declared page counts from it): without them the replicas would serve other times than it did.
  let declared;
  try {
    declared = loadInventory(config.statusPagesFile, env, inventoryLimitsOf(config), 'fold');
  } catch (error) {
    if (error instanceof InventoryError) throw new UsageError(error.message);
    throw error;
  }
  const declaredAt = Date.now() / 1000;
  const where = `${redactedRedisUrl(url)} ${redisKeys(config.redisKeyPrefix).log}`;
  // Folded from a copy: opening a SQLite store writes to it (its write-ahead log, a probe), and
  // the entries still in FILE-wal (an exporter stopped uncleanly) are part of it.
  const dir = mkdtempSync(join(tmpdir(), 'statusmate-seed-'));
  const copy = join(dir, 'store.db');
  // The fold's own lines (a refusal, a snapshot it could not write) go to stderr, as the command's problems do.
  const logger = createLogger('warn', lineDestination(2));
  let fold: FoldLoop | undefined;
  let target: { close(): Promise<void> } | undefined;
  const seed = async (): Promise<string> => {
    // A running exporter holds the file's lock (and writes it meanwhile): a copy of its bytes could be torn.
    try {
      schemaVersionOf(file);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      throw new StoreError(`${file} is in use by a running exporter: stop it, or seed from a copy that statusmate-exporter backup made`);
    }
    copyFileSync(file, copy);
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    try {
      inspectCopy(copy);
    } catch (error) {
      throw new StoreError(`${file} is not a SQLite store this release opens: ${(error as Error).message}`);
    }
    fold = new FoldLoop({
      store: new SqliteLog({ path: copy, synchronous: 'normal' }),
      limits: limitsOf(config),
      retentionSeconds: config.finishedRetentionSeconds,
      logger,
      overlay: (state) => inventoryPatch(state, declared.pages, declaredAt),
      // No webhook waits on this fold: the snapshot may take as long as the command does.
      snapshots: { maxPauseMs: deadlineMs },
    });
    await fold.start();
    const { RedisStore } = await import('../store/redis.js');
    // Seeding is the operator's own start of a new log, as reset-redis is: it does not wait.
    const redis = new RedisStore({
      url,
      keyPrefix: config.redisKeyPrefix,
      waitReplicas: config.redisWaitReplicas,
      owner: config.redisLogOwner,
      newLogWaitMs: 0,
      logger,
    });
    target = redis;
    await redis.open();
    // A replica that loaded the log before it was seeded keeps serving what it folded (nothing),
    // and its next snapshot, newer than the seeded one, replaces it: the state seeded is lost.
    // (A log that holds entries or a snapshot is refused as such by seedInto, which says why.)
    const ranBefore = await redis.lastProbe();
    const empty = (await redis.tip(redis.origin)).entriesAfter === 0 && (await redis.snapshotInfo()) === null;
    if (ranBefore !== null && empty)
      throw new StoreError(`a replica has run on this log (${replicaSeen(redisKeys(config.redisKeyPrefix).probe, ranBefore)}): ${SEED_AGAIN}`);
    const bytes = await fold.seedInto(redis);
    const ranDuring = await redis.lastProbe();
    if (ranDuring !== null)
      throw new StoreError(
        `a replica started on this log while it was seeded (${replicaSeen(redisKeys(config.redisKeyPrefix).probe, ranDuring)}): ${SEED_AGAIN}`,
      );
    const time = fold.stats().foldedTime;
    const asOf = time === null ? 'an empty store' : `the log as of ${new Date(time * 1000).toISOString()}`;
    return `seeded ${where} from ${file}: a snapshot of ${bytes} bytes, ${asOf}; start the replicas`;
  };
  try {
    io.out(
      await withTimeout(seed(), deadlineMs, `no answer within ${deadlineMs / 1000} s (check REDIS_URL; run seed-redis again: it seeds only an empty log)`),
    );
    return 0;
  } catch (error) {
    io.err(`statusmate-exporter seed-redis: ${where}: ${(error as Error).message}`);
    return 1;
  } finally {
    await target?.close().catch(() => undefined);
    await fold?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
