import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlertMatcher } from '../../src/domain/alert-matchers.js';
import type { DeclaredPage } from '../../src/domain/inventory.js';
import {
  desiredFingerprint,
  desiredSilences,
  editedByHand,
  keyOfComment,
  ownExpiryNotedAt,
  planReconcile,
  SILENCE_RUNWAY_SECONDS,
  silenceKey,
  silenceStamp,
  stampedComment,
  stampOfComment,
  statusPageOfKey,
  withOwnExpiryNote,
  type DesiredSilence,
  type ObservedSilence,
  type SilenceOptions,
} from '../../src/domain/silences.js';
import { affects, maintenance, PAGE, Player, T0, uuid } from '../support/events.js';

const OPTIONS: SilenceOptions = { marginSeconds: 900, from: 'started' };
const checkout = [parseAlertMatcher('service="checkout"')];
const PAGES: DeclaredPage[] = [
  {
    id: PAGE,
    uuid: null,
    name: null,
    components: [
      { uuid: uuid(1), name: 'Checkout', alertMatchers: checkout },
      { uuid: uuid(2), name: 'Search', alertMatchers: [parseAlertMatcher('service="search"'), parseAlertMatcher('env=~"prod|canary"')] },
      { uuid: uuid(3), name: 'Docs' },
      // Matches everything (an empty label too): Alertmanager would refuse it.
      { uuid: uuid(4), name: 'Everything', alertMatchers: [parseAlertMatcher('service=~".*"')] },
    ],
  },
];
const START = T0 + 3600;
const END = T0 + 7200;
const window = { startAt: START, endAt: END };
const all = [affects(1, null), affects(2, null), affects(3, null), affects(4, null)];

describe('desired silences', () => {
  it('none while a maintenance is only scheduled, one per component with matchers once it started, none once it finished', () => {
    const player = new Player();
    player.play(maintenance('maintenance_created', 1, T0, all, window));
    expect(desiredSilences(player.state, PAGES, START - 60, OPTIONS)).toEqual([]);
    player.play(maintenance('maintenance_started', 1, START, all, window));
    const desired = desiredSilences(player.state, PAGES, START + 60, OPTIONS);
    expect(desired.map((d) => [d.componentUuid, d.startsAt, d.endsAt])).toEqual([
      [uuid(1), START, END + 900],
      [uuid(2), START, END + 900],
    ]);
    expect(desired[0]?.matchers).toEqual(checkout);
    expect(keyOfComment(desired[0]?.comment ?? '')).toBe(desired[0]?.key);
    expect(desired[0]?.comment).toContain('Maintenance "Maintenance 1" on status page page-a');
    player.play(maintenance('maintenance_finished', 1, END - 600, all, window));
    expect(desiredSilences(player.state, PAGES, END - 500, OPTIONS)).toEqual([]);
  });

  it('a maintenance in progress is silenced from now when its created_at is ahead of this clock (within the trusted skew)', () => {
    const player = new Player();
    player.play(maintenance('maintenance_started', 1, START, all, window));
    // Folded 4 minutes before its created_at: the silence starts now, not pending for 4 minutes.
    expect(desiredSilences(player.state, PAGES, START - 240, OPTIONS).map((d) => d.startsAt)).toEqual([START - 240, START - 240]);
    expect(desiredSilences(player.state, PAGES, START + 60, OPTIONS).map((d) => d.startsAt)).toEqual([START, START]);
  });

  it('past its scheduled end a running maintenance keeps its silences a runway ahead of now', () => {
    const player = new Player();
    player.play(maintenance('maintenance_started', 1, START, all, window));
    const late = END + 3600;
    expect(desiredSilences(player.state, PAGES, late, OPTIONS)[0]?.endsAt).toBe(late + SILENCE_RUNWAY_SECONDS + 900);
  });

  it('with from: scheduled, a scheduled maintenance is silenced from its scheduled start to its scheduled end plus the margin', () => {
    const player = new Player();
    player.play(maintenance('maintenance_created', 1, T0, all, window));
    const desired = desiredSilences(player.state, PAGES, T0 + 60, { ...OPTIONS, from: 'scheduled' });
    expect(desired.map((d) => [d.startsAt, d.endsAt])).toEqual([
      [START, END + 900],
      [START, END + 900],
    ]);
    // Never started, and past its end plus the margin: nothing to silence.
    expect(desiredSilences(player.state, PAGES, END + 901, { ...OPTIONS, from: 'scheduled' })).toEqual([]);
  });

  it('the components and window the README names: every component an event named, the newest window, a late one filling what none gave', () => {
    const player = new Player();
    // Created naming Checkout and Search; started naming Search only, without a window.
    player.play(maintenance('maintenance_started', 1, START, [affects(2, null)]));
    player.play(maintenance('maintenance_created', 1, T0, [affects(1, null), affects(2, null)], window));
    const desired = desiredSilences(player.state, PAGES, START + 60, OPTIONS);
    expect(desired.map((d) => [d.componentUuid, d.endsAt])).toEqual([
      [uuid(1), END + 900],
      [uuid(2), END + 900],
    ]);
  });

  it('a finish stamped before its start still ends the silences; with from: scheduled, no end_at waits for the start', () => {
    const player = new Player();
    player.play(maintenance('maintenance_started', 1, START, all, window));
    player.play(maintenance('maintenance_finished', 1, START - 60, all, window));
    expect(desiredSilences(player.state, PAGES, START + 60, OPTIONS)).toEqual([]);
    const open = new Player();
    open.play(maintenance('maintenance_created', 2, T0, all, { startAt: START, endAt: null }));
    expect(desiredSilences(open.state, PAGES, START + 60, { ...OPTIONS, from: 'scheduled' })).toEqual([]);
  });

  it('keys survive odd status page names, and other comments carry no key', () => {
    const key = silenceKey('team a/prod', uuid(9), uuid(1));
    expect(keyOfComment(`anything [statusmate-exporter silence ${key}]`)).toBe(key);
    expect(statusPageOfKey(key)).toBe('team a/prod');
    expect(keyOfComment('Maintenance window by hand')).toBeUndefined();
    expect(keyOfComment('[statusmate-exporter silence a/b]')).toBeUndefined();
  });

  const stepArb = fc.record({
    kind: fc.constantFrom('maintenance_created' as const, 'maintenance_started' as const, 'maintenance_finished' as const),
    id: fc.integer({ min: 1, max: 3 }),
    components: fc.subarray([1, 2, 3, 4], { minLength: 1 }),
  });

  it('property: only unfinished maintenances in progress, only components with usable matchers, every silence ends after now and past its scheduled end', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 12 }), fc.integer({ min: 0, max: 20_000 }), fc.constantFrom('started', 'scheduled'), (steps, offset, from) => {
        const player = new Player();
        steps.forEach((step, index) =>
          player.play(
            maintenance(
              step.kind,
              step.id,
              T0 + index * 60,
              step.components.map((c) => affects(c, null)),
              window,
            ),
          ),
        );
        const now = T0 + offset;
        const options = { ...OPTIONS, from: from };
        const desired = desiredSilences(player.state, PAGES, now, options);
        const keys = desired.map((d) => d.key);
        expect(new Set(keys).size).toBe(keys.length);
        expect([...keys].sort()).toEqual(keys);
        for (const d of desired) {
          const record = player.page().maintenances.get(d.maintenanceUuid);
          expect(record?.state).not.toBe('finished');
          if (from === 'started') expect(record?.state).toBe('in_progress');
          expect(record?.components.some((c) => c.uuid === d.componentUuid)).toBe(true);
          expect([uuid(1), uuid(2)]).toContain(d.componentUuid);
          expect(d.endsAt).toBeGreaterThan(now);
          if (record?.state === 'in_progress') expect(d.endsAt).toBeGreaterThanOrEqual(Math.max(END, now + SILENCE_RUNWAY_SECONDS) + 900);
        }
        // Pure: the same inputs, the same answer.
        expect(desiredSilences(player.state, PAGES, now, options)).toEqual(desired);
        // Time alone changes the fingerprint only when a silence stops being desired (a
        // scheduled one past its end): extensions do not make a reconcile urgent.
        const later = desiredSilences(player.state, PAGES, now + 30, options);
        if (later.length === desired.length) expect(desiredFingerprint(later)).toBe(desiredFingerprint(desired));
      }),
    );
  });
});

// ---- reconciling ------------------------------------------------------------------------------

const NOW = START + 60;
function want(component: number, endsAt = END + 900): DesiredSilence {
  const key = silenceKey(PAGE, uuid(2001), uuid(component));
  return {
    key,
    statusPage: PAGE,
    maintenanceUuid: uuid(2001),
    componentUuid: uuid(component),
    title: 'M',
    matchers: checkout,
    startsAt: START,
    eventStart: START,
    endsAt,
    scheduledEnd: END,
    comment: `c [statusmate-exporter silence ${key}]`,
  };
}
function seen(id: string, key: string, extra: Partial<ObservedSilence> = {}): ObservedSilence {
  return { id, key, matchers: checkout, startsAt: START, endsAt: END + 900, updatedAt: START, state: 'active', ...extra };
}
const ours = () => true;

describe('the reconcile plan', () => {
  it('creates what is missing, leaves what is right, expires what is no longer desired', () => {
    const a = want(1);
    const b = want(2);
    const gone = silenceKey(PAGE, uuid(2002), uuid(1));
    const plan = planReconcile([a, b], [seen('s1', a.key), seen('s9', gone)], ours, NOW);
    // The expiry first: the silence of a finished maintenance mutes alerts that should page now.
    expect(plan.actions).toEqual([
      { kind: 'expire', id: 's9', key: gone, reason: 'not_desired' },
      { kind: 'create', desired: b },
    ]);
    expect(plan.present).toEqual([a.key]);
  });

  it('collapses duplicates to the one ending last, the same one whichever replica plans', () => {
    // The survivor ends as desired (one ending past it would be shortened besides).
    const a = want(1, END + 1000);
    const observed = [seen('s2', a.key), seen('s1', a.key), seen('s3', a.key, { endsAt: END + 1000 })];
    const plans = [observed, [...observed].reverse()].map((list) => planReconcile([a], list, ours, NOW).actions);
    expect(plans[0]).toEqual(plans[1]);
    expect(plans[0]?.map((action) => (action.kind === 'expire' ? action.id : action.kind)).sort()).toEqual(['s1', 's2']);
  });

  it('extends a silence ending too early, keeping its start; a small difference is no reason to write', () => {
    const a = want(1, NOW + 5000);
    expect(planReconcile([a], [seen('s1', a.key, { endsAt: NOW + 5000 - 100 })], ours, NOW).actions).toEqual([]);
    const update = planReconcile([a], [seen('s1', a.key, { endsAt: NOW + 1000, startsAt: START + 1 })], ours, NOW).actions;
    expect(update).toEqual([{ kind: 'update', id: 's1', desired: a, startsAt: START + 1 }]);
  });

  it('keeps the silence of an overrunning maintenance at least half the runway plus the margin ahead, extended to the whole runway (README)', () => {
    const a = want(1, NOW + SILENCE_RUNWAY_SECONDS + 900);
    const ahead = (seconds: number) => planReconcile([a], [seen('s1', a.key, { endsAt: NOW + seconds })], ours, NOW).actions.map((action) => action.kind);
    // 5 minutes plus the 15 of the margin ahead: not written yet; less: extended to 10 minutes plus the margin.
    expect(ahead(SILENCE_RUNWAY_SECONDS / 2 + 900)).toEqual([]);
    expect(ahead(SILENCE_RUNWAY_SECONDS / 2 + 900 - 1)).toEqual(['update']);
    expect(SILENCE_RUNWAY_SECONDS).toBe(600);
  });

  it('starts now a pending silence whose maintenance started before its scheduled start; until then the key is not present', () => {
    const a = want(1);
    const pending = seen('s1', a.key, { state: 'pending', startsAt: NOW + 1800, endsAt: END + 900 });
    const plan = planReconcile([a], [pending], ours, NOW);
    expect(plan.actions).toEqual([{ kind: 'update', id: 's1', desired: a, startsAt: NOW }]);
    expect(plan.present).toEqual([]);
  });

  it('moves a pending silence to its rescheduled window, to an earlier end too; leaves one already right', () => {
    const a = { ...want(1, NOW + 5400), startsAt: NOW + 1800 };
    const aDayLater = seen('s1', a.key, { state: 'pending', startsAt: NOW + 86_400, endsAt: NOW + 90_000 });
    expect(planReconcile([a], [aDayLater], ours, NOW).actions).toEqual([{ kind: 'update', id: 's1', desired: a, startsAt: NOW + 1800 }]);
    const right = seen('s1', a.key, { state: 'pending', startsAt: NOW + 1800, endsAt: NOW + 5400 });
    const plan = planReconcile([a], [right], ours, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.present).toEqual([a.key]);
  });

  it('moves an active silence to a later start when its scheduled maintenance was rescheduled (nothing is silenced meanwhile)', () => {
    const a = { ...want(1, NOW + 90_000), startsAt: NOW + 86_400 };
    const active = seen('s1', a.key, { state: 'active', startsAt: NOW - 60, endsAt: NOW + 3600 });
    expect(planReconcile([a], [active], ours, NOW).actions).toEqual([{ kind: 'update', id: 's1', desired: a, startsAt: NOW + 86_400 }]);
  });

  it('shortens an active silence whose maintenance was rescheduled to end sooner, keeping its start (README: "no longer")', () => {
    // Active from its scheduled start until the old end plus the margin; the maintenance now ends an hour sooner.
    const a = want(1, END - 3600 + 900);
    const active = seen('s1', a.key, { state: 'active', startsAt: START, endsAt: END + 900 });
    const plan = planReconcile([a], [active], ours, NOW);
    expect(plan.actions).toEqual([{ kind: 'update', id: 's1', desired: a, startsAt: START }]);
    expect(plan.present).toEqual([a.key]);
    // With new matchers too, the earlier end is the one written.
    const narrowed = { ...a, matchers: [parseAlertMatcher('service="pay"')] };
    expect(planReconcile([narrowed], [active], ours, NOW).actions).toEqual([{ kind: 'update', id: 's1', desired: narrowed, startsAt: START }]);
    // A second of difference is no reason to write.
    expect(planReconcile([a], [seen('s1', a.key, { endsAt: a.endsAt + 1 })], ours, NOW).actions).toEqual([]);
  });

  it('takes the matchers in any order, as Alertmanager lists them in its own', () => {
    const a = { ...want(1), matchers: [parseAlertMatcher('service="pay"'), parseAlertMatcher('env="prod"')] };
    expect(planReconcile([a], [seen('s1', a.key, { matchers: [...a.matchers].reverse() })], ours, NOW).actions).toEqual([]);
  });

  it('replaces the matchers when the status pages file changed them', () => {
    const a = { ...want(1), matchers: [parseAlertMatcher('service="pay"')] };
    expect(planReconcile([a], [seen('s1', a.key)], ours, NOW).actions.map((action) => action.kind)).toEqual(['update']);
  });

  it('recreates a silence that ran out or vanished (Alertmanager restarted without its data), not one an operator expired', () => {
    const a = want(1);
    const ranOut = seen('s1', a.key, { state: 'expired', endsAt: NOW - 10, updatedAt: START });
    expect(planReconcile([a], [ranOut], ours, NOW).actions).toEqual([{ kind: 'create', desired: a }]);
    expect(planReconcile([a], [], ours, NOW).actions).toEqual([{ kind: 'create', desired: a }]);
    const lifted = seen('s1', a.key, { state: 'expired', endsAt: NOW - 10, updatedAt: NOW - 10 });
    const plan = planReconcile([a], [lifted], ours, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.overridden).toEqual([a.key]);
    // A pending silence (MAINTENANCE_SILENCE_FROM=scheduled) lifted before its start: left lifted too.
    const pendingLifted = seen('s2', a.key, { state: 'expired', startsAt: NOW - 10, endsAt: NOW - 10, updatedAt: NOW - 10 });
    expect(planReconcile([{ ...a, startsAt: NOW + 3600 }], [pendingLifted], ours, NOW).overridden).toEqual([a.key]);
  });

  it("recreates a silence the exporter expired itself, in any process, once its key is desired again since: the note in its comment tells its expiry from an operator's", () => {
    const a = want(1);
    const ownExpiry = seen('s1', a.key, { state: 'expired', endsAt: NOW - 10, updatedAt: NOW - 10, expiryNotedAt: NOW - 10 });
    // Matchers put back, a restart, a maintenance delivered again: desired since after the expiry.
    expect(planReconcile([a], [ownExpiry], ours, NOW, new Map([[a.key, NOW - 10]])).actions).toEqual([{ kind: 'create', desired: a }]);
    expect(planReconcile([a], [ownExpiry], ours, NOW, new Map([[a.key, NOW - 5]])).actions).toEqual([{ kind: 'create', desired: a }]);
    // Desired all along: an exporter folding another history expired it, taken for an operator.
    expect(planReconcile([a], [ownExpiry], ours, NOW, new Map([[a.key, NOW - 11]])).overridden).toEqual([a.key]);
    expect(planReconcile([a], [ownExpiry], ours, NOW).overridden).toEqual([a.key]);
    // Without the note: an operator's, however recently desired.
    expect(planReconcile([a], [{ ...ownExpiry, expiryNotedAt: undefined }], ours, NOW, new Map([[a.key, NOW]])).overridden).toEqual([a.key]);
  });

  it('rewrites a live desired silence that carries the note of an expiry that failed: an operator expiring it later is not taken for the exporter', () => {
    const a = want(1);
    const noted = seen('s1', a.key, { endsAt: a.endsAt, expiryNotedAt: NOW - 60 });
    expect(planReconcile([a], [noted], ours, NOW).actions).toEqual([{ kind: 'update', id: 's1', desired: a, startsAt: START }]);
    expect(planReconcile([a], [{ ...noted, expiryNotedAt: undefined }], ours, NOW).actions).toEqual([]);
  });

  it('notes its own expiry and its time before the stamp, or the marker when there is none, once; other comments are left alone', () => {
    const a = want(1);
    const stamped = stampedComment(a.comment, a.matchers, a.endsAt);
    const noted = withOwnExpiryNote(stamped, NOW + 0.25);
    expect(noted).toMatch(/ \(expired by statusmate-exporter at \S+Z\) \(stamp [0-9a-f]{12}\) \[statusmate-exporter silence [^\]]+\]$/);
    expect(ownExpiryNotedAt(noted)).toBe(NOW + 0.25);
    // The first note stays: a retried expiry does not move it later.
    expect(withOwnExpiryNote(noted, NOW + 60)).toBe(noted);
    // The marker and the stamp still read: an older release still knows the silence as its own, unedited.
    expect(keyOfComment(noted)).toBe(a.key);
    expect(stampOfComment(noted)).toBe(stampOfComment(stamped));
    expect(ownExpiryNotedAt(stamped)).toBeUndefined();
    expect(ownExpiryNotedAt(withOwnExpiryNote(a.comment, NOW))).toBe(NOW);
    expect(withOwnExpiryNote('made by hand', NOW)).toBe('made by hand');
    // The note typed elsewhere in the comment is not the exporter's.
    expect(ownExpiryNotedAt(`(expired by statusmate-exporter at ${new Date(NOW * 1000).toISOString()}) ${stamped}`)).toBeUndefined();
  });

  it('recreates a silence that ran out after a duplicate of it was collapsed: the last to end decides', () => {
    const a = want(1);
    const collapsed = seen('s1', a.key, { state: 'expired', endsAt: NOW - 900, updatedAt: NOW - 900 });
    const ranOut = seen('s2', a.key, { state: 'expired', endsAt: NOW - 10, updatedAt: NOW - 1000 });
    expect(planReconcile([a], [collapsed, ranOut], ours, NOW).actions).toEqual([{ kind: 'create', desired: a }]);
  });

  it('leaves a silence edited by hand as it is: not put back, not extended, not expired once no longer desired, not recreated once it ran out', () => {
    const a = want(1);
    const search = [parseAlertMatcher('service="checkout"'), parseAlertMatcher('severity!="critical"')];
    // As the exporter wrote it: its stamp matches, and it is the exporter's to update.
    const written = seen('s1', a.key, { endsAt: NOW + 60, stamp: silenceStamp(checkout, NOW + 60) });
    expect(editedByHand(written)).toBe(false);
    expect(planReconcile([a], [written], ours, NOW).actions.map((action) => action.kind)).toEqual(['update']);
    // Its matchers narrowed, or its end moved, by hand: left so, and counted as overridden.
    for (const edited of [
      seen('s1', a.key, { matchers: search, stamp: silenceStamp(checkout, END + 900) }),
      seen('s1', a.key, { endsAt: NOW + 60, stamp: silenceStamp(checkout, END + 900) }),
    ]) {
      expect(editedByHand(edited)).toBe(true);
      const plan = planReconcile([a], [edited], ours, NOW);
      expect(plan.actions).toEqual([]);
      expect(plan.overridden).toEqual([a.key]);
      expect(plan.present).toEqual([]);
      // The maintenance finished: it ends when its end says, not now.
      expect(planReconcile([], [edited], ours, NOW).actions).toEqual([]);
    }
    // Ended sooner by hand and run out: not recreated for this maintenance. One that ran out as written is.
    const ranOutEdited = seen('s1', a.key, { state: 'expired', endsAt: NOW - 10, updatedAt: NOW - 100, stamp: silenceStamp(checkout, END + 900) });
    expect(planReconcile([a], [ranOutEdited], ours, NOW).overridden).toEqual([a.key]);
    const ranOut = seen('s1', a.key, { state: 'expired', endsAt: NOW - 10, updatedAt: NOW - 100, stamp: silenceStamp(checkout, NOW - 10) });
    expect(planReconcile([a], [ranOut], ours, NOW).actions).toEqual([{ kind: 'create', desired: a }]);
    // No stamp (written before stamps): the exporter's, as before.
    expect(editedByHand(seen('s1', a.key, { matchers: search }))).toBe(false);
  });

  it('puts the stamp before the marker, where an older version still reads the key', () => {
    const key = silenceKey(PAGE, uuid(2001), uuid(1));
    const comment = stampedComment(`Maintenance "M" on status page ${PAGE} [statusmate-exporter silence ${key}]`, checkout, END + 900);
    expect(comment).toBe(`Maintenance "M" on status page ${PAGE} (stamp ${silenceStamp(checkout, END + 900)}) [statusmate-exporter silence ${key}]`);
    expect(keyOfComment(comment)).toBe(key);
    expect(stampOfComment(comment)).toBe(silenceStamp(checkout, END + 900));
    expect(/\[statusmate-exporter silence ([^\s\]]+)\]\s*$/.exec(comment)?.[1]).toBe(key);
    // The matchers in any order, the end to the millisecond.
    const two = [parseAlertMatcher('service="pay"'), parseAlertMatcher('env="prod"')];
    expect(silenceStamp(two, 1000.0004)).toBe(silenceStamp([...two].reverse(), 1000));
    expect(silenceStamp(two, 1000.002)).not.toBe(silenceStamp(two, 1000));
    expect(stampOfComment('Maintenance by hand')).toBeUndefined();
  });

  it("never touches another install's silences", () => {
    const other = silenceKey('other-page', uuid(2002), uuid(1));
    expect(planReconcile([], [seen('s1', other)], (key) => statusPageOfKey(key) === PAGE, NOW).actions).toEqual([]);
  });

  it('property: applying the plan leaves exactly one live silence per desired key and none other of ours', () => {
    const observedArb = fc.array(
      fc.record({
        component: fc.integer({ min: 1, max: 4 }),
        state: fc.constantFrom('active' as const, 'pending' as const, 'expired' as const),
        endsAt: fc.integer({ min: NOW - 1000, max: NOW + 20_000 }),
        byRequest: fc.boolean(),
      }),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(fc.subarray([1, 2, 3, 4]), observedArb, (wanted, observedSpec) => {
        const desired = wanted.map((c) => want(c, NOW + 10_000));
        const observed = observedSpec.map((o, i) =>
          seen(`s${i}`, want(o.component).key, { state: o.state, endsAt: o.endsAt, updatedAt: o.byRequest && o.state === 'expired' ? o.endsAt : START - 1 }),
        );
        const plan = planReconcile(desired, observed, ours, NOW);
        // Apply it as Alertmanager would: an expiry sets endsAt and updatedAt to now.
        const all = new Map(observed.map((o) => [o.id, o]));
        let next = 0;
        for (const action of plan.actions) {
          if (action.kind === 'expire') {
            const silence = all.get(action.id) as ObservedSilence;
            all.set(action.id, { ...silence, state: 'expired', endsAt: NOW, updatedAt: NOW });
          } else {
            const id = action.kind === 'create' ? `new${next++}` : action.id;
            all.set(id, seen(id, action.desired.key, { endsAt: action.desired.endsAt, updatedAt: NOW }));
          }
        }
        const keys = [...all.values()]
          .filter((o) => o.state !== 'expired')
          .map((o) => o.key)
          .sort();
        // An operator's expiry (updatedAt = endsAt) is left as it is.
        expect(keys).toEqual(
          desired
            .map((d) => d.key)
            .filter((key) => !plan.overridden.includes(key))
            .sort(),
        );
        // And a second plan on the result has nothing left to do.
        expect(planReconcile(desired, [...all.values()], ours, NOW).actions).toEqual([]);
      }),
    );
  });
});
