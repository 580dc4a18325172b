/**
 * `mk clone` of a repository whose HEAD names a branch it does not have: git only warns and
 * leaves an empty work tree; mk says in one line what happened and what to do, with the
 * branches there are, and `-b` clones the one named.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMkError, git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

let repo: { dir: string; cleanup: () => void };
const tmp = tempDir('mk-clone-head-');
let bare: string;

beforeAll(() => {
  repo = makeRepo();
  writeFileSync(join(repo.dir, 'train.py'), 'print("train")\n');
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', 'code');
  git(repo.dir, 'branch', '-M', 'dev');
  bare = join(tmp.dir, 'origin.git');
  git(tmp.dir, 'clone', '-q', '--bare', repo.dir, bare);
  git(bare, 'symbolic-ref', 'HEAD', 'refs/heads/nosuch');
});
afterAll(() => {
  repo?.cleanup();
  tmp.cleanup();
});

describe('mk clone of a remote whose HEAD names no branch', () => {
  it('fails in one line naming the branches, and says how to clone one', () => {
    const r = mkRun(tmp.dir, ['clone', bare, 'headless']);
    expectMkError(r, /the remote's HEAD names no branch it has, so nothing was checked out in .*headless \(branches: dev\)/);
    expect(r.stderr).toMatch(/hint: name one: 'mk clone -b dev /);
  });

  it('with -b the named branch is cloned and checked out', () => {
    mk(tmp.dir, 'clone', '-b', 'dev', bare, 'named');
    expect(existsSync(join(tmp.dir, 'named', 'train.py'))).toBe(true);
  });
});
