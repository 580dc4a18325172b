/**
 * A reviewer wants to know which data files a commit changed, and what is changed but not
 * yet committed: `mk diff` lists exactly those files, with their sizes, and nothing else. A
 * folder renamed is a rename (not thousands of removals and additions), `--stat` sums it up,
 * paths limit it, and a clone reads the file lists it lacks from the remote.
 */
import { chmodSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { expectMkError, git, makeRepo, mk, mkJson, mkRun, tempDir } from '../../support/repo.js';

describe('mk diff lists exactly the changed files', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);

  beforeAll(() => {
    repo = makeRepo();
    const rand = rng(3);
    // v1: a dataset of 200 files and a model
    for (let i = 0; i < 200; i++) put(p(`ds/part-${String(i).padStart(3, '0')}.csv`), randomBytesFrom(rand, 100 + i));
    put(p('ds/meta/schema.json'), '{"cols":2}');
    put(p('ds/meta/run.sh'), '#!/bin/sh\n');
    put(p('model.bin'), randomBytesFrom(rand, 10_000));
    mk(repo.dir, 'add', 'ds', 'model.bin');
    git(repo.dir, 'commit', '-qm', 'v1');
    git(repo.dir, 'tag', 'v1');

    // v2: one file edited (100 -> 7 bytes), one removed, two added (one in a new folder),
    // one made executable; the model unchanged; a new artifact.
    put(p('ds/part-000.csv'), 'edited\n');
    unlinkSync(p('ds/part-005.csv'));
    put(p('ds/part-200.csv'), randomBytesFrom(rand, 42));
    put(p('ds/extra/notes.txt'), 'abc');
    chmodSync(p('ds/meta/run.sh'), 0o755);
    put(p('tok/vocab.txt'), 'a\nb\nc\n');
    mk(repo.dir, 'add', 'ds', 'model.bin', 'tok/vocab.txt');
    git(repo.dir, 'commit', '-qm', 'v2');
    git(repo.dir, 'tag', 'v2');

    // v3: the model changes, the new artifact is dropped again.
    put(p('model.bin'), randomBytesFrom(rand, 12_345));
    mk(repo.dir, 'add', 'model.bin');
    git(repo.dir, 'rm', '-q', '--cached', 'tok/vocab.txt.mk.yaml');
    rmSync(p('tok'), { recursive: true });
    git(repo.dir, 'commit', '-qm', 'v3');
  });
  afterAll(() => repo.cleanup());

  const v1v2 = [
    {
      path: 'ds',
      change: 'modified',
      files: [
        { path: 'ds/extra/notes.txt', change: 'added', newSize: 3 },
        { path: 'ds/meta/run.sh', change: 'modified', oldSize: 10, newSize: 10 },
        { path: 'ds/part-000.csv', change: 'modified', oldSize: 100, newSize: 7 },
        { path: 'ds/part-005.csv', change: 'removed', oldSize: 105 },
        { path: 'ds/part-200.csv', change: 'added', newSize: 42 },
      ],
    },
    { path: 'tok/vocab.txt', change: 'added', files: [{ path: 'tok/vocab.txt', change: 'added', newSize: 6 }] },
  ];

  it('between two revisions', () => {
    const d = mkJson(repo.dir, 'diff', 'v1', 'v2');
    expect(d.from).toBe('v1');
    expect(d.to).toBe('v2');
    expect(d.artifacts).toEqual(v1v2);
  });

  it('in the other direction, additions become removals', () => {
    const d = mkJson(repo.dir, 'diff', 'v2', 'v1');
    expect(d.artifacts).toEqual([
      {
        path: 'ds',
        change: 'modified',
        files: [
          { path: 'ds/extra/notes.txt', change: 'removed', oldSize: 3 },
          { path: 'ds/meta/run.sh', change: 'modified', oldSize: 10, newSize: 10 },
          { path: 'ds/part-000.csv', change: 'modified', oldSize: 7, newSize: 100 },
          { path: 'ds/part-005.csv', change: 'added', newSize: 105 },
          { path: 'ds/part-200.csv', change: 'removed', oldSize: 42 },
        ],
      },
      { path: 'tok/vocab.txt', change: 'removed', files: [{ path: 'tok/vocab.txt', change: 'removed', oldSize: 6 }] },
    ]);
  });

  it('a single-file artifact changed, another removed (v2 to v3, by relative revision names)', () => {
    const d = mkJson(repo.dir, 'diff', 'HEAD~1', 'HEAD');
    expect(d.artifacts).toEqual([
      { path: 'model.bin', change: 'modified', files: [{ path: 'model.bin', change: 'modified', oldSize: 10_000, newSize: 12_345 }] },
      { path: 'tok/vocab.txt', change: 'removed', files: [{ path: 'tok/vocab.txt', change: 'removed', oldSize: 6 }] },
    ]);
  });

  it('the same revision twice, or a clean work tree, shows no change', () => {
    expect(mkJson(repo.dir, 'diff', 'v1', 'v1').artifacts).toEqual([]);
    expect(mkJson(repo.dir, 'diff').artifacts).toEqual([]);
    expect(mk(repo.dir, 'diff')).toBe('no data changes between HEAD and workspace\n');
  });

  it('between HEAD and the work tree, the text output lists each file with its sizes', () => {
    put(p('ds/part-010.csv'), randomBytesFrom(rng(4), 2048));
    unlinkSync(p('ds/part-011.csv'));
    put(p('ds/zz new file.csv'), '1,2\n');
    const d = mkJson(repo.dir, 'diff');
    expect(d.from).toBe('HEAD');
    expect(d.to).toBe('workspace');
    expect(d.artifacts).toEqual([
      {
        path: 'ds',
        change: 'modified',
        files: [
          { path: 'ds/part-010.csv', change: 'modified', oldSize: 110, newSize: 2048 },
          { path: 'ds/part-011.csv', change: 'removed', oldSize: 111 },
          { path: 'ds/zz new file.csv', change: 'added', newSize: 4 },
        ],
      },
    ]);
    expect(mk(repo.dir, 'diff')).toBe(['modified ds', '  M ds/part-010.csv  (110 B -> 2.0 KiB)', '  - ds/part-011.csv  (111 B)', '  + ds/zz new file.csv  (4 B)', ''].join('\n'));
    // From an older revision to the work tree: both sets of changes, merged per file.
    const fromV1 = mkJson(repo.dir, 'diff', 'v1');
    expect(fromV1.to).toBe('workspace');
    const dsFiles = fromV1.artifacts.find((a: any) => a.path === 'ds').files.map((f: any) => `${f.change} ${f.path}`);
    expect(dsFiles).toEqual([
      'added ds/extra/notes.txt',
      'modified ds/meta/run.sh',
      'modified ds/part-000.csv',
      'removed ds/part-005.csv',
      'modified ds/part-010.csv',
      'removed ds/part-011.csv',
      'added ds/part-200.csv',
      'added ds/zz new file.csv',
    ]);
    expect(fromV1.artifacts.map((a: any) => a.path)).toEqual(['ds', 'model.bin']);
  });

  it('deleted work-tree data shows as every file removed', () => {
    rmSync(p('model.bin'));
    const d = mkJson(repo.dir, 'diff');
    expect(d.artifacts.find((a: any) => a.path === 'model.bin')).toEqual({ path: 'model.bin', change: 'modified', files: [{ path: 'model.bin', change: 'removed', oldSize: 12_345 }] });
  });
});

describe('mk diff: renames, --stat, paths, and file lists from the remote', () => {
  let repo: { dir: string; cleanup: () => void };
  let store: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  const N = 60;

  beforeAll(() => {
    repo = makeRepo();
    store = tempDir('mk-store-');
    const rand = rng(9);
    for (let i = 0; i < N; i++) put(p(`data/imgs/train/i${i}.bin`), randomBytesFrom(rand, 500 + i));
    put(p('data/imgs/labels.csv'), 'a,b\n');
    put(p('model.bin'), randomBytesFrom(rand, 4000));
    mk(repo.dir, 'add', 'data/imgs', 'model.bin');
    mk(repo.dir, 'remote', 'add', 'origin', join(store.dir, 'layout'));
    git(repo.dir, 'commit', '-qm', 'v1');
    git(repo.dir, 'tag', 'v1');
    // v2: a folder inside the artifact renamed (every file moved), one file edited, one added.
    renameSync(p('data/imgs/train'), p('data/imgs/training'));
    put(p('data/imgs/labels.csv'), 'a,b\n1,2\n');
    put(p('data/imgs/new.txt'), 'new');
    mk(repo.dir, 'add', 'data/imgs');
    git(repo.dir, 'commit', '-qm', 'v2');
    git(repo.dir, 'tag', 'v2');
    // v3: the whole artifact moved, unchanged; the model renamed too.
    mk(repo.dir, 'mv', 'data/imgs', 'data/pictures');
    mk(repo.dir, 'mv', 'model.bin', 'clf.bin');
    git(repo.dir, 'commit', '-qm', 'v3');
    git(repo.dir, 'tag', 'v3');
    mk(repo.dir, 'push', 'v1', 'v2', 'v3');
  });
  afterAll(() => {
    repo.cleanup();
    store.cleanup();
  });

  it('a folder renamed inside an artifact: every file a rename, one line in the text output', () => {
    const d = mkJson(repo.dir, 'diff', 'v1', 'v2');
    const files = d.artifacts[0].files;
    expect(d.artifacts.map((a: any) => [a.path, a.change])).toEqual([['data/imgs', 'modified']]);
    expect(files.filter((f: any) => f.change === 'renamed')).toHaveLength(N);
    expect(files.find((f: any) => f.path === 'data/imgs/training/i7.bin')).toEqual({
      path: 'data/imgs/training/i7.bin',
      change: 'renamed',
      from: 'data/imgs/train/i7.bin',
      oldSize: 507,
      newSize: 507,
    });
    expect(files.filter((f: any) => f.change !== 'renamed')).toEqual([
      { path: 'data/imgs/labels.csv', change: 'modified', oldSize: 4, newSize: 8 },
      { path: 'data/imgs/new.txt', change: 'added', newSize: 3 },
    ]);
    // 500..559 bytes: 31,770 B
    expect(mk(repo.dir, 'diff', 'v1', 'v2')).toBe(
      ['modified data/imgs', '  M data/imgs/labels.csv  (4 B -> 8 B)', '  + data/imgs/new.txt  (3 B)', `  R data/imgs/train/ -> data/imgs/training/  (${N} files, 31 KiB)`, ''].join('\n'),
    );
    expect(d.summary).toEqual({ artifacts: 1, added: 1, removed: 0, modified: 1, renamed: N, addedBytes: 11, removedBytes: 4 });
  });

  it('--no-renames shows the same change as removals and additions', () => {
    const files = mkJson(repo.dir, 'diff', 'v1', 'v2', '--no-renames').artifacts[0].files;
    expect(files.filter((f: any) => f.change === 'removed')).toHaveLength(N);
    expect(files.filter((f: any) => f.change === 'added')).toHaveLength(N + 1);
  });

  it('a whole artifact moved (a file and a folder) is one rename, with nothing inside it changed', () => {
    const d = mkJson(repo.dir, 'diff', 'v2', 'v3');
    expect(d.artifacts).toEqual([
      { path: 'clf.bin', change: 'renamed', from: 'model.bin', files: [] },
      { path: 'data/pictures', change: 'renamed', from: 'data/imgs', files: [] },
    ]);
    expect(mk(repo.dir, 'diff', 'v2', 'v3')).toBe('renamed model.bin -> clf.bin\nrenamed data/imgs -> data/pictures\n');
    // Moved and changed at once: still the rename, with the changes inside it.
    const across = mkJson(repo.dir, 'diff', 'v1', 'v3').artifacts.find((a: any) => a.path === 'data/pictures');
    expect(across).toMatchObject({ change: 'renamed', from: 'data/imgs' });
    expect(across.files.find((f: any) => f.path === 'data/pictures/training/i3.bin')).toMatchObject({ change: 'renamed', from: 'data/imgs/train/i3.bin' });
  });

  it('--stat: one line per artifact, then the total', () => {
    expect(mk(repo.dir, 'diff', '--stat', 'v1', 'v2')).toBe(
      `data/imgs  |  ${N + 2} files: 1 added, 1 modified, ${N} renamed  (+11 B, -4 B)\n1 artifact changed: ${N + 2} files: 1 added, 1 modified, ${N} renamed  (+11 B, -4 B)\n`,
    );
    const w = 'data/pictures (renamed from data/imgs)'.length;
    expect(mk(repo.dir, 'diff', '--stat', 'v2', 'v3')).toBe(
      [`${'clf.bin (renamed from model.bin)'.padEnd(w)}  |  no file changed`, 'data/pictures (renamed from data/imgs)  |  no file changed', '2 artifacts changed: no file changed', ''].join('\n'),
    );
  });

  it('paths after -- (or without it) limit the artifacts, and the files inside one', () => {
    expect(mkJson(repo.dir, 'diff', 'v1', 'v2', '--', 'model.bin').artifacts).toEqual([]);
    const inner = mkJson(repo.dir, 'diff', 'v1', 'v2', '--', 'data/imgs/labels.csv').artifacts;
    expect(inner).toEqual([{ path: 'data/imgs', change: 'modified', files: [{ path: 'data/imgs/labels.csv', change: 'modified', oldSize: 4, newSize: 8 }] }]);
    // Relative to where mk runs; after -- a path need not exist in the work tree (data/imgs is data/pictures now).
    expect(mkJson(join(repo.dir, 'data'), 'diff', 'v1', 'v2', '--', 'imgs/new.txt').artifacts[0].files).toEqual([{ path: 'data/imgs/new.txt', change: 'added', newSize: 3 }]);
    // Without --, a path must be one: the error says how to use --.
    expectMkError(mkRun(join(repo.dir, 'data'), ['diff', 'v1', 'v2', 'imgs/new.txt']), "unknown revision or path not in the work tree: 'imgs/new.txt'");
    // A rename is found when the paths name only its new side.
    expect(mkJson(repo.dir, 'diff', 'v2', 'v3', 'data/pictures').artifacts).toEqual([{ path: 'data/pictures', change: 'renamed', from: 'data/imgs', files: [] }]);
    expect(mkJson(repo.dir, 'diff', 'v1', 'v3', '--', 'data/imgs/labels.csv').artifacts).toEqual([
      { path: 'data/pictures', change: 'renamed', from: 'data/imgs', files: [{ path: 'data/pictures/labels.csv', change: 'modified', oldSize: 4, newSize: 8 }] },
    ]);
  });

  it('in a clone without the file lists, reads them from the remote (and only them)', () => {
    const c = tempDir('mk-clone-');
    try {
      git(c.dir, 'clone', '-q', repo.dir, 'w');
      const w = join(c.dir, 'w');
      const d = mkJson(w, 'diff', 'v1', 'v2');
      expect(d.fetched).toBeGreaterThanOrEqual(2); // two folder roots and their lists
      expect(d.artifacts[0].files.filter((f: any) => f.change === 'renamed')).toHaveLength(N);
      expect(mkJson(w, 'diff', 'v1', 'v2').fetched).toBe(0); // now in the cache
      // No data was downloaded: the folder's packs are still absent.
      expect(mkJson(w, 'status').artifacts.every((s: any) => !s.cached)).toBe(true);
      // Without a remote to read from: one line saying so.
      const bare = tempDir('mk-clone-');
      try {
        git(bare.dir, 'clone', '-q', repo.dir, 'w');
        const w2 = join(bare.dir, 'w');
        mk(w2, 'remote', 'remove', 'origin');
        expectMkError(mkRun(w2, ['diff', 'v1', 'v2']), 'is not in the local cache and no remote is configured');
      } finally {
        bare.cleanup();
      }
    } finally {
      c.cleanup();
    }
  });
});
