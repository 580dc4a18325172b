/**
 * What the pre-push hook reads from git's command line (it sees only its parent's argv): which
 * pushes force a ref (so mk may move a branch tag backwards) and which are dry runs (so mk
 * publishes nothing).
 */
import { describe, expect, it } from 'vitest';
import { forcedRef, isDryRun } from '../../../src/integration/hooks/pre-push.js';

describe('which git push forces a ref (read from its command line)', () => {
  const main = { localRef: 'refs/heads/main', remoteRef: 'refs/heads/main' };
  const feature = { localRef: 'refs/heads/feature', remoteRef: 'refs/heads/main' };
  const head = { localRef: 'HEAD', remoteRef: 'refs/heads/main' };
  it.each([
    [[], main, false],
    [['origin', 'main'], main, false],
    [['-f'], main, true],
    [['-uf', 'origin', 'main'], main, true],
    [['--force'], main, true],
    [['--force-with-lease'], main, true],
    [['--force-with-lease=main:abc'], main, true],
    [['--mirror', 'origin'], main, true],
    [['-o', 'f', 'origin', 'main'], main, false],
    [['-of', 'origin', 'main'], main, false],
    [['origin', '+main'], main, true],
    [['origin', '+main', 'other'], { localRef: 'refs/heads/other', remoteRef: 'refs/heads/other' }, false],
    [['origin', '+feature:main'], feature, true],
    [['origin', '+feature:other'], feature, false],
    [['origin', '+HEAD'], head, true],
    [['origin', '+HEAD:refs/heads/main'], head, true],
    [['origin', '+refs/heads/*:refs/heads/*'], main, true],
    [['origin', '--', '+main'], main, true],
  ] as const)('git push %j forces %j: %s', (argv, line, want) => {
    expect(forcedRef([...argv], line)).toBe(want);
  });
  it('a + refspec in remote.<name>.push forces when the command line names no refspec', () => {
    expect(forcedRef(['origin'], main, ['+refs/heads/*:refs/heads/*'])).toBe(true);
    expect(forcedRef([], main, ['+refs/heads/main:refs/heads/main'])).toBe(true);
    expect(forcedRef([], main, ['refs/heads/*:refs/heads/*'])).toBe(false);
    expect(forcedRef(['origin', 'main'], main, ['+refs/heads/*:refs/heads/*'])).toBe(false);
  });
  it.each([
    [[], false],
    [['-n'], true],
    [['--dry-run', 'origin'], true],
    [['-un', 'origin', 'main'], true],
    [['-o', 'n', 'origin'], false],
    [['origin', 'n'], false],
  ] as const)('git push %j is a dry run: %s', (argv, want) => {
    expect(isDryRun([...argv])).toBe(want);
  });
});
