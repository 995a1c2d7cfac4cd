import type { EventType } from './event.js';
import { internImpact as intern } from './impact.js';
import {
  addTotal,
  byText,
  changesFrom,
  createLedger,
  evidenceWeight,
  LEDGER_SLOTS,
  putEntry,
  STRIDE,
  touchWeight,
  type Changes,
  type ComponentLedger,
  type Evidence,
  type EvidenceBase,
  type EvidenceEvent,
  type Ledger,
  type LedgerTouch,
} from './ledger.js';

// The availability ledger's snapshot format: how the ledger (booked in ledger.ts) is written into
// a snapshot and read back, checked (src/log/snapshot.ts). It has a module of its own because the
// format outlives the code: what a snapshot holds must still be read after the booking changes,
// and a change to the format is found here, not among the booking rules.

/**
 * One component's ledger in a snapshot: page, uuid, since, impact, open since, totals, days, and
 * its change points (absent in snapshots written before them: then only the open interval's,
 * and nothing before it can be re-booked). The days are packed (packDays) and base64'd: a row is
 * mostly zeros (a day is rarely in two impacts), so it takes about 6 bytes instead of its 24 in memory.
 */
export type EncodedComponentLedger = [
  string,
  string,
  number,
  string,
  number,
  [string, number][],
  string,
  ([number, string][] | undefined)?,
  (EncodedEvidence | undefined)?,
];
/** A component's evidence in a snapshot (absent before it existed: then unknown): from, base, events. */
export type EncodedEvidence = [number | null, EvidenceBase | null, EncodedEvidenceEvent[]];
/** One event of the evidence: at, type, object, named (1) or not (0), name, impact, start, end. */
export type EncodedEvidenceEvent = [number, EventType, string, 0 | 1, string | null, string | null, number | null, number | null];
/** One touch in a snapshot: page, kind, uuid, title, start, end, components. */
export type EncodedTouch = [string, 'incident' | 'maintenance', string, string, number | null, number | null, string[]];
export type EncodedLedger = { keptFromDay: number; components: EncodedComponentLedger[]; touches?: EncodedTouch[] | undefined };

/** The ledger as a snapshot holds it: in an order of data alone (pages, components, impacts by name), so equal ledgers encode alike. */
export function encodeLedger(ledger: Ledger): EncodedLedger {
  return { keptFromDay: ledger.keptFromDay, components: [...encodeLedgerComponents(ledger)], touches: [...encodeLedgerTouches(ledger)] };
}

/**
 * The components of encodeLedger, one at a time: a snapshot written line by line holds one
 * component's encoding at a time, not all of them (src/log/snapshot.ts).
 */
export function* encodeLedgerComponents(ledger: Ledger): Generator<EncodedComponentLedger> {
  for (const statusPage of [...ledger.pages.keys()].sort(byText)) {
    const page = ledger.pages.get(statusPage) as Map<string, ComponentLedger>;
    for (const uuid of [...page.keys()].sort(byText)) {
      const entry = page.get(uuid) as ComponentLedger;
      const totals = [...entry.totals].sort(([a], [b]) => byText(a, b));
      const changes = [...entry.changes.ms].map((ms, i): [number, string] => [ms, entry.changes.impacts[i] as string]);
      const encoded: EncodedComponentLedger = [
        statusPage,
        uuid,
        entry.sinceMs,
        entry.impact,
        entry.openMs,
        totals,
        packDays(entry.days).toString('base64'),
        changes,
      ];
      if (entry.evidence) encoded.push(encodeEvidence(entry.evidence));
      yield encoded;
    }
  }
}

/** The touches of encodeLedger, in the same order. */
export function* encodeLedgerTouches(ledger: Ledger): Generator<EncodedTouch> {
  for (const statusPage of [...ledger.touches.keys()].sort(byText)) {
    const page = ledger.touches.get(statusPage) as Map<string, LedgerTouch>;
    for (const key of [...page.keys()].sort(byText)) {
      const touch = page.get(key) as LedgerTouch;
      yield [statusPage, touch.kind, touch.uuid, touch.title, touch.start, touch.end, [...touch.components]];
    }
  }
}

/**
 * The ledger a snapshot holds; throws on days that do not unpack (the caller reports it). Its
 * components may be any iterable: a snapshot read line by line hands them over one at a time.
 */
export function decodeLedger(encoded: Omit<EncodedLedger, 'components'> & { components: Iterable<EncodedComponentLedger> }): Ledger {
  const ledger = createLedger();
  ledger.keptFromDay = encoded.keptFromDay;
  for (const [statusPage, uuid, sinceMs, impact, openMs, totals, days, changes, evidence] of encoded.components) {
    let page = ledger.pages.get(statusPage);
    if (!page) ledger.pages.set(statusPage, (page = new Map<string, ComponentLedger>()));
    const what = `${statusPage}/${uuid}`;
    const decoded = evidence && decodeEvidence(evidence, what);
    putEntry(ledger, page, uuid, {
      sinceMs,
      impact: intern(impact),
      openMs,
      totals: totalsOf(totals),
      days: unpackDays(Buffer.from(days, 'base64'), what),
      changes: changesOf(changes, openMs, impact, what),
      evidence: decoded,
    });
    ledger.evidenceWeight += evidenceWeight(decoded);
  }
  for (const [statusPage, kind, uuid, title, start, end, components] of encoded.touches ?? []) {
    let page = ledger.touches.get(statusPage);
    if (!page) ledger.touches.set(statusPage, (page = new Map<string, LedgerTouch>()));
    const touch: LedgerTouch = { kind, uuid, title, start, end, components };
    page.set(`${kind}:${uuid}`, touch);
    ledger.touchWeight += touchWeight(touch);
  }
  return ledger;
}

function encodeEvidence(evidence: Evidence): EncodedEvidence {
  return [
    evidence.fromAt,
    evidence.base,
    evidence.events.map((e): EncodedEvidenceEvent => [e.at, e.type, e.object, e.named ? 1 : 0, e.name, e.impact, e.startAt, e.endAt]),
  ];
}

/** Gives a base just read from a snapshot's text the interned impacts, in place: its records are its own. */
function internBase(base: EvidenceBase): void {
  const { component } = base;
  component.impact = intern(component.impact);
  if (component.direct) component.direct.impact = intern(component.direct.impact);
  for (const record of [...base.incidents, ...base.maintenances]) {
    for (const entry of record.components) if (entry.impact !== null) entry.impact = intern(entry.impact);
  }
}

/** Evidence as a snapshot holds it, checked: events sorted, a base exactly when a `fromAt`. */
function decodeEvidence([fromAt, base, encoded]: EncodedEvidence, what: string): Evidence {
  if ((fromAt === null) !== (base === null)) throw new Error(`ledger of ${what}: its evidence has a base without a time, or a time without a base`);
  // A name as the event before it is that event's string: a snapshot's text gives every event a
  // copy of its own, where the fold shared one (see ledger-evidence.ts).
  let lastName: string | null = null;
  const events = encoded.map(([at, type, object, named, name, impact, startAt, endAt]): EvidenceEvent => {
    if (name !== null && name === lastName) name = lastName;
    else lastName = name;
    return { at, type, object, named: named === 1, name, impact: impact && intern(impact), startAt, endAt };
  });
  for (let i = 1; i < events.length; i += 1) {
    if ((events[i] as EvidenceEvent).at < (events[i - 1] as EvidenceEvent).at) throw new Error(`ledger of ${what}: its evidence is not sorted`);
  }
  if (base) internBase(base);
  return { fromAt, base, events };
}

/**
 * Totals as a snapshot holds them. One written before totalKeyOf may hold unknown impacts by
 * name: they are added up under `other`, as they would be booked now.
 */
function totalsOf(encoded: readonly [string, number][]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const [impact, ms] of encoded) addTotal(totals, impact, ms);
  return totals;
}

/** Change points as a snapshot holds them, checked: sorted, ending with the open interval's. */
function changesOf(encoded: [number, string][] | undefined, openMs: number, impact: string, what: string): Changes {
  if (encoded === undefined || encoded.length === 0) return changesFrom([[openMs, impact]]);
  for (let i = 1; i < encoded.length; i += 1) {
    if ((encoded[i] as [number, string])[0] < (encoded[i - 1] as [number, string])[0]) throw new Error(`ledger of ${what}: its change points are not sorted`);
  }
  const last = encoded.at(-1) as [number, string];
  if (last[0] !== openMs || last[1] !== impact) throw new Error(`ledger of ${what}: its last change point is not its open interval`);
  return changesFrom(encoded);
}

/**
 * Day rows as bytes: per row, the day (its difference from the previous row's, the first from
 * 0) as a varint, a byte whose bits say which slots are not zero, then those slots as varints.
 */
export function packDays(days: Uint32Array): Buffer {
  const out = Buffer.allocUnsafe(days.length * 5 + 8);
  let at = 0;
  const varint = (value: number) => {
    let rest = value;
    while (rest >= 0x80) {
      out[at++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    out[at++] = rest;
  };
  let previous = 0;
  for (let row = 0; row < days.length; row += STRIDE) {
    const day = days[row] as number;
    varint(day - previous);
    previous = day;
    let mask = 0;
    for (let slot = 0; slot < LEDGER_SLOTS.length; slot += 1) if (days[row + 1 + slot] !== 0) mask |= 1 << slot;
    out[at++] = mask;
    for (let slot = 0; slot < LEDGER_SLOTS.length; slot += 1) if (mask & (1 << slot)) varint(days[row + 1 + slot] as number);
  }
  return out.subarray(0, at);
}

export function unpackDays(bytes: Buffer, what: string): Uint32Array {
  const rows: number[] = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= bytes.length) throw new Error(`ledger of ${what}: its days end inside a number`);
      const byte = bytes[at++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
      if (scale > 2 ** 35) throw new Error(`ledger of ${what}: a number of its days is too long`);
    }
  };
  let day = 0;
  while (at < bytes.length) {
    day += varint();
    if (at >= bytes.length) throw new Error(`ledger of ${what}: its days end inside a row`);
    const mask = bytes[at++] as number;
    rows.push(day);
    for (let slot = 0; slot < LEDGER_SLOTS.length; slot += 1) rows.push(mask & (1 << slot) ? varint() : 0);
  }
  return Uint32Array.from(rows);
}
