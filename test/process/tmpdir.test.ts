import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runNodeToExit } from '../support/exporter.js';

describe("a test run's temporary directory", () => {
  it('is not /tmp itself, and is the one a process the test helpers start writes to', async () => {
    expect(tmpdir()).not.toBe('/tmp');
    const child = await runNodeToExit(['-e', "process.stdout.write(require('node:os').tmpdir())"], {}, 20_000, 'node -e tmpdir');
    expect(child).toEqual({ code: 0, stdout: tmpdir(), stderr: '' });
  });
});
