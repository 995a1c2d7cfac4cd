import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './support/app.js';
import { ConfigMapVolume } from './support/configmap-volume.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from './support/exporter.js';
import { findHelm, objectsOfKind, onlyOfKind, renderObjects, type K8sObject, type RenderOptions } from './support/helm.js';

// The chart's status pages, end to end without a cluster: what `helm template` renders (the
// ConfigMap's file and the container's environment) starts the real exporter, and a second render
// with other pages, written into the volume as the kubelet does, reaches it with no restart.

const helmTool = findHelm();
const helm = helmTool.path ?? 'helm';
const SCENARIO: RenderOptions = { valuesFiles: ['ci/status-pages-values.yaml'] };

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

function rendered(options: RenderOptions) {
  const { objects } = renderObjects(helm, options);
  const deployment = onlyOfKind(objects, 'Deployment');
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'exporter');
  const map = objectsOfKind(objects, 'ConfigMap').find((cm: K8sObject) => cm.metadata.name.endsWith('-status-pages'));
  const env = new Map((container?.env ?? []).map((e) => [e.name, e]));
  return { deployment, env, file: env.get('STATUS_PAGES_FILE')?.value ?? '', content: map?.data['status-pages.yaml'] ?? '' };
}

const scrape = async (url: string) => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(helmTool.skipReason !== undefined)('the chart’s status pages in the real exporter', () => {
  it('starts the exporter on the rendered file and token variable, and takes a re-rendered ConfigMap without a restart', async () => {
    const first = rendered(SCENARIO);
    expect(first.file).toBe('/etc/statusmate-exporter/status-pages.yaml');
    expect(first.env.get('ACME_WEBHOOK_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'acme-webhook', key: 'token' });

    // The mount, in a temporary directory laid out as the kubelet lays out a ConfigMap volume.
    const volume = new ConfigMapVolume(tempDir(), 'status-pages.yaml', first.content);
    running = await startExporterProcess({
      STORE: 'memory',
      STATUS_PAGES_FILE: volume.path,
      // The rendered 10 s, shortened to keep the test quick.
      STATUS_PAGES_WATCH_SECONDS: '0.2',
      // What the secretKeyRef would hold.
      ACME_WEBHOOK_TOKEN: 'acme-token',
    });
    const exporter = running;
    const metrics = await scrape(exporter.url);
    expect(metrics).toContain(
      'statusmate_status_page_info{status_page="acme",status_page_uuid="0935e96c-34b6-46e8-82cb-def6d3d74d9c",name="ACME public status"} 1',
    );
    expect(metrics).toContain('status_page="payments"');
    expect(exporter.logs.some((line) => typeof line.variable === 'string')).toBe(false);

    const second = rendered({ ...SCENARIO, set: { 'statusPages.pages[1].name': 'Payments and payouts' } });
    expect(second.deployment.spec.template).toEqual(first.deployment.spec.template);
    volume.update(second.content);
    await until(async () => (await scrape(exporter.url)).includes('name="Payments and payouts"'));
    expect(await scrape(exporter.url)).toContain('name="ACME public status"');
    expect(exporter.child.exitCode).toBeNull();
  });
});
