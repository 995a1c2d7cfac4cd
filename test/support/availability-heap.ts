// Run as a child by test/http/availability-answer-heap.test.ts, with a small heap:
//   node --import tsx --max-old-space-size=<MiB> test/support/availability-heap.ts <touches> <components> <query>
// A state whose ledger keeps <touches> finished incidents of one page, each naming the same
// <components> components and titled with 100 quotes and 100 emoji (each written as two
// characters in JSON and in CSV, and the emoji making the text two bytes a character), asked for
// its report with MAX_ANSWER_BYTES at 1 MiB. Prints one JSON line: the answer's status and
// error, and how many garbage collections computing it took.
import { PerformanceObserver } from 'node:perf_hooks';
import { availabilityAnswer } from '../../src/api/availability.js';
import { DEFAULT_POLICY } from '../../src/domain/availability.js';
import { bookTouch } from '../../src/domain/ledger.js';
import { applyPatch, createState, emptyPageStats, emptyPatch } from '../../src/domain/state.js';

const [touches, components, query] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] ?? ''];
const NOW = 1_800_000_000;
const state = createState();
const uuids = Array.from({ length: components }, (_, n) => `c0000000-0000-4000-8000-${n.toString().padStart(12, '0')}`);
applyPatch(state, {
  ...emptyPatch(),
  pages: [emptyPageStats('p', NOW - 86_400)],
  components: uuids.map((uuid) => ({ statusPage: 'p', uuid, name: 'c', impact: 'operational', changedAt: NOW - 86_400, direct: null, cleared: null })),
});
// One title string for all, so that the state stays small: the answer is what must stay bounded.
const title = `${'"'.repeat(100)}${'\u{1F600}'.repeat(100)}`;
for (let n = 0; n < touches; n++) {
  bookTouch(state.ledger, 'p', { kind: 'incident', uuid: `1${String(n).padStart(35, '0')}`, title, start: NOW - 3600, end: NOW - 60, components: uuids });
}

let collections = 0;
const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
observer.observe({ entryTypes: ['gc'] });
const settled = () => new Promise((resolve) => setTimeout(resolve, 20));
await settled();
collections = 0;
const answer = availabilityAnswer({
  state,
  declared: [],
  policy: DEFAULT_POLICY,
  query: new URLSearchParams(query),
  now: NOW,
  maxDays: 401,
  maxBytes: 1 << 20,
});
await settled();
observer.disconnect();
const text = Buffer.concat(answer.body).toString('utf8');
const error = answer.status === 200 ? null : (JSON.parse(text) as { error: string }).error;
process.stdout.write(`${JSON.stringify({ status: answer.status, error, collections })}\n`);
