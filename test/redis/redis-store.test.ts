import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/domain/reducer.js';
import { encodeEntry } from '../../src/log/entry.js';
import { PRUNE_WINDOW_SECONDS } from '../../src/log/fold-loop.js';
import { redisKeys } from '../../src/store/redis-format.js';
import { domainSamples, LogCapture, makeApp, sampleValue, tempDir, whenReady, type TestApp, type TestAppOptions } from '../support/app.js';
import { createLogger } from '../../src/logger.js';
import { componentUpdate, incident, affects } from '../support/events.js';
import { REFUSING_STORE } from '../../src/log/fold-loop.js';
import { eventually, redisStore, redisTool, startRedis, type RedisStoreTestOptions, type RedisServer, redisPerTest } from '../support/redis.js';

const entryFields = (origin: string, event: StatusMateEvent, limits: Limits, retention: number) =>
  Object.entries(encodeEntry(origin, event, limits, retention)).flat();
const SNAPSHOT_OFTEN = { snapshots: { checkMs: 50, maxAgeMs: 0 } };

// The fold loop on RedisStore in process, two or three apps on one real redis-server: what the fold guarantees.

const KEYS = redisKeys('statusmate:');
const component = (n: number, impact: string, extra: Record<string, unknown> = {}) => ({
  meta: {
    type: 'component_impact_updated',
    uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    title: `C${n}`,
    impact,
    created_at: `2026-01-01T10:${String(n % 60).padStart(2, '0')}:00Z`,
    ...extra,
  },
});

const fixture = redisPerTest();

const open = async (options: Partial<RedisStoreTestOptions> = {}, appOptions: TestAppOptions = {}) => {
  const app = await makeApp({ ...appOptions, store: redisStore({ url: fixture.server.url, ...options }) });
  fixture.apps.push(app);
  await whenReady(app);
  return app;
};
const post = (app: TestApp, body: unknown) => request(app.main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify(body));
const metrics = async (app: TestApp) => (await request(app.main).get('/metrics')).text;
/** Rewrites the stream KEYS[1] without the entries ARGV names, in one step, its consumer group kept: the stream a restore gives. */
const REWRITE_WITHOUT = `
local drop = {}
for _, id in ipairs(ARGV) do drop[id] = true end
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
redis.call('DEL', KEYS[1])
redis.call('XGROUP', 'CREATE', KEYS[1], 'statusmate-exporter', '$', 'MKSTREAM')
for _, entry in ipairs(entries) do
  if not drop[entry[1]] then redis.call('XADD', KEYS[1], entry[1], unpack(entry[2])) end
end
return #entries`;

const raw = async () => {
  const client = createClient({ url: fixture.server.url, RESP: 2 });
  await client.connect();
  return client;
};

/** A replica that snapshots 12 components in pieces of 200 characters, and that snapshot's hash once it holds all 12. */
async function piecedSnapshot(): Promise<{ writer: TestApp; fields: Record<string, string> }> {
  const writer = await open({}, { snapshots: { checkMs: 50, maxAgeMs: 0, pieceChars: 200 } });
  for (let n = 0; n < 12; n++) expect((await post(writer, component(n, 'partial_outage'))).status).toBe(200);
  const client = await raw();
  try {
    const fields = await eventually(
      () => client.hGetAll(KEYS.snapshot),
      // The first snapshot may come before every event was folded: wait for one that holds them all.
      (hash) => Object.values(hash).some((value) => value.includes('00000000-0000-4000-8000-000000000011')),
    );
    return { writer, fields };
  } finally {
    client.destroy();
  }
}

/** A snapshot's hash as the release before pieces writes it: format 3, its whole text in `data`. */
function beforePieces(hash: Record<string, string>): Record<string, string> {
  const { id = '', t = '', n = '1', ...text } = hash;
  return { v: '3', id, t, data: Array.from({ length: Number(n) }, (_, i) => text[i === 0 ? 'data' : `data:${i}`] ?? '').join('\n') };
}

describe.skipIf(redisTool.skipReason !== undefined)('STORE=redis, replicas in one process', () => {
  it('serves the log time folded to: the same on replicas at the same entry, moving on with each entry folded', async () => {
    const [a, b] = [await open(), await open()];
    const folded = async (app: TestApp) => sampleValue(await metrics(app), 'statusmate_store_folded_timestamp_seconds', {});
    const converged = () =>
      eventually(
        async () => [await folded(a), await folded(b)],
        ([x, y]) => x !== undefined && x === y,
      );
    expect((await post(a, component(1, 'major_outage'))).body.status).toBe('applied');
    const [first] = await converged();
    expect(first).toBeGreaterThan(Date.now() / 1000 - 60);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await post(b, component(2, 'major_outage'))).body.status).toBe('applied');
    const [second] = await converged();
    expect(second).toBeGreaterThan(first ?? Infinity);
  });

  it('warns once at start when Redis may evict its keys, and not under noeviction', async () => {
    const client = await raw();
    try {
      const quiet = await open();
      expect(quiet.logs.lines.filter((line) => String(line.msg).startsWith('Redis may evict keys'))).toEqual([]);
      await client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
      const warned = await open();
      expect(warned.logs.lines.filter((line) => String(line.msg).startsWith('Redis may evict keys'))).toEqual([
        expect.objectContaining({ level: 'warn', maxmemory_policy: 'allkeys-lru' }),
      ]);
    } finally {
      await client.close();
    }
  });

  it('answers every event with the same outcome whichever replica gets it, and all replicas render the same state', async () => {
    const [a, b] = [await open(), await open()];
    expect((await post(a, component(1, 'major_outage'))).body.status).toBe('applied');
    // The same event re-sent by StatusMate to the other replica is a duplicate there.
    expect((await post(b, component(1, 'major_outage', { delivery_attempt: 1 }))).body.status).toBe('duplicate');
    expect((await post(b, component(1, 'operational', { created_at: '2026-01-01T11:00:00Z' }))).body.status).toBe('applied');
    // Older than what the other replica applied: stale on this one too.
    expect((await post(a, component(1, 'partial_outage', { created_at: '2026-01-01T09:00:00Z' }))).body.status).toBe('stale');
    const expected = domainSamples(await metrics(b));
    expect(sampleValue(expected.join('\n'), 'statusmate_component_impact_level', {})).toBe(0);
    await eventually(
      async () => domainSamples(await metrics(a)),
      (samples) => JSON.stringify(samples) === JSON.stringify(expected),
    );
  });

  it('keeps every key under one hash tag, and stores each event once in the log', async () => {
    const [a, b] = [await open(), await open()];
    await post(a, component(1, 'major_outage'));
    await post(b, component(2, 'major_outage'));
    const client = await raw();
    try {
      const keys = await client.keys('*');
      expect(keys).toContain(KEYS.log);
      expect(keys).toContain(KEYS.epoch);
      for (const key of keys) expect(key.startsWith('{statusmate}:')).toBe(true);
      expect(KEYS.log).toBe('{statusmate}:log');
      expect(await client.xLen(KEYS.log)).toBe(2);
    } finally {
      client.destroy();
    }
  });

  it('keeps the pages and components declared in its status pages file out of its snapshots, and shows them all the same', async () => {
    const file = join(tempDir(), 'status-pages.yaml');
    writeFileSync(file, 'status_pages:\n  - id: declared\n    components:\n      - uuid: 00000000-0000-4000-8000-0000000000d1\n        name: Declared\n');
    // The event below goes to the default page, which the file does not declare: learnt.
    const app = await makeApp({ statusPagesFile: file, learnStatusPages: true, store: redisStore({ url: fixture.server.url }), ...SNAPSHOT_OFTEN });
    fixture.apps.push(app);
    await whenReady(app);
    expect((await post(app, component(1, 'major_outage'))).status).toBe(200);
    const client = await raw();
    try {
      const data = await eventually(
        () => client.hGet(KEYS.snapshot, 'data'),
        // The first snapshot may come before the event was folded: wait for one that holds it.
        (value) => value?.includes('00000000-0000-4000-8000-000000000001') === true,
      );
      // Format 4 (format 3's lines, here in one piece): a header line, then [kind, value] lines (src/log/snapshot.ts).
      const lines = (data ?? '')
        .split('\n')
        .slice(1)
        .map((line) => JSON.parse(line) as [string, { statusPage: string; uuid: string }]);
      expect(lines.filter(([kind]) => kind === 'page').map(([, page]) => page.statusPage)).toEqual(['default']);
      expect(lines.filter(([kind]) => kind === 'component').map(([, c]) => c.uuid)).toEqual(['00000000-0000-4000-8000-000000000001']);
    } finally {
      client.destroy();
    }
    expect(sampleValue(await metrics(app), 'statusmate_component_impact_level', { component: 'Declared' })).toBe(0);
  });

  it('snapshots and trims the log, and a replica started later loads the snapshot and converges', async () => {
    const a = await open({}, SNAPSHOT_OFTEN);
    for (let n = 0; n < 30; n++) expect((await post(a, component(n, 'major_outage'))).status).toBe(200);
    const client = await raw();
    try {
      await eventually(
        () => client.hGet(KEYS.snapshot, 'id'),
        (id) => id !== null,
      );
      // A second snapshot trims the log below the first.
      for (let n = 30; n < 40; n++) await post(a, component(n, 'major_outage'));
      await eventually(
        () => client.get(KEYS.trimmed),
        (trimmed) => trimmed !== null,
      );
      expect(await client.xLen(KEYS.log)).toBeLessThan(40);
    } finally {
      client.destroy();
    }
    const late = await open();
    expect(late.ingestor.state.componentCount).toBe(40);
    expect(late.logs.lines.some((line) => line.msg === 'log opened; folding from here' && line.folded_to !== '0-0')).toBe(true);
    expect(domainSamples(await metrics(late))).toEqual(domainSamples(await metrics(a)));
  });

  it('keeps a snapshot one hash field a piece, and a replica started later loads it, or one written before pieces', async () => {
    // Pieces of 200 characters: the snapshot takes several fields.
    const { writer: a, fields } = await piecedSnapshot();
    expect(fields.v).toBe('5');
    const n = Number(fields.n);
    expect(n).toBeGreaterThan(3);
    const pieces = Array.from({ length: n }, (_, i) => fields[i === 0 ? 'data' : `data:${i}`] ?? '');
    expect(Object.keys(fields).sort()).toEqual(['data', ...pieces.slice(1).map((_, i) => `data:${i + 1}`), 'id', 'n', 't', 'v'].sort());
    // Each piece is whole lines: the text is them joined by newlines.
    for (const line of pieces.join('\n').split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
    const late = await open();
    expect(domainSamples(await metrics(late))).toEqual(domainSamples(await metrics(a)));
    for (const app of fixture.apps.splice(0)) await app.close();

    // The last snapshot as the release before pieces wrote it: format 3, the text in `data`, no `n`.
    const rewrite = await raw();
    try {
      const old = beforePieces(await rewrite.hGetAll(KEYS.snapshot));
      await rewrite.del(KEYS.snapshot);
      await rewrite.hSet(KEYS.snapshot, old);
    } finally {
      rewrite.destroy();
    }
    const upgraded = await open();
    expect(upgraded.ingestor.state.componentCount).toBe(12);
    expect(upgraded.logs.lines.some((line) => line.msg === 'log opened; folding from here' && line.folded_to !== '0-0')).toBe(true);
  });

  it('entries Redis lost under open connections (a restore, a proxied failover): the replicas that folded them reload, and agree with one started afterwards', async () => {
    const [a, b] = [await open(), await open()];
    expect((await post(a, component(1, 'major_outage'))).status).toBe(200);
    const client = await raw();
    let lost: string[];
    try {
      const before = (await client.xRange(KEYS.log, '-', '+')) ?? [];
      expect((await post(b, component(2, 'major_outage'))).status).toBe(200);
      expect((await post(a, component(3, 'major_outage'))).status).toBe(200);
      const after = (await client.xRange(KEYS.log, '-', '+')) ?? [];
      lost = after.slice(before.length).map((entry) => entry.id);
      // Redis forgets the last two entries; nobody's connection drops. As a restore or a failover
      // leaves the stream: without them, and without a count of entries removed (an XDEL would
      // count them, which a replica starting without a snapshot refuses as a hand's removal).
      await client.sendCommand(['EVAL', REWRITE_WITHOUT, '1', KEYS.log, ...lost]);
    } finally {
      client.destroy();
    }
    expect((await post(b, component(4, 'major_outage'))).status).toBe(200);
    const late = await open();
    const expected = domainSamples(await metrics(late));
    expect(expected.some((line) => line.includes('000000000002'))).toBe(false);
    for (const app of [a, b]) {
      await eventually(
        async () => domainSamples(await metrics(app)),
        (samples) => JSON.stringify(samples) === JSON.stringify(expected),
      );
      expect(app.logs.lines.some((line) => String(line.msg).startsWith('the log no longer holds the entries after the last one folded'))).toBe(true);
    }
  });

  it('reads a snapshot that a replica of the release before pieces wrote over a pieced one as its one data field', async () => {
    // That release commits with HSET v id t data over the hash (a rolling upgrade, its SIGTERM's
    // last snapshot): the `n` and `data:<i>` of the pieced snapshot it replaced stay beside its own.
    const { fields } = await piecedSnapshot();
    expect(Number(fields.n)).toBeGreaterThan(3);
    for (const app of fixture.apps.splice(0)) await app.close();
    const client = await raw();
    try {
      // As that release's SNAPSHOT_SCRIPT writes it: no DEL first.
      await client.hSet(KEYS.snapshot, beforePieces(await client.hGetAll(KEYS.snapshot)));
    } finally {
      client.destroy();
    }
    const upgraded = await open();
    expect(upgraded.logs.lines.filter((line) => line.msg === REFUSING_STORE)).toEqual([]);
    expect(upgraded.ingestor.state.componentCount).toBe(12);
  });

  it('sends a snapshot a piece at a time into a key of its own that expires until committed; no such key outlives a commit, a failed write, a newer snapshot or lost pieces', async () => {
    // No snapshot of its own during the test (the first check comes after a minute).
    const a = await open({}, { snapshots: { checkMs: 60_000 } });
    await post(a, component(1, 'major_outage'));
    const client = await raw();
    const pattern = '{statusmate}:snapshot:pieces:*';
    // One command, so that it runs between two of the store's.
    const PIECES_TTL = "local k = redis.call('KEYS', ARGV[1]) if #k == 0 then return -3 end return redis.call('PTTL', k[1])";
    const DELETE_PIECES = "local k = redis.call('KEYS', ARGV[1]) for _, key in ipairs(k) do redis.call('DEL', key) end return #k";
    const piecesKeys = () => client.keys(pattern);
    /** Three pieces; when the third is asked for, the first two were answered, and `meanwhile` runs. */
    function* pieces(meanwhile: () => void): Generator<string> {
      yield '{"piece":0}';
      yield '{"piece":1}';
      meanwhile();
      yield '{"piece":2}';
    }
    try {
      const first = await a.store.tip(a.store.origin);
      const write = (position: string, meanwhile: () => void = () => {}) =>
        a.store.writeSnapshot({ position, time: first.time, format: '4', data: pieces(meanwhile) });

      // A write whose pieces refuse to be read on (the fold moved on) fails, and its key goes.
      // The key is looked at by redis-cli, synchronously: answered before the store can send its
      // DEL. A command on another connection, sent first, could still reach Redis after the DEL
      // on a loaded machine (both sockets readable at once): the key was then gone (-3).
      let ttl = Number.NaN;
      await expect(
        write(first.position, () => {
          ttl = Number(
            execFileSync('redis-cli', ['-u', fixture.server.url, '--no-raw', 'EVAL', PIECES_TTL, '0', pattern], { encoding: 'utf8' }).replace(
              /^\(integer\) /,
              '',
            ),
          );
          throw new Error('the fold moved on');
        }),
      ).rejects.toThrow('the fold moved on');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300_000);
      await eventually(piecesKeys, (keys) => keys.length === 0);

      // A commit: the pieces become the snapshot's fields, and their key is gone, expiry and all.
      expect(await write(first.position)).toBe(true);
      const hash = await client.hGetAll(KEYS.snapshot);
      expect(hash).toMatchObject({ id: first.position, n: '3', v: '4', data: '{"piece":0}', 'data:1': '{"piece":1}', 'data:2': '{"piece":2}' });
      expect(await client.pTTL(KEYS.snapshot)).toBe(-1);
      expect(await piecesKeys()).toEqual([]);

      // Not newer than the stored one: not written, nothing left.
      expect(await write(first.position)).toBe(false);
      expect(await piecesKeys()).toEqual([]);

      // Pieces deleted while written (expired, or an operator's DEL): the commit refuses, nothing left.
      await post(a, component(2, 'major_outage'));
      const second = await a.store.tip(a.store.origin);
      await expect(write(second.position, () => void client.sendCommand(['EVAL', DELETE_PIECES, '0', pattern]))).rejects.toThrow(
        'pieces of the snapshot were lost while it was written',
      );
      expect(await piecesKeys()).toEqual([]);
      expect((await client.hGet(KEYS.snapshot, 'id')) ?? '').toBe(first.position);

      // Two writes at once (one the fold stopped waiting for, and the next): each sends into a key
      // of its own, one is committed whole, the other finds it stored and is not written.
      function* named(name: string): Generator<string> {
        for (let i = 0; i < 3; i++) yield `{"${name}":${i}}`;
      }
      const both = await Promise.all(
        ['x', 'y'].map((name) => a.store.writeSnapshot({ position: second.position, time: second.time, format: '4', data: named(name) })),
      );
      expect([...both].sort()).toEqual([false, true]);
      const winner = both[0] ? 'x' : 'y';
      expect(await client.hGetAll(KEYS.snapshot)).toMatchObject({
        id: second.position,
        n: '3',
        data: `{"${winner}":0}`,
        'data:1': `{"${winner}":1}`,
        'data:2': `{"${winner}":2}`,
      });
      expect(await piecesKeys()).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it('a snapshot written over a flushed or replaced log fails in the words a read would use: gone, or replaced by which epoch', async () => {
    // No snapshot or check of its own during the test: the write below is the first to meet the flush.
    const a = await open({}, { snapshots: { checkMs: 60_000 } });
    await post(a, component(1, 'major_outage'));
    const tip = await a.store.tip(a.store.origin);
    const write = () => a.store.writeSnapshot({ position: tip.position, time: tip.time, format: '4', data: ['{}'] });
    const client = await raw();
    try {
      await client.flushAll();
      await expect(write()).rejects.toThrow(/epoch \(\{statusmate\}:epoch\) is gone: Redis was flushed/);
      await client.set(KEYS.epoch, 'another-epoch');
      await expect(write()).rejects.toThrow(/was replaced: its epoch is another-epoch, this replica folded epoch /);
    } finally {
      client.destroy();
    }
  });

  it('prunes at the same log entry on every replica, with the retention the appender sent', async () => {
    const [a, b] = [await open(), await open()];
    const client = await raw();
    const t0 = Date.UTC(2026, 0, 1);
    const add = (ms: number, fields: string[]) => client.sendCommand(['XADD', KEYS.log, `${ms}-0`, ...fields]);
    const limits = DEFAULT_LIMITS;
    try {
      await add(t0, entryFields('test:1', incident('incident_created', 1, t0 / 1000, [affects(1, 'major_outage')]), limits, 60));
      await add(t0 + 1000, entryFields('test:2', incident('incident_finished', 1, t0 / 1000 + 1, []), limits, 60));
      await add(t0 + 2000, entryFields('test:3', componentUpdate(2, 'major_outage', null), limits, 60));
      for (const app of [a, b]) {
        await eventually(
          () => app.ingestor.state.componentCount,
          (count) => count === 2,
        );
        expect(app.ingestor.state.pages.get('page-a')?.incidents.size).toBe(1);
        expect(app.ingestor.state.seen.size).toBe(3);
      }
      // The first entry of the next prune window forgets what is older than its retention (60 s).
      const later = (Math.floor(t0 / 1000 / PRUNE_WINDOW_SECONDS) + 1) * PRUNE_WINDOW_SECONDS * 1000 + 5;
      await add(later, entryFields('test:4', componentUpdate(3, 'operational', null), limits, 60));
      for (const app of [a, b]) {
        await eventually(
          () => app.ingestor.state.componentCount,
          (count) => count === 3,
        );
        expect(app.ingestor.state.pages.get('page-a')?.incidents.size).toBe(0);
        expect([...app.ingestor.state.seen.values()]).toEqual([later / 1000]);
      }
    } finally {
      client.destroy();
    }
  });

  it('refuses a log entry of a newer format: not ready, webhooks 503, one clear log line', async () => {
    const a = await open();
    const client = await raw();
    try {
      await client.sendCommand(['XADD', KEYS.log, '*', 'v', '99', 'x', 'from a newer exporter']);
    } finally {
      client.destroy();
    }
    await eventually(
      () =>
        request(a.main)
          .get('/readyz')
          .then((r) => r.status),
      (status) => status === 503,
    );
    expect((await post(a, component(1, 'major_outage'))).status).toBe(503);
    expect(sampleValue(await metrics(a), 'statusmate_store_up')).toBe(0);
    const refusals = a.logs.lines.filter((line) => line.msg === REFUSING_STORE);
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0]?.reason)).toContain('has format 99, newer than this exporter reads');
  });

  it('while Redis is down answers 503 fast, keeps serving the last state, and is ready again once it is back', async () => {
    const a = await open();
    await post(a, component(1, 'major_outage'));
    const before = domainSamples(await metrics(a));
    await fixture.server.stop('SIGKILL');
    await eventually(
      () =>
        request(a.main)
          .get('/readyz')
          .then((r) => r.status),
      (status) => status === 503,
    );
    const started = Date.now();
    expect((await post(a, component(2, 'major_outage'))).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_000);
    const text = await metrics(a);
    expect(domainSamples(text)).toEqual(before);
    expect(sampleValue(text, 'statusmate_store_up')).toBe(0);

    await fixture.server.restart();
    await whenReady(a);
    expect((await post(a, component(2, 'major_outage'))).body.status).toBe('applied');
    expect(a.ingestor.state.componentCount).toBe(2);
    expect(a.logs.raw.join('\n')).not.toMatch(/password|s3cret/);
  });

  it('with REDIS_WAIT_REPLICAS above the replicas Redis has, answers 503 and counts the event once when retried', async () => {
    const a = await open({ waitReplicas: 1 });
    expect((await post(a, component(1, 'major_outage'))).status).toBe(503);
    // The append is in the log nonetheless: the retry is a duplicate, never a second count.
    expect((await post(a, component(1, 'major_outage', { delivery_attempt: 1 }))).status).toBe(503);
    await eventually(
      () => a.ingestor.state.componentCount,
      (count) => count === 1,
    );
    expect(a.ingestor.state.seen.size).toBe(1);
    // Not ready while no write is replicated: the probe waits for the replicas as an append does.
    await eventually(
      async () => (await request(a.main).get('/readyz')).status,
      (status) => status === 503,
      5_000,
    );
    expect(await metrics(a)).toMatch(/^statusmate_store_up 0$/m);
  });

  it('snapshots in a format the previous release refuses: its stamps order ties by type, which that release would drop and write back', async () => {
    // The log of the previous release's replicas: events of format 1, an update and an incident
    // naming its component in one created_at second, the update first (ties by arrival: the incident stands).
    const at = Math.floor(Date.now() / 1000) - 120;
    const client = await raw();
    try {
      const old = [componentUpdate(1, 'degraded_performance', at), incident('incident_created', 1, at, [affects(1, 'major_outage')])];
      for (const [i, event] of old.entries()) {
        await client.sendCommand(['XADD', KEYS.log, '*', ...Object.entries({ ...encodeEntry(`old:${i}`, event, DEFAULT_LIMITS, 3600), v: '1' }).flat()]);
      }
    } finally {
      client.destroy();
    }
    const a = await open({}, SNAPSHOT_OFTEN);
    const impact = (app: TestApp, n: number) =>
      app.ingestor.state.pages.get('page-a')?.components.get(`00000000-0000-4000-8000-${String(n).padStart(12, '0')}`)?.impact;
    expect(impact(a, 1)).toBe('major_outage');
    // The same tie on another component, sent now (format 6: ties by type, so the update stands).
    for (const event of [componentUpdate(2, 'degraded_performance', at), incident('incident_created', 2, at, [affects(2, 'major_outage')])]) {
      expect((await a.ingestor.ingest(event, Date.now())).outcome).toBe('applied');
    }
    expect(impact(a, 2)).toBe('degraded_performance');
    const reader = await raw();
    let format: string | undefined;
    try {
      const hash = await eventually(
        () => reader.hGetAll(KEYS.snapshot),
        (fields) => Object.values(fields).some((value) => value.includes('00000000-0000-4000-8000-000000001002')),
      );
      format = hash.v;
    } finally {
      reader.destroy();
    }
    // The previous release reads snapshot formats 1 to 4. Given this one as format 4 it would read
    // the stamps without their tie order, serve as ready, and write them back so: a replica of this
    // release loading that would take the next tie at the same second by arrival, unlike the others.
    expect(['1', '2', '3', '4']).not.toContain(format);
    // This release reads it: a replica started on it serves what the writer serves.
    const b = await open();
    expect(impact(b, 1)).toBe('major_outage');
    expect(impact(b, 2)).toBe('degraded_performance');
    expect(domainSamples(await metrics(b)).filter((line) => !line.startsWith('statusmate_component_impact_seconds_total'))).toEqual(
      domainSamples(await metrics(a)).filter((line) => !line.startsWith('statusmate_component_impact_seconds_total')),
    );
  });

  it('refuses a snapshot of a newer format at start: not ready, one clear log line', async () => {
    const client = await raw();
    try {
      await client.hSet(KEYS.snapshot, { v: '6', id: '1-0', t: '0', data: '{}' });
    } finally {
      client.destroy();
    }
    const app = await makeApp({ store: redisStore({ url: fixture.server.url }) });
    fixture.apps.push(app);
    await eventually(
      () => app.logs.lines.filter((line) => line.msg === REFUSING_STORE),
      (lines) => lines.length === 1,
    );
    expect((await request(app.main).get('/readyz')).status).toBe(503);
    expect(String(app.logs.lines.find((line) => line.reason !== undefined)?.reason)).toContain('snapshot has format 6; this exporter reads format 5');
    expect((await post(app, component(1, 'major_outage'))).status).toBe(503);
  });
});

describe.skipIf(redisTool.skipReason !== undefined)('STORE=redis with a password and a database number', () => {
  let secured: RedisServer | undefined;
  afterEach(async () => secured?.stop('SIGKILL'));

  it('authenticates, keeps its keys in that database, and never logs the password', async () => {
    secured = await startRedis({ password: 's3cret-pw' });
    const url = `redis://default:s3cret-pw@127.0.0.1:${secured.port}/3`;
    const app = await makeApp({ store: redisStore({ url }) });
    fixture.apps.push(app);
    await whenReady(app);
    expect((await post(app, component(1, 'major_outage'))).body.status).toBe('applied');
    const client = createClient({ url, RESP: 2 });
    await client.connect();
    try {
      expect(await client.xLen(KEYS.log)).toBe(1);
      await client.select(0);
      expect(await client.exists(KEYS.log)).toBe(0);
    } finally {
      client.destroy();
    }
    const wrong = await makeApp({ store: redisStore({ url: `redis://default:not-the-pw@127.0.0.1:${secured.port}/3` }) });
    fixture.apps.push(wrong);
    await eventually(
      () => wrong.logs.lines.filter((line) => line.msg === 'Redis refuses the connection (its user, password or ACL); reconnecting with back-off'),
      (seen) => seen.length > 0,
    );
    // Redis' own words, not a Redis that does not answer.
    expect(wrong.logs.lines.filter((line) => line.msg === 'Redis unreachable; reconnecting with back-off')).toEqual([]);
    expect(wrong.logs.lines.find((line) => String(line.msg).startsWith('Redis refuses'))?.err).toMatch(/^WRONGPASS/);
    expect((await request(wrong.main).get('/readyz')).status).toBe(503);
    for (const logs of [app.logs.raw, wrong.logs.raw]) {
      expect(logs.join('\n')).not.toContain('s3cret-pw');
      expect(logs.join('\n')).not.toContain('not-the-pw');
    }
    expect(app.logs.raw.join('\n')).toContain(`redis://127.0.0.1:${secured.port}/3`);
  });
});

describe.skipIf(redisTool.skipReason !== undefined)('the store lease on a Redis that hangs (SIGSTOP)', () => {
  let hung: RedisServer | undefined;
  afterEach(async () => {
    hung?.child.kill('SIGCONT');
    await hung?.stop('SIGKILL');
  });

  it('is refused once its TTL passed, and its release gives up, rather than holding a loop or a shutdown', async () => {
    hung = await startRedis();
    const logs = new LogCapture();
    const store = redisStore({ url: hung.url })(createLogger('debug', logs));
    await store.open();
    try {
      expect(await store.lease('task', 'me', 1_000)).toBe(true);
      hung.child.kill('SIGSTOP');
      // Without a bound, both waited for as long as Redis stayed stopped: the test's own timeout.
      await expect(store.lease('task', 'me', 300)).rejects.toThrow('lease task: no answer from Redis within its 300 ms');
      await expect(store.releaseLease('task', 'me')).rejects.toThrow('no answer from Redis to its release');
    } finally {
      hung.child.kill('SIGCONT');
      await store.close();
    }
  });
});
