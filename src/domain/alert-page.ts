import { ALERT_RULES, type AlertRules } from './fold-rules.js';
import { OPERATIONAL } from './impact.js';
import { ledgerOf, toMs, type Changes } from './ledger.js';
import type { State } from './state.js';
// The status page as the alerts fold reads it: the impact a component shows, since when, and when
// it came back after a time (from the ledger's change points).

/**
 * When a page that shows a component not operational left `operational` (the start of the run of
 * other impacts it shows now), and since when it had shown it operational before (null: since it
 * was first known).
 */
export type LeftOperational = { at: number; operationalSince: number | null };

/**
 * The component's impact as the folded state shows it, and since when (its last change of
 * impact); a component it lacks is operational, as a declared one would be, since ever (null).
 * `left`, for one not operational: when the page left operational, if it is known (undefined or
 * null otherwise). `cameBackFrom`, for one back to operational (`since`): when it had left operational before.
 */
export type ImpactOf = ((
  statusPage: string,
  uuid: string,
) => { impact: string; since: number | null; left?: LeftOperational | null; cameBackFrom?: number | null }) & {
  /**
   * What the page's impact history says of alerts of the component that ended at `end`
   * (AlertRules.recoveryByHistory). Absent, or undefined for a component without one: the fold
   * reads the recovery from what the page shows now, as alerts entries of format 8 did.
   */
  recoveryAfter?: (statusPage: string, uuid: string, end: number) => RecoveryAfter | undefined;
};

/**
 * What the page's impact history says of a run that ended at `end`, for its recovery lag: the
 * page showed the component not operational just before `end` and came back to operational at
 * `back` (the first return at or after it, whatever it did after); or it shows it not operational
 * still (`outage`: the return is still to come); or nothing to recover from (null): it showed it
 * operational then (the run ended before the page spoke, or after it came back), or the history
 * kept does not reach back to `end`.
 */
export type RecoveryAfter = { back: number } | 'outage' | null;

/**
 * RecoveryAfter from a component's change points (the ledger's, sorted by time; of equal times
 * the last counts). An end before the oldest point kept measures nothing: the points before it
 * were dropped (LEDGER_MAX_CHANGES, the kept days), or the component was not known then, and the
 * exporter takes a component as operational until it knows it.
 */
export function recoveryIn(changes: Changes, end: number): RecoveryAfter {
  const endMs = toMs(end);
  const { ms, impacts } = changes;
  let before = ms.length - 1;
  while (before >= 0 && (ms[before] as number) >= endMs) before -= 1;
  if (before < 0 || impacts[before] === OPERATIONAL) return null;
  for (let index = before + 1; index < ms.length; index += 1) {
    const last = index + 1 === ms.length || (ms[index + 1] as number) > (ms[index] as number);
    if (impacts[index] === OPERATIONAL && last) return { back: (ms[index] as number) / 1000 };
  }
  return 'outage';
}

/**
 * ImpactOf over a folded state. Since when only if the component came back to its impact (the
 * ledger's open interval follows another one): one operational since it was first known
 * (declared, or its first event) has been so for as long as any alert could have fired. When it
 * left operational, from the ledger's change points (null when they do not reach back to an
 * operational one).
 */
export function impactShown(state: State, rules: AlertRules = ALERT_RULES): ImpactOf {
  const shown: ImpactOf = (statusPage, uuid) => {
    const impact = state.pages.get(statusPage)?.components.get(uuid)?.impact ?? OPERATIONAL;
    const ledger = ledgerOf(state.ledger, statusPage, uuid);
    const cameBack = ledger !== undefined && ledger.impact === impact && ledger.openMs > ledger.sinceMs;
    let since = cameBack ? ledger.openMs / 1000 : null;
    if (ledger === undefined || ledger.impact !== impact) return { impact, since };
    const { ms, impacts } = ledger.changes;
    // The point the impact last changed at: the ledger also books a point where it stayed (an
    // incident's end the update made during it outlives).
    let last = impacts.length - 1;
    if (rules.sinceLastChangeOfImpact) {
      while (last > 0 && impacts[last - 1] === impact) last -= 1;
      if (since !== null) since = last > 0 ? (ms[last] as number) / 1000 : null;
    }
    if (impact === OPERATIONAL) {
      if (since === null) return { impact, since };
      // Back from the open interval over the other impacts, to where they began.
      let from = last;
      while (from > 0 && impacts[from - 1] !== OPERATIONAL) from -= 1;
      const cameBackFrom = from < last && from > 0 ? (ms[from] as number) / 1000 : null;
      return { impact, since, cameBackFrom };
    }
    // Back from the open interval over the other impacts, to the last operational point.
    let index = impacts.length - 1;
    while (index >= 0 && impacts[index] !== OPERATIONAL) index -= 1;
    if (index < 0 || index === impacts.length - 1) return { impact, since, left: null };
    const at = (ms[index + 1] as number) / 1000;
    let first = index;
    while (first > 0 && impacts[first - 1] === OPERATIONAL) first -= 1;
    const from = ms[first] as number;
    // Operational since it was first known (or since before the oldest point kept): as long as any alert could have fired.
    return { impact, since, left: { at, operationalSince: first === 0 || from <= ledger.sinceMs ? null : from / 1000 } };
  };
  shown.recoveryAfter = (statusPage, uuid, end) => {
    const impact = state.pages.get(statusPage)?.components.get(uuid)?.impact ?? OPERATIONAL;
    const ledger = ledgerOf(state.ledger, statusPage, uuid);
    // A ledger that does not end in the impact shown (none kept for it) tells nothing the state does not.
    return ledger === undefined || ledger.impact !== impact ? undefined : recoveryIn(ledger.changes, end);
  };
  return shown;
}
