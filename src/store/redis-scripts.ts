import { randomBytes } from 'node:crypto';
import type { RedisKeys } from './redis-format.js';

// What runs inside Redis: the Lua scripts that make one step of the Redis store atomic (starting
// or adopting a log, committing a snapshot, taking and giving up a lease), each with its keys and
// arguments documented. Every key a script names shares the install's hash tag (redis-format.ts).

/**
 * Makes the log's epoch known: a fresh log gets one (ARGV[1]), with an empty stream, so that a
 * log deleted later is told from one never written; a log written before epochs is adopted.
 * But no new log is started where one was lost: when the caller folded an epoch (ARGV[2]) that
 * is gone, it marks the log lost (KEYS[3]) instead, and while that mark is there nobody starts
 * one (a replica restarted after a FLUSHALL would otherwise serve an empty state as if nothing
 * happened). Answers the epoch ('' when there is none), whether the stream is there, the mark
 * ('' when none), and the log's owner (KEYS[4]): ARGV[4] claims a log nobody owns yet; '' when the
 * caller names no owner or the log is lost. Only a caller that folds this epoch, or none yet,
 * claims it: a replica still running on the log reset-redis replaced is about to refuse the new
 * one, and would otherwise make it its install's, refusing the next install to start. With
 * ARGV[5] 'wait', no log at all (no epoch, no stream, no mark) is answered as it is ('' for all
 * but the stream's 0), and nothing is started: see NEW_LOG_WAIT_MS.
 */
export const INIT_SCRIPT = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  local lost = redis.call('GET', KEYS[3])
  if not lost and ARGV[2] ~= '' then
    lost = ARGV[2] .. ' ' .. ARGV[3]
    redis.call('SET', KEYS[3], lost)
  end
  if lost then return {'', redis.call('EXISTS', KEYS[2]), lost, ''} end
  if ARGV[5] == 'wait' and redis.call('EXISTS', KEYS[2]) == 0 then return {'', 0, '', ''} end
  -- The stream before the epoch: a script's writes before a failing command stay (an ACL that
  -- refuses XGROUP), and an epoch without its stream reads as a log deleted; a stream without an
  -- epoch is adopted by the next call.
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('XGROUP', 'CREATE', KEYS[2], 'statusmate-exporter', '$', 'MKSTREAM')
  end
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
local owner = ''
if ARGV[4] ~= '' then
  owner = redis.call('GET', KEYS[4])
  if not owner then
    owner = ''
    if ARGV[2] == '' or ARGV[2] == epoch then
      owner = ARGV[4]
      redis.call('SET', KEYS[4], owner)
    end
  end
end
return {epoch, redis.call('EXISTS', KEYS[2]), '', owner}
`;

/**
 * The arguments of INIT_SCRIPT: a fresh epoch should none exist, the one the caller folded (or
 * ''), the time for a mark, the caller's owner (or ''), and whether it may start a new log now.
 */
export function initArgs(keys: RedisKeys, folded: string | undefined, owner = '', startNow = true): string[] {
  return [
    'EVAL',
    INIT_SCRIPT,
    '4',
    keys.epoch,
    keys.log,
    keys.lost,
    keys.owner,
    randomBytes(9).toString('base64url'),
    folded ?? '',
    new Date().toISOString(),
    owner,
    startNow ? '' : 'wait',
  ];
}

/**
 * Commits a snapshot whose pieces were written into KEYS[5] (its fields `data`, `data:1`, …;
 * ARGV[5] of them), unless a newer one is stored or the log's epoch is not the writer's: the
 * pieces' key gets the snapshot's fields and replaces the snapshot whole (no piece of the one
 * before stays), and the log is trimmed below the snapshot it replaces (not below itself: a
 * replica a little behind still finds its next entry), and that trim recorded so a replica
 * further behind knows to reload. The trim comes first: the snapshot it replaces covers what it
 * removes, and one the trim refuses (an ACL without XTRIM) is not committed either, so that the
 * snapshot's age grows and says so, rather than a fresh snapshot over a log that only grows. One
 * script, so two replicas committing at once cannot interleave; every key shares the hash tag.
 * Answers 1 written, 0 a newer one is stored, -1 another epoch, -2 pieces missing (the key expired
 * or was deleted while written), or XTRIM's or RENAME's error; but for 1, the pieces' key is deleted.
 */
export const SNAPSHOT_SCRIPT = `
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
if redis.call('GET', KEYS[4]) ~= ARGV[4] then
  redis.call('DEL', KEYS[5])
  return -1
end
local current = redis.call('HGET', KEYS[1], 'id')
if current and not before(current, ARGV[1]) then
  redis.call('DEL', KEYS[5])
  return 0
end
if redis.call('HLEN', KEYS[5]) ~= tonumber(ARGV[5]) then
  redis.call('DEL', KEYS[5])
  return -2
end
if current then
  -- A script's writes before a failing command stay: nothing is written before it.
  local trimmed = redis.pcall('XTRIM', KEYS[2], 'MINID', current)
  if type(trimmed) == 'table' and trimmed.err then
    redis.call('DEL', KEYS[5])
    return {err = trimmed.err .. ' (XTRIM, which trims the log as a snapshot is committed: none was)'}
  end
  redis.call('SET', KEYS[3], current)
end
redis.call('HSET', KEYS[5], 'v', ARGV[2], 'id', ARGV[1], 't', ARGV[3], 'n', ARGV[5])
redis.call('PERSIST', KEYS[5])
-- A script's writes before a failing command stay: pieces left persisted by a refused RENAME (an
-- ACL without it) would stay for good, a copy of the state at every snapshot due.
local renamed = redis.pcall('RENAME', KEYS[5], KEYS[1])
if type(renamed) == 'table' and renamed.err then
  redis.call('DEL', KEYS[5])
  -- Redis' words name the script's line, not the command.
  return {err = renamed.err .. ' (RENAME, which commits a snapshot)'}
end
return 1
`;

/**
 * Trims the log below the stored snapshot (KEYS[1]) while Redis is out of memory, which no
 * snapshot can be written in: what the log holds before it, back to the snapshot before (the
 * commit trimmed below that one), is freed for the appends. Only for the epoch the caller folds
 * (KEYS[3] is ARGV[1]): a log replaced or reset under it is never trimmed. Only while the log
 * holds the snapshot's own entry: trimming below an id it lacks (a snapshot copied from another
 * log, an entry deleted by hand) would remove entries no snapshot covers, which the replicas
 * refuse instead. No command Redis refuses under `maxmemory` (denyoom): a script without a
 * shebang runs then, and only those fail. So the trim mark is not moved (SET is refused): a
 * replica whose next entry went finds the entry it folded last gone (LogBehind) and reloads this
 * snapshot, which covers what went; the next commit moves the mark. Answers the entries removed
 * and the snapshot's id, or -1 another epoch, -2 no snapshot or one whose entry the log lacks.
 */
export const RELIEF_TRIM_SCRIPT = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return {-1, ''} end
local id = redis.call('HGET', KEYS[1], 'id')
if not id or not string.match(id, '^%d+%-%d+$') then return {-2, ''} end
if #redis.call('XRANGE', KEYS[2], id, id) == 0 then return {-2, id} end
return {redis.call('XTRIM', KEYS[2], 'MINID', id), id}
`;

/**
 * How long the pieces of a snapshot being written live in Redis without a commit: a replica that
 * stopped mid-write leaves nothing behind for longer. Far above the time the fold waits for a write.
 */
export const SNAPSHOT_PIECES_TTL_MS = 300_000;

/** Takes the lease when free, renews it when the holder's own: 1; another holder's: 0. */
export const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** Deletes the lease only if the holder's own. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
