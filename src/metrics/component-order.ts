import type { ComponentRecord, State } from '../domain/state.js';

/** Code-unit order of strings: the same in every process, whatever the locale. */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A page's sorted uuids, and where each component in the map's own order goes among them. */
type Order = { membership: number; uuids: string[]; rank: Int32Array };

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
