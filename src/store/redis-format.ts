// What STORE=redis keeps in Redis (the entries' and the snapshot's own formats are in src/log/):
//
// - `<tag>log`: a Stream; each entry's fields are one encoded event (src/log/entry.ts).
// - `<tag>snapshot`: a hash: `v` the snapshot format, `id` the last entry it covers, `t` that
//   entry's time, and the serialised state (src/log/snapshot.ts) in `n` pieces: `data`, then
//   `data:1` to `data:<n-1>` (a snapshot written before pieces has no `n`: `data` is all of it).
// - `<tag>snapshot:pieces:<replica>:<n>`: a snapshot being written by one replica, a piece at a
//   time, renamed to `<tag>snapshot` once whole; it expires (5 minutes) if the replica stops mid-write.
// - `<tag>trimmed`: the id below which a snapshot's commit trimmed the log. Out of memory, the log
//   is trimmed up to the snapshot's own entry without moving it (RELIEF_TRIM_SCRIPT): a replica
//   folded to an entry between the two finds that entry gone, and reloads the snapshot.
// - `<tag>epoch`: a random id written with the log. A replica remembers the epoch it folded; a
//   different or missing one means the log was flushed or replaced under it.
// - `<tag>lost`: written by a replica that finds the epoch it folded gone (a FLUSHALL, a DEL, a
//   failover to a replica without it): `<epoch> <ISO time>`. While it is there no replica starts a
//   new log; reset-redis deletes it (see RedisStore.tip).
// - `<tag>owner`: REDIS_LOG_OWNER of the install whose log this is, written by its first replica
//   (INIT_SCRIPT). A replica of another install (the same prefix given to two) refuses the log.
// - `<tag>probe`: rewritten by readiness checks, to prove Redis takes writes.
// - `<tag>lease:<name>` (`lease` is the prefix): the id of the replica holding a lease, expiring with it (PX).

export type RedisKeys = {
  log: string;
  snapshot: string;
  snapshotPieces: string;
  trimmed: string;
  epoch: string;
  lost: string;
  owner: string;
  probe: string;
  lease: string;
};

/**
 * The keys under a prefix. They share one hash tag, so that a Redis Cluster keeps them in one
 * slot (a Lua script touches several): `statusmate:` becomes `{statusmate}:log`. A prefix that
 * already holds a `{…}` tag is used as it is.
 */
export function redisKeys(prefix: string): RedisKeys {
  const tag = /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix.replace(/:+$/, '')}}:`;
  return {
    log: `${tag}log`,
    snapshot: `${tag}snapshot`,
    snapshotPieces: `${tag}snapshot:pieces:`,
    trimmed: `${tag}trimmed`,
    epoch: `${tag}epoch`,
    lost: `${tag}lost`,
    owner: `${tag}owner`,
    probe: `${tag}probe`,
    lease: `${tag}lease:`,
  };
}

/** The millisecond time of a stream id, in seconds. */
export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-'))) / 1000;
}

/** Whether stream id `a` sorts before `b`. */
export function idBefore(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

/** The URL without credentials, for log lines. */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'redis://(unparsable)';
  }
}
