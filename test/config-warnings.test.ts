import { describe, expect, it } from 'vitest';
import { pagesWithoutToken, SHORT_TOKEN_CHARS, shortTokens } from '../src/config-warnings.js';
import { parseInventory } from '../src/inventory/file.js';

const inventory = (pages: string[], withToken: string[]) => {
  const text = `status_pages:\n${pages.map((id) => `  - id: ${id}\n${withToken.includes(id) ? '    token_env: ACME_WEBHOOK_TOKEN\n' : ''}`).join('')}`;
  return parseInventory(text, 'status-pages.yaml', { ACME_WEBHOOK_TOKEN: 'acme-token' });
};

describe('the warning of pages no token opens', () => {
  it('is silent without page tokens (every webhook is open) or with WEBHOOK_TOKEN (it opens every page)', () => {
    expect(pagesWithoutToken([], inventory(['acme', 'beta'], []))).toBeUndefined();
    expect(pagesWithoutToken(['all-pages'], inventory(['acme', 'beta'], ['acme']))).toBeUndefined();
    expect(pagesWithoutToken([], inventory(['acme'], ['acme']))).toBeUndefined();
  });

  it('names up to ten pages, in the file order, and counts the rest', () => {
    const pages = Array.from({ length: 13 }, (_, n) => `page-${String(n).padStart(2, '0')}`);
    const warning = pagesWithoutToken([], inventory(['acme', ...pages], ['acme']));
    expect(warning).toBe(
      `status pages ${pages
        .slice(0, 10)
        .map((id) => `"${id}"`)
        .join(
          ', ',
        )} and 3 more have no token_env and WEBHOOK_TOKEN is not set: every webhook of them is refused (401), since a page's token_env makes every webhook need a token; give each a token_env, or set WEBHOOK_TOKEN`,
    );
  });
});

describe('the warning of tokens short enough to guess', () => {
  const long = 'x'.repeat(SHORT_TOKEN_CHARS);
  it('is silent without tokens, or when every token is long enough', () => {
    expect(shortTokens({ webhookTokens: [], alertmanagerWebhookTokens: [] })).toBeUndefined();
    expect(shortTokens({ webhookTokens: [long, `${long}y`], alertmanagerWebhookTokens: [long] })).toBeUndefined();
  });

  it('names each variable with a short token, however many tokens it lists, and never the token', () => {
    const warning = shortTokens({ webhookTokens: [long, 'ab'], alertmanagerWebhookTokens: ['q~'] });
    expect(warning).toBe(
      `WEBHOOK_TOKEN and ALERTMANAGER_WEBHOOK_TOKEN each hold a token shorter than ${SHORT_TOKEN_CHARS} characters, which can be guessed: make one with openssl rand -hex 32`,
    );
    expect(warning).not.toContain('q~');
    expect(shortTokens({ webhookTokens: [long], alertmanagerWebhookTokens: ['x'.repeat(SHORT_TOKEN_CHARS - 1)] })).toMatch(/^ALERTMANAGER_WEBHOOK_TOKEN holds/);
  });
});
