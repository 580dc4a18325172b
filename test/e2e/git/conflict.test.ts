/**
 * Two branches change the same tracked artifact: `git merge` reports the conflict in the
 * pointer file, mk's merge driver says how to resolve it, `mk status` gives the one-line
 * error, and `git checkout --theirs` + `mk checkout` + `git commit` resolves it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMkError, tempDir } from '../../support/repo.js';
import { fileSha, g, gitRun, head, mk, mkRun, newRepo, pointerDigest, writeRandom } from './support.js';

let cleanup: () => void;
let R: string;
const v: Record<string, string> = {};

beforeAll(() => {
  let root: string;
  ({ dir: root, cleanup } = tempDir('mk-git-conflict-'));
  R = newRepo(join(root, 'repo'));
  v.base = writeRandom(join(R, 'model.pt'), 20_000);
  v.other = writeRandom(join(R, 'other.pt'), 20_000);
  writeRandom(join(R, 'train.py'), 10);
  g(R, 'add', '-A');
  g(R, 'commit', '-q', '-m', 'base');
  g(R, 'switch', '-q', '-c', 'theirs');
  v.theirs = writeRandom(join(R, 'model.pt'), 20_000);
  writeRandom(join(R, 'train.py'), 11);
  g(R, 'commit', '-q', '-am', 'theirs: retrain');
  g(R, 'switch', '-q', 'main');
  v.ours = writeRandom(join(R, 'model.pt'), 20_000);
  v.other2 = writeRandom(join(R, 'other.pt'), 20_000); // a second artifact, changed on main only
  writeRandom(join(R, 'eval.py'), 12);
  g(R, 'add', 'eval.py');
  g(R, 'commit', '-q', '-am', 'ours: retrain');
});
afterAll(() => cleanup?.());

describe('both branches changed the same artifact', () => {
  it('git merge reports the conflict in the pointer file; mk says how to resolve it', () => {
    expect(pointerDigest(R, 'theirs', 'model.pt')).toBe(v.theirs);
    expect(pointerDigest(R, 'main', 'model.pt')).toBe(v.ours);
    const m = gitRun(R, ['merge', '-m', 'merge theirs', 'theirs']);
    expect(m.status).not.toBe(0);
    expect(m.stdout).toContain('CONFLICT (content): Merge conflict in model.pt.mk.yaml');
    expect(m.stderr).toContain('mk: both branches changed the tracked artifact model.pt.');
    const hint = m.stderr.split('\n').find((l) => l.startsWith('hint: '));
    expect(hint).toContain('git checkout --ours -- model.pt.mk.yaml');
    expect(hint).toContain('git checkout --theirs -- model.pt.mk.yaml');
    expect(hint).toContain('mk checkout');
    expect(g(R, 'diff', '--name-only', '--diff-filter=U')).toBe('model.pt.mk.yaml\n');
    // Our data is still in place while the conflict is open.
    expect(fileSha(join(R, 'model.pt'))).toBe(v.ours);
  });

  it('mk status gives the one-line conflict error', () => {
    const line = expectMkError(mkRun(R, ['status']), /merge conflict/);
    expect(line).toContain('model.pt.mk.yaml');
  });

  it('resolving with git checkout --theirs, mk checkout, git add and git commit', () => {
    g(R, 'checkout', '--theirs', '--', 'model.pt.mk.yaml');
    g(R, 'add', 'model.pt.mk.yaml');
    // Forgetting 'mk checkout': the work tree still holds our data; committing it would undo
    // the resolution, so the commit stops and says what to do.
    const early = gitRun(R, ['commit', '--no-edit']);
    expect(early.status).not.toBe(0);
    expect(early.stderr).toMatch(/^mk: model\.pt: the work tree holds our side's data/m);
    expect(early.stderr).toMatch(/^hint: run 'mk checkout'/m);
    expect(gitRun(R, ['rev-parse', '-q', '--verify', 'MERGE_HEAD']).status).toBe(0);
    expect(fileSha(join(R, 'model.pt'))).toBe(v.ours);
    const c = mkRun(R, ['checkout']);
    expect(c.status, c.stderr).toBe(0);
    expect(fileSha(join(R, 'model.pt'))).toBe(v.theirs);
    g(R, 'add', 'model.pt.mk.yaml');
    const parents = [head(R), head(R, 'theirs')];
    const commit = gitRun(R, ['commit', '--no-edit']);
    expect(commit.status, commit.stderr).toBe(0);
    expect(g(R, 'rev-list', '--parents', '-n', '1', 'HEAD').trim().split(' ').slice(1)).toEqual(parents);
    expect(pointerDigest(R, 'HEAD', 'model.pt')).toBe(v.theirs);
    expect(pointerDigest(R, 'HEAD', 'other.pt')).toBe(v.other2);
    expect(fileSha(join(R, 'model.pt'))).toBe(v.theirs);
    expect(fileSha(join(R, 'other.pt'))).toBe(v.other2);
    expect(g(R, 'status', '--porcelain')).toBe('');
    expect(mk(R, 'status')).not.toMatch(/modified|deleted|not cached|conflict/);
  });
});

describe('a merge that stops on a code conflict while the other side changed data', () => {
  it("after resolving the code, git commit does not record the stale data over the merged pointer; mk checkout brings the other side's data", () => {
    const R2 = newRepo(join(R, '..', 'repo2'));
    const w: Record<string, string> = {};
    w.base = writeRandom(join(R2, 'model.pt'), 10_000);
    writeFileSync(join(R2, 'train.py'), 'lr = 1\n');
    g(R2, 'add', '-A');
    g(R2, 'commit', '-q', '-m', 'base');
    g(R2, 'switch', '-q', '-c', 'theirs');
    w.theirs = writeRandom(join(R2, 'model.pt'), 10_000);
    writeFileSync(join(R2, 'train.py'), 'lr = 2\n');
    g(R2, 'commit', '-q', '-am', 'theirs: data and code');
    g(R2, 'switch', '-q', 'main');
    writeFileSync(join(R2, 'train.py'), 'lr = 3\n');
    g(R2, 'commit', '-q', '-am', 'ours: code only');
    const m = gitRun(R2, ['merge', '-m', 'merge', 'theirs']);
    expect(m.status).not.toBe(0);
    expect(m.stdout).toContain('CONFLICT (content): Merge conflict in train.py');
    // The pointer merged cleanly to theirs; no post-merge ran, so the data is still ours.
    expect(g(R2, 'show', ':model.pt.mk.yaml')).toContain(w.theirs);
    expect(fileSha(join(R2, 'model.pt'))).toBe(w.base);
    writeFileSync(join(R2, 'train.py'), 'lr = 4\n');
    g(R2, 'add', 'train.py');
    const early = gitRun(R2, ['commit', '--no-edit']);
    expect(early.status).not.toBe(0);
    expect(early.stderr).toMatch(/^mk: model\.pt: the work tree holds our side's data/m);
    mk(R2, 'checkout');
    expect(fileSha(join(R2, 'model.pt'))).toBe(w.theirs);
    const c = gitRun(R2, ['commit', '--no-edit']);
    expect(c.status, c.stderr).toBe(0);
    expect(pointerDigest(R2, 'HEAD', 'model.pt')).toBe(w.theirs);
    expect(g(R2, 'status', '--porcelain')).toBe('');
  });
});
