/**
 * How a 400's `issues[].path` names a field: its path in the JSON body, dot-separated
 * (`meta.uuid`, `alerts.0.fingerprint`, `status_page`), as StatusMate's and Alertmanager's
 * documentation name their fields; `body` for the body itself (not an object, not JSON). Headers
 * and the query are named `headers.…` and `query.…` where they are checked.
 */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'body' : path.map(String).join('.');
}
