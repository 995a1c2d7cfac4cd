import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CHART_JOB_PLACEHOLDER, CHART_NAMESPACE_PLACEHOLDER, DEFAULT_CONFIG, chartConfig, mixinConfigSchema, type MixinConfig } from '../mixin/config.js';
import { generatedFiles, staleFiles } from '../mixin/generate.js';
import { RECORD, buildRules } from '../mixin/rules.js';
import { untrustedStateSelectors } from './support/prometheus.js';

const exprs = (config: MixinConfig) => buildRules(config).groups.flatMap((group) => group.rules.map((rule) => rule.expr));
const alertsOf = (config: MixinConfig) => buildRules(config).groups.flatMap((group) => group.rules.filter((rule) => rule.alert));

describe('the mixin', () => {
  it('has its rules file, the chart rules and the dashboards committed exactly as `npm run mixin` generates them', () => {
    expect(staleFiles(), 'edit mixin/ or grafana/src/ (never the generated files), run npm run mixin and commit the result').toEqual([]);
  });

  it('puts the configured selector into every selector of every rule', () => {
    const config = { ...DEFAULT_CONFIG, selector: 'job="statusmate", env="prod"' };
    for (const expr of exprs(config)) {
      const selectors = [...expr.matchAll(/\b(up|statusmate_[a-z_]+)\{([^}]*)\}/g)];
      for (const selector of selectors) expect(selector[2]).toContain('job="statusmate", env="prod"');
    }
    expect(exprs(config).join('\n')).not.toContain('statusmate-exporter.*');
  });

  it('reads the current state in every rule only from replicas whose store is up, when an install has one', () => {
    for (const config of [DEFAULT_CONFIG, chartConfig(DEFAULT_CONFIG)]) {
      for (const expr of exprs(config)) expect(untrustedStateSelectors(expr), expr).toEqual([]);
    }
  });

  it('groups by the cluster label when one is configured, and not when it is empty', () => {
    expect(exprs(DEFAULT_CONFIG).join('\n')).toContain('by (cluster, namespace, job');
    const single = exprs({ ...DEFAULT_CONFIG, clusterLabel: '' }).join('\n');
    expect(single).not.toContain('cluster');
    expect(single).toContain('by (namespace, job');
  });

  it('takes thresholds, severities, for, keep_firing_for and the SLO objective from the config', () => {
    const config = mixinConfigSchema.parse({
      ...DEFAULT_CONFIG,
      alerts: { ...DEFAULT_CONFIG.alerts, componentMajorOutage: { severity: 'warning', for: '150s', keepFiringFor: '10m' } },
      slo: { ...DEFAULT_CONFIG.slo, availabilityObjective: 0.99 },
    });
    const major = alertsOf(config).find((rule) => rule.alert === 'StatusMateComponentMajorOutage');
    expect([major?.labels?.severity, major?.for, major?.keep_firing_for]).toEqual(['warning', '150s', '10m']);
    expect(major?.annotations?.description).toContain('for more than 150 seconds');
    const burn = alertsOf(config).filter((rule) => rule.alert === 'StatusMateComponentErrorBudgetBurn');
    expect(burn.map((rule) => /\((14\.4|6|3|1) \* 0\.01\)/.test(rule.expr))).toEqual([true, true, true, true]);
    expect(burn[0]?.annotations?.summary).toContain('99% availability');
  });

  it('weighs partial and major outages 1 and degraded performance 0 by default, and reads the weights and the maintenance policy from the config', () => {
    const records = (config: MixinConfig) => buildRules(config).groups.flatMap((group) => group.rules);
    const hour = (config: MixinConfig) => records(config).find((rule) => rule.record === RECORD.availableOver('1h'))?.expr ?? '';
    const bool = (config: MixinConfig) => records(config).find((rule) => rule.record === RECORD.available)?.expr ?? '';
    const slo = (changes: Partial<MixinConfig['slo']>) => mixinConfigSchema.parse({ ...DEFAULT_CONFIG, slo: { ...DEFAULT_CONFIG.slo, ...changes } });
    // Available seconds: operational and degraded whole, partial and major not at all; maintenance left out.
    expect(hour(DEFAULT_CONFIG)).toContain('impact=~"operational|degraded_performance"}');
    expect(hour(DEFAULT_CONFIG)).toMatch(/impact=~"partial_outage\|major_outage"\}\[1h\]\)\) \* 0\n/);
    expect(hour(DEFAULT_CONFIG)).not.toContain('under_maintenance');
    expect(bool(DEFAULT_CONFIG)).toContain('< bool 3');
    // Only major outages count, and maintenance is available time.
    const majorOnly = slo({ impactWeights: { degraded_performance: 0, partial_outage: 0, major_outage: 1 }, maintenance: 'available' });
    expect(hour(majorOnly)).toContain('impact=~"operational|under_maintenance|degraded_performance|partial_outage"}');
    expect(bool(majorOnly)).toContain('< bool 4');
    // Degraded performance at half weight, with every burn-rate pair a ticket.
    const tickets = DEFAULT_CONFIG.slo.burnRateAlerts.map((pair) => ({ ...pair, severity: 'warning' as const }));
    const halfDegraded = slo({ impactWeights: { degraded_performance: 0.5, partial_outage: 1, major_outage: 1 }, burnRateAlerts: tickets });
    expect(hour(halfDegraded)).toMatch(/impact=~"degraded_performance"\}\[1h\]\)\) \* 0\.5\n/);
    expect(bool(halfDegraded)).toContain('< bool 2');
  });

  it('never takes increase() or rate() of the impact seconds, in the rules or the dashboards: a replica ahead leaving would look like a counter reset', () => {
    const readers = generatedFiles().filter(({ content }) => content.includes('statusmate_component_impact_seconds_total'));
    expect(readers.length).toBeGreaterThanOrEqual(3);
    for (const { path, content } of readers) {
      expect(content, path).not.toMatch(/\b(increase|rate|irate|resets)\(\s*[a-z_:]*statusmate_component_impact_seconds_total/);
      expect(content, path).toContain('min_over_time(');
    }
  });

  it('refuses a severity policy under which degraded performance pages, and weights that fall as the impact worsens, naming the field', () => {
    const degradedPages = {
      ...DEFAULT_CONFIG,
      alerts: { ...DEFAULT_CONFIG.alerts, componentDegradedPerformance: { severity: 'critical', for: '30m' } },
    };
    expect(() => mixinConfigSchema.parse(degradedPages)).toThrow(/componentDegradedPerformance/);
    const degradedBurns = {
      ...DEFAULT_CONFIG,
      slo: { ...DEFAULT_CONFIG.slo, impactWeights: { degraded_performance: 0.5, partial_outage: 1, major_outage: 1 } },
    };
    expect(() => mixinConfigSchema.parse(degradedBurns)).toThrow(/impactWeights.*degraded_performance|degraded performance would page/s);
    const falling = { ...DEFAULT_CONFIG, slo: { ...DEFAULT_CONFIG.slo, impactWeights: { degraded_performance: 0, partial_outage: 1, major_outage: 0.5 } } };
    expect(() => mixinConfigSchema.parse(falling)).toThrow(/must not fall/);
    const old = { ...DEFAULT_CONFIG, slo: { ...DEFAULT_CONFIG.slo, unavailableFrom: 'partial_outage' } };
    expect(() => mixinConfigSchema.parse(old)).toThrow(/unavailableFrom/);
  });

  it('refuses a burn-rate alert that would reach Alertmanager before the outage alert that inhibits it', () => {
    const early = {
      ...DEFAULT_CONFIG,
      slo: { ...DEFAULT_CONFIG.slo, burnRateAlerts: [{ long: '1h', short: '5m', burnRate: 14.4, severity: 'critical', for: '2m' }] },
    };
    expect(() => mixinConfigSchema.parse(early)).toThrow(/burnRateAlerts.*for|must be longer than the for of componentMajorOutage/s);
  });

  it('evaluates the burn-rate alerts in the group of the outage alerts that inhibit them, after them, so that both resolve in one evaluation', () => {
    // The inhibitions of the example Alertmanager config whose target is the burn-rate alert: its
    // sources must resolve in the same evaluation, or an Alertmanager flush between the outage
    // alert's resolution and the burn-rate alert's (a group interval later) pages the outage again.
    const example = parseYaml(readFileSync(new URL('../prometheus/alertmanager.example.yml', import.meta.url), 'utf8')) as {
      inhibit_rules: { source_matchers: string[]; target_matchers: string[] }[];
    };
    const alertnameRegex = (matchers: string[]) => {
      const found = matchers.map((m) => /^alertname=~?"(.+)"$/.exec(m)?.[1]).find((value) => value !== undefined);
      return new RegExp(`^(?:${found ?? ''})$`);
    };
    const burn = 'StatusMateComponentErrorBudgetBurn';
    const sources = example.inhibit_rules
      .filter((rule) => alertnameRegex(rule.target_matchers).test(burn) && !alertnameRegex(rule.source_matchers).test('StatusMateExporterDown'))
      .map((rule) => alertnameRegex(rule.source_matchers));
    expect(sources.length).toBeGreaterThan(0);
    for (const config of [DEFAULT_CONFIG, chartConfig(DEFAULT_CONFIG)]) {
      const groups = buildRules(config).groups.map((group) => group.rules.map((rule) => rule.alert).filter((name) => name !== undefined));
      const burnGroups = groups.filter((names) => names.includes(burn));
      expect(burnGroups).toHaveLength(1);
      const names = burnGroups[0] ?? [];
      for (const source of sources) {
        const inhibitors = groups.flat().filter((name) => source.test(name));
        expect(inhibitors.length).toBeGreaterThan(0);
        for (const name of inhibitors) expect(names.indexOf(name), name).toBeGreaterThanOrEqual(0);
        expect(Math.max(...names.flatMap((name, i) => (source.test(name) ? [i] : [])))).toBeLessThan(names.indexOf(burn));
      }
    }
  });

  it('leaves StatusMateExporterAbsent out of the chart, where StatusMateExporterDown already fires for a release without targets', () => {
    expect(alertsOf(DEFAULT_CONFIG).some((rule) => rule.alert === 'StatusMateExporterAbsent')).toBe(true);
    expect(alertsOf(chartConfig(DEFAULT_CONFIG)).some((rule) => rule.alert === 'StatusMateExporterAbsent')).toBe(false);
  });

  it('selects the release in every selector of the chart variant, recorded series included', () => {
    for (const expr of exprs(chartConfig(DEFAULT_CONFIG))) {
      for (const selector of expr.matchAll(/\b([a-z_]+:[a-z_0-9]+:[a-z0-9_]+|up|statusmate_[a-z_]+)(\{[^}]*\})?(?=[\s)[]|$)/g)) {
        expect(selector[2] ?? '', `${selector[0]} in ${expr}`).toContain(`job="${CHART_JOB_PLACEHOLDER}", namespace="${CHART_NAMESPACE_PLACEHOLDER}"`);
      }
    }
  });

  it('rejects a config with an unknown key or a bad duration, naming the field', () => {
    expect(() => mixinConfigSchema.parse({ ...DEFAULT_CONFIG, clusterLable: 'x' })).toThrow(/clusterLable/);
    const bad = { ...DEFAULT_CONFIG, alerts: { ...DEFAULT_CONFIG.alerts, storeDown: { severity: 'critical', for: '2 minutes' } } };
    expect(() => mixinConfigSchema.parse(bad)).toThrow(/storeDown/);
  });

  it('scopes the chart variant to one release by placeholders, and lets a release without targets page', () => {
    const chart = exprs(chartConfig(DEFAULT_CONFIG)).join('\n');
    expect(chart).toContain(`job="${CHART_JOB_PLACEHOLDER}", namespace="${CHART_NAMESPACE_PLACEHOLDER}"`);
    expect(chart).not.toContain('job=~');
    const down = alertsOf(chartConfig(DEFAULT_CONFIG)).find((rule) => rule.alert === 'StatusMateExporterDown');
    expect(down?.expr).toContain(`absent(up{job="${CHART_JOB_PLACEHOLDER}"`);
    const plainDown = alertsOf(DEFAULT_CONFIG).find((rule) => rule.alert === 'StatusMateExporterDown');
    expect(plainDown?.expr).not.toContain('absent(');
  });
});
