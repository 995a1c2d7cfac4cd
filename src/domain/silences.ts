import type { AlertMatcher } from './alert-matchers.js';
import { formatAlertMatcher, matchesEmpty } from './alert-matchers.js';
import type { DeclaredPage } from './inventory.js';
import type { MaintenanceRecord, State } from './state.js';

// Maintenances become Alertmanager silences: which silences should exist now (desiredSilences),
// how a silence is recognised as the exporter's (its marker), and what a reconcile must do to
// make Alertmanager's silences the desired ones (planReconcile). Pure: no I/O, no clock.

/** The `createdBy` of every silence the exporter makes. */
export const SILENCE_CREATED_BY = 'statusmate-exporter';

/**
 * While a maintenance runs, its silences end at least this far ahead of now (plus the margin):
 * past its scheduled end, they are extended by this much at a time. A silence whose exporter
 * died ends by itself within RUNWAY + margin of the last extension.
 */
export const SILENCE_RUNWAY_SECONDS = 600;

/**
 * The latest end a silence is given: 9999-01-01T00:00:00Z (Unix seconds). Alertmanager refuses a
 * silence whose end plus its --data.retention (120 h by default) falls past 9999 (400, "after
 * 10000-01-01"), as an end_at near it plus the margin would; this leaves a year for the retention.
 */
export const LATEST_SILENCE_END = 253_370_764_800;

export type SilenceFrom = 'started' | 'scheduled';

export type SilenceOptions = {
  /** MAINTENANCE_SILENCE_MARGIN_SECONDS: added to the end of every silence. */
  marginSeconds: number;
  /** MAINTENANCE_SILENCE_FROM: `started` (maintenance_started) or `scheduled` (its scheduled start). */
  from: SilenceFrom;
};

/** One silence that should exist: for one maintenance and one of its components with matchers. */
export type DesiredSilence = {
  /** `<status page>/<maintenance uuid>/<component uuid>`, percent-encoded parts: its identity. */
  key: string;
  statusPage: string;
  maintenanceUuid: string;
  componentUuid: string;
  title: string;
  matchers: readonly AlertMatcher[];
  /** Unix seconds. */
  startsAt: number;
  /** The start the maintenance's events give, before an in-progress one's is brought back to now (see desiredSilences). */
  eventStart: number;
  /** Unix seconds; always after `now`. */
  endsAt: number;
  /** The maintenance's scheduled end, or null: what moves the end other than the clock. */
  scheduledEnd: number | null;
  comment: string;
};

export function silenceKey(statusPage: string, maintenanceUuid: string, componentUuid: string): string {
  return [statusPage, maintenanceUuid, componentUuid].map(encodeURIComponent).join('/');
}

const MARKER = /\[statusmate-exporter silence ([^\s\]]+)\]\s*$/;
/** The stamp just before the marker (before it, so that an older version still reads the marker). */
const STAMP = /\(stamp ([0-9a-f]{12})\) (\[statusmate-exporter silence [^\s\]]+\]\s*)$/;

/**
 * What the exporter writes into a silence's comment just before it expires it, before the stamp
 * (or the marker), with the time it did so: Alertmanager records an expiry by request the same
 * whoever asked, and this note is what tells the exporter's own expiries from an operator's in
 * any process, after any restart (see planReconcile).
 */
const OWN_EXPIRY =
  /\(expired by statusmate-exporter at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\) (?:\(stamp [0-9a-f]{12}\) )?\[statusmate-exporter silence [^\s\]]+\]\s*$/;

/**
 * `comment` with the exporter's note of its own expiry at `at` (Unix seconds) put before its
 * stamp, or its marker when it has none. A comment noted already keeps its note: the first
 * attempt's time, not a later one's.
 */
export function withOwnExpiryNote(comment: string, at: number): string {
  if (OWN_EXPIRY.test(comment)) return comment;
  const index = STAMP.exec(comment)?.index ?? MARKER.exec(comment)?.index;
  if (index === undefined) return comment;
  const note = `(expired by statusmate-exporter at ${new Date(Math.round(at * 1000)).toISOString()})`;
  return `${comment.slice(0, index)}${note} ${comment.slice(index)}`;
}

/** When (Unix seconds) the exporter noted its own expiry in a silence's comment, or undefined when it carries no such note. */
export function ownExpiryNotedAt(comment: string): number | undefined {
  const found = OWN_EXPIRY.exec(comment);
  return found ? Date.parse(found[1] as string) / 1000 : undefined;
}

/** The comment of a silence: readable, ending with the marker that names its key. */
export function silenceComment(title: string, statusPage: string, key: string): string {
  const shortTitle = title.length > 200 ? `${title.slice(0, 199)}…` : title;
  return `Maintenance "${shortTitle}" on status page ${statusPage} [statusmate-exporter silence ${key}]`;
}

/**
 * What the exporter wrote of a silence, as a short hash: its matchers (in any order) and its end,
 * to the millisecond. 48 bits of two FNV-1a hashes over the text's UTF-16 code units, computed
 * here so that the domain stays free of Node's modules: the stamp tells an edit from what was
 * written, and needs no resistance to anyone who could simply remove it.
 */
export function silenceStamp(matchers: readonly AlertMatcher[], endsAt: number): string {
  const written = [...matchers.map(formatAlertMatcher).sort(), String(Math.round(endsAt * 1000))].join('\n');
  const fnv1a = (offset: number): number => {
    let hash = offset;
    for (let i = 0; i < written.length; i += 1) hash = Math.imul(hash ^ written.charCodeAt(i), 0x01000193);
    return hash >>> 0;
  };
  const hex = (value: number, digits: number) => value.toString(16).padStart(8, '0').slice(0, digits);
  return hex(fnv1a(0x811c9dc5), 8) + hex(fnv1a(0x050c5d1f), 4);
}

/**
 * The comment the exporter writes: `comment` (silenceComment's) with the stamp of the matchers
 * and end it writes put before the marker. Alertmanager's UI keeps a silence's comment when
 * someone edits it, so a silence whose matchers or end no longer match its stamp was edited by
 * hand (see editedByHand).
 */
export function stampedComment(comment: string, matchers: readonly AlertMatcher[], endsAt: number): string {
  const marker = MARKER.exec(comment);
  if (!marker) return comment;
  return `${comment.slice(0, marker.index)}(stamp ${silenceStamp(matchers, endsAt)}) ${comment.slice(marker.index)}`;
}

/** The stamp in a silence's comment, or undefined (a silence written before stamps, or a comment edited without it). */
export function stampOfComment(comment: string): string | undefined {
  return STAMP.exec(comment)?.[1];
}

/** The key in a silence's comment, or undefined when the comment carries no marker of ours. */
export function keyOfComment(comment: string): string | undefined {
  const found = MARKER.exec(comment);
  if (!found) return undefined;
  const key = found[1] as string;
  const parts = key.split('/');
  if (parts.length !== 3) return undefined;
  try {
    parts.forEach((part) => decodeURIComponent(part));
  } catch {
    return undefined;
  }
  return key;
}

/** The status page part of a key. */
export function statusPageOfKey(key: string): string {
  return decodeURIComponent(key.split('/')[0] ?? '');
}

/** The component uuid part of a key. */
export function componentOfKey(key: string): string {
  return decodeURIComponent(key.split('/')[2] ?? '');
}

/** When a maintenance's silences start, or null when it has none now. */
function startOf(maintenance: MaintenanceRecord, options: SilenceOptions): number | null {
  if (maintenance.state === 'in_progress') {
    const started = maintenance.startedAt ?? maintenance.scheduledStart;
    // With `scheduled`, a maintenance started late is still silenced from its scheduled start.
    if (options.from === 'scheduled' && maintenance.scheduledStart !== null && started !== null) return Math.min(started, maintenance.scheduledStart);
    return started;
  }
  if (maintenance.state === 'scheduled' && options.from === 'scheduled') return maintenance.scheduledStart;
  return null;
}

/**
 * The silences that should exist at `now`: one per unfinished maintenance and affected component
 * that the status pages file gives `alert_matchers` (with one matcher that does not match an
 * empty label: Alertmanager refuses the others), for maintenances in progress (and, with
 * `from: scheduled`, scheduled ones from their scheduled start). An in-progress silence ends at
 * max(scheduled end, now + RUNWAY) + margin: it outlives a maintenance that overruns, for as long
 * as one exporter keeps extending it. A scheduled one that never started ends at its scheduled end
 * plus the margin, and is not desired past it. A finished maintenance has none. Sorted by key.
 */
export function desiredSilences(state: State, pages: readonly DeclaredPage[], now: number, options: SilenceOptions): DesiredSilence[] {
  const desired: DesiredSilence[] = [];
  for (const declared of pages) {
    const page = state.pages.get(declared.id);
    if (!page) continue;
    const matchersOf = new Map<string, readonly AlertMatcher[]>();
    for (const component of declared.components) {
      const matchers = component.alertMatchers ?? [];
      if (matchers.length > 0 && matchers.some((matcher) => !matchesEmpty(matcher))) matchersOf.set(component.uuid, matchers);
    }
    if (matchersOf.size === 0) continue;
    for (const maintenance of page.unfinishedMaintenances.values()) {
      const start = startOf(maintenance, options);
      if (start === null) continue;
      // A maintenance in progress is silenced now, even when its trusted created_at is a little
      // ahead of this clock (within MAX_CLOCK_SKEW_SECONDS): a start in the future would leave
      // the silence pending, and the maintenance's alerts paging, for that long.
      const startsAt = maintenance.state === 'in_progress' ? Math.min(start, now) : start;
      const scheduledEnd = maintenance.scheduledEnd;
      let endsAt: number;
      if (maintenance.state === 'in_progress') endsAt = Math.max(scheduledEnd ?? now, now + SILENCE_RUNWAY_SECONDS) + options.marginSeconds;
      else if (scheduledEnd !== null) endsAt = scheduledEnd + options.marginSeconds;
      else continue; // scheduled, with no end: nothing says how long to silence
      endsAt = Math.min(endsAt, LATEST_SILENCE_END);
      if (endsAt <= now || endsAt <= startsAt) continue;
      const seen = new Set<string>();
      for (const { uuid } of maintenance.components) {
        const matchers = matchersOf.get(uuid);
        if (!matchers || seen.has(uuid)) continue;
        seen.add(uuid);
        const key = silenceKey(declared.id, maintenance.uuid, uuid);
        desired.push({
          key,
          statusPage: declared.id,
          maintenanceUuid: maintenance.uuid,
          componentUuid: uuid,
          title: maintenance.title,
          matchers,
          startsAt,
          eventStart: start,
          endsAt,
          scheduledEnd,
          comment: silenceComment(maintenance.title, declared.id, key),
        });
      }
    }
  }
  return desired.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * What changes the desired silences other than the passing of time: a change of it asks for a
 * prompt reconcile.
 */
export function desiredFingerprint(desired: readonly DesiredSilence[]): string {
  // eventStart, not startsAt: a start brought back to now moves with the clock.
  return JSON.stringify(desired.map((d) => [d.key, d.matchers.map(formatAlertMatcher), d.eventStart, d.scheduledEnd]));
}

// ---- reconciling ------------------------------------------------------------------------------

/** A silence of ours as Alertmanager lists it (times in Unix seconds). */
export type ObservedSilence = {
  id: string;
  key: string;
  matchers: readonly AlertMatcher[];
  startsAt: number;
  endsAt: number;
  updatedAt: number;
  state: 'active' | 'pending' | 'expired';
  /** The stamp in its comment (see stampedComment), if any. */
  stamp?: string | undefined;
  /** Its comment as Alertmanager holds it: what the note of an expiry is added to. */
  comment?: string | undefined;
  /** When the exporter noted in its comment that it expires it (see withOwnExpiryNote), if it did. */
  expiryNotedAt?: number | undefined;
};

export type ReconcileAction =
  | { kind: 'create'; desired: DesiredSilence }
  | { kind: 'update'; id: string; desired: DesiredSilence; startsAt: number }
  | { kind: 'expire'; id: string; key: string; reason: 'not_desired' | 'duplicate' };

export type ReconcilePlan = {
  actions: ReconcileAction[];
  /**
   * Desired keys with a silence that is as it should be now: active, or pending when it should
   * start later. A pending one that should be active, or whose start must move, is not present
   * until its update is applied (the reconciler adds the keys it updates).
   */
  present: string[];
  /** Desired keys whose silence an operator expired or edited by hand: left as they left it (see planReconcile). */
  overridden: string[];
};

/** Whether two lists hold the same matchers, in any order (Alertmanager sorts them its own way). */
const sameMatchers = (a: readonly AlertMatcher[], b: readonly AlertMatcher[]) => {
  const set = (list: readonly AlertMatcher[]) => JSON.stringify(list.map(formatAlertMatcher).sort());
  return set(a) === set(b);
};

/** Times within this many seconds are the same: Alertmanager stores what it was sent, to the millisecond. */
const SAME_TIME_SECONDS = 1;

/** Which of several live silences of one key stays: the one ending last, then the smallest id. */
function survivor(silences: readonly ObservedSilence[]): ObservedSilence {
  return [...silences].sort((a, b) => b.endsAt - a.endsAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0] as ObservedSilence;
}

/**
 * Whether Alertmanager expired this silence on request before its end (DELETE sets `endsAt` and
 * `updatedAt` to the same instant), rather than it running out (its `updatedAt` is then earlier).
 */
export function expiredByRequest(silence: ObservedSilence): boolean {
  return silence.state === 'expired' && Math.abs(silence.updatedAt - silence.endsAt) < 0.002;
}

/**
 * Whether someone changed this silence's matchers or end since the exporter wrote it: they no
 * longer match the stamp the exporter put in its comment. A silence without a stamp (written by
 * an older version) counts as not edited.
 */
export function editedByHand(silence: ObservedSilence): boolean {
  return silence.stamp !== undefined && silence.stamp !== silenceStamp(silence.matchers, silence.endsAt);
}

/**
 * What makes Alertmanager's silences of ours (`observed`, from every peer, one entry per id)
 * the desired ones:
 * - a desired key without a live silence gets one created, unless the last of that key's
 *   silences to end was expired by request: an operator lifted it, and the exporter leaves it so
 *   (it comes back for the next maintenance, not for this one). One that ran out (its exporters
 *   stopped extending it) or vanished (Alertmanager lost its data) is recreated, unless it had
 *   been edited by hand;
 * - a key one of whose live silences was edited by hand (editedByHand: its matchers or end
 *   changed, as an operator who narrows a silence or ends it sooner does) is left as it is: not
 *   put back, extended, collapsed, or expired once no longer desired. It ends when its end says.
 * - a live silence that ends too early (by more than half the runway: extensions are not sent on
 *   every tick), too late (its maintenance was rescheduled to end sooner) or whose matchers
 *   changed is updated;
 * - a live silence that starts at the wrong time is updated to the desired start (Alertmanager
 *   replaces it by a new one where it cannot move it): a pending one that should be active (the
 *   maintenance started before its scheduled start) starts now; a pending one whose maintenance
 *   was rescheduled takes the new window, end included (a pending silence hides nothing yet, so
 *   it may end earlier); an active one whose maintenance was rescheduled to later ends now and
 *   waits for the new start;
 * - several live silences of one key (two writers raced, a split brain) collapse to one: the one
 *   ending last stays, whichever process decides;
 * - a live silence whose key is not desired is expired, if `owns(key)` (its status page is one
 *   this exporter serves: another install's silences are not ours to judge) and it was not
 *   edited by hand.
 * - a live desired silence that carries the note of an expiry (the exporter noted it, then its
 *   expiry failed, and the silence is desired again) is rewritten without it: an operator who
 *   expires it later must not be taken for the exporter.
 * Only `owns` keys are touched. The expiries of silences no longer desired come first in
 * `actions`, then the others in the order of `desired`. Deterministic: the same inputs give the same plan on every replica.
 * `desiredSince`: since when (Unix seconds, by the exporter's clock) each desired key has been
 * desired without a break, as far as the calling process saw; a key it lacks counts as desired
 * since before any expiry.
 */
export function planReconcile(
  desired: readonly DesiredSilence[],
  observed: readonly ObservedSilence[],
  owns: (key: string) => boolean,
  now: number,
  desiredSince: ReadonlyMap<string, number> = new Map(),
): ReconcilePlan {
  const byKey = new Map<string, ObservedSilence[]>();
  // By id: the plan does not depend on the order the peers listed them in.
  const sorted = [...observed].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const silence of sorted) {
    const list = byKey.get(silence.key);
    if (list) list.push(silence);
    else byKey.set(silence.key, [silence]);
  }
  const actions: ReconcileAction[] = [];
  const present: string[] = [];
  const overridden: string[] = [];
  const wanted = new Set<string>();
  for (const want of desired) {
    wanted.add(want.key);
    const all = byKey.get(want.key) ?? [];
    const live = all.filter((silence) => silence.state !== 'expired');
    if (live.some(editedByHand)) {
      // Edited by hand (narrowed matchers, another end): the operator's now, left as they left it.
      overridden.push(want.key);
      continue;
    }
    if (live.length === 0) {
      // The silence that ended last tells how the key's silences ended: an operator's expiry (of
      // a live or a pending one) ends after any duplicate collapsed or matcher replaced before it,
      // and a silence that ran out ends after those too.
      const last = [...all].sort((a, b) => b.endsAt - a.endsAt || b.updatedAt - a.updatedAt)[0];
      // An expiry the exporter asked for itself (its comment carries the note written just
      // before it) is no operator's once the key is desired again since: a maintenance it no
      // longer knew of, after a restart on the memory store; matchers removed and put back; in
      // this process or any other. A key desired since before that expiry was expired by an
      // exporter that folds another history (two logs of one install, another install on the
      // same pages): taken for an operator's, so that the two do not create and expire it by turns.
      // One that ran out after an operator edited it (to end sooner, say) is not put back either.
      const since = desiredSince.get(want.key);
      const ownExpiry = last?.expiryNotedAt !== undefined && since !== undefined && since >= last.expiryNotedAt;
      const lifted = last !== undefined && (expiredByRequest(last) ? !ownExpiry : editedByHand(last));
      if (lifted) overridden.push(want.key);
      else actions.push({ kind: 'create', desired: want });
      continue;
    }
    const keep = survivor(live);
    for (const other of live) if (other !== keep) actions.push({ kind: 'expire', id: other.id, key: want.key, reason: 'duplicate' });
    const startsLater = want.startsAt > now + SAME_TIME_SECONDS;
    const pending = keep.state === 'pending';
    const differs = (a: number, b: number) => Math.abs(a - b) > SAME_TIME_SECONDS;
    if (pending ? !startsLater || differs(keep.startsAt, want.startsAt) || differs(keep.endsAt, want.endsAt) : startsLater) {
      // The wrong start (see above): the desired window exactly, from now at the earliest.
      actions.push({ kind: 'update', id: keep.id, desired: want, startsAt: Math.max(want.startsAt, now) });
      continue;
    }
    present.push(want.key);
    const tooEarly = keep.endsAt < want.endsAt - SILENCE_RUNWAY_SECONDS / 2;
    // Past the desired end: the maintenance was rescheduled to end sooner (or the margin made
    // smaller). Never by the clock alone: an extension writes at most the desired end of its
    // time, and a later desired end is later still. Left as it was, it would mute the alerts past
    // the new scheduled end plus the margin, a maintenance that never started included.
    const tooLate = keep.endsAt > want.endsAt + SAME_TIME_SECONDS;
    if (tooEarly || tooLate || keep.expiryNotedAt !== undefined || !sameMatchers(keep.matchers, want.matchers)) {
      // An active silence keeps its start (Alertmanager updates it in place only then). Its end
      // is the desired one, but for new matchers alone: a silence extended a little ahead of it
      // is not shortened by a few seconds.
      const endsAt = tooEarly || tooLate ? want.endsAt : Math.max(keep.endsAt, want.endsAt);
      actions.push({ kind: 'update', id: keep.id, desired: { ...want, endsAt }, startsAt: keep.startsAt });
    }
  }
  const unwanted: ReconcileAction[] = [];
  for (const [key, silences] of byKey) {
    if (wanted.has(key) || !owns(key)) continue;
    // One edited by hand ends when its end says: the operator who edited it may want it past the maintenance.
    for (const silence of silences)
      if (silence.state !== 'expired' && !editedByHand(silence)) unwanted.push({ kind: 'expire', id: silence.id, key, reason: 'not_desired' });
  }
  // First: a silence of a finished maintenance mutes alerts that should page now, and a pass cut
  // short (see the reconciler) must not leave it behind hundreds of creates.
  return { actions: [...unwanted, ...actions], present, overridden };
}
