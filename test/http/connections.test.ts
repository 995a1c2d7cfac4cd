import { describe, expect, it } from 'vitest';
import { connectionCaps, descriptorLimit, METRICS_MAX_CONNECTIONS, RESERVED_DESCRIPTORS } from '../../src/http/connections.js';

const limits = (soft: string, hard: string) => `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     
Max locked memory         8388608              8388608              bytes     
`;

describe('the open-file limit', () => {
  it('is the soft limit of "Max open files" in /proc/self/limits', () => {
    expect(descriptorLimit(limits('1024', '1048576'))).toBe(1024);
  });

  it('is unbounded when the soft limit is unlimited', () => {
    expect(descriptorLimit(limits('unlimited', 'unlimited'))).toBe(Number.POSITIVE_INFINITY);
  });

  it('is taken as 1024, the usual default, when /proc cannot tell', () => {
    expect(descriptorLimit('')).toBe(1024);
    expect(descriptorLimit('no such line')).toBe(1024);
  });

  it('is read from this process on Linux', () => {
    expect(descriptorLimit()).toBeGreaterThan(RESERVED_DESCRIPTORS);
  });
});

describe('the connection caps', () => {
  it('are MAX_CONNECTIONS for the webhook port and a share of their own for the metrics port when descriptors are plenty', () => {
    expect(connectionCaps(20_000, 1000, true)).toEqual({ main: 1000, metrics: METRICS_MAX_CONNECTIONS, lowered: false });
  });

  it('leave the reserve and the metrics share free under ulimit -n 1024, lowering MAX_CONNECTIONS', () => {
    const caps = connectionCaps(1024, 1000, true);
    expect(caps).toEqual({ main: 1024 - RESERVED_DESCRIPTORS - METRICS_MAX_CONNECTIONS, metrics: METRICS_MAX_CONNECTIONS, lowered: true });
    expect(caps.main + caps.metrics + RESERVED_DESCRIPTORS).toBeLessThanOrEqual(1024);
  });

  it('give the webhook port everything past the reserve when it also serves /metrics', () => {
    expect(connectionCaps(1024, 5000, false)).toEqual({ main: 1024 - RESERVED_DESCRIPTORS, metrics: 0, lowered: true });
  });

  it('stay within a tiny limit, each port keeping at least one connection', () => {
    const caps = connectionCaps(100, 1000, true);
    expect(caps.main).toBeGreaterThanOrEqual(1);
    expect(caps.metrics).toBeGreaterThanOrEqual(1);
    expect(caps.main + caps.metrics + RESERVED_DESCRIPTORS).toBeLessThanOrEqual(100);
    expect(connectionCaps(10, 1000, true)).toMatchObject({ main: 1, metrics: 1 });
  });
});

describe('a request Node cannot parse', () => {
  it('is answered in JSON naming the problem, with the headers of every answer, and closed', async () => {
    const { createBoundedServer } = await import('../../src/http/connections.js');
    const { createLogger } = await import('../../src/logger.js');
    const { LogCapture } = await import('../support/app.js');
    const { connect } = await import('node:net');
    const logs = new LogCapture();
    const server = createBoundedServer((_req, res) => res.end('ok'), 10, 'PORT', createLogger('debug', logs));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const exchange = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(request));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
    try {
      const tooLarge = await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(tooLarge).toMatch(/^HTTP\/1\.1 431 /);
      expect(tooLarge).toContain('X-Content-Type-Options: nosniff');
      expect(tooLarge.slice(tooLarge.indexOf('\r\n\r\n') + 4)).toBe('{"error":"request headers (with the URL) larger than 16 KiB","issues":[]}');
      const garbage = await exchange('GARBAGE\r\n\r\n');
      expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: expect.stringContaining('malformed HTTP request') as unknown });
      // Each is one log line saying which port refused what, without the header's bytes or a stack.
      const refusals = logs.lines.filter((line) => line.msg === 'request refused by the HTTP parser');
      expect(refusals.map((line) => [line.level, line.port, line.status, line.code])).toEqual([
        ['warn', 'PORT', 431, 'HPE_HEADER_OVERFLOW'],
        ['warn', 'PORT', 400, 'HPE_INVALID_METHOD'],
      ]);
      expect(refusals[0]?.remote_address).toBe('127.0.0.1');
      expect(logs.raw.join('\n')).not.toMatch(/aaaaaaaa|"stack"/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a request that timed out', () => {
  it('is answered 408 in JSON and its connection destroyed, not half-closed while the client goes on sending', async () => {
    const { answerClientError } = await import('../../src/http/connections.js');
    const written: string[] = [];
    let destroyed = false;
    const socket = {
      writable: true,
      bytesWritten: 0,
      write: (text: string) => written.push(text),
      end: () => undefined,
      destroy: () => (destroyed = true),
    };
    const timeout = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    answerClientError(timeout, socket as unknown as import('node:stream').Duplex);
    expect(written.join('')).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"error":"request not received whole within 30 s"/);
    expect(destroyed).toBe(true);
  });
});

describe('a request whose body came too slowly', () => {
  it('is logged once, by the route that has it, not also as refused by the HTTP parser; one the parser still holds is', async () => {
    const { createBoundedServer } = await import('../../src/http/connections.js');
    const { createLogger } = await import('../../src/logger.js');
    const { LogCapture } = await import('../support/app.js');
    const { connect } = await import('node:net');
    const logs = new LogCapture();
    let routed: (req: import('node:http').IncomingMessage) => void = () => undefined;
    const atRoute = new Promise<import('node:http').IncomingMessage>((resolve) => (routed = resolve));
    const server = createBoundedServer((req) => routed(req), 10, 'PORT', createLogger('debug', logs));
    const accepted: import('node:net').Socket[] = [];
    server.on('connection', (socket: import('node:net').Socket) => accepted.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const open = (bytes: string) =>
      new Promise<import('node:net').Socket>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(bytes, () => resolve(socket)));
        socket.on('error', () => undefined);
      });
    // Node's request timeout, as it reports it (after 30 s): emitted here rather than waited for.
    const timeout = () => Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    const parserLines = () => logs.lines.filter((line) => line.msg === 'request refused by the HTTP parser');
    try {
      await open('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"meta":');
      const req = await atRoute;
      server.emit('clientError', timeout(), req.socket);
      expect(parserLines()).toEqual([]);
      // Headers not yet whole: no route has the request, and the parser's line is the only one.
      const partial = await open('POST /webhook HTTP/1.1\r\nHost: x\r\n');
      let serverSide: import('node:net').Socket | undefined;
      while (serverSide === undefined) {
        await new Promise((resolve) => setImmediate(resolve));
        serverSide = accepted.find((socket) => socket.remotePort === partial.localPort);
      }
      server.emit('clientError', timeout(), serverSide);
      expect(parserLines().map((line) => [line.status, line.code])).toEqual([[408, 'ERR_HTTP_REQUEST_TIMEOUT']]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a request whose headers come too slowly', () => {
  // Waits out the real 5 s headers timeout (no fake clock: it is Node's parser that times it).
  it('is answered 408 in JSON naming the headers timeout and logged, not closed without a word', async () => {
    const { createBoundedServer, TIMEOUTS } = await import('../../src/http/connections.js');
    const { createLogger } = await import('../../src/logger.js');
    const { LogCapture } = await import('../support/app.js');
    const { connect } = await import('node:net');
    const logs = new LogCapture();
    const server = createBoundedServer((_req, res) => res.end('ok'), 10, 'PORT', createLogger('debug', logs));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      // Half a head, sent at once, then nothing: a client (or a proxy) stuck mid-headers.
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\n'));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        socket.on('close', () => resolve(text));
        socket.on('error', () => undefined);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
        error: `request headers not received within ${TIMEOUTS.headersMs / 1000} s`,
        issues: [],
      });
      const refusals = logs.lines.filter((line) => line.msg === 'request refused by the HTTP parser');
      // Node's own code for it, which it shares with the request timeout.
      expect(refusals.map((line) => [line.port, line.status, line.code])).toEqual([['PORT', 408, 'ERR_HTTP_REQUEST_TIMEOUT']]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a port at its connection cap', () => {
  it('closes its idle kept-alive connections, so that the next connection is served rather than every one refused', async () => {
    const { createBoundedServer } = await import('../../src/http/connections.js');
    const { createLogger } = await import('../../src/logger.js');
    const { LogCapture } = await import('../support/app.js');
    const { Agent, request } = await import('node:http');
    const logs = new LogCapture();
    const server = createBoundedServer((_req, res) => res.end('ok'), 2, 'PORT', createLogger('debug', logs));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const get = (agent: import('node:http').Agent) =>
      new Promise<string>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        req.end();
      });
    // Two clients each keep a connection open and idle after one request: the cap.
    const holders = [new Agent({ keepAlive: true }), new Agent({ keepAlive: true })];
    const fresh = () => new Agent({ keepAlive: false });
    try {
      expect(await Promise.all(holders.map(get))).toEqual(['200', '200']);
      const refused = await get(fresh());
      expect(refused).not.toBe('200');
      expect(await get(fresh())).toBe('200');
      expect(logs.lines.some((line) => line.msg === 'connections refused: MAX_CONNECTIONS open connections on this port')).toBe(true);
    } finally {
      for (const agent of holders) agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('requests pipelined on one connection', () => {
  /** A bounded server whose answers wait until `release` is called; it counts the requests its listener saw. */
  async function held() {
    const { createBoundedServer } = await import('../../src/http/connections.js');
    const { createLogger } = await import('../../src/logger.js');
    const { LogCapture } = await import('../support/app.js');
    const waiting: import('node:http').ServerResponse[] = [];
    let seen = 0;
    let released = false;
    const logs = new LogCapture();
    const server = createBoundedServer(
      (_req, res) => {
        seen += 1;
        if (released) res.end('ok');
        else waiting.push(res);
      },
      10,
      'PORT',
      createLogger('debug', logs),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const release = () => {
      released = true;
      for (const res of waiting.splice(0)) res.end('ok');
    };
    const close = async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
    return { port, logs, seen: () => seen, release, close };
  }

  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(check()).toBe(true);
  };

  it('past MAX_PIPELINED_REQUESTS waiting for their answers, close the connection: what a client that never reads makes the process keep is bounded', async () => {
    const { MAX_PIPELINED_REQUESTS } = await import('../../src/http/connections.js');
    const { connect } = await import('node:net');
    const server = await held();
    try {
      // The listener answers nothing until released: the requests wait, as behind answers waiting for a slot.
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      // Ten thousand requests at 33 bytes each: before, the process kept every one until the client left.
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(10_000));
      await closed;
      expect(server.seen()).toBe(MAX_PIPELINED_REQUESTS);
      expect(
        server.logs.lines.filter(
          (line) => line.msg === `connections closed: more than ${MAX_PIPELINED_REQUESTS} requests on one waiting for their answers (HTTP pipelining)`,
        ),
      ).toEqual([expect.objectContaining({ port: 'PORT', max_pipelined_requests: MAX_PIPELINED_REQUESTS, closed: 1 })]);
    } finally {
      await server.close();
    }
  });

  it('fewer than MAX_PIPELINED_REQUESTS at once are all answered', async () => {
    const { MAX_PIPELINED_REQUESTS } = await import('../../src/http/connections.js');
    const { connect } = await import('node:net');
    const server = await held();
    try {
      const socket = connect(server.port, '127.0.0.1');
      let answers = 0;
      socket.on('data', (chunk: Buffer) => (answers += chunk.toString('latin1').split('HTTP/1.1 200').length - 1));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(MAX_PIPELINED_REQUESTS));
      await until(() => server.seen() === MAX_PIPELINED_REQUESTS);
      server.release();
      await until(() => answers === MAX_PIPELINED_REQUESTS);
      socket.destroy();
    } finally {
      await server.close();
    }
  });

  it('answered at once, however many, are not counted against MAX_PIPELINED_REQUESTS: Node holds those answers, and stops reading when they pile up', async () => {
    const { connect } = await import('node:net');
    const server = await held();
    server.release();
    try {
      const socket = connect(server.port, '127.0.0.1');
      let answers = 0;
      socket.on('data', (chunk: Buffer) => (answers += chunk.toString('latin1').split('HTTP/1.1 200').length - 1));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(1_000));
      await until(() => answers === 1_000 || socket.destroyed);
      expect(answers).toBe(1_000);
      socket.destroy();
    } finally {
      await server.close();
    }
  });
});

describe('a request Node would answer itself, bare', () => {
  it('is answered in JSON naming the problem, with the headers of every answer: no Host, an Expect other than 100-continue, CONNECT, a target Express cannot route', async () => {
    const { createBoundedServer } = await import('../../src/http/connections.js');
    const { createLogger } = await import('../../src/logger.js');
    const { LogCapture } = await import('../support/app.js');
    const { connect } = await import('node:net');
    const logs = new LogCapture();
    let routed = 0;
    const server = createBoundedServer(
      (_req, res) => {
        routed += 1;
        res.end('ok');
      },
      10,
      'PORT',
      createLogger('debug', logs),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const exchange = (request: string) =>
      new Promise<{ head: string; body: string }>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(request));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('close', () => resolve({ head: text.slice(0, text.indexOf('\r\n\r\n')), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
        socket.on('error', reject);
      });
    try {
      const noHost = await exchange('GET /api/v1/state HTTP/1.1\r\n\r\n');
      expect(noHost.head).toMatch(/^HTTP\/1\.1 400 /);
      expect(noHost.head).toContain('X-Content-Type-Options: nosniff');
      expect(JSON.parse(noHost.body)).toEqual({ error: 'request has no Host header, which HTTP/1.1 requires', issues: [] });
      const expectation = await exchange('POST /webhook HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}');
      expect(expectation.head).toMatch(/^HTTP\/1\.1 417 /);
      expect(expectation.head).toContain('Connection: close');
      expect(JSON.parse(expectation.body)).toEqual({ error: 'unsupported Expect "200-ok": only 100-continue is taken', issues: [] });
      const tunnel = await exchange('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      expect(tunnel.head).toMatch(/^HTTP\/1\.1 405 /);
      expect(tunnel.head).toContain('X-Frame-Options: DENY');
      expect(JSON.parse(tunnel.body)).toEqual({ error: 'CONNECT is not served: this is no proxy', issues: [] });
      // A target Express cannot route (it would answer an HTML 404 before any handler, unlogged).
      for (const target of ['http://[::1', '*']) {
        const unroutable = await exchange(`OPTIONS ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
        expect(unroutable.head).toMatch(/^HTTP\/1\.1 400 /);
        expect(unroutable.head).toContain('Content-Type: application/json');
        expect(JSON.parse(unroutable.body)).toEqual({
          error: `request target ${JSON.stringify(target)} is neither a path nor a URL: send a path, such as /webhook`,
          issues: [],
        });
      }
      // An HTTP/1.0 request needs no Host, and reaches its route; so does an absolute URL that parses (as a proxy sends).
      expect((await exchange('GET /healthz HTTP/1.0\r\n\r\n')).body).toBe('ok');
      expect((await exchange('GET http://x/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).body).toBe('ok');
      expect(routed).toBe(2);
      // One warn line each, as every refused request's.
      const refused = logs.lines.filter((line) => line.level === 'warn');
      expect(refused.map((line) => [line.status, line.remote_address])).toEqual([
        [400, '127.0.0.1'],
        [417, '127.0.0.1'],
        [405, '127.0.0.1'],
        [400, '127.0.0.1'],
        [400, '127.0.0.1'],
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
