import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import { pagesWithoutToken } from '../config-warnings.js';
import { inventoryPatch } from '../domain/inventory.js';
import type { State } from '../domain/state.js';
import type { Overlay } from '../domain/inventory.js';
import type { Logger } from '../logger.js';
import { LABEL, METRIC } from '../metrics/names.js';
import { parseOffThread } from './parse-off-thread.js';
import { createWebhookAccess, type WebhookAccess } from '../webhook/access.js';
import {
  DEFAULT_INVENTORY_LIMITS,
  EMPTY_INVENTORY,
  InventoryError,
  maxFileBytes,
  parseInventory,
  readInventoryFile,
  type Inventory,
  type InventoryLimits,
} from './file.js';

/** A reload's result; `noFile` when STATUS_PAGES_FILE is not set (nothing was read, and nothing failed). */
export type ReloadResult = { ok: true; statusPages: number; components: number } | { ok: false; error: string; noFile?: true };

const NO_FILE = 'STATUS_PAGES_FILE is not set: there is no file to reload';

export type LiveInventoryOptions = {
  /** STATUS_PAGES_FILE, or undefined. */
  file: string | undefined;
  /** Where `token_env` variables are read (process.env). */
  env: NodeJS.ProcessEnv;
  /** WEBHOOK_TOKEN: tokens for every page. */
  allPagesTokens: readonly string[];
  defaultStatusPage: string;
  /** LEARN_STATUS_PAGES: with a file in force, take events for pages it does not declare. */
  learnStatusPages?: boolean;
  logger: Logger;
  /** MAX_STATUS_PAGES and MAX_COMPONENTS: a file declaring more is refused. */
  limits?: InventoryLimits;
  now?: () => number;
  /** The parser of a reload (tests count its calls); parseOffThread. Start-up parses on the main thread. */
  parse?: Parser;
};

type Parser = (text: string, file: string, env: NodeJS.ProcessEnv, limits: InventoryLimits) => Inventory | Promise<Inventory>;

/** What a reload rebuilds memory with: the ingestor's reseed. */
type Reseed = (overlay: Overlay) => Promise<void>;

/** What an inventory declares, as one comparable string. */
const fingerprint = (inventory: Inventory) => JSON.stringify([inventory.pages, [...inventory.pageTokens]]);

/** The token variables a file can name (token_env must end in _TOKEN), hashed. */
function tokensDigest(env: NodeJS.ProcessEnv): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(env).sort()) {
    if (name.endsWith('_TOKEN')) hash.update(`\0${name}=${env[name] ?? ''}`);
  }
  return hash.digest('hex');
}

/**
 * What a reload would read, from cheapest to dearest to know: the file's identity and times
 * (a stat), the token variables, and the file's bytes. The same stat and tokens, or the same
 * bytes and tokens, make the same inventory: no parse needed.
 */
type Source = { stat: string | undefined; tokens: string; bytes: string };

function statOf(file: string): string | undefined {
  try {
    const stat = statSync(file, { bigint: true });
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch {
    return undefined; // the read that follows names the problem
  }
}

const sourceOf = (file: string, bytes: Buffer, env: NodeJS.ProcessEnv, stat = statOf(file)): Source => ({
  stat,
  tokens: tokensDigest(env),
  bytes: createHash('sha256').update(bytes).digest('hex'),
});

const sameStat = (a: Source | undefined, stat: string | undefined, tokens: string) =>
  a !== undefined && stat !== undefined && a.stat === stat && a.tokens === tokens;
const sameBytes = (a: Source | undefined, b: Source) => a !== undefined && a.bytes === b.bytes && a.tokens === b.tokens;

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
  /** What the inventory in force was read from. */
  private source: Source | undefined;
  /** What the last file refused was read from, and why: retrying it costs no parse either. */
  private refused: { source: Source; error: string } | undefined;
  /** A reload asked for but not started yet: later ones join it, as they would read the same file. */
  private queued: Promise<ReloadResult> | undefined;
  private readonly limits: InventoryLimits;
  private readonly parse: Parser;

  constructor(
    private readonly options: LiveInventoryOptions,
    initial: Inventory,
    source?: Source,
  ) {
    this.limits = options.limits ?? DEFAULT_INVENTORY_LIMITS;
    this.parse = options.parse ?? parseOffThread;
    this.source = source;
    this.now = options.now ?? (() => Date.now() / 1000);
    this.inventory = initial;
    this.access = createWebhookAccess(options.allPagesTokens, initial, options.defaultStatusPage, { learnStatusPages: options.learnStatusPages ?? false });
    this.lastSuccessAt = this.now();
    this.declaredAt = this.lastSuccessAt;
  }

  /** Reads the file (throws an InventoryError naming the problem) and builds the live inventory on it. */
  static load(options: LiveInventoryOptions): LiveInventory {
    if (options.file === undefined) return new LiveInventory(options, EMPTY_INVENTORY);
    const limits = options.limits ?? DEFAULT_INVENTORY_LIMITS;
    const stat = statOf(options.file);
    const bytes = readInventoryFile(options.file, maxFileBytes(limits));
    // Nothing is served yet: the main thread parses, and a sync parser is all start-up takes.
    const parse = options.parse ?? parseInventory;
    const inventory = parse(bytes.toString('utf8'), options.file, options.env, limits);
    if (inventory instanceof Promise) throw new Error('LiveInventory.load needs a synchronous parser');
    return new LiveInventory(options, inventory, sourceOf(options.file, bytes, options.env, stat));
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

  /** Reloads the file. Reloads run one after another; one asked for while another waits joins it. */
  reload(): Promise<ReloadResult> {
    if (this.queued) return this.queued;
    const next = () => {
      this.queued = undefined;
      return this.reloadNow();
    };
    const queued = this.reloading.then(next, next);
    this.queued = queued;
    this.reloading = queued;
    return queued;
  }

  private failed(error: string): ReloadResult {
    this.lastReloadOk = false;
    this.options.logger.error({ file: this.options.file, error }, 'reload failed; the status pages in force are kept');
    return { ok: false, error };
  }

  private succeeded(next: Inventory, changed: boolean): ReloadResult {
    this.lastReloadOk = true;
    this.lastSuccessAt = this.now();
    const result = { ok: true as const, statusPages: next.pages.length, components: componentCount(next) };
    this.options.logger.info({ file: this.options.file, status_pages: result.statusPages, components: result.components, changed }, 'status pages reloaded');
    return result;
  }

  private async reloadNow(): Promise<ReloadResult> {
    const file = this.options.file;
    if (file === undefined) {
      // Not a failure (statusmate_config_last_reload_successful stays 1), but not a reload either:
      // an operator who sends one expects a file, and is told there is none.
      this.options.logger.warn(NO_FILE);
      return { ok: false, error: NO_FILE, noFile: true };
    }
    // The same file and tokens cost a stat and a hash of the tokens; the same bytes, a read and a
    // hash; never a parse: /-/reload may be asked for often, and by someone the file is not theirs.
    const stat = statOf(file);
    const tokens = tokensDigest(this.options.env);
    if (sameStat(this.source, stat, tokens)) return this.succeeded(this.inventory, false);
    if (this.refused && sameStat(this.refused.source, stat, tokens)) return this.failed(this.refused.error);
    let bytes: Buffer;
    try {
      bytes = readInventoryFile(file, maxFileBytes(this.limits));
    } catch (error) {
      if (!(error instanceof InventoryError)) throw error;
      return this.failed(error.message);
    }
    const source = sourceOf(file, bytes, this.options.env, stat);
    if (sameBytes(this.source, source)) {
      this.source = source;
      return this.succeeded(this.inventory, false);
    }
    if (this.refused && sameBytes(this.refused.source, source)) {
      this.refused = { source, error: this.refused.error };
      return this.failed(this.refused.error);
    }

    let next: Inventory;
    try {
      next = await this.parse(bytes.toString('utf8'), file, this.options.env, this.limits);
    } catch (error) {
      if (!(error instanceof InventoryError)) throw error;
      this.refused = { source, error: error.message };
      return this.failed(error.message);
    }
    const access = createWebhookAccess(this.options.allPagesTokens, next, this.options.defaultStatusPage, {
      learnStatusPages: this.options.learnStatusPages ?? false,
    });
    if (this.access.tokens.required && !access.tokens.required) {
      // A half-written file or an edit that lost the last token_env must not open every page:
      // turning authentication off takes a restart, which warns.
      const error = `STATUS_PAGES_FILE ${file}: refused: it names no token_env and WEBHOOK_TOKEN is unset, so webhooks would be accepted without any token; restart the exporter to run without a token`;
      this.refused = { source, error };
      return this.failed(error);
    }
    // An unchanged inventory costs no reload of the store: /-/reload may be reachable from outside
    // and must not be a way to make the exporter reread its state.
    const changed = fingerprint(next) !== fingerprint(this.inventory);
    this.inventory = next;
    this.access = access;
    this.source = source;
    this.refused = undefined;
    if (changed) {
      this.declaredAt = this.now();
      await this.reseed?.(this.overlay);
      // As the start warns (server.ts): a page the edit left without a token opens to nobody.
      const closed = pagesWithoutToken(this.options.allPagesTokens, next);
      if (closed !== undefined) this.options.logger.warn(closed);
    }
    return this.succeeded(next, changed);
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
