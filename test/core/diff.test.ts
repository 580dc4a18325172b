/**
 * A reviewer wants to know which data files a commit changed, and what is changed but not
 * yet committed: `mk diff` lists exactly those files, with their sizes, and nothing else.
 */
import { chmodSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng } from '../support/files.js';
import { git, makeRepo, mk, mkJson } from '../support/repo.js';

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
