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
