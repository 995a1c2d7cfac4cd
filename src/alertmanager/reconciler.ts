import { randomBytes } from 'node:crypto';
import type { DeclaredPage } from '../domain/inventory.js';
import {
  desiredFingerprint,
  desiredSilences,
  componentOfKey,
  planReconcile,
  statusPageOfKey,
  type DesiredSilence,
  type ObservedSilence,
  type ReconcileAction,
  type SilenceOptions,
} from '../domain/silences.js';
import type { State } from '../domain/state.js';
import type { Logger } from '../logger.js';
import type { LogStore } from '../store/store.js';
import { withTimeout } from '../store/with-timeout.js';
import { AlertmanagerError, type AlertmanagerClient } from './client.js';

/** The store lease that elects the one replica that writes silences. */
export const SILENCE_LEASE = 'alertmanager-silences';

/** The longest wait between two attempts after failures, jitter included (the README promises it). */
export const MAX_RETRY_DELAY_MS = 10_000;

/**
 * How long to wait after `failures` failed attempts in a row: doubling from 1 s, with ±20 %
 * jitter (`random` in [0, 1)) so that replicas cut off together do not retry in step, and never
 * past MAX_RETRY_DELAY_MS: capped before the jitter, the wait reached 12 s.
 */
export function retryDelayMs(failures: number, random: number): number {
  const backoff = Math.min(MAX_RETRY_DELAY_MS, 500 * 2 ** Math.min(failures, 10));
  return Math.min(MAX_RETRY_DELAY_MS, backoff * (0.8 + random * 0.4));
}

/**
 * The part of the lease's TTL past which the holder renews it before its next write, and without
 * a renewal writes no more: the rest (10 s of the 15 s) is longer than a write may take (the
 * client's timeout, 5 s), so a write sent is answered, or abandoned, before the lease can run out.
 */
const RENEW_AFTER_TTL_FRACTION = 1 / 3;

/**
 * How long a pass writes before it ends and the next one, at once, reads Alertmanager and plans
 * again: hundreds of writes to a slow Alertmanager take minutes, and a maintenance that finishes
 * (or starts) meanwhile would wait for all of them otherwise.
 */
const PASS_WRITING_MS = 5_000;

/** How a reconcile ended: all done, to try again later, or cut short with more to write at once. */
type PassOutcome = 'done' | 'again' | 'more';

/**
 * How long a peer that answers may lack a silence the others hold (or hold live one the others
 * expired) before it counts: gossip brings a write to every peer within a second, and a peer
 * that (re)joins the mesh pulls the others' state at once. Past it, the peer is cut off from the
 * mesh (a split): its alerts are not silenced, or stay silenced, whatever the others hold.
 */
export const PEER_CATCH_UP_MS = 20_000;

/** Failed reconciles in a row after which the holder gives the lease up. */
const STAND_DOWN_AFTER_FAILURES = 3;

export type SilenceStats = {
  /** Silences that should exist now. */
  desired: number;
  /** Of those, the ones Alertmanager holds (active or pending), as of the last look. */
  active: number;
  /** Of those, the ones missing: not created yet, or Alertmanager could not be read or refused them. */
  failed: number;
  /** Of those, the ones an operator expired or edited by hand: left as they left them. */
  overridden: number;
  /**
   * Not desired, yet live in Alertmanager: silences of this install that no maintenance wants now
   * (it finished) and that could not be expired yet, as of the last look; while Alertmanager
   * cannot be read, the ones it held at the last look that are no longer desired. They mute alerts.
   */
  lingering: number;
  /** Whether this process holds the lease, and so writes. */
  leader: boolean;
};

export type SilenceReconcilerOptions = {
  client: AlertmanagerClient;
  /** The folded state (the fold loop's, replaced in place on reloads). */
  state: State;
  /** The declared status pages in force (their alert_matchers). */
  pages: () => readonly DeclaredPage[];
  silences: SilenceOptions;
  /**
   * The lease's keeper (the log store). Only a `redis` store is shared by several processes: on
   * SQLite and memory this process holds every lease, and never gives it up (there is no one to
   * give it to, and statusmate_maintenance_silences_leader stays 1 while Alertmanager fails).
   */
  store: Pick<LogStore, 'lease' | 'releaseLease' | 'kind'>;
  /** Whether the fold has reached the end of the log: a state behind it must not expire what it has not folded yet. */
  caughtUp: () => Promise<boolean>;
  logger: Logger;
  /** Between two reconciles when nothing changes. */
  intervalMs?: number;
  /** How often the desired silences are compared with the last reconciled ones. */
  watchMs?: number;
  leaseTtlMs?: number;
  now?: () => number;
};

/**
 * Makes Alertmanager's silences the desired ones: a loop that recomputes the desired silences
 * every `watchMs` (cheap: the unfinished maintenances only) and reconciles at once when they
 * changed (a maintenance started or finished, a reload changed the matchers), and every
 * `intervalMs` anyway (extensions; an Alertmanager that lost its silences). Scrapes never run it.
 *
 * Several replicas: every replica reads Alertmanager and reports what it sees; only the holder of
 * the store's lease writes, and it sends no write once its lease could have run out: a long pass
 * (hundreds of writes to a slow Alertmanager) renews it on the way, and stops when it cannot. A
 * pass writes for PASS_WRITING_MS at most, and the next one plans again at once: what changed
 * meanwhile (a maintenance finished or started) waits seconds, not for the whole first plan. The
 * plan is deterministic, so a second writer (a holder paused between its check and its write)
 * makes the same decisions, and any duplicate that a race left is collapsed by the next reconcile. Failures back off exponentially (up to 10 s) and touch nothing
 * else: webhooks never wait for Alertmanager.
 */
export class SilenceReconciler {
  private readonly holder = `${process.pid}-${randomBytes(6).toString('base64url')}`;
  private readonly intervalMs: number;
  private readonly watchMs: number;
  private readonly leaseTtlMs: number;
  private readonly now: () => number;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private lastFingerprint: string | undefined;
  private nextAt = 0;
  /** Until when a change waits too: the fold was behind at the last attempt. */
  private holdUntil = 0;
  private failures = 0;
  private lastError: string | undefined;
  private leader = false;
  /** When (Date.now() ms) the lease held now was taken or renewed last, measured before asking. */
  private leaseAskedAt = 0;
  /** Until when (Date.now() ms) the lease taken or renewed last runs: past it, another process may hold it. */
  private leaseUntil = 0;
  private view = { desired: 0, active: 0, failed: 0, overridden: 0, lingering: 0 };
  /** Keys of this install's silences live in Alertmanager after the last pass that read it (edited ones left out). */
  private lastLive = new Set<string>();
  /**
   * Since when (this.now()) each desired key has been desired without a break, as this process
   * saw it: an expiry noted before it is another exporter's (see planReconcile). Tracked on every
   * replica, the lease's holder or not, so that one taking the lease over knows.
   */
  private readonly desiredSince = new Map<string, number>();
  /** Since when (Date.now() ms) each `peer key` or `peer id` disagreement has been seen (see PEER_CATCH_UP_MS). */
  private peerLag = new Map<string, number>();
  /** The `peer key` pairs found lacking at the last reconcile: each is warned of once, when it begins. */
  private peerLacking = new Set<string>();
  /** Desired silences Alertmanager refused (400) at the last reconcile, and why: logged once each. */
  private refusedKeys = new Map<string, string>();

  constructor(private readonly options: SilenceReconcilerOptions) {
    this.intervalMs = options.intervalMs ?? 5_000;
    this.watchMs = options.watchMs ?? 250;
    this.leaseTtlMs = options.leaseTtlMs ?? 15_000;
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  start(): void {
    this.loop = this.run();
  }

  /** Stops the loop and gives the lease up, so another replica takes over at once. */
  async stop(): Promise<void> {
    if (this.stopped) return this.loop;
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leader) {
      this.leader = false;
      await this.options.store.releaseLease(SILENCE_LEASE, this.holder).catch(() => undefined);
    }
  }

  /** As of the last look at Alertmanager: desired = active + failed + overridden. */
  stats(): SilenceStats {
    return { ...this.view, leader: this.holdsLease() };
  }

  /**
   * Whether this process holds the lease now. On Redis, a holder that stopped renewing it (its
   * fold cannot catch up: the store is unreachable from it) holds it no longer once it ran out:
   * another replica takes it then, and only one says it leads.
   */
  private holdsLease(): boolean {
    if (this.leader && this.options.store.kind === 'redis' && Date.now() >= this.leaseUntil) this.leader = false;
    return this.leader;
  }

  /** The silences desired now; notes since when each has been desired (desiredSince). */
  private desired(): DesiredSilence[] {
    const now = this.now();
    const desired = desiredSilences(this.options.state, this.options.pages(), now, this.options.silences);
    const keys = new Set(desired.map((silence) => silence.key));
    for (const key of this.desiredSince.keys()) if (!keys.has(key)) this.desiredSince.delete(key);
    for (const key of keys) if (!this.desiredSince.has(key)) this.desiredSince.set(key, now);
    return desired;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const fingerprint = desiredFingerprint(this.desired());
      const now = Date.now();
      if (now >= this.nextAt || (fingerprint !== this.lastFingerprint && this.failures === 0 && now >= this.holdUntil)) {
        let outcome: PassOutcome = 'again';
        try {
          outcome = await this.reconcile();
        } catch (error) {
          this.failed(error);
        }
        if (outcome === 'done') this.lastFingerprint = fingerprint;
        // Cut short after PASS_WRITING_MS: the next pass plans again from what Alertmanager holds now.
        if (outcome === 'more') continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, this.watchMs).unref();
      });
    }
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  private failed(error: unknown): void {
    this.failures += 1;
    const message = error instanceof Error ? error.message : String(error);
    // Once per distinct cause, not once per retry.
    if (message !== this.lastError)
      this.options.logger.warn({ err: message, retries: this.failures }, 'reconciling Alertmanager silences failed; retrying with back-off');
    this.lastError = message;
    this.nextAt = Date.now() + retryDelayMs(this.failures, Math.random());
    // A holder that keeps failing (cut off from Alertmanager while the other replicas may reach
    // it) gives the lease up: a replica that looks before its back-off ends takes over. Alone,
    // it takes the lease back at its next attempt.
    if (this.leader && this.options.store.kind === 'redis' && this.failures >= STAND_DOWN_AFTER_FAILURES) {
      this.leader = false;
      void this.options.store.releaseLease(SILENCE_LEASE, this.holder).catch(() => undefined);
    }
  }

  /** One reconcile: 'done' when it saw Alertmanager and did all it had to, 'more' when it stopped after PASS_WRITING_MS with writes left. */
  private async reconcile(): Promise<PassOutcome> {
    // A replica whose fold is behind would expire silences of a maintenance it has not seen start.
    if (!(await this.options.caughtUp())) {
      this.nextAt = this.holdUntil = Date.now() + 1_000;
      this.holdsLease();
      return 'again';
    }
    await this.takeLease();
    if (this.stopped) return 'again';
    const desired = this.desired();
    let observed;
    try {
      observed = await this.options.client.listSilences();
    } catch (error) {
      // What the last look saw live and no maintenance wants now may still be there, muting alerts.
      const wanted = new Set(desired.map((silence) => silence.key));
      const lingering = [...this.lastLive].filter((key) => !wanted.has(key)).length;
      this.view = { desired: desired.length, active: 0, failed: desired.length, overridden: 0, lingering };
      throw error;
    }
    // Ours to judge: a silence of a page and component this install knows (declared, or seen in
    // events). A page's id is a local name that another install sharing this Alertmanager may give
    // its own page too ("shop" in staging and production); its components are StatusMate's uuids,
    // another page's never ours. By the page alone, each install expired the other's silences,
    // and the other then took that expiry for an operator's: its maintenance paged.
    const declared = new Map(this.options.pages().map((page) => [page.id, new Set(page.components.map((component) => component.uuid))]));
    const owns = (key: string) => {
      const page = statusPageOfKey(key);
      const component = componentOfKey(key);
      return declared.get(page)?.has(component) === true || this.options.state.pages.get(page)?.components.has(component) === true;
    };
    const desiredKeys = new Set(desired.map((silence) => silence.key));
    const plan = planReconcile(desired, observed, owns, this.now(), this.desiredSince);
    const observedById = new Map(observed.map((silence) => [silence.id, silence]));
    const present = new Set(plan.present);
    let firstError: Error | undefined;
    const refused = new Map<string, string>();
    // Those Alertmanager refused last go last: refused again at every pass, they would fill each
    // pass cut short (PASS_WRITING_MS) and hold back the writes behind them for good.
    const refusedBefore = (action: ReconcileAction) => action.kind !== 'expire' && this.refusedKeys.has(action.desired.key);
    const actions = [...plan.actions.filter((action) => !refusedBefore(action)), ...plan.actions.filter(refusedBefore)];
    const attempted = new Set<ReconcileAction>();
    const expired = new Set<string>();
    let leaseLost = false;
    let cutShort = false;
    const writingSince = Date.now();
    if (this.leader) {
      for (const action of actions) {
        // Read through a call: TypeScript keeps the narrowing of `stopped` across the awaits otherwise.
        if (this.isStopped()) break;
        // A plan is as of the pass's start: past PASS_WRITING_MS the next pass plans again (the
        // expiries of finished maintenances first), rather than write on from a stale one.
        // Only the ones refused before left: tried again at the next pass after `intervalMs`, as
        // at the end of a pass, not at once and over again.
        if (Date.now() - writingSince >= PASS_WRITING_MS) {
          cutShort = !refusedBefore(action);
          break;
        }
        // A pass of hundreds of writes to a slow Alertmanager outlasts the lease: renewed on the
        // way, and no write once it could have run out, or another replica would write too.
        if (!(await this.leaseFreshForAWrite())) {
          leaseLost = true;
          break;
        }
        attempted.add(action);
        try {
          await this.apply(action, observedById);
          if (action.kind !== 'expire') present.add(action.desired.key);
          else expired.add(action.id);
        } catch (error) {
          // A silence Alertmanager will not take (400: a matcher its RE2 refuses) is that
          // silence's failure, not Alertmanager's: it stays missing (failed), logged once, and
          // the others' changes are not held back by a back-off it would cause every time.
          if (error instanceof AlertmanagerError && error.status === 400 && action.kind !== 'expire') refused.set(action.desired.key, error.message);
          else {
            // Any other failure is Alertmanager's (down, hung, 5xx, a credential): the rest of the
            // plan would fail alike, each after its timeout (a hung one cost 5 s a write, minutes
            // for a few hundred, with nothing logged meanwhile). Stop here and back off.
            firstError = error instanceof Error ? error : new Error(String(error));
            break;
          }
        }
      }
    }
    for (const [key, message] of refused) {
      if (this.refusedKeys.get(key) !== message)
        this.options.logger.warn({ key, err: message }, 'Alertmanager refuses a maintenance silence; it stays missing until what it refuses changes');
    }
    // A refusal this pass did not try again (it stopped first) still stands: not logged again.
    for (const action of actions) {
      const known = action.kind !== 'expire' && !attempted.has(action) ? this.refusedKeys.get(action.desired.key) : undefined;
      if (action.kind !== 'expire' && known !== undefined) refused.set(action.desired.key, known);
    }
    this.refusedKeys = refused;
    const overridden = plan.overridden.length;
    // Silences no maintenance wants that this pass did not expire (it failed or stopped first, or
    // this replica does not write): still live. Likewise a desired silence a pass cut short did
    // not create yet is missing (failed), as any replica that reads Alertmanager now sees it.
    const lingering = new Set(
      plan.actions.flatMap((action) => (action.kind === 'expire' && action.reason === 'not_desired' && !expired.has(action.id) ? [action.key] : [])),
    );
    // Per peer (a peer cut off from the gossip mesh): a desired silence it lacks is missing there,
    // whatever the others hold; one it still holds live that the others expired lingers there, and
    // is expired on that peer.
    const lag = new Map<string, number>();
    const lacking = new Set<string>();
    const lagging = (what: string) => {
      const since = this.peerLag.get(what) ?? Date.now();
      lag.set(what, since);
      return Date.now() - since >= PEER_CATCH_UP_MS;
    };
    const liveIdsByKey = new Map<string, string[]>();
    for (const silence of observed) if (silence.state !== 'expired') liveIdsByKey.set(silence.key, [...(liveIdsByKey.get(silence.key) ?? []), silence.id]);
    for (const [peer, held] of this.options.client.peerViews) {
      for (const key of [...present]) {
        const ids = liveIdsByKey.get(key) ?? [];
        if (ids.some((id) => held.get(id) === 'active' || held.get(id) === 'pending') || !lagging(`${peer} ${key}`)) continue;
        present.delete(key);
        lacking.add(`${peer} ${key}`);
        if (!this.peerLacking.has(`${peer} ${key}`))
          this.options.logger.warn({ peer, key }, 'an Alertmanager peer lacks a maintenance silence the others hold: is it cut off from the gossip mesh?');
      }
      for (const silence of observed) {
        if (silence.state !== 'expired' || !owns(silence.key) || desiredKeys.has(silence.key)) continue;
        const there = held.get(silence.id);
        if ((there !== 'active' && there !== 'pending') || !lagging(`${peer} ${silence.id}`)) continue;
        let gone = false;
        if (this.leader && firstError === undefined && !leaseLost && !cutShort) {
          try {
            await this.options.client.expireOn(peer, silence.id);
            gone = true;
            this.options.logger.info({ silence: silence.id, key: silence.key, peer }, 'expired a maintenance silence on a peer the expiry had not reached');
          } catch {
            // Tried again at the next pass.
          }
        }
        if (!gone) lingering.add(silence.key);
      }
    }
    this.peerLag = lag;
    this.peerLacking = lacking;
    this.lastLive = new Set([...present, ...lingering]);
    this.view = { desired: desired.length, active: present.size, failed: desired.length - present.size - overridden, overridden, lingering: lingering.size };
    if (firstError !== undefined) throw firstError;
    // Not a failure of Alertmanager's: the next pass looks again, and writes if it holds the lease.
    if (leaseLost) return 'again';
    // Cut short, Alertmanager took every write sent: no failure, no back-off, and the next pass now.
    if (this.failures > 0 && !cutShort) this.options.logger.info({ silences: present.size }, 'Alertmanager silences reconciled again');
    if (this.failures > 0 && cutShort) this.options.logger.info({ silences: present.size }, 'Alertmanager takes silence writes again; reconciling the rest');
    this.failures = 0;
    this.lastError = undefined;
    this.nextAt = cutShort ? 0 : Date.now() + this.intervalMs;
    return cutShort ? 'more' : 'done';
  }

  /**
   * Takes or renews the lease; false (logged) when Redis cannot say, or not before the lease would
   * be too old to write under: a stopped Redis never answers, and would hold the pass (and SIGTERM) until it came back.
   */
  private async takeLease(): Promise<boolean> {
    const asked = Date.now();
    const asking = this.options.store.lease(SILENCE_LEASE, this.holder, this.leaseTtlMs);
    this.leader = await withTimeout(asking, this.leaseTtlMs * RENEW_AFTER_TTL_FRACTION).catch((error: unknown) => {
      this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'the silences lease could not be taken or renewed');
      return false;
    });
    if (this.leader) {
      this.leaseAskedAt = asked;
      this.leaseUntil = asked + this.leaseTtlMs;
    }
    return this.leader;
  }

  /**
   * Whether the lease is young enough for one more write (see RENEW_AFTER_TTL_FRACTION), renewed
   * first when it is not. False when the renewal failed, went to another replica or came too late.
   */
  private async leaseFreshForAWrite(): Promise<boolean> {
    const young = () => Date.now() - this.leaseAskedAt < this.leaseTtlMs * RENEW_AFTER_TTL_FRACTION;
    if (young()) return true;
    if ((await this.takeLease()) && young()) return true;
    this.options.logger.warn(
      { leader: this.leader, lease_ttl_ms: this.leaseTtlMs },
      'the silences lease could not be renewed in time during a reconcile; stopped writing until it is held again',
    );
    return false;
  }

  private async apply(action: ReconcileAction, observed: ReadonlyMap<string, ObservedSilence>): Promise<void> {
    const { client, logger } = this.options;
    if (action.kind === 'create') {
      const id = await client.create(action.desired);
      logger.info(
        { silence: id, maintenance_uuid: action.desired.maintenanceUuid, component_uuid: action.desired.componentUuid, status_page: action.desired.statusPage },
        'created a maintenance silence',
      );
    } else if (action.kind === 'update') {
      const id = await client.update(action.id, action.desired, action.startsAt);
      logger.info({ silence: id, was: action.id, ends_at: new Date(action.desired.endsAt * 1000).toISOString() }, 'updated a maintenance silence');
    } else {
      const id = await this.noteOwnExpiry(action.id, observed.get(action.id));
      await client.expire(id);
      logger.info({ silence: id, key: action.key, reason: action.reason }, 'expired a maintenance silence');
    }
  }

  /**
   * Notes in a silence's comment that the exporter expires it, before it does: Alertmanager
   * records every expiry by request alike, and without the note a process that did not expire it
   * (restarted, or another replica) would take it for an operator's and not recreate it when it is
   * desired again. The note is worth a write, not the expiry: when Alertmanager refuses it (4xx:
   * the silence ran out meanwhile, or its peer has not heard of it), the silence is expired as it is.
   */
  private async noteOwnExpiry(id: string, silence: ObservedSilence | undefined): Promise<string> {
    if (silence?.comment === undefined || silence.expiryNotedAt !== undefined) return id;
    try {
      return await this.options.client.noteOwnExpiry({ ...silence, comment: silence.comment }, this.now());
    } catch (error) {
      if (error instanceof AlertmanagerError && error.status !== undefined && error.status >= 400 && error.status < 500) return id;
      throw error;
    }
  }
}
