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

/** What a request presented: a token, or why it presented none. Never logged with the token. */
export type Presented = { token: string } | { token: undefined; missing: 'no_token' | 'unsupported_scheme' };

/**
 * The token from `Authorization: Bearer`, else `X-Webhook-Token`, else `?token=`. An
 * Authorization header of another scheme (Basic, say) is told apart from no token at all, so
 * that the 401 can say which: a sender configured with the wrong scheme is a common mistake.
 */
export function presentedToken(headers: IncomingHttpHeaders, query: URLSearchParams): Presented {
  let otherScheme = false;
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const match = /^Bearer(?:\s+(.*))?$/i.exec(authorization);
    const token = match?.[1]?.trim();
    if (token) return { token };
    otherScheme = !match;
  }
  const header = headers['x-webhook-token'];
  if (typeof header === 'string' && header.length > 0) return { token: header };
  const token = query.get('token');
  if (token) return { token };
  return { token: undefined, missing: otherScheme ? 'unsupported_scheme' : 'no_token' };
}
