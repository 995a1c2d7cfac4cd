import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleValue, tempDir } from '../support/app.js';
import { DAY, randomHistory, referenceReport, secondsIn, timelines, type RefEvent } from '../support/availability-reference.js';
import { postJson, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// The built exporter (node dist/main.js, SQLite) against the reference calculator, which reads
// only the docs: a seeded random history over the last six days (several components, overlapping
// incidents, maintenances over them, updates during them), posted as StatusMate webhooks in
// created_at order; GET /api/v1/availability over the whole history, each day, from the day after
// an incident began, and up to now, and the impact counter on /metrics, are compared with the
// reference halfway, after a SIGTERM and a start on the same file, and at the end. One seed runs in
// about 1.5 s; AVAILABILITY_REFERENCE_SEEDS=11,12,… runs more (a test knob, not the exporter's).

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

const PAGE = 'sla';
const SEEDS = (process.env.AVAILABILITY_REFERENCE_SEEDS ?? '11').split(',').map(Number);
const componentUuid = (id: string) => `00000000-0000-4000-8000-${id.slice(1).padStart(12, '0')}`;
const objectUuid = (id: string) => `00000000-0000-4000-9${id[0] === 'i' ? '1' : '2'}00-${id.slice(1).padStart(12, '0')}`;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** The webhook StatusMate would send for a reference event (its documented payload). */
function webhook(event: RefEvent, history: readonly RefEvent[]): { meta: Record<string, unknown> } {
  if (event.kind === 'update') {
    return {
      meta: {
        type: 'component_impact_updated',
        uuid: componentUuid(event.component),
        title: `Component ${event.component}`,
        impact: event.impact,
        created_at: iso(event.at),
      },
    };
  }
  const affected = event.components.map((c) => (typeof c === 'string' ? { component: c, impact: 'under_maintenance' } : c));
  const created = history.find((e) => e.kind !== 'update' && e.id === event.id && e.kind.endsWith('_created'))!;
  return {
    meta: {
      type: event.kind,
      uuid: objectUuid(event.id),
      title: `Object ${event.id}`,
      created_at: iso(event.at),
      start_at: iso(created.at),
      end_at: event.kind.endsWith('_finished') ? iso(event.at) : null,
      affected_components: affected.map(({ component, impact }) => ({
        impact,
        component_details: { name: `Component ${component}`, impact, component_uuid: componentUuid(component) },
      })),
    },
  };
}

type Figures = { availability: number | null; known_seconds: number; excluded_seconds: number; down_seconds: number; seconds: Record<string, number> };
type Report = { generated_at: string; status_pages: (Figures & { id: string; components: (Figures & { uuid: string; known_since: string })[] })[] };

function expectFigures(actual: Figures, expected: Figures, what: string) {
  for (const [slot, seconds] of Object.entries(expected.seconds)) expect(actual.seconds[slot], `${what} ${slot}`).toBeCloseTo(seconds, 2);
  expect(actual.known_seconds, what).toBeCloseTo(expected.known_seconds, 2);
  expect(actual.excluded_seconds, what).toBeCloseTo(expected.excluded_seconds, 2);
  expect(actual.down_seconds, what).toBeCloseTo(expected.down_seconds, 2);
  if (expected.availability === null) expect(actual.availability, what).toBeNull();
  else expect(actual.availability, what).toBeCloseTo(expected.availability, 9);
}

const day = (n: number) => new Date(n * DAY * 1000).toISOString().slice(0, 10);

async function compare(url: string, sent: readonly RefEvent[], what: string): Promise<number> {
  const first = Math.floor(sent[0]!.at / DAY);
  const today = Math.floor(Date.now() / 1000 / DAY);
  const ranges: [number, number][] = [
    [first, today],
    [first + 2, first + 2],
    [today, today],
  ];
  const midIncident = sent.find((e) => e.kind === 'incident_created');
  if (midIncident) ranges.push([Math.floor(midIncident.at / DAY) + 1, today]);
  for (const [from, to] of ranges) {
    const answer = await fetch(`${url}/api/v1/availability?from=${day(from)}&to=${day(to)}&status_page=${PAGE}`);
    expect(answer.status, what).toBe(200);
    const report = (await answer.json()) as Report;
    const now = Date.parse(report.generated_at) / 1000;
    const expected = referenceReport(sent, now, from, to);
    const page = report.status_pages[0]!;
    const where = `${what}, ${day(from)}..${day(to)}`;
    expectFigures(page, expected.page, `${where}, the page`);
    expect(page.components.length, where).toBe(expected.components.size);
    for (const [component, figures] of expected.components) {
      const actual = page.components.find((c) => c.uuid === componentUuid(component))!;
      expect(actual.known_since, `${where}: ${component}`).toBe(iso(figures.known_since));
      expectFigures(actual, figures, `${where}: ${component}`);
    }
  }
  // A period ending after today is refused, naming it: nothing of a day not begun is known.
  const ahead = await fetch(`${url}/api/v1/availability?from=${day(first)}&to=${day(today + 1)}&status_page=${PAGE}`);
  expect(ahead.status, what).toBe(400);
  expect(((await ahead.json()) as { error: string }).error, what).toContain(`to (${day(today + 1)}) is after today`);
  // The counter: every impact's seconds since the component was known, the open one up to the scrape.
  const before = Date.now() / 1000;
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const after = Date.now() / 1000;
  const [low, high] = [timelines(sent, before), timelines(sent, after)];
  for (const [component, segments] of low) {
    for (const [slot, seconds] of Object.entries(secondsIn(segments, -Infinity, Infinity))) {
      const counted = sampleValue(metrics, 'statusmate_component_impact_seconds_total', {
        status_page: PAGE,
        component_uuid: componentUuid(component),
        impact: slot,
      });
      const most = secondsIn(high.get(component)!, -Infinity, Infinity)[slot]!;
      // docs/metrics.md: `other` has a series only once the component has entered an unknown impact.
      if (slot === 'other' && most === 0 && counted === undefined) continue;
      expect(counted, `${what}: ${component} ${slot}`).toBeGreaterThanOrEqual(seconds - 0.002);
      expect(counted, `${what}: ${component} ${slot}`).toBeLessThanOrEqual(most + 0.002);
    }
  }
  return ranges.length;
}

describe('the exporter process against the reference calculator', () => {
  for (const seed of SEEDS) {
    it(`agrees on seed ${seed}, halfway, after a restart and at the end`, { timeout: 60_000 }, async () => {
      const end = Math.floor(Date.now() / 1000) - 3600;
      const history = randomHistory(seed, { components: 4, start: end - 6 * DAY + 7200, end, incidents: 8, maintenances: 3, updates: 20 });
      const env = { STORE: 'sqlite', SQLITE_PATH: join(tempDir(), 'reference.db') };
      const post = async (events: readonly RefEvent[]) => {
        for (const event of events) {
          const answer = await postJson(`${running!.url}/webhook?status_page=${PAGE}`, webhook(event, history));
          expect(await answer.json(), JSON.stringify(event)).toMatchObject({ status: 'applied' });
        }
      };
      const half = Math.floor(history.length / 2);
      running = await startExporterProcess(env);
      await post(history.slice(0, half));
      await compare(running.url, history.slice(0, half), `seed ${seed}, halfway`);
      await stopProcess(running, 'SIGTERM');
      running = await startExporterProcess(env);
      await compare(running.url, history.slice(0, half), `seed ${seed}, halfway, restarted`);
      await post(history.slice(half));
      await compare(running.url, history, `seed ${seed}, at the end`);
    });
  }
});
