import { afterEach, beforeEach } from 'vitest';
import type { TestApp } from './app.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createClient } from 'redis';
import { z } from 'zod';
import type { Logger } from '../../src/logger.js';
import { redisKeys } from '../../src/store/redis-format.js';
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis.js';
import { freePort } from './prometheus.js';
import { tempDir } from './app.js';
import { findTool } from './tools.js';

export const redisTool = findTool('redis-server', 'apt-get install redis-server');

export type RedisServer = {
  port: number;
  dir: string;
  url: string;
  child: ChildProcess;
  /** Stops this server by its PID (SIGKILL: as a crash would; SIGTERM: an orderly shutdown). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts a server again on the same port and directory (its AOF), after stop(), with `args`
   * added to its options. With `loading`, resolves once it answers at all, LOADING included: a
   * server slowed down loading its dataset (`--key-load-delay`) is still loading then.
   */
  restart(options?: { args?: string[]; loading?: boolean }): Promise<void>;
};

/**
 * A real redis-server on a free loopback port with a temporary directory, AOF on and fsynced on
 * every write (`appendfsync always`: what a test that kills it and counts acknowledged events
 * needs). `args` are more redis-server options (`--enable-debug-command yes` for DEBUG SLEEP).
 * Started and stopped by PID, never by name.
 */
export async function startRedis(options: { appendfsync?: 'always' | 'everysec'; password?: string; args?: string[] } = {}): Promise<RedisServer> {
  if (!redisTool.path) throw new Error(redisTool.skipReason);
  const dir = tempDir('statusmate-redis-');
  const argsFor = (port: number) => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      options.appendfsync ?? 'always',
      '--save',
      '',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    if (options.password !== undefined) args.push('--requirepass', options.password);
    if (options.args !== undefined) args.push(...options.args);
    return args;
  };
  // A free port may be taken by another test file's process before redis-server binds it: then
  // it exits with "Address already in use", and another port is tried.
  let port = 0;
  let args: string[] = [];
  let child: ChildProcess | undefined;
  for (let attempt = 1; child === undefined; attempt++) {
    port = await freePort();
    args = argsFor(port);
    try {
      child = await launch(redisTool.path, args, port);
    } catch (error) {
      if (attempt >= 5 || !(error as Error).message.includes('Address already in use')) throw error;
    }
  }
  const server: RedisServer = {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const { child } = server;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
    async restart(restartOptions: { args?: string[]; loading?: boolean } = {}) {
      server.child = await launch(redisTool.path as string, [...args, ...(restartOptions.args ?? [])], port, restartOptions.loading ?? false);
    },
  };
  return server;
}

/** Spawns redis-server and resolves once it accepts connections (it answers PING; with `loading`, LOADING counts). */
async function launch(path: string, args: string[], port: number, loading = false): Promise<ChildProcess> {
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${output}`);
    if (await pings(port, loading)) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port} within 10 s: ${output}`);
}

async function pings(port: number, loading: boolean): Promise<boolean> {
  const { createConnection } = await import('node:net');
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      // With requirepass, NOAUTH says the server is up and loaded as well as PONG does.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH') || (loading && reply.startsWith('-LOADING')));
    });
  });
}

export type RedisStoreTestOptions = Partial<Omit<RedisStoreOptions, 'logger'>> & { url: string };

/**
 * What makes a RedisStore (makeApp's `store`), with the test defaults: a replica that finds no log
 * starts one at once (each test has a Redis of its own; the wait is tested where it matters).
 */
export function redisStore(options: RedisStoreTestOptions): (logger: Logger) => RedisStore {
  return (logger) => new RedisStore({ keyPrefix: 'statusmate:', waitReplicas: 0, newLogWaitMs: 0, ...options, logger });
}

/** Polls until `check` holds, or fails after `timeoutMs` with what it last saw; `read` may answer at once or later. */
export async function eventually<T>(read: () => T | Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    value = await read();
  }
  return value;
}

/**
 * A fresh redis-server for each test of the file (none when redis-server is missing: those suites
 * skip), and the apps a test starts on it, closed after the test before the server is stopped.
 */
export function redisPerTest(): { readonly server: RedisServer; readonly apps: TestApp[] } {
  let server: RedisServer | undefined;
  const apps: TestApp[] = [];
  beforeEach(async () => {
    if (redisTool.skipReason) return;
    server = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await server?.stop('SIGKILL');
    server = undefined;
  });
  return {
    get server(): RedisServer {
      if (!server) throw new Error('no redis-server in this test');
      return server;
    },
    apps,
  };
}

export type LogClock = {
  /** Entries appended from now on are stamped `ms` (or later: Redis' ids only grow). */
  set(ms: number): Promise<void>;
  /** The id of the log's last entry ('' when it holds none). */
  end(): Promise<string>;
  /** The id below which a snapshot's commit trimmed the log, or null while none did. */
  trimmedTo(): Promise<string | null>;
  close(): Promise<void>;
};

const xinfoReply = z.array(z.unknown());
const lastEntryReply = z.array(z.tuple([z.string(), z.array(z.string())]));

/**
 * The clock of the Redis log under `keyPrefix`, held at a test's: the log's time is its entries'
 * ids, which Redis gives from its own clock (`XADD *`), never below the last id it gave. Setting
 * that id (XSETID) to the test's Date before each step stamps what the step appends with it, as a
 * memory or SQLite log stamps Date.now(), provided the test's time runs ahead of Redis' own (a
 * timeline in the future: `set` refuses one behind). The stream is made here, before any replica
 * (an empty one, as a replica's first start makes it), so that the first entries are stamped too.
 */
export async function holdLogClock(url: string, keyPrefix: string): Promise<LogClock> {
  const client = createClient({ url, RESP: 2 });
  await client.connect();
  const { log, trimmed } = redisKeys(keyPrefix);
  await client.sendCommand(['XGROUP', 'CREATE', log, 'statusmate-exporter', '$', 'MKSTREAM']);
  return {
    async set(ms) {
      const [seconds = '0'] = z.array(z.string()).parse(await client.sendCommand(['TIME']));
      if (ms <= Number(seconds) * 1000)
        throw new Error(`the test's time ${new Date(ms).toISOString()} is behind Redis' own: the log would be stamped by Redis`);
      const info = xinfoReply.parse(await client.sendCommand(['XINFO', 'STREAM', log]));
      const last = z.string().parse(info[info.indexOf('last-generated-id') + 1]);
      if (Number(last.slice(0, last.indexOf('-'))) >= ms) return;
      await client.sendCommand(['XSETID', log, `${ms}-0`]);
    },
    async end() {
      return lastEntryReply.parse(await client.sendCommand(['XREVRANGE', log, '+', '-', 'COUNT', '1']))[0]?.[0] ?? '';
    },
    async trimmedTo() {
      return z
        .string()
        .nullable()
        .parse(await client.sendCommand(['GET', trimmed]));
    },
    async close() {
      client.destroy();
      return Promise.resolve();
    },
  };
}
