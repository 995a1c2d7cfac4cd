// The availability ledger's memory and snapshot at N components × D days, in a fresh process
// (run with --expose-gc, as bench/run.mjs's section 9 does): prints one JSON object.
//   node --expose-gc bench/ledger-memory.mjs <components> <days> <every>   (every: 1 = a row every day; 20 = one day in 20)

import { availabilityReport } from '../dist/api/availability.js';
import { DEFAULT_POLICY } from '../dist/domain/availability.js';
import { bookImpact, DAY_MS } from '../dist/domain/ledger.js';
import { ledgerBytes } from '../dist/domain/ledger-reading.js';
import { prune } from '../dist/domain/prune.js';
import { DEFAULT_LIMITS } from '../dist/domain/reducer.js';
import { applyPatch, createState, emptyPageStats, emptyPatch } from '../dist/domain/state.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../dist/log/snapshot.js';
import { componentName, componentUuid, IMPACTS, PAGE, T0 } from './lib/ids.mjs';

const [components, days, every] = process.argv.slice(2).map(Number);
const settle = () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
};

const state = createState();
const start = ((Math.floor((T0 * 1000) / DAY_MS) - days + 1) * DAY_MS) / 1000;
// The component records, as the fold would have them (booking nothing: no ledgerAt).
applyPatch(state, {
  ...emptyPatch(),
  pages: [emptyPageStats(PAGE, start)],
  components: Array.from({ length: components }, (_, n) => ({
    statusPage: PAGE,
    uuid: componentUuid(n),
    name: componentName(n),
    impact: 'operational',
    changedAt: start,
    direct: null,
    cleared: null,
  })),
});
// What the ledger adds to the state: measured from here.
const before = settle();
const built = performance.now();
for (let n = 0; n < components; n += 1) {
  const uuid = componentUuid(n);
  bookImpact(state.ledger, PAGE, uuid, 'operational', start);
  if (every === 1) {
    // One interval across every day: a row per day, booked at once.
    bookImpact(state.ledger, PAGE, uuid, IMPACTS[2 + (n % 3)], start + 3600);
    bookImpact(state.ledger, PAGE, uuid, 'operational', start + (days - 1) * 86_400 + 3600);
  } else {
    for (let day = n % every; day < days; day += every) {
      bookImpact(state.ledger, PAGE, uuid, IMPACTS[2 + (day % 3)], start + day * 86_400 + 3600);
      bookImpact(state.ledger, PAGE, uuid, 'operational', start + day * 86_400 + 5400);
    }
  }
}
const buildMs = performance.now() - built;
const after = settle();
const { rows, bytes } = ledgerBytes(state.ledger);

// In a function, so that the snapshot and its decoded state are garbage before the bound's figure.
const { snapshotBytes, encodeMs, decodeMs } = (() => {
  let started = performance.now();
  const snapshot = encodeSnapshot(state);
  const encoded = performance.now() - started;
  started = performance.now();
  const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), snapshot);
  const decodedMs = performance.now() - started;
  if (decoded.kind !== 'state') throw new Error(`the snapshot did not decode: ${decoded.kind}`);
  return { snapshotBytes: snapshot.length, encodeMs: encoded, decodeMs: decodedMs };
})();
let t = performance.now();
const today = Math.floor((T0 * 1000) / DAY_MS);
availabilityReport({ state, declared: [], policy: DEFAULT_POLICY, now: T0 }, today - 29, today, null);
const reportMs = performance.now() - t;
t = performance.now();
applyPatch(state, prune(state, T0 + 86_400, 3600, undefined, days));
const pruneMs = performance.now() - t;
// Then the bound: LEDGER_MAX_DAY_ROWS at its default forgets the oldest days past it.
applyPatch(state, prune(state, T0 + 86_400, 3600, undefined, days, DEFAULT_LIMITS.ledgerMaxDayRows));
const bounded = settle();
const boundedRows = ledgerBytes(state.ledger).rows;
const keptDays = Math.floor((T0 * 1000) / DAY_MS) + 1 - state.ledger.keptFromDay + 1;

console.log(
  JSON.stringify({
    boundedRows,
    boundedHeap: bounded.heap - before.heap,
    keptDays,
    rows,
    estimate: bytes,
    measured: after.heap - before.heap,
    rss: after.rss - before.rss,
    snapshot: snapshotBytes,
    buildMs,
    encodeMs,
    decodeMs,
    pruneMs,
    reportMs,
  }),
);
