import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_VARIABLES, loadConfig } from '../src/config.js';
import { findHelm, onlyOfKind, renderObjects, type RenderOptions } from './support/helm.js';

// The chart renders a value for most variables the exporter reads, from values.yaml. Where the
// exporter has a default too, the two must agree: a chart default drifting from the exporter's
// (a limit raised in src/config.ts and the README, not in values.yaml) gives a Kubernetes install
// another exporter than the one documented, and nothing else would notice.

const helmTool = findHelm();
const helm = helmTool.path ?? 'helm';

/**
 * The chart's deliberate differences from the exporter's defaults, each with its reason. A variable
 * listed here must still differ: one that came to agree is taken off the list.
 */
const DELIBERATE: Record<string, string> = {
  // The exporter's ./data/statusmate-exporter.db is relative to a checkout's working directory;
  // in the pod the root filesystem is read-only and the store lives on the chart's volume at /data
  // (no value moves it: _helpers.tpl, statusmate-exporter.envSources).
  SQLITE_PATH: 'the store on the chart volume mounted at /data',
  // The exporter has no owner unless told; the chart names the install (<namespace>/<fullname>,
  // values.yaml redis.logOwner) so that a release given another's keyPrefix refuses that log,
  // not ready, instead of folding both releases' events into one state.
  REDIS_LOG_OWNER: 'the release that owns the shared Redis log',
};

/**
 * Default values, and the fewest values that turn on the parts whose variables the chart renders
 * only then. The variables those values set themselves (`setBy`) are the user's, not defaults.
 */
const SCENARIOS: { name: string; options: RenderOptions; setBy: string[] }[] = [
  { name: 'default values', options: {}, setBy: [] },
  { name: 'config.store=redis', options: { set: { 'config.store': 'redis' }, setString: { 'redis.url': 'redis://redis:6379/0' } }, setBy: ['STORE'] },
  {
    name: 'alertmanager.urls and statusPages.existingConfigMap',
    options: { set: { 'alertmanager.urls[0]': 'http://alertmanager:9093' }, setString: { 'statusPages.existingConfigMap': 'pages' } },
    setBy: ['ALERTMANAGER_URL', 'STATUS_PAGES_FILE'],
  },
];

// ALERTMANAGER_URL and REDIS_URL set: without them the Alertmanager settings would not reach the
// configuration, and any value of theirs would compare equal.
const BASE = { ALERTMANAGER_URL: 'http://alertmanager:9093', REDIS_URL: 'redis://redis:6379/0' };
const DEFAULTS = loadConfig(BASE);

/** The literal variables (not from a Secret) of the exporter container rendered with `options`. */
function renderedEnv(options: RenderOptions): { name: string; value: string }[] {
  const { objects } = renderObjects(helm, { ...options, setString: { 'webhook.token': 'chart-token', ...options.setString } });
  const container = onlyOfKind(objects, 'Deployment').spec.template.spec.containers.find((c) => c.name === 'exporter');
  if (container === undefined) throw new Error('no exporter container');
  return (container.env ?? []).flatMap((variable) => (variable.value === undefined ? [] : [{ name: variable.name, value: variable.value }]));
}

/** True when the exporter, given `name=value`, runs as it does with `name` unset: compared as parsed, so "262144" equals 262144. */
const isExporterDefault = (name: string, value: string): boolean => isDeepStrictEqual(loadConfig({ ...BASE, [name]: value }), DEFAULTS);

describe.skipIf(helmTool.skipReason !== undefined)("the chart's environment for the exporter", () => {
  // Rendered once the tests run, not when they are collected: a skipped suite has no helm.
  let rendered: ((typeof SCENARIOS)[number] & { env: { name: string; value: string }[] })[] = [];
  beforeAll(() => {
    rendered = SCENARIOS.map((scenario) => ({ ...scenario, env: renderedEnv(scenario.options) }));
  });

  it('names only variables the exporter reads', () => {
    const unknown = rendered.flatMap(({ name, env }) => env.filter((variable) => !KNOWN_VARIABLES.includes(variable.name)).map((v) => `${name}: ${v.name}`));
    expect(unknown).toEqual([]);
  });

  it("gives every variable the exporter's own default, but for the deliberate differences", () => {
    const drifted = rendered.flatMap(({ name, env, setBy }) =>
      env
        .filter((variable) => !setBy.includes(variable.name) && !(variable.name in DELIBERATE) && !isExporterDefault(variable.name, variable.value))
        .map((variable) => `${name}: ${variable.name}=${JSON.stringify(variable.value)}`),
    );
    expect(drifted).toEqual([]);
  });

  it('still differs from the exporter in each deliberate difference, rendered with the values that turn its part on', () => {
    const differing = new Set(rendered.flatMap(({ env }) => env.filter((v) => !isExporterDefault(v.name, v.value)).map((v) => v.name)));
    expect(Object.keys(DELIBERATE).filter((name) => !differing.has(name))).toEqual([]);
  });
});
