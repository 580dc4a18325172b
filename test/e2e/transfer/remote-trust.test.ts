/**
 * A teammate's pointer can be damaged (a hand edit, a bad merge, an attacker's commit), and a
 * shared layout remote can hold a damaged blob. Neither may cost data: a pointer whose size
 * contradicts its digest is refused by push, checkout and the ModelKit builder with one line
 * naming the pointer, and nothing is published; reading a remote (verify, pull) reports a bad
 * blob there and never deletes anything from it.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corruptBlobs, put, randomBytesFrom, rng, sha256File } from '../../support/files.js';
import { expectMkError, git, makeRepo, mk, mkJson, mkRun, tempDir } from '../../support/repo.js';

const dirs: Array<() => void> = [];
afterAll(() => dirs.forEach((c) => c()));

function storeDir(): string {
  const t = tempDir('mk-layout-');
  dirs.push(t.cleanup);
  return join(t.dir, 'store');
}

/** A repo whose model.bin (its first version) is pushed to `url`; then a commit whose pointer lies about the size. */
function damagedHistory(url: string): { dir: string; good: string; bad: string; digest: string } {
  const repo = makeRepo();
  dirs.push(repo.cleanup);
  put(join(repo.dir, 'model.bin'), randomBytesFrom(rng(3), 100_000));
  mk(repo.dir, 'add', 'model.bin');
  git(repo.dir, 'commit', '-qm', 'one');
  mk(repo.dir, 'remote', 'add', 'origin', url);
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-qm', 'remote');
  mk(repo.dir, 'push');
  const good = git(repo.dir, 'rev-parse', 'HEAD').trim();
  const ptr = join(repo.dir, 'model.bin.mk.yaml');
  const text = readFileSync(ptr, 'utf8');
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(text)![1]!;
  writeFileSync(ptr, text.replace(/^size: \d+$/m, 'size: 99999'));
  git(repo.dir, 'commit', '-qam', 'damaged pointer');
  return { dir: repo.dir, good, bad: git(repo.dir, 'rev-parse', 'HEAD').trim(), digest };
}

describe('a pointer whose size contradicts its digest', () => {
  it('is refused by push (nothing published), verify, checkout and modelkit build; the good blob stays everywhere', () => {
    const store = storeDir();
    const h = damagedHistory(store);
    const remoteBlob = join(store, 'blobs', 'sha256', h.digest.slice(7));
    const cacheBlob = join(h.dir, '.git', 'mk', 'cache', 'blobs', 'sha256', h.digest.slice(7));
    const tagsBefore = mkJson(h.dir, 'status').artifacts.length; // status still answers
    expect(tagsBefore).toBe(1);

    expectMkError(mkRun(h.dir, ['push']), /model\.bin\.mk\.yaml: recorded as 99999 bytes, but the content with this digest is 100000 bytes/);
    const index = JSON.parse(readFileSync(join(store, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: any) => m.annotations['org.opencontainers.image.ref.name'])).not.toContain(h.bad);

    expectMkError(mkRun(h.dir, ['verify', 'HEAD']), /model\.bin\.mk\.yaml.*recorded as 99999 bytes/);
    expectMkError(mkRun(h.dir, ['modelkit', 'build']), /model\.bin\.mk\.yaml.*recorded as 99999 bytes/);
    rmSync(join(h.dir, 'model.bin'));
    expectMkError(mkRun(h.dir, ['checkout']), /model\.bin\.mk\.yaml.*recorded as 99999 bytes/);

    for (const b of [remoteBlob, cacheBlob]) expect(sha256File(b), b).toBe(h.digest.slice(7));
    expect(corruptBlobs(store)).toEqual([]);
    // The good revision still verifies and restores.
    expect(mkJson(h.dir, 'verify', h.good).ok).toBe(true);
    mk(h.dir, 'checkout', h.good);
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.digest.slice(7));
  });

  it('a clone that lacks the blob is told the same by push: the remote holds that digest at another size', () => {
    const store = storeDir();
    const h = damagedHistory(store);
    const b = tempDir();
    dirs.push(b.cleanup);
    git(b.dir, 'clone', '-q', h.dir, 'work');
    const work = join(b.dir, 'work');
    expectMkError(mkRun(work, ['push']), /model\.bin\.mk\.yaml: recorded as 99999 bytes, but the content with this digest is 100000 bytes/);
    expect(sha256File(join(store, 'blobs', 'sha256', h.digest.slice(7)))).toBe(h.digest.slice(7));
  });
});

describe('reading a remote never changes it', () => {
  it('a damaged blob on a shared layout is reported by verify and pull, and stays for its owner to repair', () => {
    const store = storeDir();
    const repo = makeRepo();
    dirs.push(repo.cleanup);
    put(join(repo.dir, 'model.bin'), randomBytesFrom(rng(5), 200_000));
    mk(repo.dir, 'add', 'model.bin');
    mk(repo.dir, 'remote', 'add', 'origin', store);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'one');
    mk(repo.dir, 'push');
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(readFileSync(join(repo.dir, 'model.bin.mk.yaml'), 'utf8'))![1]!;
    const blob = join(store, 'blobs', 'sha256', digest.slice(7));
    const bytes = readFileSync(blob);
    bytes[1000] ^= 0xff;
    chmodSync(blob, 0o644);
    writeFileSync(blob, bytes);

    const v = mkRun(repo.dir, ['verify', 'HEAD']);
    expect(v.status).toBe(1);
    expect(v.stdout).toMatch(/BAD sha256:.*does not match its digest/);
    expect(existsSync(blob)).toBe(true);

    const b = tempDir();
    dirs.push(b.cleanup);
    git(b.dir, 'clone', '-q', repo.dir, 'work');
    const work = join(b.dir, 'work');
    expectMkError(mkRun(work, ['pull']), /does not match its digest/);
    expect(existsSync(blob)).toBe(true);
    expect(existsSync(join(work, 'model.bin'))).toBe(false);
    // The owner repairs it: with the damaged blob gone, a push that asks the remote again sends it.
    rmSync(blob);
    mk(repo.dir, 'push', '--check-remote');
    expect(sha256File(blob)).toBe(digest.slice(7));
    mk(work, 'pull');
    expect(sha256File(join(work, 'model.bin'))).toBe(digest.slice(7));
  });
});

describe('a layout remote that points at the wrong folder', () => {
  it('a non-empty folder that is not an OCI layout is refused before anything is written to it', () => {
    const repo = makeRepo();
    dirs.push(repo.cleanup);
    put(join(repo.dir, 'model.bin'), randomBytesFrom(rng(8), 10_000));
    mk(repo.dir, 'add', 'model.bin');
    git(repo.dir, 'commit', '-qm', 'one');
    const t = tempDir('mk-not-a-layout-');
    dirs.push(t.cleanup);
    put(join(t.dir, 'home', 'notes.txt'), 'my notes\n');
    mk(repo.dir, 'remote', 'add', 'origin', join(t.dir, 'home'));
    for (const args of [['push'], ['fetch'], ['status', '--remote'], ['pull']]) {
      expectMkError(mkRun(repo.dir, args), /is a folder that is not an OCI image layout \(no oci-layout file\) and is not empty; nothing was written to it/);
      expect(readdirSync(join(t.dir, 'home')), args.join(' ')).toEqual(['notes.txt']);
    }
    put(join(t.dir, 'fake', 'oci-layout'), 'not json');
    mk(repo.dir, 'remote', 'add', 'fake', join(t.dir, 'fake'));
    expectMkError(mkRun(repo.dir, ['push', '-r', 'fake']), /its oci-layout file is not an OCI image layout version 1/);
    expect(readdirSync(join(t.dir, 'fake'))).toEqual(['oci-layout']);
    // An empty folder, or one that does not exist yet, becomes a layout.
    mk(repo.dir, 'remote', 'add', 'fresh', join(t.dir, 'fresh'));
    mk(repo.dir, 'push', '-r', 'fresh');
    expect(readdirSync(join(t.dir, 'fresh')).sort()).toEqual(['blobs', 'index.json', 'ingest', 'oci-layout']);
  });
});
