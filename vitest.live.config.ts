import { defineConfig } from 'vitest/config';

// `npm run test:live`: tests that reach the machine's configured npm registry or apt archive.
// Never part of `npm test`, which is hermetic (loopback only).
export default defineConfig({
  test: {
    include: ['test/live/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 1 } },
  },
});
