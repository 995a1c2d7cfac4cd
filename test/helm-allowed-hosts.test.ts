import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startExporterProcess, stopProcess, type ExporterProcess } from './support/exporter.js';
import { findHelm, onlyOfKind, renderObjects } from './support/helm.js';

// config.allowedHosts, end to end without a cluster: the ALLOWED_HOSTS that `helm template`
// renders starts the real exporter, which must answer the names the release's own objects reach
// it by (the Ingress hosts, the Service's names inside the cluster, which Alertmanager's webhook
// receiver uses) and refuse any other with 421.

const helmTool = findHelm();
const helm = helmTool.path ?? 'helm';

let running: ExporterProcess | undefined;
afterEach(async () => stopProcess(running, 'SIGKILL'));

/** GET path with the given Host header; resolves to the status. */
function statusWithHost(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(helmTool.skipReason !== undefined)('the chart’s config.allowedHosts in the real exporter', () => {
  it('answers the Ingress hosts and the Service’s in-cluster names, and refuses another name', async () => {
    const { objects } = renderObjects(helm, {
      release: 'sm',
      namespace: 'monitoring',
      setString: { 'webhook.token': 'chart-token' },
      set: {
        'config.allowedHosts[0]': 'status.example.com',
        'ingress.enabled': 'true',
        'ingress.hosts[0]': 'hooks.example.com',
        'ingress.hosts[1]': '*.example.net',
      },
    });
    const container = onlyOfKind(objects, 'Deployment').spec.template.spec.containers.find((c) => c.name === 'exporter');
    const allowed = container?.env?.find((e) => e.name === 'ALLOWED_HOSTS')?.value ?? '';
    running = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'chart-token', ALLOWED_HOSTS: allowed });
    const { port } = running;
    for (const host of [
      'status.example.com',
      'hooks.example.com',
      `sm-statusmate-exporter:${port}`,
      `sm-statusmate-exporter.monitoring:${port}`,
      `sm-statusmate-exporter.monitoring.svc:${port}`,
      `sm-statusmate-exporter.monitoring.svc.cluster.local:${port}`,
    ]) {
      expect(await statusWithHost(port, '/metrics', host), host).toBe(200);
    }
    expect(await statusWithHost(port, '/metrics', 'rebound.example.org')).toBe(421);
    expect(running.child.exitCode).toBeNull();
  });

  it('sets no ALLOWED_HOSTS when config.allowedHosts is empty, so any name is answered', () => {
    const { objects } = renderObjects(helm, {
      setString: { 'webhook.token': 'chart-token' },
      set: { 'ingress.enabled': 'true', 'ingress.hosts[0]': 'hooks.example.com' },
    });
    const container = onlyOfKind(objects, 'Deployment').spec.template.spec.containers.find((c) => c.name === 'exporter');
    expect(container?.env?.map((e) => e.name)).not.toContain('ALLOWED_HOSTS');
  });
});
