import { randomBytes } from 'node:crypto';
import type { StoredAlert } from '../domain/alerts.js';
import type { Logger } from '../logger.js';
import type { LogStore } from '../store/store.js';
import type { AlertSink } from '../webhook/alertmanager.js';
import type { AlertmanagerClient } from './client.js';

/** The store lease that elects the one replica that lets go of alerts Alertmanager no longer has. */
export const HELD_ALERTS_LEASE = 'alertmanager-held-alerts';

export type HeldAlertsCheckOptions = {
  client: Pick<AlertmanagerClient, 'firingFingerprints'>;
  /** The fold loop: its state's alerts, and the way in for a resolution (a log entry, as a notification is). */
  sink: AlertSink;
  store: Pick<LogStore, 'lease' | 'releaseLease'>;
  logger: Logger;
  /** Between two looks; an alert is let go of after two looks without it. */
  intervalMs?: number;
};

/**
 * Lets go of the alerts the exporter holds as firing that Alertmanager no longer has. Alertmanager
 * sends no resolution for an alert that resolved while a silence muted it: the exporter's own
 * maintenance silences do exactly that, and the alert stayed held (a false "page silent" alert,
 * and the next response measured from it) until ALERT_STALE_SECONDS, a day. Every interval the
 * lease holder lists Alertmanager's alerts; a held alert missing from two looks in a row (an
 * Alertmanager restarted without its data has it back from Prometheus within a minute or two) is
 * resolved through the log, as a notification resolves it, on every replica alike.
 */
export class HeldAlertsCheck {
  private readonly holder = `${process.pid}-${randomBytes(6).toString('base64url')}`;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private leader = false;
  /** Held fingerprints missing from the last look. */
  private missing = new Set<string>();
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
      return;
    }
    this.leader = await this.options.store.lease(HELD_ALERTS_LEASE, this.holder, this.intervalMs * 3).catch(() => false);
    if (!this.leader) {
      this.missing.clear();
      return;
    }
    let firing: Set<string>;
    try {
      firing = await this.options.client.firingFingerprints();
      this.lastError = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError) this.options.logger.warn({ err: message }, "listing Alertmanager's alerts failed; held alerts are checked again later");
      this.lastError = message;
      return;
    }
    const missing = new Set(held.filter((fingerprint) => !firing.has(fingerprint)));
    const gone = [...missing].filter((fingerprint) => this.missing.has(fingerprint)).sort();
    this.missing = missing;
    if (gone.length === 0) return;
    const resolved: StoredAlert[] = gone.map((fingerprint) => ({ fingerprint, status: 'resolved', startsAt: null, endsAt: null, components: [] }));
    try {
      await this.options.sink.alerts(resolved);
      for (const fingerprint of gone) this.missing.delete(fingerprint);
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
