/**
 * A data scientist versions a model file and a 1,000-file dataset with mk, changes both,
 * and goes back and forth between revisions: every byte and every executable bit comes back.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, emptyDirs, exists, put, randomBytesFrom, rng, sha256, sha256File, snapshotTree, tempLeftovers, type FileState } from '../../support/files.js';
import { git, makeRepo, mk, mkJson } from '../../support/repo.js';

/** Names that exercise encoding and quoting: spaces, accents, CJK, leading dash, brackets. */
const SPECIAL = ['données/été 1.csv', 'données/été 2.csv', '日本/x', '日本/データ/表.tsv', 'with space/file name.txt', 'odd/-dash', 'odd/[brackets] #hash!', 'odd/trailing space ', 'odd/ümlaut ß.bin'];

/** Version 1 of the dataset: 1,000 files, nested 1 to 4 levels, some empty, some executable, one large. */
function writeDatasetV1(root: string): void {
  const rand = rng(1);
  for (const name of SPECIAL) put(join(root, name), randomBytesFrom(rand, 100 + Math.floor(rand() * 900)));
  for (let i = 0; i < 12; i++) put(join(root, `empty/e${i}.txt`), '');
  put(join(root, 'bin/run.sh'), '#!/bin/sh\necho run\n', 0o755);
  put(join(root, 'bin/tool'), randomBytesFrom(rand, 3000), 0o755);
  put(join(root, 'bin/empty-exec'), '', 0o755);
  put(join(root, 'weights/big.bin'), randomBytesFrom(rand, 9 * 1024 * 1024 + 17)); // above the 8 MiB raw threshold
  let n = SPECIAL.length + 12 + 4;
  for (let i = 0; n < 1000; i++, n++) {
    const depth = 1 + (i % 4);
    const dirs = Array.from({ length: depth }, (_, d) => `d${d}_${(i >> (d + 2)) % 5}`);
    const size = i % 37 === 0 ? 0 : Math.floor(rand() * 6000);
    put(join(root, ...dirs, `f${String(i).padStart(4, '0')}.dat`), randomBytesFrom(rand, size), i % 53 === 0 ? 0o755 : 0o644);
  }
}

/** Version 2: edits, removals, additions (in a new nested folder too), mode flips, a new large file. */
function changeDataset(root: string, before: Map<string, FileState>): void {
  const rand = rng(2);
  const names = [...before.keys()].filter((p) => p.startsWith('d0_')).sort();
  for (const p of names.slice(0, 50)) put(join(root, p), randomBytesFrom(rand, 10 + Math.floor(rand() * 5000)), before.get(p)!.mode);
  for (const p of names.slice(50, 70)) unlinkSync(join(root, p));
  for (const p of names.slice(70, 75)) chmodSync(join(root, p), before.get(p)!.mode === 0o755 ? 0o644 : 0o755);
  for (const p of names.slice(75, 77)) put(join(root, p), '', before.get(p)!.mode);
  for (let i = 0; i < 30; i++) put(join(root, `new/deep/er/n${i}.dat`), randomBytesFrom(rand, 200 + i));
  put(join(root, 'données/été 1.csv'), 'date,température\n2024-07-01,31\n');
  unlinkSync(join(root, '日本/データ/表.tsv'));
  put(join(root, 'weights/big.bin'), randomBytesFrom(rand, 9 * 1024 * 1024 + 99));
  chmodSync(join(root, 'bin/run.sh'), 0o644);
}

describe('going back in history restores the exact bytes', () => {
  let repo: { dir: string; cleanup: () => void };
  let dsV1: Map<string, FileState>;
  let dsV2: Map<string, FileState>;
  let modelV1: string;
  let modelV2: string;
  const ds = () => join(repo.dir, 'ds');
  const model = () => join(repo.dir, 'models/model.bin');

  beforeAll(() => {
    repo = makeRepo();
    writeDatasetV1(ds());
    put(model(), randomBytesFrom(rng(10), 3 * 1024 * 1024 + 5));
    dsV1 = snapshotTree(ds());
    modelV1 = sha256File(model());
    expect(dsV1.size).toBe(1000);
    mk(repo.dir, 'add', 'ds', 'models/model.bin');
    git(repo.dir, 'commit', '-qm', 'v1');

    changeDataset(ds(), dsV1);
    put(model(), randomBytesFrom(rng(11), 2 * 1024 * 1024 + 1));
    dsV2 = snapshotTree(ds());
    modelV2 = sha256File(model());
    mk(repo.dir, 'add', 'ds', 'models/model.bin');
    git(repo.dir, 'commit', '-qm', 'v2');
  });
  afterAll(() => repo.cleanup());

  it('the two versions really differ, and the work tree is clean after committing v2', () => {
    expect(modelV1).not.toBe(modelV2);
    expect(asRecord(dsV1)).not.toEqual(asRecord(dsV2));
    const st = mkJson(repo.dir, 'status').artifacts;
    expect(st.map((s: any) => [s.path, s.workspace, s.commit])).toEqual([
      ['ds', 'clean', 'committed'],
      ['models/model.bin', 'clean', 'committed'],
    ]);
  });

  it('mk checkout HEAD~1 brings back v1 of the single file and of every one of the 1,000 files, modes included', () => {
    const out = mk(repo.dir, 'checkout', 'HEAD~1');
    expect(out).toMatch(/restored\s+ds/);
    expect(sha256File(model())).toBe(modelV1);
    expect(asRecord(snapshotTree(ds()))).toEqual(asRecord(dsV1));
    // Folders that only v2 had are gone too, and no temporary file is left behind.
    expect(exists(join(ds(), 'new'))).toBe(false);
    expect(emptyDirs(ds())).toEqual([]);
    expect(tempLeftovers(repo.dir)).toEqual([]);
  });

  it('special names and executable bits survived byte for byte', () => {
    const now = snapshotTree(ds());
    for (const name of SPECIAL) expect(now.get(name), name).toEqual(dsV1.get(name));
    expect(now.get('bin/run.sh')!.mode).toBe(0o755);
    expect(now.get('bin/empty-exec')).toEqual({ sha: dsV1.get('bin/empty-exec')!.sha, size: 0, mode: 0o755 });
    expect(exists(join(ds(), '日本/データ/表.tsv'))).toBe(true); // removed in v2, back in v1
    expect(now.get('empty/e0.txt')!.size).toBe(0);
  });

  it("the pointers of HEAD~1 are restored and staged, as 'git checkout HEAD~1 -- paths' would", () => {
    for (const p of ['ds.mk.yaml', 'models/model.bin.mk.yaml']) {
      expect(readFileSync(join(repo.dir, p), 'utf8')).toBe(git(repo.dir, 'show', `HEAD~1:${p}`));
    }
    expect(git(repo.dir, 'diff', '--cached', '--name-only').split('\n').filter(Boolean).sort()).toEqual(['ds.mk.yaml', 'models/model.bin.mk.yaml']);
    const st = mkJson(repo.dir, 'status').artifacts;
    expect(st.map((s: any) => [s.path, s.workspace, s.commit])).toEqual([
      ['ds', 'clean', 'changed'],
      ['models/model.bin', 'clean', 'changed'],
    ]);
  });

  it('mk checkout HEAD returns to v2 exactly', () => {
    mk(repo.dir, 'checkout', 'HEAD');
    expect(sha256File(model())).toBe(modelV2);
    expect(asRecord(snapshotTree(ds()))).toEqual(asRecord(dsV2));
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');
  });

  it('mk checkout <rev> -- <path> restores only that path and its pointer', () => {
    const dsPointerV2 = readFileSync(join(repo.dir, 'ds.mk.yaml'), 'utf8');
    mk(repo.dir, 'checkout', 'HEAD~1', '--', 'models/model.bin');
    expect(sha256File(model())).toBe(modelV1);
    expect(readFileSync(join(repo.dir, 'models/model.bin.mk.yaml'), 'utf8')).toBe(git(repo.dir, 'show', 'HEAD~1:models/model.bin.mk.yaml'));
    // The other artifact, its data and its pointer are untouched.
    expect(asRecord(snapshotTree(ds()))).toEqual(asRecord(dsV2));
    expect(readFileSync(join(repo.dir, 'ds.mk.yaml'), 'utf8')).toBe(dsPointerV2);
    expect(git(repo.dir, 'diff', '--cached', '--name-only').trim()).toBe('models/model.bin.mk.yaml');

    // The same for the directory, named from a subfolder with a relative path.
    mk(join(repo.dir, 'models'), 'checkout', 'HEAD~1', '--', '../ds');
    expect(asRecord(snapshotTree(ds()))).toEqual(asRecord(dsV1));
    expect(readFileSync(join(repo.dir, 'ds.mk.yaml'), 'utf8')).toBe(git(repo.dir, 'show', 'HEAD~1:ds.mk.yaml'));

    mk(repo.dir, 'checkout', 'HEAD');
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');
  });

  it('mk checkout with no revision brings back deleted data from the pointers of the work tree', () => {
    rmSync(ds(), { recursive: true });
    rmSync(model());
    const st = mkJson(repo.dir, 'status').artifacts;
    expect(st.map((s: any) => s.workspace)).toEqual(['deleted', 'deleted']);
    mk(repo.dir, 'checkout');
    expect(sha256File(model())).toBe(modelV2);
    expect(asRecord(snapshotTree(ds()))).toEqual(asRecord(dsV2));

    // Deleting part of the directory: only the missing files are written back.
    rmSync(join(ds(), 'new'), { recursive: true });
    rmSync(join(ds(), '日本'), { recursive: true });
    const r = mkJson(repo.dir, 'checkout', '--', 'ds');
    expect(r.artifacts).toEqual([{ path: 'ds', action: 'restored', written: 31, removed: 0 }]);
    expect(asRecord(snapshotTree(ds()))).toEqual(asRecord(dsV2));
    expect(mkJson(repo.dir, 'checkout').artifacts.map((a: any) => a.action)).toEqual(['unchanged', 'unchanged']);
  });
});

describe('a single executable file keeps its bit across versions', () => {
  it('restores content and the exec flag recorded in the pointer', () => {
    const repo = makeRepo();
    try {
      const f = join(repo.dir, 'tools/train.sh');
      put(f, '#!/bin/sh\necho v1\n', 0o755);
      mk(repo.dir, 'add', 'tools/train.sh');
      expect(readFileSync(join(repo.dir, 'tools/train.sh.mk.yaml'), 'utf8')).toMatch(/^exec: true$/m);
      git(repo.dir, 'commit', '-qm', 'v1');
      put(f, '#!/bin/sh\necho version two\n', 0o644);
      mk(repo.dir, 'add', 'tools/train.sh');
      expect(readFileSync(join(repo.dir, 'tools/train.sh.mk.yaml'), 'utf8')).not.toMatch(/exec/);
      git(repo.dir, 'commit', '-qm', 'v2');

      mk(repo.dir, 'checkout', 'HEAD~1');
      expect(readFileSync(f, 'utf8')).toBe('#!/bin/sh\necho v1\n');
      expect(snapshotTree(join(repo.dir, 'tools')).get('train.sh')!.mode).toBe(0o755);
      mk(repo.dir, 'checkout', 'HEAD');
      expect(readFileSync(f, 'utf8')).toBe('#!/bin/sh\necho version two\n');
      expect(snapshotTree(join(repo.dir, 'tools')).get('train.sh')!.mode).toBe(0o644);
    } finally {
      repo.cleanup();
    }
  });
});

describe('shapes that change between versions', () => {
  it('a path that was a folder, then a file, then an empty folder comes back as each', () => {
    const repo = makeRepo();
    try {
      const x = join(repo.dir, 'x');
      put(join(x, 'a'), '1');
      put(join(x, 'b/c'), '2');
      mk(repo.dir, 'add', 'x');
      git(repo.dir, 'commit', '-qm', 'folder');
      rmSync(x, { recursive: true });
      put(x, 'now a file');
      mk(repo.dir, 'add', 'x');
      git(repo.dir, 'commit', '-qm', 'file');
      rmSync(x);
      mkdirSync(x);
      mk(repo.dir, 'add', 'x');
      git(repo.dir, 'commit', '-qm', 'empty folder');

      mk(repo.dir, 'checkout', 'HEAD~2');
      expect(asRecord(snapshotTree(x))).toEqual({ a: { sha: sha256('1'), size: 1, mode: 0o644 }, 'b/c': { sha: sha256('2'), size: 1, mode: 0o644 } });
      mk(repo.dir, 'checkout', 'HEAD~1');
      expect(readFileSync(x, 'utf8')).toBe('now a file');
      mk(repo.dir, 'checkout', 'HEAD');
      expect(snapshotTree(x).size).toBe(0);
      // An empty tracked folder that was deleted is recreated, and then is clean.
      rmSync(x, { recursive: true });
      mk(repo.dir, 'checkout');
      expect(exists(x)).toBe(true);
      expect(mkJson(repo.dir, 'status').artifacts[0]).toMatchObject({ path: 'x', workspace: 'clean', files: 0 });
    } finally {
      repo.cleanup();
    }
  });
});

describe('single files with awkward names', () => {
  it('are git-ignored exactly (spaces, accents, glob characters) and restore byte for byte', () => {
    const repo = makeRepo();
    try {
      const names = ['données/été 1.csv', '日本/x', 'odd/[x] #1 !.bin', 'odd/trailing ', 'odd/*star?.bin'];
      const rand = rng(5);
      const shas = new Map<string, string>();
      for (const n of names) {
        put(join(repo.dir, n), randomBytesFrom(rand, 777));
        shas.set(n, sha256File(join(repo.dir, n)));
      }
      put(join(repo.dir, 'odd/other.bin'), 'not tracked by mk: must stay visible to git');
      mk(repo.dir, 'add', ...names);
      // The data is ignored, the pointers are staged, a neighbour file is not hidden.
      expect(git(repo.dir, 'ls-files', '-z', '--others', '--exclude-standard').split('\0').filter(Boolean)).toEqual(['odd/other.bin']);
      expect(git(repo.dir, 'ls-files', '-z', '--others', '--ignored', '--exclude-standard').split('\0').filter(Boolean).sort()).toEqual([...names].sort());
      expect(
        git(repo.dir, 'ls-files', '-z')
          .split('\0')
          .filter((f) => f.endsWith('.mk.yaml'))
          .sort(),
      ).toEqual(names.map((n) => `${n}.mk.yaml`).sort());
      git(repo.dir, 'commit', '-qm', 'files');
      for (const n of names) rmSync(join(repo.dir, n));
      mk(repo.dir, 'checkout');
      for (const n of names) expect(sha256File(join(repo.dir, n)), n).toBe(shas.get(n));
    } finally {
      repo.cleanup();
    }
  });
});
