import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/store/memory.js';
import { makeApp, type TestApp } from '../support/app.js';

let app: TestApp | undefined;
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await app?.close();
  app = undefined;
  server = undefined;
});

describe('a webhook whose client goes away before the answer', () => {
  it('is logged and listed as unanswered (499, warn), never as a 200', async () => {
    app = await makeApp({ store: new MemoryLog(), tokens: ['s3cret'] });
    server = createServer(app.main);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"meta":');
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    const line = () => app?.logs.lines.find((entry) => entry.msg === 'request' && entry.path === '/webhook');
    for (let i = 0; i < 50 && line() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const logged = line();
    expect(logged).toMatchObject({ level: 'warn', status: 499, outcome: 'invalid', error: 'request body was not received whole' });
    expect(app.logs.lines.filter((entry) => entry.status === 200)).toEqual([]);
  });
});
