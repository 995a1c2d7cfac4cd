import type { ComponentLedger } from '../domain/ledger.js';
import type { ComponentRecord, State } from '../domain/state.js';

/** Code-unit order of strings: the same in every process, whatever the locale. */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A page's sorted uuids, and where each component in the map's own order goes among them. */
type Order = { membership: number; uuids: string[]; rank: Int32Array };

/**
 * Where each of a page ledger's entries goes among the page's sorted records: the ledger map's
 * keys in its own order, and per key its rank among the records' uuids (-1: no record).
 */
type LedgerOrder = { order: Order; keys: string[]; rank: Int32Array };

/**
 * Each page's components sorted by uuid, so that the same state renders the same bytes whatever
 * order it was folded or loaded in. The order is kept per page map while no component joined or
 * left any page (State.membership); after one did, it is reused when the page still holds the
 * same uuids (checked by count and membership, since a forget followed by a new component keeps
 * the count).
 *
 * The records of one state version are read by walking the map (whose order is the order the
 * uuids were first set: replacing a record keeps its place) and placing each at its rank, rather
 * than by looking 10,000 uuids up.
 */
export class ComponentOrders {
  private readonly orders = new WeakMap<Map<string, ComponentRecord>, Order>();
  private readonly records = new WeakMap<Map<string, ComponentRecord>, { version: number; records: ComponentRecord[] }>();
  private readonly ledgerOrders = new WeakMap<ReadonlyMap<string, ComponentLedger>, LedgerOrder>();

  constructor(private readonly state: State) {}

  /** The page's uuids, sorted. */
  of(components: Map<string, ComponentRecord>): string[] {
    return this.order(components).uuids;
  }

  /** The page's records in the order of their uuids, as the state holds them now (the same array until it changes). */
  recordsOf(components: Map<string, ComponentRecord>): readonly ComponentRecord[] {
    const cached = this.records.get(components);
    if (cached?.version === this.state.version) return cached.records;
    const { rank } = this.order(components);
    const records = new Array<ComponentRecord>(components.size);
    let index = 0;
    for (const record of components.values()) records[rank[index++] as number] = record;
    this.records.set(components, { version: this.state.version, records });
    return records;
  }

  /**
   * The page ledger's entries in the order of `recordsOf(components)` (undefined where a record
   * has no entry), read by walking the ledger map rather than by 10,000 lookups. The ledger map
   * changes its keys without the records' membership (a declaration, retention), so its own keys
   * are compared as they are walked: the same string objects while nothing joined or left it.
   */
  ledgerOf(components: Map<string, ComponentRecord>, ledger: ReadonlyMap<string, ComponentLedger>): Array<ComponentLedger | undefined> {
    const order = this.order(components);
    const entries = new Array<ComponentLedger | undefined>(components.size).fill(undefined);
    let known = this.ledgerOrders.get(ledger);
    if (known?.order === order && known.keys.length === ledger.size) {
      const { keys, rank } = known;
      // forEach, not for-of over entries: that makes a [key, value] array for each of 10,000.
      // -1 once a key differs: the map's keys moved.
      let index = 0;
      ledger.forEach((entry, uuid) => {
        if (index < 0) return;
        if (uuid !== keys[index]) {
          index = -1;
          return;
        }
        const at = rank[index++] as number;
        if (at >= 0) entries[at] = entry;
      });
      if (index === ledger.size) return entries;
      entries.fill(undefined);
    }
    const place = new Map(order.uuids.map((uuid, i) => [uuid, i]));
    const keys = [...ledger.keys()];
    known = { order, keys, rank: Int32Array.from(keys, (uuid) => place.get(uuid) ?? -1) };
    this.ledgerOrders.set(ledger, known);
    let index = 0;
    for (const entry of ledger.values()) {
      const at = known.rank[index++] as number;
      if (at >= 0) entries[at] = entry;
    }
    return entries;
  }

  private order(components: Map<string, ComponentRecord>): Order {
    const cached = this.orders.get(components);
    if (cached?.membership === this.state.membership) return cached;
    const keys = [...components.keys()];
    let uuids = cached?.uuids;
    if (uuids?.length !== components.size || !uuids.every((uuid) => components.has(uuid))) uuids = [...keys].sort(compare);
    // The map's order may differ from the one the ranks were made for (a uuid forgotten and set again).
    const place = new Map(uuids.map((uuid, i) => [uuid, i]));
    const rank = Int32Array.from(keys, (uuid) => place.get(uuid) as number);
    const order = { membership: this.state.membership, uuids, rank };
    this.orders.set(components, order);
    return order;
  }
}
