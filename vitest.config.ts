import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child processes (exporter, Prometheus, helm) share two cores: keep timeouts generous.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Every temporary directory of the run under one, removed at its end (see the file).
    globalSetup: ['test/support/run-tmpdir.ts'],
  },
});
