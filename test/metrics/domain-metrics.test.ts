import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forget } from '../../src/domain/forget.js';
import { applyPatch } from '../../src/domain/state.js';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { escapeLabelValue } from '../../src/metrics/exposition.js';
import { gzipEnd } from '../../src/metrics/gzip-member.js';
import { affects, componentUpdate, incident, maintenance, Player, T0, uuid } from '../support/events.js';
import { findTool } from '../support/tools.js';

const promtool = findTool('promtool', 'apt-get install -y prometheus');

const lines = (metrics: DomainMetrics) => metrics.text().toString('utf8').split('\n');

describe('domain metrics', () => {
  it('escapes backslashes, quotes and newlines in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue('Сбой 🔥')).toBe('Сбой 🔥');
  });

  it('renders a StateSet of every known impact, plus the unknown one a component is in', () => {
    const p = new Player().playAll([componentUpdate(1, 'partially_down', T0)]);
    const impacts = lines(new DomainMetrics(p.state)).filter((line) => line.startsWith('statusmate_component_impact{'));
    expect(impacts).toHaveLength(6);
    expect(impacts.filter((line) => line.endsWith(' 1'))).toEqual([expect.stringContaining('impact="partially_down"')]);
    expect(lines(new DomainMetrics(p.state))).toContainEqual(expect.stringMatching(/^statusmate_component_impact_level\{.*\} -1$/));
  });

  it('drops the series of a renamed component and of a finished incident at the next scrape', () => {
    const p = new Player().playAll([componentUpdate(1, 'operational', T0), incident('incident_created', 1, T0, [affects(2, 'major_outage')])]);
    const metrics = new DomainMetrics(p.state);
    expect(lines(metrics).some((line) => line.includes('component="Component 1"'))).toBe(true);
    expect(lines(metrics).some((line) => line.startsWith('statusmate_incident_info{'))).toBe(true);
    p.playAll([componentUpdate(1, 'operational', T0 + 1, { name: 'Renamed' }), incident('incident_finished', 1, T0 + 60, [])]);
    expect(lines(metrics).some((line) => line.includes('component="Component 1"'))).toBe(false);
    expect(lines(metrics).some((line) => line.includes('component="Renamed"'))).toBe(true);
    expect(lines(metrics).some((line) => line.startsWith('statusmate_incident_info{'))).toBe(false);
  });

  it('renders a page whose component was forgotten and another added before the next scrape (same count)', () => {
    const p = new Player().playAll([componentUpdate(1, 'operational', T0), componentUpdate(2, 'major_outage', T0)]);
    const metrics = new DomainMetrics(p.state);
    expect(lines(metrics).some((line) => line.includes(uuid(1)))).toBe(true);
    applyPatch(p.state, forget(p.state, { kind: 'component', statusPage: 'page-a', uuid: uuid(1) }, T0 + 10, 300).patch);
    p.play(componentUpdate(3, 'partial_outage', T0 + 20));
    const text = lines(metrics);
    expect(text.some((line) => line.includes(uuid(1)))).toBe(false);
    expect(text.some((line) => line.includes(uuid(3)))).toBe(true);
    expect(metrics.impactSeconds(T0 + 30).toString()).toContain(uuid(3));
  });

  it('renders once per state version and serves the cached bytes in between', () => {
    const p = new Player().playAll([componentUpdate(1, 'operational', T0)]);
    const metrics = new DomainMetrics(p.state);
    const first = metrics.text();
    expect(metrics.text()).toBe(first);
    expect(metrics.gzip()).toBe(metrics.gzip());
    p.play(componentUpdate(1, 'major_outage', T0 + 1));
    expect(metrics.text()).not.toBe(first);
  });

  it('gzips to the plain body after every change, in both formats, however many components it has', async () => {
    const p = new Player().playAll(Array.from({ length: 700 }, (_, i) => componentUpdate(i, 'operational', T0 + i)));
    const metrics = new DomainMetrics(p.state);
    const now = T0 + 5000;
    const gunzip = async (format: 'text' | 'openmetrics') => {
      const start = await metrics.gzipScrape(now, format);
      return gunzipSync(Buffer.concat([...start.parts, gzipEnd(start, Buffer.from('# EOF\n'))])).toString('utf8');
    };
    for (const [step, component] of [0, 350, 699, 350].entries()) {
      p.play(componentUpdate(component, step % 2 === 0 ? 'major_outage' : 'degraded_performance', T0 + 1000 + step));
      const text = metrics.impactSecondsParts(now, 'text');
      expect(await gunzip('text')).toBe(`${Buffer.concat([metrics.text(), ...text.parts]).toString('utf8')}# EOF\n`);
      text.release();
      const { head, tail } = metrics.openMetrics();
      const openMetrics = metrics.impactSecondsParts(now, 'openmetrics');
      expect(await gunzip('openmetrics')).toBe(`${Buffer.concat([...head, tail, ...openMetrics.parts]).toString('utf8')}# EOF\n`);
      expect(tail.length).toBeGreaterThan(0);
      openMetrics.release();
    }
  });

  it('never writes again a part it handed out, and makes new parts only for the chunk of a changed component', () => {
    // Three chunks of components; component 200 is in the second.
    const p = new Player().playAll(Array.from({ length: 300 }, (_, i) => componentUpdate(i, 'operational', T0 + i)));
    const metrics = new DomainMetrics(p.state);
    const handedOut = metrics.parts().map((part) => [part, Buffer.from(part)] as const);
    for (let n = 1; n <= 6; n += 1) p.play(componentUpdate(200, n % 2 ? 'major_outage' : 'operational', T0 + 1000 + n));
    for (const [part, then] of handedOut) expect(part.equals(then)).toBe(true);
    const before = new Set(handedOut.map(([part]) => part));
    const fresh = metrics.parts().filter((part) => !before.has(part));
    // Its chunk of each of the three per-component families, and the page families.
    expect(fresh).toHaveLength(4);
    expect(fresh.slice(0, 3).every((part) => part.toString('utf8').includes(uuid(200)))).toBe(true);
  });

  it('re-renders after any sequence of events exactly what a first render of the same state gives', () => {
    const names = ['Component', 'API "v2"', 'Сбой \\ 🔥', 'x'];
    const impacts = ['operational', 'major_outage', 'partial_outage', 'something_new'];
    const stepArb = fc.oneof(
      fc.record({
        kind: fc.constant('component' as const),
        component: fc.integer({ min: 1, max: 6 }),
        impact: fc.constantFrom(...impacts),
        name: fc.constantFrom(...names),
        page: fc.constantFrom('page-a', 'page-b'),
      }),
      fc.record({
        kind: fc.constantFrom('incident_created' as const, 'incident_finished' as const),
        id: fc.integer({ min: 1, max: 3 }),
        component: fc.integer({ min: 1, max: 8 }),
      }),
      fc.record({
        kind: fc.constantFrom('maintenance_created' as const, 'maintenance_started' as const, 'maintenance_finished' as const),
        id: fc.integer({ min: 1, max: 3 }),
        component: fc.integer({ min: 1, max: 8 }),
      }),
      fc.record({ kind: fc.constant('forget' as const), component: fc.integer({ min: 1, max: 8 }), page: fc.constantFrom('page-a', 'page-b') }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.array(stepArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), (many, rounds) => {
        const p = new Player();
        // With many, components after the changing ones fill chunks, which additions and forgets shift.
        if (many) for (let i = 100; i < 400; i += 1) p.play(componentUpdate(i, 'operational', T0, { statusPage: i % 2 ? 'page-a' : 'page-b' }));
        const incremental = new DomainMetrics(p.state);
        let at = T0;
        for (const round of rounds) {
          for (const step of round) {
            at += 1;
            if (step.kind === 'forget')
              applyPatch(p.state, forget(p.state, { kind: 'component', statusPage: step.page, uuid: uuid(step.component) }, at, 300).patch);
            else if (step.kind === 'component')
              p.play(componentUpdate(step.component, step.impact, at, { name: `${step.name} ${step.component}`, statusPage: step.page }));
            else if (step.kind === 'incident_created' || step.kind === 'incident_finished')
              p.play(incident(step.kind, step.id, at, [affects(step.component, 'major_outage')]));
            else p.play(maintenance(step.kind, step.id, at, [affects(step.component, 'under_maintenance')], { startAt: at + 60, endAt: at + 120 }));
          }
          const fresh = new DomainMetrics(p.state);
          expect(incremental.text().toString('utf8')).toBe(fresh.text().toString('utf8'));
          expect(incremental.openMetricsTail().toString('utf8')).toBe(fresh.openMetricsTail().toString('utf8'));
        }
      }),
      { numRuns: 150 },
    );
  });

  it.skipIf(promtool.skipReason !== undefined)('passes promtool check metrics without a word about any statusmate_ family', () => {
    const p = new Player().playAll([
      componentUpdate(1, 'major_outage', T0, { name: 'Quote " and \\ backslash' }),
      componentUpdate(2, 'brand_new_impact', T0),
      incident('incident_created', 1, T0, [affects(3, 'partial_outage')], { title: 'Сбой оплаты 💳' }),
      incident('incident_created', 2, T0, []),
      incident('incident_finished', 2, T0 + 600, []),
      maintenance('maintenance_created', 1, T0, [affects(4, 'under_maintenance')], { startAt: T0 + 60, endAt: T0 + 120 }),
      maintenance('maintenance_started', 2, T0, [affects(5, null)]),
      maintenance('maintenance_finished', 2, T0 + 300, []),
    ]);
    const text = new DomainMetrics(p.state).text();
    let report: string;
    try {
      report = execFileSync(promtool.path ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      report = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
    }
    expect(report.split('\n').filter((line) => line.includes('statusmate_'))).toEqual([]);
    expect(text.toString('utf8')).toContain(`incident_uuid="${uuid(1001)}",title="Сбой оплаты 💳"`);
  });
});
