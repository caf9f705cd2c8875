import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Network-namespace and VM tests share the machine's two cores: run files one or two at a time.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
