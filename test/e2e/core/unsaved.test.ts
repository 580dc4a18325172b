/**
 * A user edited tracked data and has not saved it with `mk add`. Checking out another
 * version must not silently destroy that work: mk refuses, names the files, and only
 * `--force` overwrites them. Data that *is* saved (committed, added, or kept in the cache)
 * is replaced without fuss, also after a plain `git switch`.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asRecord, put, randomBytesFrom, rng, sha256File, snapshotTree, type FileState } from '../../support/files.js';
import { copyRepo, expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../../support/repo.js';

describe('unsaved changes are never overwritten without --force', () => {
  let base: { dir: string; cleanup: () => void };
  let repo: { dir: string; cleanup: () => void };
  let dsV1: Map<string, FileState>;
  let dsV2: Map<string, FileState>;
  let modelV1: string;
  let modelV2: string;
  const p = (rel: string) => join(repo.dir, rel);

  beforeAll(() => {
    repo = base = makeRepo();
    const rand = rng(21);
    for (let i = 0; i < 50; i++) put(p(`ds/${String(i).padStart(2, '0')}.txt`), `v1 ${i}\n`);
    put(p('model.bin'), randomBytesFrom(rand, 40_000));
    dsV1 = snapshotTree(p('ds'));
    modelV1 = sha256File(p('model.bin'));
    mk(repo.dir, 'add', 'ds', 'model.bin');
    git(repo.dir, 'commit', '-qm', 'v1');
    git(repo.dir, 'branch', 'old');
    for (let i = 0; i < 50; i += 7) put(p(`ds/${String(i).padStart(2, '0')}.txt`), `v2 ${i}\n`);
    put(p('model.bin'), randomBytesFrom(rand, 40_000));
    dsV2 = snapshotTree(p('ds'));
    modelV2 = sha256File(p('model.bin'));
    mk(repo.dir, 'add', 'ds', 'model.bin');
    git(repo.dir, 'commit', '-qm', 'v2');
  });
  afterAll(() => base.cleanup());
  beforeEach(() => {
    repo = copyRepo(base.dir);
  });
  afterEach(() => repo.cleanup());

  it('an edited single file: refused with its name, kept, and the pointers untouched; --force overwrites', () => {
    put(p('model.bin'), 'my unsaved experiment');
    const pointers = readFileSync(p('model.bin.mk.yaml'), 'utf8');
    for (const args of [['checkout', 'HEAD~1'], ['checkout'], ['checkout', 'HEAD~1', '--', 'model.bin']]) {
      const r = mkRun(repo.dir, args);
      expectMkError(r, /^mk: unsaved changes would be overwritten: model\.bin$/);
      expect(r.stderr).toMatch(/^hint: .*mk add.*--force/m);
      expect(readFileSync(p('model.bin'), 'utf8')).toBe('my unsaved experiment');
      expect(readFileSync(p('model.bin.mk.yaml'), 'utf8')).toBe(pointers);
      expect(git(repo.dir, 'status', '--porcelain')).toBe('');
    }
    // Nothing else moved either: ds is still v2.
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsV2));

    mk(repo.dir, 'checkout', '--force', 'HEAD~1');
    expect(sha256File(p('model.bin'))).toBe(modelV1);
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsV1));
  });

  it('inside a directory: an edited file and a new file are both protected', () => {
    put(p('ds/07.txt'), 'hand-fixed label\n');
    put(p('ds/new-notes.txt'), 'my notes\n');
    const r = mkRun(repo.dir, ['checkout', 'HEAD~1']);
    expectMkError(r, /^mk: unsaved changes would be overwritten: ds\/07\.txt, ds\/new-notes\.txt$/);
    expect(readFileSync(p('ds/07.txt'), 'utf8')).toBe('hand-fixed label\n');
    expect(readFileSync(p('ds/new-notes.txt'), 'utf8')).toBe('my notes\n');
    expect(sha256File(p('model.bin'))).toBe(modelV2); // the whole checkout stopped before writing

    // Restoring the same revision's data (no rev) protects them as well.
    expectMkError(mkRun(repo.dir, ['checkout']), /unsaved changes would be overwritten: ds\/07\.txt, ds\/new-notes\.txt/);

    mk(repo.dir, 'checkout', '-f', 'HEAD~1');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsV1));
  });

  it('a deleted file is not an unsaved change: it is simply restored', () => {
    unlinkSync(p('ds/14.txt'));
    mk(repo.dir, 'checkout', 'HEAD~1');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsV1));
  });

  it('changes saved with mk add (not committed) may be replaced: their bytes are in the cache', () => {
    put(p('model.bin'), 'saved experiment');
    put(p('ds/00.txt'), 'saved edit\n');
    mk(repo.dir, 'add', 'model.bin', 'ds');
    mk(repo.dir, 'checkout', 'HEAD~1');
    expect(sha256File(p('model.bin'))).toBe(modelV1);
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsV1));
  });

  it("after a plain 'git switch', mk checkout brings that branch's data without --force", () => {
    // No hooks: git changes the pointers, the data still is v2's (saved in commit v2, small files in packs):
    // stale, not the user's change (the one rule, src/worktree/judge.ts).
    git(repo.dir, 'switch', '-q', 'old');
    expect(mkJson(repo.dir, 'status').artifacts.map((s: any) => s.workspace)).toEqual(['stale', 'stale']);
    mk(repo.dir, 'checkout');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsV1));
    expect(sha256File(p('model.bin'))).toBe(modelV1);

    // But an edit made on top is still protected.
    git(repo.dir, 'switch', '-q', 'main');
    put(p('ds/21.txt'), 'unsaved edit\n');
    expectMkError(mkRun(repo.dir, ['checkout']), /^mk: unsaved changes would be overwritten: ds\/21\.txt$/);
    expect(readFileSync(p('ds/21.txt'), 'utf8')).toBe('unsaved edit\n');
  });
});
