import { randomBytes } from 'node:crypto';
import type { StoredAlert } from '../domain/alert-state.js';
import type { Logger } from '../logger.js';
import type { LogStore } from '../store/store.js';
import type { AlertSink } from '../webhook/alertmanager.js';
import type { AlertmanagerClient } from './client.js';

/** The store lease that elects the one replica that lets go of alerts Alertmanager no longer has. */
export const HELD_ALERTS_LEASE = 'alertmanager-held-alerts';

/**
 * How long a held alert that Alertmanager did not last list suppressed may be missing before it is let
 * go of: Alertmanager sends its resolution (send_resolved) at the group's next flush, every
 * group_interval (5 minutes by default), and that resolution carries when it resolved. Letting go
 * of it sooner took the look's time for its end, and a page back to operational in between
 * measured no recovery at all. Twice the default group_interval.
 */
export const UNSUPPRESSED_RESOLUTION_WAIT_MS = 10 * 60_000;

export type HeldAlertsCheckOptions = {
  client: Pick<AlertmanagerClient, 'firingAlerts'>;
  /** The fold loop: its state's alerts, and the way in for a resolution (a log entry, as a notification is). */
  sink: AlertSink;
  store: Pick<LogStore, 'lease' | 'releaseLease'>;
  logger: Logger;
  /** Between two looks; an alert is let go of after two looks without it (see UNSUPPRESSED_RESOLUTION_WAIT_MS). */
  intervalMs?: number;
  /** UNSUPPRESSED_RESOLUTION_WAIT_MS, for tests. */
  unsuppressedWaitMs?: number;
  now?: () => number;
};

/**
 * Lets go of the alerts the exporter holds as firing that Alertmanager no longer has. Alertmanager
 * sends no resolution for an alert that resolved while a silence muted it: the exporter's own
 * maintenance silences do exactly that, and the alert stayed held (a false "page silent" alert,
 * and the next response measured from it) until ALERT_STALE_SECONDS, a day. Every interval the
 * lease holder lists Alertmanager's alerts; a held alert missing from two looks in a row (an
 * Alertmanager restarted without its data has it back from Prometheus within a minute or two) is
 * resolved through the log, as a notification resolves it, on every replica alike, if the last
 * look that listed it saw it suppressed. Any other (one listed unsuppressed, or never listed: it
 * fired and resolved between two looks) gets its resolution from Alertmanager, with its end: it
 * is let go of only once that is overdue (UNSUPPRESSED_RESOLUTION_WAIT_MS).
 */
export class HeldAlertsCheck {
  private readonly holder = `${process.pid}-${randomBytes(6).toString('base64url')}`;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private leader = false;
  /** Held fingerprints missing from the last look, with when (ms) the first look of their run missed them. */
  private missing = new Map<string, number>();
  /**
   * Held fingerprints Alertmanager listed suppressed (silenced, inhibited) at the last look that
   * listed them: no resolution of theirs comes. The others' come, as notifications.
   */
  private readonly muted = new Set<string>();
  private lastError: string | undefined;

  constructor(private readonly options: HeldAlertsCheckOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.check());
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    if (this.leader) await this.options.store.releaseLease(HELD_ALERTS_LEASE, this.holder).catch(() => undefined);
  }

  /** One look at Alertmanager's alerts (every interval once started; tests call it directly). */
  async check(): Promise<void> {
    const held = [...this.options.sink.state.alerts.byFingerprint.keys()];
    if (held.length === 0 || this.stopped) {
      this.missing.clear();
      this.muted.clear();
      return;
    }
    this.leader = await this.options.store.lease(HELD_ALERTS_LEASE, this.holder, this.intervalMs * 3).catch(() => false);
    if (!this.leader) {
      this.missing.clear();
      this.muted.clear();
      return;
    }
    let firing: Map<string, { suppressed: boolean }>;
    try {
      firing = await this.options.client.firingAlerts();
      this.lastError = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError) this.options.logger.warn({ err: message }, "listing Alertmanager's alerts failed; held alerts are checked again later");
      this.lastError = message;
      return;
    }
    const now = (this.options.now ?? Date.now)();
    const heldSet = new Set(held);
    for (const fingerprint of this.muted) if (!heldSet.has(fingerprint)) this.muted.delete(fingerprint);
    for (const [fingerprint, { suppressed }] of firing) {
      if (!heldSet.has(fingerprint)) continue;
      if (suppressed) this.muted.add(fingerprint);
      else this.muted.delete(fingerprint);
    }
    const missing = new Map<string, number>();
    for (const fingerprint of held) if (!firing.has(fingerprint)) missing.set(fingerprint, this.missing.get(fingerprint) ?? now);
    const wait = this.options.unsuppressedWaitMs ?? UNSUPPRESSED_RESOLUTION_WAIT_MS;
    // Missing from two looks in a row, when Alertmanager had it muted; any other only once its
    // resolution is overdue (the resolution brings the alert's own end).
    const gone = [...missing]
      .filter(([fingerprint, since]) => this.missing.has(fingerprint) && (this.muted.has(fingerprint) || now - since >= wait))
      .map(([fingerprint]) => fingerprint)
      .sort();
    this.missing = missing;
    if (gone.length === 0) return;
    const resolved: StoredAlert[] = gone.map((fingerprint) => ({ fingerprint, status: 'resolved', startsAt: null, endsAt: null, components: [] }));
    try {
      await this.options.sink.alerts(resolved);
      for (const fingerprint of gone) {
        this.missing.delete(fingerprint);
        this.muted.delete(fingerprint);
      }
      this.options.logger.info(
        { alerts: gone.length, fingerprints: gone.slice(0, 10) },
        'let go of held alerts that Alertmanager no longer has (resolved unseen, under a silence)',
      );
    } catch (error) {
      this.options.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'letting go of alerts Alertmanager no longer has failed; tried again at the next look',
      );
    }
  }
}
