import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { DEFAULT_ALERT_LIMITS, type StoredAlert } from '../../src/domain/alert-state.js';
import { encodeAlerts, encodeDeclare, encodeEntry, encodeForget, entryBytes } from '../../src/log/entry.js';
import { ageDueMs, DEFAULT_SNAPSHOT_POLICY } from '../../src/log/snapshot-policy.js';
import { decodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { MemoryLog } from '../../src/store/memory.js';
import { parseWebhook } from '../../src/webhook/schema.js';
import type { StatusMateEvent } from '../../src/domain/event.js';
import type { EntryFields, LogTip, SnapshotToWrite, StoredEntry } from '../../src/store/store.js';
import { makeApp, sampleValue, tempDir, type TestApp } from '../support/app.js';

// The fold loop's own promises, on the memory log: what it answers when, and what it never does.

const update = (n: number, impact: string, attempt = 0) => ({
  meta: {
    type: 'component_impact_updated',
    uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    title: `C${n}`,
    impact,
    created_at: `2026-03-01T10:${String(n % 60).padStart(2, '0')}:00Z`,
    delivery_attempt: attempt,
  },
});

/** An incident naming components 0 to 39: one event that makes a snapshot many times its own size. */
const wideIncident = (n: number) => ({
  meta: {
    type: 'incident_created',
    uuid: `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, '0')}`,
    title: 'Wide',
    created_at: '2026-03-01T09:00:00Z',
    start_at: '2026-03-01T09:00:00Z',
    affected_components: Array.from({ length: 40 }, (_, c) => ({
      impact: 'partial_outage',
      component_details: { name: `C${c}`, component_uuid: update(c, '').meta.uuid },
    })),
  },
});

/** A memory log whose appends can be held back, and that counts them. */
class GatedLog extends MemoryLog {
  appends = 0;
  private gate: Promise<void> = Promise.resolve();
  private open_: (() => void) | undefined;
  hold(): void {
    this.gate = new Promise((resolve) => (this.open_ = resolve));
  }
  release(): void {
    this.open_?.();
  }
  override async append(entries: EntryFields[]): Promise<(Error | null)[]> {
    this.appends += entries.length;
    await this.gate;
    return super.append(entries);
  }
}

/** A memory log that reads a snapshot's first piece, then, while held, waits before reading the rest (as a store sending them one by one). */
class LateReadingLog extends MemoryLog {
  private gate: Promise<void> | undefined;
  private open_: (() => void) | undefined;
  /** Whether a write is waiting at the gate. */
  holding = false;
  /** Writes whose late pieces were refused. */
  refusedLate = 0;
  /** The snapshots written after a stall. */
  stalled: { position: string; data: string[] }[] = [];
  hold(): void {
    this.gate = new Promise((resolve) => (this.open_ = resolve));
  }
  release(): void {
    this.gate = undefined;
    this.open_?.();
  }
  override async writeSnapshot(snapshot: SnapshotToWrite): Promise<boolean> {
    if (!this.gate) return super.writeSnapshot(snapshot);
    const pieces = snapshot.data[Symbol.iterator]();
    const first = pieces.next();
    this.holding = true;
    await this.gate;
    this.holding = false;
    let rest: string[];
    try {
      rest = [...{ [Symbol.iterator]: () => pieces }];
    } catch (error) {
      this.refusedLate += 1;
      throw error;
    }
    const data = [...(first.done ? [] : [first.value]), ...rest];
    const written = await super.writeSnapshot({ ...snapshot, data });
    if (written) this.stalled.push({ position: snapshot.position, data });
    return written;
  }
}

/** A memory log that counts the bytes of the entries appended (as the fold loop counts them). */
class CountingLog extends MemoryLog {
  appendedBytes = 0;
  lastBytes = 0;
  /** The fold loop's checks ask for the tip before they look at the snapshot: each call is one check under way. */
  tips = 0;
  override tip(from: string): Promise<LogTip> {
    this.tips += 1;
    return super.tip(from);
  }
  override append(entries: EntryFields[]): Promise<(Error | null)[]> {
    for (const fields of entries) {
      this.lastBytes = entryBytes(fields);
      this.appendedBytes += this.lastBytes;
    }
    return super.append(entries);
  }
}

/** A memory log whose snapshot writes fail, as a full disk refuses them, while `failing` is set. */
class RefusingSnapshotsLog extends MemoryLog {
  failing = true;
  /** Snapshot writes tried, and checks that asked which snapshot is stored (one a check, when entries were folded). */
  tries = 0;
  asked = 0;
  override writeSnapshot(snapshot: SnapshotToWrite): Promise<boolean> {
    this.tries += 1;
    if (this.failing) return Promise.reject(new Error('database or disk is full'));
    return super.writeSnapshot(snapshot);
  }
  override snapshotInfo(): ReturnType<MemoryLog['snapshotInfo']> {
    this.asked += 1;
    return super.snapshotInfo();
  }
  /** The stored snapshot, asked by the test: not counted as a check. */
  stored(): ReturnType<MemoryLog['snapshotInfo']> {
    return super.snapshotInfo();
  }
}

/** A memory log that notes, for each entry it hands out, which turn of the event loop its fold read it in. */
class TurnsLog extends MemoryLog {
  watching = false;
  turn = 0;
  readonly foldedInTurn = new Map<string, number>();
  override async read(after: string, max: number): Promise<StoredEntry[]> {
    const entries = await super.read(after, max);
    if (!this.watching) return entries;
    return entries.map(({ position, time, fields }) => {
      const noted = this.foldedInTurn;
      const turn = () => this.turn;
      return {
        position,
        time,
        get fields() {
          if (!noted.has(position)) noted.set(position, turn());
          return fields;
        },
      };
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A memory log whose reads of entries can be made to hang, as those of a paused Redis do (its commands have no timeout). */
class HangingReadLog extends MemoryLog {
  private gate: Promise<void> | undefined;
  private open_: (() => void) | undefined;
  hangReads(): void {
    this.gate = new Promise((resolve) => (this.open_ = resolve));
  }
  answerReads(): void {
    this.gate = undefined;
    this.open_?.();
  }
  override async read(after: string, max: number): Promise<StoredEntry[]> {
    if (this.gate) await this.gate;
    return super.read(after, max);
  }
}

let app: TestApp | undefined;

/** The alert measures of page `default` once an app folded `store`'s log (the app closed again): [count, sum] each. */
async function foldedAlertMeasures(store: MemoryLog) {
  app = await makeApp({ store });
  const stats = app.fold.state.alerts.pages.get('default');
  await app.close();
  app = undefined;
  return { response: [stats?.response.count, stats?.response.sum], recovery: [stats?.recoveryLag.count, stats?.recoveryLag.sum] };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/**
 * What `read` finds in an app that folded `events` as entries of `format`, as a log a release
 * appended with that format holds them (the app closed again).
 */
async function foldedAs<T>(events: readonly StatusMateEvent[], format: string, read: (app: TestApp) => Promise<T> | T): Promise<T> {
  const store = new MemoryLog();
  await store.append(events.map((event, i) => ({ ...encodeEntry(`r:${i}`, event, DEFAULT_LIMITS, 3600), v: format })));
  app = await makeApp({ store });
  const found = await read(app);
  await app.close();
  app = undefined;
  return found;
}

/** What these tests read of a component in GET /api/v1/availability (docs/api.md). */
type ReportedComponent = { uuid: string; known_since: string | null; seconds: Record<string, number> };

/** The availability report of today, a status page at a time. */
async function todaysReport(app: TestApp): Promise<{ components: ReportedComponent[] }[]> {
  const today = new Date().toISOString().slice(0, 10);
  const report = await request(app.main).get(`/api/v1/availability?from=${today}&to=${today}`);
  return (report.body as { status_pages: { components: ReportedComponent[] }[] }).status_pages;
}
const post = (body: unknown) =>
  request((app as TestApp).main)
    .post('/webhook')
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(body));

describe('the fold loop', () => {
  it('lets the servers listen, not ready, when the store stops answering while the start folds the log, and gets ready once it answers', async () => {
    const store = new HangingReadLog();
    const events = [1, 2, 3].map((n) => {
      const parsed = parseWebhook(update(n, 'major_outage'), 'default');
      if (parsed.kind !== 'event') throw new Error('expected an event');
      return parsed.event;
    });
    await store.append(events.map((event, i) => encodeEntry(`r:${i}`, event, DEFAULT_LIMITS, 3600)));
    store.hangReads();
    // Before, the start waited for the fold to reach the log's end as long as the store hung.
    app = await makeApp({ store });
    expect((await request(app.main).get('/healthz')).status).toBe(200);
    const notReady = await request(app.main).get('/readyz');
    expect(notReady.status).toBe(503);
    expect(app.ingestor.state.componentCount).toBe(0);
    store.answerReads();
    for (let i = 0; i < 200 && (await request(app.main).get('/readyz')).status !== 200; i++) await sleep(25);
    expect((await request(app.main).get('/readyz')).status).toBe(200);
    expect(app.ingestor.state.componentCount).toBe(3);
  });

  it('answers an event only once its entry is durable and folded, and the state never runs ahead of the log', async () => {
    const store = new GatedLog();
    app = await makeApp({ store });
    store.hold();
    let answered = false;
    const pending = post(update(1, 'major_outage')).then((response) => {
      answered = true;
      return response;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered).toBe(false);
    expect(app.ingestor.state.componentCount).toBe(0);
    store.release();
    expect((await pending).body.status).toBe('applied');
    expect(app.ingestor.state.componentCount).toBe(1);
  });

  it('answers a retry of a folded event duplicate without appending it', async () => {
    const store = new GatedLog();
    app = await makeApp({ store });
    expect((await post(update(1, 'major_outage'))).body.status).toBe('applied');
    const appends = store.appends;
    for (let attempt = 1; attempt <= 5; attempt++) expect((await post(update(1, 'major_outage', attempt))).body.status).toBe('duplicate');
    expect(store.appends).toBe(appends);
    // A first delivery with the same body is a new event, and is appended.
    expect((await post(update(1, 'major_outage'))).body.status).toBe('applied');
    expect(store.appends).toBe(appends + 1);
  });

  it('folds the events that arrived together in the order they were created: the newer first is not made stale by the older', async () => {
    app = await makeApp({ store: new MemoryLog() });
    const sink = app.ingestor;
    const at = (minute: number) => Date.parse(`2026-03-01T10:0${minute}:00Z`) / 1000;
    const event = (minute: number, impact: string): StatusMateEvent => ({
      type: 'component_impact_updated',
      statusPage: 'default',
      uuid: update(1, '').meta.uuid,
      name: 'C1',
      impact,
      createdAt: at(minute),
      deliveryAttempt: 0,
    });
    // One turn: one append. Arriving newest first, the older would be folded after the newer, and stale.
    const decisions = await Promise.all([
      sink.ingest(event(2, 'operational'), 0),
      sink.ingest(event(1, 'major_outage'), 0),
      sink.ingest(event(0, 'degraded_performance'), 0),
    ]);
    expect(decisions.map((decision) => decision.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(sink.state.pages.get('default')?.components.get(update(1, '').meta.uuid)?.impact).toBe('operational');
    // An event without a created_at has no place in time: the batch it joins keeps the order of arrival.
    const untimed = { ...event(4, 'major_outage'), uuid: update(2, '').meta.uuid, createdAt: null };
    const mixed = await Promise.all([sink.ingest(event(5, 'operational'), 0), sink.ingest(untimed, 0), sink.ingest(event(3, 'degraded_performance'), 0)]);
    expect(mixed.map((decision) => decision.outcome)).toEqual(['applied', 'applied', 'stale']);
    // Nor does one whose created_at is too far ahead to be trusted (MAX_CLOCK_SKEW_SECONDS).
    const ahead = { ...untimed, createdAt: Date.now() / 1000 + 3600 };
    const skewed = await Promise.all([sink.ingest(event(7, 'operational'), 0), sink.ingest(ahead, 0), sink.ingest(event(6, 'degraded_performance'), 0)]);
    expect(skewed.map((decision) => decision.outcome)).toEqual(['applied', 'applied', 'stale']);
  });

  it('counts the entries it folded and reports its lag and snapshot in /metrics', async () => {
    const store = new MemoryLog();
    app = await makeApp({ store, snapshots: { checkMs: 50, maxAgeMs: 0 } });
    for (let n = 0; n < 7; n++) await post(update(n, 'partial_outage'));
    // A snapshot may be taken between two of the posts (every 50 ms): wait for one that covers all seven.
    while ((await store.snapshotInfo())?.position !== '7') await new Promise((resolve) => setTimeout(resolve, 25));
    const text = (await request(app.main).get('/metrics')).text;
    expect(sampleValue(text, 'statusmate_store_snapshot_bytes')).toBeGreaterThan(0);
    expect(sampleValue(text, 'statusmate_store_entries_folded_total')).toBe(7);
    expect(sampleValue(text, 'statusmate_store_fold_lag_entries')).toBe(0);
    expect(sampleValue(text, 'statusmate_store_snapshot_failures_total')).toBe(0);
    expect(sampleValue(text, 'statusmate_store_reconnects_total')).toBe(0);
    expect(sampleValue(text, 'statusmate_store_snapshot_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(await store.snapshotInfo()).toMatchObject({ position: '7' });
  });

  it('folds nothing while a store reads a snapshot piece by piece: the snapshot is one state, and what arrived meanwhile is answered after', async () => {
    const store = new LateReadingLog();
    // Pieces of 64 characters: every snapshot takes several.
    app = await makeApp({ store, snapshots: { checkMs: 50, maxAgeMs: 0, pieceChars: 64 } });
    for (let n = 0; n < 3; n++) await post(update(n, 'partial_outage'));
    while ((await store.snapshotInfo())?.position !== '3') await sleep(25);
    store.hold();
    await post(update(3, 'major_outage'));
    // The loop is now inside a write of entry 4's state that read one piece, and waits for it.
    while (!store.holding) await sleep(10);
    let answered = false;
    const meanwhile = post(update(4, 'major_outage')).then((response) => {
      answered = true;
      return response;
    });
    await sleep(300);
    expect(answered).toBe(false);
    expect(app.ingestor.state.componentCount).toBe(4);
    store.release();
    expect((await meanwhile).body.status).toBe('applied');
    expect(app.ingestor.state.componentCount).toBe(5);
    // The snapshot written is entry 4's state, whole: four components.
    expect(store.stalled.map((written) => written.position)).toEqual(['4']);
    const stalled = store.stalled[0]?.data ?? [];
    expect(stalled.length).toBeGreaterThan(3);
    const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), stalled);
    expect(decoded.kind === 'state' && decoded.state.componentCount).toBe(4);
    expect(sampleValue((await request(app.main).get('/metrics')).text, 'statusmate_store_snapshot_failures_total')).toBe(0);
    // Its log line says how long the fold waited for it: at least the 300 ms the store was held.
    const line = app.logs.lines.find((logged) => logged.msg === 'wrote a snapshot' && logged.snapshot === '4');
    expect(Number(line?.ms)).toBeGreaterThanOrEqual(300);
  });

  it('waits for a snapshot write at most maxPauseMs: then the write fails, is counted, its late pieces are refused, and the next is written whole', async () => {
    const store = new LateReadingLog();
    app = await makeApp({ store, snapshots: { checkMs: 50, maxAgeMs: 0, pieceChars: 64, maxPauseMs: 300 } });
    store.hold();
    // Every write now stalls after its first piece; each event still gets its answer once the fold
    // stops waiting (a fold that waited on would leave it to the 5 s answer timeout: a 503).
    for (let n = 0; n < 3; n++) expect((await post(update(n, 'partial_outage'))).body.status).toBe('applied');
    while (!store.holding) await sleep(10);
    expect((await post(update(3, 'major_outage'))).body.status).toBe('applied');
    const failures = async () => sampleValue((await request((app as TestApp).main).get('/metrics')).text, 'statusmate_store_snapshot_failures_total');
    while ((await failures()) === 0) await sleep(25);
    expect(app.logs.lines.find((line) => line.msg === 'writing a snapshot failed; will try again')).toMatchObject({
      err: expect.stringContaining('was not written within 300 ms'),
    });
    // The stalled writes read their other pieces now: those of a state the fold has left are refused.
    store.release();
    while ((await store.snapshotInfo())?.position !== '4') await sleep(25);
    expect(store.refusedLate).toBeGreaterThan(0);
    const stored = await store.readSnapshot();
    const decoded = decodeSnapshot(stored?.format ?? '', stored?.data ?? []);
    expect(decoded.kind === 'state' && decoded.state.componentCount).toBe(4);
    const text = (await request(app.main).get('/metrics')).text;
    expect(sampleValue(text, 'statusmate_store_snapshot_bytes')).toBe((await store.readSnapshot())?.data.join('\n').length);
  });

  it('logs a snapshot write failing for one cause once, counts every try, and says how many failed once one is written', async () => {
    const store = new RefusingSnapshotsLog();
    app = await makeApp({ store, snapshots: { checkMs: 20, maxAgeMs: 0 } });
    expect((await post(update(1, 'partial_outage'))).body.status).toBe('applied');
    const failures = async () => sampleValue((await request((app as TestApp).main).get('/metrics')).text, 'statusmate_store_snapshot_failures_total');
    while (Number(await failures()) < 4) await sleep(20);
    const failed = app.logs.lines.filter((line) => line.msg === 'writing a snapshot failed; will try again');
    expect(failed).toEqual([expect.objectContaining({ level: 'warn', err: 'database or disk is full' })]);
    store.failing = false;
    while ((await store.snapshotInfo()) === null) await sleep(20);
    const tries = Number(await failures());
    const written = app.logs.lines.find((line) => line.msg === 'wrote a snapshot');
    expect(written?.failed_tries_before).toBe(tries);
    // Failing again, for another cause or the same, is news again.
    store.failing = true;
    expect((await post(update(2, 'major_outage'))).body.status).toBe('applied');
    while (Number(await failures()) < tries + 2) await sleep(20);
    expect(app.logs.lines.filter((line) => line.msg === 'writing a snapshot failed; will try again')).toHaveLength(2);
  });

  it('tries a snapshot that keeps failing less and less often: twice as many checks apart at each failure, up to 32, and at once again once one is written', async () => {
    const store = new RefusingSnapshotsLog();
    app = await makeApp({ store, snapshots: { checkMs: 10, maxAgeMs: 0 } });
    expect((await post(update(1, 'partial_outage'))).body.status).toBe('applied');
    // Due at every check: tried at the 1st, 2nd, 4th, 8th, 16th, 32nd, 64th, 96th… after the first failure.
    while (store.asked < 140) await sleep(20);
    const [asked, tries] = [store.asked, store.tries];
    expect(tries).toBeGreaterThanOrEqual(Math.floor(asked / 32));
    expect(tries).toBeLessThanOrEqual(7 + Math.ceil((asked - 64) / 32) + 1);
    // Every try counted, the cause said once.
    expect(Number(sampleValue((await request(app.main).get('/metrics')).text, 'statusmate_store_snapshot_failures_total'))).toBe(store.tries);
    expect(app.logs.lines.filter((line) => line.msg === 'writing a snapshot failed; will try again')).toHaveLength(1);
    // Written within 32 checks of the cause's end; after that, a failure is tried again at the next check.
    store.failing = false;
    const mended = store.asked;
    while ((await store.stored()) === null) await sleep(10);
    expect(store.asked - mended).toBeLessThanOrEqual(33);
    store.failing = true;
    expect((await post(update(2, 'major_outage'))).body.status).toBe('applied');
    const failed = store.tries;
    while (store.tries < failed + 2) await sleep(10);
  });

  it('writes the next snapshot once the entries since take as many bytes as the last one, not sooner', async () => {
    const store = new CountingLog();
    // Neither age nor entries decide here; the byte floor is 1: the bytes of the last snapshot do.
    app = await makeApp({ store, snapshots: { checkMs: 20, maxAgeMs: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER, maxBytes: 1 } });
    expect((await post(wideIncident(1))).body.status).toBe('applied');
    while ((await store.snapshotInfo())?.position !== '1') await sleep(10);
    const snapshotBytes = Number(sampleValue((await request(app.main).get('/metrics')).text, 'statusmate_store_snapshot_bytes'));
    const after = store.appendedBytes;
    let n = 0;
    while ((await store.snapshotInfo())?.position === '1') {
      expect(n).toBeLessThan(500);
      // Each event is folded, and a whole check has looked at it, before the next is sent, however
      // late the timer runs: checks never overlap, so the third tip asked from here starts a check
      // after one that began after the fold had ended (snapshot written or not).
      expect((await post(update(n % 40, n % 2 === 0 ? 'major_outage' : 'degraded_performance'))).body.status).toBe('applied');
      n += 1;
      const tips = store.tips;
      while (store.tips < tips + 3) await sleep(5);
    }
    const since = store.appendedBytes - after;
    // Written by the entry that took the bytes since past the snapshot's, not before: several small entries.
    expect(n).toBeGreaterThan(3);
    expect(since).toBeGreaterThanOrEqual(snapshotBytes);
    expect(since - store.lastBytes).toBeLessThan(snapshotBytes);
  });

  it('waits longer, by age alone, before rewriting a large snapshot for a few entries', async () => {
    const store = new CountingLog();
    // Entries and bytes never decide here. A snapshot of ageBytes is due after maxAgeMs; this one is
    // many times larger, so age alone makes the next due only after maxAgeCapMs.
    const policy = { checkMs: 20, maxAgeMs: 20, ageBytes: 100, maxAgeCapMs: 1_500, maxEntries: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };
    app = await makeApp({ store, snapshots: policy });
    expect((await post(wideIncident(2))).body.status).toBe('applied');
    while ((await store.snapshotInfo())?.position !== '1') await sleep(10);
    const snapshotBytes = Number(sampleValue((await request(app.main).get('/metrics')).text, 'statusmate_store_snapshot_bytes'));
    expect(ageDueMs(policy, snapshotBytes)).toBe(policy.maxAgeCapMs);
    const firstTime = (await store.snapshotInfo())?.time ?? 0;
    expect((await post(update(1, 'major_outage'))).body.status).toBe('applied');
    // Dozens of checks at 20 ms, each past maxAgeMs: none writes yet.
    await sleep(600);
    expect((await store.snapshotInfo())?.position).toBe('1');
    while ((await store.snapshotInfo())?.position === '1') await sleep(20);
    const waitedMs = Date.now() - firstTime * 1000;
    expect(waitedMs).toBeGreaterThanOrEqual(policy.maxAgeCapMs);
  });

  it('scales the age after which a snapshot is due with its size, up to a cap', () => {
    const mib = 1024 * 1024;
    expect(ageDueMs(DEFAULT_SNAPSHOT_POLICY, 0)).toBe(60_000);
    expect(ageDueMs(DEFAULT_SNAPSHOT_POLICY, mib)).toBe(60_000);
    expect(ageDueMs(DEFAULT_SNAPSHOT_POLICY, 5 * mib)).toBe(5 * 60_000);
    // The busy state at the default bounds: half an hour, below StatusMateStoreSnapshotStale's hour.
    expect(ageDueMs(DEFAULT_SNAPSHOT_POLICY, 36 * mib)).toBe(30 * 60_000);
  });

  it('folds a long run of entries a slice at a time, letting the event loop turn between slices', async () => {
    const store = new TurnsLog();
    const never = { maxAgeMs: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };
    const first = await makeApp({ store, snapshots: never });
    try {
      for (let n = 0; n < 250; n += 1) {
        const answer = await request(first.main).post('/webhook').send(update(n, 'major_outage'));
        expect(answer.body.status).toBe('applied');
      }
      // A second process on the same log folds all 250 at start, from one read: a probe or a
      // scrape that came meanwhile must not wait for all of them.
      store.watching = true;
      let ticking = true;
      const tick = () => {
        store.turn += 1;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      app = await makeApp({ store, snapshots: never });
      ticking = false;
      const turns = Array.from({ length: 250 }, (_, i) => store.foldedInTurn.get(String(i + 1)));
      expect(turns.every((turn) => turn !== undefined)).toBe(true);
      expect(new Set(turns.slice(0, 100)).size).toBe(1);
      expect(new Set(turns.slice(100, 200)).size).toBe(1);
      expect(turns[100] as number).toBeGreaterThan(turns[99] as number);
      expect(turns[200] as number).toBeGreaterThan(turns[199] as number);
      expect(sampleValue((await request(app.main).get('/metrics')).text, 'statusmate_store_entries_folded_total')).toBe(250);
    } finally {
      await first.close();
    }
  });

  it('answers 503 to events that arrive while it shuts down, and every accepted one before', async () => {
    const store = new GatedLog();
    app = await makeApp({ store });
    store.hold();
    const accepted = post(update(1, 'major_outage')).then((response) => response); // supertest sends once then'd
    while (store.appends === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const closing = app.close();
    const late = await post(update(2, 'major_outage'));
    expect(late.status).toBe(503);
    store.release();
    expect((await accepted).status).toBe(200);
    await closing;
    app = undefined;
  });
  it('folds an event entry as the release that appended it did: format 1 with ties of created_at by arrival, format 5 by type', async () => {
    // An update and an incident naming its component, in one created_at second, the update first.
    const at = Math.floor(Date.now() / 1000) - 60;
    const component = { uuid: 'c1', name: 'API', impact: 'major_outage' };
    const events: StatusMateEvent[] = [
      { type: 'component_impact_updated', statusPage: 'default', uuid: 'c1', name: 'API', impact: 'degraded_performance', createdAt: at, deliveryAttempt: 0 },
      {
        type: 'incident_created',
        statusPage: 'default',
        uuid: 'i1',
        title: 'Down',
        startAt: at,
        endAt: null,
        createdAt: at,
        deliveryAttempt: 0,
        components: [component],
      },
    ];
    const impactAfter = (format: string) => foldedAs(events, format, (app) => app.ingestor.state.pages.get('default')?.components.get('c1')?.impact);
    // By arrival, the incident came after the update and holds the component at its impact.
    expect(await impactAfter('1')).toBe('major_outage');
    // By type, the incident's create comes before the update of its second: the update stands.
    expect(await impactAfter('5')).toBe('degraded_performance');
  });

  it('re-books a late event of format 1 entries as the release that appended them did: its replay orders ties by arrival too', async () => {
    // An incident first seen finished, its create arriving late with a start_at, then a late update
    // of the incident's start second: the previous release replays the update after the start
    // (ties by arrival) and books the component operational for the incident's first 10 s.
    const at = Math.floor(Date.now() / 1000) - 600;
    const api = (impact: string) => ({ uuid: 'c1', name: 'API', impact });
    const common = { statusPage: 'default', uuid: 'i1', title: 'Down', endAt: null, deliveryAttempt: 0 } as const;
    const events: StatusMateEvent[] = [
      { ...common, type: 'incident_finished', startAt: null, createdAt: at, components: [api('degraded_performance')] },
      { ...common, type: 'incident_created', startAt: at, createdAt: at + 10, components: [api('major_outage')] },
      { type: 'component_impact_updated', statusPage: 'default', uuid: 'c1', name: 'API', impact: 'partial_outage', createdAt: at, deliveryAttempt: 0 },
    ];
    const store = new MemoryLog();
    await store.append(events.map((event, i) => ({ ...encodeEntry(`old:${i}`, event, DEFAULT_LIMITS, 3600), v: '1' })));
    app = await makeApp({ store });
    const text = (await request(app.main).get('/metrics')).text;
    const seconds = (impact: string) => sampleValue(text, 'statusmate_component_impact_seconds_total', { component_uuid: 'c1', impact });
    expect(seconds('operational')).toBe(10);
    expect(app.ingestor.state.pages.get('default')?.components.get('c1')?.impact).toBe('partial_outage');
  });

  it('books a late first event adding a component as the release that appended it did: format 5 from its own time, format 6 until the later events', async () => {
    // An incident created naming c1 and c2, finished 100 s later naming only c2 (edited while it
    // ran); the finish is appended first.
    const at = Math.floor(Date.now() / 1000) - 600;
    const common = { statusPage: 'default', uuid: 'i1', title: 'Down', endAt: null, deliveryAttempt: 0, startAt: at } as const;
    const named = (...uuids: string[]) => uuids.map((uuid) => ({ uuid, name: uuid, impact: 'major_outage' }));
    const events: StatusMateEvent[] = [
      { ...common, type: 'incident_finished', createdAt: at + 100, components: named('c2') },
      { ...common, type: 'incident_created', createdAt: at, components: named('c1', 'c2') },
    ];
    const majorSecondsOfC1 = (format: string) =>
      foldedAs(events, format, async (app) =>
        sampleValue((await request(app.main).get('/metrics')).text, 'statusmate_component_impact_seconds_total', {
          component_uuid: 'c1',
          impact: 'major_outage',
        }),
      );
    // The release before booked nothing of the incident for c1 (its evidence lacked the finish).
    expect(await majorSecondsOfC1('5')).toBe(0);
    // This release books it as created_at order does: from the create to the finish.
    expect(await majorSecondsOfC1('6')).toBe(100);
  });

  it('ends a hold as the release that appended it did: format 6 let an untimed update before it come back, format 7 forgets it', async () => {
    // test/domain/cleared-untimed-update.test.ts: an update with no created_at, then maintenance
    // m1 starts; maintenance m2 is first seen finished, its start late; m1 finishes.
    const at = Math.floor(Date.now() / 1000) - 600;
    const held = [{ uuid: 'c1', name: 'c1', impact: null }];
    const maintenance = (type: 'maintenance_started' | 'maintenance_finished', uuid: string, createdAt: number): StatusMateEvent => ({
      statusPage: 'default',
      type,
      uuid,
      title: uuid,
      startAt: null,
      endAt: null,
      createdAt,
      deliveryAttempt: 0,
      components: held,
    });
    const events: StatusMateEvent[] = [
      { statusPage: 'default', type: 'component_impact_updated', uuid: 'c1', name: 'c1', impact: 'major_outage', createdAt: null, deliveryAttempt: 0 },
      maintenance('maintenance_started', 'm1', at + 100),
      maintenance('maintenance_finished', 'm2', at + 300),
      maintenance('maintenance_started', 'm2', at + 200),
      maintenance('maintenance_finished', 'm1', at + 400),
    ];
    const impactOfC1 = (format: string) => foldedAs(events, format, (app) => app.fold.state.pages.get('default')?.components.get('c1')?.impact);
    expect(await impactOfC1('6')).toBe('major_outage');
    expect(await impactOfC1('7')).toBe('operational');
  });

  it("tells alert runs as the release that appended the alerts did: format 3 by arrival, format 8 by the alerts' times", async () => {
    // test/domain/alerts-run-order.test.ts: x fired at 101 and ended at 603; y, of another group,
    // fired at 701 and was sent before x's resolution; the page speaks at 1000.
    const at = Math.floor(Date.now() / 1000) - 1200;
    const component = [['default', 'c1'] as const];
    const notifications: StoredAlert[][] = [
      [{ fingerprint: 'x', status: 'firing', startsAt: at + 101, endsAt: null, components: component }],
      [{ fingerprint: 'y', status: 'firing', startsAt: at + 701, endsAt: null, components: component }],
      [{ fingerprint: 'x', status: 'resolved', startsAt: at + 101, endsAt: at + 603, components: component }],
    ];
    const spoke: StatusMateEvent = {
      statusPage: 'default',
      type: 'component_impact_updated',
      uuid: 'c1',
      name: 'c1',
      impact: 'major_outage',
      createdAt: at + 1000,
      deliveryAttempt: 0,
    };
    const responseSeconds = async (format: string) => {
      const store = new MemoryLog();
      const limits = { ...DEFAULT_LIMITS, ...DEFAULT_ALERT_LIMITS };
      await store.append([
        ...notifications.map((alerts, i) => ({ ...encodeAlerts(`r:${i}`, alerts, limits, 3600), v: format })),
        encodeEntry('r:page', spoke, DEFAULT_LIMITS, 3600),
      ]);
      return (await foldedAlertMeasures(store)).response;
    };
    expect(await responseSeconds('3')).toEqual([1, 899]);
    expect(await responseSeconds('8')).toEqual([1, 299]);
  });

  it("reads a run's recovery as the release that appended the alerts did: format 8 from the page at the resolution, format 10 from its history", async () => {
    // test/domain/alerts-run-order.test.ts: x fired at 101; the page left at 200, came back at
    // 1000 and left again at 1100; x's resolution, ended at 900, comes after.
    const at = Math.floor(Date.now() / 1000) - 1200;
    const component = [['default', 'c1'] as const];
    const change = (impact: string, changedAt: number): StatusMateEvent => ({
      statusPage: 'default',
      type: 'component_impact_updated',
      uuid: 'c1',
      name: 'c1',
      impact,
      createdAt: at + changedAt,
      deliveryAttempt: 0,
    });
    const measures = async (format: string) => {
      const store = new MemoryLog();
      const limits = { ...DEFAULT_LIMITS, ...DEFAULT_ALERT_LIMITS };
      const alerts = (origin: string, stored: StoredAlert[]) => ({ ...encodeAlerts(origin, stored, limits, 3600), v: format });
      await store.append([
        alerts('r:x', [{ fingerprint: 'x', status: 'firing', startsAt: at + 101, endsAt: null, components: component }]),
        encodeEntry('r:left', change('major_outage', 200), DEFAULT_LIMITS, 3600),
        encodeEntry('r:back', change('operational', 1000), DEFAULT_LIMITS, 3600),
        encodeEntry('r:again', change('major_outage', 1100), DEFAULT_LIMITS, 3600),
        alerts('r:resolved', [{ fingerprint: 'x', status: 'resolved', startsAt: at + 101, endsAt: at + 900, components: component }]),
      ]);
      return foldedAlertMeasures(store);
    };
    // The responses alike (99 s, then 100 s from the return while x still fired); the recovery from x's end to the return only in format 10.
    expect(await measures('8')).toEqual({ response: [2, 199], recovery: [0, 0] });
    expect(await measures('10')).toEqual({ response: [2, 199], recovery: [1, 100] });
  });

  it('splits alert runs as the release that appended the alerts did: format 8 after the latest end let go of, format 10 at every gap', async () => {
    // test/domain/alerts-run-order.test.ts: a 100..200 and b 300..400 (b resolved first), c from
    // 500; the page left at 150, came back at 250, left at 350 and came back at 450.
    const measures = async (format: string) => {
      const { change, alert } = alertHistory(format);
      const store = new MemoryLog();
      await store.append([
        alert('a', 100, null),
        change('major_outage', 150),
        change('operational', 250),
        alert('b', 300, null),
        change('major_outage', 350),
        change('operational', 450),
        alert('c', 500, null),
        alert('b', 300, 400),
        alert('a', 100, 200),
      ]);
      return foldedAlertMeasures(store);
    };
    expect(await measures('8')).toEqual({ response: [2, 150], recovery: [1, 50] });
    expect(await measures('10')).toEqual({ response: [2, 150], recovery: [2, 100] });
  });

  it("bounds the ended intervals as the release that appended the alerts did, by the appender's maxEndedIntervalBytes: format 10 not, format 14 bridging the oldest gap", async () => {
    // test/domain/alerts-ended-bound.test.ts: L fired at 100; x 200..300, y 400..500 and z
    // 600..700 ended while it fired, the page out 50 s after each fired and back 50 s after each
    // ended; L's resolution (ended at 150) arrives last: three runs, each recovered in 50 s. Three
    // intervals are past a bound of 100 bytes (endedCost 108): down to 90, x's and y's taken as one.
    const measures = async (format: string, maxEndedIntervalBytes: number) => {
      const { change, alert } = alertHistory(format, { maxEndedIntervalBytes });
      const store = new MemoryLog();
      await store.append([
        alert('L', 100, null),
        ...[200, 400, 600].flatMap((start) => [
          alert(`s${start}`, start, null),
          change('major_outage', start + 50),
          alert(`s${start}`, start, start + 100),
          change('operational', start + 150),
        ]),
        alert('L', 100, 150),
      ]);
      return foldedAlertMeasures(store);
    };
    // Responses: 150 s from L's start, then 100 s from each return while L fired.
    const unbounded = { response: [3, 350], recovery: [3, 150] };
    expect(await measures('10', DEFAULT_ALERT_LIMITS.maxEndedIntervalBytes)).toEqual(unbounded);
    expect(await measures('14', DEFAULT_ALERT_LIMITS.maxEndedIntervalBytes)).toEqual(unbounded);
    expect(await measures('10', 100)).toEqual(unbounded);
    expect(await measures('14', 100)).toEqual({ response: [3, 350], recovery: [2, 100] });
  });

  it("measures a page change as the release that appended it did: format 7 by its webhook's arrival, format 9 by its time", async () => {
    // test/domain/alerts-run-order.test.ts: x fired at 101 and was sent; the page had shown the
    // outage from 90, its webhook arriving after x.
    const at = Math.floor(Date.now() / 1000) - 1200;
    const spoke: StatusMateEvent = {
      statusPage: 'default',
      type: 'component_impact_updated',
      uuid: 'c1',
      name: 'c1',
      impact: 'major_outage',
      createdAt: at + 90,
      deliveryAttempt: 0,
    };
    const responses = async (format: string) => {
      const store = new MemoryLog();
      const alerts: StoredAlert[] = [{ fingerprint: 'x', status: 'firing', startsAt: at + 101, endsAt: null, components: [['default', 'c1']] }];
      await store.append([
        encodeAlerts('r:x', alerts, { ...DEFAULT_LIMITS, ...DEFAULT_ALERT_LIMITS }, 3600),
        { ...encodeEntry('r:page', spoke, DEFAULT_LIMITS, 3600), v: format },
      ]);
      return (await foldedAlertMeasures(store)).response;
    };
    expect(await responses('7')).toEqual([1, 0]);
    expect(await responses('9')).toEqual([0, 0]);
  });

  it("dates a declared component's record as the release that appended its older first event did: format 7 kept the declaration's time, format 9 the event's", async () => {
    // test/log/declare.test.ts: API declared, then a direct update to operational made an hour
    // before the declaration; the ledger starts API again at the update either way.
    const api = '88337a51-852b-48f3-ac8d-840e5f5326a0';
    const file = join(tempDir(), 'status-pages.yaml');
    writeFileSync(file, `status_pages:\n  - id: acme\n    components:\n      - uuid: ${api}\n        name: API\n`);
    const createdAt = Math.floor(Date.now() / 1000) - 3600;
    const update: StatusMateEvent = {
      statusPage: 'acme',
      type: 'component_impact_updated',
      uuid: api,
      name: 'API',
      impact: 'operational',
      createdAt,
      deliveryAttempt: 0,
    };
    const lastChangeOfApi = async (format: string) => {
      const store = new MemoryLog();
      await store.append([encodeDeclare('r:0', [{ statusPage: 'acme', uuids: [api] }], DEFAULT_LIMITS, 3600)]);
      const declaredAt = (await store.tip(store.origin)).time;
      await store.append([{ ...encodeEntry('r:1', update, DEFAULT_LIMITS, 3600), v: format }]);
      app = await makeApp({ store, statusPagesFile: file });
      const text = (await request(app.main).get('/metrics')).text;
      await app.close();
      app = undefined;
      return { declaredAt, lastChange: sampleValue(text, 'statusmate_component_last_change_timestamp_seconds', { component_uuid: api }) };
    };
    const before = await lastChangeOfApi('7');
    expect(before.lastChange).toBe(before.declaredAt);
    expect((await lastChangeOfApi('9')).lastChange).toBe(createdAt);
  });

  it("dates a declared component by a stale event older than its declaration as the release that appended it did: format 9 kept the declaration's time, format 11 the event's", async () => {
    // The core drill (CORE_BASE=71 CORE_LENGTH=60, step 72): a maintenance's finish named API; the
    // operator forgot API, which the file declares again at once; the finish was sent again (a
    // first delivery, stale: the maintenance had finished). docs/metrics.md: "any event of an
    // incident or a maintenance that names it", older than the declaration, replaces it.
    const api = '88337a51-852b-48f3-ac8d-840e5f5326a0';
    const file = join(tempDir(), 'status-pages.yaml');
    writeFileSync(file, `status_pages:\n  - id: acme\n    components:\n      - uuid: ${api}\n        name: API\n`);
    const createdAt = Math.floor(Date.now() / 1000) - 600;
    const finish: StatusMateEvent = {
      statusPage: 'acme',
      type: 'maintenance_finished',
      uuid: 'm1',
      title: 'm1',
      startAt: createdAt - 1200,
      endAt: createdAt,
      components: [{ uuid: api, name: 'API', impact: null }],
      createdAt,
      deliveryAttempt: 0,
    };
    const lastChangeOfApi = async (format: string) => {
      const store = new MemoryLog();
      await store.append([
        encodeEntry('r:1', finish, DEFAULT_LIMITS, 3600),
        encodeForget('r:2', { kind: 'component', statusPage: 'acme', uuid: api }, DEFAULT_LIMITS, 3600),
        encodeDeclare('r:3', [{ statusPage: 'acme', uuids: [api] }], DEFAULT_LIMITS, 3600),
      ]);
      const declaredAt = (await store.tip(store.origin)).time;
      await store.append([{ ...encodeEntry('r:4', finish, DEFAULT_LIMITS, 3600), v: format }]);
      app = await makeApp({ store, statusPagesFile: file });
      const text = (await request(app.main).get('/metrics')).text;
      await app.close();
      app = undefined;
      return { declaredAt, lastChange: sampleValue(text, 'statusmate_component_last_change_timestamp_seconds', { component_uuid: api }) };
    };
    const before = await lastChangeOfApi('9');
    expect(before.lastChange).toBe(before.declaredAt);
    expect((await lastChangeOfApi('11')).lastChange).toBe(createdAt);
  });

  it('books a late incident for a component a later event of another incident named first as the release that appended it did: format 11 from that later event, format 12 from its created_at', async () => {
    // The core drill's seed 157 at length 80, shrunk (ledger-late-added.test.ts): incident 13
    // created naming C4 only; its finish, timed before its create, naming C2 too; then incident
    // 12's create, older than both, naming C2. Format 11 kept no trace of incident 13's create in
    // C2's evidence, so incident 12's create was booked as it arrived.
    const [c2, c4] = ['c0c0c0c0-0000-4000-8000-000000000002', 'c0c0c0c0-0000-4000-8000-000000000004'];
    const t = Math.floor(Date.now() / 1000) - 600;
    const event = (type: 'incident_created' | 'incident_finished', uuid: string, createdAt: number, components: [string, string][]): StatusMateEvent => ({
      statusPage: 'acme',
      type,
      uuid,
      title: uuid,
      startAt: null,
      endAt: null,
      components: components.map(([component, impact]) => ({ uuid: component, name: null, impact })),
      createdAt,
      deliveryAttempt: 0,
    });
    const events = [
      event('incident_created', 'i13', t + 313, [[c4, 'major_outage']]),
      event('incident_finished', 'i13', t + 214, [
        [c2, 'partial_outage'],
        [c4, 'major_outage'],
      ]),
      event('incident_created', 'i12', t, [[c2, 'degraded_performance']]),
    ];
    const knownSinceOfC2 = async (format: string) => {
      const pages = await foldedAs(events, format, todaysReport);
      return pages[0]?.components.find((c) => c.uuid === c2)?.known_since;
    };
    expect(await knownSinceOfC2('11')).toBe(new Date((t + 214) * 1000).toISOString());
    expect(await knownSinceOfC2('12')).toBe(new Date(t * 1000).toISOString());
  });

  it('books an incident created again before its finish, the finish timed before its first create, as the release that appended it did: format 12 as it arrived, format 13 as in created_at order', async () => {
    // ledger-late-added.test.ts, "a late create adding a component to an incident whose finish is
    // timed before its create": created (+53) naming C1, finished (+38), created again (+0) naming
    // C1 and C2. In created_at order both are in major_outage from +0 to +38.
    const [c1, c2] = ['c0c0c0c0-0000-4000-8000-000000000001', 'c0c0c0c0-0000-4000-8000-000000000002'];
    const t = Math.floor(Date.now() / 1000) - 600;
    const event = (type: 'incident_created' | 'incident_finished', createdAt: number, components: string[]): StatusMateEvent => ({
      statusPage: 'acme',
      type,
      uuid: 'i1',
      title: 'i1',
      startAt: null,
      endAt: null,
      components: components.map((component) => ({ uuid: component, name: null, impact: 'major_outage' })),
      createdAt,
      deliveryAttempt: 0,
    });
    const events = [event('incident_created', t + 53, [c1]), event('incident_finished', t + 38, [c1]), event('incident_created', t, [c1, c2])];
    const majorSeconds = async (format: string) => {
      const pages = await foldedAs(events, format, todaysReport);
      return [c1, c2].map((uuid) => pages[0]?.components.find((c) => c.uuid === uuid)?.seconds.major_outage ?? 0);
    };
    expect(await majorSeconds('12')).toEqual([0, 0]);
    expect(await majorSeconds('13')).toEqual([38, 38]);
  });

  it('lists a late-delivered incident whose start_at is hours after its created_at as the release that appended it did: format 13 from its start_at, format 16 from its event', async () => {
    // Created 3 h ago with a start_at 2 h after that, finished 1 h after its create, both delivered
    // now: the start_at's time has passed by the receipt, but it is far ahead of its own event.
    const c1 = 'c0c0c0c0-0000-4000-8000-000000000001';
    const t = Math.floor(Date.now() / 1000) - 3 * 3600;
    const event = (type: 'incident_created' | 'incident_finished', createdAt: number): StatusMateEvent => ({
      statusPage: 'acme',
      type,
      uuid: 'i1',
      title: 'i1',
      startAt: t + 2 * 3600,
      endAt: type === 'incident_finished' ? t + 3600 : null,
      components: [{ uuid: c1, name: null, impact: 'major_outage' }],
      createdAt,
      deliveryAttempt: 0,
    });
    const events = [event('incident_created', t), event('incident_finished', t + 3600)];
    const listed = async (format: string) =>
      foldedAs(events, format, async (folded) => {
        const since = new Date((t - 86_400) * 1000).toISOString().slice(0, 10);
        const report = await request(folded.main).get(`/api/v1/availability?from=${since}`);
        const pages = (
          report.body as {
            status_pages: { components: { uuid: string; seconds: Record<string, number>; incidents: { started_at: string; ended_at: string | null }[] }[] }[];
          }
        ).status_pages;
        const component = pages[0]?.components.find((c) => c.uuid === c1);
        return { major: component?.seconds.major_outage, incidents: component?.incidents.map((i) => [i.started_at, i.ended_at]) };
      });
    const iso = (at: number) => new Date(at * 1000).toISOString();
    expect(await listed('16')).toEqual({ major: 3600, incidents: [[iso(t), iso(t + 3600)]] });
    expect((await listed('13')).incidents).not.toEqual([[iso(t), iso(t + 3600)]]);
  });
});

/**
 * One component's history as log entries of one alerts format, times in seconds after 20 minutes
 * ago: its page changes, and alerts naming it (firing, or resolved once `endsAt` is given).
 */
function alertHistory(format: string, alertLimits: Partial<typeof DEFAULT_ALERT_LIMITS> = {}) {
  const at = Math.floor(Date.now() / 1000) - 1200;
  const component = [['default', 'c1'] as const];
  const limits = { ...DEFAULT_LIMITS, ...DEFAULT_ALERT_LIMITS, ...alertLimits };
  return {
    change: (impact: string, changedAt: number) =>
      encodeEntry(
        `r:${changedAt}`,
        { statusPage: 'default', type: 'component_impact_updated', uuid: 'c1', name: 'c1', impact, createdAt: at + changedAt, deliveryAttempt: 0 },
        DEFAULT_LIMITS,
        3600,
      ),
    alert: (fingerprint: string, startsAt: number, endsAt: number | null) => ({
      ...encodeAlerts(
        `r:${fingerprint}:${endsAt}`,
        [
          {
            fingerprint,
            status: endsAt === null ? 'firing' : 'resolved',
            startsAt: at + startsAt,
            endsAt: endsAt === null ? null : at + endsAt,
            components: component,
          },
        ],
        limits,
        3600,
      ),
      v: format,
    }),
  };
}
