import { ConfigError, inventoryLimitsOf, loadConfig, unknownVariables } from '../config.js';
import { alertmanagerWithoutMatchers, NO_TOKEN_WARNING, pagesWithoutToken, shortTokens } from '../config-warnings.js';
import { InventoryError } from '../inventory/file.js';
import { LiveInventory } from '../inventory/live.js';
import { createLogger, lineDestination } from '../logger.js';
import { parseFlags, UsageError, type Io } from './io.js';

export const CHECK_USAGE = `statusmate-exporter check [FILE] [--without-tokens]
  Checks what the exporter would start with, without starting it: the environment variables,
  as \`serve\` reads them, and the status pages file (FILE, or STATUS_PAGES_FILE), by the rules a
  start and a reload apply, with the same messages. Exit 0 when a start would take them (a
  misspelt variable is a warning, as at a start), 1 with the problem otherwise.
  --without-tokens  a page's token_env variable may be unset here (a CI job without the
                    deployment's secrets): the file is checked, that page's tokens are not`;

/** What stands in for a token_env variable unset under --without-tokens: a token the rules accept. */
const PLACEHOLDER_TOKEN = 'statusmate-check-placeholder';

/**
 * The environment a `token_env` variable is read from under --without-tokens: a page's variable
 * that is unset reads as a placeholder (and is noted in `unset`), so the rest of the file is
 * checked as a start would. Only names a page may use (ending in _TOKEN), never the exporter's
 * own WEBHOOK_TOKEN or ALERTMANAGER_WEBHOOK_TOKEN, which the environment check reads as they are.
 */
function withoutTokens(env: NodeJS.ProcessEnv, unset: Set<string>): NodeJS.ProcessEnv {
  const own = new Set(['WEBHOOK_TOKEN', 'ALERTMANAGER_WEBHOOK_TOKEN']);
  return new Proxy(env, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name);
      if (typeof name !== 'string' || !name.endsWith('_TOKEN') || own.has(name)) return value;
      if (typeof value === 'string' && value.trim().length > 0) return value;
      unset.add(name);
      return PLACEHOLDER_TOKEN;
    },
  });
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** `statusmate-exporter check [FILE] [--without-tokens]`: 0 when a start would take the configuration, 1 otherwise. */
export function check(args: string[], io: Io, env: NodeJS.ProcessEnv = process.env): number {
  const { positionals, values } = parseFlags({ args, options: { 'without-tokens': { type: 'boolean' } }, strict: true, allowPositionals: true });
  const [given, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError('check takes at most one status pages file: statusmate-exporter check [FILE]');
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(error.message);
    return 1;
  }
  const file = given ?? config.statusPagesFile;
  // The start's own path (server.ts): the same reading, limits, token rules and page checks.
  const load = (tokenEnv: NodeJS.ProcessEnv) =>
    LiveInventory.load({
      file,
      env: tokenEnv,
      allPagesTokens: config.webhookTokens,
      defaultStatusPage: config.defaultStatusPage,
      learnStatusPages: config.learnStatusPages,
      // What a start would log at warn about the file reaches stderr, as problems do.
      logger: createLogger('warn', lineDestination(2)),
      limits: inventoryLimitsOf(config),
    });
  const unset = new Set<string>();
  let live;
  try {
    live = load(values['without-tokens'] === true ? withoutTokens(env, unset) : env);
  } catch (error) {
    if (!(error instanceof InventoryError)) throw error;
    let hint = '';
    if (values['without-tokens'] !== true) {
      // A file that holds but for unset token variables: a CI job without the secrets, most likely.
      try {
        load(withoutTokens(env, unset));
        if (unset.size > 0) hint = ` (check --without-tokens checks the rest of the file without ${[...unset].sort().join(', ')})`;
      } catch (again) {
        if (!(again instanceof InventoryError)) throw again;
      }
    }
    io.err(`${error.message}${hint}`);
    return 1;
  }
  const inventory = live.current();
  for (const { name, suggestion } of unknownVariables(env, inventory.tokenEnvs)) {
    io.err(`warning: ${name} is not a statusmate-exporter setting and is ignored${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`);
  }
  const tokens = live.webhookAccess().tokens.required;
  if (!tokens) io.err(`warning: ${NO_TOKEN_WARNING}`);
  const guessable = shortTokens(config);
  if (guessable !== undefined) io.err(`warning: ${guessable}`);
  const unmatched = alertmanagerWithoutMatchers(config, inventory);
  if (unmatched !== undefined) io.err(`warning: ${unmatched}`);
  const closed = pagesWithoutToken(config.webhookTokens, inventory);
  if (closed !== undefined) io.err(`warning: ${closed}`);
  const store = config.store === 'sqlite' ? `sqlite at ${config.sqlitePath}` : config.store;
  io.out(`the environment: ok (STORE=${store}; webhooks ${tokens ? 'need a token' : 'need no token'})`);
  if (file === undefined) {
    io.out('no STATUS_PAGES_FILE: status pages and components are learnt from webhooks');
    return 0;
  }
  const components = inventory.pages.reduce((sum, page) => sum + page.components.length, 0);
  io.out(`STATUS_PAGES_FILE ${file}: ok, ${plural(inventory.pages.length, 'status page')} and ${plural(components, 'component')}`);
  // Both are in the file's order of the pages that have a token_env (parseInventory).
  const pagesWithTokens = [...inventory.pageTokens.keys()];
  const tokenEnvOf = new Map(pagesWithTokens.map((id, index) => [id, inventory.tokenEnvs[index]]));
  for (const page of inventory.pages) {
    const tokenEnv = tokenEnvOf.get(page.id);
    const token = tokenEnv === undefined ? '' : unset.has(tokenEnv) ? `; its token from ${tokenEnv}, unset here: not checked` : `; its token from ${tokenEnv}`;
    io.out(`  ${page.id}: ${plural(page.components.length, 'component')}${token}`);
  }
  return 0;
}
