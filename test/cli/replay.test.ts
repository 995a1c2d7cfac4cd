import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stateViewSchema } from '../../src/api/state.js';
import { deliver, FINAL_STATUSES } from '../../src/cli/deliver.js';
import { formatSummary, readRecording, REPLAY_USAGE } from '../../src/cli/replay.js';
import { SEND_USAGE } from '../../src/cli/send.js';
import { tempDir } from '../support/app.js';
import { CLI, EXAMPLES, runCli } from '../support/cli.js';
import { requireBuild, startExporterProcess, stopProcess, type ExporterProcess } from '../support/exporter.js';

let exporter: ExporterProcess | undefined;
let fake: Server | undefined;
afterEach(async () => {
  await stopProcess(exporter);
  exporter = undefined;
  await new Promise((resolve) => (fake ? fake.close(resolve) : resolve(undefined)));
  fake = undefined;
});

describe('the replay summary', () => {
  const none = { applied: 0, duplicate: 0, stale: 0, unsupported: 0, refused_limit: 0, refused: 0, failed: 0 };
  it('says "1 event" and "1 retry", not "1 events" and "1 retries"', () => {
    expect(formatSummary({ ...none, applied: 1, events: 1, total: 1, retries: 1, stopped: false })).toBe(
      '1 event: 1 applied, 0 duplicate, 0 stale, 0 unsupported, 0 refused_limit, 0 refused, 0 failed; 1 retry',
    );
  });
  it('counts the noun by the events of the file when it stopped early', () => {
    expect(formatSummary({ ...none, failed: 1, events: 1, total: 3, retries: 0, stopped: true })).toBe(
      '1 of 3 events: 0 applied, 0 duplicate, 0 stale, 0 unsupported, 0 refused_limit, 0 refused, 1 failed; 0 retries; stopped early',
    );
  });
});

/** A loopback server that answers each request with the next status of `statuses` (the last one repeats), keeping the bodies. */
async function scripted(statuses: number[]): Promise<{ url: string; bodies: Record<string, { delivery_attempt?: number }>[] }> {
  const bodies: Record<string, { delivery_attempt?: number }>[] = [];
  let count = 0;
  fake = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(JSON.parse(text) as Record<string, { delivery_attempt?: number }>);
      const status = statuses[Math.min(count, statuses.length - 1)] as number;
      count += 1;
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(status === 200 ? '{"status":"applied"}' : '{"error":"not now"}');
    });
  });
  await new Promise<void>((resolve) => fake?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, bodies };
}

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const event = (n: number) => ({
  meta: { type: 'component_impact_updated', uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, impact: 'major_outage', delivery_attempt: 0 },
});

describe('replay', () => {
  it('replays the example day into an exporter with the example inventory cleanly', async () => {
    exporter = await startExporterProcess({
      STORE: 'memory',
      STATUS_PAGES_FILE: join(EXAMPLES, 'status-pages.yaml'),
      WEBHOOK_TOKEN: 'all-pages',
      ACME_WEBHOOK_TOKEN: 'acme-only',
    });
    const result = await runCli(['replay', join(EXAMPLES, 'statusmate-day.jsonl'), '--url', exporter.url, '--token', 'all-pages']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/: 22 events: 16 applied, 5 duplicate, 1 stale, 0 unsupported, 0 refused_limit, 0 refused, 0 failed; 0 retries\n$/);
    expect(result.code).toBe(0);

    const view = stateViewSchema.parse(await (await fetch(`${exporter.url}/api/v1/state`, { headers: { authorization: 'Bearer all-pages' } })).json());
    const pages = Object.fromEntries(view.status_pages.map((page) => [page.id, page]));
    expect(Object.keys(pages)).toEqual(['acme', 'payments']);
    expect(pages.acme?.components.map((c) => [c.name, c.impact])).toEqual([
      ['API', 'operational'],
      ['Checkout', 'operational'],
      ['Search', 'operational'],
      ['Website', 'operational'],
    ]);
    expect(pages.payments?.components.map((c) => [c.name, c.impact])).toEqual([
      ['Card processing', 'operational'],
      ['Merchant webhooks', 'partial_outage'],
      ['Payouts', 'operational'],
    ]);
    expect(pages.payments?.incidents.map((i) => i.title)).toEqual(['Merchant webhooks delayed']);
    expect(pages.payments?.maintenances.map((m) => [m.title, m.state])).toEqual([['Payout provider migration', 'scheduled']]);
    const metrics = await (await fetch(`${exporter.url}/metrics`)).text();
    expect(metrics).toContain('statusmate_incidents_created_total{status_page="acme"} 1');
    expect(metrics).toContain('statusmate_incidents_created_total{status_page="payments"} 2');
    expect(metrics).toContain('statusmate_maintenances_finished_total{status_page="acme"} 1');
  });

  it('retries a delivery until it is answered 200, counting meta.delivery_attempt up as StatusMate does', async () => {
    const server = await scripted([503, 500, 200]);
    const result = await deliver(new URL(`${server.url}/webhook`), 't', event(1), { attempts: 5, baseDelayMs: 5 });
    expect(result).toMatchObject({ outcome: 'applied', status: 200, attempts: 3 });
    expect(server.bodies.map((body) => body.meta?.delivery_attempt)).toEqual([0, 1, 2]);
  });

  it('exits 1 when a delivery finally fails, says which, and still sends the rest', async () => {
    const server = await scripted([500, 500, 500, 200]);
    const file = join(tempDir(), 'two.jsonl');
    writeFileSync(file, `${JSON.stringify(event(1))}\n\n${JSON.stringify(event(2))}\n`);
    const result = await runCli(['replay', file, '--url', server.url, '--attempts', '3', '--retry-delay', '5']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      [
        'event 1 (line 1): attempt 1 of 3 failed (HTTP 500 {"error":"not now"}); retrying in 5 ms',
        'event 1 (line 1): attempt 2 of 3 failed (HTTP 500 {"error":"not now"}); retrying in 10 ms',
        'event 1 (line 1): failed after 3 attempt(s): HTTP 500 {"error":"not now"}',
        '',
      ].join('\n'),
    );
    expect(result.stdout).toContain('2 events: 1 applied, 0 duplicate, 0 stale, 0 unsupported, 0 refused_limit, 0 refused, 1 failed; 2 retries');
  });

  it.each([400, 401, 403, 404, 405, 413, 415, 422])('does not retry HTTP %i, which the same request gets again, and counts it as refused', async (status) => {
    const server = await scripted([status, 200]);
    const retries: unknown[] = [];
    const result = await deliver(new URL(server.url), 'a-token', event(1), { attempts: 5, baseDelayMs: 1 }, (notice) => retries.push(notice));
    expect(result).toMatchObject({ outcome: 'refused', final: true, status, attempts: 1, detail: '{"error":"not now"}' });
    expect(server.bodies).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('does not retry HTTP 421 (a host name ALLOWED_HOSTS does not list) past the one retry fetch makes itself', async () => {
    // fetch sends a request answered 421 once more on a new connection (the Fetch standard's
    // rule for a misdirected request); the exporter answers that one 421 as well.
    const server = await scripted([421, 421, 200]);
    const retries: unknown[] = [];
    const result = await deliver(new URL(server.url), 'a-token', event(1), { attempts: 5, baseDelayMs: 1 }, (notice) => retries.push(notice));
    expect(result).toMatchObject({ outcome: 'refused', final: true, status: 421, attempts: 1 });
    expect(server.bodies).toHaveLength(2);
    expect(retries).toEqual([]);
  });

  it.each([408, 429, 500, 502, 503])('retries HTTP %i, telling why and how long it waits', async (status) => {
    const server = await scripted([status, 200]);
    const retries: unknown[] = [];
    const result = await deliver(new URL(server.url), undefined, event(1), { attempts: 5, baseDelayMs: 1 }, (notice) => retries.push(notice));
    expect(result).toMatchObject({ outcome: 'applied', final: false, status: 200, attempts: 2 });
    expect(retries).toEqual([{ attempt: 1, attempts: 5, reason: `HTTP ${status} {"error":"not now"}`, delayMs: 1 }]);
  });

  it('stops a replay at the first answer no retry changes (a wrong token), exits 1 and says the rest was not sent', async () => {
    const server = await scripted([401]);
    const file = join(tempDir(), 'three.jsonl');
    writeFileSync(file, [1, 2, 3].map((n) => JSON.stringify(event(n))).join('\n'));
    const started = Date.now();
    const result = await runCli(['replay', file, '--url', server.url, '--token', 'wrong']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(1);
    expect(server.bodies).toHaveLength(1);
    expect(result.stderr).toBe(
      [
        'event 1 (line 1): refused after 1 attempt(s): HTTP 401 {"error":"not now"}',
        'replay stopped at event 1 of 3 (line 1): HTTP 401 is not retried, and the 2 events after it were not sent (resume from line 1)',
        '',
      ].join('\n'),
    );
    expect(result.stdout).toContain(
      '1 of 3 events: 0 applied, 0 duplicate, 0 stale, 0 unsupported, 0 refused_limit, 1 refused, 0 failed; 0 retries; stopped early',
    );
  });

  it('stops at once at an exporter URL whose path is a GET route, which answers every try 405', async () => {
    // A --url pasted from the browser (…/metrics, …/healthz) used to be tried 5 times over 15 s
    // per event: minutes for the example day, every try answered the same 405.
    exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 't' });
    const result = await runCli(['replay', join(EXAMPLES, 'statusmate-day.jsonl'), '--url', `${exporter.url}/metrics`, '--token', 't']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('event 1 (line 1): refused after 1 attempt(s): HTTP 405');
    expect(result.stderr).toContain('replay stopped at event 1 of 22 (line 1): HTTP 405 is not retried');
  });

  it("lists, in its usage and in send's, every answer it never retries", () => {
    for (const status of FINAL_STATUSES) {
      expect(REPLAY_USAGE).toContain(String(status));
      expect(SEND_USAGE).toContain(String(status));
    }
  });

  it('names the address that refused the connection, on each retry and at the end', async () => {
    const port = await closedPort();
    const file = join(tempDir(), 'one.jsonl');
    writeFileSync(file, JSON.stringify(event(1)));
    const result = await runCli(['replay', file, '--url', `http://127.0.0.1:${port}`, '--attempts', '2', '--retry-delay', '5']);
    expect(result.code).toBe(1);
    const refused = `connection refused by 127.0.0.1:${port} (http://127.0.0.1:${port}): is the exporter running and listening there?`;
    expect(result.stderr).toBe(
      [
        `event 1 (line 1): attempt 1 of 2 failed (${refused}); retrying in 5 ms`,
        `event 1 (line 1): failed after 2 attempt(s): ${refused}`,
        'replay stopped at event 1 of 1 (line 1): no answer from the exporter (resume from line 1)',
        '',
      ].join('\n'),
    );
    expect(result.stderr).not.toContain('fetch failed');
  });

  it('names the file line of an event, which blank lines make differ from its number', async () => {
    const server = await scripted([200, 500]);
    const file = join(tempDir(), 'gaps.jsonl');
    writeFileSync(file, `${JSON.stringify(event(1))}\n\n\n${JSON.stringify(event(2))}\n`);
    const result = await runCli(['replay', file, '--url', server.url, '--attempts', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('event 2 (line 4): failed after 1 attempt(s): HTTP 500 {"error":"not now"}\n');
  });

  it('stops at an event that got no answer at all, rather than retrying every later one against the same address', async () => {
    const port = await closedPort();
    const file = join(tempDir(), 'three.jsonl');
    writeFileSync(file, [1, 2, 3].map((n) => JSON.stringify(event(n))).join('\n\n'));
    const result = await runCli(['replay', file, '--url', `http://127.0.0.1:${port}`, '--attempts', '2', '--retry-delay', '5']);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('event '))).toHaveLength(2); // event 1's retry and its end; events 2 and 3 not tried
    expect(lines.at(-1)).toBe(
      'replay stopped at event 1 of 3 (line 1): no answer from the exporter, and the 2 events after it were not sent (resume from line 1)',
    );
    expect(result.stdout).toContain(
      '1 of 3 events: 0 applied, 0 duplicate, 0 stale, 0 unsupported, 0 refused_limit, 0 refused, 1 failed; 1 retry; stopped early',
    );
  });

  it('reports progress on a long file', async () => {
    const server = await scripted([200]);
    const file = join(tempDir(), 'long.jsonl');
    writeFileSync(file, Array.from({ length: 60 }, (_, n) => JSON.stringify(event(n))).join('\n'));
    const result = await runCli(['replay', file, '--url', server.url]);
    expect(result.code).toBe(0);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      'replay: 6/60 sent',
      'replay: 12/60 sent',
      'replay: 18/60 sent',
      'replay: 24/60 sent',
      'replay: 30/60 sent',
      'replay: 36/60 sent',
      'replay: 42/60 sent',
      'replay: 48/60 sent',
      'replay: 54/60 sent',
    ]);
  });

  it('skips a leading byte order mark', () => {
    const file = join(tempDir(), 'bom.jsonl');
    writeFileSync(file, `\uFEFF${JSON.stringify(event(1))}\n${JSON.stringify(event(2))}\n`);
    expect(readRecording(file)).toEqual([event(1), event(2)]);
  });

  it('refuses a file with a line the exporter would refuse (400) before sending anything, naming the line and the problem', async () => {
    const server = await scripted([200]);
    const file = join(tempDir(), 'invalid.jsonl');
    const bad = { meta: { type: 'component_impact_updated', uuid: 'not-a-uuid', impact: 'major_outage' } };
    writeFileSync(file, `${JSON.stringify(event(1))}\n\n${JSON.stringify(bad)}\n${JSON.stringify(event(2))}\n`);
    const result = await runCli(['replay', file, '--url', server.url]);
    expect(result.code).toBe(64);
    expect(result.stderr).toBe(
      `statusmate-exporter: ${file}:3: invalid webhook: meta.uuid: must be a UUID; nothing was sent (statusmate-exporter --help lists the commands and their flags)\n`,
    );
    // Sent, event 1 would have been applied and the replay stopped at line 3, leaving a half-replayed recording.
    expect(server.bodies).toEqual([]);
  });

  it('refuses a file with a line that is not JSON before sending anything, naming the line', async () => {
    const server = await scripted([200]);
    const file = join(tempDir(), 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify(event(1))}\n{nope\n`);
    const result = await runCli(['replay', file, '--url', server.url]);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(new RegExp(`^statusmate-exporter: ${file}:2: not JSON`));
    // The parser's own "(line 1 column 2)" counts within the line: it contradicted the file's line 2.
    expect(result.stderr).toContain(`${file}:2: not JSON (Expected property name or '}' at column 2); replay reads one webhook body per line`);
    expect(result.stderr).toContain('; nothing was sent');
    expect(result.stderr).not.toContain('line 1');
    expect(server.bodies).toEqual([]);
  });

  it.each(['seed-component-impact-updated.json', 'seed-incident-created.json', 'seed-incident-created-example.json', 'seed-maintenance-created.json'])(
    "sends StatusMate's documented example %s, pretty-printed as its documentation prints it, as one event",
    async (name) => {
      const server = await scripted([200]);
      const file = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
      const result = await runCli(['replay', file, '--url', server.url]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('1 event: 1 applied');
      expect(server.bodies).toEqual([JSON.parse(readFileSync(file, 'utf8'))]);
    },
  );

  it('refuses two pretty-printed bodies in one file, saying what shapes replay reads', async () => {
    const server = await scripted([200]);
    const file = join(tempDir(), 'two.json');
    writeFileSync(file, `${JSON.stringify(event(1), null, 2)}\n${JSON.stringify(event(2), null, 2)}\n`);
    const result = await runCli(['replay', file, '--url', server.url]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain(`${file}:1: not JSON (`);
    expect(result.stderr).toContain('replay reads one webhook body per line (JSON Lines: `jq -c . FILE` writes each body on one line)');
    expect(server.bodies).toEqual([]);
  });

  it('says where to resume when Ctrl-C interrupts it, naming the event whose answer did not come', async () => {
    // Answers the first two events and holds the third, so that the interrupt comes while it waits.
    let received = 0;
    let third: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (third = resolve));
    fake = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received += 1;
        if (received <= 2) res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"applied"}');
        else third();
      });
    });
    await new Promise<void>((resolve) => fake?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const file = join(tempDir(), 'day.jsonl');
    writeFileSync(file, `${JSON.stringify(event(1))}\n\n${JSON.stringify(event(2))}\n${JSON.stringify(event(3))}\n${JSON.stringify(event(4))}\n`);
    requireBuild();
    const child = spawn(process.execPath, [CLI, 'replay', file, '--url', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await holding;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toBe('replay interrupted at event 3 of 4 (line 4): its answer did not come, so it may or may not be applied (resume from line 4)\n');
    expect(stdout).toBe(
      `replayed ${file}: 2 of 4 events: 2 applied, 0 duplicate, 0 stale, 0 unsupported, 0 refused_limit, 0 refused, 0 failed; 0 retries; stopped early\n`,
    );
  });
});
