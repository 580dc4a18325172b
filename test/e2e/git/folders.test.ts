/**
 * Tracked folders behave as Git's folders, one story each, with real git and the installed
 * hooks: a folder moved with `mv` + `git add -A` or with `git mv` is recorded as a move of the
 * dataset (nothing stored, hashed or uploaded again, nothing of it in Git); symlinks inside a
 * folder are recorded and restored as Git records them, and links that leave the folder are
 * refused in one line (by `mk add` and by the commit); `git reset --hard`, `git checkout -f`
 * and `git switch --discard-changes` discard folder edits and other commands keep them (exit
 * 0); `git stash` / `git stash pop` carry folder edits with the rest; a sparse checkout works
 * without `.mk/` in its cone and a folder brought into the cone is restored; `git clone
 * --recurse-submodules` with the per-user setup restores the submodules' data; `mk clone`
 * passes git clone's options through.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, hasData, put, randomBytesFrom, rng, snapshotTree } from '../../support/files.js';
import { tempDir } from '../../support/repo.js';
import { bareRemote, g, gitRun, identify, mk, mkLines, mkRun, newRepo, treeFiles, type Run } from './support.js';

const rand = rng(4242);
let root: { dir: string; cleanup: () => void };
let n = 0;
const store = () => join(root.dir, 'store');

beforeAll(() => {
  root = tempDir('mk-git-folders-');
});
afterAll(() => root?.cleanup());

/** A repository with its hooks, a layout remote, and a committed folder `data/imgs` of 40 files. */
function repoWithImgs(): string {
  const dir = newRepo(join(root.dir, `r${++n}`));
  mk(dir, 'remote', 'add', 'origin', store());
  for (let i = 0; i < 40; i++) put(join(dir, `data/imgs/${i % 4}/f${i}.png`), randomBytesFrom(rand, 3000));
  put(join(dir, 'train.py'), 'print(1)\n');
  mk(dir, 'add', 'data/imgs');
  g(dir, 'add', '-A');
  g(dir, 'commit', '-qm', 'imgs');
  return dir;
}

function blobsIn(dir: string): number {
  return readdirSync(join(dir, '.git/mk/cache/blobs/sha256')).length;
}

function clone(from: string): string {
  const bare = bareRemote(join(root.dir, `b${++n}.git`));
  g(from, 'push', '-q', bare, 'HEAD:main');
  const dir = join(root.dir, `c${++n}`);
  g(root.dir, 'clone', '-q', bare, dir);
  identify(dir);
  mk(dir, 'install');
  mk(dir, 'pull');
  return dir;
}

describe('a folder moved is a move of the dataset', () => {
  for (const how of ['mv, then git add -A', 'git mv'] as const) {
    it(`${how}: the pointer follows, nothing of the data enters Git, nothing is stored or uploaded again; a clone restores it`, () => {
      const dir = repoWithImgs();
      mk(dir, 'push');
      const before = asRecord(snapshotTree(join(dir, 'data/imgs')));
      const blobs = blobsIn(dir);
      const digest = /digest: (\S+)/.exec(readFileSync(join(dir, 'data/imgs.mk.yaml'), 'utf8'))![1];
      if (how === 'git mv') g(dir, 'mv', 'data/imgs', 'data/pics');
      else {
        renameSync(join(dir, 'data/imgs'), join(dir, 'data/pics'));
        g(dir, 'add', '-A');
      }
      const c = gitRun(dir, ['commit', '-qm', 'rename']);
      expect(c.status, c.stderr).toBe(0);
      expect(mkLines(c)).toContain('mk: recorded the move of data/imgs to data/pics (the same data: nothing hashed or uploaded again)');
      // In Git: the pointer and the folder's marker, nothing else of it.
      expect(treeFiles(dir).filter((p) => p.startsWith('data/'))).toEqual(['data/pics.mk.yaml', 'data/pics/.gitignore']);
      expect(readFileSync(join(dir, 'data/pics.mk.yaml'), 'utf8')).toContain(`digest: ${digest}`);
      expect(readFileSync(join(dir, 'Kitfile'), 'utf8')).toContain('path: data/pics');
      expect(blobsIn(dir)).toBe(blobs); // nothing stored again
      expect(mkRun(dir, ['status']).stdout).toMatch(/clean\s+data\/pics/);
      expect(g(dir, 'status', '--porcelain')).toBe('');
      // The push finds every blob of the folder on the remote already.
      const p = mkRun(dir, ['push', '--json']);
      expect(p.status, p.stderr).toBe(0);
      expect(JSON.parse(p.stdout).copied).toBe(0);
      // A clone restores the moved folder byte for byte (the packs still name the old path inside).
      const other = clone(dir);
      expect(asRecord(snapshotTree(join(other, 'data/pics')))).toEqual(before);
      expect(existsSync(join(other, 'data/imgs'))).toBe(false);
    });
  }
});

describe('a folder of an older mk (a line in its parent .gitignore, no marker) moved with mv, then git add -A', () => {
  it('its files git staged leave the index, the move is recorded, and the folder gets its marker', () => {
    const dir = repoWithImgs();
    g(dir, 'rm', '-q', '--cached', 'data/imgs/.gitignore');
    rmSync(join(dir, 'data/imgs/.gitignore'));
    writeFileSync(join(dir, 'data/.gitignore'), '/imgs\n');
    g(dir, 'add', 'data/.gitignore');
    g(dir, 'commit', '-qm', 'as an older mk kept it');
    const blobs = blobsIn(dir);
    renameSync(join(dir, 'data/imgs'), join(dir, 'data/pics'));
    g(dir, 'add', '-A');
    expect(
      g(dir, 'diff', '--cached', '--name-only')
        .split('\n')
        .filter((p) => p.startsWith('data/pics/')).length,
    ).toBe(40);
    const c = gitRun(dir, ['commit', '-qm', 'rename']);
    expect(c.status, c.stderr).toBe(0);
    expect(mkLines(c)).toContain('mk: recorded the move of data/imgs to data/pics (the same data: nothing hashed or uploaded again)');
    expect(treeFiles(dir).filter((p) => p.startsWith('data/'))).toEqual(['data/.gitignore', 'data/pics.mk.yaml', 'data/pics/.gitignore']);
    expect(readFileSync(join(dir, 'data/.gitignore'), 'utf8')).not.toContain('/imgs');
    expect(blobsIn(dir)).toBe(blobs);
    expect(g(dir, 'status', '--porcelain')).toBe('');
  });
});

describe('symlinks inside a tracked folder', () => {
  it('are recorded and restored as Git records them (their target text), files and folders alike', () => {
    const dir = newRepo(join(root.dir, `r${++n}`));
    mk(dir, 'remote', 'add', 'origin', store());
    put(join(dir, 'ds/v2/model.bin'), randomBytesFrom(rand, 5000));
    put(join(dir, 'ds/v1/model.bin'), randomBytesFrom(rand, 5000));
    symlinkSync('v2', join(dir, 'ds/current'));
    symlinkSync('../v2/model.bin', join(dir, 'ds/v1/latest.bin'));
    symlinkSync('missing-for-now', join(dir, 'ds/dangling'));
    const a = mkRun(dir, ['add', 'ds']);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).not.toMatch(/not tracked/);
    g(dir, 'add', '-A');
    g(dir, 'commit', '-qm', 'ds with links');
    expect(mkRun(dir, ['status']).stdout).toMatch(/clean\s+ds/);
    // A changed link is a change, as Git sees one.
    rmSync(join(dir, 'ds/current'));
    symlinkSync('v1', join(dir, 'ds/current'));
    expect(mkRun(dir, ['status']).stdout).toMatch(/modified\s+ds/);
    mk(dir, 'checkout', '--force', '--', 'ds');
    expect(readlinkSync(join(dir, 'ds/current'))).toBe('v2');
    mk(dir, 'push');
    const other = clone(dir);
    expect(lstatSync(join(other, 'ds/current')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(other, 'ds/current'))).toBe('v2');
    expect(readlinkSync(join(other, 'ds/v1/latest.bin'))).toBe('../v2/model.bin');
    expect(readlinkSync(join(other, 'ds/dangling'))).toBe('missing-for-now');
    expect(readFileSync(join(other, 'ds/current/model.bin'))).toEqual(readFileSync(join(dir, 'ds/v2/model.bin')));
    expect(mkRun(other, ['status']).stdout).toMatch(/clean\s+ds/);
  });

  it('a link that leaves the folder is refused in one line, by mk add and by the commit, and nothing is recorded', () => {
    const dir = newRepo(join(root.dir, `r${++n}`));
    put(join(dir, 'ds/a.bin'), randomBytesFrom(rand, 3000));
    put(join(dir, 'secret.txt'), 'not data\n');
    symlinkSync('../secret.txt', join(dir, 'ds/escape'));
    const a = mkRun(dir, ['add', 'ds']);
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/^mk: refusing path 'ds\/escape': it is a symlink to "\.\.\/secret\.txt", outside ds/m);
    expect(existsSync(join(dir, 'ds.mk.yaml'))).toBe(false);
    rmSync(join(dir, 'ds/escape'));
    mk(dir, 'add', 'ds');
    g(dir, 'add', '-A');
    g(dir, 'commit', '-qm', 'ds');
    // Added later, then committed: the pre-commit hook refuses it the same way.
    symlinkSync('/etc/hostname', join(dir, 'ds/abs'));
    put(join(dir, 'train.py'), 'print(2)\n');
    g(dir, 'add', 'train.py');
    const c = gitRun(dir, ['commit', '-qam', 'with a link out']);
    expect(c.status).not.toBe(0);
    expect(c.stderr).toMatch(/refusing path 'ds\/abs': it is a symlink to "\/etc\/hostname", outside ds/);
    expect(g(dir, 'log', '--format=%s')).not.toContain('with a link out');
  });
});

describe('discarding and keeping folder edits as Git does for files', () => {
  const edit = (dir: string) => writeFileSync(join(dir, 'data/imgs/0/f0.png'), 'my edit\n');
  const edited = (dir: string) => readFileSync(join(dir, 'data/imgs/0/f0.png'), 'utf8') === 'my edit\n';

  for (const cmd of [
    ['reset', '--hard'],
    ['checkout', '-f'],
    ['switch', '--discard-changes', 'main'],
  ]) {
    it(`git ${cmd.join(' ')} discards them, and says so`, () => {
      const dir = repoWithImgs();
      edit(dir);
      const r = gitRun(dir, cmd);
      expect(r.status, r.stderr).toBe(0);
      expect(edited(dir)).toBe(false);
      expect(mkLines(r)).toContain('mk: discarded your unsaved changes to data/imgs, as git does for files');
      expect(mkRun(dir, ['status']).stdout).toMatch(/clean\s+data\/imgs/);
    });
  }

  it('git switch to another branch and git checkout -- <file> keep them, say so in one line, and exit 0', () => {
    const dir = repoWithImgs();
    g(dir, 'switch', '-q', '-c', 'other');
    put(join(dir, 'train.py'), 'print(3)\n');
    g(dir, 'commit', '-qam', 'code on other');
    edit(dir);
    const back = gitRun(dir, ['switch', 'main']);
    expect(back.status, back.stderr).toBe(0);
    expect(mkLines(back)).toContain("mk: kept your unsaved changes to data/imgs (record them with 'mk add' or a commit; 'mk checkout --force -- <path>' drops them)");
    expect(edited(dir)).toBe(true);
    put(join(dir, 'train.py'), 'print(4)\n');
    const co = gitRun(dir, ['checkout', '--', 'train.py']);
    expect(co.status, co.stderr).toBe(0);
    expect(edited(dir)).toBe(true);
  });

  it('a switch whose new version changes a file the user changed too leaves the folder as it was and exits non-zero', () => {
    const dir = repoWithImgs();
    g(dir, 'switch', '-q', '-c', 'other');
    writeFileSync(join(dir, 'data/imgs/0/f0.png'), 'the branch changed it\n');
    writeFileSync(join(dir, 'data/imgs/1/f1.png'), 'and this\n');
    mk(dir, 'add', 'data/imgs');
    g(dir, 'commit', '-qm', 'data on other');
    g(dir, 'switch', '-q', 'main');
    edit(dir);
    const r: Run = gitRun(dir, ['switch', 'other']);
    expect(r.status).not.toBe(0);
    expect(mkLines(r).join('\n')).toMatch(/left data\/imgs as it was \(not this revision's data\): your unsaved changes to data\/imgs\/0\/f0\.png would be overwritten/);
    expect(edited(dir)).toBe(true);
    expect(readFileSync(join(dir, 'data/imgs/1/f1.png'), 'utf8')).not.toBe('and this\n');
  });
});

describe('git stash carries folder edits', () => {
  it('git stash takes them with the rest, git stash pop brings them back (on top of a version that moved since, too)', () => {
    const dir = repoWithImgs();
    const committed = asRecord(snapshotTree(join(dir, 'data/imgs')));
    writeFileSync(join(dir, 'data/imgs/0/f0.png'), 'my edit\n');
    put(join(dir, 'data/imgs/new.txt'), 'my new file\n');
    put(join(dir, 'train.py'), 'print("wip")\n');
    const s = gitRun(dir, ['stash']);
    expect(s.status, s.stderr).toBe(0);
    expect(mkLines(s)).toContain('mk: stashed your unsaved changes to data/imgs with the rest');
    expect(asRecord(snapshotTree(join(dir, 'data/imgs')))).toEqual(committed);
    expect(readFileSync(join(dir, 'train.py'), 'utf8')).toBe('print(1)\n');
    // Meanwhile another file of the folder changes and is committed.
    writeFileSync(join(dir, 'data/imgs/3/f3.png'), 'committed meanwhile\n');
    mk(dir, 'add', 'data/imgs');
    g(dir, 'commit', '-qm', 'f3');
    const p = gitRun(dir, ['stash', 'pop']);
    expect(p.status, p.stderr).toBe(0);
    expect(mkLines(p)).toContain('mk: brought back your stashed changes to data/imgs');
    expect(readFileSync(join(dir, 'train.py'), 'utf8')).toBe('print("wip")\n');
    expect(readFileSync(join(dir, 'data/imgs/0/f0.png'), 'utf8')).toBe('my edit\n');
    expect(readFileSync(join(dir, 'data/imgs/new.txt'), 'utf8')).toBe('my new file\n');
    expect(readFileSync(join(dir, 'data/imgs/3/f3.png'), 'utf8')).toBe('committed meanwhile\n');
    expect(mkRun(dir, ['status']).stdout).toMatch(/modified\s+data\/imgs/);
  });
});

describe('sparse checkout', () => {
  it('works without .mk/ in the cone, and a folder brought into the cone is restored', () => {
    const src = repoWithImgs();
    for (let i = 0; i < 10; i++) put(join(src, `more/ds/f${i}.bin`), randomBytesFrom(rand, 2000));
    mk(src, 'add', 'more/ds');
    g(src, 'add', '-A');
    g(src, 'commit', '-qm', 'more');
    mk(src, 'push');
    const bare = bareRemote(join(root.dir, `b${++n}.git`));
    g(src, 'push', '-q', bare, 'HEAD:main');
    const dir = join(root.dir, `c${++n}`);
    g(root.dir, 'clone', '-q', '--no-checkout', bare, dir);
    identify(dir);
    g(dir, 'sparse-checkout', 'set', '--cone', 'data');
    g(dir, 'checkout', '-q', 'main');
    expect(existsSync(join(dir, '.mk'))).toBe(false);
    mk(dir, 'install');
    const pull = mkRun(dir, ['pull']);
    expect(pull.status, pull.stderr).toBe(0);
    expect(pull.stderr).not.toMatch(/no remote/);
    expect(asRecord(snapshotTree(join(dir, 'data/imgs')))).toEqual(asRecord(snapshotTree(join(src, 'data/imgs'))));
    expect(hasData(join(dir, 'more/ds'))).toBe(false);
    const st = mkRun(dir, ['status']);
    expect(st.status, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/clean\s+data\/imgs/);
    // Brought into the cone: the next mk command (or hook) restores it.
    g(dir, 'sparse-checkout', 'add', 'more');
    expect(mkRun(dir, ['status']).stdout).toMatch(/deleted\s+more\/ds/);
    const sw = gitRun(dir, ['switch', '-c', 'next']);
    expect(sw.status, sw.stderr).toBe(0);
    expect(asRecord(snapshotTree(join(dir, 'more/ds')))).toEqual(asRecord(snapshotTree(join(src, 'more/ds'))));
  });
});

describe('clones', () => {
  it('git clone --recurse-submodules with the per-user setup (mk install --global) restores the data of the project and of its submodules', () => {
    const home = join(root.dir, 'home');
    mkdirSync(home, { recursive: true });
    const globalConfig = join(home, '.gitconfig');
    writeFileSync(globalConfig, '');
    const user = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), GIT_CONFIG_GLOBAL: globalConfig };
    const sub = repoWithImgs();
    mk(sub, 'push');
    const subBare = bareRemote(join(root.dir, `b${++n}.git`));
    g(sub, 'push', '-q', subBare, 'HEAD:main');
    const top = newRepo(join(root.dir, `r${++n}`));
    mk(top, 'remote', 'add', 'origin', store());
    put(join(top, 'models/m/w.bin'), randomBytesFrom(rand, 4000));
    mk(top, 'add', 'models/m');
    const add = gitRun(top, ['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', subBare, 'vendor/imgs']);
    expect(add.status, add.stderr).toBe(0);
    g(top, 'add', '-A');
    g(top, 'commit', '-qm', 'with a submodule');
    mk(top, 'push');
    const topBare = bareRemote(join(root.dir, `b${++n}.git`));
    g(top, 'push', '-q', topBare, 'HEAD:main');
    const inst = mkRun(root.dir, ['install', '--global'], user);
    expect(inst.status, inst.stderr).toBe(0);
    const dir = join(root.dir, `c${++n}`);
    const c = gitRun(root.dir, ['-c', 'protocol.file.allow=always', 'clone', '-q', '--recurse-submodules', topBare, dir], user);
    expect(c.status, c.stderr).toBe(0);
    expect(asRecord(snapshotTree(join(dir, 'models/m')))).toEqual(asRecord(snapshotTree(join(top, 'models/m'))));
    expect(asRecord(snapshotTree(join(dir, 'vendor/imgs/data/imgs')))).toEqual(asRecord(snapshotTree(join(sub, 'data/imgs'))));
    // The clones got mk's hooks too: a commit there goes through mk.
    expect(readFileSync(join(dir, '.git/hooks/pre-commit'), 'utf8')).toContain('mk-hook-shim');
  });

  it('mk clone passes git clone options through (--filter=blob:none, --single-branch, -o)', () => {
    const src = repoWithImgs();
    mk(src, 'push');
    const bare = bareRemote(join(root.dir, `b${++n}.git`));
    g(src, 'push', '-q', bare, 'HEAD:main');
    g(bare, 'config', 'uploadpack.allowFilter', 'true');
    const r = mkRun(root.dir, ['clone', '--filter=blob:none', '--single-branch', '-o', 'upstream', `file://${bare}`, `c${++n}`, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const dir = join(root.dir, `c${n}`);
    expect(JSON.parse(r.stdout)).toMatchObject({ mk: true, restored: 1 });
    expect(g(dir, 'remote').trim()).toBe('upstream');
    expect(g(dir, 'config', '--get', 'remote.upstream.promisor').trim()).toBe('true');
    expect(asRecord(snapshotTree(join(dir, 'data/imgs')))).toEqual(asRecord(snapshotTree(join(src, 'data/imgs'))));
  });
});
