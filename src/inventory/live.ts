import { Gauge, type Registry } from 'prom-client';
import { inventoryPatch } from '../domain/inventory.js';
import type { State } from '../domain/state.js';
import type { Overlay } from '../domain/inventory.js';
import type { Logger } from '../logger.js';
import { LABEL, METRIC } from '../metrics/names.js';
import { createWebhookAccess, type WebhookAccess } from '../webhook/access.js';
import { InventoryError, loadInventory, type Inventory } from './file.js';

export type ReloadResult = { ok: true; statusPages: number; components: number } | { ok: false; error: string };

export type LiveInventoryOptions = {
  /** STATUS_PAGES_FILE, or undefined. */
  file: string | undefined;
  /** Where `token_env` variables are read (process.env). */
  env: NodeJS.ProcessEnv;
  /** WEBHOOK_TOKEN: tokens for every page. */
  allPagesTokens: readonly string[];
  defaultStatusPage: string;
  logger: Logger;
  now?: () => number;
};

/** What a reload rebuilds memory with: the ingestor's reseed. */
type Reseed = (overlay: Overlay) => Promise<void>;

/** What an inventory declares, as one comparable string. */
const fingerprint = (inventory: Inventory) => JSON.stringify([inventory.pages, [...inventory.pageTokens]]);

const componentCount = (inventory: Inventory) => inventory.pages.reduce((sum, page) => sum + page.components.length, 0);

/**
 * The inventory in force, and its reloading (SIGHUP, POST /-/reload). A reload that fails keeps
 * the inventory in force and says why, in the log and in the answer, and sets
 * statusmate_config_last_reload_successful to 0 until a reload succeeds.
 */
export class LiveInventory {
  private inventory: Inventory;
  private access: WebhookAccess;
  private lastReloadOk = true;
  private lastSuccessAt: number;
  /** When the inventory in force was loaded: the "since" of its declared components. */
  private declaredAt: number;
  private reseed: Reseed | undefined;
  private readonly now: () => number;
  private reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, statusPages: 0, components: 0 });

  constructor(
    private readonly options: LiveInventoryOptions,
    initial: Inventory,
  ) {
    this.now = options.now ?? (() => Date.now() / 1000);
    this.inventory = initial;
    this.access = createWebhookAccess(options.allPagesTokens, initial, options.defaultStatusPage);
    this.lastSuccessAt = this.now();
    this.declaredAt = this.lastSuccessAt;
  }

  /** Reads the file (throws an InventoryError naming the problem) and builds the live inventory on it. */
  static load(options: LiveInventoryOptions): LiveInventory {
    return new LiveInventory(options, loadInventory(options.file, options.env));
  }

  current(): Inventory {
    return this.inventory;
  }

  webhookAccess = (): WebhookAccess => this.access;

  /** The ingestor's overlay: the declared pages and components of the inventory in force. */
  overlay: Overlay = (state: State) => inventoryPatch(state, this.inventory.pages, this.declaredAt);

  /** Gives the reload a way to rebuild memory under the new inventory (the ingestor, once built). */
  attach(reseed: Reseed): void {
    this.reseed = reseed;
  }

  /** Reloads the file. Reloads run one after another. */
  reload(): Promise<ReloadResult> {
    const next = () => this.reloadNow();
    this.reloading = this.reloading.then(next, next);
    return this.reloading;
  }

  private async reloadNow(): Promise<ReloadResult> {
    let next: Inventory;
    try {
      next = loadInventory(this.options.file, this.options.env);
    } catch (error) {
      if (!(error instanceof InventoryError)) throw error;
      this.lastReloadOk = false;
      this.options.logger.error({ file: this.options.file, error: error.message }, 'reload failed; the status pages in force are kept');
      return { ok: false, error: error.message };
    }
    // An unchanged file costs no reload of the store: /-/reload may be reachable from outside
    // when METRICS_PORT is unset, and must not be a way to make the exporter reread its state.
    const changed = fingerprint(next) !== fingerprint(this.inventory);
    this.inventory = next;
    this.access = createWebhookAccess(this.options.allPagesTokens, next, this.options.defaultStatusPage);
    if (changed) {
      this.declaredAt = this.now();
      await this.reseed?.(this.overlay);
    }
    this.lastReloadOk = true;
    this.lastSuccessAt = this.now();
    const result = { ok: true as const, statusPages: next.pages.length, components: componentCount(next) };
    this.options.logger.info({ file: this.options.file, status_pages: result.statusPages, components: result.components }, 'status pages reloaded');
    return result;
  }

  /** statusmate_status_page_info and the reload health, read at scrape time. */
  register(registry: Registry): void {
    const registers = [registry];
    // prom-client calls collect() with the gauge as `this`; arrows keep `this` the LiveInventory
    // and name the gauge instead.
    const info: Gauge = new Gauge({
      name: METRIC.statusPageInfo,
      help: 'One series per declared status page, mapping its status_page label to its StatusMate uuid and name; always 1.',
      labelNames: [LABEL.statusPage, LABEL.statusPageUuid, LABEL.name],
      registers,
      collect: () => {
        info.reset();
        for (const page of this.inventory.pages) {
          info.set({ [LABEL.statusPage]: page.id, [LABEL.statusPageUuid]: page.uuid ?? '', [LABEL.name]: page.name ?? page.id }, 1);
        }
      },
    });
    const reloadOk: Gauge = new Gauge({
      name: METRIC.configReloadSuccessful,
      help: 'Whether the last reload of STATUS_PAGES_FILE succeeded (1) or failed (0).',
      registers,
      collect: () => {
        reloadOk.set(this.lastReloadOk ? 1 : 0);
      },
    });
    const successTime: Gauge = new Gauge({
      name: METRIC.configReloadSuccessTime,
      help: 'When STATUS_PAGES_FILE was last loaded successfully (start-up or reload), in Unix seconds.',
      registers,
      collect: () => {
        successTime.set(this.lastSuccessAt);
      },
    });
  }
}
