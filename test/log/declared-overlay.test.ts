import { describe, expect, it } from 'vitest';
import { inventoryPatch, type DeclaredPage } from '../../src/domain/inventory.js';
import { DeclaredOverlay } from '../../src/log/declared-overlay.js';
import { replaceState } from '../../src/domain/state.js';
import { decodeSnapshot, encodeSnapshotPieces, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { componentUpdate, DECLARED, PAGE, Player, T0, uuid } from '../support/events.js';

// The status pages file's records on top of the folded state: which are the overlay's (left out
// of snapshots), what a reload withdraws, and what stays because a webhook made it folded state.

const overlayOf = (pages: readonly DeclaredPage[]) => (state: Parameters<typeof inventoryPatch>[0]) => inventoryPatch(state, pages, T0);

const OTHER_PAGE: DeclaredPage = { id: 'page-b', uuid: null, name: 'Page B', components: [{ uuid: uuid(9), name: 'Queue' }] };

/** What a snapshot of the state holds when the overlay's records are left out, as the fold loop writes it. */
function snapshotWithout(player: Player, overlay: DeclaredOverlay) {
  const decoded = decodeSnapshot(
    String(SNAPSHOT_FORMAT),
    encodeSnapshotPieces(player.state, (record) => !overlay.has(record)),
  );
  if (decoded.kind !== 'state') throw new Error(`not a snapshot: ${decoded.kind}`);
  return decoded.state;
}

describe('the declared overlay', () => {
  it('shows every declared page and component, operational, and keeps them all out of a snapshot', () => {
    const player = new Player();
    const overlay = new DeclaredOverlay(overlayOf([...DECLARED, OTHER_PAGE]));
    overlay.apply(player.state);
    expect(player.impact(1)).toBe('operational');
    expect(player.impact(2)).toBe('operational');
    expect(player.impact(9, 'page-b')).toBe('operational');
    expect(overlay.has(player.page().stats)).toBe(true);
    expect(snapshotWithout(player, overlay).pages.size).toBe(0);
  });

  it('lets a webhook make a declared component folded state: it stays in snapshots and through a reload that drops it', () => {
    const player = new Player();
    const overlay = new DeclaredOverlay(overlayOf([...DECLARED, OTHER_PAGE]));
    overlay.apply(player.state);
    player.play(componentUpdate(1, 'major_outage', T0 + 60));
    const component = player.page().components.get(uuid(1));
    expect(component && overlay.has(component)).toBe(false);
    expect([...(snapshotWithout(player, overlay).pages.get(PAGE)?.components.keys() ?? [])]).toEqual([uuid(1)]);

    // The reloaded file declares nothing of PAGE and keeps page-b.
    overlay.replace(player.state, overlayOf([OTHER_PAGE]));
    expect(player.impact(1)).toBe('major_outage');
    expect(player.impact(2)).toBeUndefined();
    expect(player.impact(9, 'page-b')).toBe('operational');
  });

  it('withdraws a page no event named along with its components, and leaves no overlay record behind after a reload to nothing', () => {
    const player = new Player();
    const overlay = new DeclaredOverlay(overlayOf([...DECLARED, OTHER_PAGE]));
    overlay.apply(player.state);
    overlay.replace(player.state, overlayOf(DECLARED));
    expect(player.state.pages.has('page-b')).toBe(false);
    overlay.replace(player.state, overlayOf([]));
    expect(player.state.pages.size).toBe(0);
  });

  it('forgets the records it made for a state replaced by a load, and makes them again for the loaded one', () => {
    const player = new Player();
    const overlay = new DeclaredOverlay(overlayOf(DECLARED));
    overlay.apply(player.state);
    const before = player.page().components.get(uuid(2));
    player.play(componentUpdate(1, 'partial_outage', T0 + 60));
    // A restart: the snapshot (without the overlay's records) loaded into the state, then the overlay on it.
    replaceState(player.state, snapshotWithout(player, overlay));
    expect(player.impact(2)).toBeUndefined();
    overlay.applyToLoaded(player.state);
    expect(player.impact(1)).toBe('partial_outage');
    expect(player.impact(2)).toBe('operational');
    const again = player.page().components.get(uuid(2));
    expect(again && overlay.has(again)).toBe(true);
    expect(before && overlay.has(before)).toBe(false);
    const folded = player.page().components.get(uuid(1));
    expect(folded && overlay.has(folded)).toBe(false);
  });
});
