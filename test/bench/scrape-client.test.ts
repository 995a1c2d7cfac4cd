import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeScrapeConnections, timedGet } from '../../bench/lib/scrape-client.mjs';

// The bench's scrape timings are only as good as this client's reading of a response: it must
// count every body byte, chunked or not, and fail rather than time a cut response.

let server: Server | undefined;
afterEach(async () => {
  closeScrapeConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const sizeOf = (url: string | undefined) => Number(new URL(url ?? '/', 'http://x').searchParams.get('n'));

describe('the scrape timing client', () => {
  it('counts a body with a Content-Length, of any size, over one kept-alive connection', async () => {
    const peers = new Set<string>();
    const origin = await serve((req, res) => {
      peers.add(`${req.socket.remotePort}`);
      const n = sizeOf(req.url);
      res.writeHead(200, { 'Content-Length': n, 'Content-Encoding': 'gzip' });
      res.end(Buffer.alloc(n, 97));
    });
    for (const n of [0, 1, 70_000, 3_000_001]) {
      const response = await timedGet(origin, `/?n=${n}`, { 'Accept-Encoding': 'gzip' });
      expect(response).toMatchObject({ status: 200, bytes: n });
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(response.ms).toBeGreaterThan(0);
    }
    expect(peers.size).toBe(1);
  });

  it('counts the data of a chunked body written in uneven pieces over time, not its framing', async () => {
    const write = async (req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200);
      let left = sizeOf(req.url);
      for (let i = 1; left > 0; i += 1) {
        const piece = Math.min(left, (i * 7919) % 300_000 || 1);
        res.write(Buffer.alloc(piece, 98));
        left -= piece;
        if (i % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      res.end();
    };
    // node:http ignores what a handler returns.
    const origin = await serve((req, res) => void write(req, res));
    for (const n of [0, 5, 1 << 20, 10_500_000]) {
      const response = await timedGet(origin, `/?n=${n}`);
      expect(response.headers['transfer-encoding']).toBe('chunked');
      expect(response.bytes).toBe(n);
    }
  });

  it('fails on a response cut short, and opens a new connection for the next request', async () => {
    let cut = true;
    const origin = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': 1000 });
      if (cut) {
        res.write(Buffer.alloc(10));
        setTimeout(() => res.destroy(), 5);
        return;
      }
      res.end(Buffer.alloc(1000));
    });
    await expect(timedGet(origin, '/')).rejects.toThrow(/closed the connection mid-response/);
    cut = false;
    expect((await timedGet(origin, '/')).bytes).toBe(1000);
  });
});
