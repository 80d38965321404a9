import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles the CLI once for every test that spawns it.
    globalSetup: ['test/global-setup.ts'],
    // Integration tests start real listeners on ephemeral ports; two cores do not like many forks.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
