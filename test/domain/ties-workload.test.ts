import { describe, expect, it } from 'vitest';
import { ledgerOf } from '../../src/domain/ledger.js';
import { secondsByImpact } from '../../src/domain/ledger-reading.js';
import { parseWebhook } from '../../src/webhook/schema.js';
import { Player, restored } from '../support/events.js';
import { inCreatedOrder, shuffledOrder, tieWorkload, type TieEvent } from '../support/tie-workload.js';

// Realistic event sets (support/tie-workload.ts) in which many component updates share their
// created_at second with an incident's or maintenance's event naming the component: the state
// and the ledger they fold to are the same in any order of arrival, with a restart (a snapshot)
// in between or not, as in created_at order. (Delivered to real exporters, one at a time or 32-64
// in flight, killed and restarted halfway, or to two replicas on one Redis, the same sets gave
// the same /metrics, state and availability too; that takes minutes, this a second or two.)

/** 2026-01-10T00:00:00Z: the events fall in the three days before it, and are received after it. */
const DAY_START = 1_768_003_200;
const NOW = DAY_START + 86_400;

function fold(order: readonly TieEvent[], player = new Player(), first = 0): Player {
  order.forEach((e, i) => {
    const parsed = parseWebhook(e.body, 'default');
    if (parsed.kind !== 'event') throw new Error(`event ${e.id} does not parse: ${JSON.stringify(parsed)}`);
    player.play(parsed.event, DAY_START + first + i);
  });
  return player;
}

/** What readers see, keyed by page and component (or record kind): what differs is named by its key. */
function seen(player: Player): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, page] of player.state.pages) {
    // When the page was first heard of, and last, are times of receipt.
    const { lastReceivedAt: _received, createdAt: _created, ...stats } = page.stats;
    out[`${id} stats`] = JSON.stringify(stats);
    for (const c of page.components.values()) {
      const entry = ledgerOf(player.state.ledger, id, c.uuid);
      const ledger = entry && {
        since: entry.sinceMs,
        seconds: Object.fromEntries([...secondsByImpact(entry, NOW)].sort()),
        days: [...entry.days].join(','),
      };
      out[`${id} ${c.name}`] = JSON.stringify({ impact: c.impact, changedAt: c.changedAt, ledger });
    }
    const records = <R extends { uuid: string }>(map: Map<string, R>, pick: (r: R) => unknown[]) =>
      JSON.stringify([...map.values()].sort((a, b) => (a.uuid < b.uuid ? -1 : 1)).map(pick));
    out[`${id} incidents`] = records(page.incidents, (i) => [i.uuid, i.state, i.startAt, i.endAt]);
    out[`${id} maintenances`] = records(page.maintenances, (m) => [m.uuid, m.state, m.startedAt, m.finishedAt]);
  }
  return out;
}

const SEEDS = [1, 2, 3, 4, 5, 6];
const SHUFFLES = 4;

describe('a realistic event set with many events of one created_at second', () => {
  for (const addAtFinish of [false, true]) {
    for (const seed of SEEDS) {
      it(`folds alike in any order${addAtFinish ? ', finishes naming one component more' : ''} (seed ${seed})`, () => {
        const events = tieWorkload(seed, { dayStart: DAY_START, addAtFinish });
        const expected = seen(fold(inCreatedOrder(events)));
        expect(Object.keys(expected).length).toBeGreaterThan(30);
        for (let s = 0; s < SHUFFLES; s++) {
          const order = shuffledOrder(events, seed * 1000 + s);
          expect(seen(fold(order)), `shuffle ${s}`).toEqual(expected);
          const half = Math.floor(order.length / 2);
          const resumed = fold(order.slice(half), restored(fold(order.slice(0, half))), half);
          expect(seen(resumed), `shuffle ${s}, restarted halfway`).toEqual(expected);
        }
      });
    }
  }
});

it('the workload is what it says: past events, many ties, retries', () => {
  for (const seed of SEEDS) {
    const events = tieWorkload(seed, { dayStart: DAY_START, addAtFinish: true });
    expect(Math.max(...events.map((e) => e.at))).toBeLessThanOrEqual(DAY_START - 3600);
    const objectSeconds = new Set<string>();
    for (const e of events)
      if (e.body.meta.type !== 'component_impact_updated')
        for (const c of e.body.meta.affected_components as { component_details: { component_uuid: string } }[])
          objectSeconds.add(`${c.component_details.component_uuid}@${e.at}`);
    const updates = events.filter((e) => e.body.meta.type === 'component_impact_updated' && e.retryOf === undefined);
    const tied = updates.filter((e) => objectSeconds.has(`${String(e.body.meta.uuid)}@${e.at}`));
    expect(tied.length / updates.length).toBeGreaterThan(0.3);
    expect(events.some((e) => e.retryOf !== undefined)).toBe(true);
  }
});
