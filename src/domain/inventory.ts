import type { AlertMatcher } from './alert-matchers.js';
import type { PagePolicy } from './availability.js';
import { OPERATIONAL } from './impact.js';
import { emptyPageStats, emptyPatch, type ComponentRecord, type Page, type Patch, type State } from './state.js';

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
 * state lacks, with every counter and histogram at 0; a component the state lacks, operational
 * since `now` (the start-up or reload that declared it) under its declared name, with no update
 * of its own, so that whatever a webhook says of it decides. A component the
 * state has keeps its impact and times (webhooks win); it takes the declared name only when no
 * webhook ever named it (its name is its uuid). Components the file does not declare are untouched.
 *
 * Applied with applyPatch and never committed; re-applied after every load of the store.
 */
export function inventoryPatch(state: State, pages: readonly DeclaredPage[], now: number): Patch {
  const patch = emptyPatch();
  for (const page of pages) {
    const known = state.pages.get(page.id);
    if (!known) patch.pages.push(emptyPageStats(page.id, now));
    for (const component of page.components) {
      const current = known?.components.get(component.uuid);
      if (!current) {
        patch.components.push({
          statusPage: page.id,
          uuid: component.uuid,
          name: component.name,
          impact: OPERATIONAL,
          changedAt: now,
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
