import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forget } from '../../src/domain/forget.js';
import { declarationPatch, inventoryPatch } from '../../src/domain/inventory.js';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { applyPatch } from '../../src/domain/state.js';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { continueGzip, gzipEnd, PARALLEL_PIECES, SYNC_BYTES } from '../../src/metrics/gzip-member.js';
import { PieceGzip } from '../../src/metrics/gzip-pieces.js';
import { COMPONENTS_PER_CHUNK, ImpactSecondsMetrics } from '../../src/metrics/impact-seconds.js';
import { affects, componentUpdate, incident, Player, T0, uuid } from '../support/events.js';

const series = (text: string) => text.split('\n').filter((line) => line.startsWith('statusmate_component_impact_seconds_total{'));

describe('statusmate_component_impact_seconds_total', () => {
  it('counts closed intervals from the fold and grows the open one at scrape time, without changing the state', () => {
    const p = new Player();
    p.play(componentUpdate(1, 'major_outage', T0), T0 + 1);
    p.play(componentUpdate(1, 'operational', T0 + 600), T0 + 601);
    const metrics = new DomainMetrics(p.state);
    const version = p.state.version;
    const at = (now: number) => series(metrics.impactSeconds(now).toString()).sort();
    const line = (impact: string, seconds: number) =>
      `statusmate_component_impact_seconds_total{status_page="page-a",component_uuid="${uuid(1)}",component="Component 1",impact="${impact}"} ${seconds}`;
    // Every known impact from the start, at 0 until entered: no series appears with seconds already counted.
    expect(at(T0 + 700)).toEqual(
      [line('degraded_performance', 0), line('major_outage', 600), line('operational', 100), line('partial_outage', 0), line('under_maintenance', 0)].sort(),
    );
    expect(at(T0 + 1600)).toContain(line('operational', 1000));
    expect(p.state.version).toBe(version);
    // In the whole text too, once, as a counter.
    const text = metrics.text().toString() + metrics.impactSeconds(T0 + 700).toString();
    expect(text).toContain('# TYPE statusmate_component_impact_seconds_total counter');
    expect(series(text)).toHaveLength(5);
    // OpenMetrics names the family without _total.
    expect(metrics.impactSeconds(T0 + 700, 'openmetrics').toString()).toContain('# TYPE statusmate_component_impact_seconds counter');
  });

  it('totals every impact StatusMate may add beyond the known ones as one `other` series, however many names a sender makes up', () => {
    const p = new Player();
    // Forty made-up impacts, ten minutes each, then one more that stays open.
    for (let i = 0; i < 40; i += 1) p.play(componentUpdate(1, `made_up_${i}`, T0 + 600 * i), T0 + 600 * i + 1);
    p.play(componentUpdate(1, 'made_up_open', T0 + 24_000), T0 + 24_001);
    const metrics = new DomainMetrics(p.state);
    const lines = series(metrics.impactSeconds(T0 + 24_300).toString());
    expect(lines.map((line) => /impact="([^"]+)"/.exec(line)?.[1]).sort()).toEqual([
      'degraded_performance',
      'major_outage',
      'operational',
      'other',
      'partial_outage',
      'under_maintenance',
    ]);
    // The closed intervals and the open one (300 s so far) add up on `other`.
    expect(lines.find((line) => line.includes('impact="other"'))).toMatch(/ 24300$/);
    expect(series(metrics.impactSeconds(T0 + 24_400).toString()).find((line) => line.includes('impact="other"'))).toMatch(/ 24400$/);
    // The current impact's gauge still names it.
    expect(metrics.text().toString()).toContain('impact="made_up_open"');
  });

  it('has no series for a component only the overlay holds, until its declaration is folded (see impact-seconds-declared.test.ts)', () => {
    const p = new Player();
    applyPatch(p.state, inventoryPatch(p.state, [{ id: 'page-a', uuid: null, name: null, components: [{ uuid: uuid(9), name: 'Declared' }] }], T0));
    expect(series(new DomainMetrics(p.state).impactSeconds(T0 + 100).toString())).toEqual([]);
    // Its first webhook starts it, at the event's time.
    p.play(componentUpdate(9, 'operational', T0 + 50), T0 + 51);
    const lines = series(new DomainMetrics(p.state).impactSeconds(T0 + 100).toString());
    expect(lines).toHaveLength(5);
    expect(lines).toContain(
      `statusmate_component_impact_seconds_total{status_page="page-a",component_uuid="${uuid(9)}",component="Component 9",impact="operational"} 50`,
    );
    expect(lines.filter((text) => text.endsWith(' 0'))).toHaveLength(4);
  });

  it('re-renders after any sequence of changes what a first render of the same state gives, and never rewrites a chunk it handed out', () => {
    // More components than two chunks, on two pages, so that changes, additions and forgets move
    // components across chunk boundaries.
    const count = 2 * COMPONENTS_PER_CHUNK + 20;
    const stepArb = fc.oneof(
      fc.record({
        kind: fc.constant('update' as const),
        component: fc.integer({ min: 0, max: count + 40 }),
        impact: fc.constantFrom('operational', 'major_outage', 'partial_outage', 'brand_new'),
        page: fc.constantFrom('page-a', 'page-b'),
      }),
      fc.record({ kind: fc.constant('forget' as const), component: fc.integer({ min: 0, max: count + 40 }), page: fc.constantFrom('page-a', 'page-b') }),
      // A declaration: a ledger entry the records may not have (a page's ledger changes its keys alone).
      fc.record({ kind: fc.constant('declare' as const), component: fc.integer({ min: 0, max: count + 40 }), page: fc.constantFrom('page-a', 'page-b') }),
      fc.record({
        kind: fc.constant('incident' as const),
        id: fc.integer({ min: 1, max: 3 }),
        component: fc.integer({ min: 0, max: count }),
        finish: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(stepArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 }), (rounds) => {
        const p = new Player();
        for (let i = 0; i < count; i += 1) p.play(componentUpdate(i, 'operational', T0 + i, { statusPage: i % 3 === 0 ? 'page-b' : 'page-a' }), T0 + i);
        const incremental = new ImpactSecondsMetrics(p.state);
        let at = T0 + count;
        const handedOut: [Buffer, string][] = [];
        for (const round of rounds) {
          for (const step of round) {
            at += 7;
            if (step.kind === 'update') p.play(componentUpdate(step.component, step.impact, at, { statusPage: step.page }), at);
            else if (step.kind === 'incident')
              p.play(incident(step.finish ? 'incident_finished' : 'incident_created', step.id, at, [affects(step.component, 'major_outage')]), at);
            else if (step.kind === 'declare')
              applyPatch(p.state, declarationPatch(p.state, [{ statusPage: step.page, uuids: [uuid(step.component)] }], at, DEFAULT_LIMITS).patch);
            else applyPatch(p.state, forget(p.state, { kind: 'component', statusPage: step.page, uuid: uuid(step.component) }, at, 300).patch);
          }
          const now = at + 100;
          expect(incremental.render(now).toString('utf8')).toBe(new ImpactSecondsMetrics(p.state).render(now).toString('utf8'));
          for (const chunk of incremental.layout().chunks) handedOut.push([chunk.text, chunk.text.toString('latin1')]);
        }
        for (const [text, then] of handedOut) expect(text.toString('latin1')).toBe(then);
      }),
      { numRuns: 60 },
    );
  });

  it('compresses the open lines into pieces that continue one gzip member, in PARALLEL_PIECES cuts past SYNC_BYTES, each scrape from its own memory', async () => {
    const gunzipOpen = async (metrics: ImpactSecondsMetrics, now: number) => {
      const pieces = await metrics.compressOpen(now, metrics.layout());
      const start = await new PieceGzip().start([{ text: Buffer.from('# head\n'), key: undefined }]);
      const continued = continueGzip(start, pieces);
      return { pieces, text: gunzipSync(Buffer.concat([...continued.parts, gzipEnd(continued, Buffer.from('# EOF\n'))])).toString() };
    };
    const openLines = (metrics: ImpactSecondsMetrics, now: number) => {
      const open = metrics.lendOpen(now, metrics.layout());
      const text = open.text.toString();
      open.release();
      return text;
    };
    // Small: one piece, deflated on the event loop.
    const small = new ImpactSecondsMetrics(new Player().playAll([componentUpdate(1, 'major_outage', T0)]).state);
    const smallResult = await gunzipOpen(small, T0 + 100);
    expect(smallResult.pieces).toHaveLength(1);
    expect(smallResult.text).toBe(`# head\n${openLines(small, T0 + 100)}# EOF\n`);

    // Large: more than SYNC_BYTES of open lines.
    const count = 8000;
    const p = new Player().playAll(Array.from({ length: count }, (_, i) => componentUpdate(i, i % 2 ? 'major_outage' : 'operational', T0 + i)));
    const large = new ImpactSecondsMetrics(p.state);
    const expected = [T0 + 20_000.25, T0 + 30_000.5].map((now) => `# head\n${openLines(large, now)}# EOF\n`);
    expect(Buffer.byteLength(expected[0] as string)).toBeGreaterThan(SYNC_BYTES);
    // Two scrapes at once: each writes and compresses its own lines, neither overwrites the other's.
    const [first, second] = await Promise.all([gunzipOpen(large, T0 + 20_000.25), gunzipOpen(large, T0 + 30_000.5)]);
    expect(first.text).toBe(expected[0]);
    expect(second.text).toBe(expected[1]);
    expect(first.pieces).toHaveLength(PARALLEL_PIECES);
    expect(first.text.split('\n').filter((line) => line.startsWith('statusmate_component_impact_seconds_total{'))).toHaveLength(count);
    // The memory was given back: a third scrape at once re-uses it and is still right.
    expect((await gunzipOpen(large, T0 + 20_000.25)).text).toBe(expected[0]);
  });
});

describe('statusmate_component_impact_seconds_total of a change timed ahead', () => {
  // A created_at up to MAX_CLOCK_SKEW_SECONDS ahead of its receipt is trusted: an older update
  // arriving after it books the interval between them, which ends at a time still to come. The
  // counter counts those seconds as they pass, never before: the sum over impacts is the time
  // since the component was first known, at every scrape.
  const seconds = (text: string) =>
    Object.fromEntries(series(text).map((line) => [/impact="([^"]+)"/.exec(line)?.[1] ?? '', Number(line.slice(line.lastIndexOf(' ') + 1))]));
  const aheadThenOlder = () => {
    const p = new Player();
    p.play(componentUpdate(1, 'partial_outage', T0 + 750), T0 + 500);
    p.play(componentUpdate(1, 'major_outage', T0 + 505), T0 + 505);
    return p;
  };

  it('counts the interval booked ahead only up to the scrape, in the plain and the gzip body, and the same at every later scrape', async () => {
    let metrics = new DomainMetrics(aheadThenOlder().state);
    const plain = (now: number) => Promise.resolve(seconds(metrics.impactSeconds(now).toString()));
    const gzipped = async (now: number) => {
      const start = await metrics.gzipScrape(now, 'text');
      return seconds(gunzipSync(Buffer.concat([...start.parts, gzipEnd(start, Buffer.from(''))])).toString('utf8'));
    };
    for (const read of [plain, gzipped]) {
      // Each reader from the start of the history: a scrape's clock only goes forward.
      metrics = new DomainMetrics(aheadThenOlder().state);
      expect(await read(T0 + 515)).toEqual({ operational: 0, degraded_performance: 0, partial_outage: 0, major_outage: 10, under_maintenance: 0 });
      expect(await read(T0 + 800)).toEqual({ operational: 0, degraded_performance: 0, partial_outage: 50, major_outage: 245, under_maintenance: 0 });
    }
  });

  it('writes each series once, in both formats, while the component is ahead and after', () => {
    const metrics = new DomainMetrics(aheadThenOlder().state);
    for (const now of [T0 + 515, T0 + 900])
      for (const format of ['text', 'openmetrics'] as const) {
        const { parts, release } = metrics.impactSecondsParts(now, format);
        const lines = series(Buffer.concat(parts).toString('utf8'));
        release();
        expect(lines).toHaveLength(5);
        expect(new Set(lines.map((line) => line.slice(0, line.lastIndexOf(' '))))).toHaveProperty('size', 5);
      }
  });
});

describe('statusmate_component_impact_seconds_total once the time booked ahead has passed', () => {
  // A layout kept a component booked ahead on the per-scrape path until the next state version:
  // with no webhook since, 10,000 such components cost 60 ms of the event loop at every scrape
  // (repro/impact-ahead-bench.mjs). Once the time booked is reached, its lines are cached again.
  const seconds = (text: string) =>
    Object.fromEntries(series(text).map((line) => [/impact="([^"]+)"/.exec(line)?.[1] ?? '', Number(line.slice(line.lastIndexOf(' ') + 1))]));
  const booked = () => {
    const p = new Player();
    p.play(componentUpdate(1, 'partial_outage', T0 + 750), T0 + 500);
    p.play(componentUpdate(1, 'major_outage', T0 + 505), T0 + 505);
    return p;
  };

  it('takes the component into the cached lines at the first scrape past its booked time, in the same state version', () => {
    const p = booked();
    const metrics = new ImpactSecondsMetrics(p.state);
    expect(metrics.layout(T0 + 515).ahead).toHaveLength(1);
    expect(metrics.layout(T0 + 749).ahead).toHaveLength(1);
    const past = metrics.layout(T0 + 751);
    expect(past.ahead).toHaveLength(0);
    expect(past.lines).toHaveLength(1);
    // Laid out once: later scrapes of the version take the same layout.
    expect(metrics.layout(T0 + 900)).toBe(past);
  });

  it('answers every series once, with the same seconds, in the plain and the gzip body of both formats, before and after', async () => {
    let metrics = new DomainMetrics(booked().state);
    const plain = (now: number, format: 'text' | 'openmetrics') => {
      const { parts, release } = metrics.impactSecondsParts(now, format);
      try {
        return Buffer.concat(parts).toString('utf8');
      } finally {
        release();
      }
    };
    const gzipped = async (now: number, format: 'text' | 'openmetrics') => {
      const start = await metrics.gzipScrape(now, format);
      return gunzipSync(Buffer.concat([...start.parts, gzipEnd(start, Buffer.from(''))])).toString('utf8');
    };
    for (const format of ['text', 'openmetrics'] as const)
      for (const read of [(now: number) => Promise.resolve(plain(now, format)), (now: number) => gzipped(now, format)]) {
        // Each reader from the start of the history: its clock only goes forward.
        metrics = new DomainMetrics(booked().state);
        const before = await read(T0 + 515);
        expect(series(before)).toHaveLength(5);
        expect(seconds(before)).toEqual({ operational: 0, degraded_performance: 0, partial_outage: 0, major_outage: 10, under_maintenance: 0 });
        for (const now of [T0 + 800, T0 + 900]) {
          const text = await read(now);
          expect(series(text)).toHaveLength(5);
          expect(seconds(text)).toEqual({ operational: 0, degraded_performance: 0, partial_outage: now - T0 - 750, major_outage: 245, under_maintenance: 0 });
        }
      }
  });
});
