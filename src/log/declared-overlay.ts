import { declaredSince, operationalSince, type Overlay } from '../domain/inventory.js';
import { applyPatch, emptyPatch, isEmptyPatch, type EntityKey, type State } from '../domain/state.js';

/**
 * The records the status pages file puts on the folded state (see inventoryPatch): its pages and
 * components no event named yet. They are this process's, declared by its file, not folded from
 * the log: snapshots leave them out (`has`), and a reload of the file withdraws them. A webhook
 * about one replaces the object, and the replacement is folded state like any other.
 */
export class DeclaredOverlay {
  private overlay: Overlay;
  /** The objects the overlay put in the state: by identity, so that a folded replacement is not one. */
  private overlaid = new WeakSet<object>();

  constructor(overlay: Overlay | undefined) {
    this.overlay = overlay ?? (() => emptyPatch());
  }

  /** Whether `record` (a page's stats, a component) is the overlay's rather than folded. */
  has(record: object): boolean {
    return this.overlaid.has(record);
  }

  /** Puts the overlay on a state just loaded (a snapshot, or none): the records of the one before are gone with it. */
  applyToLoaded(state: State): void {
    this.overlaid = new WeakSet();
    this.apply(state);
  }

  /** Puts what the overlay adds on the state: after a load, and after a forget removed records the file declares. */
  apply(state: State): void {
    const patch = this.overlay(state);
    if (isEmptyPatch(patch)) return;
    // Only what the overlay adds is left out of snapshots; a folded component it renames stays in.
    for (const stats of patch.pages) if (!state.pages.has(stats.statusPage)) this.overlaid.add(stats);
    for (const component of patch.components) {
      if (!state.pages.get(component.statusPage)?.components.has(component.uuid)) this.overlaid.add(component);
    }
    applyPatch(state, patch);
  }

  /**
   * The overlay's records of components just declared change from now on at their declaration,
   * and their pages count from it, as the overlay of a later start has them (inventoryPatch): a
   * restart is no change of impact, and no new start from zero. The same for components whose
   * ledger a late event started again earlier (ledgerRestart) while leaving their record as is.
   */
  redate(state: State, declared: readonly EntityKey[]): void {
    const patch = emptyPatch();
    for (const statusPage of new Set(declared.map((key) => key.statusPage))) {
      const stats = state.pages.get(statusPage)?.stats;
      const since = declaredSince(state, statusPage);
      if (stats && this.overlaid.has(stats) && since !== undefined && since !== stats.createdAt) patch.pages.push({ ...stats, createdAt: since });
    }
    for (const { statusPage, uuid } of declared) {
      const record = state.pages.get(statusPage)?.components.get(uuid);
      const since = operationalSince(state, statusPage, uuid);
      if (record && this.overlaid.has(record) && since !== undefined && since !== record.changedAt) patch.components.push({ ...record, changedAt: since });
    }
    if (patch.pages.length === 0 && patch.components.length === 0) return;
    applyPatch(state, patch);
    for (const record of [...patch.pages, ...patch.components]) this.overlaid.add(record);
  }

  /**
   * Puts a new overlay (the status pages file was reloaded) on the state: what the old one added,
   * and no event has touched since, is withdrawn; then the new one is applied, as at a load.
   */
  replace(state: State, overlay: Overlay): void {
    const withdraw = emptyPatch();
    for (const [statusPage, page] of state.pages) {
      let left = page.components.size;
      for (const component of page.components.values()) {
        if (!this.overlaid.has(component)) continue;
        withdraw.deleteComponents.push({ statusPage, uuid: component.uuid });
        left -= 1;
      }
      // A page no event named still has the stats the overlay made for it.
      if (this.overlaid.has(page.stats) && left === 0 && page.incidents.size === 0 && page.maintenances.size === 0) withdraw.deletePages.push(statusPage);
    }
    // Memory-only records go; the ledger is folded from the log and keeps them (until retention or a forget).
    withdraw.keepLedger = true;
    if (!isEmptyPatch(withdraw)) applyPatch(state, withdraw);
    this.overlay = overlay;
    this.apply(state);
  }
}
