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

/**
 * Tokens shorter than this are said at start to be guessable: a WEBHOOK_TOKEN token also opens
 * POST /-/forget, /-/reload and GET /-/backup on PORT, and a 2-character one was found by
 * guessing in under 2 seconds against the exporter on loopback. Not refused: a start that took
 * one before must not stop after an upgrade (a crash loop where the webhooks were answered).
 */
export const SHORT_TOKEN_CHARS = 16;

/** A warning naming the variables with a token shorter than SHORT_TOKEN_CHARS, never the tokens. */
export function shortTokens(config: Pick<Config, 'webhookTokens' | 'alertmanagerWebhookTokens'>): string | undefined {
  const short = (
    [
      ['WEBHOOK_TOKEN', config.webhookTokens],
      ['ALERTMANAGER_WEBHOOK_TOKEN', config.alertmanagerWebhookTokens],
    ] as const
  ).filter(([, tokens]) => tokens.some((token) => token.length < SHORT_TOKEN_CHARS));
  if (short.length === 0) return undefined;
  const names = short.map(([name]) => name).join(' and ');
  return `${names} ${short.length > 1 ? 'each hold' : 'holds'} a token shorter than ${SHORT_TOKEN_CHARS} characters, which can be guessed: make one with openssl rand -hex 32`;
}

/** How many pages a warning names before it counts the rest. */
const NAMED_PAGES = 10;

/**
 * The declared pages whose webhooks no token opens: once a page has a `token_env`, every webhook
 * needs a token, and without WEBHOOK_TOKEN a page without a token of its own has none. Its
 * webhooks are all refused 401, which a start takes without a word otherwise.
 */
export function pagesWithoutToken(allPagesTokens: readonly string[], inventory: Inventory): string | undefined {
  if (allPagesTokens.length > 0 || inventory.pageTokens.size === 0) return undefined;
  const closed = inventory.pages.filter((page) => !inventory.pageTokens.has(page.id)).map((page) => page.id);
  if (closed.length === 0) return undefined;
  const named = closed.slice(0, NAMED_PAGES).map((id) => JSON.stringify(id));
  const rest = closed.length > NAMED_PAGES ? ` and ${closed.length - NAMED_PAGES} more` : '';
  const pages = closed.length === 1 ? `status page ${named.join('')} has` : `status pages ${named.join(', ')}${rest} have`;
  return `${pages} no token_env and WEBHOOK_TOKEN is not set: every webhook of ${closed.length === 1 ? 'it' : 'them'} is refused (401), since a page's token_env makes every webhook need a token; give ${closed.length === 1 ? 'it' : 'each'} a token_env, or set WEBHOOK_TOKEN`;
}
