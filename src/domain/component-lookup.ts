// Finding a component in an incident's or maintenance's component list, which may name 80,000:
// a long list is looked up in a map made once per list (finishing 80,000 components would take
// minutes otherwise), a short one is searched in place (a map for each scratch record a replay
// of the ledger's evidence makes would cost more than the search).

type Named = { uuid: string };

/** Lists this short are searched in place. */
const SHORT_LIST = 16;

const lookups = new WeakMap<readonly Named[], Map<string, Named[]>>();

/** A long list's entries by uuid (all of a uuid named twice, in order), made once per list. */
function byUuid<T extends Named>(components: readonly T[]): Map<string, T[]> {
  let lookup = lookups.get(components) as Map<string, T[]> | undefined;
  if (!lookup) {
    lookup = new Map();
    for (const component of components) {
      const same = lookup.get(component.uuid);
      if (same) same.push(component);
      else lookup.set(component.uuid, [component]);
    }
    lookups.set(components, lookup);
  }
  return lookup;
}

/** The entries of `components` for `uuid` (all of them, in order, if it is named twice), or undefined. */
export function entriesOf<T extends Named>(components: readonly T[], uuid: string): T[] | undefined {
  if (components.length <= SHORT_LIST) {
    let found: T[] | undefined;
    for (const component of components) if (component.uuid === uuid) (found ??= []).push(component);
    return found;
  }
  return byUuid(components).get(uuid);
}

/** The first entry of `components` for `uuid`, or undefined (entriesOf's first, without making the list). */
export function firstEntryOf<T extends Named>(components: readonly T[], uuid: string): T | undefined {
  if (components.length <= SHORT_LIST) {
    for (let index = 0; index < components.length; index += 1) {
      const component = components[index] as T;
      if (component.uuid === uuid) return component;
    }
    return undefined;
  }
  return byUuid(components).get(uuid)?.[0];
}

/** The last entry of `components` for `uuid` (the one that counts, if it is named twice), or undefined. */
export function lastEntryOf<T extends Named>(components: readonly T[], uuid: string): T | undefined {
  if (components.length <= SHORT_LIST) {
    for (let index = components.length - 1; index >= 0; index -= 1) {
      const component = components[index] as T;
      if (component.uuid === uuid) return component;
    }
    return undefined;
  }
  return byUuid(components).get(uuid)?.at(-1);
}
