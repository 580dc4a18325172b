/**
 * A user asks `mk status` what state their tracked data is in, after each kind of change:
 * nothing, an edited file, a file added to or removed from a tracked folder, deleted data,
 * a pointer not committed yet, and data whose bytes are no longer in the local cache.
 */
import { chmodSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadDirManifest } from '../../../src/worktree/load.js';
import { parsePointer } from '../../../src/formats/pointer.js';
import { OciLayoutStore } from '../../../src/stores/oci-layout/layout-store.js';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { copyRepo, expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../../support/repo.js';

interface St {
  path: string;
  kind: string;
  type: 'file' | 'dir';
  workspace: string;
  commit: string;
  cached: boolean;
  size: number;
  files?: number;
  changes: Array<{ path: string; change: string; oldSize?: number; newSize?: number }>;
}

const byPath = (st: St[]) => Object.fromEntries(st.map((s) => [s.path, s]));

describe('mk status names the state of every tracked artifact', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  const status = (...args: string[]) => byPath(mkJson<{ artifacts: St[] }>(repo.dir, 'status', ...args).artifacts);
  const cacheDir = () => p('.git/mk/cache');

  let base: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = base = makeRepo();
    const rand = rng(7);
    put(p('model.bin'), randomBytesFrom(rand, 50_000));
    put(p('ds/a.csv'), 'x,y\n1,2\n');
    put(p('ds/b.csv'), 'x,y\n3,4\n5,6\n');
    put(p('ds/sub/c.bin'), randomBytesFrom(rand, 1234));
    mk(repo.dir, 'add', 'model.bin', 'ds');
    git(repo.dir, 'commit', '-qm', 'data');
  });
  afterAll(() => base.cleanup());
  beforeEach(() => {
    repo = copyRepo(base.dir);
  });
  afterEach(() => repo.cleanup());

  it('reports a freshly committed repository as clean, committed and cached', () => {
    const st = status();
    expect(st['model.bin']).toEqual({ path: 'model.bin', kind: 'model', type: 'file', workspace: 'clean', commit: 'committed', cached: true, size: 50_000, changes: [] });
    expect(st['ds']).toEqual({ path: 'ds', kind: 'dataset', type: 'dir', workspace: 'clean', commit: 'committed', cached: true, size: 8 + 12 + 1234, files: 3, changes: [] });
    const text = mk(repo.dir, 'status');
    expect(text).toMatch(/^clean\s+ds$/m);
    expect(text).toMatch(/^clean\s+model\.bin$/m);
  });

  it('reports an edited file as modified, with old and new sizes', () => {
    put(p('model.bin'), randomBytesFrom(rng(8), 60_000));
    const st = status()['model.bin']!;
    expect(st.workspace).toBe('modified');
    expect(st.commit).toBe('committed');
    expect(st.changes).toEqual([{ path: 'model.bin', change: 'modified', oldSize: 50_000, newSize: 60_000 }]);
    expect(status()['ds']!.workspace).toBe('clean');
  });

  it('notices a same-size edit made within the same second (no stale stat-cache answer)', () => {
    expect(status()['ds']!.workspace).toBe('clean'); // fills the stat cache
    put(p('ds/a.csv'), 'x,y\n1,3\n'); // same size, same second
    expect(status()['ds']!.changes).toEqual([{ path: 'a.csv', change: 'modified', oldSize: 8, newSize: 8 }]);
  });

  it('reports a mode change (executable bit) as a modification', () => {
    chmodSync(p('ds/b.csv'), 0o755);
    expect(status()['ds']!.changes).toEqual([{ path: 'b.csv', change: 'modified', oldSize: 12, newSize: 12 }]);
  });

  it('lists files changed, added and removed inside a tracked directory', () => {
    put(p('ds/a.csv'), 'x,y\n1,2\n7,8\n');
    put(p('ds/sub/new.txt'), 'hello');
    unlinkSync(p('ds/b.csv'));
    const st = status()['ds']!;
    expect(st.workspace).toBe('modified');
    expect(st.changes).toEqual([
      { path: 'a.csv', change: 'modified', oldSize: 8, newSize: 12 },
      { path: 'b.csv', change: 'removed', oldSize: 12 },
      { path: 'sub/new.txt', change: 'added', newSize: 5 },
    ]);
    expect(mk(repo.dir, 'status')).toMatch(/^modified\s+ds \(3 files changed\)$/m);
    const verbose = mk(repo.dir, 'status', '-v');
    expect(verbose).toMatch(/added\s+ds\/sub\/new\.txt/);
    expect(verbose).toMatch(/removed\s+ds\/b\.csv/);
  });

  it('reports removed data as deleted, for a file and for a whole directory', () => {
    rmSync(p('model.bin'));
    rmSync(p('ds'), { recursive: true });
    const st = status();
    expect(st['model.bin']!.workspace).toBe('deleted');
    expect(st['ds']!.workspace).toBe('deleted');
    expect(st['ds']!.cached).toBe(true);
    expect(mk(repo.dir, 'status')).toMatch(/^deleted\s+model\.bin$/m);
  });

  it('reports a pointer that is not committed yet as new, and a re-added one as changed', () => {
    put(p('extra/weights.safetensors'), randomBytesFrom(rng(9), 3000));
    mk(repo.dir, 'add', 'extra/weights.safetensors');
    put(p('model.bin'), randomBytesFrom(rng(10), 100));
    mk(repo.dir, 'add', 'model.bin');
    const st = status();
    expect(st['extra/weights.safetensors']).toMatchObject({ workspace: 'clean', commit: 'new', cached: true, kind: 'model', size: 3000 });
    expect(st['model.bin']).toMatchObject({ workspace: 'clean', commit: 'changed', size: 100 });
    expect(st['ds']!.commit).toBe('committed');
    const text = mk(repo.dir, 'status');
    expect(text).toMatch(/^clean, new\s+extra\/weights\.safetensors$/m);
    expect(text).toMatch(/^clean, uncommitted\s+model\.bin$/m);
    // A pointer written with --no-stage (untracked by git) is also seen.
    put(p('loose.bin'), 'loose');
    mk(repo.dir, 'add', '--no-stage', 'loose.bin');
    expect(status()['loose.bin']).toMatchObject({ workspace: 'clean', commit: 'new' });
  });

  it('reports data whose blobs left the cache as not cached', async () => {
    const store = new OciLayoutStore(cacheDir());
    const fileP = parsePointer(readFileSync(p('model.bin.mk.yaml'), 'utf8'), 'model.bin.mk.yaml');
    rmSync(store.blobPath(fileP), { force: true });
    let st = status();
    expect(st['model.bin']).toMatchObject({ workspace: 'clean', cached: false });
    expect(st['ds']!.cached).toBe(true);
    expect(mk(repo.dir, 'status')).toMatch(/^clean, not cached\s+model\.bin$/m);

    // A directory: its pack gone (the manifest still lists the files, so changes are still known).
    const dirP = parsePointer(readFileSync(p('ds.mk.yaml'), 'utf8'), 'ds.mk.yaml');
    const m = await loadDirManifest(store, dirP);
    {
      for (const l of m.layers) rmSync(store.blobPath(l), { force: true });
      st = status();
      expect(st['ds']).toMatchObject({ workspace: 'clean', cached: false });
      put(p('ds/a.csv'), 'changed!');
      expect(status()['ds']).toMatchObject({ workspace: 'modified', cached: false, changes: [{ path: 'a.csv', change: 'modified', oldSize: 8, newSize: 8 }] });

      // Its manifest gone too: mk cannot tell what changed, and says so.
      put(p('ds/a.csv'), 'x,y\n1,2\n');
      rmSync(store.blobPath(dirP), { force: true });
      expect(status()['ds']).toMatchObject({ workspace: 'unknown', cached: false });
      rmSync(p('ds/b.csv'));
      expect(status()['ds']).toMatchObject({ workspace: 'modified', cached: false });
      // And checkout says which data it cannot restore, in one line.
      rmSync(p('model.bin'));
      expectMkError(mkRun(repo.dir, ['checkout', '--', 'model.bin']), /^mk: data not in the local cache for model\.bin$/);
    }
  });

  it('limits the report to the paths given, from any folder', () => {
    put(p('ds/a.csv'), 'changed');
    const only = mkJson<{ artifacts: St[] }>(join(repo.dir, 'ds', 'sub'), 'status', '../').artifacts;
    expect(only.map((s) => [s.path, s.workspace])).toEqual([['ds', 'modified']]);
    expect(mkJson<{ artifacts: St[] }>(repo.dir, 'status', 'model.bin').artifacts.map((s) => s.path)).toEqual(['model.bin']);
  });

  it('a path that names no tracked artifact is an error, worded as mk rm words it (as git refuses an unknown pathspec)', () => {
    const before = mkRun(repo.dir, ['status']).stdout;
    const r = mkRun(repo.dir, ['status', 'data/nosuch']);
    expect(expectMkError(r, 'data/nosuch is not tracked by mk (no data/nosuch.mk.yaml)')).toBe('mk: data/nosuch is not tracked by mk (no data/nosuch.mk.yaml)');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(expectMkError(mkRun(repo.dir, ['rm', 'data/nosuch']))).toBe('mk: data/nosuch is not tracked by mk (no data/nosuch.mk.yaml)');
    // One good path and one bad one: still an error (a typo is not hidden by the other path's answer).
    expectMkError(mkRun(repo.dir, ['status', 'model.bin', 'modle.bin']), 'modle.bin is not tracked by mk');
    // A folder that exists but holds no tracked artifact.
    put(p('notes/readme.txt'), 'hi');
    expectMkError(mkRun(repo.dir, ['status', 'notes']), 'nothing in notes/ is tracked by mk');
    // A file inside a tracked folder, and a folder holding tracked artifacts, are fine.
    expect(Object.keys(status('ds/a.csv'))).toEqual(['ds']);
    expect(Object.keys(status('.')).sort()).toEqual(Object.keys(status()).sort());
    expect(mkRun(repo.dir, ['status']).stdout).toBe(before);
  });
});
