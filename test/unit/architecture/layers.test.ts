/**
 * Layers point one way (README, "Design"): cli → api | integration → sync → signing → modelkit →
 * experiments → worktree → transfer → remote → git → repo → stores → formats → content, hashing →
 * util → errors; api and integration sit side by side (neither imports the other), and a verb
 * never imports another verb. The rule lives
 * in .dependency-cruiser.cjs and this test runs it, so `npm test` (and CI) fails on an
 * import that points up, a cycle, or a CLI that reaches below src/api. The fixture holds
 * one deliberate violation of each kind, to show the rule biting.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cruise = (dir: string) => spawnSync(process.execPath, ['node_modules/dependency-cruiser/bin/dependency-cruise.mjs', '--config', '.dependency-cruiser.cjs', dir], { cwd: root, encoding: 'utf8' });

describe('layers', () => {
  it('src/ has no import that points up, no cycle, and a CLI that only calls the library', () => {
    const r = cruise('src');
    expect(r.stdout + r.stderr).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  it('a deliberate upward import, a verb calling a verb, a hook calling a verb and a CLI that bypasses the library fail the check', () => {
    const r = cruise('test/unit/architecture/fixture/src');
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain('error stores-points-up: test/unit/architecture/fixture/src/stores/upward.ts → test/unit/architecture/fixture/src/api/verb.ts');
    expect(r.stdout).toContain('error verbs-never-call-verbs: test/unit/architecture/fixture/src/api/calls-verb.ts → test/unit/architecture/fixture/src/api/verb.ts');
    expect(r.stdout).toContain('error integration-points-up: test/unit/architecture/fixture/src/integration/hook.ts → test/unit/architecture/fixture/src/api/verb.ts');
    expect(r.stdout).toContain('error cli-only-calls-the-library: test/unit/architecture/fixture/src/cli/bypass.ts → test/unit/architecture/fixture/src/repo/ctx.ts');
  });
});
