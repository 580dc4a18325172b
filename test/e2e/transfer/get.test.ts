/**
 * `mk get`: one file, or one folder inside a tracked folder, of any revision, written outside
 * the work tree, downloading only what that path needs (as `dvc get`, or `git show REV:path |
 * git lfs smudge`). The work tree, the index and HEAD stay as they were; the output is whole
 * or absent; everything is verified.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasData, put, randomBytesFrom, rng, sha256, snapshotTree } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { expectMkError, git, makeRepo, mk, mkJson, mkRun, tempDir } from '../../support/repo.js';

describe.each(['layout', 'registry'] as const)('mk get through a %s remote', (kind) => {
  let registry: RunningRegistry | undefined;
  const cleanups: Array<() => void> = [];
  let src: string;
  let work: string;
  let v1: string;
  const rand = rng(11);
  const bigV1 = randomBytesFrom(rand, 3_000_000);
  const bigV2 = randomBytesFrom(rand, 3_100_000);

  beforeAll(async () => {
    if (kind === 'registry') registry = await startRegistry();
    const a = makeRepo();
    cleanups.push(a.cleanup);
    src = a.dir;
    // A folder of many small files in several packs, with a large file inside (a raw layer), and a single tracked file.
    for (let i = 0; i < 600; i++) put(join(src, `data/imgs/${i % 2 ? 'train' : 'val'}/c${i % 5}/img-${i}.bin`), randomBytesFrom(rand, 3000 + (i % 17) * 200));
    put(join(src, 'data/imgs/big/huge.bin'), randomBytesFrom(rand, 9 * 1024 * 1024));
    put(join(src, 'models/model.bin'), bigV1);
    put(join(src, 'tools/run.sh'), '#!/bin/sh\necho run\n', 0o755);
    mk(src, 'add', 'data/imgs', 'models/model.bin', 'tools/run.sh');
    let url: string;
    if (registry) url = `oci://${registry.host}/team/get`;
    else {
      const t = tempDir('mk-layout-');
      cleanups.push(t.cleanup);
      url = join(t.dir, 'store');
    }
    mk(src, 'remote', 'add', 'origin', url);
    git(src, 'add', '-A');
    git(src, 'commit', '-qm', 'v1');
    v1 = git(src, 'rev-parse', 'HEAD').trim();
    mk(src, 'push');
    put(join(src, 'models/model.bin'), bigV2);
    put(join(src, 'data/imgs/val/c0/img-0.bin'), 'changed in v2');
    mk(src, 'add', 'data/imgs', 'models/model.bin');
    git(src, 'commit', '-qam', 'v2');
    mk(src, 'push');
    // A clone with no data at all: every blob get reads comes from the remote.
    const b = tempDir('mk-get-clone-');
    cleanups.push(b.cleanup);
    git(b.dir, 'clone', '-q', src, 'work');
    work = join(b.dir, 'work');
    if (!mk(work, 'remote', 'list').includes(url)) mk(work, 'remote', 'add', 'origin', url);
  });
  afterAll(async () => {
    await registry?.stop();
    for (const c of cleanups) c();
  });

  const outDir = () => {
    const t = tempDir('mk-get-out-');
    cleanups.push(t.cleanup);
    return t.dir;
  };
  const untouched = () => {
    // The clone never pulled: its work tree still has no data, and git sees nothing changed.
    expect(hasData(join(work, 'data/imgs'))).toBe(false);
    expect(existsSync(join(work, 'models/model.bin'))).toBe(false);
    expect(git(work, 'status', '--porcelain')).toBe('');
  };

  it('one file inside a folder of 600: downloads its pack, not the folder', () => {
    const o = outDir();
    const r = mkJson(work, 'get', 'data/imgs/train/c1/img-1.bin', '--rev', v1, '-o', join(o, 'one.bin'), '--json');
    expect(r).toMatchObject({ type: 'file', files: 1, artifact: 'data/imgs', commit: v1 });
    expect(readFileSync(join(o, 'one.bin')).equals(readFileSync(join(src, 'data/imgs/train/c1/img-1.bin')))).toBe(true);
    // The root, its file lists and one pack, not the 9 MiB file nor the other packs.
    expect(r.downloadedBytes).toBeLessThan(2 * 1024 * 1024);
    untouched();
  });

  it('a file of another revision: what that revision recorded, not the current one', () => {
    const o = outDir();
    mk(work, 'get', 'data/imgs/val/c0/img-0.bin', '--rev', v1, '-o', join(o, 'old.bin'));
    mk(work, 'get', 'data/imgs/val/c0/img-0.bin', '-o', join(o, 'new.bin'));
    expect(readFileSync(join(o, 'new.bin'), 'utf8')).toBe('changed in v2');
    expect(readFileSync(join(o, 'old.bin'), 'utf8')).not.toBe('changed in v2');
    mk(work, 'get', 'models/model.bin', '--rev', v1, '-o', join(o, 'm1.bin'));
    mk(work, 'get', 'models/model.bin', '-o', join(o, 'm2.bin'));
    expect(sha256(readFileSync(join(o, 'm1.bin')))).toBe(sha256(bigV1));
    expect(sha256(readFileSync(join(o, 'm2.bin')))).toBe(sha256(bigV2));
    untouched();
  });

  it('a folder inside a tracked folder, and a whole tracked folder: exact trees, modes kept', () => {
    const o = outDir();
    const r = mkJson(work, 'get', 'data/imgs/train', '--rev', v1, '-o', join(o, 'train'), '--json');
    expect(r.type).toBe('dir');
    expect(r.files).toBe(300);
    const want = snapshotTree(join(src, 'data/imgs/train'));
    expect(snapshotTree(join(o, 'train'))).toEqual(want);
    const all = mkJson(work, 'get', 'data/imgs', '-o', join(o, 'imgs'), '--json');
    expect(all.files).toBe(601);
    expect(snapshotTree(join(o, 'imgs'))).toEqual(snapshotTree(join(src, 'data/imgs')));
    mk(work, 'get', 'tools/run.sh', '-o', join(o, 'run.sh'));
    expect(statSync(join(o, 'run.sh')).mode & 0o777).toBe(0o755);
    untouched();
  });

  it('the default output is the last path component, in the current directory', () => {
    const here = join(work, 'scratch');
    mkdirSync(here);
    try {
      const r = mkRun(here, ['get', '../data/imgs/big/huge.bin']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^wrote .*huge\.bin \(9\.0 MiB\) from [0-9a-f]{12}/);
      expect(readdirSync(here)).toEqual(['huge.bin']);
      expect(readFileSync(join(here, 'huge.bin')).equals(readFileSync(join(src, 'data/imgs/big/huge.bin')))).toBe(true);
    } finally {
      rmSync(here, { recursive: true, force: true });
    }
    untouched();
  });

  it('refuses, with one line and nothing written: an existing output (unless --force), an untracked path, a path not in the folder, an output inside .git', () => {
    const o = outDir();
    writeFileSync(join(o, 'taken'), 'mine');
    expectMkError(mkRun(work, ['get', 'models/model.bin', '-o', join(o, 'taken')]), /already exists/);
    expect(readFileSync(join(o, 'taken'), 'utf8')).toBe('mine');
    mk(work, 'get', 'models/model.bin', '-o', join(o, 'taken'), '--force');
    expect(sha256(readFileSync(join(o, 'taken')))).toBe(sha256(bigV2));
    expectMkError(mkRun(work, ['get', 'README.md', '-o', join(o, 'r')]), /not tracked data/);
    expectMkError(mkRun(work, ['get', 'data/imgs/nosuch', '-o', join(o, 'n')]), /not in data\/imgs/);
    expectMkError(mkRun(work, ['get', 'models/model.bin', '-o', join(work, '.git', 'hooks', 'pre-commit')]), /\.git/);
    expect(existsSync(join(work, '.git', 'hooks', 'pre-commit'))).toBe(false);
    expect(readdirSync(o).sort()).toEqual(['taken']);
  });

  it("mk modelkit list: each pushed commit's ModelKit, with its tags and commit (not the referrers' fallback tags)", () => {
    const r = mkJson(src, 'modelkit', 'list', '--json');
    const v2 = git(src, 'rev-parse', 'HEAD').trim();
    // (the two commits may share a second: the order by time is not asserted here)
    const byRev = new Map(r.modelkits.map((m: { revision: string; tags: string[] }) => [m.revision, m.tags]));
    expect([...byRev.keys()].sort()).toEqual([v1, v2].sort());
    expect(byRev.get(v2)).toContain(v2);
    expect(byRev.get(v1)).toEqual([v1]);
    for (const m of r.modelkits) expect(m.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const text = mk(work, 'modelkit', 'list');
    expect(text.split('\n')[0]).toMatch(/^DIGEST\s+SIZE\s+CREATED\s+COMMIT\s+TAGS/);
    expect(text).toContain(v1.slice(0, 12));
  });
});
