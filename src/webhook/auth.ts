import type { IncomingHttpHeaders } from 'node:http';

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
