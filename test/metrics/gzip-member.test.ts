import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, type TestApp } from '../support/app.js';
import { componentUpdate, T0 } from '../support/events.js';

// curl --compressed and browsers decode only the first member of a gzip body; Node's gunzip
// decodes them all, so it cannot tell one member from two. These tests read the member itself.

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function scrape(a: TestApp, headers: Record<string, string>): Promise<Buffer> {
  const server = createServer(a.main);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/metrics', headers: { ...headers, 'Accept-Encoding': 'gzip' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The text of the first (and, it must be, only) gzip member of `body`, checked against its trailer. */
function onlyMember(body: Buffer): string {
  expect([body[0], body[1], body[2]]).toEqual([0x1f, 0x8b, 8]);
  expect(body[3]).toBe(0); // no optional header fields: the deflate data starts at byte 10
  const text = inflateRawSync(body.subarray(10, body.length - 8));
  expect(body.readUInt32LE(body.length - 8)).toBe(crc32(text));
  expect(body.readUInt32LE(body.length - 4)).toBe(text.length);
  return text.toString('utf8');
}

describe('GET /metrics with gzip', () => {
  it.each([
    ['the text format', {}],
    ['OpenMetrics', { Accept: 'application/openmetrics-text;version=1.0.0' }],
  ])('is one gzip member holding the whole body in %s, for a large state', async (_name, headers) => {
    const a = await makeApp({ store: new MemoryLog(), maxComponents: 20_000 });
    app = a;
    for (let i = 0; i < 3_000; i += 1) await a.ingestor.ingest(componentUpdate(i, i % 2 ? 'major_outage' : 'operational', T0 + i), T0 + i);
    const body = await scrape(a, headers);
    expect(body.length).toBeGreaterThan(30_000);
    const text = onlyMember(body);
    expect(text).toBe(gunzipSync(body).toString('utf8'));
    expect(text).toContain('statusmate_exporter_build_info');
    expect(text).toContain('component_uuid="00000000-0000-4000-8000-000000002999"');
    if ('Accept' in headers) expect(text.endsWith('# EOF\n')).toBe(true);
    // A second scrape of the same version re-uses the cached start and still ends whole.
    expect(onlyMember(await scrape(a, headers))).toContain('statusmate_exporter_build_info');
  });
});
