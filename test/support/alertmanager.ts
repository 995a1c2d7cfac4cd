import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnLogged, stop, waitFor, type Child } from './prometheus.js';
import { findBinary, type Tool } from './tools.js';
import { z } from 'zod';
import { alertmanagerSilenceSchema } from '../../src/alertmanager/client.js';

// A real Alertmanager (Debian's prometheus-alertmanager) for the suites that drive one: found by
// one rule, started on loopback only, ready when its /-/ready answers.

/** Debian's prometheus-alertmanager, or ALERTMANAGER_BIN: a suite skips without it, but fails under CI=true. */
export function findAlertmanager(): Tool {
  return findBinary(
    'prometheus-alertmanager',
    [process.env.ALERTMANAGER_BIN, '/usr/bin/prometheus-alertmanager'],
    'apt-get install -y prometheus-alertmanager (Debian/Ubuntu)',
  );
}

export type AlertmanagerOptions = {
  /** Its configuration file's text, written to `alertmanager.yml` in `storage`. */
  config: string;
  /** Its data directory: a fresh one is an Alertmanager without data. */
  storage: string;
  port: number;
  /** Its `--cluster.*` flags; none: no cluster, listening on nothing but the web port. */
  cluster?: string[];
};

/** How an Alertmanager that could not bind its port says so (see prometheus.ts, whose words it shares). */
export { PORT_TAKEN } from './prometheus.js';

/** Starts an Alertmanager on 127.0.0.1:`port` and waits until it is ready; stop it with prometheus.ts's stop(). */
export async function startAlertmanager(tool: Tool, options: AlertmanagerOptions): Promise<Child> {
  const configFile = join(options.storage, 'alertmanager.yml');
  writeFileSync(configFile, options.config);
  const child = spawnLogged(tool.path ?? 'prometheus-alertmanager', [
    `--config.file=${configFile}`,
    `--storage.path=${options.storage}`,
    `--web.listen-address=127.0.0.1:${options.port}`,
    ...(options.cluster ?? ['--cluster.listen-address=']),
    '--log.level=warn',
  ]);
  try {
    await waitFor('Alertmanager to be ready', async () => {
      if (child.process.exitCode !== null) throw new Error(`alertmanager exited:\n${child.output()}`);
      const response = await fetch(`http://127.0.0.1:${options.port}/-/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      return response?.ok ? true : undefined;
    });
  } catch (error) {
    // Never ready: stopped here, since the caller never gets it to stop.
    await stop(child);
    throw error;
  }
  return child;
}

/** What GET /api/v2/silences answers, read as the exporter's client reads each silence. */
export const silenceSchema = z.array(alertmanagerSilenceSchema);
export type Silence = z.infer<typeof silenceSchema>[number];
