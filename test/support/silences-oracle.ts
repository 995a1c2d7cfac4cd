// An oracle of maintenance silences written from the README alone ("Maintenances silence their
// alerts", "How events are interpreted", "Forgetting", "Declare your status pages") and
// docs/metrics.md's statusmate_maintenance_silences, never from src/domain/silences.ts: given the
// webhooks, forgets and reloads an exporter received (with their arrival times), it says which
// silences must exist at a moment, with which matchers, and which window each must cover. The
// differential drills (test/domain/silences-drill.test.ts, test/e2e-silences-drill.test.ts) hold
// the real code to it.
//
// Where the docs leave a choice open, the reading taken here is named at the rule (and the docs
// now say it).

/** One component of the oracle's status pages file: matchers as the file writes them (`name="v"`). */
export type OracleComponent = { uuid: string; name: string; matchers?: readonly string[] };
export type OraclePage = { id: string; uuid?: string; components: readonly OracleComponent[] };
export type OracleFile = { pages: readonly OraclePage[] };

export type OracleOptions = {
  /** MAINTENANCE_SILENCE_FROM. */
  from: 'started' | 'scheduled';
  /** MAINTENANCE_SILENCE_MARGIN_SECONDS. */
  marginSeconds: number;
  /** MAX_CLOCK_SKEW_SECONDS (300). */
  maxClockSkewSeconds?: number;
};

/** "always at least 5 minutes plus the margin ahead of now" while it runs. */
export const RUNWAY_AT_LEAST = 300;
/** "extended every 5 minutes or so to 10 minutes plus the margin ahead": never further. */
export const RUNWAY_AT_MOST = 600;
/** "An end_at in the year 9999 is silenced until 9999-01-01". */
export const LATEST_END = Date.UTC(9999, 0, 1) / 1000;

/** A silence that must exist now. Times are Unix seconds. */
export type ExpectedSilence = {
  /** `<page>/<maintenance uuid>/<component uuid>`, as the marker names it. */
  key: string;
  statusPage: string;
  maintenanceUuid: string;
  componentUuid: string;
  /** The component's alert_matchers, sorted. */
  matchers: string[];
  /** `exactly`: a pending silence from the scheduled start; `by`: it mutes already (starts at or before now). */
  start: { exactly: number } | { by: number };
  /** The end lies in [min, max]. */
  end: { min: number; max: number };
  /** Why: which rule of the docs makes it. */
  why: string;
};

/** A silence as an operator left it (times in Unix seconds, matchers sorted). */
export type HandEdited = { key: string; matchers: string[]; endsAt: number };

type Phase = 'scheduled' | 'in_progress' | 'finished';
type Position = { createdAt: number | null; rank: number; arrival: number };

type Maintenance = {
  statusPage: string;
  uuid: string;
  phase: Phase;
  /** Every component any of its events named (see the reading at `deliver`). */
  components: Set<string>;
  startAt: number | null;
  endAt: number | null;
  /** The last event applied to it (not stale), for the order of the next. */
  last: Position;
};

const TYPE_RANK: Record<string, number> = { maintenance_created: 0, maintenance_started: 1, maintenance_finished: 2 };

export type DeliveryOutcome = 'applied' | 'stale' | 'duplicate' | 'refused' | 'ignored';

export class SilencesOracle {
  private file: OracleFile;
  private readonly maintenances = new Map<string, Maintenance>();
  /** Bodies (less delivery_attempt) of every accepted delivery: "Only a retry can be a duplicate". */
  private readonly delivered = new Set<string>();
  private arrivals = 0;
  /** Keys an operator expired or edited: "the exporter does not recreate it for that maintenance". */
  private readonly overridden = new Set<string>();
  /** Silences an operator edited, as they left them: "not expired when the maintenance finishes". */
  private readonly edited = new Map<string, HandEdited>();

  constructor(
    file: OracleFile,
    private readonly options: OracleOptions,
  ) {
    this.file = file;
  }

  /** A reload of the status pages file ("reloaded when it changes"). */
  reload(file: OracleFile): void {
    this.file = file;
  }

  /** The page id an event is labelled with: a declared page's uuid becomes its id. */
  private pageOf(name: string): string | undefined {
    const page = this.file.pages.find((p) => p.id === name || (p.uuid !== undefined && p.uuid.toLowerCase() === name.toLowerCase()));
    return page?.id;
  }

  /**
   * A webhook's body (`{meta: …}`), received at `at`. Only maintenance events are modelled; the
   * page is `meta.status_page` (the drills send no `?status_page=`).
   */
  webhook(body: { meta: Record<string, unknown> }, at: number): DeliveryOutcome {
    const meta = body.meta;
    const type = String(meta.type);
    if (!(type in TYPE_RANK)) return 'ignored';
    // "Pages the file does not declare are refused" (422), stored nowhere: a retry is judged again.
    const statusPage = this.pageOf(String(meta.status_page));
    if (statusPage === undefined) return 'refused';
    const { delivery_attempt: attempt, ...rest } = meta;
    const identity = JSON.stringify(rest);
    // "a delivery with delivery_attempt 1 or more whose body (less delivery_attempt) was delivered
    // before answers duplicate and changes nothing"; a first delivery is always new. A forgotten
    // event's retry "stays a duplicate".
    if (Number(attempt ?? 0) >= 1 && this.delivered.has(identity)) return 'duplicate';
    this.delivered.add(identity);
    this.arrivals += 1;

    const uuid = String(meta.uuid).toLowerCase();
    const skew = this.options.maxClockSkewSeconds ?? 300;
    const sent = typeof meta.created_at === 'string' ? Date.parse(meta.created_at) / 1000 : null;
    // "A created_at more than MAX_CLOCK_SKEW_SECONDS ahead of its receipt is not trusted: the event
    // is ordered by its arrival".
    const createdAt = sent !== null && sent <= at + skew ? sent : null;
    const position: Position = { createdAt, rank: TYPE_RANK[type] ?? 0, arrival: this.arrivals };
    const time = (field: unknown) => (typeof field === 'string' ? Date.parse(field) / 1000 : null);
    const startAt = time(meta.start_at);
    const endAt = time(meta.end_at);
    const components = (Array.isArray(meta.affected_components) ? meta.affected_components : []).map((c: { component_details: { component_uuid: string } }) =>
      c.component_details.component_uuid.toLowerCase(),
    );

    const key = `${statusPage}/${uuid}`;
    let record = this.maintenances.get(key);
    if (record === undefined) {
      record = { statusPage, uuid, phase: 'scheduled', components: new Set(), startAt: null, endAt: null, last: position };
      // A maintenance first learnt from a finish or a start is that phase at once (below).
      this.maintenances.set(key, record);
      this.adopt(record, type, position, startAt, endAt, true);
    } else {
      if (!this.adopt(record, type, position, startAt, endAt, false)) {
        // Reading: a stale event changes no window a newer one gave, but one no event gave yet
        // (a maintenance_started sent without start_at/end_at, its maintenance_created late) is
        // the stale one's: in created_at order the start would have kept the create's window, and
        // "the same events give the same ... in any order of arrival".
        if (type !== 'maintenance_finished' && record.phase !== 'finished') {
          if (record.startAt === null) record.startAt = startAt;
          if (record.endAt === null) record.endAt = endAt;
        }
        // Reading: "Every maintenance event makes its components known", and a first event
        // arriving after later ones "still holds what it names from the start, as in created_at
        // order": a maintenance holds every component any of its events named, and so is
        // silenced on each of them (the silence follows what the exporter shows under maintenance).
        for (const component of components) record.components.add(component);
        return 'stale';
      }
    }
    for (const component of components) record.components.add(component);
    return 'applied';
  }

  /**
   * Applies one event's lifecycle step; false when it is stale. "Lifecycles only move forward: ...
   * a late maintenance_created never moves a started maintenance back"; "An event before the last
   * one applied to the same ... maintenance ... is stale and changes nothing". Reading: a step
   * forward (created → started → finished) is never stale, whatever its created_at: a finish that
   * an earlier created_at would make stale would leave the maintenance (and its silences) running
   * for ever. Within one step, the later event (by order) wins: a newer maintenance_created
   * reschedules.
   */
  private adopt(record: Maintenance, type: string, position: Position, startAt: number | null, endAt: number | null, fresh: boolean): boolean {
    const target: Phase = type === 'maintenance_created' ? 'scheduled' : type === 'maintenance_started' ? 'in_progress' : 'finished';
    const order: Phase[] = ['scheduled', 'in_progress', 'finished'];
    if (!fresh) {
      const from = order.indexOf(record.phase);
      const to = order.indexOf(target);
      if (to < from) return false;
      if (to === from && (target === 'finished' || before(position, record.last))) return false;
    }
    record.phase = target;
    record.last = position;
    if (target !== 'finished') {
      if (startAt !== null) record.startAt = startAt;
      if (endAt !== null) record.endAt = endAt;
    }
    return true;
  }

  /** `POST /-/forget`: a page, or one maintenance or component of it. */
  forget(body: { status_page: string; maintenance_uuid?: string; component_uuid?: string }): void {
    const statusPage = this.pageOf(body.status_page) ?? body.status_page;
    for (const [key, record] of this.maintenances) {
      if (record.statusPage !== statusPage) continue;
      if (body.maintenance_uuid !== undefined) {
        if (record.uuid === body.maintenance_uuid.toLowerCase()) this.maintenances.delete(key);
      } else if (body.component_uuid !== undefined) {
        // "a component takes its part in incidents and maintenances with it"
        record.components.delete(body.component_uuid.toLowerCase());
      } else {
        this.maintenances.delete(key);
      }
    }
  }

  /**
   * An operator expired the silence of `key` by hand: "An operator who expires one by hand is
   * respected: the exporter does not recreate it for that maintenance".
   */
  operatorExpired(key: string): void {
    this.overridden.add(key);
    this.edited.delete(key);
  }

  /**
   * An operator edited the silence of `key` (other matchers): "It is left as the operator left it:
   * not put back, not extended, not recreated once it runs out, and not expired when the
   * maintenance finishes: it ends when its end says".
   */
  operatorEdited(silence: HandEdited): void {
    this.overridden.add(silence.key);
    this.edited.set(silence.key, silence);
  }

  /** The silences an operator edited that are still live at `now`: theirs, as they left them. */
  handEdited(now: number): HandEdited[] {
    return [...this.edited.values()].filter((silence) => silence.endsAt > now);
  }

  /** The keys the maintenances would silence at `now` that an operator overrode (docs/metrics.md's `overridden`). */
  overriddenNow(now: number): string[] {
    return this.wanted(now)
      .filter((silence) => this.overridden.has(silence.key))
      .map((silence) => silence.key);
  }

  /** The matchers the file in force gives a component of a page, sorted; none: no silence. */
  private matchersOf(statusPage: string, component: string): string[] | undefined {
    const page = this.file.pages.find((p) => p.id === statusPage);
    const declared = page?.components.find((c) => c.uuid.toLowerCase() === component);
    if (declared?.matchers === undefined || declared.matchers.length === 0) return undefined;
    return [...declared.matchers].sort();
  }

  /** The silences that must exist at `now`, sorted by key: those the maintenances want, but those an operator overrode. */
  expected(now: number): ExpectedSilence[] {
    return this.wanted(now).filter((silence) => !this.overridden.has(silence.key));
  }

  private wanted(now: number): ExpectedSilence[] {
    const margin = this.options.marginSeconds;
    const cap = (t: number) => Math.min(t, LATEST_END);
    const out: ExpectedSilence[] = [];
    for (const record of this.maintenances.values()) {
      let start: ExpectedSilence['start'];
      let end: ExpectedSilence['end'];
      let why: string;
      if (record.phase === 'in_progress') {
        // "silences exist from maintenance_started"; "One started before its scheduled start is
        // silenced from then"; a started one ends at end_at + margin, "and while the maintenance
        // runs always at least 5 minutes plus the margin ahead of now", extended "to 10 minutes
        // plus the margin ahead" and no further ("within 25 minutes of the last extension").
        start = { by: now };
        const scheduled = record.endAt === null ? -Infinity : record.endAt + margin;
        end = { min: cap(Math.max(scheduled, now + RUNWAY_AT_LEAST + margin)), max: cap(Math.max(scheduled, now + RUNWAY_AT_MOST + margin)) };
        why = 'in progress';
      } else if (record.phase === 'scheduled' && this.options.from === 'scheduled' && record.startAt !== null && record.endAt !== null) {
        // "silences exist from the scheduled start (start_at) instead, pending until then; a
        // maintenance that never starts is silenced until its scheduled end plus the margin, no
        // longer."
        const until = cap(record.endAt + margin);
        if (now >= until) continue;
        start = now < record.startAt ? { exactly: record.startAt } : { by: now };
        end = { min: until, max: until };
        why = now < record.startAt ? 'scheduled, pending' : 'scheduled, past its start';
      } else {
        // Finished (or finished before it started: "A maintenance not known to have started holds
        // nothing"), or scheduled under MAINTENANCE_SILENCE_FROM=started. Reading: scheduled
        // without a start_at or an end_at under `scheduled` waits for its start as under
        // `started` (no window to silence, and "nothing stays silenced forever").
        continue;
      }
      for (const component of record.components) {
        const matchers = this.matchersOf(record.statusPage, component);
        if (matchers === undefined) continue;
        const key = [record.statusPage, record.uuid, component].map(encodeURIComponent).join('/');
        out.push({ key, statusPage: record.statusPage, maintenanceUuid: record.uuid, componentUuid: component, matchers, start, end, why });
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

/**
 * "Two events are ordered by created_at only when both carry one; otherwise by their arrival";
 * a tie "is ordered by type (a maintenance's create, start and finish ...) ... and only then by
 * arrival".
 */
function before(a: Position, b: Position): boolean {
  if (a.createdAt !== null && b.createdAt !== null) {
    if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
    if (a.rank !== b.rank) return a.rank < b.rank;
  }
  return a.arrival < b.arrival;
}
