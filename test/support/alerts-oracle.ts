import type { Ref, TimelineEntry } from './alert-timelines.js';

// An oracle of docs/metrics.md, "Alerts measure the status page", written from the docs alone
// (not from src/domain/alerts.ts): given the entries of a timeline in log order, the
// observations of statusmate_status_page_response_seconds and
// statusmate_status_page_recovery_lag_seconds that the docs promise.
//
// It works from what the exporter knows at each entry (the page's changes received so far, the
// alerts held so far with the ends their resolutions brought), and otherwise from the docs'
// definitions over those times, not from a running state:
//
// - Time to communicate: for each time d the page left `operational` for a component (any other
//   impact), the alerts of the component known to fire at d (started before, not known to have
//   ended before) form a run (the union of their intervals, so alerts that overlap are one run);
//   the response is d minus the later of the run's start and the start of the page's operational
//   spell that d ends (the page's last word `operational`; none when it has shown it operational
//   since the exporter first knew it: "Times come from Alertmanager", startsAt is believed). It is observed once, at the first entry where such a run is known: the page's
//   change, or an alert's arrival when the page was quicker than Alertmanager and still shows
//   that outage. No alert known to fire at d, no observation (the page already showed the
//   outage, or the alerts resolved before the page spoke).
// - Recovery lag: for each time r the page came back to `operational`, the alerts of the
//   component that started before r: once all of them are known to have ended, the last end u;
//   when u falls while the page showed the component not operational (after it left operational
//   for the spell that r ends), r - u is observed, once. An alert still firing at r (its end
//   after r): the page came back first, nothing.

export type OracleObservation = { metric: 'response' | 'recovery'; statusPage: string; component: string; value: number; at: number; why: string };

type KnownAlert = { start: number; end: number | null };
type Known = {
  ref: Ref;
  /** The page's impact of the component over time, from the exporter's first knowledge of it (operational then). */
  history: { at: number; impact: string }[];
  alerts: Map<string, KnownAlert>;
  decidedDepartures: Set<number>;
  decidedReturns: Set<number>;
};

export type OracleOptions = {
  maxClockSkewSeconds: number;
};

export class AlertsOracle {
  readonly observations: OracleObservation[] = [];
  private readonly components = new Map<string, Known>();
  private logTime = 0;
  constructor(private readonly options: OracleOptions = { maxClockSkewSeconds: 300 }) {}

  private component(ref: Ref, firstKnown: number): Known {
    const key = `${ref[0]}\u0000${ref[1]}`;
    let known = this.components.get(key);
    if (known === undefined) {
      known = { ref, history: [{ at: firstKnown, impact: 'operational' }], alerts: new Map(), decidedDepartures: new Set(), decidedReturns: new Set() };
      this.components.set(key, known);
    }
    return known;
  }

  private believed(time: number): number {
    return time > this.logTime + this.options.maxClockSkewSeconds ? this.logTime : time;
  }

  apply(entry: TimelineEntry): void {
    this.logTime = entry.at;
    if (entry.kind === 'declare') {
      for (const ref of entry.components) this.component(ref, entry.at);
    } else if (entry.kind === 'page') {
      const known = this.component(entry.ref, entry.changedAt);
      const last = known.history[known.history.length - 1];
      if (last === undefined || last.impact !== entry.impact) known.history.push({ at: entry.changedAt, impact: entry.impact });
    } else {
      for (const alert of entry.alerts) {
        for (const ref of alert.components) {
          const key = `${ref[0]}\u0000${ref[1]}`;
          if (alert.status === 'firing') {
            const known = this.component(ref, entry.at);
            if (!known.alerts.has(alert.fingerprint)) known.alerts.set(alert.fingerprint, { start: this.believed(alert.startsAt), end: null });
          } else {
            // A resolution of an alert the exporter never held firing tells it nothing.
            const held = this.components.get(key)?.alerts.get(alert.fingerprint);
            if (held !== undefined && held.end === null) held.end = alert.endsAt === null ? entry.at : this.believed(alert.endsAt);
          }
        }
      }
    }
    for (const known of this.components.values()) this.decide(known, entry.at);
  }

  private decide(known: Known, at: number): void {
    const { history } = known;
    const alerts = [...known.alerts.values()];
    for (let k = 1; k < history.length; k += 1) {
      const change = history[k] as { at: number; impact: string };
      const before = history[k - 1] as { at: number; impact: string };
      if (change.impact !== 'operational' && before.impact === 'operational' && !known.decidedDepartures.has(change.at)) {
        const d = change.at;
        // "A page quicker than Alertmanager ... has already spoken when the alert arrives": the
        // page still shows that outage. A change it took back before any alert of it arrived is
        // not answered later (the alert opens an episode from the page's return instead).
        if (history.slice(k + 1).some((later) => later.impact === 'operational')) {
          known.decidedDepartures.add(d);
          continue;
        }
        const firingAtD = alerts.filter((a) => a.start < d && (a.end === null || a.end > d));
        if (firingAtD.length === 0) continue;
        let spell = k - 1;
        while (spell > 0 && (history[spell - 1] as { impact: string }).impact === 'operational') spell -= 1;
        // Operational since the exporter first knew it: since ever, as the docs take startsAt as told.
        const operationalFrom = spell === 0 ? Number.NEGATIVE_INFINITY : (history[spell] as { at: number }).at;
        const from = Math.max(operationalFrom, runStart(alerts, d));
        known.decidedDepartures.add(d);
        this.observe('response', known, d - from, at, `left operational at ${d}, run from ${runStart(alerts, d)}, operational from ${operationalFrom}`);
      }
      if (change.impact === 'operational' && before.impact !== 'operational' && !known.decidedReturns.has(change.at)) {
        const r = change.at;
        const before = alerts.filter((a) => a.start < r);
        if (before.length === 0) {
          known.decidedReturns.add(r);
          continue;
        }
        if (before.some((a) => a.end === null)) continue; // wait for the resolution
        known.decidedReturns.add(r);
        const lastEnd = Math.max(...before.map((a) => a.end as number));
        let spell = k - 1;
        while (spell > 0 && (history[spell - 1] as { impact: string }).impact !== 'operational') spell -= 1;
        const leftAt = (history[spell] as { at: number }).at;
        if (lastEnd < r && lastEnd > leftAt)
          this.observe('recovery', known, r - lastEnd, at, `back at ${r}, last alert ended ${lastEnd}, page left operational at ${leftAt}`);
      }
    }
  }

  private observe(metric: OracleObservation['metric'], known: Known, value: number, at: number, why: string): void {
    this.observations.push({ metric, statusPage: known.ref[0], component: known.ref[1], value, at, why });
  }

  /** Count and sum per page and metric. */
  totals(): Map<string, { response: { count: number; sum: number }; recovery: { count: number; sum: number } }> {
    const out = new Map<string, { response: { count: number; sum: number }; recovery: { count: number; sum: number } }>();
    for (const o of this.observations) {
      const page = out.get(o.statusPage) ?? { response: { count: 0, sum: 0 }, recovery: { count: 0, sum: 0 } };
      page[o.metric].count += 1;
      page[o.metric].sum += o.value;
      out.set(o.statusPage, page);
    }
    return out;
  }
}

/** The start of the union of alert intervals (an unknown end: still firing) that contains `t`. */
function runStart(alerts: readonly KnownAlert[], t: number): number {
  const intervals = alerts.map((a) => [a.start, a.end ?? Number.POSITIVE_INFINITY] as const).sort((x, y) => x[0] - y[0]);
  let start = Number.NaN;
  let end = Number.NEGATIVE_INFINITY;
  for (const [s, e] of intervals) {
    if (s > t) break;
    if (s > end) start = s; // a gap: a new run
    end = Math.max(end, e);
  }
  return start;
}
