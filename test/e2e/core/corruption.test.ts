/**
 * A disk error (or a careless hand) changes the bytes of a cache blob without changing its
 * size. `mk checkout` notices before anything is placed: the work tree keeps what it had,
 * the bad copy leaves the cache, and the user is told in one line.
 */
import { chmodSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadDirManifest } from '../../../src/worktree/load.js';
import { parsePointer, type Pointer } from '../../../src/formats/pointer.js';
import { OciLayoutStore } from '../../../src/stores/oci-layout/layout-store.js';
import { asRecord, corruptBlobs, exists, put, randomBytesFrom, rng, sha256File, snapshotTree, tempLeftovers, type FileState } from '../../support/files.js';
import { copyRepo, expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../../support/repo.js';

/** Overwrites bytes of a blob in place (same size, same inode), as bit rot would. */
function rot(path: string, at: number, bytes: Buffer): void {
  const buf = readFileSync(path);
  expect(at + bytes.length).toBeLessThanOrEqual(buf.length);
  bytes.copy(buf, at);
  chmodSync(path, 0o644);
  writeFileSync(path, buf);
  chmodSync(path, 0o444);
}

describe('a cache blob whose bytes changed is caught at checkout and never placed', () => {
  let repo: { dir: string; cleanup: () => void };
  let store: OciLayoutStore;
  let modelV2: string;
  let dsV1: Map<string, FileState>;
  let dsV2: Map<string, FileState>;
  const p = (rel: string) => join(repo.dir, rel);
  const pointerAt = (rev: string, path: string): Pointer => parsePointer(git(repo.dir, 'show', `${rev}:${path}.mk.yaml`), path);

  let base: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = base = makeRepo();
    const rand = rng(99);
    put(p('model.bin'), randomBytesFrom(rand, 200_000));
    for (let i = 0; i < 30; i++) put(p(`ds/r${String(i).padStart(2, '0')}.txt`), `version one of row ${i}\n`.repeat(20));
    dsV1 = snapshotTree(p('ds'));
    mk(repo.dir, 'add', 'model.bin', 'ds');
    git(repo.dir, 'commit', '-qm', 'v1');
    put(p('model.bin'), randomBytesFrom(rand, 200_000));
    for (let i = 0; i < 30; i++) put(p(`ds/r${String(i).padStart(2, '0')}.txt`), `version TWO of row ${i}\n`.repeat(20));
    modelV2 = sha256File(p('model.bin'));
    dsV2 = snapshotTree(p('ds'));
    mk(repo.dir, 'add', 'model.bin', 'ds');
    git(repo.dir, 'commit', '-qm', 'v2');
  });
  afterAll(() => base.cleanup());
  // Each test damages its own copy of the repository.
  beforeEach(() => {
    repo = copyRepo(base.dir);
    store = new OciLayoutStore(p('.git/mk/cache'));
  });
  afterEach(() => repo.cleanup());

  it('a single file: the old version stays in place, the bad blob leaves the cache', () => {
    const v1 = pointerAt('HEAD~1', 'model.bin');
    rot(store.blobPath(v1), 1000, Buffer.from('bit rot!'));
    expect(corruptBlobs(store.root)).toEqual([v1.digest.slice(7)]);

    expectMkError(mkRun(repo.dir, ['checkout', 'HEAD~1', '--', 'model.bin']), /^mk: cache blob sha256:[0-9a-f]{64}: content does not match its digest/);
    expect(sha256File(p('model.bin'))).toBe(modelV2);
    expect(tempLeftovers(repo.dir)).toEqual([]);
    expect(corruptBlobs(store.root)).toEqual([]); // quarantined
    expect(exists(store.blobPath(v1))).toBe(false);
    // --force does not make bad bytes acceptable.
    expect(mkRun(repo.dir, ['checkout', '--force', 'HEAD~1', '--', 'model.bin']).status).not.toBe(0);
    expect(sha256File(p('model.bin'))).toBe(modelV2);
  });

  it('a single file that is absent stays absent', () => {
    const v2 = pointerAt('HEAD', 'model.bin');
    rot(store.blobPath(v2), 0, Buffer.from([0xff, 0xfe, 0xfd]));
    rmSync(p('model.bin'));
    expectMkError(mkRun(repo.dir, ['checkout']), /content does not match its digest/);
    expect(exists(p('model.bin'))).toBe(false);
    expect(tempLeftovers(repo.dir)).toEqual([]);
    // Now mk knows the bytes are gone, and says so.
    expect(mkJson(repo.dir, 'status', 'model.bin').artifacts[0]).toMatchObject({ workspace: 'deleted', cached: false });
    expectMkError(mkRun(repo.dir, ['checkout']), /not in the local cache for model\.bin/);
  });

  it('with --link hardlink the blob is verified before it is linked', () => {
    const v2 = pointerAt('HEAD', 'model.bin');
    rot(store.blobPath(v2), 5, Buffer.from('xx'));
    rmSync(p('model.bin'));
    expectMkError(mkRun(repo.dir, ['checkout', '--link', 'hardlink']), /content does not match its digest/);
    expect(exists(p('model.bin'))).toBe(false);
  });

  it('a pack: the damaged file is never written; every file present is a true version', async () => {
    const m1 = await loadDirManifest(store, pointerAt('HEAD~1', 'ds'));
    const victim = m1.files.find((f) => f.path === 'r17.txt')!;
    const packPath = store.blobPath(m1.layers[victim.layer]!);
    const pack = readFileSync(packPath);
    const at = pack.indexOf('version one of row 17\n');
    expect(at).toBeGreaterThan(0);
    rot(packPath, at + 8, Buffer.from('ONE')); // same length: 'one' -> 'ONE'

    // ds holds v2; going back to v1 must not place the damaged r17.
    expectMkError(mkRun(repo.dir, ['checkout', 'HEAD~1', '--', 'ds']), /content does not match its digest/);
    const now = snapshotTree(p('ds'));
    expect(now.get('r17.txt')).toEqual(dsV2.get('r17.txt'));
    for (const [path, st] of now) expect([dsV1.get(path)?.sha, dsV2.get(path)?.sha], path).toContain(st.sha);
    expect(now.size).toBe(30);
    expect(tempLeftovers(repo.dir)).toEqual([]);
    expect(corruptBlobs(store.root)).toEqual([]);

    // From an empty folder: the damaged file stays absent.
    rmSync(p('ds'), { recursive: true });
    mk(repo.dir, 'checkout', '--force', 'HEAD', '--', 'ds'); // v2 is intact
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsV2));
  });

  it('a pack with a damaged tar header fails cleanly too', async () => {
    const m2 = await loadDirManifest(store, pointerAt('HEAD', 'ds'));
    const packPath = store.blobPath(m2.layers[0]!);
    const before = readFileSync(packPath);
    const nameAt = before.indexOf('ds/r05.txt');
    expect(nameAt).toBeGreaterThanOrEqual(0);
    rot(packPath, nameAt + 3, Buffer.from('X'));
    rmSync(p('ds'), { recursive: true });
    expectMkError(mkRun(repo.dir, ['checkout']));
    const now = snapshotTree(p('ds'));
    for (const [path, st] of now) expect(st.sha, path).toBe(dsV2.get(path)!.sha);
    expect(now.has('r05.txt')).toBe(false);
    expect(tempLeftovers(repo.dir)).toEqual([]);
  });

  it('a damaged directory manifest is reported, not trusted', () => {
    const ptr = pointerAt('HEAD', 'ds');
    rot(store.blobPath(ptr), 20, Buffer.from('Z'));
    rmSync(p('ds'), { recursive: true });
    expectMkError(mkRun(repo.dir, ['checkout']), /ds/);
    expect(exists(p('ds'))).toBe(false);
    expect(corruptBlobs(store.root)).toEqual([]);
  });
});

describe('a large blob trusted by its stat data is re-hashed once anything touched it', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  beforeAll(() => (repo = makeRepo()));
  afterAll(() => repo.cleanup());

  it('restores by a plain copy while untouched, and catches bit rot written in place', () => {
    const rand = rng(5);
    put(p('weights.bin'), randomBytesFrom(rand, 9 * 1024 * 1024)); // above the 8 MiB raw threshold
    const want = sha256File(p('weights.bin'));
    mk(repo.dir, 'add', 'weights.bin');
    git(repo.dir, 'commit', '-qm', 'w');
    const store = new OciLayoutStore(p('.git/mk/cache'));
    const ptr = parsePointer(readFileSync(p('weights.bin.mk.yaml'), 'utf8'), 'weights.bin');
    // The blob mk wrote is remembered as verified, with its stat data.
    const trusted = JSON.parse(readFileSync(p('.git/mk/cache/verified.json'), 'utf8'));
    expect(Object.keys(trusted)).toEqual([ptr.digest.slice(7)]);
    rmSync(p('weights.bin'));
    mk(repo.dir, 'checkout');
    expect(sha256File(p('weights.bin'))).toBe(want);
    // Same size, same inode, other bytes: the stat data changes, so the blob is hashed and refused.
    rot(store.blobPath(ptr), 4096, Buffer.from('rotten'));
    rmSync(p('weights.bin'));
    expectMkError(mkRun(repo.dir, ['checkout']), /content does not match its digest/);
    expect(exists(p('weights.bin'))).toBe(false);
    expect(exists(store.blobPath(ptr))).toBe(false);
    expect(tempLeftovers(repo.dir)).toEqual([]);
  });
});

describe('a large settled file is copied in-kernel while it is hashed', () => {
  it('the cache blob is exactly the file, and the stat data that vouches for it is checked', async () => {
    const repo = makeRepo();
    try {
      const p = (rel: string) => join(repo.dir, rel);
      put(p('big.bin'), randomBytesFrom(rng(8), 12 * 1024 * 1024 + 5));
      const old = Date.now() / 1000 - 60;
      utimesSync(p('big.bin'), old, old); // its ctime, set now, is waited out by mk itself (at most ~100 ms)
      const want = sha256File(p('big.bin'));
      mk(repo.dir, 'add', 'big.bin');
      const ptr = parsePointer(readFileSync(p('big.bin.mk.yaml'), 'utf8'), 'big.bin');
      expect(ptr.digest).toBe('sha256:' + want);
      expect(corruptBlobs(p('.git/mk/cache'))).toEqual([]);
      expect(sha256File(new OciLayoutStore(p('.git/mk/cache')).blobPath(ptr))).toBe(want);
      expect(tempLeftovers(p('.git/mk/cache'))).toEqual([]);
    } finally {
      repo.cleanup();
    }
  });
});
