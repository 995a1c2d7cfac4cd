import type { AffectedComponent, ComponentImpactUpdated, IncidentEvent, MaintenanceEvent, StatusMateEvent } from '../../src/domain/event.js';
import type { DeclaredPage } from '../../src/domain/inventory.js';
import { DEFAULT_LIMITS, reduce, type Decision, type Limits } from '../../src/domain/reducer.js';
import { applyPatch, createState, replaceState, type State } from '../../src/domain/state.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from '../../src/log/snapshot.js';
import { dedupKey } from '../../src/ingest/dedup-key.js';

// Builders of normalised events for reducer tests, and a tiny driver that plays them.

export const PAGE = 'page-a';

export const T0 = 1_700_000_000;

export const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;

/** PAGE as a status pages file declares it, with components 1 (API) and 2 (Website). */
export const DECLARED: DeclaredPage[] = [
  {
    id: PAGE,
    uuid: null,
    name: 'Page A',
    components: [
      { uuid: uuid(1), name: 'API' },
      { uuid: uuid(2), name: 'Website' },
    ],
  },
];

export function componentUpdate(component: number, impact: string, at: number | null, extra: Partial<ComponentImpactUpdated> = {}): ComponentImpactUpdated {
  return {
    type: 'component_impact_updated',
    statusPage: PAGE,
    uuid: uuid(component),
    name: `Component ${component}`,
    impact,
    createdAt: at,
    deliveryAttempt: 0,
    ...extra,
  };
}

export const affects = (component: number, impact: string | null): AffectedComponent => ({ uuid: uuid(component), name: `Component ${component}`, impact });

export function incident(
  type: IncidentEvent['type'],
  id: number,
  at: number | null,
  components: AffectedComponent[],
  extra: Partial<IncidentEvent> = {},
): IncidentEvent {
  return {
    type,
    statusPage: PAGE,
    uuid: uuid(1000 + id),
    title: `Incident ${id}`,
    startAt: null,
    endAt: null,
    createdAt: at,
    deliveryAttempt: 0,
    components,
    ...extra,
  };
}

export function maintenance(
  type: MaintenanceEvent['type'],
  id: number,
  at: number | null,
  components: AffectedComponent[],
  extra: Partial<MaintenanceEvent> = {},
): MaintenanceEvent {
  return {
    type,
    statusPage: PAGE,
    uuid: uuid(2000 + id),
    title: `Maintenance ${id}`,
    startAt: null,
    endAt: null,
    createdAt: at,
    deliveryAttempt: 0,
    components,
    ...extra,
  };
}

export class Player {
  readonly state: State = createState();
  readonly decisions: Decision[] = [];
  constructor(limits: Partial<Limits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }
  private readonly limits: Limits;

  play(event: StatusMateEvent, receivedAt = T0 + 10_000): Decision {
    const decision = reduce(this.state, event, dedupKey(event), receivedAt, this.limits);
    applyPatch(this.state, decision.patch);
    this.decisions.push(decision);
    return decision;
  }

  playAll(events: StatusMateEvent[]): this {
    for (const event of events) this.play(event);
    return this;
  }

  page(statusPage = PAGE) {
    const page = this.state.pages.get(statusPage);
    if (!page) throw new Error(`no page ${statusPage}`);
    return page;
  }

  impact(component: number, statusPage = PAGE): string | undefined {
    return this.state.pages.get(statusPage)?.components.get(uuid(component))?.impact;
  }
}

/** A new Player holding what `player`'s state reads back as from a snapshot: a restart in the middle of a history. */
export function restored(player: Player): Player {
  const decoded = decodeSnapshot(String(SNAPSHOT_FORMAT), encodeSnapshot(player.state));
  if (decoded.kind !== 'state') throw new Error(`not a snapshot: ${decoded.kind}`);
  const copy = new Player();
  replaceState(copy.state, decoded.state);
  return copy;
}

/** Every order of `items` (n! of them): for histories short enough to try every order of arrival. */
export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}
