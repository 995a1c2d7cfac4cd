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
//
// The page's impact of a component (README "How events are interpreted", "A component's
// impact"): the worst of its last update's (unless an incident or maintenance that began after
// the update has since ended: then the update is gone) and of the holds of its active incidents
// and in-progress maintenances that began after that update (all of them when there is none). An
// incident holds from its incident_created (its start_at, the same time here), a maintenance
// from its maintenance_started; `under_maintenance` is not operational. The page changes when
// that impact does, at the event's created_at.
//
// Alerts let go of without their end (an entry that stops naming a held alert for a component,
// or the exporter's look at Alertmanager's alerts resolving it with no time) are taken as
// resolved at the entry's log time (docs/metrics.md, recovery lag). Alerts no entry named firing
// for ALERT_STALE_SECONDS are forgotten at the first entry of a new 10-minute window of log time
// ("Checked every 10 minutes of log time"): known to fire until then, and a recovery whose last
// alert is one of them measures nothing ("when it resolved is unknown").

export type OracleObservation = { metric: 'response' | 'recovery'; statusPage: string; component: string; value: number; at: number; why: string };

type KnownAlert = { start: number; end: number | null; expired: boolean };
type Hold = { impact: string; start: number; ended: boolean };

const LEVELS: Record<string, number> = { operational: 0, under_maintenance: 1, degraded_performance: 2, partial_outage: 3, major_outage: 4 };
const worst = (impacts: readonly string[]) => impacts.reduce((a, b) => ((LEVELS[b] ?? -1) > (LEVELS[a] ?? -1) ? b : a));
type Known = {
  ref: Ref;
  /** The page's impact of the component over time, from the exporter's first knowledge of it (operational then). */
  history: { at: number; impact: string }[];
  alerts: Map<string, KnownAlert>;
  /** The last component_impact_updated, and the incidents' and maintenances' holds, by object. */
  update: { impact: string; at: number } | null;
  holds: Map<string, Hold>;
  decidedDepartures: Set<number>;
  decidedReturns: Set<number>;
};

export type OracleOptions = {
  maxClockSkewSeconds: number;
  /** ALERT_STALE_SECONDS. */
  alertStaleSeconds: number;
};

/** The windows of log time alerts expire at ("checked every 10 minutes of log time"): the fold loop's prune window. */
export const EXPIRY_WINDOW: number = 600;

export class AlertsOracle {
  readonly observations: OracleObservation[] = [];
  private readonly components = new Map<string, Known>();
  private logTime = 0;
  /** Which components hold each alert firing, and when an entry last named it firing. */
  private readonly holders = new Map<string, Set<Known>>();
  private readonly lastNamed = new Map<string, number>();
  constructor(private readonly options: OracleOptions = { maxClockSkewSeconds: 300, alertStaleSeconds: 86_400 }) {}

  private component(ref: Ref, firstKnown: number): Known {
    const key = `${ref[0]}\u0000${ref[1]}`;
    let known = this.components.get(key);
    if (known === undefined) {
      known = {
        ref,
        history: [{ at: firstKnown, impact: 'operational' }],
        alerts: new Map(),
        update: null,
        holds: new Map(),
        decidedDepartures: new Set(),
        decidedReturns: new Set(),
      };
      this.components.set(key, known);
    }
    return known;
  }

  private believed(time: number): number {
    return time > this.logTime + this.options.maxClockSkewSeconds ? this.logTime : time;
  }

  /** The page's impact of the component, from its update and holds. */
  private shown(known: Known): string {
    const holds = [...known.holds.values()];
    const update = known.update;
    if (update === null || holds.some((h) => h.ended && h.start > update.at)) {
      const active = holds.filter((h) => !h.ended).map((h) => h.impact);
      return active.length === 0 ? 'operational' : worst(active);
    }
    return worst([update.impact, ...holds.filter((h) => !h.ended && h.start > update.at).map((h) => h.impact)]);
  }

  private pageSays(known: Known, at: number): void {
    const impact = this.shown(known);
    const last = known.history[known.history.length - 1];
    if (last === undefined || last.impact !== impact) known.history.push({ at, impact });
  }

  /** Lets go of a held alert for one component: resolved at `end`. */
  private letGo(known: Known, fingerprint: string, end: number, expired = false): void {
    const held = known.alerts.get(fingerprint);
    if (held !== undefined && held.end === null) {
      held.end = end;
      held.expired = expired;
    }
    this.holders.get(fingerprint)?.delete(known);
  }

  apply(entry: TimelineEntry): void {
    if (this.logTime > 0 && Math.floor(entry.at / EXPIRY_WINDOW) > Math.floor(this.logTime / EXPIRY_WINDOW)) {
      for (const [fingerprint, named] of this.lastNamed) {
        if (named > entry.at - this.options.alertStaleSeconds) continue;
        for (const known of [...(this.holders.get(fingerprint) ?? [])]) this.letGo(known, fingerprint, entry.at, true);
        this.holders.delete(fingerprint);
        this.lastNamed.delete(fingerprint);
      }
    }
    this.logTime = entry.at;
    if (entry.kind === 'declare') {
      for (const ref of entry.components) this.component(ref, entry.at);
    } else if (entry.kind === 'page') {
      const known = this.component(entry.ref, entry.changedAt);
      known.update = { impact: entry.impact, at: entry.changedAt };
      this.pageSays(known, entry.changedAt);
    } else if (entry.kind === 'hold') {
      const known = this.component(entry.ref, entry.changedAt);
      const started = entry.type === 'incident_created' || entry.type === 'maintenance_started';
      const hold = known.holds.get(entry.object);
      if (started) known.holds.set(entry.object, { impact: entry.impact, start: entry.changedAt, ended: false });
      else if (hold !== undefined) hold.ended = true;
      this.pageSays(known, entry.changedAt);
    } else {
      for (const alert of entry.alerts) {
        const holders = this.holders.get(alert.fingerprint) ?? new Set<Known>();
        if (alert.status === 'firing') {
          const named = new Set(alert.components.map((ref) => this.component(ref, entry.at)));
          // Held before, no longer named for a component: let go of there, with no end.
          for (const known of [...holders]) if (!named.has(known)) this.letGo(known, alert.fingerprint, entry.at);
          for (const known of named) {
            if (!known.alerts.has(alert.fingerprint))
              known.alerts.set(alert.fingerprint, { start: this.believed(alert.startsAt ?? entry.at), end: null, expired: false });
            if (known.alerts.get(alert.fingerprint)?.end === null) holders.add(known);
          }
          this.holders.set(alert.fingerprint, holders);
          if (holders.size > 0) this.lastNamed.set(alert.fingerprint, entry.at);
          else this.lastNamed.delete(alert.fingerprint);
        } else {
          // A resolution of an alert the exporter never held firing tells it nothing.
          for (const known of [...holders]) this.letGo(known, alert.fingerprint, alert.endsAt === null ? entry.at : this.believed(alert.endsAt));
          this.holders.delete(alert.fingerprint);
          this.lastNamed.delete(alert.fingerprint);
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
        // Its last alert forgotten: when it resolved is unknown.
        if (before.some((a) => a.expired && a.end === lastEnd)) continue;
        let spell = k - 1;
        while (spell > 0 && (history[spell - 1] as { impact: string }).impact !== 'operational') spell -= 1;
        const leftAt = (history[spell] as { at: number }).at;
        // A let-go at the second the page came back (its entry's log time, which can tie): 0 s, as a
        // resolution in that second would be.
        if (lastEnd <= r && lastEnd > leftAt)
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
