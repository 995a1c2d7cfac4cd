import { describe, expect, it } from 'vitest';
import { prune } from '../../src/domain/prune.js';
import { applyPatch, emptyPatch } from '../../src/domain/state.js';
import { affects, componentUpdate, incident, maintenance, Player, T0, uuid } from '../support/events.js';

const DAY = 86_400;

describe('pruning', () => {
  it('forgets finished incidents and maintenances and dedup records past the retention, and nothing else', () => {
    const p = new Player();
    p.play(incident('incident_created', 1, T0, []), T0);
    p.play(incident('incident_finished', 1, T0 + 60, []), T0 + 60);
    p.play(incident('incident_created', 2, T0, []), T0);
    p.play(maintenance('maintenance_finished', 1, T0, []), T0);
    p.play(maintenance('maintenance_created', 2, T0, []), T0);
    const seenBefore = p.state.seen.size;

    const early = prune(p.state, T0 + 7 * DAY, 7 * DAY);
    expect(early.deleteIncidents).toEqual([]);

    const patch = prune(p.state, T0 + 8 * DAY, 7 * DAY);
    applyPatch(p.state, patch);
    expect([...p.page().incidents.keys()]).toEqual([uuid(1002)]);
    expect([...p.page().maintenances.keys()]).toEqual([uuid(2002)]);
    expect(seenBefore).toBe(5);
    expect(p.state.seen.size).toBe(0);
    expect(p.page().stats.incidentsFinished).toBe(1);
  });
});

describe('pruning and arrival order', () => {
  it('keeps a direct update without created_at after a pruned incident applied, also in a state loaded from what is left', () => {
    const p = new Player();
    for (const id of [1, 2]) {
      p.play(incident('incident_created', id, null, [affects(1, 'major_outage')]), T0);
      p.play(incident('incident_finished', id, null, []), T0 + 60);
    }
    applyPatch(p.state, prune(p.state, T0 + 8 * DAY, 7 * DAY));
    expect(p.page().incidents.size).toBe(0);

    // What a restart would hold: the records left, applied to an empty state.
    const reloaded = new Player();
    const page = p.page();
    applyPatch(reloaded.state, { ...emptyPatch(), pages: [page.stats], components: [...page.components.values()] });
    for (const player of [p, reloaded]) {
      expect(player.play(componentUpdate(1, 'partial_outage', null), T0 + 8 * DAY + 1).outcome).toBe('applied');
      expect(player.impact(1)).toBe('partial_outage');
    }
  });
});
