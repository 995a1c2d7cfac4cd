import { describe, expect, it } from 'vitest';
import { CHART_JOB_PLACEHOLDER, CHART_NAMESPACE_PLACEHOLDER, DEFAULT_CONFIG, chartConfig, mixinConfigSchema, type MixinConfig } from '../mixin/config.js';
import { staleFiles } from '../mixin/generate.js';
import { buildRules } from '../mixin/rules.js';

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
      alerts: { ...DEFAULT_CONFIG.alerts, componentMajorOutage: { severity: 'warning', for: '3m', keepFiringFor: '10m' } },
      slo: { ...DEFAULT_CONFIG.slo, availabilityObjective: 0.99 },
    });
    const major = alertsOf(config).find((rule) => rule.alert === 'StatusMateComponentMajorOutage');
    expect([major?.labels?.severity, major?.for, major?.keep_firing_for]).toEqual(['warning', '3m', '10m']);
    expect(major?.annotations?.description).toContain('for more than 3 minutes');
    const burn = alertsOf(config).filter((rule) => rule.alert === 'StatusMateComponentErrorBudgetBurn');
    expect(burn.map((rule) => rule.expr.includes('(14.4 * 0.01)') || rule.expr.includes('(6 * 0.01)'))).toEqual([true, true]);
    expect(burn[0]?.annotations?.summary).toContain('99% availability');
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
