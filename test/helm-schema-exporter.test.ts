import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { findHelm, objectsOfKind, onlyOfKind, renderChart, type K8sObject, type RenderOptions } from './support/helm.js';

// A value the chart renders but the exporter refuses at start is found only once the pod crash-loops
// (exit 78) — and with the default SQLite volume the Deployment is Recreate, so the old pod is
// already gone: an upgrade with such a value is an outage until it is rolled back. The schema must
// refuse at `helm install/upgrade/template` what the exporter's zod schema refuses, and accept what
// it accepts. Each value here is rendered with real helm and the rendered environment (the chart's
// own Secrets read back) is handed to the exporter's loadConfig.

const helmTool = findHelm();
const helm = helmTool.path ?? 'helm';

type Case = { value: string; options: RenderOptions; exporterAccepts: boolean };

const token = (value: string, exporterAccepts: boolean): Case => ({ value, options: { setString: { 'webhook.token': value } }, exporterAccepts });
const alertmanagerUrl = (value: string, exporterAccepts: boolean): Case => ({
  value,
  options: { setString: { 'webhook.token': 'chart-token', 'alertmanager.urls[0]': value } },
  exporterAccepts,
});
const redisUrl = (value: string, exporterAccepts: boolean): Case => ({
  value,
  options: { set: { 'config.store': 'redis' }, setString: { 'webhook.token': 'chart-token', 'redis.url': value } },
  exporterAccepts,
});

const CASES: Record<string, { path: string; cases: Case[] }> = {
  'webhook.token': {
    path: '/webhook/token',
    cases: [
      // An accent: an HTTP header carries Latin-1, so the token could never be presented alike.
      token('pässwort-123', false),
      token('tøken', false),
      token('!#$%&()*+-./:;<=>?@^_`|~A9', true),
      // Helm's --set-string splits on an unescaped comma.
      token('new-token\\,old-token', true),
    ],
  },
  'alertmanager.urls': {
    path: '/alertmanager/urls/0',
    cases: [
      alertmanagerUrl('http://alertmanager:9093/?tenant=a', false),
      alertmanagerUrl('http://alertmanager:9093/#silences', false),
      alertmanagerUrl('https://alertmanager.monitoring.svc:9093/prefix/', true),
      alertmanagerUrl('http://10.0.0.7:9093', true),
    ],
  },
  'redis.url': {
    path: '/redis/url',
    cases: [
      // A "#" or "/" left unencoded in the password ends the host part; the database is 0 to 99.
      redisUrl('redis://:p#ss@redis:6379/0', false),
      redisUrl('redis://:pa/ss@redis:6379/0', false),
      redisUrl('redis://:p%zz@redis:6379', false),
      redisUrl('redis://redis:6379/db0', false),
      redisUrl('redis://redis:6379/100', false),
      redisUrl('redis://:p%40ss%23@redis:6379/15', true),
      redisUrl('rediss://statusmate:secret@redis.internal:6380', true),
      redisUrl('redis://redis:6379/', true),
      // The host follows the last @, as the exporter's URL parser reads it.
      redisUrl('redis://:p@ss@redis:6379/0', true),
      redisUrl('redis://[::1]:6379/0', true),
    ],
  },
};

/** The exporter container's environment as the pod gets it: literal values, and the chart's own Secrets read back. */
function podEnv(objects: K8sObject[]): Record<string, string> {
  const secrets = objectsOfKind(objects, 'Secret');
  const container = onlyOfKind(objects, 'Deployment').spec.template.spec.containers.find((c) => c.name === 'exporter');
  const env: Record<string, string> = {};
  for (const variable of container?.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref === undefined) {
      env[variable.name] = variable.value ?? '';
      continue;
    }
    const secret = secrets.find((s) => s.metadata.name === ref.name);
    const encoded = secret?.data?.[ref.key];
    env[variable.name] =
      encoded === undefined ? (secret?.stringData?.[ref.key] ?? 'from-a-secret-the-chart-does-not-render') : Buffer.from(encoded, 'base64').toString('utf8');
  }
  return env;
}

function exporterVerdict(env: Record<string, string>): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe.skipIf(helmTool.skipReason !== undefined)('values the chart renders are values the exporter starts on', () => {
  for (const [value, { path, cases }] of Object.entries(CASES)) {
    it(`refuses the ${value} the exporter refuses, naming it, and renders the ones it takes`, () => {
      const wrong: string[] = [];
      for (const c of cases) {
        const result = renderChart(helm, c.options);
        if (!result.ok) {
          if (c.exporterAccepts) wrong.push(`${JSON.stringify(c.value)}: the exporter takes it, the chart refuses it: ${result.stderr.trim()}`);
          else if (!result.stderr.includes(path)) wrong.push(`${JSON.stringify(c.value)}: refused without naming ${path}: ${result.stderr.trim()}`);
          continue;
        }
        const refusal = exporterVerdict(podEnv(result.objects));
        if (!c.exporterAccepts && refusal === undefined) throw new Error(`the case ${JSON.stringify(c.value)} is one the exporter takes: fix the test`);
        if (c.exporterAccepts && refusal !== undefined)
          throw new Error(`the case ${JSON.stringify(c.value)} is one the exporter refuses (${refusal}): fix the test`);
        if (refusal !== undefined) wrong.push(`${JSON.stringify(c.value)}: the chart renders it, the exporter stops at start: ${refusal}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});
