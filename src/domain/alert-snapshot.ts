import {
  componentKey,
  createAlertState,
  endedCost,
  pairCost,
  recordCost,
  type AlertState,
  type ClosedRun,
  type ComponentAlerts,
  type PageAlertStats,
} from './alert-state.js';
// The alerts fold's state as snapshots hold it, and copies of it.

/** Copies the maps, so two owners never share one. */
export function cloneAlertState(alerts: AlertState): AlertState {
  const components = new Map<string, ComponentAlerts>();
  for (const [key, record] of alerts.components) components.set(key, { ...record, firing: new Map(record.firing) });
  return {
    components,
    pages: new Map([...alerts.pages].map(([page, stats]) => [page, { ...stats }])),
    byFingerprint: new Map([...alerts.byFingerprint].map(([fingerprint, keys]) => [fingerprint, new Set(keys)])),
    seenAt: new Map(alerts.seenAt),
    closedRuns: new Map(alerts.closedRuns),
    staleSeconds: alerts.staleSeconds,
    pairs: alerts.pairs,
    bytes: alerts.bytes,
    endedBytes: alerts.endedBytes,
  };
}

/** The serialised form (snapshot): plain arrays, sorted so that equal states serialise alike. */
export type AlertSnapshot = {
  components: {
    statusPage: string;
    uuid: string;
    firing: [string, number][];
    silentSince: number | null;
    resolvedAt: number | null;
    /** Absent: null (snapshots written before these fields). */
    endedAt?: number | null;
    answered?: number | null;
    recoveryFrom?: number | null;
    recoveredAt?: number | null;
    /** Absent: none. */
    ended?: [number, number][];
  }[];
  /** Absent: none (snapshots written before format-8 alerts entries). */
  closedRuns?: ClosedRun[];
  pages: PageAlertStats[];
  /** Log time each held fingerprint was last named firing. */
  seen: [string, number][];
  staleSeconds: number;
};

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A closed run with its fields in one order, and a null `answered` or `recovered` left out (absent
 * is null): the fold sets them in whatever order a run's history took, and a replica that restored
 * the run from a snapshot holds them in the snapshot's order, so equal runs serialise alike.
 */
function closedRunSnapshot(closed: ClosedRun): ClosedRun {
  return {
    statusPage: closed.statusPage,
    uuid: closed.uuid,
    end: closed.end,
    silentSince: closed.silentSince,
    ...(closed.answered != null ? { answered: closed.answered } : {}),
    ...(closed.recovered != null ? { recovered: closed.recovered } : {}),
  };
}

export function alertSnapshot(alerts: AlertState): AlertSnapshot {
  return {
    components: [...alerts.components.keys()].sort(byText).map((key) => {
      const record = alerts.components.get(key) as ComponentAlerts;
      return {
        statusPage: record.statusPage,
        uuid: record.uuid,
        firing: [...record.firing].sort((a, b) => byText(a[0], b[0])),
        silentSince: record.silentSince,
        resolvedAt: record.resolvedAt,
        endedAt: record.endedAt,
        answered: record.answered,
        ...(record.recoveryFrom !== null ? { recoveryFrom: record.recoveryFrom } : {}),
        ...(record.recoveredAt !== null ? { recoveredAt: record.recoveredAt } : {}),
        ...(record.ended.length > 0 ? { ended: record.ended.map(([start, end]): [number, number] => [start, end]) } : {}),
      };
    }),
    pages: [...alerts.pages.keys()].sort(byText).map((page) => alerts.pages.get(page) as PageAlertStats),
    seen: [...alerts.seenAt].sort((a, b) => byText(a[0], b[0])),
    ...(alerts.closedRuns.size > 0
      ? { closedRuns: [...alerts.closedRuns.keys()].sort(byText).map((key) => closedRunSnapshot(alerts.closedRuns.get(key) as ClosedRun)) }
      : {}),
    staleSeconds: alerts.staleSeconds,
  };
}

/** The state a snapshot holds, with its indexes and measures rebuilt. */
export function alertStateOf(snapshot: AlertSnapshot): AlertState {
  const alerts = createAlertState();
  for (const { statusPage, uuid, firing, silentSince, resolvedAt, endedAt, answered, recoveryFrom, recoveredAt, ended } of snapshot.components) {
    const key = componentKey(statusPage, uuid);
    alerts.components.set(key, {
      statusPage,
      uuid,
      firing: new Map(firing),
      silentSince,
      resolvedAt,
      endedAt: endedAt ?? null,
      answered: answered ?? null,
      recoveryFrom: recoveryFrom ?? null,
      recoveredAt: recoveredAt ?? null,
      ended: ended ?? [],
    });
    alerts.bytes += recordCost(statusPage, uuid);
    alerts.endedBytes += endedCost(ended ?? []);
    for (const [fingerprint] of firing) {
      let holders = alerts.byFingerprint.get(fingerprint);
      if (!holders) alerts.byFingerprint.set(fingerprint, (holders = new Set()));
      holders.add(key);
      alerts.pairs += 1;
      alerts.bytes += pairCost(fingerprint);
    }
  }
  for (const stats of snapshot.pages) alerts.pages.set(stats.statusPage, { ...stats });
  alerts.seenAt = new Map(snapshot.seen);
  for (const closed of snapshot.closedRuns ?? []) alerts.closedRuns.set(componentKey(closed.statusPage, closed.uuid), { ...closed });
  alerts.staleSeconds = snapshot.staleSeconds;
  return alerts;
}

/** Whether nothing is held: a snapshot of such a state is written in the format before alerts. */
export function isEmptyAlertState(alerts: AlertState): boolean {
  return alerts.components.size === 0 && alerts.pages.size === 0 && alerts.closedRuns.size === 0;
}
