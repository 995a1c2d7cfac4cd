// What Alertmanager's alerts can make the alerts fold keep beyond its firing pairs: each component
// holding one long-firing alert while short alerts of it fire and end one after another, so that
// the component's record keeps the ended alerts' intervals (ComponentAlerts.ended) for as long as
// the long one fires. Built through the fold (foldAlerts, one notification per alert and step),
// in a fresh process (run with --expose-gc): prints one JSON object.
//   node --expose-gc bench/alert-ended-memory.mjs [components] [short alerts per component]
// Defaults: as many components as the pair bound leaves room for beside one short alert at a time
// (maxFiringAlerts - 1), and 40 short alerts each (past MAX_ENDED_INTERVALS, 32).

import { alertSnapshot } from '../dist/domain/alert-snapshot.js';
import { DEFAULT_ALERT_LIMITS } from '../dist/domain/alert-state.js';
import { impactShown } from '../dist/domain/alert-page.js';
import { foldAlerts } from '../dist/domain/alerts.js';
import { ALERT_RULES } from '../dist/domain/fold-rules.js';
import { createState } from '../dist/domain/state.js';
import { encodeSnapshot } from '../dist/log/snapshot.js';
import { componentUuid, PAGE, T0 } from './lib/ids.mjs';

const limits = DEFAULT_ALERT_LIMITS;
const [components = limits.maxFiringAlerts - 1, shorts = 40] = process.argv.slice(2).map(Number);
const settle = () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
};
const hex = (n) => n.toString(16).padStart(16, '0');

const state = createState();
const impactOf = impactShown(state, ALERT_RULES);
// Alertmanager's times as the receiver reads them (milliseconds / 1000), each notification's log
// time after the times it tells of (a time past it is not believed).
const ms = (seconds) => Math.round(seconds * 1000) / 1000;
const notify = (logTime, alerts) => foldAlerts(state.alerts, alerts, logTime, limits, impactOf, ALERT_RULES);
const component = (n) => [[PAGE, componentUuid(n)]];

// Each component's long alert, fired at T0.
const before = settle();
let held = 0;
for (let n = 0; n < components; n += 1) {
  held += notify(T0 + 1 + n / 10_000, [{ fingerprint: hex(n), status: 'firing', startsAt: ms(T0 + 0.123), endsAt: null, components: component(n) }]).held;
}
const firing = settle();
// Then, step by step, each component's next short alert fires and ends (1.111 s each, 10 s apart,
// after the long one's start): one more ended interval apart from the others, while the long one fires.
const built = performance.now();
let refused = 0;
for (let step = 1; step <= shorts; step += 1) {
  for (let n = 0; n < components; n += 1) {
    const fingerprint = hex(1_000_000_000 + step * 100_000 + n);
    const startsAt = ms(T0 + 10 * step + 0.123);
    const logTime = T0 + 10 * step + 3 + n / 10_000;
    refused += notify(logTime, [{ fingerprint, status: 'firing', startsAt, endsAt: null, components: component(n) }]).refused;
    notify(logTime, [{ fingerprint, status: 'resolved', startsAt, endsAt: ms(startsAt + 1.111), components: component(n) }]);
  }
}
const buildMs = performance.now() - built;
const after = settle();

let intervals = 0;
for (const record of state.alerts.components.values()) intervals += record.ended.length;
const { alertsJson, snapshot } = (() => {
  const text = JSON.stringify(alertSnapshot(state.alerts));
  return { alertsJson: text.length, snapshot: encodeSnapshot(state).length };
})();

// The intervals' own heap: what letting go of them gives back.
for (const record of state.alerts.components.values()) record.ended = [];
const cleared = settle();

console.log(
  JSON.stringify({
    components,
    shorts,
    held,
    refused,
    pairs: state.alerts.pairs,
    bytes: state.alerts.bytes,
    endedBytes: state.alerts.endedBytes ?? null,
    intervals,
    /** The firing pairs' heap, then what the ended intervals add to it. */
    firingHeap: firing.heap - before.heap,
    endedHeap: after.heap - firing.heap,
    endedArraysHeap: after.heap - cleared.heap,
    alertsSnapshotJson: alertsJson,
    snapshot,
    buildMs: Math.round(buildMs),
  }),
);
