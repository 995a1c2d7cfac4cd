// A redis-server for the bench: a free loopback port, a temporary directory, AOF with
// appendfsync everysec (what the README recommends), started and stopped by PID.

import { execFileSync, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort, tempDir } from './proc.mjs';

export function redisServerPath() {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Sends one inline command and resolves with the raw reply text (enough for PING and INFO). */
export function redisCommand(port, command) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('redis timeout')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // A bulk reply ($len\r\n...\r\n) or a one-line reply.
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      if ((bulk && reply.length >= bulk[0].length + Number(bulk[1]) + 2) || (!reply.startsWith('$') && reply.includes('\r\n'))) {
        socket.end();
        resolve(reply);
      }
    });
  });
}

export async function startRedis() {
  const path = redisServerPath();
  if (!path) throw new Error('redis-server not found');
  const port = await freePort();
  const dir = tempDir();
  const child = spawn(
    path,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 400; i += 1) {
    try {
      if ((await redisCommand(port, 'PING')).startsWith('+PONG')) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** used_memory of INFO memory, in bytes. */
    async usedMemory() {
      const info = await redisCommand(port, 'INFO memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
