import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseForgetOptions } from '../../src/cli/forget.js';
import { UsageError } from '../../src/cli/io.js';
import { parseSendOptions } from '../../src/cli/send.js';
import { tokenOf } from '../../src/cli/token.js';
import { runCli, EXAMPLES } from '../support/cli.js';
import { startExporterProcess, stopProcess } from '../support/exporter.js';

const COMPONENT = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const dir = mkdtempSync(join(tmpdir(), 'statusmate-token-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const usageError = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error('no usage error');
};

describe('--token-file', () => {
  it('reads the token from the first line, without the line break echo or an editor ends it with', () => {
    expect(tokenOf({ 'token-file': file('echoed', 's3cret\n') })).toBe('s3cret');
    expect(tokenOf({ 'token-file': file('crlf', 's3cret\r\nsecond line\r\n') })).toBe('s3cret');
    expect(tokenOf({ 'token-file': file('bare', 's3cret') })).toBe('s3cret');
  });

  it('leaves --token as it is when no file is given', () => {
    expect(tokenOf({ token: 'from-the-flag' })).toBe('from-the-flag');
    expect(tokenOf({})).toBeUndefined();
  });

  it('refuses --token and --token-file together', () => {
    expect(usageError(() => tokenOf({ token: 'a', 'token-file': file('both', 'b\n') }))).toBe('give --token or --token-file, not both');
  });

  it('names the file, never its content, when it cannot be read or holds no token', () => {
    expect(usageError(() => tokenOf({ 'token-file': join(dir, 'missing') }))).toBe(`--token-file ${join(dir, 'missing')}: cannot be read (ENOENT)`);
    expect(usageError(() => tokenOf({ 'token-file': dir }))).toBe(`--token-file ${dir}: cannot be read (EISDIR)`);
    const empty = file('empty', '\n  \nnot-the-first-line\n');
    expect(usageError(() => tokenOf({ 'token-file': empty }))).toBe(`--token-file ${empty}: its first line holds no token`);
    const large = file('large', Buffer.alloc(100_000, 'x'));
    const message = usageError(() => tokenOf({ 'token-file': large }));
    expect(message).toBe(`--token-file ${large}: over 65536 bytes, not a token`);
    expect(message).not.toContain('xxx');
    expect(usageError(() => tokenOf({ 'token-file': '/dev/zero' }))).toBe('--token-file /dev/zero: over 65536 bytes, not a token');
  });

  it('gives send and forget the token of the file', () => {
    const path = file('send', 'page-token\n');
    expect(parseSendOptions(['--url', 'http://x', '--token-file', path, '--type', 'incident_created']).token).toBe('page-token');
    expect(parseForgetOptions(['--url', 'http://x', '--token-file', path, '--page', 'acme']).token).toBe('page-token');
  });

  it('authorises send and replay against an exporter, with no token on their command line', async () => {
    const exporter = await startExporterProcess({ STORE: 'memory', WEBHOOK_TOKEN: 'secret' });
    try {
      const path = file('exporter', 'secret\n');
      const sent = await runCli([
        'send',
        '--url',
        exporter.url,
        '--token-file',
        path,
        '--type',
        'component_impact_updated',
        '--component',
        COMPONENT,
        '--impact',
        'major_outage',
      ]);
      expect(sent.stderr).toBe('');
      expect(sent.code).toBe(0);
      expect(sent.stdout).toMatch(/^component_impact_updated 88337a51-852b-48f3-ac8d-840e5f5326a0: applied \(HTTP 200 after 1 attempt\(s\)\)/);
      const replayed = await runCli(['replay', join(EXAMPLES, 'statusmate-day.jsonl'), '--url', exporter.url, '--token-file', path]);
      expect(replayed.code).toBe(0);
      expect(replayed.stdout).toMatch(/^replayed .*statusmate-day\.jsonl: /);
      const wrong = await runCli(['send', '--url', exporter.url, '--token-file', file('wrong', 'wrong\n'), '--type', 'incident_created']);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('HTTP 401 {"error":"wrong webhook token"');
    } finally {
      await stopProcess(exporter);
    }
  });
});
