import { formatAlertMatcher } from '../src/domain/alert-matchers.js';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../src/inventory/file.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  CHART_DIR,
  REPO_ROOT,
  buildValidator,
  findHelm,
  lint,
  objectsOfKind,
  onlyOfKind,
  renderChart as renderChartAsIs,
  renderNotes as renderNotesAsIs,
  renderObjects as renderObjectsAsIs,
  validate,
  OPERATOR_APIS,
  type Deployment,
  type K8sObject,
  type Service,
  type RenderOptions,
  type Validator,
} from './support/helm.js';
import { findTool } from './support/tools.js';

const helmTool = findHelm();
const helm = helmTool.path ?? 'helm';
const CI_FILES = readdirSync(join(CHART_DIR, 'ci'))
  .filter((file) => file.endsWith('-values.yaml'))
  .sort()
  .map((file) => `ci/${file}`);
const CHART_RULES_FILE = join(CHART_DIR, 'files', 'prometheus', 'statusmate.rules.yml');

type Rule = {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};
type ServiceMonitorWithScrape = K8sObject & {
  spec: { sampleLimit?: number; endpoints: Array<{ scheme?: string; tlsConfig?: unknown; authorization?: unknown }> };
};
const ruleList = (rule: { spec: { groups: unknown[] } }): Rule[] => (rule.spec.groups as Array<{ rules: Rule[] }>).flatMap((group) => group.rules);
const generatedRules = (): Rule[] => ruleList({ spec: parseYaml(readFileSync(CHART_RULES_FILE, 'utf8')) as { groups: unknown[] } });
const DASHBOARDS_DIR = join(REPO_ROOT, 'grafana', 'dashboards');
const dashboardFiles = readdirSync(DASHBOARDS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
  .map((entry) => entry.name)
  .sort();
const TOKEN = 'ci-token-never-in-plain-text';

/**
 * The chart requires a token and never generates one, so a render that does not set the token's
 * source itself (no values file, no webhook.* value) gets TOKEN; the token's own tests call the
 * *AsIs functions.
 */
function withToken(options: RenderOptions = {}): RenderOptions {
  const values = Object.keys({ ...options.set, ...options.setString });
  if ((options.valuesFiles ?? []).length > 0 || values.some((key) => key.startsWith('webhook.'))) return options;
  return { ...options, setString: { 'webhook.token': TOKEN, ...options.setString } };
}
const renderChart = (helmPath: string, options?: RenderOptions) => renderChartAsIs(helmPath, withToken(options));
const renderObjects = (helmPath: string, options?: RenderOptions) => renderObjectsAsIs(helmPath, withToken(options));
const renderNotes = (helmPath: string, options?: RenderOptions) => renderNotesAsIs(helmPath, withToken(options));

/** The value sets the chart is rendered with in these tests, by scenario. */
const SCENARIOS: Record<string, RenderOptions> = {
  defaults: {},
  'defaults with the Prometheus Operator': { apiVersions: OPERATOR_APIS },
  everything: { valuesFiles: ['ci/everything-values.yaml'], apiVersions: OPERATOR_APIS },
  'existing secret and claim': { valuesFiles: ['ci/existing-secret-values.yaml'] },
  'persistence off': { valuesFiles: ['ci/no-persistence-values.yaml'] },
  'Redis store with three replicas': { valuesFiles: ['ci/redis-replicas-values.yaml'] },
  'Redis store scaled by a HorizontalPodAutoscaler': { valuesFiles: ['ci/redis-autoscaling-values.yaml'] },
  'status pages, metrics port and extra containers': { valuesFiles: ['ci/status-pages-values.yaml'] },
};

const kinds = (objects: K8sObject[]) => objects.map((o) => o.kind).sort();
const exporterContainer = (deployment: Deployment) => {
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'exporter');
  if (!container) throw new Error('no exporter container');
  return container;
};
const envOf = (deployment: Deployment, name: string) => exporterContainer(deployment).env?.find((e) => e.name === name);
const isSubset = (subset: Record<string, string>, of: Record<string, string> | undefined) =>
  Object.entries(subset).every(([key, value]) => of?.[key] === value);

describe.skipIf(helmTool.skipReason !== undefined)('helm lint --strict', () => {
  it('passes on the default values, and reports the token they lack (lint turns fail into a note)', () => {
    const result = lint(helm);
    expect(result.output).toContain('0 chart(s) failed');
    expect(result.output).toContain('set webhook.token');
    expect(result.status).toBe(0);
  });

  it('finds the scenario values files under ci/', () => {
    expect(CI_FILES.length).toBeGreaterThanOrEqual(4);
  });

  it.each(CI_FILES)('passes on %s', (file) => {
    const result = lint(helm, [file]);
    expect(result.output).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('the chart rendered with its default values', () => {
  let objects: K8sObject[] = [];
  beforeAll(() => {
    objects = renderObjects(helm, { setString: { 'webhook.token': TOKEN } }).objects;
  });

  it('holds a Deployment, Service, ServiceAccount, token Secret, PVC and the dashboards, and no Ingress or NetworkPolicy', () => {
    expect(kinds(objects)).toEqual([...dashboardFiles.map(() => 'ConfigMap'), 'Deployment', 'PersistentVolumeClaim', 'Secret', 'Service', 'ServiceAccount']);
  });

  it('skips the ServiceMonitor and PrometheusRule where the cluster lacks the Prometheus Operator, and NOTES says so', () => {
    expect(objectsOfKind(objects, 'ServiceMonitor')).toEqual([]);
    expect(objectsOfKind(objects, 'PrometheusRule')).toEqual([]);
    const notes = renderNotes(helm, { setString: { 'webhook.token': TOKEN } });
    expect(notes).toContain('No ServiceMonitor was created: the cluster serves no monitoring.coreos.com/v1 ServiceMonitor');
    expect(notes).toContain('No PrometheusRule was created');
    expect(notes).toContain('http://sm-statusmate-exporter.monitoring.svc:9877/metrics');
    // No chart rules here: the repository's select any job starting with the exporter's name.
    expect(notes).toContain('job=~"statusmate-exporter.*"');
  });

  it('adds the ServiceMonitor and PrometheusRule where the cluster serves the Prometheus Operator kinds', () => {
    const withOperator = renderObjects(helm, { apiVersions: OPERATOR_APIS, setString: { 'webhook.token': TOKEN } }).objects;
    expect(onlyOfKind(withOperator, 'ServiceMonitor').spec.endpoints[0]?.port).toBe('http');
    expect(onlyOfKind(withOperator, 'PrometheusRule').spec.groups.length).toBeGreaterThan(0);
    const notes = renderNotes(helm, { apiVersions: OPERATOR_APIS, setString: { 'webhook.token': TOKEN } });
    expect(notes).toContain('The ServiceMonitor sm-statusmate-exporter asks the Prometheus Operator to scrape /metrics');
    expect(notes).toContain('--set commonLabels.release=<name>');
  });

  it('leaves the job to the operator (the Service name) and renders the generated rules scoped to it, otherwise unchanged', () => {
    const withOperator = renderObjects(helm, { apiVersions: OPERATOR_APIS }).objects;
    const endpoint = onlyOfKind(withOperator, 'ServiceMonitor').spec.endpoints[0];
    expect(endpoint?.relabelings).toBeUndefined();
    const service = onlyOfKind(withOperator, 'Service');
    const scoped = readFileSync(CHART_RULES_FILE, 'utf8')
      .replaceAll('__STATUSMATE_JOB__', service.metadata.name)
      .replaceAll('__STATUSMATE_NAMESPACE__', 'monitoring');
    const expected = (parseYaml(scoped) as { groups: unknown[] }).groups;
    expect(onlyOfKind(withOperator, 'PrometheusRule').spec.groups).toEqual(expected);
    expect(scoped).toContain(`up{job="sm-statusmate-exporter", namespace="monitoring"}`);
  });

  it('renders two releases whose rules select only their own install', () => {
    const exprsOf = (release: string, namespace: string) =>
      ruleList(onlyOfKind(renderObjects(helm, { apiVersions: OPERATOR_APIS, release, namespace }).objects, 'PrometheusRule'))
        .map((rule) => rule.expr)
        .join('\n');
    const prod = exprsOf('prod', 'statusmate');
    const staging = exprsOf('staging', 'statusmate-staging');
    expect(prod).toContain('job="prod-statusmate-exporter", namespace="statusmate"');
    expect(prod).not.toContain('staging');
    expect(staging).toContain('job="staging-statusmate-exporter", namespace="statusmate-staging"');
  });

  it('gives two releases the same dashboard files and uids, so NOTES says to ship them with one release only', () => {
    const dashboardsOf = (release: string) =>
      objectsOfKind(renderObjects(helm, { release }).objects, 'ConfigMap')
        .filter((cm) => cm.metadata.labels?.grafana_dashboard === '1')
        .flatMap((cm) => Object.entries(cm.data).map(([file, json]) => `${file} ${(JSON.parse(json) as { uid: string }).uid}`));
    // The sidecar writes each key to a file of that name: uninstalling either release deletes them for both.
    expect(dashboardsOf('team-a')).toEqual(dashboardsOf('team-b'));
    expect(renderNotes(helm)).toContain('with several releases, keep them in one and set\n   dashboards.enabled=false in the others');
    expect(renderNotes(helm, { set: { 'dashboards.enabled': 'false' } })).not.toContain('dashboards.enabled=false');
  });

  it('renders nothing of the monitoring stack when its toggles are off', () => {
    const off = renderObjects(helm, {
      apiVersions: OPERATOR_APIS,
      set: { 'serviceMonitor.enabled': 'false', 'prometheusRule.enabled': 'false', 'dashboards.enabled': 'false' },
    }).objects;
    expect(kinds(off)).toEqual(['Deployment', 'PersistentVolumeClaim', 'Secret', 'Service', 'ServiceAccount']);
  });

  it("selects the Deployment's own pods, and the Service selects the same pods on the http port", () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    const service = onlyOfKind(objects, 'Service');
    const selector = deployment.spec.selector.matchLabels;
    expect(selector).toEqual({ 'app.kubernetes.io/name': 'statusmate-exporter', 'app.kubernetes.io/instance': 'sm' });
    expect(isSubset(selector, deployment.spec.template.metadata.labels)).toBe(true);
    expect(service.spec.selector).toEqual(selector);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 9877, targetPort: 'http', protocol: 'TCP' }]);
    expect(exporterContainer(deployment).ports).toEqual([{ name: 'http', containerPort: 9877, protocol: 'TCP' }]);
  });

  it('gives every object the standard labels and the release namespace', () => {
    for (const object of objects) {
      expect(object.metadata.labels, object.kind).toMatchObject({
        'app.kubernetes.io/name': 'statusmate-exporter',
        'app.kubernetes.io/instance': 'sm',
        'app.kubernetes.io/managed-by': 'Helm',
        'helm.sh/chart': 'statusmate-exporter-0.1.0',
      });
      expect(object.metadata.namespace, object.kind).toBe('monitoring');
    }
  });

  it('runs the pod as the restricted Pod Security Standard requires', () => {
    const pod = onlyOfKind(objects, 'Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.hostIPC ?? false).toBe(false);
    expect((pod.volumes ?? []).filter((v) => v.hostPath !== undefined)).toEqual([]);
    for (const container of pod.containers) {
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.securityContext?.privileged ?? false).toBe(false);
      expect(container.securityContext?.capabilities?.add ?? []).toEqual([]);
    }
  });

  it('probes liveness on /healthz and readiness on /readyz through the webhook port', () => {
    const container = exporterContainer(onlyOfKind(objects, 'Deployment'));
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('requests CPU and memory and caps memory', () => {
    const resources = exporterContainer(onlyOfKind(objects, 'Deployment')).resources;
    expect(resources?.requests).toHaveProperty('cpu');
    expect(resources?.requests).toHaveProperty('memory');
    expect(resources?.limits).toHaveProperty('memory');
  });

  it('keeps the store on the claim at /data with the Recreate strategy, and /tmp writable', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    const pvc = onlyOfKind(objects, 'PersistentVolumeClaim');
    expect(deployment.spec.strategy.type).toBe('Recreate');
    expect(pvc.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
    const volumes = deployment.spec.template.spec.volumes ?? [];
    expect(volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).toBe(pvc.metadata.name);
    expect(volumes.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
    const mounts = exporterContainer(deployment).volumeMounts ?? [];
    expect(mounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(mounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(envOf(deployment, 'SQLITE_PATH')?.value).toBe('/data/statusmate-exporter.db');
    expect(envOf(deployment, 'STORE')?.value).toBe('sqlite');
  });

  it("passes the token only through a secretKeyRef to the chart's Secret", () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    const secret = onlyOfKind(objects, 'Secret');
    const token = envOf(deployment, 'WEBHOOK_TOKEN');
    expect(token?.value).toBeUndefined();
    expect(token?.valueFrom?.secretKeyRef).toEqual({ name: secret.metadata.name, key: 'webhook-token' });
    expect(secret.stringData).toBeUndefined();
    expect(Buffer.from(secret.data?.['webhook-token'] ?? '', 'base64').toString('utf8')).toBe(TOKEN);
  });

  it('turns the ServiceAccount token automount off on the account and the pod', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    const account = onlyOfKind(objects, 'ServiceAccount');
    expect(account.automountServiceAccountToken).toBe(false);
    expect(deployment.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(deployment.spec.template.spec.serviceAccountName).toBe(account.metadata.name);
  });

  it('refuses to render without webhook.token or webhook.existingSecret, instead of generating a token that changes on every render', () => {
    const result = renderChartAsIs(helm);
    expect(result.ok).toBe(false);
    const stderr = result.ok ? '' : result.stderr;
    expect(stderr).toContain('set webhook.token (--set-string webhook.token=<token>');
    expect(stderr).toContain('or webhook.existingSecret');
    expect(stderr).toContain('GitOps');
  });

  it('renders the same Secret and pod template twice from the same values, so GitOps tools see no drift', () => {
    const render = () => renderObjectsAsIs(helm, { setString: { 'webhook.token': TOKEN } }).manifest;
    expect(render()).toBe(render());
  });

  it('turns service links off, so a Service named "metrics" cannot inject METRICS_PORT=tcp://…', () => {
    expect(onlyOfKind(objects, 'Deployment').spec.template.spec.enableServiceLinks).toBe(false);
  });

  it('mounts no status pages file and sets no STATUS_PAGES_FILE by default', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(envOf(deployment, 'STATUS_PAGES_FILE')).toBeUndefined();
    expect(deployment.spec.template.spec.volumes?.map((v) => v.name)).toEqual(['data', 'tmp']);
    expect(deployment.spec.template.spec.initContainers).toBeUndefined();
    expect(deployment.spec.template.spec.containers.map((c) => c.name)).toEqual(['exporter']);
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('maintenance silences in Alertmanager', () => {
  it('are off by default: no ALERTMANAGER_ variable', () => {
    const env = exporterContainer(onlyOfKind(renderObjects(helm).objects, 'Deployment')).env ?? [];
    expect(env.filter((e) => e.name.startsWith('ALERTMANAGER_') || e.name.startsWith('MAINTENANCE_SILENCE'))).toEqual([]);
  });

  it('pass the cluster as one ALERTMANAGER_URL, and the credentials only through secretKeyRefs to the named Secret', () => {
    const deployment = onlyOfKind(
      renderObjects(helm, {
        set: {
          'alertmanager.urls': '{http://am-0.monitoring:9093,http://am-1.monitoring:9093}',
          'alertmanager.silenceFrom': 'scheduled',
          'alertmanager.existingSecret': 'am-auth',
          'alertmanager.usernameKey': 'user',
          'alertmanager.passwordKey': 'password',
        },
      }).objects,
      'Deployment',
    );
    expect(envOf(deployment, 'ALERTMANAGER_URL')?.value).toBe('http://am-0.monitoring:9093,http://am-1.monitoring:9093');
    expect(envOf(deployment, 'MAINTENANCE_SILENCE_MARGIN_SECONDS')?.value).toBe('900');
    expect(envOf(deployment, 'MAINTENANCE_SILENCE_FROM')?.value).toBe('scheduled');
    expect(envOf(deployment, 'ALERTMANAGER_USERNAME')?.valueFrom?.secretKeyRef).toEqual({ name: 'am-auth', key: 'user' });
    expect(envOf(deployment, 'ALERTMANAGER_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'am-auth', key: 'password' });
    expect(envOf(deployment, 'ALERTMANAGER_BEARER_TOKEN')).toBeUndefined();
  });

  it('refuse a credential key without the Secret that holds it, and a URL with credentials in it', () => {
    const noSecret = renderChart(helm, { set: { 'alertmanager.urls': '{http://am:9093}', 'alertmanager.bearerTokenKey': 'token' } });
    expect(noSecret.ok).toBe(false);
    if (!noSecret.ok) expect(noSecret.stderr).toContain('alertmanager.existingSecret is required');
    expect(renderChart(helm, { set: { 'alertmanager.urls': '{http://user:pass@am:9093}' } }).ok).toBe(false);
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('the webhook token', () => {
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const forms = [token, Buffer.from(token).toString('base64')];

  it.each(Object.keys(SCENARIOS).filter((name) => name !== 'existing secret and claim'))(
    'appears in no object but the Secret, and there only base64-encoded (%s)',
    (scenario) => {
      const { manifest, objects } = renderObjects(helm, { ...SCENARIOS[scenario], setString: { 'webhook.token': token } });
      expect(manifest).not.toContain(token);
      for (const object of objects.filter((o) => o.kind !== 'Secret')) {
        for (const form of forms) expect(JSON.stringify(object), `${object.kind}/${object.metadata.name}`).not.toContain(form);
      }
      const secret = onlyOfKind(
        objects.filter((o) => o.kind !== 'Secret' || o.metadata.name === 'sm-statusmate-exporter'),
        'Secret',
      );
      expect(secret.stringData).toBeUndefined();
      expect(secret.data?.['webhook-token']).toBe(forms[1]);
    },
  );

  it('is not printed by NOTES.txt, which shows how to read it from the Secret instead', () => {
    const notes = renderNotes(helm, { setString: { 'webhook.token': token } });
    expect(notes).not.toContain(token);
    expect(notes).toContain('kubectl --namespace monitoring get secret sm-statusmate-exporter');
  });

  it('is what NOTES.txt tells a first try to open the landing page with: the operator views take it on the webhook port', () => {
    const notes = renderNotes(helm, { setString: { 'webhook.token': token } });
    expect(notes).toContain('http://127.0.0.1:9877/?token=$TOKEN');
    expect(notes).not.toContain('shows on / and');
  });

  it('sends a first try with metricsPort to the landing page and /metrics on the metrics port, which the webhook port answers 404', () => {
    // With METRICS_PORT set, GET / and /metrics on PORT answer 404 "served on METRICS_PORT": a
    // first try that forwarded the webhook port alone found neither.
    const notes = renderNotes(helm, { setString: { 'webhook.token': token }, set: { 'metricsPort.enabled': 'true', 'metricsPort.port': '9100' } });
    expect(notes).toContain('port-forward service/sm-statusmate-exporter 9877 9100\n');
    expect(notes).toContain('http://127.0.0.1:9100/metrics');
    expect(notes).toContain('http://127.0.0.1:9100/ ');
    expect(notes).not.toContain('http://127.0.0.1:9877/?token=');
  });

  it('changes the checksum/secret pod annotation when it changes, so pods restart with it', () => {
    const annotation = (value: string) =>
      onlyOfKind(renderObjects(helm, { setString: { 'webhook.token': value } }).objects, 'Deployment').spec.template.metadata.annotations?.['checksum/secret'];
    expect(annotation('first-token')).toMatch(/^[a-f0-9]{64}$/);
    expect(annotation('first-token')).toBe(annotation('first-token'));
    expect(annotation('first-token')).not.toBe(annotation('second-token'));
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('the chart with existingSecret and existingClaim', () => {
  let objects: K8sObject[] = [];
  beforeAll(() => {
    objects = renderObjects(helm, SCENARIOS['existing secret and claim']).objects;
  });

  it('creates no Secret and no claim', () => {
    expect(kinds(objects).filter((kind) => kind !== 'ConfigMap')).toEqual(['Deployment', 'Service', 'ServiceAccount']);
  });

  it('reads the token from the named Secret and key, and mounts the named claim', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(envOf(deployment, 'WEBHOOK_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'statusmate-webhook', key: 'tokens' });
    expect(deployment.spec.template.spec.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).toBe('statusmate-data');
    expect(deployment.spec.strategy.type).toBe('Recreate');
  });

  it('has no checksum annotation for a Secret it does not render', () => {
    expect(onlyOfKind(objects, 'Deployment').spec.template.metadata.annotations?.['checksum/secret']).toBeUndefined();
  });

  it('refuses a token set alongside existingSecret', () => {
    const result = renderChart(helm, { ...SCENARIOS['existing secret and claim'], setString: { 'webhook.token': 'x' } });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain('webhook.token and webhook.existingSecret are both set');
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('the chart with status pages (ci/status-pages-values.yaml)', () => {
  let objects: K8sObject[] = [];
  beforeAll(() => {
    objects = renderObjects(helm, SCENARIOS['status pages, metrics port and extra containers']).objects;
  });
  const statusPagesMap = () => {
    const map = objectsOfKind(objects, 'ConfigMap').find((cm) => cm.metadata.name === 'sm-statusmate-exporter-status-pages');
    if (!map) throw new Error('no status pages ConfigMap');
    return map;
  };

  it('renders statusPages.pages into a ConfigMap that the exporter itself parses as STATUS_PAGES_FILE', () => {
    const text = statusPagesMap().data['status-pages.yaml'] ?? '';
    const inventory = parseInventory(text, 'status-pages.yaml', { ACME_WEBHOOK_TOKEN: 'acme-token' });
    expect(inventory.pages.map((page) => [page.id, page.name, page.components.map((c) => c.name)])).toEqual([
      ['acme', 'ACME public status', ['API', 'Website']],
      ['payments', 'ACME Payments status', ['Card processing']],
    ]);
    expect(inventory.pageTokens.get('acme')).toEqual(['acme-token']);
    // The alerts a component explains, which its maintenances silence.
    expect(inventory.pages[0]?.components[0]?.alertMatchers?.map(formatAlertMatcher)).toEqual(['service="api"', 'env=~"prod|canary"']);
  });

  it('mounts the ConfigMap read-only as a directory (no subPath, so updates arrive) and points STATUS_PAGES_FILE into it', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    const volume = deployment.spec.template.spec.volumes?.find((v) => v.name === 'status-pages');
    expect(volume?.configMap).toEqual({ name: statusPagesMap().metadata.name, items: [{ key: 'status-pages.yaml', path: 'status-pages.yaml' }] });
    const mount = exporterContainer(deployment).volumeMounts?.find((m) => m.name === 'status-pages');
    expect(mount).toEqual({ name: 'status-pages', mountPath: '/etc/statusmate-exporter', readOnly: true });
    expect(envOf(deployment, 'STATUS_PAGES_FILE')?.value).toBe('/etc/statusmate-exporter/status-pages.yaml');
    expect(envOf(deployment, 'STATUS_PAGES_WATCH_SECONDS')?.value).toBe('10');
  });

  it('refuses webhooks for undeclared pages by default, and learns them with config.learnStatusPages', () => {
    expect(envOf(onlyOfKind(objects, 'Deployment'), 'LEARN_STATUS_PAGES')?.value).toBe('false');
    const learning = renderObjects(helm, {
      ...SCENARIOS['status pages, metrics port and extra containers'],
      set: { 'config.learnStatusPages': 'true' },
    }).objects;
    expect(envOf(onlyOfKind(learning, 'Deployment'), 'LEARN_STATUS_PAGES')?.value).toBe('true');
  });

  it('does not restart the pods when the pages change: the exporter reloads the mounted file itself', () => {
    const annotations = (name: string) =>
      onlyOfKind(
        renderObjects(helm, { ...SCENARIOS['status pages, metrics port and extra containers'], set: { 'statusPages.pages[1].name': name } }).objects,
        'Deployment',
      ).spec.template.metadata.annotations;
    expect(annotations('Payments')).toEqual(annotations('Payments renamed'));
  });

  it("reads each page's token_env from its Secret through a secretKeyRef, and keeps extraEnv", () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(envOf(deployment, 'ACME_WEBHOOK_TOKEN')).toEqual({
      name: 'ACME_WEBHOOK_TOKEN',
      valueFrom: { secretKeyRef: { name: 'acme-webhook', key: 'token' } },
    });
    expect(envOf(deployment, 'MAX_ACTIVE_INCIDENTS')?.value).toBe('500');
  });

  it('probes liveness and readiness on the metrics port, away from the webhook port the Ingress exposes', () => {
    const container = exporterContainer(onlyOfKind(objects, 'Deployment'));
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  it('adds extraVolumes, extraVolumeMounts, extraContainers and initContainers to the pod', () => {
    const pod = onlyOfKind(objects, 'Deployment').spec.template.spec;
    expect(pod.volumes?.find((v) => v.name === 'ca-bundle')).toEqual({ name: 'ca-bundle', configMap: { name: 'corporate-ca' } });
    expect(exporterContainer(onlyOfKind(objects, 'Deployment')).volumeMounts).toContainEqual({
      name: 'ca-bundle',
      mountPath: '/etc/ssl/corporate',
      readOnly: true,
    });
    expect(pod.containers.map((c) => c.name)).toEqual(['exporter', 'log-shipper']);
    expect(pod.initContainers?.map((c) => c.name)).toEqual(['wait-for-ca']);
    expect(pod.enableServiceLinks).toBe(false);
  });

  it.each([
    [{ 'extraVolumes[0].name': 'tmp', 'extraVolumes[0].emptyDir.medium': 'Memory' }, "extraVolumes has a volume named tmp, the name of the chart's own volume"],
    [{ 'extraVolumes[0].name': 'data', 'extraVolumes[0].emptyDir.medium': 'Memory' }, 'extraVolumes has a volume named data'],
    [
      { 'extraVolumeMounts[0].name': 'ca-bundle', 'extraVolumeMounts[0].mountPath': '/data' },
      'extraVolumeMounts mounts ca-bundle at /data, where the chart mounts the store',
    ],
    [
      { 'extraVolumeMounts[0].name': 'ca-bundle', 'extraVolumeMounts[0].mountPath': '/etc/statusmate-exporter/' },
      'where the chart mounts the status pages file',
    ],
    // The status pages' ConfigMap over the store or /tmp (the API server refuses it), or over the image's files (the pod exits 1).
    [{ 'statusPages.mountPath': '/data' }, 'statusPages.mountPath is /data, where the chart mounts the store'],
    [{ 'statusPages.mountPath': '/tmp/' }, 'statusPages.mountPath is /tmp/, where the chart mounts the writable /tmp'],
    [{ 'statusPages.mountPath': '/app' }, "statusPages.mountPath is /app, which would hide the exporter's own files under /app"],
    [{ 'statusPages.mountPath': '/app/config' }, "statusPages.mountPath is /app/config, which would hide the exporter's own files under /app"],
    // The schema refuses "/" itself; "//" is the root too.
    [{ 'statusPages.mountPath': '//' }, "statusPages.mountPath is //, which would hide the exporter's own files under /app"],
  ])('refuses %j, a volume or mount the chart has already (the API server would refuse the Deployment)', (set, message) => {
    const result = renderChart(helm, { ...SCENARIOS['status pages, metrics port and extra containers'], set });
    expect(result.ok ? '' : result.stderr).toContain(message);
  });

  it('mounts statusPages.existingConfigMap under its key and renders no ConfigMap of its own', () => {
    const { objects: own } = renderObjects(helm, SCENARIOS['existing secret and claim']);
    expect(objectsOfKind(own, 'ConfigMap').filter((cm) => !cm.metadata.name.includes('dashboard'))).toEqual([]);
    const deployment = onlyOfKind(own, 'Deployment');
    expect(deployment.spec.template.spec.volumes?.find((v) => v.name === 'status-pages')?.configMap).toEqual({
      name: 'statusmate-pages',
      items: [{ key: 'pages.yaml', path: 'pages.yaml' }],
    });
    expect(envOf(deployment, 'STATUS_PAGES_FILE')?.value).toBe('/etc/statusmate-exporter/pages.yaml');
  });

  it.each([
    [
      { 'statusPages.pages[0].id': 'acme', 'statusPages.pages[0].token_env': 'ACME_TOKEN' },
      'statusPages.pages[0] (acme) reads its token from ACME_TOKEN, which nothing sets: add statusPages.tokenSecrets.ACME_TOKEN',
    ],
    [{ 'statusPages.pages[0].id': 'acme', 'statusPages.existingConfigMap': 'pages' }, 'statusPages.pages and statusPages.existingConfigMap are both set'],
    [{ 'statusPages.pages[0].id': 'acme', 'statusPages.pages[0].componentz': 'x' }, "additional properties 'componentz' not allowed"],
    [{ 'statusPages.pages[0].id': 'acme', 'statusPages.pages[0].uuid': 'nope' }, "at '/statusPages/pages/0/uuid'"],
    // The exporter refuses these at start (exit 78, a crash loop): the schema refuses them at render.
    [
      { 'statusPages.pages[0].id': 'acme', 'statusPages.pages[0].token_env': 'ACME_KEY', 'extraEnv[0].name': 'ACME_KEY' },
      "at '/statusPages/pages/0/token_env'",
    ],
    [{ 'statusPages.pages[0].id': 'acme shop' }, "at '/statusPages/pages/0/id'"],
    [{ 'statusPages.pages[0].id': 'acme-' }, "at '/statusPages/pages/0/id'"],
    [{ 'statusPages.tokenSecrets.ACME_TOKEN.name': 'acme' }, "missing property 'key'"],
    // A misspelt field of an extraEnv or extraEnvFrom entry: the API server drops a field it does not know (a warning under
    // Helm 3's client-side apply), and `valeu` would leave MAX_CONNECTIONS empty, which the exporter reads as unset.
    [{ 'extraEnv[0].name': 'MAX_CONNECTIONS', 'extraEnv[0].valeu': '5000' }, "at '/extraEnv/0': additional properties 'valeu' not allowed"],
    [{ 'extraEnv[0].name': 'ACME_TOKEN', 'extraEnv[0].valueFrom.secretKeyRef.nam': 's' }, "at '/extraEnv/0/valueFrom/secretKeyRef'"],
    [{ 'extraEnvFrom[0].secretRef.nam': 'page-tokens' }, "at '/extraEnvFrom/0/secretRef': additional properties 'nam' not allowed"],
    [{ 'extraEnvFrom[0].configMapRef.optinal': 'true', 'extraEnvFrom[0].configMapRef.name': 'c' }, "at '/extraEnvFrom/0/configMapRef'"],
  ])('refuses %j and says why', (set, message) => {
    const result = renderChart(helm, { set });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain(message);
  });

  it('accepts the page ids and token_env names the exporter accepts, and the exporter parses what it renders', () => {
    const set = {
      'statusPages.pages[0].id': 'acme.eu_1',
      'statusPages.pages[0].token_env': 'ACME_EU_TOKEN',
      'extraEnv[0].name': 'ACME_EU_TOKEN',
      'extraEnv[0].value': 'x',
    };
    const map = objectsOfKind(renderObjects(helm, { set }).objects, 'ConfigMap').find((cm) => cm.metadata.name.endsWith('-status-pages'));
    const inventory = parseInventory(map?.data['status-pages.yaml'] ?? '', 'status-pages.yaml', { ACME_EU_TOKEN: 'x' });
    expect(inventory.pages.map((page) => page.id)).toEqual(['acme.eu_1']);
  });

  it('gives in NOTES.txt one webhook URL per declared page, and a first try a URL the file does not refuse with 422', () => {
    // Without ?status_page= an event that names no page goes to DEFAULT_STATUS_PAGE, which the
    // file does not declare: the exporter answers such a first try 422, not the "applied" NOTES promises.
    const notes = renderNotes(helm, SCENARIOS['status pages, metrics port and extra containers']);
    expect(notes).toContain('http://sm-statusmate-exporter.monitoring.svc:9877/webhook?status_page=acme');
    expect(notes).toContain('http://sm-statusmate-exporter.monitoring.svc:9877/webhook?status_page=payments');
    expect(notes).toContain("'http://127.0.0.1:9877/webhook?status_page=acme'");
    expect(notes).not.toMatch(/\/webhook'?\s/);
    const ownMap = renderNotes(helm, { set: { 'statusPages.existingConfigMap': 'my-pages' } });
    expect(ownMap).toContain('/webhook?status_page=<id of a page in your file>');
  });

  it('says in NOTES.txt where the pages are and that an edit needs no restart', () => {
    const notes = renderNotes(helm, SCENARIOS['status pages, metrics port and extra containers']);
    expect(notes).toContain('4. Status pages: 2 page(s) in ConfigMap sm-statusmate-exporter-status-pages, key status-pages.yaml.');
    expect(notes).toContain('An edit reaches the pods without a restart');
    expect(notes).toContain('reloads it within 10 s');
    expect(renderNotes(helm)).not.toContain('Status pages:');
    const unwatched = renderNotes(helm, { ...SCENARIOS['status pages, metrics port and extra containers'], set: { 'statusPages.watchSeconds': '0' } });
    expect(unwatched).toContain('statusPages.watchSeconds is 0: after an edit, POST /-/reload on each pod or restart them.');
  });

  it('tells a release on a SQLite volume in NOTES.txt how to back the store up while it runs, on the port that serves /-/backup', () => {
    expect(renderNotes(helm)).toContain('statusmate-exporter backup --url http://127.0.0.1:9877 --token-file <file with the token> --out statusmate.db');
    const onMetricsPort = renderNotes(helm, { set: { 'metricsPort.enabled': 'true', 'metricsPort.port': '9100' } });
    // That port serves it without a token (README, METRICS_PORT): none is asked for.
    expect(onMetricsPort).toContain('backup --url http://127.0.0.1:9100 --out statusmate.db');
    // The port-forward it needs is shown with it: the webhook port's, shown in step 1, does not serve backups then.
    expect(onMetricsPort).toMatch(/port-forward service\/\S+ 9100\n\s+statusmate-exporter backup/);
    expect(renderNotes(helm, { set: { 'persistence.enabled': 'false' } })).not.toContain('Backups:');
    expect(renderNotes(helm, { set: { 'config.store': 'memory', 'persistence.enabled': 'false' } })).not.toContain('Backups:');
  });

  it('adds extraEnvFrom to the exporter container, accepts a page token from it, and refuses a misspelt source', () => {
    const set = {
      'statusPages.pages[0].id': 'acme',
      'statusPages.pages[0].token_env': 'ACME_TOKEN',
      'extraEnvFrom[0].secretRef.name': 'statusmate-page-tokens',
      'extraEnvFrom[1].configMapRef.name': 'statusmate-settings',
    };
    const container = exporterContainer(onlyOfKind(renderObjects(helm, { set }).objects, 'Deployment'));
    expect((container as { envFrom?: unknown }).envFrom).toEqual([
      { secretRef: { name: 'statusmate-page-tokens' } },
      { configMapRef: { name: 'statusmate-settings' } },
    ]);
    expect(container.env?.map((e) => e.name)).toContain('WEBHOOK_TOKEN');
    expect(renderChart(helm, { set: { 'extraEnvFrom[0].secretRef': 'x' } }).ok).toBe(false);
    expect(renderChart(helm, { set: { 'extraEnvFrom[0].secretRefs.name': 'x' } }).ok).toBe(false);
  });

  it('takes the EnvVar and EnvFromSource fields Kubernetes knows in extraEnv and extraEnvFrom', () => {
    const set = {
      'extraEnv[0].name': 'MAX_CONNECTIONS',
      'extraEnv[0].value': '5000',
      'extraEnv[1].name': 'AVAILABILITY_WEIGHTS',
      'extraEnv[1].valueFrom.configMapKeyRef.name': 'tuning',
      'extraEnv[1].valueFrom.configMapKeyRef.key': 'weights',
      'extraEnv[1].valueFrom.configMapKeyRef.optional': 'true',
      'extraEnv[2].name': 'BUILD_REVISION',
      'extraEnv[2].valueFrom.fieldRef.fieldPath': "metadata.labels['app.kubernetes.io/version']",
      'extraEnv[3].name': 'LEDGER_RETENTION_DAYS',
      'extraEnv[3].valueFrom.secretKeyRef.name': 's',
      'extraEnv[3].valueFrom.secretKeyRef.key': 'k',
      'extraEnvFrom[0].prefix': 'X_',
      'extraEnvFrom[0].secretRef.name': 'page-tokens',
      'extraEnvFrom[0].secretRef.optional': 'true',
    };
    // A number is no EnvVar value (the API server refuses `value: 5000`): --set-string, or quotes.
    const result = renderChart(helm, { set, setString: { 'extraEnv[0].value': '5000' } });
    expect(result.ok ? '' : result.stderr).toBe('');
    expect(renderChart(helm, { set }).ok ? '' : 'refused').toBe('refused');
  });

  // Server-side apply (Argo CD, Flux, Helm 4) refuses a Deployment whose env lists a name twice
  // ("duplicate entries for key"), and a client-side apply that later drops one copy drops both.
  it.each([
    [
      { 'extraEnv[0].name': 'LOG_LEVEL', 'extraEnv[0].value': 'debug' },
      'lists LOG_LEVEL, which the chart sets itself: remove that entry (set it with config.logLevel)',
    ],
    [{ 'extraEnv[0].name': 'SQLITE_PATH', 'extraEnv[0].value': '/data/x.db' }, 'lists SQLITE_PATH, which the chart sets itself'],
    [
      { 'statusPages.tokenSecrets.WEBHOOK_TOKEN.name': 's', 'statusPages.tokenSecrets.WEBHOOK_TOKEN.key': 'k' },
      'set it with webhook.token or webhook.existingSecret',
    ],
    [
      {
        'extraEnv[0].name': 'ACME_TOKEN',
        'extraEnv[0].value': 'x',
        'statusPages.tokenSecrets.ACME_TOKEN.name': 's',
        'statusPages.tokenSecrets.ACME_TOKEN.key': 'k',
      },
      'ACME_TOKEN is listed twice',
    ],
    [{ 'extraEnv[0].name': 'FOO', 'extraEnv[0].value': 'a', 'extraEnv[1].name': 'FOO', 'extraEnv[1].value': 'b' }, 'FOO is listed twice'],
  ])('refuses %j, which would list a variable twice, naming the value to set', (set, message) => {
    const result = renderChart(helm, { set });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain(message);
  });

  it('lists each variable of the exporter container once in every scenario', () => {
    for (const options of Object.values(SCENARIOS)) {
      const names = exporterContainer(onlyOfKind(renderObjects(helm, options).objects, 'Deployment')).env?.map((e) => e.name) ?? [];
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    }
  });

  it('accepts a token_env set through extraEnv instead of tokenSecrets', () => {
    const result = renderChart(helm, {
      set: { 'statusPages.pages[0].id': 'acme', 'statusPages.pages[0].token_env': 'ACME_TOKEN', 'extraEnv[0].name': 'ACME_TOKEN', 'extraEnv[0].value': 'x' },
    });
    expect(result.ok ? '' : result.stderr).toBe('');
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('the chart with persistence off', () => {
  it('creates no claim, keeps /data on a size-limited emptyDir and rolls pods one at a time', () => {
    const { objects } = renderObjects(helm, SCENARIOS['persistence off']);
    expect(objectsOfKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(deployment.spec.template.spec.volumes?.find((v) => v.name === 'data')).toEqual({ name: 'data', emptyDir: { sizeLimit: '256Mi' } });
    expect(deployment.spec.strategy.type).toBe('RollingUpdate');
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('replicas', () => {
  it('refuses replicaCount 2 with the default SQLite store and says why', () => {
    const result = renderChart(helm, { set: { replicaCount: '2' } });
    expect(result.ok).toBe(false);
    const stderr = result.ok ? '' : result.stderr;
    expect(stderr).toContain('replicaCount is 2');
    expect(stderr).toContain('runs as a single replica');
    expect(stderr).toContain('Set replicaCount to 1');
  });

  it('refuses an existingClaim with persistence off, which would leave the store on an emptyDir and the claim unused', () => {
    const result = renderChart(helm, { set: { 'persistence.enabled': 'false', 'persistence.existingClaim': 'statusmate-data' } });
    expect(result.ok ? '' : result.stderr).toContain('persistence.existingClaim is statusmate-data but persistence.enabled is false');
    const claimed = onlyOfKind(renderObjects(helm, { set: { 'persistence.existingClaim': 'statusmate-data' } }).objects, 'Deployment');
    expect(claimed.spec.template.spec.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim).toEqual({ claimName: 'statusmate-data' });
  });

  it('refuses replicaCount 2 with SQLite even without a volume claim', () => {
    expect(renderChart(helm, { set: { replicaCount: '2', 'persistence.enabled': 'false' } }).ok).toBe(false);
  });

  it('refuses replicaCount 2 with the memory store, whose pods would each hold other webhooks', () => {
    const result = renderChart(helm, { set: { replicaCount: '2', 'config.store': 'memory', 'persistence.enabled': 'false' } });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain('config.store "memory" runs as a single replica');
  });

  it('listens on 0.0.0.0 by default and on :: with listenAddress for IPv6-only clusters, and refuses a pod-specific address', () => {
    expect(envOf(onlyOfKind(renderObjects(helm).objects, 'Deployment'), 'HOST')?.value).toBe('0.0.0.0');
    const v6 = onlyOfKind(renderObjects(helm, { set: { listenAddress: '::' } }).objects, 'Deployment');
    expect(envOf(v6, 'HOST')?.value).toBe('::');
    expect(exporterContainer(v6).env?.filter((e) => e.name === 'HOST')).toHaveLength(1);
    const pinned = renderChart(helm, { set: { listenAddress: '10.0.0.1' } });
    expect(pinned.ok).toBe(false);
    expect(pinned.ok ? '' : pinned.stderr).toContain('listenAddress');
  });

  it('renders no PodDisruptionBudget for a single replica', () => {
    expect(objectsOfKind(renderObjects(helm).objects, 'PodDisruptionBudget')).toEqual([]);
  });

  it('renders a PodDisruptionBudget over the pods for three replicas on Redis', () => {
    const { objects } = renderObjects(helm, SCENARIOS['Redis store with three replicas']);
    const deployment = onlyOfKind(objects, 'Deployment');
    const pdb = onlyOfKind(objects, 'PodDisruptionBudget');
    expect(deployment.spec.replicas).toBe(3);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    // Not-ready pods (all of them while Redis is down) must not block a node's drain, on a cluster that knows the field (1.27).
    const current = renderObjects(helm, { ...SCENARIOS['Redis store with three replicas'], kubeVersion: '1.31.0' }).objects;
    expect(onlyOfKind(current, 'PodDisruptionBudget').spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    // An older one is not sent it.
    const old = onlyOfKind(renderObjects(helm, { ...SCENARIOS['Redis store with three replicas'], kubeVersion: '1.26.0' }).objects, 'PodDisruptionBudget');
    expect(old.spec.unhealthyPodEvictionPolicy).toBeUndefined();
  });

  it('makes no volume claim for the memory store, which keeps nothing on disk, and rolls its pod', () => {
    const { objects } = renderObjects(helm, { set: { 'config.store': 'memory' } });
    expect(objectsOfKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    expect(onlyOfKind(objects, 'Deployment').spec.strategy.type).toBe('RollingUpdate');
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('autoscaling (ci/redis-autoscaling-values.yaml)', () => {
  const REDIS = { 'config.store': 'redis' };
  const REDIS_URL = { 'redis.url': 'redis://redis.example.internal:6379/0' };
  let objects: K8sObject[] = [];
  beforeAll(() => {
    objects = renderObjects(helm, SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler']).objects;
  });

  it('renders an autoscaling/v2 HorizontalPodAutoscaler named like the Deployment, targeting it, with the values given', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    const hpa = onlyOfKind(objects, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.metadata.name).toBe('sm-statusmate-exporter');
    expect(hpa.metadata.namespace).toBe('monitoring');
    expect(hpa.metadata.labels).toEqual(deployment.metadata.labels);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBe(6);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(hpa.spec.behavior).toEqual({ scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }] } });
  });

  it('follows fullnameOverride and namespaceOverride like the Deployment', () => {
    const renamed = renderObjects(helm, {
      ...SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler'],
      set: { fullnameOverride: 'statusmate', namespaceOverride: 'apps' },
    }).objects;
    const hpa = onlyOfKind(renamed, 'HorizontalPodAutoscaler');
    expect(hpa.metadata).toMatchObject({ name: 'statusmate', namespace: 'apps' });
    expect(hpa.spec.scaleTargetRef.name).toBe(onlyOfKind(renamed, 'Deployment').metadata.name);
  });

  it('leaves spec.replicas out of the Deployment, so the autoscaler owns it and a GitOps sync does not reset it', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(Object.keys(deployment.spec)).not.toContain('replicas');
  });

  it('renders spec.replicas and no HorizontalPodAutoscaler when autoscaling is off', () => {
    const defaults = renderObjects(helm).objects;
    expect(onlyOfKind(defaults, 'Deployment').spec.replicas).toBe(1);
    expect(objectsOfKind(defaults, 'HorizontalPodAutoscaler')).toEqual([]);
    const three = renderObjects(helm, SCENARIOS['Redis store with three replicas']).objects;
    expect(onlyOfKind(three, 'Deployment').spec.replicas).toBe(3);
    expect(objectsOfKind(three, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it('with autoscaling.external leaves spec.replicas to an autoscaler managed outside the chart and renders none itself', () => {
    const external = renderObjects(helm, { set: { ...REDIS, ...REDIS_URL, 'autoscaling.enabled': 'true', 'autoscaling.external': 'true' } }).objects;
    expect(Object.keys(onlyOfKind(external, 'Deployment').spec)).not.toContain('replicas');
    expect(objectsOfKind(external, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(onlyOfKind(external, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    // external alone changes nothing: it says whose autoscaler it is, autoscaling.enabled says there is one.
    const alone = renderObjects(helm, { set: { ...REDIS, ...REDIS_URL, 'autoscaling.external': 'true' } }).objects;
    expect(onlyOfKind(alone, 'Deployment').spec.replicas).toBe(1);
  });

  it('keeps a PodDisruptionBudget over the pods the autoscaler runs, even from one replica', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    const pdb = onlyOfKind(objects, 'PodDisruptionBudget');
    expect(pdb.metadata.name).toBe(deployment.metadata.name);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    const fromOne = renderObjects(helm, { ...SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler'], set: { 'autoscaling.minReplicas': '1' } });
    expect(onlyOfKind(fromOne.objects, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  });

  it.each([
    ['sqlite', { 'autoscaling.enabled': 'true' }],
    ['sqlite', { 'autoscaling.enabled': 'true', 'autoscaling.external': 'true' }],
    ['memory', { 'autoscaling.enabled': 'true', 'config.store': 'memory' }],
  ])('refuses autoscaling with config.store %s, which runs one replica, naming the values and the fix (%j)', (store, set) => {
    const result = renderChart(helm, { set });
    expect(result.ok).toBe(false);
    const stderr = result.ok ? '' : result.stderr;
    expect(stderr).toContain(`autoscaling.enabled is true, but config.store "${store}" runs as a single replica`);
    expect(stderr).toContain('Set autoscaling.enabled to false, or use config.store "redis"');
  });

  it('refuses minReplicas above maxReplicas, naming both', () => {
    const result = renderChart(helm, { ...SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler'], set: { 'autoscaling.minReplicas': '7' } });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain('autoscaling.minReplicas (7) exceeds autoscaling.maxReplicas (6)');
    const equal = renderObjects(helm, { ...SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler'], set: { 'autoscaling.minReplicas': '6' } });
    expect(onlyOfKind(equal.objects, 'HorizontalPodAutoscaler').spec.minReplicas).toBe(6);
  });

  it('refuses a CPU target on a container that requests no CPU, which the HPA cannot compute', () => {
    const result = renderChart(helm, {
      ...SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler'],
      set: { 'resources.requests.cpu': 'null' },
    });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain('autoscaling.targetCPUUtilizationPercentage is 70, a share of resources.requests.cpu, which is not set');
  });

  it('refuses a chart HorizontalPodAutoscaler without a CPU target, which the API server would default to 80% CPU', () => {
    const result = renderChart(helm, {
      ...SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler'],
      set: { 'autoscaling.targetCPUUtilizationPercentage': '0' },
    });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain('autoscaling.targetCPUUtilizationPercentage is 0, but it is the only metric');
  });

  // Every replica holds the whole state: another pod lowers no pod's memory, so a memory target,
  // once passed, would hold maxReplicas for as long as the state lasts.
  it('refuses a memory target, which more replicas cannot bring any pod under', () => {
    for (const cpu of ['70', '0']) {
      const result = renderChart(helm, {
        ...SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler'],
        set: { 'autoscaling.targetMemoryUtilizationPercentage': '85', 'autoscaling.targetCPUUtilizationPercentage': cpu },
      });
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.stderr).toContain('autoscaling.targetMemoryUtilizationPercentage is 85, but every replica on Redis folds the whole log');
    }
  });

  // A replica on Redis uses about 5m of CPU with no webhooks and 10m in its first minute (bench
  // section 10): a target share under 20m has the HPA add pods for next to no load. The chart's
  // default request (10m) at the default target (80) is such a share.
  it.each([
    [undefined, undefined, 'resources.requests.cpu 10m: the HorizontalPodAutoscaler would keep each pod at 8m of CPU'],
    ['24m', '80', 'resources.requests.cpu 24m: the HorizontalPodAutoscaler would keep each pod at 19m of CPU'],
    ['0.03', '50', 'resources.requests.cpu 0.03: the HorizontalPodAutoscaler would keep each pod at 15m of CPU'],
  ])('refuses requests.cpu %s at a target of %s, which idle replicas alone would exceed', (cpu, target, message) => {
    const set: Record<string, string> = { ...REDIS, ...REDIS_URL, 'autoscaling.enabled': 'true' };
    if (cpu !== undefined) set['resources.requests.cpu'] = cpu;
    if (target !== undefined) set['autoscaling.targetCPUUtilizationPercentage'] = target;
    const result = renderChart(helm, { set });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain(`autoscaling.targetCPUUtilizationPercentage is ${target ?? 80} of ${message}`);
    expect(result.ok ? '' : result.stderr).toContain('Raise resources.requests.cpu to what one pod should carry (100m or more)');
  });

  it.each([
    ['25m', '80'],
    ['0.5', '80'],
    ['1', '20'],
    ['40m', '50'],
  ])('renders requests.cpu %s at a target of %s, a share of 20m or more', (cpu, target) => {
    const rendered = renderObjects(helm, {
      set: {
        ...REDIS,
        ...REDIS_URL,
        'autoscaling.enabled': 'true',
        'resources.requests.cpu': cpu,
        'autoscaling.targetCPUUtilizationPercentage': target,
      },
    }).objects;
    expect(onlyOfKind(rendered, 'HorizontalPodAutoscaler').spec.metrics?.[0]?.resource?.target).toEqual({
      type: 'Utilization',
      averageUtilization: Number(target),
    });
  });

  it('leaves the autoscaling values unchecked with autoscaling.external, where the chart renders no HPA', () => {
    const external = renderObjects(helm, {
      set: {
        ...REDIS,
        ...REDIS_URL,
        'autoscaling.enabled': 'true',
        'autoscaling.external': 'true',
        'autoscaling.targetMemoryUtilizationPercentage': '85',
        'autoscaling.minReplicas': '9',
      },
    }).objects;
    expect(objectsOfKind(external, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it('refuses an unknown key under autoscaling', () => {
    const result = renderChart(helm, { ...SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler'], set: { 'autoscaling.maxReplica': '3' } });
    expect(result.ok ? '' : result.stderr).toContain("additional properties 'maxReplica' not allowed");
  });

  it('says in NOTES.txt that the HorizontalPodAutoscaler sets the number of replicas', () => {
    const notes = renderNotes(helm, SCENARIOS['Redis store scaled by a HorizontalPodAutoscaler']);
    expect(notes).toContain('2 to 6 replicas (HorizontalPodAutoscaler sm-statusmate-exporter) share one state in Redis');
    const external = renderNotes(helm, { set: { ...REDIS, ...REDIS_URL, 'autoscaling.enabled': 'true', 'autoscaling.external': 'true' } });
    expect(external).toContain('The replicas your autoscaler runs share one state in Redis');
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('the chart with config.store redis (ci/redis-replicas-values.yaml)', () => {
  let objects: K8sObject[] = [];
  let manifest = '';
  beforeAll(() => {
    const rendered = renderObjects(helm, SCENARIOS['Redis store with three replicas']);
    objects = rendered.objects;
    manifest = stringifyYaml(objects);
  });

  it('makes no claim, keeps /data on an emptyDir and rolls pods one at a time', () => {
    expect(objectsOfKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(deployment.spec.template.spec.volumes?.find((v) => v.name === 'data')?.emptyDir).toBeDefined();
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it('passes the URL only through a secretKeyRef to a Secret of its own, never in plain text', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    const ref = envOf(deployment, 'REDIS_URL')?.valueFrom?.secretKeyRef;
    const secrets = objectsOfKind(objects, 'Secret') as (K8sObject & { data?: Record<string, string> })[];
    const secret = secrets.find((candidate) => candidate.metadata.name === ref?.name);
    expect(ref?.key).toBe('redis-url');
    expect(Buffer.from(secret?.data?.['redis-url'] ?? '', 'base64').toString('utf8')).toBe(
      'rediss://statusmate:ci-redis-password@redis.example.internal:6380/2',
    );
    expect(manifest).not.toContain('ci-redis-password');
    expect(envOf(deployment, 'STORE')?.value).toBe('redis');
    expect(envOf(deployment, 'REDIS_WAIT_REPLICAS')?.value).toBe('1');
    expect(envOf(deployment, 'REDIS_KEY_PREFIX')?.value).toBe('statusmate:');
    expect(envOf(deployment, 'SQLITE_PATH')).toBeUndefined();
    expect(deployment.spec.template.metadata.annotations?.['checksum/redis-secret']).toMatch(/^[0-9a-f]{64}$/);
  });

  it("names the release the shared log's owner, so that another release given its keyPrefix is refused", () => {
    expect(envOf(onlyOfKind(objects, 'Deployment'), 'REDIS_LOG_OWNER')?.value).toBe('monitoring/sm-statusmate-exporter');
    const other = renderObjects(helm, { ...SCENARIOS['Redis store with three replicas'], release: 'staging', namespace: 'web' });
    expect(envOf(onlyOfKind(other.objects, 'Deployment'), 'REDIS_LOG_OWNER')?.value).toBe('web/staging-statusmate-exporter');
    const shared = renderObjects(helm, { ...SCENARIOS['Redis store with three replicas'], setString: { 'redis.logOwner': 'status-fleet' } });
    expect(envOf(onlyOfKind(shared.objects, 'Deployment'), 'REDIS_LOG_OWNER')?.value).toBe('status-fleet');
    const spaced = renderChart(helm, { ...SCENARIOS['Redis store with three replicas'], setString: { 'redis.logOwner': 'two words' } });
    expect(spaced.ok ? '' : spaced.stderr).toContain('logOwner');
  });

  it('says in NOTES.txt that the replicas share one state in Redis, and warns of no lost state', () => {
    const notes = renderNotes(helm, SCENARIOS['Redis store with three replicas']);
    expect(notes).toContain('3 replica(s) share one state in Redis');
    expect(notes).not.toContain('WARNING');
    expect(notes).not.toContain('ci-redis-password');
  });

  it('spreads the pods across nodes by default', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(deployment.spec.template.spec.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: deployment.spec.selector.matchLabels },
      },
    ]);
  });

  it('reads the URL from redis.existingSecret and renders no Secret for it', () => {
    const { objects: own } = renderObjects(helm, {
      set: { 'config.store': 'redis', 'redis.existingSecret': 'team-redis', 'redis.existingSecretKey': 'url', 'webhook.token': 'x' },
    });
    const deployment = onlyOfKind(own, 'Deployment');
    expect(envOf(deployment, 'REDIS_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'team-redis', key: 'url' });
    expect(objectsOfKind(own, 'Secret')).toHaveLength(1); // the webhook token's only
  });

  it.each([
    [{ 'config.store': 'redis' }, 'set redis.url (the chart stores it in a Secret) or redis.existingSecret'],
    [{ 'config.store': 'redis', 'redis.url': 'redis://r:6379', 'redis.existingSecret': 's' }, 'redis.url and redis.existingSecret are both set'],
    [{ 'config.store': 'redis', 'redis.url': 'redis://r:6379', 'networkPolicy.enabled': 'true' }, 'networkPolicy.egress is empty'],
    [{ 'config.store': 'redis', 'redis.url': 'http://r:6379' }, "at '/redis/url'"],
    [
      { 'networkPolicy.enabled': 'true', 'networkPolicy.webhookFrom[0].podSelector.matchLabels.app': 'ingress' },
      'list the scrapers in networkPolicy.metricsFrom',
    ],
    [
      { 'networkPolicy.enabled': 'true', 'networkPolicy.metricsFrom[0].podSelector.matchLabels.app': 'prom' },
      'networkPolicy.metricsFrom cannot narrow /metrics',
    ],
    [{ 'networkPolicy.enabled': 'true', 'alertmanager.urls': '{http://am:9093}' }, 'alertmanager.urls makes the exporter call Alertmanager'],
    [
      { 'alertmanager.urls': '{http://am:9093}', 'alertmanager.existingSecret': 's', 'alertmanager.usernameKey': 'u', 'alertmanager.bearerTokenKey': 'b' },
      'a bearer token or basic auth, not both',
    ],
    [{ 'alertmanager.urls': '{http://am:9093}', 'alertmanager.existingSecret': 's', 'alertmanager.passwordKey': 'p' }, 'go together (basic auth)'],
    [{ 'config.allowedHosts': '{example.com:443}' }, "at '/config/allowedHosts/0'"],
    [{ 'alertmanager.existingSecret': 'am', 'alertmanager.bearerTokenKey': 'token' }, 'alertmanager.urls is empty'],
    [{ 'ingress.enabled': 'true' }, 'the placeholder host statusmate-exporter.example.com'],
  ])('refuses %j and says why', (set, message) => {
    const result = renderChart(helm, { set });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain(message);
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('extraObjects', () => {
  it('installs each map or YAML string with the release, templated, in the order given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'statusmate-extra-objects-'));
    try {
      const file = join(dir, 'extra-values.yaml');
      writeFileSync(
        file,
        [
          'extraObjects:',
          '  - apiVersion: v1',
          '    kind: ConfigMap',
          '    metadata:',
          '      name: "{{ .Release.Name }}-extra"',
          '    data:',
          '      empty: ""',
          '  - |',
          '    apiVersion: v1',
          '    kind: ConfigMap',
          '    metadata:',
          '      name: {{ include "statusmate-exporter.fullname" . }}-more',
          '      namespace: {{ .Release.Namespace }}',
          '',
        ].join('\n'),
      );
      const { objects } = renderObjects(helm, {
        valuesFiles: [relative(CHART_DIR, file)],
        set: { 'dashboards.enabled': 'false' },
        setString: { 'webhook.token': TOKEN },
      });
      const extra = objectsOfKind(objects, 'ConfigMap');
      expect(extra.map((cm) => cm.metadata.name)).toEqual(['sm-extra', 'sm-statusmate-exporter-more']);
      expect(extra[0]?.data).toEqual({ empty: '' });
      expect(extra[1]?.metadata.namespace).toBe('monitoring');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders nothing by default, and the schema refuses an entry that is neither a map nor a string', () => {
    expect(renderObjects(helm).manifest).not.toContain('extra-objects.yaml');
    const result = renderChart(helm, { set: { 'extraObjects[0]': '3' } });
    expect(result.ok ? '' : result.stderr).toContain("at '/extraObjects/0'");
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('the Service', () => {
  type ExposedService = Omit<Service, 'spec'> & {
    spec: Omit<Service['spec'], 'ports'> & {
      type: string;
      externalTrafficPolicy?: string;
      loadBalancerSourceRanges?: string[];
      ports: (Service['spec']['ports'][number] & { nodePort?: number })[];
    };
  };
  const service = (set: Record<string, string>) => onlyOfKind(renderObjects(helm, { set }).objects, 'Service') as unknown as ExposedService;

  it('pins the node port, narrows the load balancer to the given CIDRs and keeps the client address', () => {
    const exposed = service({
      'service.type': 'LoadBalancer',
      'service.nodePort': '30877',
      'service.loadBalancerSourceRanges': '{203.0.113.0/24,2001:db8::/32}',
      'service.externalTrafficPolicy': 'Local',
    });
    expect(exposed.spec.ports.find((p) => p.name === 'http')?.nodePort).toBe(30877);
    expect(exposed.spec.loadBalancerSourceRanges).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    expect(exposed.spec.externalTrafficPolicy).toBe('Local');
  });

  it('sends a ClusterIP Service none of them, which the API server would refuse there', () => {
    const internal = service({ 'service.nodePort': '30877', 'service.loadBalancerSourceRanges': '{203.0.113.0/24}', 'service.externalTrafficPolicy': 'Local' });
    expect(internal.spec).toEqual({
      type: 'ClusterIP',
      selector: internal.spec.selector,
      ports: [{ name: 'http', port: 9877, targetPort: 'http', protocol: 'TCP' }],
    });
    expect(service({ 'service.type': 'NodePort', 'service.loadBalancerSourceRanges': '{203.0.113.0/24}' }).spec.loadBalancerSourceRanges).toBeUndefined();
  });

  it.each([
    [{ 'service.nodePort': '8080' }, "at '/service/nodePort'"],
    [{ 'service.loadBalancerSourceRanges': '{203.0.113.1}' }, "at '/service/loadBalancerSourceRanges/0'"],
    [{ 'service.externalTrafficPolicy': 'local' }, "at '/service/externalTrafficPolicy'"],
  ])('refuses %j', (set, message) => {
    const result = renderChart(helm, { set });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain(message);
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('values.schema.json', () => {
  it.each([
    [{ persistance: '{}' }, "additional properties 'persistance' not allowed"],
    [{ replicaCount: 'two' }, "at '/replicaCount': got string, want integer"],
    [{ 'config.store': 'valkey' }, "at '/config/store': value must be one of 'sqlite', 'memory', 'redis'"],
    [{ 'service.port': '70000' }, "at '/service/port'"],
    [{ 'serviceMonitor.interval': 'often' }, "at '/serviceMonitor/interval'"],
    // The API server refuses it ("must be 1"), at apply rather than at render.
    [{ 'livenessProbe.successThreshold': '2' }, "at '/livenessProbe/successThreshold'"],
    // Both end up in names and the app.kubernetes.io/name label, which a leading dash or a capital breaks.
    [{ nameOverride: '-exporter-' }, "at '/nameOverride'"],
    [{ fullnameOverride: 'StatusMate' }, "at '/fullnameOverride'"],
    // The exporter would stop at start (exit 78): a label Grafana's page selector cannot quote.
    [{ 'config.defaultStatusPage': 'main "site"' }, "at '/config/defaultStatusPage'"],
    // What the Prometheus Operator's CRDs or the API server refuse at apply (durations in the
    // operator's order, a namespace is a DNS label, a percentage at most 100, an Ingress host a
    // DNS name), and a Service name must start with a letter.
    [{ 'serviceMonitor.interval': '30s1m' }, "at '/serviceMonitor/interval'"],
    [
      { 'prometheusRule.alertOverrides.StatusMateComponentPartialOutage.for': '30s1m' },
      "at '/prometheusRule/alertOverrides/StatusMateComponentPartialOutage/for'",
    ],
    [{ namespaceOverride: 'team.a' }, "at '/namespaceOverride'"],
    [
      { 'config.store': 'redis', 'redis.url': 'redis://r', replicaCount: '2', 'podDisruptionBudget.maxUnavailable': '150%' },
      "at '/podDisruptionBudget/maxUnavailable'",
    ],
    [{ 'ingress.enabled': 'true', 'ingress.hosts[0]': '10.0.0.1' }, "at '/ingress/hosts/0'"],
    [{ fullnameOverride: '9x' }, "at '/fullnameOverride'"],
  ])('rejects %j with a message naming the value', (set, message) => {
    const result = renderChart(helm, { set });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain(message);
  });

  it('tells the user a token of digits needs --set-string', () => {
    const result = renderChart(helm, { set: { 'webhook.token': '123456' } });
    expect(result.ok ? '' : result.stderr).toContain("at '/webhook/token': got number, want string");
  });

  it('refuses a scrape timeout longer than the interval, a ServiceMonitor the Prometheus Operator would skip', () => {
    const result = renderChart(helm, { set: { 'serviceMonitor.interval': '15s', 'serviceMonitor.scrapeTimeout': '20s' } });
    expect(result.ok ? '' : result.stderr).toContain('serviceMonitor.scrapeTimeout (20s) exceeds serviceMonitor.interval (15s)');
    expect(renderChart(helm, { set: { 'serviceMonitor.interval': '1m', 'serviceMonitor.scrapeTimeout': '59s' } }).ok).toBe(true);
    expect(renderChart(helm, { set: { 'serviceMonitor.interval': '15s', 'serviceMonitor.scrapeTimeout': '15s' } }).ok).toBe(true);
  });

  it('refuses a port below 1024, which the non-root exporter without capabilities cannot listen on, unless a sysctl allows it', () => {
    const sysctl = { 'podSecurityContext.sysctls[0].name': 'net.ipv4.ip_unprivileged_port_start' };
    expect(renderChart(helm, { set: { 'service.port': '80' } }).ok ? '' : 'refused').toBe('refused');
    const result = renderChart(helm, { set: { 'metricsPort.enabled': 'true', 'metricsPort.port': '443' } });
    expect(result.ok ? '' : result.stderr).toContain(
      'metricsPort.port is 443, but the exporter runs as a non-root user without capabilities and cannot listen below 1024',
    );
    const allowed = renderObjects(helm, { set: { 'service.port': '80', ...sysctl }, setString: { 'podSecurityContext.sysctls[0].value': '0' } }).objects;
    expect(envOf(onlyOfKind(allowed, 'Deployment'), 'PORT')?.value).toBe('80');
    expect(renderChart(helm, { set: { 'service.port': '80', ...sysctl }, setString: { 'podSecurityContext.sysctls[0].value': '81' } }).ok).toBe(false);
  });

  it('refuses a grace period no longer than the shutdown timeout', () => {
    const result = renderChart(helm, { set: { terminationGracePeriodSeconds: '10' } });
    expect(result.ok ? '' : result.stderr).toContain('terminationGracePeriodSeconds (10) must exceed config.shutdownTimeoutSeconds (10)');
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('the chart with everything enabled (ci/everything-values.yaml)', () => {
  let objects: K8sObject[] = [];
  beforeAll(() => {
    objects = renderObjects(helm, SCENARIOS.everything).objects;
  });

  it('adds the Ingress, NetworkPolicy, ServiceMonitor, PrometheusRule and one ConfigMap per dashboard', () => {
    expect(kinds(objects)).toEqual(
      [
        ...dashboardFiles.map(() => 'ConfigMap'),
        'Deployment',
        'Ingress',
        'NetworkPolicy',
        'PersistentVolumeClaim',
        'PrometheusRule',
        'Secret',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
      ].sort(),
    );
  });

  it('annotates the Deployment with deploymentAnnotations (for Reloader), not its pods', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(deployment.metadata.annotations).toEqual({ 'reloader.stakater.com/auto': 'true' });
    expect(deployment.spec.template.metadata.annotations?.['reloader.stakater.com/auto']).toBeUndefined();
    expect(onlyOfKind(renderObjects(helm).objects, 'Deployment').metadata.annotations).toBeUndefined();
  });

  it('serves /metrics on its own port, in the container and the Service', () => {
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(envOf(deployment, 'METRICS_PORT')?.value).toBe('9878');
    expect(exporterContainer(deployment).ports).toContainEqual({ name: 'metrics', containerPort: 9878, protocol: 'TCP' });
    expect(onlyOfKind(objects, 'Service').spec.ports.map((p) => p.name)).toEqual(['http', 'metrics']);
  });

  it('routes only the /webhook path through the Ingress, to the webhook port', () => {
    const ingress = onlyOfKind(objects, 'Ingress');
    const paths = ingress.spec.rules.flatMap((rule) => rule.http.paths);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      expect(path).toEqual({ path: '/webhook', pathType: 'Exact', backend: { service: { name: 'sm-statusmate-exporter', port: { name: 'http' } } } });
    }
  });

  it('lets the ServiceMonitor find the Service, scrape the metrics port and carry its additionalLabels', () => {
    const monitor = onlyOfKind(objects, 'ServiceMonitor');
    const service = onlyOfKind(objects, 'Service');
    expect(isSubset(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.namespaceSelector?.matchNames).toEqual([service.metadata.namespace]);
    const [endpoint] = monitor.spec.endpoints;
    expect(endpoint?.port).toBe('metrics');
    expect(endpoint?.path).toBe('/metrics');
    expect(service.spec.ports.map((p) => p.name)).toContain(endpoint?.port);
    expect(monitor.metadata.labels?.release).toBe('kube-prometheus-stack');
  });

  it('forces serviceMonitor.jobName and scopes every rule to that job in the release namespace', () => {
    const endpoint = onlyOfKind(objects, 'ServiceMonitor').spec.endpoints[0];
    expect(endpoint?.relabelings?.find((r) => r.targetLabel === 'job')?.replacement).toBe('statusmate');
    const exprs = ruleList(onlyOfKind(objects, 'PrometheusRule')).map((rule) => rule.expr);
    const selectors = exprs.flatMap((expr) => [...expr.matchAll(/\b(?:up|statusmate_[a-z_]+)\{([^}]*)\}/g)].map((m) => m[1] ?? ''));
    expect(selectors.length).toBeGreaterThan(15);
    for (const selector of selectors) expect(selector).toMatch(/^job="statusmate", namespace="monitoring"/);
    expect(exprs.join('\n')).not.toContain('__STATUSMATE');
  });

  it('sets the sample limit, scheme, TLS and authorization of the scrape', () => {
    const monitor = onlyOfKind(objects, 'ServiceMonitor') as ServiceMonitorWithScrape;
    expect(monitor.spec.sampleLimit).toBe(50000);
    const [endpoint] = monitor.spec.endpoints;
    expect(endpoint?.scheme).toBe('https');
    expect(endpoint?.tlsConfig).toEqual({
      serverName: 'statusmate-exporter.monitoring.svc',
      ca: { configMap: { name: 'statusmate-exporter-ca', key: 'ca.crt' } },
    });
    expect(endpoint?.authorization).toEqual({ type: 'Bearer', credentials: { name: 'statusmate-exporter-scrape', key: 'token' } });
  });

  it('applies additionalRuleLabels, runbookUrl, disabled and alertOverrides to the alerts, and leaves recording rules alone', () => {
    const rules = ruleList(onlyOfKind(objects, 'PrometheusRule'));
    const alerts = rules.filter((rule) => rule.alert);
    expect(alerts.map((rule) => rule.alert)).not.toContain('StatusMateComponentDegradedPerformance');
    expect(alerts.length).toBe(generatedRules().filter((rule) => rule.alert).length - 1);
    for (const alert of alerts) {
      expect(alert.labels?.team, alert.alert).toBe('sre');
      expect(alert.annotations?.runbook_url).toBe(`https://wiki.example.com/statusmate/${alert.alert?.toLowerCase()}`);
    }
    const partial = alerts.find((rule) => rule.alert === 'StatusMateComponentPartialOutage');
    expect([partial?.for, partial?.labels?.severity]).toEqual(['2m30s', 'critical']);
    const major = alerts.find((rule) => rule.alert === 'StatusMateComponentMajorOutage');
    expect([major?.for, major?.labels?.severity, major?.keep_firing_for]).toEqual(['1m', 'critical', '5m']);
    for (const record of rules.filter((rule) => rule.record)) expect(record.labels).toBeUndefined();
  });

  it('puts each committed dashboard, byte for byte, in a ConfigMap labelled for the Grafana sidecar', () => {
    const configMaps = objectsOfKind(objects, 'ConfigMap');
    expect(dashboardFiles.length).toBeGreaterThan(0);
    for (const file of dashboardFiles) {
      const holder = configMaps.find((cm) => Object.keys(cm.data).includes(file));
      expect(holder, file).toBeDefined();
      expect(Object.keys(holder?.data ?? {})).toEqual([file]);
      expect(holder?.data[file]).toBe(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'));
      expect(holder?.metadata.labels).toMatchObject({ grafana_dashboard: '1', team: 'sre' });
      expect(holder?.metadata.annotations).toEqual({ grafana_folder: 'Status pages' });
      expect(holder?.metadata.name.length).toBeLessThanOrEqual(63);
    }
  });

  it('lets the dashboard label, its value and the folder annotation be configured', () => {
    const configMaps = objectsOfKind(
      renderObjects(helm, {
        set: {
          'dashboards.enabled': 'true',
          'dashboards.label': 'my_dashboards',
          'dashboards.labelValue': 'yes',
          'dashboards.folderAnnotation': 'k8s-sidecar-target-directory',
          'dashboards.folder': '/tmp/dashboards/statusmate',
        },
      }).objects,
      'ConfigMap',
    );
    expect(configMaps.length).toBe(dashboardFiles.length);
    for (const cm of configMaps) {
      expect(cm.metadata.labels?.my_dashboards).toBe('yes');
      expect(cm.metadata.labels?.grafana_dashboard).toBeUndefined();
      expect(cm.metadata.annotations).toEqual({ 'k8s-sidecar-target-directory': '/tmp/dashboards/statusmate' });
    }
  });

  it('opens the webhook port to the ingress controller and the metrics port to Prometheus only, and denies egress', () => {
    const policy = onlyOfKind(objects, 'NetworkPolicy');
    const deployment = onlyOfKind(objects, 'Deployment');
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.egress).toEqual([]);
    const byPort = new Map(policy.spec.ingress.map((rule) => [rule.ports[0]?.port, rule.from]));
    expect(byPort.get('http')).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }]);
    expect(byPort.get('metrics')).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ]);
  });

  it('with /metrics on the webhook port, admits the peers of both lists in one rule (a rule of its own would open the port to all)', () => {
    const peer = (app: string) => ({ podSelector: { matchLabels: { app } } });
    const { objects: shared } = renderObjects(helm, {
      set: {
        'networkPolicy.enabled': 'true',
        'networkPolicy.webhookFrom[0].podSelector.matchLabels.app': 'ingress',
        'networkPolicy.metricsFrom[0].podSelector.matchLabels.app': 'prometheus',
      },
    });
    const policy = onlyOfKind(shared, 'NetworkPolicy');
    expect(policy.spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }], from: [peer('ingress'), peer('prometheus')] }]);
    // Neither list: the port is open, as without a policy's ingress rules.
    const { objects: open } = renderObjects(helm, { set: { 'networkPolicy.enabled': 'true' } });
    expect(onlyOfKind(open, 'NetworkPolicy').spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
  });

  it('refuses a disabled alert or an override that names no alert of its rules (a typo would change nothing)', () => {
    const typos: Record<string, string>[] = [
      { 'prometheusRule.disabled.StatusMateComponentMajorOutag': 'true' },
      { 'prometheusRule.alertOverrides.StatusMateNoSuchAlert.for': '5m' },
    ];
    for (const set of typos) {
      const result = renderChart(helm, { apiVersions: OPERATOR_APIS, set });
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.stderr).toMatch(/names StatusMate\w+, which is no alert of the chart's rules \(.*StatusMateComponentMajorOutage/);
    }
  });

  it("refuses overrides that would page twice for one outage: a burn-rate for not longer than the outage alerts'", () => {
    const twice: Record<string, string>[] = [
      // The chart's example used to be this one: the 1h pair (for 3m) fired before the outage alert could inhibit it.
      { 'prometheusRule.alertOverrides.StatusMateComponentPartialOutage.for': '10m' },
      { 'prometheusRule.alertOverrides.StatusMateComponentMajorOutage.for': '1h' },
      { 'prometheusRule.alertOverrides.StatusMateComponentErrorBudgetBurn.for': '2m' },
    ];
    for (const set of twice) {
      const result = renderChart(helm, { apiVersions: OPERATOR_APIS, set: { ...set, 'webhook.token': 'x' } });
      expect(result.ok, JSON.stringify(set)).toBe(false);
      expect(result.ok ? '' : result.stderr).toMatch(
        /StatusMateComponentErrorBudgetBurn \(long window 1h\) fires after \w+, not later than the outage alerts \(\d+s\): one outage would page twice/,
      );
    }
    const fine: Record<string, string>[] = [
      { 'prometheusRule.alertOverrides.StatusMateComponentPartialOutage.for': '2m59s' },
      { 'prometheusRule.alertOverrides.StatusMateComponentErrorBudgetBurn.for': '1h' },
      // No outage alert to inhibit the burn-rate alerts: each pages alone, once.
      {
        'prometheusRule.disabled.StatusMateComponentMajorOutage': 'true',
        'prometheusRule.disabled.StatusMateComponentPartialOutage': 'true',
        'prometheusRule.alertOverrides.StatusMateComponentErrorBudgetBurn.for': '1m',
      },
    ];
    for (const set of fine) expect(renderChart(helm, { apiVersions: OPERATOR_APIS, set: { ...set, 'webhook.token': 'x' } }).ok, JSON.stringify(set)).toBe(true);
  });

  it('prints the https webhook URL of the Ingress host in NOTES.txt, with the ?status_page= the README says to keep', () => {
    const notes = renderNotes(helm, SCENARIOS.everything);
    expect(notes).toContain('https://statusmate.example.com/webhook?status_page=<name>');
    expect(notes).not.toMatch(/\/webhook\s/);
    expect(notes).not.toContain('ci-token-everything');
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('helm upgrade --reuse-values from the first chart', () => {
  // `--reuse-values` renders these templates with the values a release installed by the first
  // chart stored, that chart's defaults included: the chart's values.yaml is not read.
  const FIRST_VALUES = join(REPO_ROOT, 'test', 'fixtures', 'helm', 'first-chart-values.yaml');
  const topLevelKeys = (file: string) => Object.keys(parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>);
  let copy = '';
  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'statusmate-chart-reuse-'));
    cpSync(CHART_DIR, copy, { recursive: true });
    copyFileSync(FIRST_VALUES, join(copy, 'values.yaml'));
  });
  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('is refused with a message naming every setting added since and --reset-then-reuse-values, not a nil pointer', () => {
    const result = renderChart(helm, { chartDir: copy, setString: { 'webhook.token': TOKEN } });
    expect(result.ok).toBe(false);
    const stderr = result.ok ? '' : result.stderr;
    expect(stderr).not.toContain('nil pointer');
    const added = topLevelKeys(join(CHART_DIR, 'values.yaml')).filter((key) => !topLevelKeys(FIRST_VALUES).includes(key));
    expect(added.length).toBeGreaterThan(0);
    expect(stderr).toContain(`the values lack ${added.sort().join(', ')}, which this chart's values.yaml sets`);
    expect(stderr).toContain('--reset-then-reuse-values');
  });

  it('names the key a user set to null, which Helm removes from the values as an older chart lacks it', () => {
    const result = renderChart(helm, { setString: { 'webhook.token': TOKEN }, set: { extraObjects: 'null' } });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.stderr).toContain('the values lack extraObjects');
    expect(result.ok ? '' : result.stderr).toContain('A key set to null is removed by Helm too: set it to {} or [] instead.');
  });

  it("renders with --reset-then-reuse-values, this chart's defaults under the old release's values, keeping its immutable fields", () => {
    const { objects } = renderObjects(helm, { setString: { 'webhook.token': TOKEN } });
    const deployment = onlyOfKind(objects, 'Deployment');
    // What the first chart rendered: the selector, the claim and the Secret key the pod reads.
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'statusmate-exporter', 'app.kubernetes.io/instance': 'sm' });
    expect(onlyOfKind(objects, 'PersistentVolumeClaim')).toMatchObject({
      metadata: { name: 'sm-statusmate-exporter' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    expect(envOf(deployment, 'WEBHOOK_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'sm-statusmate-exporter', key: 'webhook-token' });
    expect(envOf(deployment, 'SQLITE_PATH')?.value).toBe('/data/statusmate-exporter.db');
  });
});

describe.skipIf(helmTool.skipReason !== undefined)('names', () => {
  it('stay within 63 characters and distinct for a long release name', () => {
    const release = 'a-release-name-that-is-exactly-fifty-three-chars-long'.slice(0, 53);
    const { objects } = renderObjects(helm, { release, ...SCENARIOS.everything });
    for (const object of objects) expect(object.metadata.name.length, `${object.kind}/${object.metadata.name}`).toBeLessThanOrEqual(63);
    const configMapNames = objectsOfKind(objects, 'ConfigMap').map((cm) => cm.metadata.name);
    expect(new Set(configMapNames).size).toBe(configMapNames.length);
  });

  it('stay distinct between two releases in one namespace whose long names share a prefix', () => {
    // The dashboards' suffix leaves 26 characters of the full name: both of these cut to the same 26.
    const names = ['statusmate-exporter-team-ab', 'statusmate-exporter-team-ac', 'payments-production-europe-1', 'payments-production-europe-2'].flatMap(
      (release) => renderObjects(helm, { release, ...SCENARIOS.everything }).objects.map((object) => `${object.kind}/${object.metadata.name}`),
    );
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    for (const name of names) expect(name.split('/')[1]?.length, name).toBeLessThanOrEqual(63);
  });

  it('stay distinct for releases of one name in two namespaces that put their ServiceMonitor, rules and dashboards in a shared one', () => {
    const set = { 'serviceMonitor.namespace': 'monitoring', 'prometheusRule.namespace': 'monitoring', 'dashboards.namespace': 'monitoring' };
    const shared = ['team-a', 'team-b'].flatMap((namespace) =>
      renderObjects(helm, { release: 'statusmate-exporter', namespace, apiVersions: OPERATOR_APIS, set })
        .objects.filter((object) => object.metadata.namespace === 'monitoring')
        .map((object) => `${object.kind}/${object.metadata.name}`),
    );
    expect(shared).toContain('ServiceMonitor/statusmate-exporter-team-a');
    expect(shared).toContain('PrometheusRule/statusmate-exporter-team-b');
    expect(shared.filter((name) => name.startsWith('ConfigMap/'))).toHaveLength(2 * dashboardFiles.length);
    expect(shared.filter((name, index) => shared.indexOf(name) !== index)).toEqual([]);
    // In the release namespace the names stay as they were.
    const own = renderObjects(helm, { release: 'statusmate-exporter', namespace: 'monitoring', apiVersions: OPERATOR_APIS, set }).objects;
    expect(onlyOfKind(own, 'ServiceMonitor').metadata.name).toBe('statusmate-exporter');
  });

  it('follow fullnameOverride', () => {
    const { objects } = renderObjects(helm, { set: { fullnameOverride: 'statusmate' } });
    expect(new Set(objects.filter((o) => o.kind !== 'ConfigMap').map((o) => o.metadata.name))).toEqual(new Set(['statusmate']));
    for (const cm of objectsOfKind(objects, 'ConfigMap')) expect(cm.metadata.name).toMatch(/^statusmate-dashboard-/);
  });
});

const goTool = findTool('go', 'https://go.dev/doc/install (Go 1.26 or later)');

describe.skipIf(helmTool.skipReason !== undefined || goTool.skipReason !== undefined)(
  'strict validation against the Kubernetes and Prometheus Operator Go types',
  () => {
    let validator: Validator;
    let outDir = '';
    beforeAll(() => {
      outDir = mkdtempSync(join(tmpdir(), 'statusmate-k8s-validate-'));
      validator = buildValidator(outDir);
    }, 600_000);
    afterAll(() => {
      if (outDir) rmSync(outDir, { recursive: true, force: true });
    });

    it.each(Object.keys(SCENARIOS))('accepts every object rendered for %s', (scenario) => {
      const { manifest, objects } = renderObjects(helm, { ...SCENARIOS[scenario] });
      const result = validate(validator, manifest);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.accepted.length).toBe(objects.length);
    });

    it.each([
      ['2024', 'default'],
      ['true', 'default'],
      ['null', 'default'],
      ['yes', '2024'],
    ])('accepts every object of a release named %j in namespace %j, names YAML would read as a number, a bool or nothing', (release, namespace) => {
      const { manifest, objects } = renderObjects(helm, { release, namespace, apiVersions: OPERATOR_APIS, set: { fullnameOverride: 'statusmate-x' } });
      const result = validate(validator, manifest);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      for (const object of objects) expect(object.metadata.labels?.['app.kubernetes.io/instance']).toBe(release);
    });

    it('refuses at render a release whose name makes a Service name the API server refuses, naming fullnameOverride', () => {
      for (const release of ['1abc', 'my.release']) {
        const result = renderChart(helm, { release });
        expect(result.ok ? '' : result.stderr).toContain('set fullnameOverride');
      }
      // The validator refuses such a Service too (a DNS-1035 label: a letter first).
      const service = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: 1abc-statusmate-exporter\nspec:\n  ports: [{port: 9877}]\n';
      const result = validate(validator, service);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('1abc-statusmate-exporter');
    });

    it('rejects a misspelt field, naming its path', () => {
      const { objects } = renderObjects(helm);
      const deployment = onlyOfKind(objects, 'Deployment');
      const container = exporterContainer(deployment);
      const broken = {
        ...deployment,
        spec: {
          ...deployment.spec,
          template: {
            ...deployment.spec.template,
            spec: { ...deployment.spec.template.spec, containers: [{ ...container, readinessProbes: container.readinessProbe }] },
          },
        },
      };
      const result = validate(validator, stringifyYaml(broken));
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('unknown field "spec.template.spec.containers[0].readinessProbes"');
    });

    it('rejects a misspelt ServiceMonitor field', () => {
      const monitor = onlyOfKind(renderObjects(helm, SCENARIOS.everything).objects, 'ServiceMonitor');
      const broken = { ...monitor, spec: { ...monitor.spec, endpoints: monitor.spec.endpoints.map((e) => ({ ...e, intervall: '30s' })) } };
      const result = validate(validator, stringifyYaml(broken));
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('unknown field "spec.endpoints[0].intervall"');
    });

    it('rejects a misspelt HorizontalPodAutoscaler field, and minReplicas above maxReplicas', () => {
      const hpa = (spec: string) =>
        `apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: x\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: x}\n${spec}`;
      expect(validate(validator, hpa('  minReplicas: 2\n  maxReplicas: 3\n')).status).toBe(0);
      const misspelt = validate(validator, hpa('  maxReplicas: 3\n  behaviour: {}\n'));
      expect(misspelt.status).toBe(1);
      expect(misspelt.stderr).toContain('unknown field "spec.behaviour"');
      const inverted = validate(validator, hpa('  minReplicas: 4\n  maxReplicas: 3\n'));
      expect(inverted.status).toBe(1);
      expect(inverted.stderr).toContain('spec.minReplicas: must be between 1 and spec.maxReplicas');
    });

    it('rejects a kind it has no type for, and a label the API server would refuse', () => {
      const unknownKind = validate(validator, 'apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: x\n');
      expect(unknownKind.status).toBe(1);
      expect(unknownKind.stderr).toContain('no type known for apiVersion "batch/v1" kind "CronJob"');
      const badLabel = validate(validator, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    "bad label": "1"\n');
      expect(badLabel.status).toBe(1);
      expect(badLabel.stderr).toContain('metadata.labels');
    });

    it('rejects a duplicated key, which YAML parsers elsewhere would silently merge', () => {
      const result = validate(validator, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    a: "1"\n    a: "2"\n');
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('already set');
    });
  },
);
