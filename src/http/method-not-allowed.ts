import type { RequestHandler } from 'express';

/**
 * What a POST to `/` is told: a StatusMate webhook URL of the bare host (`https://host/`) is the
 * likely mistake, and "use GET for /" alone said nothing of where webhooks go.
 */
export const WEBHOOK_ELSEWHERE = 'StatusMate webhooks go to POST /webhook';

/**
 * The answer to a method a route does not take: 405 naming the one it does, with `Allow`, as
 * POST /webhook's. Registered after the route's own method, it also answers OPTIONS, which
 * Express would otherwise answer 200 itself (no route here serves another origin). `postHint` is
 * added to the answer of a POST.
 */
export function methodNotAllowed(method: 'GET' | 'POST', path: string, postHint?: string): RequestHandler {
  const allow = method === 'GET' ? 'GET, HEAD' : 'POST';
  const error = `use ${method} for ${path}`;
  const posted = postHint === undefined ? error : `${error}; ${postHint}`;
  return (req, res) => {
    res
      .set('Allow', allow)
      .status(405)
      .json({ error: req.method === 'POST' ? posted : error, issues: [] });
  };
}
