import { AlertmanagerClient } from './alertmanager/client.js';
import { HeldAlertsCheck } from './alertmanager/held-alerts.js';
import { SilenceReconciler } from './alertmanager/reconciler.js';
import { createApps, type AppParts, type Apps } from './app.js';
import type { AlertmanagerConfig } from './config.js';
import type { State } from './domain/state.js';
import type { EventSink, StoreHealth } from './ingest/sink.js';
import type { LiveInventory } from './inventory/live.js';
import { FoldLoop, type FoldLoopOptions } from './log/fold-loop.js';
import { stateBackups } from './log/state-backups.js';
import { Telemetry, type BuildInfo } from './metrics/telemetry.js';
import type { AlertmanagerReceiverOptions } from './webhook/alertmanager.js';
import { BodyBudget } from './webhook/body-budget.js';
import type { WebhookOptions } from './webhook/handler.js';

/**
 * The fold loop's options (its store not yet opened, and closed by `close`), less the overlay and
 * the declared pages, which come from the inventory; and what the HTTP apps need.
 */
export type AssembleOptions = Omit<FoldLoopOptions, 'overlay' | 'declared'> & {
  webhook: WebhookOptions;
  separateMetrics: boolean;
  build: BuildInfo;
  /** The declared status pages (STATUS_PAGES_FILE): webhook access, the landing page, reloads. */
  inventory: LiveInventory;
  /** The availability API's policy and the most days a report spans (LEDGER_RETENTION_DAYS + 1). */
  availability?: AppParts['availability'];
  /** ALERTMANAGER_URL and the rest: maintenances drive silences. */
  alertmanager?: AlertmanagerConfig | undefined;
  /** POST /alertmanager (ALERTMANAGER_WEBHOOK_TOKEN); without it, the endpoint answers 404. */
  alertReceiver?: AlertmanagerReceiverOptions;
  /**
   * Where GET /-/backup writes the copy of a store that is not one file (Redis, memory) before it
   * is sent (state-backups.ts): beside SQLITE_PATH. Without it, such a store has no backups.
   */
  backupDirectory?: string;
  /** The bytes of request bodies held at once (BODIES_IN_FLIGHT_BYTES unless given: a test's smaller one). */
  bodiesInFlightBytes?: number;
};

export type Assembled = {
  apps: Apps;
  state: State;
  sink: EventSink;
  health: StoreHealth;
  fold: FoldLoop;
  silences: SilenceReconciler | undefined;
  /** The request bodies the apps hold at once. */
  bodies: BodyBudget;
  /**
   * Ends the answers that could hold a shutdown for as long as a client likes (a backup being
   * sent: it is cut, and its client asks the next exporter). Call before the servers close.
   */
  beginShutdown(): void;
  /** Answers every event accepted, writes a last snapshot, closes the store. Call after the servers stopped. */
  close(): Promise<void>;
};

/**
 * Wires a store into the fold loop and the HTTP apps, with telemetry: the one place that does,
 * used by server.ts and by the tests' app helper alike. Opens the store (rejecting with a
 * StoreError when it cannot be served at all) and loads the state. Never listens.
 */
export async function assemble(options: AssembleOptions): Promise<Assembled> {
  const { logger, inventory } = options;
  const fold = new FoldLoop({ ...options, overlay: inventory.overlay, declared: () => inventory.current().pages });
  await fold.start();
  inventory.attach((overlay) => fold.reseed(overlay));
  const telemetry = new Telemetry(fold, options.build, () => fold.stats());
  const shutdown = new AbortController();
  const bodies = new BodyBudget(options.bodiesInFlightBytes);
  const apps = createApps(
    {
      logger,
      health: fold,
      ingestor: fold,
      telemetry,
      webhook: options.webhook,
      inventory,
      about: { version: options.build.version, store: options.store.kind },
      backups: options.store.backups ?? (options.backupDirectory === undefined ? undefined : stateBackups(fold, options.backupDirectory)),
      shutdown: shutdown.signal,
      ...(options.availability ? { availability: options.availability } : {}),
      alertmanager: { sink: fold, options: options.alertReceiver ?? { tokens: [] } },
      bodies,
    },
    { separateMetrics: options.separateMetrics },
  );
  let silences: SilenceReconciler | undefined;
  let heldAlerts: HeldAlertsCheck | undefined;
  if (options.alertmanager) {
    const { urls, auth, marginSeconds, from } = options.alertmanager;
    const client = new AlertmanagerClient({ urls, auth, onRequest: (operation, outcome) => telemetry.alertmanagerRequest(operation, outcome) });
    silences = new SilenceReconciler({
      client,
      state: fold.state,
      pages: () => inventory.current().pages,
      silences: { marginSeconds, from },
      store: options.store,
      caughtUp: () => fold.ready(),
      logger,
    });
    const reconciler = silences;
    telemetry.registerSilences(() => reconciler.stats());
    silences.start();
    // With the receiver on too: alerts that resolved under a silence are let go of (held-alerts.ts).
    if ((options.alertReceiver?.tokens.length ?? 0) > 0 && options.alertmanager.alertsCheckSeconds > 0) {
      heldAlerts = new HeldAlertsCheck({ client, sink: fold, store: options.store, logger, intervalMs: options.alertmanager.alertsCheckSeconds * 1000 });
      heldAlerts.start();
    }
  }
  const beginShutdown = () => shutdown.abort();
  const close = async () => {
    beginShutdown();
    await heldAlerts?.stop();
    await silences?.stop();
    await fold.close();
  };
  return { apps, state: fold.state, sink: fold, health: fold, fold, silences, bodies, beginShutdown, close };
}
