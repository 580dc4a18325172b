/**
 * `mk rm` stops tracking an artifact. The data stays in the work tree unless `--data`, and
 * `--data` deletes only what can be had again (exactly what the pointer records, bytes in the
 * cache): an unsaved edit stops it before anything changes, and nothing is deleted through a
 * symlink, which could lead to another disk.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asRecord, put, randomBytesFrom, rng, sha256File, snapshotTree } from '../../support/files.js';
import { expectMkError, git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

let cleanups: Array<() => void> = [];
afterEach(() => {
  cleanups.forEach((c) => c());
  cleanups = [];
});

/** A repo with a tracked model file and a tracked dataset folder, committed. */
function project(): { dir: string; p: (rel: string) => string } {
  const repo = makeRepo();
  cleanups.push(repo.cleanup);
  const p = (rel: string) => join(repo.dir, rel);
  const rand = rng(11);
  put(p('models/m.bin'), randomBytesFrom(rand, 50_000));
  for (let i = 0; i < 20; i++) put(p(`data/imgs/i${i}.bin`), randomBytesFrom(rand, 3000));
  mk(repo.dir, 'add', 'models/m.bin', 'data/imgs');
  git(repo.dir, 'commit', '-qm', 'data');
  return { dir: repo.dir, p };
}

const staged = (dir: string) => git(dir, 'diff', '--cached', '--name-status').trim().split('\n').filter(Boolean).sort();

describe('mk rm', () => {
  it('stops tracking: pointer, .gitignore line and Kitfile entry go (staged); the data stays', () => {
    const { dir, p } = project();
    const before = sha256File(p('models/m.bin'));
    mk(dir, 'rm', 'models/m.bin');
    expect(existsSync(p('models/m.bin.mk.yaml'))).toBe(false);
    expect(sha256File(p('models/m.bin'))).toBe(before);
    expect(readFileSync(p('models/.gitignore'), 'utf8')).not.toContain('/m.bin');
    expect(readFileSync(p('Kitfile'), 'utf8')).not.toContain('models/m.bin');
    expect(staged(dir)).toEqual(['D\tmodels/m.bin.mk.yaml', 'M\tKitfile', 'M\tmodels/.gitignore']);
  });

  it('--data deletes saved data only; its bytes stay in the cache', () => {
    const { dir, p } = project();
    mk(dir, 'rm', '--data', 'data/imgs', 'models/m.bin');
    expect(existsSync(p('data/imgs'))).toBe(false);
    expect(existsSync(p('models/m.bin'))).toBe(false);
    git(dir, 'commit', '-qm', 'dropped');
    mk(dir, 'checkout', 'HEAD~1');
    expect(snapshotTree(p('data/imgs')).size).toBe(20);
  });

  it('--data refuses an unsaved edit (file or folder) and changes nothing at all; --force deletes it', () => {
    const { dir, p } = project();
    put(p('data/imgs/i3.bin'), 'edited, not saved\n');
    put(p('data/imgs/new.bin'), 'new, not saved\n');
    const ds = asRecord(snapshotTree(p('data/imgs')));
    const model = sha256File(p('models/m.bin'));
    const kitfile = readFileSync(p('Kitfile'), 'utf8');
    const line = expectMkError(mkRun(dir, ['rm', '--data', 'models/m.bin', 'data/imgs']), 'mk rm --data would delete data that exists nowhere else: ');
    expect(line).toContain('data/imgs/i3.bin');
    expect(line).toContain('data/imgs/new.bin');
    // All or nothing: the clean model is not untracked or deleted either.
    expect(existsSync(p('models/m.bin.mk.yaml'))).toBe(true);
    expect(existsSync(p('data/imgs.mk.yaml'))).toBe(true);
    expect(sha256File(p('models/m.bin'))).toBe(model);
    expect(asRecord(snapshotTree(p('data/imgs')))).toEqual(ds);
    expect(readFileSync(p('Kitfile'), 'utf8')).toBe(kitfile);
    expect(staged(dir)).toEqual([]);

    put(p('models/m.bin'), 'retrained, not saved\n');
    expectMkError(mkRun(dir, ['rm', '--data', 'models/m.bin']), /would delete data that exists nowhere else: models\/m\.bin/);
    expect(readFileSync(p('models/m.bin'), 'utf8')).toBe('retrained, not saved\n');

    mk(dir, 'rm', '--data', '--force', 'models/m.bin', 'data/imgs');
    expect(existsSync(p('models/m.bin'))).toBe(false);
    expect(existsSync(p('data/imgs'))).toBe(false);
  });

  it('--data refuses data whose bytes the cache does not hold', () => {
    const { dir, p } = project();
    rmSync(join(dir, '.git', 'mk', 'cache'), { recursive: true });
    expectMkError(mkRun(dir, ['rm', '--data', 'models/m.bin']), /would delete data that exists nowhere else: models\/m\.bin/);
    expect(existsSync(p('models/m.bin'))).toBe(true);
  });

  it('never deletes through a symlinked folder (another disk), and never half-way', () => {
    const { dir, p } = project();
    const other = tempDir('mk-other-disk-');
    cleanups.push(other.cleanup);
    // The user moved data/ to another disk and left a symlink.
    cpSync(p('data'), join(other.dir, 'data'), { recursive: true });
    rmSync(p('data'), { recursive: true });
    symlinkSync(join(other.dir, 'data'), p('data'));
    const there = asRecord(snapshotTree(join(other.dir, 'data')));
    expectMkError(mkRun(dir, ['rm', '--data', 'models/m.bin', 'data/imgs']), /refusing path 'data\/imgs': its parent folder 'data' is a symlink/);
    expect(asRecord(snapshotTree(join(other.dir, 'data')))).toEqual(there);
    expect(existsSync(p('models/m.bin'))).toBe(true);
    expect(existsSync(p('models/m.bin.mk.yaml'))).toBe(true);

    // The data path itself a symlink: untracking is fine, --data is refused.
    rmSync(p('data'));
    mkdirSync(p('data'));
    renameSync(join(other.dir, 'data', 'imgs.mk.yaml'), p('data/imgs.mk.yaml'));
    symlinkSync(join(other.dir, 'data', 'imgs'), p('data/imgs'));
    expectMkError(mkRun(dir, ['rm', '--data', 'data/imgs']), /refusing path 'data\/imgs': it is a symlink/);
    expect(snapshotTree(join(other.dir, 'data', 'imgs')).size).toBe(20);
    mk(dir, 'rm', 'data/imgs');
    expect(snapshotTree(join(other.dir, 'data', 'imgs')).size).toBe(20);
  });

  it('of an artifact whose data is absent from the work tree: says so, and does not claim to keep it', () => {
    const { dir, p } = project();
    rmSync(p('data/imgs'), { recursive: true });
    expect(mk(dir, 'rm', 'data/imgs', 'models/m.bin')).toBe('untracked data/imgs (no data in the work tree)\nuntracked models/m.bin (data kept in the work tree)\n');
    expect(existsSync(p('data/imgs'))).toBe(false);
    git(dir, 'reset', '-q', '--hard');
    mk(dir, 'checkout');
    expect(existsSync(p('data/imgs/i0.bin'))).toBe(true);
    rmSync(p('models/m.bin'));
    const r = JSON.parse(mk(dir, 'rm', '--data', 'models/m.bin', '--json'));
    expect(r).toEqual({ artifacts: [{ path: 'models/m.bin', pointerPath: 'models/m.bin.mk.yaml', dataRemoved: false, dataPresent: false }] });
    expect(mk(dir, 'rm', '--data', 'data/imgs')).toBe('untracked data/imgs (data deleted)\n');
  });
});
