import type { StoreName } from '../config.js';
import { Router, type RequestHandler } from 'express';
import { stateView, type StateView } from '../api/state.js';
import type { State } from '../domain/state.js';
import type { LiveInventory } from '../inventory/live.js';
import { renderLandingPage } from '../ui/landing.js';
import type { RecentDeliveries } from '../webhook/deliveries.js';

export type OperatorDeps = {
  state: State;
  inventory: LiveInventory;
  deliveries: RecentDeliveries;
  version: string;
  store: StoreName;
  allPagesTokens: number;
};

/**
 * The routes for the people running the exporter: the landing page, the state API and the
 * reload. They sit beside /metrics (on METRICS_PORT when it is set), never on a port that only
 * the webhook should face. None of them changes the state but the reload.
 */
export function operatorRoutes(deps: OperatorDeps): Router {
  const view = (): StateView => {
    const inventory = deps.inventory.current();
    const access = deps.inventory.webhookAccess();
    return stateView({
      state: deps.state,
      declared: inventory.pages,
      deliveries: deps.deliveries.list(),
      now: Date.now() / 1000,
      exporter: {
        version: deps.version,
        store: deps.store,
        webhook_token_required: access.tokens.required,
        all_pages_token: deps.allPagesTokens > 0,
        page_tokens: [...inventory.pageTokens.keys()].sort(),
        status_pages_file: inventory.file ?? null,
      },
    });
  };

  const landing: RequestHandler = (_req, res) => {
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(renderLandingPage(view(), Date.now() / 1000));
  };
  const state: RequestHandler = (_req, res) => {
    res.set('Cache-Control', 'no-store').json(view());
  };
  const reload: RequestHandler = async (_req, res) => {
    const result = await deps.inventory.reload();
    if (result.ok) res.json({ status: 'reloaded', status_pages: result.statusPages, components: result.components });
    // The operator asked and the file is theirs: the answer says what is wrong with it.
    else res.status(500).json({ error: result.error, issues: [] });
  };

  const router = Router();
  router.get('/', landing);
  router.get('/api/v1/state', state);
  router.post('/-/reload', reload);
  router.all('/-/reload', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'use POST for /-/reload', issues: [] });
  });
  return router;
}
