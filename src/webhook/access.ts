import type { Inventory } from '../inventory/file.js';
import { pageUuids, resolveStatusPage } from './status-page.js';
import { createTokenScopes, type TokenScopes } from './token-scope.js';

/**
 * What the webhook handler needs from the configuration and the inventory: which tokens open
 * which pages, and how an event's status page is named. Rebuilt on every reload of the inventory.
 */
export type WebhookAccess = {
  tokens: TokenScopes;
  /** The status_page label of an event, from the URL's `?status_page=` and its `meta.status_page`. */
  statusPage(url: string | undefined, sent: string | null | undefined): string;
};

export function createWebhookAccess(allPagesTokens: readonly string[], inventory: Inventory, defaultStatusPage: string): WebhookAccess {
  const declared = pageUuids(inventory.pages);
  return {
    tokens: createTokenScopes(allPagesTokens, inventory.pageTokens),
    statusPage: (url, sent) => resolveStatusPage(url, sent, declared, defaultStatusPage),
  };
}
