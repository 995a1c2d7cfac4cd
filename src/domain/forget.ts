import { FOLD_RULES, FORGET_RULES, type ForgetRules } from './fold-rules.js';
import { ledgerOf } from './ledger.js';
import { Draft } from './draft.js';
import { emptyPatch, type ComponentImpact, type IncidentRecord, type MaintenanceRecord, type Patch, type State } from './state.js';

// An operator's `forget`: removes a status page, a component, an incident or a maintenance from
// the state. It travels the log like an event (see src/log/entry.ts), so every process that folds
// the log forgets the same thing at the same entry, and a restart folds it again. Pure.

export type ForgetTarget = { kind: 'page'; statusPage: string } | { kind: 'component' | 'incident' | 'maintenance'; statusPage: string; uuid: string };

export type ForgetDecision = {
  /** Whether the target was in the state; when not, the patch is empty. */
  found: boolean;
  patch: Patch;
};

/**
 * What forgetting `target` changes, read against `state` at the log time `at`:
 * - a page: the page and everything on it (components, incidents, maintenances, counters);
 * - a component: the component, and its entries in every incident and maintenance of its page
 *   (so its holdings go with it; an incident that named only it stays, with no components);
 * - an incident or a maintenance: the record; the components it held show what is left once its
 *   hold is gone (their direct updates, or other holders), changed as of `at`.
 * Counters already counted (incidents created, …) stay: they are counters. Dedup records stay, so
 * a retry of a forgotten event is still a duplicate; a new delivery is applied as new.
 * Declared pages and components come back from the status pages file's overlay (in memory).
 * Under `rules.ledgerOnly`, a page or component only the availability ledger knows (a status pages
 * file declared it, a reload dropped it) is found too, and forgotten there.
 */
export function forget(state: State, target: ForgetTarget, at: number, maxClockSkewSeconds: number, rules: ForgetRules = FORGET_RULES): ForgetDecision {
  const patch = emptyPatch();
  const page = state.pages.get(target.statusPage);
  const inState = target.kind === 'component' ? page?.components.has(target.uuid) === true : page !== undefined;
  if (rules.ledgerOnly && !inState && (target.kind === 'page' || target.kind === 'component')) return forgetFromLedger(state, target);
  if (!page) return { found: false, patch };
  if (target.kind === 'page') {
    patch.deletePages.push(target.statusPage);
    return { found: true, patch };
  }
  const entityKey = { statusPage: target.statusPage, uuid: target.uuid };
  if (target.kind === 'component') {
    if (!page.components.has(target.uuid)) return { found: false, patch };
    const without = (components: ComponentImpact[]) => components.filter((component) => component.uuid !== target.uuid);
    // Every incident and maintenance naming it, finished ones included, in uuid order (data, not Map order).
    for (const record of sorted([...page.incidents.values()])) {
      if (record.components.some((component) => component.uuid === target.uuid)) patch.incidents.push({ ...record, components: without(record.components) });
    }
    for (const record of sorted([...page.maintenances.values()])) {
      if (record.components.some((component) => component.uuid === target.uuid)) patch.maintenances.push({ ...record, components: without(record.components) });
    }
    patch.deleteComponents.push(entityKey);
    return { found: true, patch };
  }
  const record = target.kind === 'incident' ? page.incidents.get(target.uuid) : page.maintenances.get(target.uuid);
  if (!record) return { found: false, patch };
  if (target.kind === 'incident') patch.deleteIncidents.push(entityKey);
  else patch.deleteMaintenances.push(entityKey);
  patch.ledgerForgetTouches = [{ statusPage: target.statusPage, key: `${target.kind}:${target.uuid}` }];
  // The components it held: derived again without its hold.
  const draft = new Draft(state, {
    statusPage: target.statusPage,
    receivedAt: at,
    stamp: { at: null, seq: state.lastSeq + 1 },
    t: at,
    maxComponents: Number.MAX_SAFE_INTEGER,
    maxClockSkewSeconds,
    // Its stamp has no time, so no tie of created_at can arise, and it is no late first event.
    rules: FOLD_RULES,
  });
  draft.drop(target.kind, target.uuid);
  for (const component of [...record.components].sort((a, b) => compare(a.uuid, b.uuid))) {
    if (page.components.has(component.uuid)) draft.touch(component.uuid, null);
  }
  patch.components.push(...draft.changedComponents());
  patch.ledgerAt = at;
  return { found: true, patch };
}

/**
 * A page or component the state does not hold, forgotten from the availability ledger if it knows
 * it there (applyPatch forgets the ledger's entries of what it deletes, in the state or not).
 */
function forgetFromLedger(state: State, target: ForgetTarget): ForgetDecision {
  const patch = emptyPatch();
  if (target.kind === 'page') {
    if (!state.ledger.pages.has(target.statusPage)) return { found: false, patch };
    patch.deletePages.push(target.statusPage);
  } else {
    if (ledgerOf(state.ledger, target.statusPage, target.uuid) === undefined) return { found: false, patch };
    patch.deleteComponents.push({ statusPage: target.statusPage, uuid: target.uuid });
  }
  return { found: true, patch };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = <T extends IncidentRecord | MaintenanceRecord>(records: T[]) => records.sort((a, b) => compare(a.uuid, b.uuid));
