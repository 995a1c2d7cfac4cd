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
  const token = queryToken(query);
  if (token) return { token };
  return { token: undefined, missing: otherScheme ? 'unsupported_scheme' : 'no_token' };
}

/**
 * `?token=` as the sender pasted it. URLSearchParams reads a `+` in a query as a space (form
 * encoding), so a base64 token (`openssl rand -base64 32`) pasted into StatusMate's webhook URL as
 * the README shows was answered "wrong webhook token". A token holds no space (WEBHOOK_TOKEN and
 * `token_env` refuse one), so every space read here was a `+`.
 */
export function queryToken(query: URLSearchParams): string | undefined {
  return query.get('token')?.replaceAll(' ', '+') ?? undefined;
}
