import { defineConfig } from 'vitest/config';

// Interop, e2e and reliability tests create network namespaces and spawn real
// clients; they run in their own files so vitest's file-level parallelism keeps
// them isolated (every file uses its own namespace names and subnet).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
