/**
 * The cache grows with every version. A user runs `mk gc` to free what no kept revision
 * needs: HEAD and the work tree by default, more with --all-branches / --all-tags /
 * --all-commits. A dry run removes nothing; kept revisions still check out byte for byte.
 */
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadDirManifest } from '../../src/artifact/load.js';
import { parsePointer } from '../../src/pointer/pointer.js';
import { OciLayoutStore } from '../../src/stores/oci-layout/layout-store.js';
import { asRecord, cacheBlobs, corruptBlobs, put, randomBytesFrom, rng, sha256File, snapshotTree, type FileState } from '../support/files.js';
import { copyRepo, expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../support/repo.js';

interface History {
  dir: string;
  cleanup: () => void;
  /** Blob digests (hex) each version needs. */
  needs: Record<'c0' | 'c1' | 'c2' | 'c3' | 'orphan' | 'work', Set<string>>;
  /** What the data looked like at each version. */
  model: Record<'c0' | 'c1' | 'c2' | 'c3' | 'work', string>;
  ds: Record<'c1' | 'c2', Map<string, FileState>>;
}

/**
 * main:  c0 (tag v0: model m0) -- c1 (m1, ds d1) -- c2 (m2, ds d2: one file changed) [HEAD]
 * exp:                              \-- c3 (m3)
 * work tree: model re-added twice without committing (m4, an orphan, then m5, staged).
 */
async function buildHistory(): Promise<History> {
  const repo = makeRepo();
  const p = (rel: string) => join(repo.dir, rel);
  appendFileSync(p('.mk/config.yaml'), '\nstorage:\n  pack_target: 64KiB\n');
  git(repo.dir, 'add', '.mk/config.yaml');
  const rand = rng(42);
  const store = new OciLayoutStore(p('.git/mk/cache'));
  const needsOf = async (rev: string | undefined): Promise<Set<string>> => {
    const out = new Set<string>();
    for (const ptr of ['model.bin.mk.yaml', 'ds.mk.yaml']) {
      let text: string;
      try {
        text = rev ? git(repo.dir, 'show', `${rev}:${ptr}`) : readFileSync(p(ptr), 'utf8');
      } catch {
        continue;
      }
      const pt = parsePointer(text, ptr);
      out.add(pt.digest.slice(7));
      if (pt.type === 'dir') {
        for (const l of (await loadDirManifest(store, pt)).layers) {
          out.add(l.digest.slice(7));
          if (l.list) out.add(l.list.digest.slice(7)); // the file list that names the pack's files
        }
      }
    }
    return out;
  };
  const model: Partial<History['model']> = {};
  const setModel = (k: keyof History['model'], n: number) => {
    put(p('model.bin'), randomBytesFrom(rand, n));
    model[k] = sha256File(p('model.bin'));
    mk(repo.dir, 'add', 'model.bin');
  };

  setModel('c0', 70_000);
  git(repo.dir, 'commit', '-qm', 'c0');
  git(repo.dir, 'tag', 'v0');

  for (let i = 0; i < 40; i++) put(p(`ds/f${String(i).padStart(2, '0')}.bin`), randomBytesFrom(rand, 8192));
  setModel('c1', 71_000);
  mk(repo.dir, 'add', 'ds');
  git(repo.dir, 'commit', '-qm', 'c1');
  const dsC1 = snapshotTree(p('ds'));

  git(repo.dir, 'branch', 'exp');
  put(p('ds/f17.bin'), randomBytesFrom(rand, 8192));
  setModel('c2', 72_000);
  mk(repo.dir, 'add', 'ds');
  git(repo.dir, 'commit', '-qm', 'c2');
  const dsC2 = snapshotTree(p('ds'));

  git(repo.dir, 'switch', '-q', 'exp');
  mk(repo.dir, 'checkout');
  setModel('c3', 73_000);
  git(repo.dir, 'commit', '-qm', 'c3');
  git(repo.dir, 'switch', '-q', 'main');
  mk(repo.dir, 'checkout');

  setModel('work', 74_000); // becomes the orphan m4
  const orphan = await needsOf(undefined);
  setModel('work', 75_000); // m5: staged, not committed

  const needs: History['needs'] = {
    c0: await needsOf('v0'),
    c1: await needsOf('main~1'),
    c2: await needsOf('main'),
    c3: await needsOf('exp'),
    orphan: new Set(),
    work: await needsOf(undefined),
  };
  needs.orphan = new Set([...orphan].filter((d) => ![...Object.entries(needs)].some(([k, s]) => k !== 'orphan' && s.has(d))));
  return { ...repo, needs, model: model as History['model'], ds: { c1: dsC1, c2: dsC2 } };
}

const union = (...sets: Set<string>[]) => new Set(sets.flatMap((s) => [...s]));
const minus = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));
const sorted = (s: Iterable<string>) => [...s].sort();
const removedOf = (r: { removed: Array<{ digest: string }> }) => sorted(r.removed.map((b) => b.digest.slice(7)));

describe('mk gc', () => {
  let built: History;
  let h: History;
  beforeAll(async () => {
    built = await buildHistory();
  });
  afterAll(() => built.cleanup());
  /** Each test works on its own copy of the same history. */
  const fresh = async (): Promise<History> => ({ ...built, ...copyRepo(built.dir) });
  afterEach(() => h.cleanup());
  const cache = () => join(h.dir, '.git/mk/cache');
  const blobNames = () => sorted(cacheBlobs(cache()).keys());

  it('the history is what the story says: versions share the unchanged packs of ds', async () => {
    h = await fresh();
    expect(h.needs.orphan.size).toBe(1);
    const shared = [...h.needs.c1].filter((d) => h.needs.c2.has(d));
    expect(shared.length).toBeGreaterThanOrEqual(3); // unchanged packs
    expect(minus(h.needs.c2, h.needs.c1).size).toBe(4); // model m2, new manifest root, one changed pack and its file list
    expect(sorted(union(...Object.values(h.needs)))).toEqual(blobNames());
  });

  it('--dry-run lists what would go and removes nothing', async () => {
    h = await fresh();
    const before = blobNames();
    const r = mkJson(h.dir, 'gc', '--dry-run');
    const keep = union(h.needs.c2, h.needs.work);
    expect(r.dryRun).toBe(true);
    expect(removedOf(r)).toEqual(sorted(minus(new Set(before), keep)));
    expect(r.freedBytes).toBe(r.removed.reduce((s: number, b: any) => s + b.size, 0));
    expect(blobNames()).toEqual(before);
    const text = mk(h.dir, 'gc', '-n');
    expect(text.split('\n').filter((l) => l.startsWith('would remove ')).length).toBe(r.removed.length);
    expect(text).toMatch(new RegExp(`^would free .* in ${r.removed.length} blob\\(s\\)`, 'm'));
    expect(blobNames()).toEqual(before);
  });

  it('by default keeps HEAD and the work tree, frees the rest, and HEAD still checks out byte for byte', async () => {
    h = await fresh();
    const before = new Set(blobNames());
    const keep = union(h.needs.c2, h.needs.work);
    const r = mkJson(h.dir, 'gc');
    expect(r.dryRun).toBe(false);
    expect(removedOf(r)).toEqual(sorted(minus(before, keep)));
    expect(blobNames()).toEqual(sorted(keep));
    expect(corruptBlobs(cache())).toEqual([]);
    expect(mkJson(h.dir, 'gc').removed).toEqual([]); // nothing left to do
    // Freed: older commits, the other branch, the orphan.
    for (const d of minus(union(h.needs.c0, h.needs.c1, h.needs.c3, h.needs.orphan), keep)) expect(blobNames()).not.toContain(d);
    expect(minus(union(h.needs.c0, h.needs.c1, h.needs.c3, h.needs.orphan), keep).size).toBeGreaterThanOrEqual(5);

    // The work tree's data comes back after deleting it...
    rmSync(join(h.dir, 'model.bin'));
    rmSync(join(h.dir, 'ds'), { recursive: true });
    mk(h.dir, 'checkout');
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.work);
    expect(asRecord(snapshotTree(join(h.dir, 'ds')))).toEqual(asRecord(h.ds.c2));
    // ...and so does HEAD's.
    mk(h.dir, 'checkout', 'HEAD');
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.c2);
    expect(asRecord(snapshotTree(join(h.dir, 'ds')))).toEqual(asRecord(h.ds.c2));
    // An older revision was freed: a clear error, and the work tree keeps what it had.
    expectMkError(mkRun(h.dir, ['checkout', 'HEAD~1', '--', 'ds']), /the data of ds at HEAD~1 is not in the local cache; nothing was changed/);
    expect(asRecord(snapshotTree(join(h.dir, 'ds')))).toEqual(asRecord(h.ds.c2));
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.c2);
    // The work tree went back to HEAD: its former data (m5) is needed by no pointer now.
    expect(removedOf(mkJson(h.dir, 'gc'))).toEqual(sorted(minus(h.needs.work, h.needs.c2)));
  });

  it('--all-branches also keeps the tip of every branch', async () => {
    h = await fresh();
    const before = new Set(blobNames());
    const keep = union(h.needs.c2, h.needs.work, h.needs.c3);
    const r = mkJson(h.dir, 'gc', '--all-branches');
    expect(removedOf(r)).toEqual(sorted(minus(before, keep)));
    expect(blobNames()).toEqual(sorted(keep));
    mk(h.dir, 'checkout', 'exp', '--', 'model.bin');
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.c3);
  });

  it('--all-tags also keeps every tagged commit', async () => {
    h = await fresh();
    const before = new Set(blobNames());
    const keep = union(h.needs.c2, h.needs.work, h.needs.c0);
    const r = mkJson(h.dir, 'gc', '--all-tags');
    expect(removedOf(r)).toEqual(sorted(minus(before, keep)));
    mk(h.dir, 'checkout', 'v0');
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.c0);
  });

  it('--all-commits keeps every commit of every ref: only the never-committed orphan goes', async () => {
    h = await fresh();
    const before = new Set(blobNames());
    const r = mkJson(h.dir, 'gc', '--all-commits');
    expect(removedOf(r)).toEqual(sorted(h.needs.orphan));
    expect(blobNames()).toEqual(sorted(minus(before, h.needs.orphan)));
    // Every version still restores exactly.
    for (const [rev, m, ds] of [
      ['v0', h.model.c0, undefined],
      ['main~1', h.model.c1, h.ds.c1],
      ['exp', h.model.c3, h.ds.c1],
      ['main', h.model.c2, h.ds.c2],
    ] as const) {
      mk(h.dir, 'checkout', rev);
      expect(sha256File(join(h.dir, 'model.bin')), rev).toBe(m);
      if (ds) expect(asRecord(snapshotTree(join(h.dir, 'ds'))), rev).toEqual(asRecord(ds));
    }
  });
});
