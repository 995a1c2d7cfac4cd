import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { ConfigError, loadConfig } from '../config.js';
import { initArgs } from '../store/redis.js';
import { redactedRedisUrl, redisKeys } from '../store/redis-format.js';
import { UsageError, type Io } from './io.js';

export const RESET_REDIS_USAGE = `statusmate-exporter reset-redis --yes
  Deletes the shared log, its snapshot (and any snapshot a replica left half-written), its epoch
  and the mark a replica left on finding it lost, under REDIS_URL and REDIS_KEY_PREFIX (read from
  the environment, as the exporter reads them), and starts a new, empty log (a new epoch) that
  replicas started afterwards fold. Replicas that refused the old one stay refused until
  restarted. Everything the log held is gone: restore Redis from a backup instead when you have one.`;

/** `statusmate-exporter reset-redis --yes`: the operator's way out of a lost or replaced log. */
export async function resetRedis(args: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args, options: { yes: { type: 'boolean', default: false } }, strict: true });
  if (!values.yes) throw new UsageError('reset-redis deletes the shared log and its snapshot; add --yes to do it');
  let url: string;
  let prefix: string;
  try {
    const config = loadConfig({ ...env, STORE: 'redis' });
    if (config.redisUrl === undefined) throw new UsageError('REDIS_URL is not set');
    url = config.redisUrl;
    prefix = config.redisKeyPrefix;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const keys = redisKeys(prefix);
  const client = createClient({ url, RESP: 2, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  try {
    await client.connect();
    let deleted = await client.del([keys.log, keys.snapshot, keys.trimmed, keys.epoch, keys.lost, keys.probe]);
    // A replica stopped mid-write leaves its pieces for 5 minutes: gone with the log they belong to.
    for await (const batch of client.scanIterator({ MATCH: `${globEscaped(keys.snapshotPieces)}*`, COUNT: 1000 })) {
      if (batch.length > 0) deleted += await client.del(batch);
    }
    // The new log's epoch at once: a replica still running on the old one then finds its epoch
    // replaced, not gone, and refuses without marking the new log lost.
    await client.sendCommand(initArgs(keys, undefined));
    io.out(`reset ${redactedRedisUrl(url)} ${keys.log}: deleted ${deleted} keys; restart every replica`);
    return 0;
  } catch (error) {
    io.err(`statusmate-exporter reset-redis: ${redactedRedisUrl(url)}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    client.destroy();
  }
}

/** `text` matched literally by a Redis glob (MATCH): its `*`, `?`, `[`, `]` and `\` escaped. */
export function globEscaped(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
