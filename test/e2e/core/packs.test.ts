/**
 * Small files of a tracked folder are stored as deterministic tar packs. A platform engineer
 * checks what that promises: any tar reader sees plain entries (names, modes, uid/gid 0,
 * mtime 0); the same folder gives the same digests in any clone, whatever the file times,
 * permissions or creation order; and changing one small file in a 3,000-file folder changes
 * one pack (rarely two), so only that pack is stored (and later uploaded) again.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirManifest } from '../../../src/formats/dir-manifest.js';
import { loadDirManifest } from '../../../src/worktree/load.js';
import { parsePointer } from '../../../src/formats/pointer.js';
import { OciLayoutStore } from '../../../src/stores/oci-layout/layout-store.js';
import { asRecord, put, randomBytesFrom, rng, sha256, snapshotTree } from '../../support/files.js';
import { git, makeRepo, mk, mkJson, tempDir } from '../../support/repo.js';

const SMALL_PACKS = '\nstorage:\n  pack_target: 64KiB\n';

/** The pointer and directory manifest of `path` in the work tree, read with mk's own library. */
async function manifestOf(repoDir: string, path: string): Promise<{ digest: string; manifest: DirManifest; store: OciLayoutStore }> {
  const ptr = parsePointer(readFileSync(join(repoDir, `${path}.mk.yaml`), 'utf8'), path);
  const store = new OciLayoutStore(join(repoDir, '.git/mk/cache'));
  return { digest: ptr.digest, manifest: await loadDirManifest(store, ptr), store };
}

interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  uname: string;
  gname: string;
  size: number;
  sha?: string;
}

const PY_LIST = `
import tarfile, json, sys, hashlib
out = []
with tarfile.open(sys.argv[1], 'r:') as t:
    for m in t:
        e = dict(name=m.name, type='dir' if m.isdir() else 'file' if m.isfile() else repr(m.type), mode=m.mode, uid=m.uid, gid=m.gid,
                 mtime=m.mtime, uname=m.uname, gname=m.gname, size=m.size)
        if m.isfile():
            e['sha'] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
        out.append(e)
print(json.dumps(out))
`;

/** Lists a tar with Python's tarfile (an implementation independent of mk's). */
function pyTarList(path: string): TarEntry[] {
  return JSON.parse(execFileSync('python3', ['-c', PY_LIST, path], { encoding: 'utf8' })) as TarEntry[];
}

/** A folder with the awkward cases: nesting, empty and executable files, spaces, non-ASCII and long names. */
function writeAwkwardFolder(root: string, order: 'forward' | 'backward', modeFor: (exec: boolean) => number): void {
  const rand = rng(31);
  const files: Array<[string, Buffer, boolean]> = [];
  for (let i = 0; i < 120; i++) files.push([`part ${i % 4}/sub-${i % 3}/r${i}.csv`, randomBytesFrom(rand, 500 + i * 37), false]);
  files.push(['données/été 1.csv', Buffer.from('a,b\n'), false]);
  files.push(['日本/データ.txt', Buffer.from('こんにちは\n'), false]);
  files.push(['empty.txt', Buffer.alloc(0), false]);
  files.push(['bin/run.sh', Buffer.from('#!/bin/sh\necho hi\n'), true]);
  files.push([`${'long-folder-name-'.repeat(5)}/${'very-long-file-name-'.repeat(6)}.bin`, randomBytesFrom(rand, 3000), false]);
  if (order === 'backward') files.reverse();
  for (const [name, data, exec] of files) put(join(root, name), data, modeFor(exec));
}

describe('packs are plain, deterministic tars', () => {
  let repo: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = makeRepo();
    appendFileSync(join(repo.dir, '.mk/config.yaml'), SMALL_PACKS);
    writeAwkwardFolder(join(repo.dir, 'ds'), 'forward', (x) => (x ? 0o755 : 0o644));
    mk(repo.dir, 'add', 'ds');
  });
  afterAll(() => repo.cleanup());

  it('python tarfile reads every pack: names, modes, uid/gid 0, mtime 0, bytes as the manifest says', async () => {
    const { manifest, store } = await manifestOf(repo.dir, 'ds');
    const tars = manifest.layers.map((l, i) => ({ l, i })).filter(({ l }) => l.format === 'tar');
    expect(tars.length).toBeGreaterThan(3); // small packs, so several
    const seenFiles: string[] = [];
    for (const { l, i } of tars) {
      const entries = pyTarList(store.blobPath(l));
      const want = manifest.files.filter((f) => f.layer === i);
      const files = entries.filter((e) => e.type === 'file');
      expect(files.map((e) => e.name)).toEqual(want.map((f) => `ds/${f.path}`));
      for (const [k, e] of files.entries()) {
        const f = want[k]!;
        expect(e.mode, e.name).toBe(f.mode);
        expect(e.size, e.name).toBe(f.size);
        expect('sha256:' + e.sha, e.name).toBe(f.digest);
      }
      for (const e of entries) {
        expect(['file', 'dir'], e.name).toContain(e.type);
        expect({ uid: e.uid, gid: e.gid, mtime: e.mtime, uname: e.uname, gname: e.gname }, e.name).toEqual({ uid: 0, gid: 0, mtime: 0, uname: '', gname: '' });
        if (e.type === 'dir') expect(e.mode, e.name).toBe(0o755);
      }
      // Every parent folder is listed before what it holds (kit unpack needs this).
      const dirs = new Set<string>();
      for (const e of entries) {
        const parent = e.name.split('/').slice(0, -1).join('/');
        if (parent) expect(dirs.has(parent), `${e.name} before its folder`).toBe(true);
        if (e.type === 'dir') dirs.add(e.name);
      }
      seenFiles.push(...files.map((e) => e.name));
    }
    // Together, the packs and raw layers hold each file exactly once.
    const raw = manifest.files.filter((f) => manifest.layers[f.layer]!.format === 'raw').map((f) => `ds/${f.path}`);
    expect([...seenFiles, ...raw].sort()).toEqual(manifest.files.map((f) => `ds/${f.path}`).sort());
  });

  it('GNU tar lists and extracts a pack to the same bytes and modes', async () => {
    const { manifest, store } = await manifestOf(repo.dir, 'ds');
    const out = tempDir('mk-untar-');
    try {
      for (const [i, l] of manifest.layers.entries()) {
        if (l.format !== 'tar') continue;
        const listing = execFileSync('tar', ['--numeric-owner', '-tvf', store.blobPath(l)], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
        for (const line of listing.trim().split('\n')) expect(line).toMatch(/^[-d]rw[-x]r-[-x]r-[-x] 0\/0 +\d+ 1970-01-01 00:00 ds(\/|$)/);
        expect(
          listing
            .trim()
            .split('\n')
            .filter((x) => x.startsWith('-')).length,
        ).toBe(manifest.files.filter((f) => f.layer === i).length);
        execFileSync('tar', ['-xpf', store.blobPath(l), '-C', out.dir]);
      }
      const got = snapshotTree(join(out.dir, 'ds'));
      const orig = snapshotTree(join(repo.dir, 'ds'));
      for (const f of manifest.files) {
        if (manifest.layers[f.layer]!.format !== 'tar') continue;
        expect(got.get(f.path), f.path).toEqual(orig.get(f.path));
      }
    } finally {
      out.cleanup();
    }
  });

  it('the same folder added in another clone gives the same digests, whatever times, permissions and creation order', async () => {
    const other = makeRepo();
    try {
      appendFileSync(join(other.dir, '.mk/config.yaml'), SMALL_PACKS);
      writeAwkwardFolder(join(other.dir, 'ds'), 'backward', (x) => (x ? 0o700 : 0o600));
      for (const [path] of snapshotTree(join(other.dir, 'ds'))) utimesSync(join(other.dir, 'ds', path), 1_000_000 + path.length, 2_000_000);
      mk(join(other.dir, 'ds', 'bin'), 'add', '../../ds'); // from inside the folder, by a relative path
      const a = await manifestOf(repo.dir, 'ds');
      const b = await manifestOf(other.dir, 'ds');
      expect(b.digest).toBe(a.digest);
      expect(b.manifest.layers).toEqual(a.manifest.layers);
      expect(readFileSync(join(other.dir, 'ds.mk.yaml'), 'utf8')).toBe(readFileSync(join(repo.dir, 'ds.mk.yaml'), 'utf8'));
      for (const l of a.manifest.layers) expect(sha256(readFileSync(b.store.blobPath(l)))).toBe(l.digest.slice(7));
    } finally {
      other.cleanup();
    }
  });
});

/** File lists of `after` that `before` does not have. */
function listsChanged(before: DirManifest, after: DirManifest): number {
  const b = new Set(before.layers.map((l) => l.list?.digest));
  return new Set(after.layers.map((l) => l.list?.digest).filter((d) => d && !b.has(d))).size;
}

describe('one changed file in a 3,000-file folder changes one pack', () => {
  let repo: { dir: string; cleanup: () => void };
  let rand: () => number;
  const p = (rel: string) => join(repo.dir, rel);
  const N = 3000;
  const name = (i: number) => `ds/shard-${String(i % 25).padStart(2, '0')}/item-${String(i).padStart(5, '0')}.json`;

  /** Pack digests before and after an add, and what the add reported. */
  async function change(edit: () => void): Promise<{ gone: string[]; added: string[]; newBlobs: number; hashed: number; before: DirManifest; after: DirManifest }> {
    const before = (await manifestOf(repo.dir, 'ds')).manifest;
    edit();
    const [r] = mkJson(repo.dir, 'add', 'ds').artifacts;
    const after = (await manifestOf(repo.dir, 'ds')).manifest;
    const b = new Set(before.layers.map((l) => l.digest));
    const a = new Set(after.layers.map((l) => l.digest));
    return { gone: [...b].filter((d) => !a.has(d)), added: [...a].filter((d) => !b.has(d)), newBlobs: r.newBlobs, hashed: r.hashedFiles, before, after };
  }

  beforeAll(() => {
    repo = makeRepo();
    appendFileSync(p('.mk/config.yaml'), SMALL_PACKS);
    rand = rng(2024);
    for (let i = 0; i < N; i++) put(p(name(i)), randomBytesFrom(rand, 1000 + Math.floor(rand() * 3000)));
    // Old enough that the stat cache trusts them at once (no "racy" re-reads).
    const old = Date.now() / 1000 - 3600;
    for (let i = 0; i < N; i++) utimesSync(p(name(i)), old, old);
    const [r] = mkJson(repo.dir, 'add', 'ds').artifacts;
    expect(r.pointer.files).toBe(N);
    git(repo.dir, 'commit', '-qm', 'ds');
  });
  afterAll(() => repo.cleanup());

  it('the folder is split into many packs', async () => {
    const { manifest } = await manifestOf(repo.dir, 'ds');
    expect(manifest.layers.length).toBeGreaterThan(50);
    expect(manifest.layers.every((l) => l.format === 'tar')).toBe(true);
  });

  it('same-size edit: exactly one pack replaced, the rest reused without re-reading their files', async () => {
    const target = name(1717);
    const size = readFileSync(p(target)).length;
    const r = await change(() => put(p(target), randomBytesFrom(rand, size)));
    expect(r.gone.length).toBe(1);
    expect(r.added.length).toBe(1);
    expect(r.after.layers.length).toBe(r.before.layers.length);
    // The new pack is the one that holds the edited file.
    const f = r.after.files.find((x) => `ds/${x.path}` === target)!;
    expect(r.after.layers[f.layer]!.digest).toBe(r.added[0]);
    expect(r.newBlobs).toBe(3); // that pack, the file list that names its files, the new root
    expect(listsChanged(r.before, r.after)).toBe(1);
    expect(r.hashed).toBeLessThan(N / 10); // only the files of that pack were read
  });

  it.each([
    ['a file grows', (pp: (r: string) => string, rnd: () => number) => put(pp(name(42)), randomBytesFrom(rnd, 3900))],
    ['a file shrinks to nothing', (pp: (r: string) => string) => put(pp(name(2500)), '')],
    ['a file is removed', (pp: (r: string) => string) => rmSync(pp(name(999)))],
    ['a file is added', (pp: (r: string) => string, rnd: () => number) => put(pp('ds/shard-07/item-00777b.json'), randomBytesFrom(rnd, 2500))],
    ['a file becomes executable', (pp: (r: string) => string) => chmodSync(pp(name(1234)), 0o755)],
  ])('%s: one pack changes (two at most, when a pack boundary moves)', async (_label, edit) => {
    const r = await change(() => edit(p, rand));
    expect(r.gone.length).toBeGreaterThanOrEqual(1);
    expect(r.gone.length).toBeLessThanOrEqual(2);
    expect(r.added.length).toBeGreaterThanOrEqual(1);
    expect(r.added.length).toBeLessThanOrEqual(2);
    expect(r.newBlobs).toBe(r.added.length + listsChanged(r.before, r.after) + 1);
    expect(listsChanged(r.before, r.after)).toBeLessThanOrEqual(2);
    // All other packs are the very same blobs, in the same order.
    const keptBefore = r.before.layers.filter((l) => !r.gone.includes(l.digest)).map((l) => l.digest);
    const keptAfter = r.after.layers.filter((l) => !r.added.includes(l.digest)).map((l) => l.digest);
    expect(keptAfter).toEqual(keptBefore);
  });

  it('after all that, the folder still restores exactly', () => {
    const want = asRecord(snapshotTree(p('ds')));
    rmSync(p('ds'), { recursive: true });
    mk(repo.dir, 'checkout');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(want);
  });
});
