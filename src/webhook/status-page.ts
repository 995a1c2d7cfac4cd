import type { DeclaredPage } from '../domain/inventory.js';
import { cutLabel } from '../domain/labels.js';
import type { PageConflictReason } from '../metrics/names.js';

/** Declared page ids by their StatusMate uuid (lower-cased). */
export type PageUuids = ReadonlyMap<string, string>;

export function pageUuids(pages: readonly DeclaredPage[]): PageUuids {
  const byUuid = new Map<string, string>();
  for (const page of pages) if (page.uuid !== null) byUuid.set(page.uuid, page.id);
  return byUuid;
}

/** What the status pages file says about naming pages, built once per load of the file. */
export type PageIndex = {
  /** Whether a status pages file is in force: only then can a page be unknown. */
  fileInForce: boolean;
  byUuid: PageUuids;
  ids: ReadonlySet<string>;
  /** The pages that declare each component uuid (lower-cased), in file order. */
  pagesOfComponent: ReadonlyMap<string, readonly string[]>;
};

export function pageIndex(pages: readonly DeclaredPage[], fileInForce: boolean): PageIndex {
  const pagesOfComponent = new Map<string, string[]>();
  for (const page of pages) {
    for (const component of page.components) {
      const declaredOn = pagesOfComponent.get(component.uuid);
      if (!declaredOn) pagesOfComponent.set(component.uuid, [page.id]);
      else if (!declaredOn.includes(page.id)) declaredOn.push(page.id);
    }
  }
  return { fileInForce, byUuid: pageUuids(pages), ids: new Set(pages.map((page) => page.id)), pagesOfComponent };
}

export type Placement = {
  /** The status_page label. */
  page: string;
  /** How the page was chosen. */
  from: 'url' | 'meta' | 'components' | 'default';
  /** A disagreement to log and count; the event is still labelled `page`. */
  conflict?: { reason: Exclude<PageConflictReason, 'unknown_page'>; declaredOn: string[] };
  /** The file is in force, does not declare `page`, and pages are not learnt from webhooks: refuse. */
  unknown: boolean;
};

/**
 * The status_page label of an event, decided in one place:
 * 1. the URL's `?status_page=`: the user chose it when setting up the webhook, so it wins;
 * 2. else the event's `meta.status_page`;
 * 3. else the one page of the status pages file that declares the event's components (for an
 *    incident or maintenance, every affected component the file declares), when there is one;
 * 4. else `fallback` (DEFAULT_STATUS_PAGE).
 * Either of the first two, when it is the uuid of a declared page, becomes that page's id, so one
 * page never shows under two labels.
 */
export function placeEvent(
  url: string | undefined,
  sent: string | null | undefined,
  components: readonly string[],
  index: PageIndex,
  fallback: string,
  learnPages: boolean,
): Placement {
  const declaredOn: string[] = [];
  let someOnSeveral = false;
  for (const uuid of components) {
    const pages = index.pagesOfComponent.get(uuid);
    if (!pages) continue;
    if (pages.length > 1) someOnSeveral = true;
    for (const page of pages) if (!declaredOn.includes(page)) declaredOn.push(page);
  }
  const isKnown = (page: string) => !index.fileInForce || learnPages || index.ids.has(page);

  const fromUrl = url !== undefined && url !== '';
  const named = fromUrl ? url : sent !== undefined && sent !== null && sent !== '' ? sent : undefined;
  if (named !== undefined) {
    const page = index.byUuid.get(named.toLowerCase()) ?? cutLabel(named);
    const placement: Placement = { page, from: fromUrl ? 'url' : 'meta', unknown: !isKnown(page) };
    // A component the file puts only on other pages: the event still goes where it says.
    const elsewhere = components.some((uuid) => {
      const pages = index.pagesOfComponent.get(uuid);
      return pages !== undefined && !pages.includes(page);
    });
    if (elsewhere) placement.conflict = { reason: 'other_page', declaredOn };
    return placement;
  }
  if (declaredOn.length === 1 && !someOnSeveral) {
    return { page: declaredOn[0] as string, from: 'components', unknown: false };
  }
  const placement: Placement = { page: fallback, from: 'default', unknown: !isKnown(fallback) };
  if (declaredOn.length > 1) placement.conflict = { reason: 'several_pages', declaredOn };
  return placement;
}

/** The label of an event whose components are not known: placeEvent without them. */
export function resolveStatusPage(url: string | undefined, sent: string | null | undefined, declared: PageUuids, fallback: string): string {
  const index: PageIndex = { fileInForce: false, byUuid: declared, ids: new Set(), pagesOfComponent: new Map() };
  return placeEvent(url, sent, [], index, fallback, true).page;
}
