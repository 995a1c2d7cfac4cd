import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { DeclaredPage } from '../domain/inventory.js';
import { MAX_LABEL_LENGTH } from '../domain/labels.js';

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

const label = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(MAX_LABEL_LENGTH, { error: `must be at most ${MAX_LABEL_LENGTH} characters` });
const uuid = z.guid({ error: 'must be a UUID' }).transform((value) => value.toLowerCase());

const componentSchema = z.strictObject({ uuid, name: label });

const pageSchema = z.strictObject({
  id: label,
  uuid: uuid.optional(),
  name: label.optional(),
  token_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be the name of an environment variable, like ACME_WEBHOOK_TOKEN' })
    .optional(),
  components: z.array(componentSchema).default([]),
});

const fileSchema = z.strictObject({ status_pages: z.array(pageSchema) }).superRefine((file, ctx) => {
  const ids = new Map<string, number>();
  const uuids = new Map<string, number>();
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
    const components = new Map<string, number>();
    page.components.forEach((component, c) => {
      const same = components.get(component.uuid);
      if (same !== undefined)
        ctx.addIssue({ code: 'custom', path: ['status_pages', index, 'components', c, 'uuid'], message: `repeats the uuid of components[${same}]` });
      components.set(component.uuid, c);
    });
  });
});

/** `status_pages[0].components[1].uuid`, as a user would point at it in the file. */
function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  return text === '' ? '(top level)' : text;
}

/**
 * Parses the text of a status pages file. `env` supplies the tokens named by `token_env`.
 * Throws an InventoryError whose one-line message names the file and the path of the first
 * problem in it.
 */
export function parseInventory(text: string, file: string, env: NodeJS.ProcessEnv): Inventory {
  const fail = (detail: string): never => {
    throw new InventoryError(`STATUS_PAGES_FILE ${file}: ${detail}`);
  };
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const syntax = document.errors[0];
  if (syntax) fail(`not valid YAML or JSON: ${syntax.message.split('\n', 1)[0] ?? ''}`);
  const parsed = fileSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${pathText(issue.path)}: ${issue.message}`);
    return fail(problems.join('; '));
  }
  const pageTokens = new Map<string, string[]>();
  const pages = parsed.data.status_pages.map((page, index): DeclaredPage => {
    if (page.token_env !== undefined) {
      // Comma-separated like WEBHOOK_TOKEN, so a page's token rotates the same way.
      const tokens = (env[page.token_env] ?? '')
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token.length > 0);
      if (tokens.length === 0) fail(`status_pages[${index}].token_env: the environment variable ${page.token_env} is not set`);
      pageTokens.set(page.id, tokens);
    }
    return { id: page.id, uuid: page.uuid ?? null, name: page.name ?? null, components: page.components };
  });
  const tokenEnvs = parsed.data.status_pages.flatMap((page) => (page.token_env === undefined ? [] : [page.token_env]));
  return { file, pages, pageTokens, tokenEnvs };
}

/** Reads and parses STATUS_PAGES_FILE; the empty inventory when it is unset. */
export function loadInventory(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Inventory {
  if (file === undefined) return EMPTY_INVENTORY;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InventoryError(`STATUS_PAGES_FILE ${file}: cannot be read (${code ?? (error as Error).message})`);
  }
  return parseInventory(text, file, env);
}
