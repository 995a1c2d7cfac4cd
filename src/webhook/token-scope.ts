import { hash, timingSafeEqual } from 'node:crypto';

/** What a presented token may post to: every status page, or the pages listed. */
export type TokenScope = { kind: 'all' } | { kind: 'pages'; pages: ReadonlySet<string> };

export type TokenScopes = {
  /** False only when no token is configured at all: then webhooks need none. */
  required: boolean;
  /** The scope of a presented token; undefined when it matches no configured token. */
  scopeOf(presented: string | undefined): TokenScope | undefined;
};

const digest = (value: string) => hash('sha256', value, 'buffer');

/** The scope of a WEBHOOK_TOKEN token: one object for every request, which only reads it. */
const ALL_PAGES: TokenScope = Object.freeze({ kind: 'all' });

/** Why a token outside visible ASCII is refused where it is configured (see unusableToken). */
export const UNUSABLE_TOKEN = 'holds a character outside visible ASCII (a space, an accent, a control character), which an HTTP header cannot carry alike';

/**
 * Why a configured token could never be presented alike, or undefined when it can: HTTP carries
 * a header's bytes as Latin-1, so a token with a character outside visible ASCII (an accent, a
 * space, a control character) would match from `?token=` but never from `Authorization`.
 */
export function unusableToken(token: string): string | undefined {
  return /^[\x21-\x7e]+$/.test(token) ? undefined : UNUSABLE_TOKEN;
}

/**
 * WEBHOOK_TOKEN's tokens reach every page; a page's `token_env` tokens reach that page alone.
 * Checked in constant time: both sides are hashed first and every configured token is compared,
 * so the timing tells neither a token's length, nor where a mismatch is, nor which one matched.
 */
export function createTokenScopes(allPages: readonly string[], byPage: ReadonlyMap<string, readonly string[]>): TokenScopes {
  const entries: { digest: Buffer; page: string | undefined }[] = [];
  for (const token of allPages) entries.push({ digest: digest(token), page: undefined });
  for (const [page, tokens] of byPage) for (const token of tokens) entries.push({ digest: digest(token), page });
  return {
    required: entries.length > 0,
    scopeOf(presented) {
      if (presented === undefined || presented.length === 0) return undefined;
      const actual = digest(presented);
      let all = false;
      let matched = false;
      // Made only for a page's token: the usual match, WEBHOOK_TOKEN's, needs no set (one a request otherwise).
      let pages: Set<string> | undefined;
      for (const entry of entries) {
        if (!timingSafeEqual(entry.digest, actual)) continue;
        matched = true;
        if (entry.page === undefined) all = true;
        else (pages ??= new Set()).add(entry.page);
      }
      if (!matched) return undefined;
      return all ? ALL_PAGES : { kind: 'pages', pages: pages ?? new Set() };
    },
  };
}

/** Whether a scope lets an event for `statusPage` through. */
export function scopeAllows(scope: TokenScope | undefined, statusPage: string): boolean {
  return scope === undefined || scope.kind === 'all' || scope.pages.has(statusPage);
}
