/**
 * Arguments are read as git reads them: after `--` everything is a path, and before it a
 * revision may be spelled like a path. A branch and a folder that share a name are the
 * everyday case (`mk checkout ds -- ds`).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, put, snapshotTree } from '../support/files.js';
import { expectMkError, git, makeRepo, mk, mkRun } from '../support/repo.js';

describe('revision and paths around --', () => {
  let repo: { dir: string; cleanup: () => void };
  let v1: Record<string, unknown>;
  beforeAll(() => {
    repo = makeRepo();
    for (let i = 0; i < 5; i++) put(join(repo.dir, 'ds', `f${i}.txt`), `v1 ${i}`);
    mk(repo.dir, 'add', 'ds');
    git(repo.dir, 'commit', '-qm', 'v1');
    git(repo.dir, 'branch', 'ds'); // a branch named like the folder
    v1 = asRecord(snapshotTree(join(repo.dir, 'ds')));
    for (let i = 0; i < 5; i++) put(join(repo.dir, 'ds', `f${i}.txt`), `v2 ${i}`);
    mk(repo.dir, 'add', 'ds');
    git(repo.dir, 'commit', '-qm', 'v2');
  });
  afterAll(() => repo.cleanup());

  it('mk checkout ds -- ds takes the data of branch ds for path ds', () => {
    mk(repo.dir, 'checkout', 'ds', '--', 'ds');
    expect(asRecord(snapshotTree(join(repo.dir, 'ds')))).toEqual(v1);
    expect(git(repo.dir, 'diff', '--cached', '--name-only').trim()).toBe('ds.mk.yaml');
    mk(repo.dir, 'checkout', 'HEAD', '--', 'ds');
    expect(asRecord(snapshotTree(join(repo.dir, 'ds')))).not.toEqual(v1);
  });

  it('two revisions before -- are refused in one line', () => {
    expectMkError(mkRun(repo.dir, ['checkout', 'ds', 'main', '--', 'ds']), "expected at most one revision before '--', got ds main");
  });
});

describe('-C <path>, as git -C', () => {
  it('runs the command as if started there; several -C chain; a missing folder is one line, exit 2', () => {
    const repo = makeRepo();
    try {
      put(join(repo.dir, 'sub', 'ds', 'a.txt'), 'a');
      const elsewhere = join(repo.dir, '..');
      const r = mkRun(elsewhere, ['-C', repo.dir, '-C', 'sub', 'add', 'ds']);
      expect(r.status, r.stderr).toBe(0);
      expect(git(repo.dir, 'diff', '--cached', '--name-only')).toContain('sub/ds.mk.yaml');
      expect(mkRun(elsewhere, ['-C', repo.dir, 'status']).stdout).toMatch(/sub\/ds/);
      const bad = mkRun(elsewhere, ['-C', join(repo.dir, 'nosuch'), 'status']);
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim().split('\n')).toEqual([`mk: cannot change to '${join(repo.dir, 'nosuch')}': no such directory`]);
    } finally {
      repo.cleanup();
    }
  });
});
