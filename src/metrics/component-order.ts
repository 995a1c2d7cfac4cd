import type { ComponentRecord, State } from '../domain/state.js';

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Each page's component uuids, sorted, so that the same state renders the same bytes whatever
 * order it was folded or loaded in. Kept per page map while no component joined or left any page
 * (State.membership); after one did, reused when the page still holds the same uuids (checked by
 * count and membership, since a forget followed by a new component keeps the count).
 */
export class ComponentOrders {
  private readonly orders = new WeakMap<Map<string, ComponentRecord>, { membership: number; order: string[] }>();

  constructor(private readonly state: State) {}

  of(components: Map<string, ComponentRecord>): string[] {
    const cached = this.orders.get(components);
    if (cached?.membership === this.state.membership) return cached.order;
    let order = cached?.order;
    if (order?.length !== components.size || !order.every((uuid) => components.has(uuid))) order = [...components.keys()].sort(compare);
    this.orders.set(components, { membership: this.state.membership, order });
    return order;
  }
}
