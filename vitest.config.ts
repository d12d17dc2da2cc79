import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that spawn the CLI and worker pools are CPU-heavy; two files at a time suit a 2-core box.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
