import { hash } from 'node:crypto';
import type { StatusMateEvent } from '../domain/event.js';

/**
 * Identifies an event regardless of its delivery: StatusMate's retries differ only in
 * `delivery_attempt`, so that is left out. Computed from the normalised event (fixed key
 * order, unknown fields dropped), so neither key order nor whitespace of the body matters.
 */
export function dedupKey(event: StatusMateEvent): string {
  const { deliveryAttempt: _ignored, ...identity } = event;
  return hash('sha256', JSON.stringify(identity), 'base64url').slice(0, 32);
}
