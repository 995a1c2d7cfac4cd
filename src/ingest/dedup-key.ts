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
  // The first 24 bytes of the digest are the first 32 characters of its base64url text (24 bytes
  // make whole 3-byte groups), made a string of their own: a slice of the whole text would keep
  // that text alive behind it, 48 more bytes in each of up to MAX_DEDUP_RECORDS records. The
  // digest comes as text, not as a Buffer (whose allocation was half of this function's time on
  // every webhook), and JSON.parse copies the 32 characters, which need no escaping, into a
  // string of their own.
  return JSON.parse(`"${hash('sha256', JSON.stringify(identity), 'base64url').slice(0, KEY_LENGTH)}"`) as string;
}

/** 24 bytes: 32 base64url characters, as keys have been since the first release. */
const KEY_LENGTH = 32;
