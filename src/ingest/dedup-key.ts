import { hash } from 'node:crypto';
import type { StatusMateEvent } from '../domain/event.js';

/**
 * Identifies an event regardless of its delivery: StatusMate's retries differ only in
 * `delivery_attempt`, so that is left out. The identity is written field by field in one fixed
 * order (the order the webhook parser builds events in, so keys stored by earlier versions
 * still match): the key depends on the event's values only, never on how its object was built
 * (parsed from a body, or decoded from a log entry by a schema with another key order).
 */
export function dedupKey(event: StatusMateEvent): string {
  const identity =
    event.type === 'component_impact_updated'
      ? { type: event.type, statusPage: event.statusPage, uuid: event.uuid, createdAt: event.createdAt, name: event.name, impact: event.impact }
      : {
          type: event.type,
          statusPage: event.statusPage,
          uuid: event.uuid,
          createdAt: event.createdAt,
          title: event.title,
          startAt: event.startAt,
          endAt: event.endAt,
          components: event.components.map((component) => ({ uuid: component.uuid, name: component.name, impact: component.impact })),
        };
  return hash('sha256', JSON.stringify(identity), 'base64url').slice(0, 32);
}
