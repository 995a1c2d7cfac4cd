import type { Inventory } from '../inventory/file.js';
import { pageIndex, placeEvent, type Placement } from './status-page.js';
import { createTokenScopes, type TokenScopes } from './token-scope.js';

/**
 * What the webhook handler needs from the configuration and the inventory: which tokens open
 * which pages, and how an event's status page is named. Rebuilt on every reload of the inventory.
 */
export type WebhookAccess = {
  tokens: TokenScopes;
  /**
   * Where an event goes, from the URL's `?status_page=`, its `meta.status_page` and the uuids of
   * the components it names (see placeEvent).
   */
  place(url: string | undefined, sent: string | null | undefined, components: readonly string[]): Placement;
};

export type AccessOptions = {
  /** LEARN_STATUS_PAGES: with a status pages file in force, take events for pages it does not declare. */
  learnStatusPages?: boolean;
};

export function createWebhookAccess(
  allPagesTokens: readonly string[],
  inventory: Inventory,
  defaultStatusPage: string,
  options: AccessOptions = {},
): WebhookAccess {
  const index = pageIndex(inventory.pages, inventory.file !== undefined);
  const learn = options.learnStatusPages ?? false;
  return {
    tokens: createTokenScopes(allPagesTokens, inventory.pageTokens),
    place: (url, sent, components) => placeEvent(url, sent, components, index, defaultStatusPage, learn),
  };
}
