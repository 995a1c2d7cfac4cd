// Test helpers for the snapshot's formats (src/log/snapshot.ts): format 3's lines, and the format 2
// document holding the same data, for tests that edit a snapshot or read an older one.

/** The values of a format 3 snapshot's lines. */
export function linesOf(text: string): unknown[] {
  return text.split('\n').map((line) => JSON.parse(line) as unknown);
}

export function kindsOf(text: string): unknown[] {
  return linesOf(text)
    .slice(1)
    .map((line) => (line as unknown[])[0]);
}

export type FormatTwo = {
  pages: unknown[];
  components: unknown[];
  incidents: unknown[];
  maintenances: unknown[];
  seen: [string, number][];
  lastSeq: number;
  ledger: { keptFromDay: number; components: unknown[][]; touches: unknown[] };
  alerts?: unknown;
};

/** The format 2 document (one JSON value) holding what a format 3 snapshot holds, as format 2 wrote it. */
export function formatTwoOf(text: string): FormatTwo {
  const [head, ...lines] = linesOf(text) as [{ lastSeq: number; keptFromDay: number }, ...[string, unknown][]];
  const two: FormatTwo = {
    pages: [],
    components: [],
    incidents: [],
    maintenances: [],
    seen: [],
    lastSeq: head.lastSeq,
    ledger: { keptFromDay: head.keptFromDay, components: [], touches: [] },
  };
  for (const [kind, value] of lines) {
    if (kind === 'page') two.pages.push(value);
    else if (kind === 'component') two.components.push(value);
    else if (kind === 'incident') two.incidents.push(value);
    else if (kind === 'maintenance') two.maintenances.push(value);
    else if (kind === 'seen') two.seen.push(...(value as [string, number][]));
    else if (kind === 'touch') two.ledger.touches.push(value);
    else if (kind === 'alerts') two.alerts = value;
    else if (kind === 'ledger') two.ledger.components.push(value as unknown[]);
  }
  return two;
}
