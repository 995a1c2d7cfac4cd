import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, type TestApp } from '../support/app.js';
import { componentUpdate, T0 } from '../support/events.js';
import { onlyGzipMember, rawGet } from '../support/raw-get.js';

// GET /api/v1/state is megabytes at 10,000 components, and scripts poll it: it is gzipped for a
// client that takes gzip, as one gzip member (curl --compressed and browsers read only the first).

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const raw = (a: TestApp, path: string, acceptEncoding: string) => rawGet(a, path, { 'Accept-Encoding': acceptEncoding });

async function withComponents(count: number): Promise<TestApp> {
  const a = await makeApp({ store: new MemoryLog(), maxComponents: 20_000 });
  for (let i = 0; i < count; i += 1) await a.ingestor.ingest(componentUpdate(i, i % 3 ? 'operational' : 'major_outage', T0 + i), T0 + i);
  return a;
}

describe('GET /api/v1/state on the wire', () => {
  it('is one gzip member holding the same JSON as sent plain, for a client that takes gzip', async () => {
    app = await withComponents(500);
    const plain = await raw(app, '/api/v1/state', 'identity');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toMatch(/Accept-Encoding/);
    expect(plain.body.length).toBeGreaterThan(50_000);

    const zipped = await raw(app, '/api/v1/state', 'gzip, deflate, br');
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/Accept-Encoding/);
    expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length);
    expect(zipped.body.length).toBeLessThan(plain.body.length / 5);
    const text = onlyGzipMember(zipped.body);
    expect(text).toBe(gunzipSync(zipped.body).toString('utf8'));
    // The same state as the plain answer; generated_at is the rendering's, so equal too.
    expect(JSON.parse(text)).toEqual(JSON.parse(plain.body.toString('utf8')));

    // A second answer re-uses the deflated pages and still ends whole.
    expect(JSON.parse(onlyGzipMember((await raw(app, '/api/v1/state', 'gzip')).body))).toEqual(JSON.parse(text));
    // Refused with q=0: plain.
    expect((await raw(app, '/api/v1/state', 'gzip;q=0')).headers['content-encoding']).toBeUndefined();
  });

  it('gzips one page asked for by ?status_page=, and its deliveries as they are at the time of asking', async () => {
    app = await withComponents(500);
    const page = (JSON.parse((await raw(app, '/api/v1/state', 'identity')).body.toString('utf8')) as { status_pages: { id: string }[] }).status_pages[0]?.id;
    expect(page).toBeDefined();
    const path = `/api/v1/state?status_page=${encodeURIComponent(page ?? '')}`;
    const first = JSON.parse(onlyGzipMember((await raw(app, path, 'gzip')).body)) as {
      status_pages: { id: string; components: unknown[] }[];
      recent_deliveries: unknown[];
    };
    expect(first.status_pages.map((p) => p.id)).toEqual([page]);
    expect(first.status_pages[0]?.components).toHaveLength(500);
    expect(first).toEqual(JSON.parse((await raw(app, path, 'identity')).body.toString('utf8')));
  });

  it('sends a small state as it is, gzip or not', async () => {
    app = await withComponents(1);
    const response = await raw(app, '/api/v1/state', 'gzip');
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(response.body.toString('utf8'))).toHaveProperty('status_pages');
  });
});
