import type { Config } from './config.js';
import type { Inventory } from './inventory/file.js';

// What a start warns about in a configuration it takes: said by the start (server.ts) and by
// `statusmate-exporter check`, which must say the same.

/** ALERTMANAGER_URL with no component that a maintenance could silence alerts of. */
export function alertmanagerWithoutMatchers(config: Config, inventory: Inventory): string | undefined {
  if (!config.alertmanager || inventory.pages.some((page) => page.components.some((component) => (component.alertMatchers ?? []).length > 0))) return undefined;
  return 'ALERTMANAGER_URL is set, but no component of STATUS_PAGES_FILE has alert_matchers: no maintenance silences anything until one has';
}

/** Webhooks taken without a token (no WEBHOOK_TOKEN, no page's token_env). */
export const NO_TOKEN_WARNING = 'WEBHOOK_TOKEN is not set: webhooks are accepted without a token';
