import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { makeApp, tempDir, type TestApp } from '../support/app.js';
import { rawGet } from '../support/raw-get.js';

// GET / is about 100 bytes a component and an open tab reloads it every 10 s: it is gzipped for
// a browser that asks (once per rendering), sent as it is otherwise and when it is small.

let app: TestApp | undefined;
afterEach(async () => app?.close());

const component = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function start(components: number): Promise<TestApp> {
  const file = join(tempDir(), 'status-pages.yaml');
  const list = Array.from({ length: components }, (_, n) => `      - uuid: ${component(n)}\n        name: Component ${n}\n`).join('');
  writeFileSync(file, `status_pages:\n  - id: acme\n    components:\n${components === 0 ? '      []\n' : list}`);
  return makeApp({ statusPagesFile: file });
}

/** GET / as sent on the wire. */
const raw = (a: TestApp, acceptEncoding: string) => rawGet(a, '/', { 'Accept-Encoding': acceptEncoding });

describe('the landing page on the wire', () => {
  it('is gzipped for a client that takes gzip, the same page as sent plain, and says it varies by Accept-Encoding', async () => {
    app = await start(100);
    const plain = await raw(app, 'identity');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const html = plain.body;
    expect(html.length).toBeGreaterThan(8 * 1024);
    expect(plain.headers.vary).toMatch(/Accept-Encoding/);

    const zipped = await raw(app, 'gzip, deflate, br');
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/Accept-Encoding/);
    const body = zipped.body;
    expect(body.length).toBeLessThan(html.length / 4);
    expect(gunzipSync(body).toString('utf8')).toBe(html.toString('utf8'));
    expect(zipped.headers['content-security-policy']).toBe(plain.headers['content-security-policy']);

    // Refused with q=0: plain.
    expect((await raw(app, 'gzip;q=0')).headers['content-encoding']).toBeUndefined();
  });

  it('sends a small page as it is, gzip or not', async () => {
    app = await start(0);
    const response = await raw(app, 'gzip');
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.body.toString('utf8')).toMatch(/^<!doctype html>/i);
  });
});
