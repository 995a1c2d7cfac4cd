import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { describe, expect, it } from 'vitest';
import { createState, type Patch } from '../../src/domain/state.js';
import { Ingestor } from '../../src/ingest/ingestor.js';
import { MemoryStore } from '../../src/store/memory.js';
import { componentUpdate, incident, affects, T0, uuid, PAGE } from '../support/events.js';

/**
 * The real memory store, counting commits and refusing the ones it is told to; like every store,
 * it refuses the commits after a failed one until the state is read again.
 */
class CountingStore extends MemoryStore {
  commits: Patch[] = [];
  refuseNext = 0;
  loads = 0;
  private refusing = false;
  override async load() {
    this.loads += 1;
    this.refusing = false;
    return super.load();
  }
  override async commit(patch: Patch): Promise<void> {
    if (this.refusing) throw new Error('an earlier commit failed');
    if (this.refuseNext > 0) {
      this.refuseNext -= 1;
      this.refusing = true;
      throw new Error('disk full');
    }
    this.commits.push(patch);
    await super.commit(patch);
  }
}

/** A memory store whose commits complete only when the test says, in order, as a disk would. */
class GatedStore extends MemoryStore {
  readonly waiting: { patch: Patch; settle: (error?: Error) => void }[] = [];
  private refusing = false;
  override async load() {
    this.refusing = false;
    return super.load();
  }
  override commit(patch: Patch): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({
        patch,
        settle: (error) => {
          if (error || this.refusing) {
            this.refusing = true;
            reject(error ?? new Error('an earlier commit failed'));
          } else {
            void super.commit(patch).then(resolve, reject);
          }
        },
      });
    });
  }
  /** Completes (or fails) the oldest commit still waiting. */
  next(error?: Error): void {
    const first = this.waiting.shift();
    if (!first) throw new Error('no commit is waiting');
    first.settle(error);
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

const limits = { ...DEFAULT_LIMITS, maxComponents: 100 };

describe('the ingestor', () => {
  it('commits events that arrive together in one transaction, each reduced after the one before', async () => {
    const store = new CountingStore();
    const ingestor = new Ingestor(store, createState(), limits);
    const decisions = await Promise.all([
      ingestor.ingest(componentUpdate(1, 'major_outage', T0), T0),
      ingestor.ingest(componentUpdate(1, 'operational', T0 + 1), T0),
      ingestor.ingest(componentUpdate(1, 'operational', T0 + 1, { deliveryAttempt: 2 }), T0),
    ]);
    expect(decisions.map((d) => d.outcome)).toEqual(['applied', 'applied', 'duplicate']);
    expect(store.commits).toHaveLength(1);
    expect(store.commits[0]?.components).toHaveLength(1); // written once, as the batch left it
    expect(store.commits[0]?.components[0]?.impact).toBe('operational');
    expect(store.commits[0]?.seen).toHaveLength(2);
  });

  it('rejects every event of a batch the store refused and returns memory to what was committed', async () => {
    const store = new CountingStore();
    const ingestor = new Ingestor(store, createState(), limits);
    await ingestor.ingest(componentUpdate(1, 'major_outage', T0), T0);
    store.refuseNext = 1;
    const refused = await Promise.allSettled([
      ingestor.ingest(componentUpdate(1, 'operational', T0 + 5), T0),
      ingestor.ingest(incident('incident_created', 1, T0 + 5, [affects(2, 'partial_outage')]), T0),
    ]);
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const page = ingestor.state.pages.get(PAGE);
    expect(page?.components.get(uuid(1))?.impact).toBe('major_outage');
    expect(page?.components.has(uuid(2))).toBe(false);
    expect(page?.incidents.size).toBe(0);
    expect(ingestor.state.componentCount).toBe(1);

    // StatusMate's retry of the same event is applied, not mistaken for a duplicate.
    const retried = await ingestor.ingest(componentUpdate(1, 'operational', T0 + 5, { deliveryAttempt: 1 }), T0);
    expect(retried.outcome).toBe('applied');
    expect(ingestor.state.pages.get(PAGE)?.components.get(uuid(1))?.impact).toBe('operational');
  });

  it('answers only after the commit: drain waits for every accepted event', async () => {
    const store = new CountingStore();
    const ingestor = new Ingestor(store, createState(), limits);
    const pending = ingestor.ingest(componentUpdate(1, 'major_outage', T0), T0);
    expect(store.commits).toHaveLength(0);
    await ingestor.drain();
    expect(store.commits).toHaveLength(1);
    await expect(pending).resolves.toMatchObject({ outcome: 'applied' });
  });

  it('reduces the next batch while one is written, and answers each once it and every earlier one are durable', async () => {
    const store = new GatedStore();
    const ingestor = new Ingestor(store, createState(), limits);
    const answered: string[] = [];
    const first = ingestor.ingest(componentUpdate(1, 'major_outage', T0), T0).then((d) => answered.push(`first ${d.outcome}`));
    await turn();
    const second = ingestor.ingest(componentUpdate(2, 'major_outage', T0), T0).then((d) => answered.push(`second ${d.outcome}`));
    // The original of this duplicate is in the first batch, which is not durable yet.
    const duplicate = ingestor.ingest(componentUpdate(1, 'major_outage', T0, { deliveryAttempt: 1 }), T0).then((d) => answered.push(`duplicate ${d.outcome}`));
    await turn();
    expect(store.waiting).toHaveLength(2);
    expect(answered).toEqual([]);
    store.next();
    await first;
    expect(answered).toEqual(['first applied']);
    store.next();
    await Promise.all([second, duplicate]);
    expect(answered.slice(1).sort()).toEqual(['duplicate duplicate', 'second applied']);
  });

  it('rejects the failed batch and every batch behind it, reloads memory, then applies the retries', async () => {
    const store = new GatedStore();
    const ingestor = new Ingestor(store, createState(), limits);
    const base = ingestor.ingest(componentUpdate(1, 'operational', T0), T0);
    await turn();
    store.next();
    await base;
    const failed = ingestor.ingest(componentUpdate(1, 'major_outage', T0 + 1), T0);
    await turn();
    const behind = ingestor.ingest(incident('incident_created', 1, T0 + 2, [affects(2, 'partial_outage')]), T0);
    const duplicateOfFailed = ingestor.ingest(componentUpdate(1, 'major_outage', T0 + 1, { deliveryAttempt: 1 }), T0);
    await turn();
    expect(store.waiting).toHaveLength(2);
    store.next(new Error('disk full'));
    store.next();
    const outcomes = await Promise.allSettled([failed, behind, duplicateOfFailed]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    // By the time the refusals are answered, memory holds exactly what was committed.
    const page = ingestor.state.pages.get(PAGE);
    expect(page?.components.get(uuid(1))?.impact).toBe('operational');
    expect(page?.incidents.size).toBe(0);
    expect(ingestor.state.componentCount).toBe(1);

    const retried = ingestor.ingest(componentUpdate(1, 'major_outage', T0 + 1, { deliveryAttempt: 2 }), T0);
    await turn();
    store.next();
    await expect(retried).resolves.toMatchObject({ outcome: 'applied' });
    expect(ingestor.state.pages.get(PAGE)?.components.get(uuid(1))?.impact).toBe('major_outage');
  });

  it('keeps at most two commits in flight; events arriving meanwhile join one larger batch', async () => {
    const store = new GatedStore();
    const ingestor = new Ingestor(store, createState(), limits);
    const answers: Promise<unknown>[] = [];
    for (let n = 1; n <= 4; n += 1) {
      answers.push(ingestor.ingest(componentUpdate(n, 'major_outage', T0), T0));
      await turn();
    }
    expect(store.waiting.map((w) => w.patch.seen.length)).toEqual([1, 1]);
    store.next();
    await turn(); // the commit's answer
    await turn(); // the flush it schedules
    expect(store.waiting.map((w) => w.patch.seen.length)).toEqual([1, 2]);
    store.next();
    store.next();
    await Promise.all(answers);
    expect(ingestor.state.componentCount).toBe(4);
  });
});
