import { OPERATIONAL } from './impact.js';
import { DAY_MS, LEDGER_SLOTS, slotOf, STRIDE, toMs, totalKeyOf, type ComponentLedger, type Ledger } from './ledger.js';

// What the availability ledger (booked in ledger.ts) says, read without changing it: seconds per
// impact, per UTC day, and the memory it takes. Readers count the open interval up to their own
// `now`, so reading (a scrape, the availability API) never mutates the state.

/**
 * The closed intervals booked after `nowMs` (and after `fromMs`), as [from, to, impact]: a
 * created_at up to MAX_CLOCK_SKEW_SECONDS ahead of its receipt is trusted, so a change may be
 * booked at a time still to come, and the interval before it closed there. A reader counts up to
 * its own now, so it takes these out. Only the newest change points can be ahead (by minutes),
 * and they are always kept.
 */
function bookedAhead(entry: ComponentLedger, nowMs: number, fromMs: number): [number, number, string][] {
  const ahead: [number, number, string][] = [];
  if (entry.openMs <= nowMs) return ahead;
  const { ms, impacts } = entry.changes;
  for (let i = 0; i + 1 < ms.length; i += 1) {
    const from = Math.max(ms[i] as number, nowMs, fromMs);
    const to = Math.min(ms[i + 1] as number, entry.openMs);
    if (to > from) ahead.push([from, to, impacts[i] as string]);
  }
  return ahead;
}

/**
 * Seconds per impact since first known, the open interval counted up to `nowSeconds` (never before
 * it opened), and nothing booked after it: the counter grows as time passes, never ahead of it.
 */
export function secondsByImpact(entry: ComponentLedger, nowSeconds: number): Map<string, number> {
  const out = new Map<string, number>();
  out.set(OPERATIONAL, 0);
  for (const [impact, ms] of entry.totals) out.set(impact, ms / 1000);
  const nowMs = toMs(nowSeconds);
  const open = Math.max(0, nowMs - entry.openMs);
  const key = totalKeyOf(entry.impact);
  out.set(key, (out.get(key) ?? 0) + open / 1000);
  for (const [from, to, impact] of bookedAhead(entry, nowMs, entry.sinceMs)) {
    const aheadKey = totalKeyOf(impact);
    const booked = out.get(aheadKey);
    if (booked !== undefined) out.set(aheadKey, Math.max(0, booked - (to - from) / 1000));
  }
  return out;
}

/** Milliseconds of one UTC day: covered, and per slot (operational = covered less the slots). */
export type DayUsage = { day: number; covered: number; slots: number[] };

/**
 * What `entry` says of each day in [fromDay, toDay] (inclusive), the open interval counted up to
 * `nowMs`. A day before the component was known, before the kept days, or after `nowMs`, covers
 * nothing (or part of itself).
 */
export function daysOf(entry: ComponentLedger, keptFromDay: number, fromDay: number, toDay: number, nowMs: number): DayUsage[] {
  const out: DayUsage[] = [];
  const knownFrom = Math.max(entry.sinceMs, keptFromDay * DAY_MS);
  let row = 0;
  const days = entry.days;
  while (row < days.length && (days[row] as number) < fromDay) row += STRIDE;
  const openSlot = slotOf(entry.impact);
  // Counted up to `nowMs`: what is booked after it is taken out of its day (bookedAhead).
  const ahead = bookedAhead(entry, nowMs, knownFrom).map(([from, to, impact]) => [from, to, slotOf(impact)] as const);
  for (let day = fromDay; day <= toDay; day += 1) {
    const start = day * DAY_MS;
    const end = start + DAY_MS;
    const closedCovered = Math.max(0, Math.min(end, entry.openMs) - Math.max(start, knownFrom));
    const openFrom = Math.max(start, entry.openMs, knownFrom);
    const openCovered = Math.max(0, Math.min(end, nowMs) - openFrom);
    const slots = new Array<number>(LEDGER_SLOTS.length).fill(0);
    if (row < days.length && days[row] === day) {
      // A row of a day before the kept ones (a reader's keptFromDay the fold has not pruned to
      // yet) covers nothing: its slots would count time the day does not.
      if (end > knownFrom) for (let s = 0; s < LEDGER_SLOTS.length; s += 1) slots[s] = days[row + 1 + s] as number;
      row += STRIDE;
    }
    if (openSlot >= 0) slots[openSlot] = (slots[openSlot] as number) + openCovered;
    let future = 0;
    for (const [from, to, slot] of ahead) {
      const ms = Math.max(0, Math.min(to, end) - Math.max(from, start));
      future += ms;
      if (slot >= 0) slots[slot] = Math.max(0, (slots[slot] as number) - ms);
    }
    out.push({ day, covered: Math.max(0, closedCovered + openCovered - future), slots });
  }
  return out;
}

/**
 * Bytes the day rows, change points, evidence and records take (typed arrays counted exactly,
 * records by an estimate of 200 bytes, change points by their 8-byte time and 4-byte impact, plus
 * 150 bytes a component for their arrays, an evidence event by 100 bytes and a base by 600).
 */
export function ledgerBytes(ledger: Ledger): { components: number; rows: number; changes: number; evidence: number; bytes: number } {
  let components = 0;
  let rows = 0;
  let changes = 0;
  let evidence = 0;
  let bases = 0;
  for (const page of ledger.pages.values()) {
    for (const entry of page.values()) {
      components += 1;
      rows += entry.days.length / STRIDE;
      changes += entry.changes.ms.length;
      evidence += entry.evidence?.events.length ?? 0;
      if (entry.evidence?.base) bases += 1;
    }
  }
  return { components, rows, changes, evidence, bytes: rows * STRIDE * 4 + changes * 12 + components * 350 + evidence * 100 + bases * 600 };
}
