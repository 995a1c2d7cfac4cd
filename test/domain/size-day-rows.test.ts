import { describe, expect, it } from 'vitest';
import { forget } from '../../src/domain/forget.js';
import { DAY_SECONDS } from '../../src/domain/ledger.js';
import { ledgerBytes } from '../../src/domain/ledger-reading.js';
import { boundDayRows, prune } from '../../src/domain/prune.js';
import { RELIEF } from '../../src/domain/size.js';
import { applyPatch, cloneState } from '../../src/domain/state.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { affects, componentUpdate, incident, PAGE, Player, T0, uuid } from '../support/events.js';

// The availability ledger's day rows, kept as a count (ledger.dayRows) so that LEDGER_MAX_DAY_ROWS
// can be held after every event rather than once per pruning window: one event may book every kept
// day of a component, so within a window the rows reached four times the bound.

const NOW = T0 + 400 * DAY_SECONDS;
const rows = (p: Player) => ledgerBytes(p.state.ledger).rows;

/** Each component down from `days` ago until now: a row for every day between. */
function longOutages(p: Player, components: number[], days: number): void {
  for (const n of components) {
    p.play(componentUpdate(n, 'major_outage', NOW - days * DAY_SECONDS), NOW);
    p.play(componentUpdate(n, 'operational', NOW - 60), NOW);
  }
}

describe('the ledger counts its day rows exactly', () => {
  it('through bookings, late re-bookings, incidents, pruning, forgetting, cloning and a snapshot', () => {
    const p = new Player();
    longOutages(p, [1, 2, 3], 50);
    expect(p.state.ledger.dayRows).toBe(rows(p));
    expect(rows(p)).toBeGreaterThanOrEqual(150);
    // A late event re-books component 1 from 30 days ago.
    p.play(componentUpdate(1, 'partial_outage', NOW - 30 * DAY_SECONDS), NOW);
    p.play(incident('incident_created', 1, NOW - 20 * DAY_SECONDS, [affects(2, 'degraded_performance'), affects(4, 'major_outage')]), NOW);
    p.play(incident('incident_finished', 1, NOW - 10 * DAY_SECONDS, []), NOW);
    expect(p.state.ledger.dayRows).toBe(rows(p));
    applyPatch(p.state, prune(p.state, NOW, 3600, undefined, 25));
    expect(p.state.ledger.dayRows).toBe(rows(p));
    applyPatch(p.state, forget(p.state, { kind: 'component', statusPage: PAGE, uuid: uuid(2) }, NOW, 300).patch);
    expect(p.state.ledger.dayRows).toBe(rows(p));
    expect(cloneState(p.state).ledger.dayRows).toBe(rows(p));
    const parsed = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(p.state));
    if (parsed.kind !== 'state') throw new Error(parsed.kind);
    expect(parsed.state.ledger.dayRows).toBe(rows(p));
    applyPatch(p.state, forget(p.state, { kind: 'page', statusPage: PAGE }, NOW, 300).patch);
    expect(p.state.ledger.dayRows).toBe(0);
  });
});

describe('LEDGER_MAX_DAY_ROWS after one event', () => {
  it('forgets the oldest days down to RELIEF of the bound as soon as an event passes it, never today', () => {
    const p = new Player();
    longOutages(p, [1, 2], 100);
    expect(boundDayRows(p.state, NOW, 1000)).toBeUndefined();
    const bound = Math.floor(rows(p) / 2);
    const patch = boundDayRows(p.state, NOW, bound);
    if (!patch) throw new Error('no patch past the bound');
    applyPatch(p.state, patch);
    expect(rows(p)).toBeLessThanOrEqual(Math.floor(bound * RELIEF));
    expect(p.state.ledger.dayRows).toBe(rows(p));
    expect(p.state.ledger.keptFromDay).toBeLessThanOrEqual(Math.floor(NOW / DAY_SECONDS));
    // Today's rows are never forgotten, even past the bound.
    expect(boundDayRows(p.state, NOW, 1)?.ledgerKeepFromDay).toBe(Math.floor(NOW / DAY_SECONDS));
  });

  it('does not walk the ledger again once only today is left (a bound below the component count)', () => {
    const p = new Player();
    longOutages(p, [1, 2, 3], 5);
    const today = Math.floor(NOW / DAY_SECONDS);
    const patch = boundDayRows(p.state, NOW, 1);
    expect(patch?.ledgerKeepFromDay).toBe(today);
    if (patch) applyPatch(p.state, patch);
    // Today's rows alone are past the bound, and today is never forgotten.
    expect(p.state.ledger.dayRows).toBeGreaterThan(1);
    // Count the walks over the ledger's pages: after every event of the day, each one would be a
    // pass over every component's days that can find nothing to forget.
    const pages = p.state.ledger.pages;
    let walks = 0;
    const values = pages.values.bind(pages);
    pages.values = () => {
      walks += 1;
      return values();
    };
    p.play(componentUpdate(1, 'major_outage', NOW + 10), NOW + 10);
    expect(boundDayRows(p.state, NOW + 10, 1)).toBeUndefined();
    expect(walks).toBe(0);
  });
});
