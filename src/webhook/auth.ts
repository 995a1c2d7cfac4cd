import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const digest = (value: string) => hash('sha256', value, 'buffer');

/**
 * Checks a presented token against the configured ones in constant time. Both sides are hashed
 * first so that neither the tokens' lengths nor the position of a mismatch shows in the timing,
 * and every configured token is compared, so nor does which one matched.
 */
export function createTokenCheck(tokens: readonly string[]): (presented: string | undefined) => boolean {
  const expected = tokens.map(digest);
  return (presented) => {
    if (presented === undefined || presented.length === 0) return false;
    const actual = digest(presented);
    let matched = false;
    for (const candidate of expected) matched = timingSafeEqual(candidate, actual) || matched;
    return matched;
  };
}

/** The token from `Authorization: Bearer`, else `X-Webhook-Token`, else `?token=`. */
export function presentedToken(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) return match[1].trim();
  }
  const header = headers['x-webhook-token'];
  if (typeof header === 'string' && header.length > 0) return header;
  return query.get('token') ?? undefined;
}
