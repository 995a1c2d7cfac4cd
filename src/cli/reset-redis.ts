import { createClient } from 'redis';
import { ConfigError, loadConfig } from '../config.js';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { initArgs } from '../store/redis-scripts.js';
import { redactedRedisUrl, redisKeys } from '../store/redis-format.js';
import { withTimeout } from '../store/with-timeout.js';
import { parseFlags, UsageError, type Io } from './io.js';

export const RESET_REDIS_USAGE = `statusmate-exporter reset-redis --yes [--force]
  Deletes the shared log, its snapshot (and any snapshot a replica left half-written), its epoch,
  its owner (REDIS_LOG_OWNER) and the mark a replica left on finding it lost, under REDIS_URL and
  REDIS_KEY_PREFIX (read from the environment, as the exporter reads them), and starts a new,
  empty log (a new epoch) that replicas started afterwards fold (the first names its owner). Replicas that refused the old one stay refused until
  restarted. Everything the log held is gone: restore Redis from a backup instead when you have one.
  Refuses (exit 1) a log another install owns (REDIS_LOG_OWNER set and different: unset it to
  reset that log on purpose), and one a replica is serving (it proved it could write to the log
  within 5 s): stop those replicas first, or add --force. Gives up (exit 1) when Redis has not
  answered within 30 s.`;

/**
 * Deletes the log's keys (KEYS[1..7]: log, snapshot, trimmed, epoch, lost, probe, owner) and starts a new
 * log with epoch ARGV[1], as INIT_SCRIPT would for a fresh one, in one step. Answers how many keys
 * were deleted.
 */
const RESET_SCRIPT = `
local deleted = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
redis.call('SET', KEYS[4], ARGV[1])
redis.call('XGROUP', 'CREATE', KEYS[1], 'statusmate-exporter', '$', 'MKSTREAM')
return deleted
`;
const initReply = z.tuple([z.string(), z.number(), z.string(), z.string()]);

/** How long the whole reset may take before the command gives up on a Redis that does not answer. */
export const RESET_DEADLINE_MS = 30_000;

/**
 * How long reset-redis watches the log's probe key before it deletes: a replica serving the log
 * rewrites it every 2 to 2.4 s (its readiness check), one that refuses the log never does.
 */
export const LIVE_WATCH_MS = 5_000;

/** What makes the reset refuse: the log is another install's, or a replica serves it. */
class ResetRefused extends Error {}

/** `statusmate-exporter reset-redis --yes`: the operator's way out of a lost or replaced log. */
export async function resetRedis(
  args: string[],
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
  deadlineMs = RESET_DEADLINE_MS,
  watchMs = LIVE_WATCH_MS,
): Promise<number> {
  const { values } = parseFlags({ args, options: { yes: { type: 'boolean', default: false }, force: { type: 'boolean', default: false } }, strict: true });
  if (!values.yes) throw new UsageError('reset-redis deletes the shared log and its snapshot; add --yes to do it');
  let url: string;
  let prefix: string;
  let owner: string | undefined;
  try {
    const config = loadConfig({ ...env, STORE: 'redis' });
    if (config.redisUrl === undefined) throw new UsageError('REDIS_URL is not set');
    url = config.redisUrl;
    prefix = config.redisKeyPrefix;
    owner = config.redisLogOwner;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const keys = redisKeys(prefix);
  const client = createClient({ url, RESP: 2, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  // The client also emits what breaks its connection (a server that answers in another protocol:
  // a web port named by mistake): unheard, node ended the command with a stack trace. The first
  // such error is what the one line reports, whichever of the calls below it interrupts.
  let broken: Error | undefined;
  client.on('error', (error: Error) => {
    broken ??= error;
  });
  // The connection has its own timeout, but a server that takes it and then never answers (a Redis
  // stuck, a proxy in front of none) left the command waiting for ever: the whole reset has one.
  const reset = async (): Promise<string> => {
    await client.connect();
    const stored = z
      .string()
      .nullable()
      .parse(await client.get(keys.owner));
    // Another install's log, named by the variable the replicas check: the prefix is wrong, not the log.
    if (owner !== undefined && stored !== null && stored !== owner)
      throw new ResetRefused(
        `the log under ${keys.log} belongs to ${JSON.stringify(stored)}, not ${JSON.stringify(owner)} (REDIS_LOG_OWNER): check REDIS_KEY_PREFIX, or unset REDIS_LOG_OWNER to reset that log on purpose; nothing was deleted`,
      );
    if (!values.force) {
      // A replica that refuses the log (what a reset is for) stops probing it; one serving it goes on.
      const before = z
        .string()
        .nullable()
        .parse(await client.get(keys.probe));
      await new Promise((resolve) => setTimeout(resolve, watchMs));
      const after = z
        .string()
        .nullable()
        .parse(await client.get(keys.probe));
      if (after !== null && after !== before)
        throw new ResetRefused(
          `a replica is serving this log (it rewrote ${keys.probe} within ${watchMs / 1000} s): reset-redis is for a log every replica refuses; stop the replicas that serve it, or add --force to delete it under them; nothing was deleted`,
        );
    }
    // What is deleted, for the operator's record: unknown when the key is not a stream at all.
    const entries = await client.xLen(keys.log).catch(() => null);
    // The keys go and the new log's epoch comes in one script: a replica still running on the old
    // log that read between a DEL and a later SET would find its epoch gone, not replaced, and mark
    // the new log lost (INIT_SCRIPT), so that every replica started afterwards refused it.
    let deleted = z
      .number()
      .parse(
        await client.sendCommand([
          'EVAL',
          RESET_SCRIPT,
          '7',
          keys.log,
          keys.snapshot,
          keys.trimmed,
          keys.epoch,
          keys.lost,
          keys.probe,
          keys.owner,
          randomBytes(9).toString('base64url'),
        ]),
      );
    // A replica stopped mid-write leaves its pieces for 5 minutes: gone with the log they belong to.
    for await (const batch of client.scanIterator({ MATCH: `${globEscaped(keys.snapshotPieces)}*`, COUNT: 1000 })) {
      if (batch.length > 0) deleted += await client.del(batch);
    }
    // What a replica started now finds: the new epoch, and no mark.
    const [epoch, , lost] = initReply.parse(await client.sendCommand(initArgs(keys, undefined)));
    if (epoch === '' || lost !== '') throw new Error(`the new log was marked lost meanwhile (${keys.lost}: ${lost}); run reset-redis again`);
    return `reset ${redactedRedisUrl(url)} ${keys.log}: deleted ${deleted} keys (a log of ${entries ?? 'unknown'} entries${stored === null ? '' : ` owned by ${JSON.stringify(stored)}`}); restart every replica`;
  };
  try {
    io.out(
      await withTimeout(
        reset(),
        deadlineMs,
        `no answer within ${deadlineMs / 1000} s (the reset may or may not have happened: run it again once Redis answers)`,
      ),
    );
    return 0;
  } catch (error) {
    if (error instanceof ResetRefused) {
      io.err(`statusmate-exporter reset-redis: ${redactedRedisUrl(url)}: ${error.message}`);
      return 1;
    }
    const cause = broken ?? error;
    const message = cause instanceof Error ? cause.message : String(cause);
    const hint = /RESP/.test(message) ? ' (the server there does not speak Redis: check the port of REDIS_URL)' : '';
    io.err(`statusmate-exporter reset-redis: ${redactedRedisUrl(url)}: ${message}${hint}`);
    return 1;
  } finally {
    client.destroy();
  }
}

/** `text` matched literally by a Redis glob (MATCH): its `*`, `?`, `[`, `]` and `\` escaped. */
export function globEscaped(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
