import { z } from 'zod';
import { IMPACT_PATTERN, impactLevel, OPERATIONAL } from './impact.js';
import { DAY_MS, LEDGER_SLOTS, type ComponentLedger } from './ledger.js';
import { daysOf, type DayUsage } from './ledger-reading.js';

// How time in each impact becomes availability (issue 20): which impacts count as down and with
// what weight, and whether maintenance is taken out of the period. Set in the environment
// (AVAILABILITY_WEIGHTS, AVAILABILITY_EXCLUDE_MAINTENANCE) and per status page in the status pages
// file (`availability:`); docs/api.md documents it. Pure: reads a ledger, never the clock.

export type AvailabilityPolicy = {
  /** Weight of each impact's time as downtime, 0 (up) to 1 (down); impacts not named weigh 0. */
  weights: Readonly<Record<string, number>>;
  /** Whether time under maintenance is left out of the period (neither up nor down). */
  excludeMaintenance: boolean;
};

export const DEFAULT_WEIGHTS: Readonly<Record<string, number>> = { major_outage: 1, partial_outage: 1, degraded_performance: 0 };
export const DEFAULT_POLICY: AvailabilityPolicy = { weights: DEFAULT_WEIGHTS, excludeMaintenance: true };

const weight = z.number().min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' });
const impactName = z.string().regex(IMPACT_PATTERN, { error: 'must be an impact name like major_outage' });

/** The `availability:` of a page in the status pages file. */
export const pagePolicySchema = z.strictObject({
  weights: z.record(impactName, weight).optional(),
  exclude_maintenance: z.boolean().optional(),
});
export type PagePolicy = z.infer<typeof pagePolicySchema>;

/**
 * AVAILABILITY_WEIGHTS: `impact=weight` pairs separated by commas, e.g.
 * `major_outage=1,partial_outage=1,degraded_performance=0.5`. Impacts named replace the default's;
 * the others keep it.
 */
export const weightsEnvSchema = z.string().transform((text, ctx) => {
  const weights: Record<string, number> = { ...DEFAULT_WEIGHTS };
  const given = new Set<string>();
  for (const part of text.split(',').map((piece) => piece.trim())) {
    if (part === '') continue;
    const match = /^([^=\s]+)\s*=\s*([^=\s]+)$/.exec(part);
    const impact = impactName.safeParse(match?.[1]);
    const value = weight.safeParse(Number(match?.[2]));
    if (!match || !impact.success || !value.success || match[2] === undefined || !/^\d+(\.\d+)?$/.test(match[2])) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not impact=weight with a weight from 0 to 1 (like major_outage=1,degraded_performance=0.5)` });
      return z.NEVER;
    }
    // Twice is a mistake (a value pasted over another): which one was meant is not ours to guess.
    if (given.has(impact.data)) {
      ctx.addIssue({ code: 'custom', message: `${impact.data} is given twice: give each impact once` });
      return z.NEVER;
    }
    given.add(impact.data);
    weights[impact.data] = value.data;
  }
  return weights;
});

/** The policy of a page: the environment's, with what the page's file entry sets. */
export function policyFor(base: AvailabilityPolicy, page: PagePolicy | undefined): AvailabilityPolicy {
  if (!page) return base;
  return { weights: { ...base.weights, ...page.weights }, excludeMaintenance: page.exclude_maintenance ?? base.excludeMaintenance };
}

/** Milliseconds of a period, per impact, and what the policy makes of them. */
export type Usage = {
  /** Time the component was known in the period (ms). */
  known: number;
  /** Per impact: `operational`, the slots of the ledger (unknown impacts as `other`). */
  byImpact: Record<string, number>;
  /** Left out of the period by the policy (maintenance). */
  excluded: number;
  /** Weighted downtime. */
  down: number;
};

export function emptyUsage(): Usage {
  const byImpact: Record<string, number> = { [OPERATIONAL]: 0 };
  for (const slot of LEDGER_SLOTS) byImpact[slot] = 0;
  return { known: 0, byImpact, excluded: 0, down: 0 };
}

/** Adds one day's usage (or a sum of them) to `into`, under `policy`. */
export function addDay(into: Usage, day: DayUsage, policy: AvailabilityPolicy): void {
  let others = 0;
  into.known += day.covered;
  day.slots.forEach((ms, slot) => {
    if (ms === 0) return;
    const impact = LEDGER_SLOTS[slot] as string;
    others += ms;
    into.byImpact[impact] = (into.byImpact[impact] ?? 0) + ms;
    if (impact === 'under_maintenance' && policy.excludeMaintenance) into.excluded += ms;
    else into.down += ms * (policy.weights[impact] ?? 0);
  });
  const operational = Math.max(0, day.covered - others);
  into.byImpact[OPERATIONAL] = (into.byImpact[OPERATIONAL] ?? 0) + operational;
  into.down += operational * (policy.weights[OPERATIONAL] ?? 0);
}

export function mergeUsage(into: Usage, from: Usage): void {
  into.known += from.known;
  into.excluded += from.excluded;
  into.down += from.down;
  for (const [impact, ms] of Object.entries(from.byImpact)) into.byImpact[impact] = (into.byImpact[impact] ?? 0) + ms;
}

/** Availability of a usage: 1 − down / (known − excluded), or null when nothing of the period counts. */
export function availabilityOf(usage: Usage): number | null {
  const counted = usage.known - usage.excluded;
  return counted > 0 ? Math.max(0, 1 - usage.down / counted) : null;
}

/**
 * The first day a reader counts at `nowMs`: the ledger's oldest kept day, or the day
 * LEDGER_RETENTION_DAYS (`retentionDays`) before today when that is later. The fold prunes by log
 * time, once per ten minutes of it and only when it folds an entry: until then (after a start,
 * after midnight, while no webhook arrives for days) the ledger still holds older days, and a
 * report or a bar read them as data, then as no data for the same days after the next webhook.
 */
export function firstReadDay(keptFromDay: number, nowMs: number, retentionDays: number | undefined): number {
  return retentionDays === undefined ? keptFromDay : Math.max(keptFromDay, Math.floor(nowMs / DAY_MS) - retentionDays);
}

/** A component's usage over the days [fromDay, toDay], the open interval counted up to `nowMs`. */
export function usageOf(entry: ComponentLedger, keptFromDay: number, fromDay: number, toDay: number, nowMs: number, policy: AvailabilityPolicy): Usage {
  const usage = emptyUsage();
  for (const day of daysOf(entry, keptFromDay, fromDay, toDay, nowMs)) addDay(usage, day, policy);
  return usage;
}

/** One cell of the landing page's bar: the worst impact of the day and its availability (null: no data). */
export type DayCell = { day: number; worst: string | null; availability: number | null };

export function dayCells(
  entry: ComponentLedger | undefined,
  keptFromDay: number,
  fromDay: number,
  toDay: number,
  nowMs: number,
  policy: AvailabilityPolicy,
): DayCell[] {
  if (!entry) {
    const cells: DayCell[] = [];
    for (let day = fromDay; day <= toDay; day += 1) cells.push({ day, worst: null, availability: null });
    return cells;
  }
  return daysOf(entry, keptFromDay, fromDay, toDay, nowMs).map((day) => {
    if (day.covered === 0) return { day: day.day, worst: null, availability: null };
    let worst: string = OPERATIONAL;
    let level = 0;
    day.slots.forEach((ms, slot) => {
      const impact = LEDGER_SLOTS[slot] as string;
      // An unknown impact ("other") is below operational in level: it only shows when nothing else does.
      const slotLevel = impact === 'other' ? 0.5 : impactLevel(impact);
      if (ms > 0 && slotLevel > level) {
        worst = impact;
        level = slotLevel;
      }
    });
    const usage = emptyUsage();
    addDay(usage, day, policy);
    return { day: day.day, worst, availability: availabilityOf(usage) };
  });
}

/** `YYYY-MM-DD` of a day number. */
export const dayText = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The day number of a `YYYY-MM-DD`, or null when it is no such date. */
export function dayOf(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== text) return null;
  return ms / DAY_MS;
}

/** In units of the last place a percentage keeps (see cutPercent). */
const CUT_SLACK = 1e-6;

/**
 * An availability (0 to 1) as a percentage cut, never rounded up, to `decimals` places, so that a
 * period with downtime never reads 100 (the CSV's 4 places, the landing page's 2). A binary
 * fraction just under the decimal it stands for (0.57 × 10^6 is 569999.9999999999) is lifted by
 * CUT_SLACK of the last place kept before the cut, so that 0.57 stays 57. The slack was a rounding
 * of the ratio to 9 places, which also rounded up a ratio truly under the next place by less than
 * 5e-10 (56.80129995 % read 56.8013); CUT_SLACK is thousands of times the error of the product and
 * a millionth of the last place.
 */
export function cutPercent(availability: number, decimals: number): number {
  const scale = 10 ** decimals;
  const cut = Math.floor(availability * 100 * scale + CUT_SLACK) / scale;
  // The slack must not make 100 of a ratio under 1 (1 − Number.EPSILON).
  return availability < 1 && cut >= 100 ? (100 * scale - 1) / scale : cut;
}
