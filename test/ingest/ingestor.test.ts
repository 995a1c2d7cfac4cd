import { describe, expect, it } from 'vitest';
import { createState, type Patch } from '../../src/domain/state.js';
import { Ingestor } from '../../src/ingest/ingestor.js';
import { MemoryStore } from '../../src/store/memory.js';
import { componentUpdate, incident, affects, T0, uuid, PAGE } from '../support/events.js';

/** The real memory store, counting commits and refusing the ones it is told to. */
class CountingStore extends MemoryStore {
  commits: Patch[] = [];
  refuseNext = 0;
  override async commit(patch: Patch): Promise<void> {
    if (this.refuseNext > 0) {
      this.refuseNext -= 1;
      throw new Error('disk full');
    }
    this.commits.push(patch);
    await super.commit(patch);
  }
}

const limits = { maxComponents: 100 };

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
});
