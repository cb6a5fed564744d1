import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Root/netns suites share kernel state; they serialize themselves with unique names.
    fileParallelism: true,
    reporters: ['default'],
  },
});
