import { stateViewSchema, type StateView, type StatusPageView } from '../../src/api/state.js';

// A StateView built by hand for the landing page's tests, checked against the API's own schema:
// four pages whose labels sort the outage last, so ordering by label would hide it.

export const NOW = Date.parse('2026-12-03T12:00:00Z') / 1000;

/** A rendered page's text as a reader sees it: no style sheet, no tags, whitespace collapsed. */
export const text = (html: string) =>
  html
    .replace(/<style>[\s\S]*?<\/style>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');
const at = (secondsAgo: number) => new Date((NOW - secondsAgo) * 1000).toISOString();
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

let next = 0;
function component(name: string, impact = 'operational', secondsAgo = 86_400): StatusPageView['components'][number] {
  next += 1;
  const levels: Record<string, number> = { operational: 0, under_maintenance: 1, degraded_performance: 2, partial_outage: 3, major_outage: 4 };
  return { uuid: uuid(next), name, impact, level: levels[impact] ?? -1, last_change_at: at(secondsAgo), reported: true };
}

function page(id: string, name: string, components: StatusPageView['components'], extra: Partial<StatusPageView> = {}): StatusPageView {
  return { id, uuid: null, name, declared: true, last_received_at: at(120), components, incidents: [], maintenances: [], ...extra };
}

const manyOperational = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => component(`${prefix} ${i + 1}`));

/** 1 major outage on "zeta"; 1 partial outage on "payments", under an incident that also names Payouts without an impact. */
export function fourPages(options: { overdueMaintenance?: boolean } = {}): StateView {
  next = 0;
  const card = component('Card processing', 'partial_outage', 600);
  const payouts = component('Payouts');
  const checkout = component('Checkout', 'major_outage', 90);
  const pages = [
    page('alpha', 'Alpha status', manyOperational('Alpha service', 7)),
    page('blog', 'Blog', manyOperational('Blog service', 5), {
      maintenances: options.overdueMaintenance
        ? [
            { uuid: uuid(900), title: 'Database upgrade', state: 'in_progress', scheduled_start_at: at(3 * 3600), scheduled_end_at: at(2 * 3600) },
            { uuid: uuid(901), title: 'Cache flush', state: 'scheduled', scheduled_start_at: at(1800), scheduled_end_at: at(-1800) },
            { uuid: uuid(902), title: 'Next week', state: 'scheduled', scheduled_start_at: at(-7 * 86_400), scheduled_end_at: at(-7 * 86_400 - 3600) },
          ]
        : [],
    }),
    page('payments', 'Payments', [card, payouts, ...manyOperational('Payments service', 4)], {
      incidents: [
        {
          uuid: uuid(800),
          title: 'Card payments failing',
          started_at: at(600),
          components: [
            { uuid: card.uuid, impact: 'partial_outage' },
            { uuid: payouts.uuid, impact: null },
          ],
        },
      ],
    }),
    page('zeta', 'Zeta shop', [...manyOperational('Zeta service', 6), checkout]),
  ];
  return stateViewSchema.parse({
    generated_at: at(0),
    exporter: {
      version: 'test',
      store: 'memory',
      webhook_token_required: true,
      all_pages_token: true,
      page_tokens: [],
      status_pages_file: '/etc/statusmate-exporter/status-pages.yaml',
    },
    status_pages: pages,
    recent_deliveries: [],
  });
}
