import type { Outcome, WebhookTypeLabel } from '../metrics/names.js';

/** One answered webhook request, as the landing page and the state API list it. */
export type Delivery = {
  /** Unix seconds when it was answered. */
  at: number;
  status: number;
  type: WebhookTypeLabel;
  outcome: Outcome;
  statusPage: string | null;
  eventUuid: string | null;
  deliveryAttempt: number | null;
  error: string | null;
};

/**
 * The last few webhook answers, newest first, in memory only: enough for someone setting up
 * StatusMate to see whether its deliveries arrive and what they were answered. Never holds a
 * token or a body.
 */
export class RecentDeliveries {
  private readonly ring: Delivery[] = [];
  private next = 0;
  /** How many were ever recorded: a view of the list is current while this is unchanged. */
  sequence = 0;

  constructor(readonly capacity = 20) {}

  record(delivery: Delivery): void {
    this.sequence += 1;
    if (this.ring.length < this.capacity) this.ring.push(delivery);
    else this.ring[this.next] = delivery;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  list(): Delivery[] {
    const out: Delivery[] = [];
    for (let i = 1; i <= this.ring.length; i += 1) {
      out.push(this.ring[(this.next - i + this.capacity) % this.capacity] as Delivery);
    }
    return out;
  }
}
