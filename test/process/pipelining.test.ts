import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_PIPELINED_REQUESTS } from '../../src/http/connections.js';
import { uuid } from '../support/events.js';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// Requests sent ahead on one connection (HTTP pipelining), to the real process: scrapes wait for
// a response slot, and write nothing meanwhile.

let running: ExporterProcess | undefined;
afterEach(async () => {
  await stopProcess(running, 'SIGKILL');
  running = undefined;
});

const SCRAPE = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

/** Sends `requests` on one connection in one write, reads everything until the connection closes or `count` answers came. */
function pipeline(port: number, requests: string, count: number): Promise<{ statuses: string[]; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const statuses = () => received.match(/HTTP\/1\.1 \d{3}/g) ?? [];
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (statuses().length >= count) {
        socket.destroy();
        resolve({ statuses: statuses(), closedByServer: false });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ statuses: statuses(), closedByServer: true }));
    socket.write(requests);
  });
}

describe('requests pipelined on one connection, in the real process', () => {
  it('are answered in order, each scrape whole, and past MAX_PIPELINED_REQUESTS waiting the connection is closed, the process answering others', async () => {
    running = await startExporterProcess({ STORE: 'memory' });
    // Before, the second scrape was never answered, nor anything after it.
    const three = await pipeline(running.port, SCRAPE.repeat(3), 3);
    expect(three).toEqual({ statuses: ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200'], closedByServer: false });

    // Before, the process kept every one of them for as long as the client stayed.
    const flood = await pipeline(running.port, SCRAPE.repeat(5_000), 5_000);
    expect(flood.closedByServer).toBe(true);
    expect(flood.statuses.length).toBeLessThanOrEqual(MAX_PIPELINED_REQUESTS);
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    const logs = running.logs;
    const deadline = Date.now() + 5_000;
    while (!logs.some((line) => line.max_pipelined_requests !== undefined) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', port: 'PORT', max_pipelined_requests: MAX_PIPELINED_REQUESTS, closed: 1 }));
  });

  it('answer a webhook first, then take none of the requests after one that says Connection: close, and refuse a malformed one after its answer', async () => {
    running = await startExporterProcess({ STORE: 'memory' });
    const webhook = (component: number, close: boolean) => {
      const body = JSON.stringify({
        meta: { type: 'component_impact_updated', uuid: uuid(component), title: `Component ${component}`, impact: 'major_outage' },
      });
      const connection = close ? 'Connection: close\r\n' : '';
      return `POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${connection}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    // Before, the bytes after it made the parser's error answer the first request 400
    // "malformed HTTP request (HPE_CLOSED_CONNECTION)" in place of its own answer.
    const { statuses, closedByServer } = await pipeline(running.port, webhook(1, true) + webhook(2, false), 2);
    expect(statuses).toEqual(['HTTP/1.1 200']);
    expect(closedByServer).toBe(true);
    const state = (await (await fetch(`${running.url}/api/v1/state`)).json()) as { status_pages: { components: { uuid: string }[] }[] };
    expect(state.status_pages.flatMap((page) => page.components.map((component) => component.uuid))).toEqual([uuid(1)]);
    const lines = running.logs.filter((line) => line.msg === 'request' && line.path === '/webhook');
    expect(lines.map((line) => [line.status, line.outcome])).toEqual([[200, 'applied']]);

    // A malformed request sent after a webhook is refused after the webhook's own answer, not in
    // its place (before: one 400 "malformed HTTP request (HPE_INVALID_METHOD)" for both, the
    // webhook's line saying status 400, outcome applied).
    const followed = await pipeline(running.port, webhook(3, false) + 'NOT-A-METHOD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 3);
    expect(followed).toEqual({ statuses: ['HTTP/1.1 200', 'HTTP/1.1 400'], closedByServer: true });
    const deadline = Date.now() + 5_000;
    while (!running.logs.some((line) => line.code === 'HPE_INVALID_METHOD') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(running.logs.filter((line) => line.msg === 'request refused by the HTTP parser')).toEqual([
      expect.objectContaining({ level: 'warn', status: 400, code: 'HPE_INVALID_METHOD' }),
    ]);
    const webhookLines = running.logs.filter((line) => line.msg === 'request' && line.path === '/webhook');
    expect(webhookLines.map((line) => [line.status, line.outcome, line.event_uuid])).toEqual([
      [200, 'applied', uuid(1)],
      [200, 'applied', uuid(3)],
    ]);
  });
});
