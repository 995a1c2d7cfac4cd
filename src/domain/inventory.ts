import type { AlertMatcher } from './alert-matchers.js';
import type { PagePolicy } from './availability.js';
import { OPERATIONAL } from './impact.js';
import { ledgerOf } from './ledger.js';
import { emptyPageStats, emptyPatch, type ComponentRecord, type EntityKey, type Page, type Patch, type State } from './state.js';

// Status pages and components declared in STATUS_PAGES_FILE, and what they add to the state:
// records that live in memory only, so the exporter knows a page and its components before the
// first webhook, while every webhook still decides. Pure: the file is read in src/inventory/.

export type DeclaredComponent = {
  uuid: string;
  name: string;
  /** `alert_matchers`: the alerts this component explains (all must match); absent or empty: none. */
  alertMatchers?: readonly AlertMatcher[];
};

export type DeclaredPage = {
  /** The status_page label. */
  id: string;
  /** StatusMate's page uuid, lower-cased; events naming it are labelled `id`. */
  uuid: string | null;
  name: string | null;
  components: DeclaredComponent[];
  /** `availability:`: this page's accounting policy over the environment's (see availability.ts). */
  availability?: PagePolicy;
};

/**
 * The memory-only records that make `state` show every declared page and component: a page the
 * state lacks, with every counter and histogram at 0 since its first declaration the folded ledger
 * has (declaredSince), else since `now`; a component the state lacks, operational
 * under its declared name, with no update of its own, so that whatever a webhook says of it
 * decides. It is operational since the folded ledger says (its declaration, which the log keeps,
 * so every start agrees: operationalSince), else since `now` (the start-up or reload that
 * declares it; the fold moves it to the declaration once folded). A component the
 * state has keeps its impact and times (webhooks win); it takes the declared name only when no
 * webhook ever named it (its name is its uuid). Components the file does not declare are untouched.
 *
 * Applied with applyPatch and never committed; re-applied after every load of the store.
 */
export function inventoryPatch(state: State, pages: readonly DeclaredPage[], now: number): Patch {
  const patch = emptyPatch();
  for (const page of pages) {
    const known = state.pages.get(page.id);
    if (!known) patch.pages.push(emptyPageStats(page.id, declaredSince(state, page.id) ?? now));
    for (const component of page.components) {
      const current = known?.components.get(component.uuid);
      if (!current) {
        patch.components.push({
          statusPage: page.id,
          uuid: component.uuid,
          name: component.name,
          impact: OPERATIONAL,
          changedAt: operationalSince(state, page.id, component.uuid) ?? now,
          // No direct update and nothing cleared: the first webhook about it is never stale.
          direct: null,
          cleared: null,
        });
      } else if (current.name === current.uuid && component.name !== current.uuid) {
        patch.components.push({ ...current, name: component.name });
      }
    }
  }
  return patch;
}

/**
 * When (seconds) the folded ledger first knew a component of a page, for a page the state lacks:
 * its first declaration (no event named the page, or the state would have it); undefined when
 * the ledger knows none.
 */
export function declaredSince(state: State, statusPage: string): number | undefined {
  let first: number | undefined;
  for (const component of state.ledger.pages.get(statusPage)?.values() ?? []) if (first === undefined || component.sinceMs < first) first = component.sinceMs;
  return first === undefined ? undefined : first / 1000;
}

/**
 * Since when (seconds) the folded ledger has a component operational: the first of the change
 * points its impact has not changed since, not the open interval's start, which a point booked
 * where the impact stayed moves (an event naming the component that changed its record but not its
 * impact, re-booked where its created_at falls), while the record the process holds kept its last
 * change; undefined when it does not know it so.
 */
export function operationalSince(state: State, statusPage: string, uuid: string): number | undefined {
  const ledger = ledgerOf(state.ledger, statusPage, uuid);
  if (ledger?.impact !== OPERATIONAL) return undefined;
  const { ms, impacts } = ledger.changes;
  let first = ms.length - 1;
  while (first > 0 && impacts[first - 1] === OPERATIONAL) first -= 1;
  return first >= 0 ? (ms[first] as number) / 1000 : ledger.openMs / 1000;
}

/**
 * Whether a component's impact is only what the file assumed: nothing any webhook sent has set
 * it, held it or ended a hold on it. Only meaningful for declared components.
 */
export function isAssumed(component: ComponentRecord, page: Page): boolean {
  return component.direct === null && component.cleared === null && !page.holders.has(component.uuid);
}

/**
 * Records that a process holds on top of the folded state, never appended to the log: the
 * declared pages of its own status pages file (see inventoryPatch).
 */
export type Overlay = (state: State) => Patch;

// ---- declarations (issue 20) ----------------------------------------------------------------
//
// The records above are memory-only, but the availability ledger is folded from the log: so that
// a declared component counts as operational from its declaration, the same on every replica and
// across restarts, a process appends what its file declares to the log (a `declare` entry, see
// src/log/entry.ts), once its fold has caught up, listing only what its folded ledger does not
// know yet. The fold books each named component the ledger does not know as first known at the
// entry's log time, operational (declareComponent); one it knows is untouched, so replicas that
// each append one converge, the first declaration's time winning, and a restart with the same
// file appends nothing.

/** What a `declare` entry names: per status page (its label), component uuids. */
export type Declaration = { statusPage: string; uuids: string[] };

/** The declared components `state`'s folded ledger does not know yet, per page, in the file's order. */
export function undeclaredComponents(state: State, pages: readonly DeclaredPage[]): Declaration[] {
  const out: Declaration[] = [];
  for (const page of pages) {
    const uuids = page.components.filter((component) => !ledgerOf(state.ledger, page.id, component.uuid)).map((component) => component.uuid);
    if (uuids.length > 0) out.push({ statusPage: page.id, uuids });
  }
  return out;
}

/** Declarations cut into pieces of at most `max` uuids each (pages split across pieces as needed). */
export function chunkDeclarations(declarations: readonly Declaration[], max: number): Declaration[][] {
  const chunks: Declaration[][] = [];
  let chunk: Declaration[] = [];
  let size = 0;
  for (const { statusPage, uuids } of declarations) {
    for (let from = 0; from < uuids.length;) {
      const take = Math.min(max - size, uuids.length - from);
      chunk.push({ statusPage, uuids: uuids.slice(from, from + take) });
      size += take;
      from += take;
      if (size === max) {
        chunks.push(chunk);
        chunk = [];
        size = 0;
      }
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * The fold of a `declare` entry: how many components it books, how many it could not (the ledger
 * holding `maxComponents` components or `maxStatusPages` pages already: `overLimit`), and the patch
 * that books them.
 */
export type DeclareDecision = { declared: number; overLimit: number; patch: Patch };

/**
 * What a `declare` entry folded at log time `at` changes: the components its ledger does not know,
 * booked as first known at `at` (the patch's ledgerDeclare); nothing else. Bounded like the state,
 * on folded data alone (the same on every replica): the ledger takes no component past
 * `maxComponents` and no page past `maxStatusPages` (the appender's limits).
 */
export function declarationPatch(
  state: State,
  declarations: readonly Declaration[],
  at: number,
  limits: { maxComponents: number; maxStatusPages: number },
): DeclareDecision {
  const { ledger } = state;
  let components = 0;
  for (const page of ledger.pages.values()) components += page.size;
  const pages = new Set(ledger.pages.keys());
  const books: EntityKey[] = [];
  const seen = new Set<string>();
  let overLimit = 0;
  for (const { statusPage, uuids } of declarations) {
    for (const uuid of uuids) {
      const key = `${statusPage}\0${uuid}`;
      if (seen.has(key) || ledgerOf(ledger, statusPage, uuid)) continue;
      seen.add(key);
      // Past a bound nothing more is booked: counted, so that the appender can say so.
      if (components >= limits.maxComponents || (!pages.has(statusPage) && pages.size >= limits.maxStatusPages)) {
        overLimit += 1;
        continue;
      }
      pages.add(statusPage);
      books.push({ statusPage, uuid });
      components += 1;
    }
  }
  const patch = emptyPatch();
  if (books.length > 0) {
    patch.ledgerAt = at;
    patch.ledgerDeclare = books;
  }
  return { declared: books.length, overLimit, patch };
}
