import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng, snapshotTree } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

/**
 * A user pushes a file and a folder of small files (several packs, one large file inside)
 * and a teammate pulls them into a fresh clone: the same story against a registry and
 * against a local OCI layout, the two kinds of remote mk offers.
 */
describe.each(['registry', 'layout'] as const)('push and pull through a %s remote', (kind) => {
  let registry: RunningRegistry | undefined;
  const dirs: Array<() => void> = [];

  beforeAll(async () => {
    if (kind === 'registry') registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    for (const c of dirs) c();
  });

  /** A fresh clone of `src` (its remote added if the clone lacks it) that has pulled its data. */
  function cloneAndPull(src: string, url: string): string {
    const b = tempDir();
    dirs.push(b.cleanup);
    git(b.dir, 'clone', '-q', src, 'work');
    const work = join(b.dir, 'work');
    if (!mk(work, 'remote', 'list').includes(url)) mk(work, 'remote', 'add', 'origin', url);
    mk(work, 'pull');
    return work;
  }

  function remoteUrl(name: string): string {
    if (registry) return `oci://${registry.host}/team/${name}`;
    const t = tempDir('mk-layout-');
    dirs.push(t.cleanup);
    return join(t.dir, 'store');
  }

  it('pulls byte-identical data into a fresh clone, then only what changed', () => {
    const a = makeRepo();
    dirs.push(a.cleanup);
    const rand = rng(7);
    put(join(a.dir, 'models/clf.bin'), randomBytesFrom(rand, 3_000_000));
    for (let i = 0; i < 400; i++) put(join(a.dir, `data/set/part-${i % 7}/row-${i}.csv`), randomBytesFrom(rand, 2000 + (i % 13) * 100));
    put(join(a.dir, 'data/set/big/blob.bin'), randomBytesFrom(rand, 9 * 1024 * 1024));
    mk(a.dir, 'add', 'models/clf.bin', 'data/set');
    mk(a.dir, 'remote', 'add', 'origin', remoteUrl('pp'));
    git(a.dir, 'add', '-A');
    git(a.dir, 'commit', '-qm', 'data');
    const pushed = JSON.parse(mk(a.dir, 'push', '--json'));
    expect(pushed.copied).toBeGreaterThan(3);
    expect(pushed.modelkits).toHaveLength(1);

    const bare = tempDir('mk-bare-');
    dirs.push(bare.cleanup);
    git(bare.dir, 'clone', '-q', '--bare', a.dir, 'origin.git');
    const b = tempDir('mk-clone-');
    dirs.push(b.cleanup);
    git(b.dir, 'clone', '-q', join(bare.dir, 'origin.git'), 'work');
    const work = join(b.dir, 'work');
    const status = mkRun(work, ['status', '--json']);
    expect(JSON.parse(status.stdout).artifacts.every((s: { cached: boolean }) => !s.cached)).toBe(true);
    mk(work, 'pull');
    expect(snapshotTree(join(work, 'data/set'))).toEqual(snapshotTree(join(a.dir, 'data/set')));
    expect(readFileSync(join(work, 'models/clf.bin')).equals(readFileSync(join(a.dir, 'models/clf.bin')))).toBe(true);

    // A's one-file change travels as one pack (plus the new file list and the ModelKit).
    put(join(a.dir, 'data/set/part-3/row-3.csv'), 'changed\n');
    mk(a.dir, 'add', 'data/set');
    git(a.dir, 'commit', '-qam', 'one row');
    const second = JSON.parse(mk(a.dir, 'push', '--json'));
    const dataBlobs = second.copied - second.modelkits.reduce((n: number, m: { uploaded: number }) => n + m.uploaded, 0);
    expect(dataBlobs).toBeLessThanOrEqual(3); // at most two packs + the directory manifest
    git(work, 'pull', '-q', a.dir, 'HEAD');
    const fetched = JSON.parse(mk(work, 'pull', '--json'));
    expect(fetched.fetch.copied).toBeLessThanOrEqual(3); // the changed pack, its file list and the new root (every blob counts)
    expect(readFileSync(join(work, 'data/set/part-3/row-3.csv'), 'utf8')).toBe('changed\n');
    expect(mk(work, 'status')).not.toContain('modified');
  });

  it('says in one line what is missing when the remote lacks the data', () => {
    const a = makeRepo();
    dirs.push(a.cleanup);
    mkdirSync(join(a.dir, 'd'));
    put(join(a.dir, 'd/x.txt'), 'x');
    mk(a.dir, 'add', 'd');
    mk(a.dir, 'remote', 'add', 'origin', remoteUrl('missing'));
    git(a.dir, 'commit', '-qam', 'd');
    rmSync(join(a.dir, '.git/mk/cache'), { recursive: true, force: true });
    rmSync(join(a.dir, 'd'), { recursive: true, force: true });
    const r = mkRun(a.dir, ['pull']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.split('\n')[0]).toMatch(/^mk: .*d/);
  });

  it('a large cache blob is sent as is while untouched, and never once its bytes changed in place', () => {
    const a = makeRepo();
    dirs.push(a.cleanup);
    const rand = rng(11);
    put(join(a.dir, 'w.bin'), randomBytesFrom(rand, 9 * 1024 * 1024));
    mk(a.dir, 'add', 'w.bin');
    const url = remoteUrl('trusted');
    mk(a.dir, 'remote', 'add', 'origin', url);
    git(a.dir, 'commit', '-qm', 'w');
    mk(a.dir, 'push', '--no-modelkit');
    // A fresh clone pulls exactly those bytes back.
    const work = cloneAndPull(a.dir, url);
    expect(readFileSync(join(work, 'w.bin')).equals(readFileSync(join(a.dir, 'w.bin')))).toBe(true);
    // Bit rot in the cache of a third version: the push refuses to send it.
    put(join(a.dir, 'w.bin'), randomBytesFrom(rand, 9 * 1024 * 1024));
    mk(a.dir, 'add', 'w.bin');
    git(a.dir, 'commit', '-qm', 'w2');
    const blob = join(a.dir, '.git/mk/cache/blobs/sha256', readFileSync(join(a.dir, 'w.bin.mk.yaml'), 'utf8').match(/sha256:([0-9a-f]{64})/)![1]!);
    const bytes = readFileSync(blob);
    bytes[12345] ^= 0xff;
    chmodSync(blob, 0o644);
    writeFileSync(blob, bytes);
    const r = mkRun(a.dir, ['push', '--no-modelkit']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/does not match|digest/i);
  });

  it('a push trusts what it knows the remote holds, until the remote lost some of it', async () => {
    const a = makeRepo();
    dirs.push(a.cleanup);
    const rand = rng(12);
    for (let i = 0; i < 40; i++) put(join(a.dir, `ds/f${i}.bin`), randomBytesFrom(rand, 3000));
    mk(a.dir, 'add', 'ds');
    const url = remoteUrl('known');
    mk(a.dir, 'remote', 'add', 'origin', url);
    git(a.dir, 'commit', '-qm', 'ds');
    mk(a.dir, 'push', '--no-modelkit');
    expect(JSON.parse(mk(a.dir, 'push', '--no-modelkit', '--json'))).toMatchObject({ copied: 0 });
    // The remote loses everything of that version (a garbage collection, a deleted repository).
    const root = readFileSync(join(a.dir, 'ds.mk.yaml'), 'utf8').match(/sha256:([0-9a-f]{64})/)![1]!;
    const store = registry ? undefined : join(url, 'blobs', 'sha256');
    const names = store ? readdirSync(store) : [];
    if (store) for (const n of names) rmSync(join(store, n), { force: true });
    else {
      // Registry: delete the blobs through the API (the test registry allows deletes).
      const cache = join(a.dir, '.git/mk/cache/blobs/sha256');
      for (const n of readdirSync(cache)) await fetch(`${registry!.url}/v2/team/known/blobs/sha256:${n}`, { method: 'DELETE' });
      expect((await fetch(`${registry!.url}/v2/team/known/blobs/sha256:${root}`, { method: 'HEAD' })).status).toBe(404);
    }
    // The next push finds the directory root gone, stops trusting its record, and sends it all again.
    const r = JSON.parse(mk(a.dir, 'push', '--no-modelkit', '--json'));
    expect(r.copied).toBeGreaterThan(1);
    expect(r.skipped).toBe(0);
    // ...so a fresh clone gets every byte.
    const work = cloneAndPull(a.dir, url);
    expect(snapshotTree(join(work, 'ds'))).toEqual(snapshotTree(join(a.dir, 'ds')));
  });
});
