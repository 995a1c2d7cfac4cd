import { describe, expect, it } from 'vitest';
import { CHART_JOB_PLACEHOLDER, CHART_NAMESPACE_PLACEHOLDER, DEFAULT_CONFIG, chartConfig, mixinConfigSchema, type MixinConfig } from '../mixin/config.js';
import { staleFiles } from '../mixin/generate.js';
import { RECORD, buildRules } from '../mixin/rules.js';

const exprs = (config: MixinConfig) => buildRules(config).groups.flatMap((group) => group.rules.map((rule) => rule.expr));
const alertsOf = (config: MixinConfig) => buildRules(config).groups.flatMap((group) => group.rules.filter((rule) => rule.alert));

describe('the mixin', () => {
  it('has its rules file, the chart rules and the dashboards committed exactly as `npm run mixin` generates them', () => {
    expect(staleFiles(), 'run npm run mixin and commit the result').toEqual([]);
  });

  it('puts the configured selector into every selector of every rule', () => {
    const config = { ...DEFAULT_CONFIG, selector: 'job="statusmate", env="prod"' };
    for (const expr of exprs(config)) {
      const selectors = [...expr.matchAll(/\b(up|statusmate_[a-z_]+)\{([^}]*)\}/g)];
      for (const selector of selectors) expect(selector[2]).toContain('job="statusmate", env="prod"');
    }
    expect(exprs(config).join('\n')).not.toContain('statusmate-exporter.*');
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

  it('counts partial and major outages against the objective by default, and only major ones with unavailableFrom major_outage', () => {
    const available = (config: MixinConfig) =>
      buildRules(config)
        .groups.flatMap((group) => group.rules)
        .find((rule) => rule.record === RECORD.available)?.expr;
    expect(available(DEFAULT_CONFIG)).toContain('< bool 3');
    expect(available(mixinConfigSchema.parse({ ...DEFAULT_CONFIG, slo: { ...DEFAULT_CONFIG.slo, unavailableFrom: 'major_outage' } }))).toContain('< bool 4');
  });

  it('refuses a severity policy under which degraded performance pages, naming the field', () => {
    const degradedPages = {
      ...DEFAULT_CONFIG,
      alerts: { ...DEFAULT_CONFIG.alerts, componentDegradedPerformance: { severity: 'critical', for: '30m' } },
    };
    expect(() => mixinConfigSchema.parse(degradedPages)).toThrow(/componentDegradedPerformance/);
    const degradedBurns = { ...DEFAULT_CONFIG, slo: { ...DEFAULT_CONFIG.slo, unavailableFrom: 'degraded_performance' } };
    expect(() => mixinConfigSchema.parse(degradedBurns)).toThrow(/unavailableFrom/);
  });

  it('refuses a burn-rate alert that would reach Alertmanager before the outage alert that inhibits it', () => {
    const early = {
      ...DEFAULT_CONFIG,
      slo: { ...DEFAULT_CONFIG.slo, burnRateAlerts: [{ long: '1h', short: '5m', burnRate: 14.4, severity: 'critical', for: '2m' }] },
    };
    expect(() => mixinConfigSchema.parse(early)).toThrow(/burnRateAlerts.*for|must be longer than the for of componentMajorOutage/s);
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
