/**
 * Every form of `git commit`, with the installed hooks: a staged large file becomes a tracked
 * artifact (its pointer is committed, the file is not), `-a`, `<paths>` (git's temporary
 * index), `--amend`, a merge commit, a commit in a linked worktree; and a commit that changes
 * no tracked data leaves the pointers alone.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/repo.js';
import { fileSha, g, gitRun, head, mk, mkLines, newRepo, pointerDigest, setThreshold, treeFiles, writeRandom } from './support.js';

let root: string;
let cleanup: () => void;
let R: string;

const index = () => g(R, 'ls-files').split('\n').filter(Boolean);
const status = (dir = R) => g(dir, 'status', '--porcelain');

beforeAll(() => {
  ({ dir: root, cleanup } = tempDir('mk-git-commits-'));
  R = newRepo(join(root, 'repo'));
  setThreshold(R, '64KiB');
  writeRandom(join(R, 'code.py'), 100);
  g(R, 'add', '-A');
  g(R, 'commit', '-q', '-m', 'code');
});
afterAll(() => cleanup?.());

describe('git commit forms', () => {
  it('git commit: a staged large file is tracked; its pointer is committed, the file is not; .gitignore updated', () => {
    const big = writeRandom(join(R, 'data', 'big.bin'), 100_000);
    g(R, 'add', 'data/big.bin');
    const c = gitRun(R, ['commit', '-m', 'add big data']);
    expect(c.status, c.stderr).toBe(0);
    expect(mkLines(c)).toContain('mk: tracking data/big.bin (its pointer data/big.bin.mk.yaml is committed instead)');
    const tree = treeFiles(R);
    expect(tree).toContain('data/big.bin.mk.yaml');
    expect(tree).not.toContain('data/big.bin');
    expect(pointerDigest(R, 'HEAD', 'data/big.bin')).toBe(big);
    // The ignore rule is committed with the pointer, and it covers the data file.
    const ignoreFile = tree.find((p) => p.endsWith('.gitignore'))!;
    expect(ignoreFile).toBeDefined();
    expect(g(R, 'show', `HEAD:${ignoreFile}`)).toMatch(/big\.bin/);
    expect(gitRun(R, ['check-ignore', '-q', 'data/big.bin']).status).toBe(0);
    expect(index()).not.toContain('data/big.bin');
    expect(status()).toBe('');
    expect(fileSha(join(R, 'data', 'big.bin'))).toBe(big); // the data itself is untouched
  });

  it('git commit -a: changed tracked data and code are committed together', () => {
    const big = writeRandom(join(R, 'data', 'big.bin'), 100_000);
    writeRandom(join(R, 'code.py'), 101);
    const c = gitRun(R, ['commit', '-a', '-m', 'update']);
    expect(c.status, c.stderr).toBe(0);
    expect(mkLines(c)).toContain('mk: recorded the new data of data/big.bin');
    expect(g(R, 'show', '--name-only', '--format=', 'HEAD').split('\n').filter(Boolean).sort()).toEqual(['code.py', 'data/big.bin.mk.yaml']);
    expect(pointerDigest(R, 'HEAD', 'data/big.bin')).toBe(big);
    expect(status()).toBe('');
  });

  it('git commit <paths>: the commit (made from a temporary index) has the pointer, and the real index afterwards has neither the data file nor stale entries', () => {
    const w = writeRandom(join(R, 'w.pt'), 5_000); // *.pt: tracked by pattern
    writeRandom(join(R, 'code.py'), 102);
    writeRandom(join(R, 'other.txt'), 10); // staged, but not named: stays staged, uncommitted
    g(R, 'add', 'w.pt', 'other.txt');
    const c = gitRun(R, ['commit', '-m', 'only these', '--', 'w.pt', 'code.py']);
    expect(c.status, c.stderr).toBe(0);
    const tree = treeFiles(R);
    expect(tree).toContain('w.pt.mk.yaml');
    expect(tree).toContain('code.py');
    expect(tree).not.toContain('w.pt');
    expect(tree).not.toContain('other.txt');
    expect(pointerDigest(R, 'HEAD', 'w.pt')).toBe(w);
    expect(g(R, 'show', 'HEAD:.gitignore')).toMatch(/w\.pt/);
    // git staged w.pt into the real index after the hook ran on the temporary one.
    expect(index()).not.toContain('w.pt');
    expect(index()).toContain('w.pt.mk.yaml');
    // What the hook committed is in the real index too: only the unnamed file stays staged.
    expect(status()).toBe('A  other.txt\n');
    expect(g(R, 'diff', '--cached', '--name-only')).toBe('other.txt\n');
    g(R, 'commit', '-q', '-m', 'other');
    expect(status()).toBe('');
  });

  it('git commit <paths> naming only code: the changed data is left out (kept, reported), and the index stays in line; naming its pointer records it', () => {
    const before = pointerDigest(R, 'HEAD', 'data/big.bin');
    const big = writeRandom(join(R, 'data', 'big.bin'), 100_000);
    writeRandom(join(R, 'code.py'), 103);
    const c = gitRun(R, ['commit', '-m', 'code only, by path', '--', 'code.py']);
    expect(c.status, c.stderr).toBe(0);
    expect(mkLines(c)).toContain('mk: data/big.bin has changed data, left out of this commit (its pointer is not among the paths committed)');
    expect(pointerDigest(R, 'HEAD', 'data/big.bin')).toBe(before);
    expect(fileSha(join(R, 'data', 'big.bin'))).toBe(big);
    expect(status()).toBe('');
    writeRandom(join(R, 'code.py'), 104);
    const named = gitRun(R, ['commit', '-m', 'data by path', '--', 'code.py', 'data/big.bin.mk.yaml']);
    expect(named.status, named.stderr).toBe(0);
    expect(pointerDigest(R, 'HEAD', 'data/big.bin')).toBe(big);
    expect(status()).toBe('');
  });

  it('git commit --amend: data changed after the commit is recorded in the amended commit, even with nothing else to add', () => {
    const parent = head(R, 'HEAD~1');
    const big = writeRandom(join(R, 'data', 'big.bin'), 100_000);
    const c = gitRun(R, ['commit', '--amend', '-a', '--no-edit']);
    expect(c.status, c.stderr).toBe(0);
    expect(head(R, 'HEAD~1')).toBe(parent);
    expect(pointerDigest(R, 'HEAD', 'data/big.bin')).toBe(big);
    expect(status()).toBe('');
  });

  it('git merge --no-ff: each side changed a different artifact; the merge commit has both, and the data follows', () => {
    const a1 = writeRandom(join(R, 'models', 'a.pt'), 3_000);
    writeRandom(join(R, 'code.py'), 104);
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'model a');
    g(R, 'switch', '-q', '-c', 'side');
    const a2 = writeRandom(join(R, 'models', 'a.pt'), 3_000);
    writeRandom(join(R, 'side.txt'), 10);
    g(R, 'add', 'side.txt');
    g(R, 'commit', '-q', '-am', 'side: retrain a');
    g(R, 'switch', '-q', 'main');
    expect(fileSha(join(R, 'models', 'a.pt'))).toBe(a1);
    const big = writeRandom(join(R, 'data', 'big.bin'), 100_000);
    writeRandom(join(R, 'main.txt'), 10);
    g(R, 'add', 'main.txt');
    g(R, 'commit', '-q', '-am', 'main: new data');
    const m = gitRun(R, ['merge', '--no-ff', '-m', 'merge side', 'side']);
    expect(m.status, m.stderr).toBe(0);
    expect(g(R, 'rev-list', '--parents', '-n', '1', 'HEAD').trim().split(' ')).toHaveLength(3);
    expect(pointerDigest(R, 'HEAD', 'models/a.pt')).toBe(a2);
    expect(pointerDigest(R, 'HEAD', 'data/big.bin')).toBe(big);
    expect(fileSha(join(R, 'models', 'a.pt'))).toBe(a2); // post-merge restored side's data
    expect(fileSha(join(R, 'data', 'big.bin'))).toBe(big);
    expect(status()).toBe('');
    expect(mk(R, 'status')).not.toMatch(/modified|deleted|not cached/);
  });

  it('a commit in a linked worktree (git worktree add): data restored there, committed from there, the main work tree untouched', () => {
    const wt = join(root, 'wt');
    const bigMain = fileSha(join(R, 'data', 'big.bin'));
    const add = gitRun(R, ['worktree', 'add', '-b', 'wt', wt]);
    expect(add.status, add.stderr).toBe(0);
    expect(fileSha(join(wt, 'data', 'big.bin'))).toBe(bigMain);
    expect(fileSha(join(wt, 'models', 'a.pt'))).toBe(fileSha(join(R, 'models', 'a.pt')));
    const big = writeRandom(join(wt, 'data', 'big.bin'), 100_000);
    const onnx = writeRandom(join(wt, 'n.onnx'), 2_000);
    g(wt, 'add', 'n.onnx');
    const c = gitRun(wt, ['commit', '-am', 'from the worktree']);
    expect(c.status, c.stderr).toBe(0);
    expect(treeFiles(wt, 'wt')).toContain('n.onnx.mk.yaml');
    expect(treeFiles(wt, 'wt')).not.toContain('n.onnx');
    expect(pointerDigest(R, 'wt', 'data/big.bin')).toBe(big);
    expect(pointerDigest(R, 'wt', 'n.onnx')).toBe(onnx);
    expect(status(wt)).toBe('');
    expect(mk(wt, 'status')).not.toMatch(/modified|deleted|not cached/);
    // The main work tree and its branch did not move.
    expect(fileSha(join(R, 'data', 'big.bin'))).toBe(bigMain);
    expect(status()).toBe('');
    // The cache is shared: the main work tree checks out the worktree's commit without a remote.
    const d = gitRun(R, ['switch', '--detach', 'wt']);
    expect(d.status, d.stderr).toBe(0);
    expect(fileSha(join(R, 'data', 'big.bin'))).toBe(big);
    expect(fileSha(join(R, 'n.onnx'))).toBe(onnx);
    g(R, 'switch', '-q', 'main');
    expect(fileSha(join(R, 'data', 'big.bin'))).toBe(bigMain);
    // main does not track n.onnx: its data goes, as git removes files the new commit lacks.
    expect(existsSync(join(R, 'n.onnx'))).toBe(false);
    expect(status()).toBe('');
  });

  it("a clean commit in a linked worktree does not make the main work tree's next commit skip mk", () => {
    const wt = join(root, 'wt2');
    const add = gitRun(R, ['worktree', 'add', '-b', 'wt2', wt]);
    expect(add.status, add.stderr).toBe(0);
    // A retrain in the main work tree, not committed yet...
    const retrained = writeRandom(join(R, 'data', 'big.bin'), 100_000);
    writeRandom(join(R, 'code.py'), 107);
    // ...while a clean, code-only commit happens in the linked worktree. Its pre-commit hook
    // finds nothing to do there and stamps that worktree clean: in the worktree's own git dir.
    // Were it the main work tree's stamp, the main tree's next commit would skip mk once the
    // stamp is newer than the retrain (the fast path compares change times with it).
    const mainFastPath = ['clean.stamp', 'pre-commit-fast.sh'].map((f) => join(R, '.git', 'mk', f));
    const before = mainFastPath.map((f) => (existsSync(f) ? `${statSync(f).mtimeMs} ${readFileSync(f, 'utf8')}` : 'none'));
    writeRandom(join(wt, 'code.py'), 106);
    const w = gitRun(wt, ['commit', '-am', 'code in the worktree']);
    expect(w.status, w.stderr).toBe(0);
    expect(existsSync(join(g(wt, 'rev-parse', '--absolute-git-dir').trim(), 'mk', 'clean.stamp')), 'the worktree stamps itself clean').toBe(true);
    expect(mainFastPath.map((f) => (existsSync(f) ? `${statSync(f).mtimeMs} ${readFileSync(f, 'utf8')}` : 'none'))).toEqual(before);
    const c = gitRun(R, ['commit', '-am', 'retrain']);
    expect(c.status, c.stderr).toBe(0);
    expect(pointerDigest(R, 'HEAD', 'data/big.bin')).toBe(retrained);
    expect(status()).toBe('');
    g(R, 'worktree', 'remove', '--force', wt);
  });

  it('a commit that changes no tracked data does not touch the pointers', () => {
    const pointers = g(R, 'ls-files', '--', '*.mk.yaml').split('\n').filter(Boolean);
    expect(pointers.length).toBeGreaterThanOrEqual(3);
    const before = pointers.map((p) => ({ p, text: readFileSync(join(R, p), 'utf8'), mtime: statSync(join(R, p)).mtimeMs }));
    const staged = g(R, 'ls-files', '-s', '--', ...pointers);
    writeRandom(join(R, 'code.py'), 105);
    const c = gitRun(R, ['commit', '-am', 'code only']);
    expect(c.status, c.stderr).toBe(0);
    expect(mkLines(c)).toEqual([]);
    expect(g(R, 'show', '--name-only', '--format=', 'HEAD')).toBe('code.py\n');
    for (const b of before) {
      expect(readFileSync(join(R, b.p), 'utf8')).toBe(b.text);
      expect(statSync(join(R, b.p)).mtimeMs).toBe(b.mtime);
    }
    expect(g(R, 'ls-files', '-s', '--', ...pointers)).toBe(staged);
    expect(status()).toBe('');
  });

  it('git rebase: post-rewrite restores the data of the rebased branch once, at the end', () => {
    g(R, 'switch', '-q', '-c', 'feature');
    const a = writeRandom(join(R, 'models', 'a.pt'), 3_000);
    writeRandom(join(R, 'feature.txt'), 10);
    g(R, 'add', 'feature.txt');
    g(R, 'commit', '-q', '-am', 'feature: retrain a');
    g(R, 'switch', '-q', 'main');
    const big = writeRandom(join(R, 'data', 'big.bin'), 100_000);
    writeRandom(join(R, 'code.py'), 106);
    g(R, 'commit', '-q', '-am', 'main: new data');
    g(R, 'switch', '-q', 'feature');
    expect(fileSha(join(R, 'data', 'big.bin'))).not.toBe(big);
    const r = gitRun(R, ['rebase', 'main']);
    expect(r.status, r.stderr).toBe(0);
    expect(
      mkLines(r).some((l) => l.includes('restored the data')),
      r.stderr + r.stdout,
    ).toBe(true);
    expect(pointerDigest(R, 'HEAD', 'data/big.bin')).toBe(big);
    expect(fileSha(join(R, 'data', 'big.bin'))).toBe(big);
    expect(fileSha(join(R, 'models', 'a.pt'))).toBe(a);
    expect(status()).toBe('');
    expect(mk(R, 'status')).not.toMatch(/modified|deleted|not cached/);
  });
});
