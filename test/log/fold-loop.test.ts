import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import type { EntryFields, SnapshotToWrite } from '../../src/store/store.js';
import { makeApp, sampleValue, type TestApp } from '../support/app.js';

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

/** A memory log that breaks the store contract on demand: it reads a snapshot's first piece, waits, then the rest. */
class LateReadingLog extends MemoryLog {
  private gate: Promise<void> | undefined;
  private open_: (() => void) | undefined;
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
    await this.gate;
    const rest = [...{ [Symbol.iterator]: () => pieces }];
    return super.writeSnapshot({ ...snapshot, data: [...(first.done ? [] : [first.value]), ...rest] });
  }
}

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});
const post = (body: unknown) =>
  request((app as TestApp).main)
    .post('/webhook')
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(body));

describe('the fold loop', () => {
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

  it('writes no snapshot whose pieces a store reads after the fold moved on, counts the failure, and writes the next', async () => {
    const store = new LateReadingLog();
    // Pieces of 64 characters: every snapshot takes several.
    app = await makeApp({ store, snapshots: { checkMs: 50, maxAgeMs: 0, pieceChars: 64 } });
    store.hold();
    for (let n = 0; n < 3; n++) await post(update(n, 'partial_outage'));
    // The loop is now inside a write that read one piece; the fold moves on meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await post(update(3, 'major_outage'));
    store.release();
    const failures = async () => sampleValue((await request((app as TestApp).main).get('/metrics')).text, 'statusmate_store_snapshot_failures_total');
    const deadline = Date.now() + 5_000;
    while ((await failures()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(await failures()).toBeGreaterThan(0);
    expect(app.logs.lines.find((line) => line.msg === 'writing a snapshot failed; will try again')).toMatchObject({
      err: expect.stringContaining('the state changed while its snapshot'),
    });
    // The next snapshot, read at once, is written whole, and its size is what the metric reports.
    while ((await store.snapshotInfo())?.position !== '4') await new Promise((resolve) => setTimeout(resolve, 25));
    const stored = await store.readSnapshot();
    expect(stored?.data.length).toBeGreaterThan(3);
    const text = (await request(app.main).get('/metrics')).text;
    expect(sampleValue(text, 'statusmate_store_snapshot_bytes')).toBe(stored?.data.join('\n').length);
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
});
