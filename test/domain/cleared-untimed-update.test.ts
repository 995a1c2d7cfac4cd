import { describe, expect, it } from 'vitest';
import { affects, componentUpdate, maintenance, Player, T0 } from '../support/events.js';

// Found by the core drill (test/store/core-series-drill.test.ts, CORE_SEEDS=60 CORE_LENGTH=40:
// seeds 3, 6 and 39). README "A component's impact": an update made before an incident or
// maintenance that has since ended was overridden by it and does not come back. For an update
// without created_at (StatusMate often sends none), "before" is by arrival. The draft's end()
// tests the update only against the latest start kept in `cleared`; when an unrelated hold that
// ended first left there a later start with no place in arrival order (seq -1: a maintenance
// first seen finished whose maintenance_started came late, an incident first seen finished with
// a start_at), the update is not before that, and survived the end of the hold it was made
// before. Event entries of format 7 also check it against the ending hold's own start
// (clearsBeforeOwnStart in src/domain/fold-rules.ts); format 6 ones are folded as before
// (test/log/fold-loop.test.ts).

const untimedUpdateThenHold = [componentUpdate(1, 'major_outage', null), maintenance('maintenance_started', 1, T0 + 100, [affects(1, null)])];

describe('an update without created_at made before a maintenance that has ended', () => {
  it('does not come back when the maintenance ends', () => {
    const player = new Player().playAll([...untimedUpdateThenHold, maintenance('maintenance_finished', 1, T0 + 400, [affects(1, null)])]);
    expect(player.impact(1)).toBe('operational');
  });

  it('does not come back either after another maintenance, first seen finished, learnt its late start', () => {
    const player = new Player().playAll([
      ...untimedUpdateThenHold,
      // Another maintenance of the component: its finish first, its start late (a lost delivery retried).
      maintenance('maintenance_finished', 2, T0 + 300, [affects(1, null)]),
      maintenance('maintenance_started', 2, T0 + 200, [affects(1, null)]),
      maintenance('maintenance_finished', 1, T0 + 400, [affects(1, null)]),
    ]);
    // Format 6 served major_outage: the update from before maintenance 1, back after its end.
    expect(player.impact(1)).toBe('operational');
  });
});
