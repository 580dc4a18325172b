/**
 * `mk pull -- <path inside a folder>` restores that part of the folder alone, downloading only
 * the packs that hold its files. The rest of the folder stays absent, and is "not restored",
 * never "deleted": status says the folder is partially restored, a commit leaves its pointer
 * alone, and nothing records the folder (which would delete the files not restored) until it
 * is restored whole. `mk clone` takes --depth, -q, --json and --progress.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataEntries, hasData, put, randomBytesFrom, rng, snapshotTree } from '../../support/files.js';
import { spawnSync } from 'node:child_process';
import { expectMkError, git, gitEnv, makeRepo, mk, mkJson, mkRun, tempDir } from '../../support/repo.js';

const gitRun = (cwd: string, ...args: string[]) => spawnSync('git', args, { cwd, encoding: 'utf8', env: gitEnv() });

describe('partial pull and clone options', () => {
  const cleanups: Array<() => void> = [];
  let src: string;
  let v1: string;
  const rand = rng(31);
  const HUGE = 9 * 1024 * 1024;

  beforeAll(() => {
    const a = makeRepo();
    cleanups.push(a.cleanup);
    src = a.dir;
    for (let i = 0; i < 300; i++) put(join(src, `data/imgs/${['train', 'val/cat', 'val/dog'][i % 3]}/img-${i}.bin`), randomBytesFrom(rand, 4000 + (i % 11) * 300));
    put(join(src, 'data/imgs/big/huge.bin'), randomBytesFrom(rand, HUGE));
    put(join(src, 'models/m.bin'), randomBytesFrom(rand, 500_000));
    put(join(src, 'README.md'), 'readme\n');
    mk(src, 'add', 'data/imgs', 'models/m.bin');
    const t = tempDir('mk-partial-layout-');
    cleanups.push(t.cleanup);
    mk(src, 'remote', 'add', 'origin', join(t.dir, 'store'));
    git(src, 'add', '-A');
    git(src, 'commit', '-qm', 'v1');
    v1 = git(src, 'rev-parse', 'HEAD').trim();
    mk(src, 'push');
    put(join(src, 'data/imgs/val/cat/img-1.bin'), 'v2 cat');
    mk(src, 'add', 'data/imgs');
    git(src, 'commit', '-qam', 'v2');
    mk(src, 'push');
  });
  afterAll(() => {
    for (const c of cleanups) c();
  });

  /** A clone without data, with mk's hooks. */
  const fresh = () => {
    const b = tempDir('mk-partial-clone-');
    cleanups.push(b.cleanup);
    git(b.dir, 'clone', '-q', src, 'work');
    const work = join(b.dir, 'work');
    mk(work, 'install');
    return work;
  };
  const statusOf = (work: string, path: string) =>
    (mkJson(work, 'status').artifacts as Array<{ path: string; workspace: string; partial?: { files: number; of: number } }>).find((s) => s.path === path)!;
  const names = (dir: string) => (existsSync(dir) ? dataEntries(dir) : []);

  it('restores only that part, downloading only the packs that hold it; the rest stays absent, reported as partially restored', () => {
    const work = fresh();
    const r = mkJson(work, 'pull', '--', 'data/imgs/val/cat');
    expect(r.partial).toMatchObject([{ path: 'data/imgs', paths: ['data/imgs/val/cat'], files: 100, written: 100, partial: true }]);
    expect(snapshotTree(join(work, 'data/imgs/val/cat'))).toEqual(snapshotTree(join(src, 'data/imgs/val/cat')));
    expect(names(join(work, 'data/imgs'))).toEqual(['val']);
    expect(names(join(work, 'data/imgs/val'))).toEqual(['cat']);
    expect(existsSync(join(work, 'models/m.bin'))).toBe(false);
    // Not the 9 MiB file, not the model, not every pack of the folder.
    expect(r.fetch.bytes).toBeLessThan(HUGE);
    const whole = mkJson(fresh(), 'fetch');
    expect(r.fetch.copied).toBeLessThan(whole.copied - 2);
    const s = statusOf(work, 'data/imgs');
    expect(s).toMatchObject({ workspace: 'partial', partial: { files: 100, of: 301 }, changes: [] });
    expect(mk(work, 'status')).toMatch(/^partial, not cached\s+data\/imgs$/m);
    expect(git(work, 'status', '--porcelain')).toBe('');
  });

  it('a commit leaves the pointer of a partially restored folder alone; changing it is refused until the folder is whole', () => {
    const work = fresh();
    mk(work, 'pull', '--', 'data/imgs/val/cat');
    const pointer = readFileSync(join(work, 'data/imgs.mk.yaml'), 'utf8');
    writeFileSync(join(work, 'README.md'), 'changed\n');
    git(work, 'commit', '-qam', 'readme');
    expect(git(work, 'show', '--name-only', '--format=', 'HEAD').trim()).toBe('README.md');
    expect(readFileSync(join(work, 'data/imgs.mk.yaml'), 'utf8')).toBe(pointer);
    // A change inside: recording the folder would record 201 files as deleted.
    writeFileSync(join(work, 'data/imgs/val/cat/img-4.bin'), 'mine');
    expect(statusOf(work, 'data/imgs')).toMatchObject({ workspace: 'modified', partial: { files: 100, of: 301 }, changes: [{ path: 'val/cat/img-4.bin', change: 'modified' }] });
    expectMkError(mkRun(work, ['add', 'data/imgs']), /restored only in part/);
    writeFileSync(join(work, 'README.md'), 'again\n');
    const c = gitRun(work, 'commit', '-qam', 'try');
    expect(c.status).not.toBe(0);
    expect(c.stderr).toMatch(/restored only in part/);
    expect(readFileSync(join(work, 'data/imgs.mk.yaml'), 'utf8')).toBe(pointer);
    // A deleted restored file is a change too (it was there): refused the same way.
    writeFileSync(join(work, 'data/imgs/val/cat/img-4.bin'), readFileSync(join(src, 'data/imgs/val/cat/img-4.bin')));
    rmSync(join(work, 'data/imgs/val/cat/img-7.bin'));
    expect(statusOf(work, 'data/imgs')).toMatchObject({ workspace: 'modified', changes: [{ path: 'val/cat/img-7.bin', change: 'removed' }] });
    expectMkError(mkRun(work, ['add', 'data/imgs']), /restored only in part/);
    // Restoring the whole folder ends it: clean, then the change is recorded as usual.
    mk(work, 'pull', '--', 'data/imgs');
    expect(snapshotTree(join(work, 'data/imgs'))).toEqual(snapshotTree(join(src, 'data/imgs')));
    expect(statusOf(work, 'data/imgs')).toMatchObject({ workspace: 'clean' });
    expect(statusOf(work, 'data/imgs').partial).toBeUndefined();
    writeFileSync(join(work, 'data/imgs/val/cat/img-4.bin'), 'mine');
    git(work, 'commit', '-qam', 'mine');
    expect(git(work, 'show', '--name-only', '--format=', 'HEAD')).toContain('data/imgs.mk.yaml');
  });

  it('parts add up; a part that completes the folder leaves no mark; an unmarked folder the user emptied in part is never marked', () => {
    const work = fresh();
    mk(work, 'pull', '--', 'data/imgs/val/cat');
    const r = mkJson(work, 'pull', '--', 'data/imgs/val/dog', 'data/imgs/big/huge.bin');
    expect(r.partial).toMatchObject([{ path: 'data/imgs', files: 101, written: 101, partial: true }]);
    expect(statusOf(work, 'data/imgs')).toMatchObject({ workspace: 'partial', partial: { files: 201, of: 301 } });
    const last = mkJson(work, 'pull', '--', 'data/imgs/train');
    expect(last.partial).toMatchObject([{ partial: false }]);
    expect(statusOf(work, 'data/imgs')).toMatchObject({ workspace: 'clean' });
    expect(snapshotTree(join(work, 'data/imgs'))).toEqual(snapshotTree(join(src, 'data/imgs')));
    // The user deletes a part of a whole folder, then pulls another part: their deletion stays visible.
    rmSync(join(work, 'data/imgs/train'), { recursive: true });
    rmSync(join(work, 'data/imgs/val/dog/img-2.bin'));
    const again = mkJson(work, 'pull', '--', 'data/imgs/val/dog');
    expect(again.partial).toMatchObject([{ written: 1, partial: false }]);
    const s = statusOf(work, 'data/imgs');
    expect(s.workspace).toBe('modified');
    expect(s.partial).toBeUndefined();
  });

  it('a partially restored folder moved with mk mv stays partially restored; git moving its pointer to a version not cached never records the part as the folder', () => {
    const work = fresh();
    mk(work, 'pull', '--', 'data/imgs/val/cat');
    const digest = /digest: (\S+)/.exec(readFileSync(join(work, 'data/imgs.mk.yaml'), 'utf8'))![1];
    mk(work, 'mv', 'data/imgs', 'data/pics');
    expect(statusOf(work, 'data/pics')).toMatchObject({ workspace: 'partial', partial: { files: 100, of: 301 } });
    git(work, 'commit', '-qm', 'rename');
    expect(git(work, 'show', 'HEAD:data/pics.mk.yaml')).toContain(digest);
    // Untracked, then tracked again on purpose: the part is what the user now records.
    mk(work, 'rm', 'data/pics');
    const again = mkJson(work, 'add', 'data/pics');
    expect(again.artifacts[0].pointer.files).toBe(100);
    // Back to v1, whose folder version this clone has no data for: the part of v2 stays, and a commit refuses to record it.
    const w2 = fresh();
    mk(w2, 'pull', '--', 'data/imgs/val/dog');
    gitRun(w2, 'checkout', '-q', v1);
    const pointer = readFileSync(join(w2, 'data/imgs.mk.yaml'), 'utf8');
    expect(pointer).not.toContain(digest);
    writeFileSync(join(w2, 'README.md'), 'on v1\n');
    const c = gitRun(w2, 'commit', '-qam', 'on v1');
    expect(c.status).not.toBe(0);
    expect(c.stderr).toMatch(/restored only in part/);
    expect(readFileSync(join(w2, 'data/imgs.mk.yaml'), 'utf8')).toBe(pointer);
    // Pulling brings v1's folder whole: the note goes, and commits work again.
    mk(w2, 'pull');
    expect(snapshotTree(join(w2, 'data/imgs')).size).toBe(snapshotTree(join(src, 'data/imgs')).size);
    expect(readFileSync(join(w2, 'data/imgs/val/cat/img-1.bin')).length).toBeGreaterThan(1000); // v1's bytes, not 'v2 cat'
    expect(statusOf(w2, 'data/imgs')).toMatchObject({ workspace: 'clean' });
    git(w2, 'commit', '-qam', 'on v1');
  });

  it('refuses, with one line and nothing written: a path not in the folder, a part of another revision, unsaved changes in the way', () => {
    const work = fresh();
    expectMkError(mkRun(work, ['pull', '--', 'data/imgs/val/cow']), /data\/imgs\/val\/cow is not in data\/imgs/);
    expect(hasData(join(work, 'data/imgs'))).toBe(false);
    expectMkError(mkRun(work, ['pull', v1, '--', 'data/imgs/val/cat']), /another/);
    expect(hasData(join(work, 'data/imgs'))).toBe(false);
    mk(work, 'pull', '--', 'data/imgs/val/cat');
    writeFileSync(join(work, 'data/imgs/val/cat/img-4.bin'), 'mine');
    expectMkError(mkRun(work, ['pull', '--', 'data/imgs/val/cat']), /unsaved changes/);
    expect(readFileSync(join(work, 'data/imgs/val/cat/img-4.bin'), 'utf8')).toBe('mine');
    mk(work, 'pull', '--force', '--', 'data/imgs/val/cat');
    expect(statusOf(work, 'data/imgs')).toMatchObject({ workspace: 'partial' });
  });

  it('mk clone --depth 1 --json: a shallow clone with the data of its commit, described in one object', () => {
    const b = tempDir('mk-clone-depth-');
    cleanups.push(b.cleanup);
    const r = mkJson(b.dir, 'clone', '--depth', '1', `file://${src}`, 'shallow');
    const dir = join(b.dir, 'shallow');
    expect(r).toMatchObject({ dir, commit: git(src, 'rev-parse', 'HEAD').trim(), branch: 'main', depth: 1, mk: true, remote: 'origin', restored: 2 });
    expect(r.artifacts.sort()).toEqual(['data/imgs', 'models/m.bin']);
    expect(r.bytes).toBeGreaterThan(HUGE);
    expect(git(dir, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
    expect(snapshotTree(join(dir, 'data/imgs'))).toEqual(snapshotTree(join(src, 'data/imgs')));
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });

  it('mk clone -q prints nothing; --progress shows progress on stderr; a bad --depth is refused before anything is cloned', () => {
    const b = tempDir('mk-clone-q-');
    cleanups.push(b.cleanup);
    const q = mkRun(b.dir, ['clone', '-q', src, 'quiet']);
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toBe('');
    expect(existsSync(join(b.dir, 'quiet/models/m.bin'))).toBe(true);
    const p = mkRun(b.dir, ['clone', '--progress', src, 'loud']);
    expect(p.status, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/clone: .*\(\d+%\)/);
    expect(p.stdout).toMatch(/restored the data of 2 artifact/);
    expectMkError(mkRun(b.dir, ['clone', '--depth', '0', src, 'nope']), /--depth must be a positive whole number/);
    expect(existsSync(join(b.dir, 'nope'))).toBe(false);
  });
});
