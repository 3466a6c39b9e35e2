import { defineConfig } from 'vitest/config';

// Interop, e2e and reliability tests create network namespaces and spawn real
// clients; every file uses its own namespace names (with its pid) and subnet,
// so files may run side by side. Two workers: the machines have two cores.
const jsonReport = process.env.NETBOOT_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
  },
});
