/** The impacts StatusMate documents, from best to worst; the index is the level. */
export const KNOWN_IMPACTS = ['operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'] as const;
export type KnownImpact = (typeof KNOWN_IMPACTS)[number];

/**
 * StatusMate may add impacts; one that looks like an identifier is kept as sent (level -1)
 * rather than rejected, so a new impact never makes the exporter refuse events.
 */
export const IMPACT_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

export const UNKNOWN_IMPACT_LEVEL = -1;
export const OPERATIONAL: KnownImpact = 'operational';
/** What a maintenance sets a component to when StatusMate names no impact for it. */
export const MAINTENANCE_IMPACT: KnownImpact = 'under_maintenance';

const LEVELS: ReadonlyMap<string, number> = new Map(KNOWN_IMPACTS.map((impact, level) => [impact, level]));

export function impactLevel(impact: string): number {
  return LEVELS.get(impact) ?? UNKNOWN_IMPACT_LEVEL;
}

export function isKnownImpact(impact: string): impact is KnownImpact {
  return LEVELS.has(impact);
}

/**
 * Distinct unknown impacts the intern table holds at most. A state holds an impact string in
 * every place that names it (a record, each change point and evidence event of the ledger), and
 * each webhook body, log entry or snapshot line that sends one brings its own copy: 10,000
 * components through 32 change points each are 320,000 strings of up to 64 characters (about
 * 20 MiB) for a single impact StatusMate added. Known impacts are always interned; unknown ones
 * up to this many, after which the table starts again empty (a generation), so that a flood of
 * made-up impacts neither grows it nor keeps a new real one from being shared.
 */
export const MAX_INTERNED_UNKNOWN_IMPACTS = 1024;

const KNOWN_INSTANCES: ReadonlyMap<string, string> = new Map(KNOWN_IMPACTS.map((impact) => [impact, impact]));
let unknownInstances = new Map<string, string>();

/**
 * The one string the process uses for `impact` (equal to it: the result never changes, only how
 * many copies of it the heap holds). Every place that brings an impact into the state (webhook,
 * log entry, snapshot) passes it through here.
 */
export function internImpact(impact: string): string {
  const known = KNOWN_INSTANCES.get(impact);
  if (known !== undefined) return known;
  const kept = unknownInstances.get(impact);
  if (kept !== undefined) return kept;
  if (unknownInstances.size >= MAX_INTERNED_UNKNOWN_IMPACTS) unknownInstances = new Map();
  unknownInstances.set(impact, impact);
  return impact;
}

/** How many distinct unknown impacts the intern table holds now (for tests). */
export const internedUnknownImpacts = (): number => unknownInstances.size;
