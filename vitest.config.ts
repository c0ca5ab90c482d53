import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/live/**'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Tests start real servers (docker-registry, verdaccio, HTTP) on loopback: keep it within 2 cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default', './test/harness/summary-reporter.ts'],
  },
});
