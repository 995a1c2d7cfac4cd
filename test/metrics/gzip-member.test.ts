import { constants, crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { deflatePiece, deflatePieceSync } from '../../src/metrics/gzip-member.js';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, type TestApp } from '../support/app.js';
import { componentUpdate, T0 } from '../support/events.js';
import { onlyGzipMember, rawGet } from '../support/raw-get.js';

// curl --compressed and browsers decode only the first member of a gzip body; Node's gunzip
// decodes them all, so it cannot tell one member from two. These tests read the member itself.

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function scrape(a: TestApp, headers: Record<string, string>): Promise<Buffer> {
  const response = await rawGet(a, '/metrics', { ...headers, 'Accept-Encoding': 'gzip' });
  expect(response.headers['content-encoding']).toBe('gzip');
  return response.body;
}

const onlyMember = onlyGzipMember;

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

describe('a deflated piece', () => {
  // zlib answers with a view of a 64 KiB buffer however small its output: the gzip cache keeps a
  // piece per few hundred components, and each kept the whole buffer (5.3 MB for 0.7 MB of gzip at
  // 10,000 components).
  it.each([
    ['on the thread pool', (text: Buffer) => deflatePiece(text)],
    ['on the event loop', (text: Buffer) => Promise.resolve(deflatePieceSync(text))],
  ])('%s keeps only its own bytes, and inflates back to its text', async (_where, deflate) => {
    const text = Buffer.from('statusmate_component_impact{component="api",impact="major_outage"} 1\n'.repeat(200));
    const piece = await deflate(text);
    expect(piece.deflated.buffer.byteLength - piece.deflated.length).toBeLessThanOrEqual(4096);
    // No final block: the piece is continued by others (Z_SYNC_FLUSH).
    expect(inflateRawSync(piece.deflated, { finishFlush: constants.Z_SYNC_FLUSH }).equals(text)).toBe(true);
    expect(piece.crc).toBe(crc32(text));
  });
});
