import type { DeclaredPage } from '../domain/inventory.js';
import { cutLabel } from '../domain/labels.js';

/** Declared page ids by their StatusMate uuid (lower-cased). */
export type PageUuids = ReadonlyMap<string, string>;

export function pageUuids(pages: readonly DeclaredPage[]): PageUuids {
  const byUuid = new Map<string, string>();
  for (const page of pages) if (page.uuid !== null) byUuid.set(page.uuid, page.id);
  return byUuid;
}

/**
 * The status_page label of an event, decided in one place:
 * 1. the URL's `?status_page=`: the user chose it when setting up the webhook, so it wins;
 * 2. else the event's `meta.status_page`;
 * 3. else `fallback` (DEFAULT_STATUS_PAGE).
 * Either of the first two, when it is the uuid of a declared page, becomes that page's id, so one
 * page never shows under two labels.
 */
export function resolveStatusPage(url: string | undefined, sent: string | null | undefined, declared: PageUuids, fallback: string): string {
  const named = url !== undefined && url !== '' ? url : sent !== undefined && sent !== null && sent !== '' ? sent : undefined;
  if (named === undefined) return fallback;
  return declared.get(named.toLowerCase()) ?? cutLabel(named);
}
