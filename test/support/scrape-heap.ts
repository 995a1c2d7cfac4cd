// Run as a child by test/metrics/scrape-heap.test.ts, with a small heap:
//   node --import tsx --max-semi-space-size=4 --max-old-space-size=<MiB> test/support/scrape-heap.ts <components>
// A state of <components> components of one page whose id is 200 characters, each named with 200
// bytes and in a made-up impact after two known ones (so that each has six lines of
// statusmate_component_impact_seconds_total), rendered as a first scrape renders it: the cached
// families, then the impact seconds. Prints one JSON line: the bytes of each.
import { bookImpact } from '../../src/domain/ledger.js';
import { applyPatch, createState, emptyPageStats, emptyPatch } from '../../src/domain/state.js';
import { DomainMetrics } from '../../src/metrics/domain.js';

const components = Number(process.argv[2]);
const NOW = 1_800_000_000;
const page = 'p'.repeat(200);
const state = createState();
const uuids = Array.from({ length: components }, (_, n) => `c0000000-0000-4000-8000-${n.toString().padStart(12, '0')}`);
const nameOf = (n: number) => `${n}${'x'.repeat(200 - String(n).length)}`;
const madeUp = (n: number) => `made_up_${n}_${'q'.repeat(40)}`;
applyPatch(state, {
  ...emptyPatch(),
  pages: [emptyPageStats(page, NOW - 86_400)],
  components: uuids.map((uuid, n) => ({ statusPage: page, uuid, name: nameOf(n), impact: madeUp(n), changedAt: NOW - 600, direct: null, cleared: null })),
});
uuids.forEach((uuid, n) => {
  bookImpact(state.ledger, page, uuid, 'major_outage', NOW - 3600);
  bookImpact(state.ledger, page, uuid, 'partial_outage', NOW - 1800);
  bookImpact(state.ledger, page, uuid, madeUp(n), NOW - 600);
});

const metrics = new DomainMetrics(state);
const cached = metrics.parts().reduce((total, part) => total + part.length, 0);
const seconds = metrics.impactSecondsParts(NOW, 'text');
const impactSeconds = seconds.parts.reduce((total, part) => total + part.length, 0);
seconds.release();
process.stdout.write(`${JSON.stringify({ cached, impactSeconds })}\n`);
