import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { AlertMatcherError, MAX_ALERT_MATCHERS, matchesEmpty, parseAlertMatcher, type AlertMatcher } from '../domain/alert-matchers.js';
import { pagePolicySchema } from '../domain/availability.js';
import type { DeclaredPage } from '../domain/inventory.js';
import { cutLabel, MAX_LABEL_LENGTH } from '../domain/labels.js';
import { unusableToken } from '../webhook/token-scope.js';
import { issueWords } from '../issue-words.js';

// STATUS_PAGES_FILE: the status pages and components an operator declares, read at start-up and
// on every reload. YAML (JSON is YAML too). Unknown keys are refused, so a typo such as `tokn_env`
// is an error rather than a silently open page.

/** What the exporter takes from the file. */
export type Inventory = {
  /** The file it came from; undefined when STATUS_PAGES_FILE is unset. */
  file: string | undefined;
  pages: DeclaredPage[];
  /** Tokens accepted for one page alone, by page id (read from each page's `token_env`). */
  pageTokens: Map<string, string[]>;
  /** The variables named by `token_env`: known to the exporter, though not in its configuration. */
  tokenEnvs: string[];
};

export const EMPTY_INVENTORY: Inventory = { file: undefined, pages: [], pageTokens: new Map(), tokenEnvs: [] };

export class InventoryError extends Error {
  override name = 'InventoryError';
}

/** How much a status pages file may declare: MAX_STATUS_PAGES and MAX_COMPONENTS, and the bytes they take. */
export type InventoryLimits = { maxStatusPages: number; maxComponents: number };

/** The defaults of MAX_STATUS_PAGES and MAX_COMPONENTS (config.ts). */
export const DEFAULT_INVENTORY_LIMITS: InventoryLimits = { maxStatusPages: 100, maxComponents: 10_000 };

/**
 * The largest file read, from the limits: room for a page of 4 KiB each and a component of 1 KiB
 * each (a uuid and a 200-character name with the YAML around them take under 300, leaving room
 * for a few alert_matchers), plus 64 KiB of comments. A file past it is refused before it is read
 * whole, let alone parsed.
 */
export const maxFileBytes = (limits: InventoryLimits): number => 64 * 1024 + 4096 * limits.maxStatusPages + 1024 * limits.maxComponents;

/** What a page id may hold: it becomes a label value, a `?status_page=` value and a log field. */
const ID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** token_env names a variable meant for a token, so that a typo or a paste (PATH, HOME) never turns a value into a token. */
const TOKEN_ENV_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*_TOKEN$/;
/** Aliases a file may expand: enough for sharing a few lists, too few for a billion laughs. */
const MAX_ALIASES = 100;

const label = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(MAX_LABEL_LENGTH, { error: `must be at most ${MAX_LABEL_LENGTH} characters` });
const uuid = z.guid({ error: 'must be a UUID' }).transform((value) => value.toLowerCase());

const alertMatcher = z.string().transform((text, ctx): AlertMatcher => {
  try {
    return parseAlertMatcher(text);
  } catch (error) {
    if (!(error instanceof AlertMatcherError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
    return z.NEVER;
  }
});

const componentSchema = z.strictObject({
  uuid,
  // Cut as a webhook's name is (at most 200 bytes as /metrics writes it), so that the first
  // webhook sending the same name leaves its series as they are.
  name: label.transform(cutLabel),
  alert_matchers: z
    .array(alertMatcher)
    .max(MAX_ALERT_MATCHERS, { error: `at most ${MAX_ALERT_MATCHERS} matchers` })
    // A silence that would select nearly every alert (see matchesEmpty: stricter than Alertmanager).
    .refine((matchers) => matchers.length === 0 || matchers.some((matcher) => !matchesEmpty(matcher)), {
      error: 'needs one matcher that an alert without its label does not match (like service="checkout"); these would select every alert',
    })
    .optional(),
});

const pageSchema = z.strictObject({
  id: label.regex(ID_PATTERN, { error: 'must be letters, digits, ".", "_" or "-", starting and ending with a letter or digit' }),
  uuid: uuid.optional(),
  name: label.optional(),
  token_env: z.string().regex(TOKEN_ENV_PATTERN, { error: 'must be the name of an environment variable ending in _TOKEN, like ACME_WEBHOOK_TOKEN' }).optional(),
  components: z.array(componentSchema).default([]),
  availability: pagePolicySchema.optional(),
});

function fileSchema(limits: InventoryLimits) {
  return z
    .strictObject({
      status_pages: z.array(pageSchema).max(limits.maxStatusPages, { error: `more status pages than MAX_STATUS_PAGES (${limits.maxStatusPages})` }),
    })
    .superRefine((file, ctx) => {
      const ids = new Map<string, number>();
      const uuids = new Map<string, number>();
      let components = 0;
      file.status_pages.forEach((page, index) => {
        const sameId = ids.get(page.id);
        if (sameId !== undefined) ctx.addIssue({ code: 'custom', path: ['status_pages', index, 'id'], message: `repeats the id of status_pages[${sameId}]` });
        ids.set(page.id, index);
        if (page.uuid !== undefined) {
          const sameUuid = uuids.get(page.uuid);
          if (sameUuid !== undefined)
            ctx.addIssue({ code: 'custom', path: ['status_pages', index, 'uuid'], message: `repeats the uuid of status_pages[${sameUuid}]` });
          uuids.set(page.uuid, index);
        }
        components += page.components.length;
        const seen = new Map<string, number>();
        page.components.forEach((component, c) => {
          const same = seen.get(component.uuid);
          if (same !== undefined)
            ctx.addIssue({ code: 'custom', path: ['status_pages', index, 'components', c, 'uuid'], message: `repeats the uuid of components[${same}]` });
          seen.set(component.uuid, c);
        });
      });
      // An event names its page by id or by uuid: an id that is some page's uuid would make that page unreachable.
      file.status_pages.forEach((page, index) => {
        const owner = uuids.get(page.id.toLowerCase());
        if (owner !== undefined) ctx.addIssue({ code: 'custom', path: ['status_pages', index, 'id'], message: `equals the uuid of status_pages[${owner}]` });
      });
      if (components > limits.maxComponents) {
        ctx.addIssue({ code: 'custom', path: ['status_pages'], message: `more components than MAX_COMPONENTS (${limits.maxComponents})` });
      }
    });
}

/** The node itself, or what an alias points at. */
function resolved(node: unknown, document: Document): unknown {
  return isAlias(node) ? node.resolve(document) : node;
}

/**
 * Counts pages and components on the syntax tree, before it is turned into objects and
 * validated: a file past the limits is refused for the price of its parse, not of its checking.
 */
function countProblem(document: Document, limits: InventoryLimits): string | undefined {
  const pages = resolved(document.get('status_pages', true), document);
  if (!isSeq(pages)) return undefined; // the schema names what is wrong
  if (pages.items.length > limits.maxStatusPages) {
    return `status_pages: ${pages.items.length} status pages, more than MAX_STATUS_PAGES (${limits.maxStatusPages})`;
  }
  let components = 0;
  for (const item of pages.items) {
    const page = resolved(item, document);
    if (!isMap(page)) continue;
    const list = resolved(page.get('components', true), document);
    if (isSeq(list)) components += list.items.length;
    if (components > limits.maxComponents) return `status_pages: more components than MAX_COMPONENTS (${limits.maxComponents})`;
  }
  return undefined;
}

/** "at line 3, column 7: message", from a YAML error. */
function syntaxText(error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }): string {
  const message = (error.message.split('\n', 1)[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const at = error.linePos?.[0];
  return at ? `at line ${at.line}, column ${at.col}: ${message}` : message;
}

/**
 * Where the node at `path` starts in the file, as " (at line 7, column 9)"; the deepest node the
 * path reaches when the rest is missing (a required key: the object that lacks it), or the key
 * itself when `key` names one (an unknown key). Aliases are followed, so a value shared through
 * one is placed where it is written. Empty when the path reaches no node (an empty file).
 */
function placeText(document: Document, lines: LineCounter, path: readonly PropertyKey[], key?: string): string {
  let node: unknown = document.contents;
  let start: number | undefined;
  const startOf = (at: unknown) => {
    const range = (at as { range?: [number, number, number] } | null)?.range;
    if (range !== undefined) start = range[0];
  };
  startOf(node);
  const steps: PropertyKey[] = key === undefined ? [...path] : [...path, key];
  for (const [index, step] of steps.entries()) {
    node = resolved(node, document);
    let next: unknown;
    if (isSeq(node) && typeof step === 'number') next = node.items[step];
    else if (isMap(node) && typeof step === 'string') {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === step);
      // The unknown key itself: its value may be anything, or nothing.
      if (pair !== undefined && key !== undefined && index === steps.length - 1) next = pair.key;
      else next = pair?.value;
    }
    if (next === undefined || next === null) break;
    node = next;
    startOf(resolved(node, document));
  }
  if (start === undefined) return '';
  const { line, col } = lines.linePos(start);
  return ` (at line ${line}, column ${col})`;
}

/** `status_pages[0].components[1].uuid`, as a user would point at it in the file. */
function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  return text === '' ? '(top level)' : text;
}

/**
 * What a reader of the file needs of it: everything (the exporter), or its pages and components
 * alone (seed-redis folds with them, and takes no webhook: the pages' token_env need not be set).
 */
export type InventoryUse = 'serve' | 'fold';

/**
 * Parses the text of a status pages file. `env` supplies the tokens named by `token_env` (read
 * only when `use` is 'serve'). Throws an InventoryError whose one-line message names the file and
 * the path of the first problem in it.
 */
export function parseInventory(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  limits: InventoryLimits = DEFAULT_INVENTORY_LIMITS,
  use: InventoryUse = 'serve',
): Inventory {
  const fail = (detail: string): never => {
    throw new InventoryError(`STATUS_PAGES_FILE ${file}: ${detail}`);
  };
  const lines = new LineCounter();
  const document = parseDocument(text, { uniqueKeys: true, lineCounter: lines });
  const syntax = document.errors[0];
  if (syntax) fail(`not valid YAML or JSON ${syntaxText(syntax)}`);
  const tooMany = countProblem(document, limits);
  if (tooMany !== undefined) fail(tooMany);
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    // yaml throws a ReferenceError for an alias bomb ("excessive alias count"): a problem of the file.
    fail(`not accepted: ${(error as Error).message.split('\n', 1)[0] ?? ''} (at most ${MAX_ALIASES} aliases expand)`);
  }
  const parsed = fileSchema(limits).safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      // An unknown key is placed at itself (one is enough to find the object), the rest at their value.
      const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      return `${pathText(issue.path)}: ${issueWords(issue)}${placeText(document, lines, issue.path, key)}`;
    });
    return fail(problems.join('; '));
  }
  const pageTokens = new Map<string, string[]>();
  const pages = parsed.data.status_pages.map((page, index): DeclaredPage => {
    if (page.token_env !== undefined && use === 'serve') {
      // Comma-separated like WEBHOOK_TOKEN, so a page's token rotates the same way.
      const tokens = (env[page.token_env] ?? '')
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token.length > 0);
      const place = placeText(document, lines, ['status_pages', index, 'token_env']);
      if (tokens.length === 0) fail(`status_pages[${index}].token_env: the environment variable ${page.token_env} is not set${place}`);
      const unusable = tokens.map(unusableToken).find((problem) => problem !== undefined);
      if (unusable !== undefined) fail(`status_pages[${index}].token_env: a token in ${page.token_env} ${unusable}${place}`);
      pageTokens.set(page.id, tokens);
    }
    const components = page.components.map(({ uuid, name, alert_matchers }) =>
      alert_matchers === undefined || alert_matchers.length === 0 ? { uuid, name } : { uuid, name, alertMatchers: alert_matchers },
    );
    const declared: DeclaredPage = { id: page.id, uuid: page.uuid ?? null, name: page.name ?? null, components };
    if (page.availability !== undefined) declared.availability = page.availability;
    return declared;
  });
  const tokenEnvs = parsed.data.status_pages.flatMap((page) => (page.token_env === undefined ? [] : [page.token_env]));
  return { file, pages, pageTokens, tokenEnvs };
}

/**
 * Why the file cannot be read, in words that say what to fix: a typo in the path is the usual
 * cause, and a relative path is read from the working directory, which `npm start` or a service
 * manager may have set elsewhere than the operator thinks.
 */
function unreadable(file: string, code: string | undefined): string {
  const where = isAbsolute(file) ? '' : ` (read from ${process.cwd()})`;
  if (code === 'ENOENT' || code === 'ENOTDIR') return `no such file${where}: check the path`;
  if (code === 'EACCES') return 'not readable by this user: check its permissions';
  return 'cannot be read';
}

/**
 * The bytes of STATUS_PAGES_FILE, refused (InventoryError) when larger than `maxBytes`: its size
 * is checked before it is read, and the read stops past the limit should the file grow meanwhile.
 */
export function readInventoryFile(file: string, maxBytes: number): Buffer {
  const cannot = (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InventoryError(`STATUS_PAGES_FILE ${file}: ${unreadable(file, code)} (${code ?? (error as Error).message})`);
  };
  const tooLarge = (): never => {
    throw new InventoryError(`STATUS_PAGES_FILE ${file}: larger than ${maxBytes} bytes, the most MAX_STATUS_PAGES and MAX_COMPONENTS allow`);
  };
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO opens at once, to be refused below, rather than hold the start (or the
    // check) until something writes to it; a regular file reads as without it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return cannot(error);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new InventoryError(`STATUS_PAGES_FILE ${file}: not a regular file`);
    if (stat.size > maxBytes) tooLarge();
    // One byte more than the size, to see a file that grew since: a writer is still at work.
    const buffer = Buffer.allocUnsafe(stat.size + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length === buffer.length) throw new InventoryError(`STATUS_PAGES_FILE ${file}: changed while it was read; reload again once it is written`);
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof InventoryError) throw error;
    return cannot(error);
  } finally {
    closeSync(fd);
  }
}

/** Reads and parses STATUS_PAGES_FILE; the empty inventory when it is unset. */
export function loadInventory(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  limits: InventoryLimits = DEFAULT_INVENTORY_LIMITS,
  use: InventoryUse = 'serve',
): Inventory {
  if (file === undefined) return EMPTY_INVENTORY;
  return parseInventory(readInventoryFile(file, maxFileBytes(limits)).toString('utf8'), file, env, limits, use);
}
