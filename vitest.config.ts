import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Three tiers (README, "Testing"):
 * - unit: in process, no registry, no peers: formats, stores, the work-tree rules, verbs called directly.
 *   The quick loop: `npm run test:unit`.
 * - e2e: stories through bin/mk and real git, registries and independent clients.
 * - reliability: faults and kills, bounded by trial counts.
 * `npm test` runs all three.
 *
 * No test has a wall-clock bound (timings belong to `npm run bench`). The timeouts below only
 * guard against a hang, so that one stuck test fails instead of holding CI until its limit:
 * they are far above what any test takes on a loaded 2-core machine. The long form of the
 * fault suite (`npm run faults`, MK_FAULTS_SCALE times the trials) scales its guard.
 *
 * Workers: vitest's default is one fewer than the cores, so one test file at a time on a 2-core
 * machine, with a core idle whenever the test waits for its git or mk. Unit and e2e files run
 * two at a time (as many as there are cores, at least two); the reliability files one at a
 * time, as the kills they time land in processes the machine runs nothing else beside.
 */
const workers = Math.max(2, availableParallelism());
const MINUTE = 60_000;
const faultsScale = Math.max(1, Number(process.env.MK_FAULTS_SCALE ?? 1) || 1);
const guard = (ms: number) => ({ testTimeout: ms, hookTimeout: ms });

export default defineConfig({
  test: {
    reporters: ['default'],
    maxWorkers: workers,
    projects: [
      { test: { ...guard(2 * MINUTE), name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/support/unit-env.ts'], pool: 'forks' } },
      { test: { ...guard(10 * MINUTE), name: 'e2e', include: ['test/e2e/**/*.test.ts'], pool: 'forks' } },
      { test: { ...guard(30 * MINUTE * faultsScale), name: 'reliability', include: ['test/reliability/**/*.test.ts'], pool: 'forks', maxWorkers: 1 } },
    ],
  },
});
