/**
 * Switching revisions of a large folder that a stamp vouches for touches only the files that
 * differ (the rest keep their inodes), gives the exact tree of the target, and never trusts
 * a stamp over a real change: an edit falls back to the full scan (and its unsaved-change
 * guard), and a file written just before the stamp is re-hashed on every check.
 */
import { lstatSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSignatureAsync, Stamps } from '../../../src/hashing/stamps.js';
import { asRecord, put, randomBytesFrom, rng, sha256, snapshotTree, tempLeftovers } from '../../support/files.js';
import { expectMkError, git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

describe('a stamped folder switches by its differences', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  const N = 600;
  const name = (i: number) => `ds/s${i % 6}/f${String(i).padStart(4, '0')}.bin`;
  let v1: ReturnType<typeof asRecord>;
  let v2: ReturnType<typeof asRecord>;

  beforeAll(() => {
    repo = makeRepo();
    const rand = rng(7);
    for (let i = 0; i < N; i++) put(p(name(i)), randomBytesFrom(rand, 500 + (i % 300)));
    const old = Date.now() / 1000 - 3600;
    for (let i = 0; i < N; i++) utimesSync(p(name(i)), old, old);
    mk(repo.dir, 'add', 'ds');
    git(repo.dir, 'commit', '-qm', 'v1');
    v1 = asRecord(snapshotTree(p('ds')));
    put(p(name(17)), randomBytesFrom(rand, 517)); // same size, other bytes
    put(p('ds/s9/new.bin'), 'a new file in a new folder');
    mk(repo.dir, 'add', 'ds');
    git(repo.dir, 'commit', '-qm', 'v2');
    v2 = asRecord(snapshotTree(p('ds')));
  });
  afterAll(() => repo.cleanup());

  it('back and forth: exact trees, and the files that did not change keep their inodes', () => {
    mk(repo.dir, 'status'); // stamps the folder (as add did)
    const ino = lstatSync(p(name(300))).ino;
    mk(repo.dir, 'checkout', 'HEAD~1', '--', 'ds');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(v1);
    expect(lstatSync(p(name(300))).ino).toBe(ino);
    mk(repo.dir, 'checkout', 'HEAD', '--', 'ds');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(v2);
    expect(lstatSync(p(name(300))).ino).toBe(ino);
    expect(tempLeftovers(p('ds'))).toEqual([]);
    expect(mk(repo.dir, 'status')).toMatch(/^clean\s+ds/m);
  });

  it('an edit made after the stamp is seen: the switch stops on it and changes nothing', () => {
    mk(repo.dir, 'status');
    put(p(name(17)), 'my unsaved edit');
    const before = asRecord(snapshotTree(p('ds')));
    expectMkError(mkRun(repo.dir, ['checkout', 'HEAD~1', '--', 'ds']), /unsaved/i);
    expect(asRecord(snapshotTree(p('ds')))).toEqual(before);
    put(p(name(17)), Buffer.alloc(0));
    mk(repo.dir, 'checkout', '--force', 'HEAD', '--', 'ds');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(v2);
  });
});

describe('stamps', () => {
  it('a file changed just before the stamp is re-hashed by every check: same stat data, other bytes, not clean', async () => {
    const t = tempDir();
    try {
      const dir = join(t.dir, 'ds');
      put(join(dir, 'a.bin'), 'one');
      put(join(dir, 'b.bin'), 'two');
      // "Just before the stamp" without racing the clock on a loaded machine: dated a little ahead,
      // both files are inside the racy window whenever the signature is taken.
      const ahead = new Date(Date.now() + 60_000);
      for (const f of ['a.bin', 'b.bin']) utimesSync(join(dir, f), ahead, ahead);
      const sig = await findSignatureAsync(dir);
      expect(sig?.recent).toEqual(expect.arrayContaining(['a.bin', 'b.bin']));
      const digests: Record<string, string> = { 'a.bin': 'sha256:' + sha256('one'), 'b.bin': 'sha256:' + sha256('two') };
      const stamps = new Stamps(t.dir);
      stamps.record('ds', 'sha256:' + 'e'.repeat(64), sig!, undefined, (rel) => digests[rel]);
      expect(stamps.isClean('ds', 'sha256:' + 'e'.repeat(64), sig!.sig, dir)).toBe(true);
      // A write in the same timestamp tick leaves stat data alone: simulated by checking the old signature.
      writeFileSync(join(dir, 'a.bin'), 'uno');
      expect(stamps.isClean('ds', 'sha256:' + 'e'.repeat(64), sig!.sig, dir)).toBe(false);
      // Without a way to learn a recent file's digest, nothing is recorded.
      const other = new Stamps(join(t.dir, 'other'));
      other.record('ds', 'sha256:' + 'e'.repeat(64), sig!, undefined, () => undefined);
      expect(other.digestOf('ds')).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });
});
