import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { findTool, type Tool } from './tools.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART_DIR = join(REPO_ROOT, 'helm', 'statusmate-exporter');
export const VALIDATOR_DIR = join(REPO_ROOT, 'tools', 'k8s-validate');
export const HELM_INSTALL_HINT = 'go install helm.sh/helm/v3/cmd/helm@v3.22.0';

/** The fields every rendered object has; the rest is read through the narrower types below. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};

export type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
export type Probe = { httpGet?: { path: string; port: string | number } };
export type Container = {
  name: string;
  image: string;
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
};
export type Volume = {
  name: string;
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: { sizeLimit?: string };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  hostPath?: unknown;
};
export type PodSpec = {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number; seccompProfile?: { type: string } };
  enableServiceLinks?: boolean;
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
  topologySpreadConstraints?: { maxSkew: number; topologyKey: string; whenUnsatisfiable: string; labelSelector?: { matchLabels?: Record<string, string> } }[];
};
export type Deployment = K8sObject & {
  spec: {
    replicas?: number;
    strategy: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
};
export type Service = K8sObject & { spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] } };
export type Secret = K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> };
export type ConfigMap = K8sObject & { data: Record<string, string> };
export type ServiceAccount = K8sObject & { automountServiceAccountToken?: boolean };
export type Ingress = K8sObject & {
  spec: {
    rules: {
      host: string;
      http: { paths: { path: string; pathType: string; backend: { service: { name: string; port: { name?: string; number?: number } } } }[] };
    }[];
  };
};
export type NetworkPolicyPeer = Record<string, unknown>;
export type NetworkPolicy = K8sObject & {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: { ports: { port: string | number }[]; from?: NetworkPolicyPeer[] }[];
    egress?: unknown[];
  };
};
export type PodDisruptionBudget = K8sObject & {
  spec: { maxUnavailable?: number | string; unhealthyPodEvictionPolicy?: string; selector: { matchLabels: Record<string, string> } };
};
export type ServiceMonitor = K8sObject & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector?: { matchNames: string[] };
    endpoints: { port: string; path: string; relabelings?: { targetLabel?: string; replacement?: string; action?: string }[] }[];
  };
};
export type PrometheusRule = K8sObject & { spec: { groups: unknown[] } };
export type HorizontalPodAutoscaler = K8sObject & {
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicas?: number;
    maxReplicas: number;
    metrics?: { type: string; resource?: { name: string; target: { type: string; averageUtilization?: number } } }[];
    behavior?: unknown;
  };
};

export type KindMap = {
  Deployment: Deployment;
  Service: Service;
  Secret: Secret;
  ConfigMap: ConfigMap;
  ServiceAccount: ServiceAccount;
  PersistentVolumeClaim: K8sObject;
  Ingress: Ingress;
  NetworkPolicy: NetworkPolicy;
  PodDisruptionBudget: PodDisruptionBudget;
  ServiceMonitor: ServiceMonitor;
  PrometheusRule: PrometheusRule;
  HorizontalPodAutoscaler: HorizontalPodAutoscaler;
};

/**
 * Finds helm on PATH or in $(go env GOPATH)/bin, where `go install` puts it (vitest run locally
 * often lacks that directory on PATH). Skips outside CI and fails under CI=true when missing.
 */
export function findHelm(): Tool {
  const bin = goBinDir();
  const gopathHelm = bin === undefined ? undefined : join(bin, 'helm');
  if (gopathHelm !== undefined && existsSync(gopathHelm)) return { name: 'helm', path: gopathHelm, skipReason: undefined };
  return findTool('helm', HELM_INSTALL_HINT);
}

function goBinDir(): string | undefined {
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', timeout: 30_000 }).trim();
    return gopath ? join(gopath.split(':')[0] ?? gopath, 'bin') : undefined;
  } catch {
    return undefined;
  }
}

export type RenderOptions = {
  /** Values files, relative to the chart directory (e.g. ci/everything-values.yaml). */
  valuesFiles?: string[];
  /** --set pairs. */
  set?: Record<string, string>;
  /** --set-string pairs (tokens: a token of digits must stay a string). */
  setString?: Record<string, string>;
  release?: string;
  namespace?: string;
  /** --api-versions: what the pretend cluster serves (e.g. the Prometheus Operator's kinds). */
  apiVersions?: string[];
  /** --kube-version: the pretend cluster's Kubernetes version (helm's own default otherwise). */
  kubeVersion?: string;
  /** Render another chart directory (a patched copy). */
  chartDir?: string;
};

/** The kinds a cluster with the Prometheus Operator serves, for --api-versions. */
export const OPERATOR_APIS = ['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'];

export type RenderResult = { ok: true; manifest: string; objects: K8sObject[] } | { ok: false; stderr: string };

function helmArgs(options: RenderOptions): string[] {
  const args: string[] = [];
  for (const file of options.valuesFiles ?? []) args.push('-f', join(CHART_DIR, file));
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set', `${key}=${value}`);
  for (const [key, value] of Object.entries(options.setString ?? {})) args.push('--set-string', `${key}=${value}`);
  for (const apiVersion of options.apiVersions ?? []) args.push('--api-versions', apiVersion);
  if (options.kubeVersion !== undefined) args.push('--kube-version', options.kubeVersion);
  return args;
}

/** Runs `helm template` and parses every document; a failed render returns helm's stderr. */
export function renderChart(helm: string, options: RenderOptions = {}): RenderResult {
  const result = spawnSync(
    helm,
    ['template', options.release ?? 'sm', options.chartDir ?? CHART_DIR, '--namespace', options.namespace ?? 'monitoring', ...helmArgs(options)],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (result.error) throw result.error;
  if (result.status !== 0) return { ok: false, stderr: result.stderr };
  return { ok: true, manifest: result.stdout, objects: parseManifest(result.stdout) };
}

/** Like renderChart, but a failed render throws with helm's message. */
export function renderObjects(helm: string, options: RenderOptions = {}): { manifest: string; objects: K8sObject[] } {
  const result = renderChart(helm, options);
  if (!result.ok) throw new Error(`helm template failed: ${result.stderr}`);
  return result;
}

export function parseManifest(manifest: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`rendered document is not an object: ${JSON.stringify(value)}`);
    const candidate = value as Partial<K8sObject>;
    if (typeof candidate.kind !== 'string' || typeof candidate.apiVersion !== 'string' || typeof candidate.metadata?.name !== 'string') {
      throw new Error(`rendered document lacks apiVersion, kind or metadata.name: ${JSON.stringify(value).slice(0, 200)}`);
    }
    objects.push(value as K8sObject);
  }
  return objects;
}

export function objectsOfKind<K extends keyof KindMap>(objects: K8sObject[], kind: K): KindMap[K][] {
  return objects.filter((o) => o.kind === kind) as KindMap[K][];
}

/** The single object of a kind; fails when there is none or several. */
export function onlyOfKind<K extends keyof KindMap>(objects: K8sObject[], kind: K): KindMap[K] {
  const found = objectsOfKind(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0] as KindMap[K];
}

export function lint(helm: string, valuesFiles: string[] = []): { status: number | null; output: string } {
  const args = ['lint', '--strict', CHART_DIR];
  for (const file of valuesFiles) args.push('-f', join(CHART_DIR, file));
  const result = spawnSync(helm, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: result.stdout + result.stderr };
}

/**
 * Renders NOTES.txt, which `helm template` leaves out: a copy of the chart wraps it in a define
 * and renders it into a ConfigMap. Returns the text the user would see after `helm install`.
 */
export function renderNotes(helm: string, options: RenderOptions = {}): string {
  const copy = mkdtempSync(join(tmpdir(), 'statusmate-chart-notes-'));
  try {
    cpSync(CHART_DIR, copy, { recursive: true });
    const notes = readFileSync(join(copy, 'templates', 'NOTES.txt'), 'utf8');
    writeFileSync(
      join(copy, 'templates', 'zz-notes-under-test.yaml'),
      `{{- define "notes-under-test" }}${notes}{{- end }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: {{ include "notes-under-test" . | toJson }}\n`,
    );
    const rendered = renderObjects(helm, { ...options, chartDir: copy });
    const holder = rendered.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'notes-under-test') as ConfigMap | undefined;
    const text = holder?.data.notes;
    if (typeof text !== 'string') throw new Error('NOTES.txt did not render');
    return text;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

export type Validator = { path: string };

/** Builds tools/k8s-validate once (go build caches the work, so later runs are quick). */
export function buildValidator(outDir: string): Validator {
  const path = join(outDir, 'k8s-validate');
  const result = spawnSync('go', ['build', '-o', path, '.'], { cwd: VALIDATOR_DIR, encoding: 'utf8', timeout: 600_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`go build of tools/k8s-validate failed: ${result.stderr}`);
  return { path };
}

export type Validation = { status: number | null; accepted: string[]; stderr: string };

/** Runs the strict checker on a YAML stream. */
export function validate(validator: Validator, manifest: string): Validation {
  const result = spawnSync(validator.path, ['-'], { input: manifest, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return {
    status: result.status,
    accepted: result.stdout.split('\n').filter((line) => line.startsWith('ok ')),
    stderr: result.stderr,
  };
}
