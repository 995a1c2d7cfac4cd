// Run as a child by test/domain/impact-interning.test.ts:
//   node --import tsx test/support/impact-copies.ts
// Folds COMPONENTS components through UPDATES component_impact_updated webhooks each, cycling
// through DISTINCT impacts StatusMate does not document, and one active incident holding all of
// them in another, by the three doors an impact enters a state by: webhook bodies (each parsed
// from its own text, as each request brings its own copy), log entries read back, and a snapshot
// read back (a restart). Keeps the three states, then counts the string objects on the heap that
// spell one of those impacts. Prints one JSON line: { distinct, copies }.
import { getHeapSnapshot } from 'node:v8';
import { DEFAULT_LIMITS, reduce } from '../../src/domain/reducer.js';
import { applyPatch, createState, replaceState, type State } from '../../src/domain/state.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';
import { decodeEntry, encodeEntry } from '../../src/log/entry.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { parseWebhook } from '../../src/webhook/schema.js';

const COMPONENTS = 40;
const UPDATES = 40;
const DISTINCT = 4;
const PREFIX = 'brand_new_outage_';
const T0 = 1_800_000_000;
const uuid = (kind: number, n: number) => `${kind}0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const at = (seconds: number) => new Date((T0 + seconds) * 1000).toISOString();
// Built by concatenation at run time, so that the script's own text holds no copy of them.
const impactOf = (k: number) => PREFIX + String(k % DISTINCT);

const bodies: string[] = [];
bodies.push(
  JSON.stringify({
    meta: {
      type: 'incident_created',
      uuid: uuid(1, 0),
      title: 'Outage',
      start_at: at(0),
      created_at: at(0),
      affected_components: Array.from({ length: COMPONENTS }, (_, n) => ({
        component_details: { component_uuid: uuid(2, n), name: `c${n}`, impact: impactOf(n + 1) },
      })),
    },
  }),
);
for (let u = 0; u < UPDATES; u += 1) {
  for (let n = 0; n < COMPONENTS; n += 1) {
    bodies.push(
      JSON.stringify({ meta: { type: 'component_impact_updated', uuid: uuid(2, n), title: `c${n}`, impact: impactOf(u), created_at: at(60 + u * 60) } }),
    );
  }
}

function fold(state: State, event: StatusMateEvent, index: number): void {
  const decision = reduce(state, event, dedupKey(event), T0 + 10_000 + index, DEFAULT_LIMITS);
  if (decision.outcome !== 'applied') throw new Error(`event ${index}: ${decision.outcome}`);
  applyPatch(state, decision.patch);
}

const live = createState();
const replayed = createState();
{
  // In a block of its own: the entries, each holding its event, go once folded.
  const entries = bodies.map((text, index) => {
    const parsed = parseWebhook(JSON.parse(text), 'shop');
    if (parsed.kind !== 'event') throw new Error(`body ${index}: ${parsed.kind}`);
    fold(live, parsed.event, index);
    return encodeEntry('o', parsed.event, DEFAULT_LIMITS, 3600);
  });
  entries.forEach((fields, index) => {
    const parsed = decodeEntry(fields);
    if (parsed.kind !== 'entry') throw new Error(`entry ${index}: ${parsed.kind}`);
    fold(replayed, parsed.entry.event, index);
  });
}

const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(live));
if (decoded.kind !== 'state') throw new Error(`snapshot: ${decoded.kind}`);
const restarted = createState();
replaceState(restarted, decoded.state);

type HeapSnapshot = { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
const chunks: Buffer[] = [];
for await (const chunk of getHeapSnapshot()) chunks.push(chunk as Buffer);
const heap = JSON.parse(Buffer.concat(chunks).toString('utf8')) as HeapSnapshot;
const fields = heap.snapshot.meta.node_fields;
const [typeAt, nameAt] = [fields.indexOf('type'), fields.indexOf('name')];
const stringTypes = new Set(['string', 'concatenated string', 'sliced string'].map((type) => heap.snapshot.meta.node_types[0].indexOf(type)));
// Compared as text (no regular expression, whose last match would hold one more copy).
const spellings = new Set(Array.from({ length: DISTINCT }, (_, k) => impactOf(k)));
let copies = 0;
for (let i = 0; i < heap.nodes.length; i += fields.length) {
  if (stringTypes.has(heap.nodes[i + typeAt] as number) && spellings.has(heap.strings[heap.nodes[i + nameAt] as number] as string)) copies += 1;
}
// The states stay reachable until the heap is counted.
if ([live, replayed, restarted].some((state) => state.pages.size !== 1)) throw new Error('a state lost its page');
console.log(JSON.stringify({ distinct: DISTINCT, copies }));
