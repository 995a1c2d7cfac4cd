import { createServer, type RequestListener } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

// Requests written byte for byte over a socket: what an HTTP client would not send as it is told
// (supertest adds a Content-Length beside a Transfer-Encoding, which Node's server refuses).

/** Sends these exact bytes as a whole request over a socket, and reads the answer until it closes. */
export async function rawExchange(listener: RequestListener, request: Buffer): Promise<{ status: number; headers: string; body: string }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1', () => socket.end(request));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    const text = answer.toString('utf8');
    const split = text.indexOf('\r\n\r\n');
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), headers: text.slice(0, split), body: text.slice(split + 4) };
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A body in HTTP/1.1 chunks: two, then the last (empty) one. */
export const chunked = (body: Buffer) => {
  const half = Math.floor(body.length / 2);
  const chunk = (part: Buffer) => Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]);
  return Buffer.concat([chunk(body.subarray(0, half)), chunk(body.subarray(half)), Buffer.from('0\r\n\r\n')]);
};

/** A POST with these headers and a body in chunks, its connection closed after the answer. */
export const chunkedPost = (path: string, headers: Record<string, string>, body: Buffer) =>
  Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\n${Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')}Connection: close\r\n\r\n`,
    ),
    chunked(body),
  ]);
