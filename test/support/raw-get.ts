import { createServer, get, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, inflateRawSync } from 'node:zlib';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** GET `path` of the app's main port with its body as sent on the wire (supertest would gunzip it). */
export async function rawGet(
  app: TestApp,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const server = createServer(app.main);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * The text of the first (and, it must be, only) gzip member of `body`, checked against its
 * trailer: curl --compressed and browsers decode only the first member, and Node's gunzip decodes
 * them all, so it cannot tell one member from two.
 */
export function onlyGzipMember(body: Buffer): string {
  expect([body[0], body[1], body[2]]).toEqual([0x1f, 0x8b, 8]);
  expect(body[3]).toBe(0); // no optional header fields: the deflate data starts at byte 10
  const text = inflateRawSync(body.subarray(10, body.length - 8));
  expect(body.readUInt32LE(body.length - 8)).toBe(crc32(text));
  expect(body.readUInt32LE(body.length - 4)).toBe(text.length);
  return text.toString('utf8');
}
