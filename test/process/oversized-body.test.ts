import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

// A sender that streams a body past MAX_BODY_BYTES is answered before its body was read. If the
// exporter then closed the socket at once, the unread bytes would make the kernel reset the
// connection, and the sender would often see EPIPE or ECONNRESET instead of the 413.

const BODY_BYTES = 4 * 1024 * 1024;

type Outcome = { head: string; error: string | undefined };

/** Sends a 4 MiB body as fast as the socket takes it, and returns what came back and any socket error. */
function sendOversized(port: number, framing: 'content-length' | 'chunked'): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ head: received.split('\r\n', 1)[0] ?? '', error }));
    const send = async () => {
      const length = framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${BODY_BYTES}`;
      socket.write(`POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${length}\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const frame = framing === 'chunked' ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
      for (let sent = 0; sent < BODY_BYTES && !socket.destroyed; sent += chunk.length) {
        if (!socket.write(frame)) await new Promise((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
      }
      if (framing === 'chunked' && !socket.destroyed) socket.write('0\r\n\r\n');
    };
    socket.once('connect', () => void send());
  });
}

let running: ExporterProcess | undefined;
beforeAll(async () => {
  running = await startExporterProcess({ STORE: 'memory', MAX_BODY_BYTES: '1024' });
});
afterAll(async () => stopProcess(running, 'SIGKILL'));

describe('a body over MAX_BODY_BYTES', () => {
  // Twenty tries each: on the code before this fix, most chunked and about a third of declared
  // bodies lost their 413 to a reset.
  it.each(['content-length', 'chunked'] as const)('sent with %s is answered 413, every time, before the connection closes cleanly', async (framing) => {
    if (!running) throw new Error('exporter not started');
    const outcomes: Outcome[] = [];
    for (let attempt = 0; attempt < 20; attempt++) outcomes.push(await sendOversized(running.port, framing));
    expect(outcomes).toEqual(Array.from({ length: 20 }, () => ({ head: 'HTTP/1.1 413 Payload Too Large', error: undefined })));
  });
});
