import type { RequestHandler } from 'express';

/**
 * The answer to a method a route does not take: 405 naming the one it does, with `Allow`, as
 * POST /webhook's. Registered after the route's own method, it also answers OPTIONS, which
 * Express would otherwise answer 200 itself (no route here serves another origin).
 */
export function methodNotAllowed(method: 'GET' | 'POST', path: string): RequestHandler {
  const allow = method === 'GET' ? 'GET, HEAD' : 'POST';
  return (_req, res) => {
    res
      .set('Allow', allow)
      .status(405)
      .json({ error: `use ${method} for ${path}`, issues: [] });
  };
}
