import { defineConfig } from 'vitest/config';

/**
 * Three tiers (README, "Testing"):
 * - unit: in process, no registry, no peers: formats, stores, the work-tree rules, verbs called directly.
 *   The quick loop: `npm run test:unit`.
 * - e2e: stories through bin/mk and real git, registries and independent clients.
 * - reliability: faults and kills, bounded by trial counts.
 * `npm test` runs all three.
 */
const shared = { testTimeout: 120_000, hookTimeout: 120_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
      // Bounded by trial counts, never by a clock: a loaded machine makes them slower, not failed.
      { test: { ...shared, testTimeout: 0, hookTimeout: 0, name: 'reliability', include: ['test/reliability/**/*.test.ts'] } },
    ],
  },
});
