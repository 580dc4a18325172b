/**
 * The cache grows with every version. A user runs `mk gc` to free what no kept revision
 * needs: HEAD and the work tree by default, more with --all-branches / --all-tags /
 * --all-commits. A dry run removes nothing; kept revisions still check out byte for byte.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadDirManifest } from '../../../src/worktree/load.js';
import { parsePointer } from '../../../src/formats/pointer.js';
import { OciLayoutStore } from '../../../src/stores/oci-layout/layout-store.js';
import { asRecord, cacheBlobs, corruptBlobs, put, randomBytesFrom, rng, sha256File, snapshotTree, type FileState } from '../../support/files.js';
import { spawnSync } from 'node:child_process';
import { copyRepo, expectMkError, git, gitEnv, makeRepo, mk, MK_BIN, mkJson, mkRun, tempDir } from '../../support/repo.js';

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
  /** A layout remote for this copy, holding what `mk push <revs>` sends (recorded as held). */
  const pushTo = (...revs: string[]) => {
    const store = join(h.dir, '..', `${h.dir.split('/').pop()}-store`);
    if (!mk(h.dir, 'remote', 'list').includes(store)) mk(h.dir, 'remote', 'add', 'origin', store, '--local');
    mk(h.dir, 'push', '--no-modelkit', ...revs);
    return store;
  };
  const everything = () => union(h.needs.c0, h.needs.c1, h.needs.c2, h.needs.c3, h.needs.work);

  it('the history is what the story says: versions share the unchanged packs of ds', async () => {
    h = await fresh();
    expect(h.needs.orphan.size).toBe(1);
    const shared = [...h.needs.c1].filter((d) => h.needs.c2.has(d));
    expect(shared.length).toBeGreaterThanOrEqual(3); // unchanged packs
    expect(minus(h.needs.c2, h.needs.c1).size).toBe(4); // model m2, new manifest root, one changed pack and its file list
    expect(sorted(union(...Object.values(h.needs)))).toEqual(blobNames());
  });

  it('with no remote, nothing committed goes: only the version replaced before any commit; --dry-run lists it and removes nothing', async () => {
    h = await fresh();
    const before = blobNames();
    const r = mkJson(h.dir, 'gc', '--dry-run');
    expect(r.dryRun).toBe(true);
    expect(removedOf(r)).toEqual(sorted(h.needs.orphan));
    expect(r.unpushed.blobs).toBe(minus(everything(), union(h.needs.c2, h.needs.work)).size);
    expect(blobNames()).toEqual(before);
    const text = mk(h.dir, 'gc', '-n');
    expect(text.split('\n').filter((l) => l.startsWith('would remove ')).length).toBe(1);
    expect(text).toMatch(/^kept \d+ blob\(s\), .* that older or unpushed commits need and no remote is known to hold/m);
    expect(blobNames()).toEqual(before);

    expect(removedOf(mkJson(h.dir, 'gc'))).toEqual(sorted(h.needs.orphan));
    expect(blobNames()).toEqual(sorted(everything()));
    expect(corruptBlobs(cache())).toEqual([]);
    // Every committed version still restores exactly.
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

  it('what a remote holds goes; HEAD, the work tree and the unpushed branch stay; older versions come back with a pull', async () => {
    h = await fresh();
    pushTo('v0', 'main~1', 'main');
    const held = union(h.needs.c0, h.needs.c1, h.needs.c2);
    const keep = union(h.needs.c2, h.needs.work, minus(h.needs.c3, held));
    const r = mkJson(h.dir, 'gc');
    expect(removedOf(r)).toEqual(sorted(minus(new Set(everything()).add([...h.needs.orphan][0]!), keep)));
    expect(blobNames()).toEqual(sorted(keep));
    expect(minus(h.needs.c3, held).size).toBe(1); // exp's model: on no remote, so it stays
    expect(mkJson(h.dir, 'gc').removed).toEqual([]); // nothing left to do

    // The work tree's data comes back after deleting it, and so does HEAD's...
    rmSync(join(h.dir, 'model.bin'));
    rmSync(join(h.dir, 'ds'), { recursive: true });
    mk(h.dir, 'checkout');
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.work);
    expect(asRecord(snapshotTree(join(h.dir, 'ds')))).toEqual(asRecord(h.ds.c2));
    mk(h.dir, 'checkout', 'exp', '--', 'model.bin');
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.c3);
    mk(h.dir, 'checkout', 'HEAD');
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.c2);
    // ...an older revision is on the remote only: a clear error, then a pull.
    expectMkError(mkRun(h.dir, ['checkout', 'HEAD~1', '--', 'ds']), /the data of ds at HEAD~1 is not in the local cache; nothing was changed/);
    expect(asRecord(snapshotTree(join(h.dir, 'ds')))).toEqual(asRecord(h.ds.c2));
    mk(h.dir, 'pull', 'HEAD~1', '--', 'ds');
    expect(asRecord(snapshotTree(join(h.dir, 'ds')))).toEqual(asRecord(h.ds.c1));

    // Once exp is pushed too, its model may go as well.
    pushTo('exp');
    mk(h.dir, 'checkout', 'HEAD', '--', 'ds');
    expect(removedOf(mkJson(h.dir, 'gc'))).toContain([...minus(h.needs.c3, held)][0]);
  });

  it('--verify-remote asks the remote: a blob it lost stays in the cache', async () => {
    h = await fresh();
    const store = pushTo('v0', 'main~1', 'main', 'exp');
    const m0 = [...minus(h.needs.c0, union(h.needs.c1, h.needs.c2, h.needs.c3, h.needs.work))];
    expect(m0.length).toBe(1);
    rmSync(join(store, 'blobs', 'sha256', m0[0]!)); // the remote lost it; our record does not know
    const careful = mkJson(h.dir, 'gc', '--verify-remote', '--dry-run');
    expect(removedOf(careful)).not.toContain(m0[0]);
    expect(careful.unpushed.blobs).toBe(1);
    expect(removedOf(mkJson(h.dir, 'gc', '--dry-run'))).toContain(m0[0]); // the record alone believes it held
    mkJson(h.dir, 'gc', '--verify-remote');
    expect(blobNames()).toContain(m0[0]);
  });

  it('--all-branches, --all-tags and --all-commits keep those versions even where a remote holds them', async () => {
    h = await fresh();
    pushTo('v0', 'main~1', 'main', 'exp');
    const base = union(h.needs.c2, h.needs.work);
    const check = (flag: string, keep: Set<string>, rev: string, model: string) => {
      const c = copyRepo(h.dir);
      try {
        mkJson(c.dir, 'gc', flag);
        expect(sorted(cacheBlobs(join(c.dir, '.git/mk/cache')).keys()), flag).toEqual(sorted(keep));
        mk(c.dir, 'checkout', rev, '--', 'model.bin');
        expect(sha256File(join(c.dir, 'model.bin')), flag).toBe(model);
      } finally {
        c.cleanup();
      }
    };
    check('--all-branches', union(base, h.needs.c3), 'exp', h.model.c3);
    check('--all-tags', union(base, h.needs.c0), 'v0', h.model.c0);
    check('--all-commits', everything(), 'main~1', h.model.c1);
  });

  it('a reset does not make committed data garbage: the reflog still reaches it', async () => {
    h = await fresh();
    git(h.dir, 'reset', '-q', '--hard', 'HEAD~1');
    mk(h.dir, 'checkout', '--force');
    const r = mkJson(h.dir, 'gc');
    for (const d of h.needs.c2) expect(removedOf(r)).not.toContain(d);
    mk(h.dir, 'checkout', 'HEAD@{1}');
    expect(sha256File(join(h.dir, 'model.bin'))).toBe(h.model.c2);
    expect(asRecord(snapshotTree(join(h.dir, 'ds')))).toEqual(asRecord(h.ds.c2));
  });

  it('a damaged pointer in history still keeps every blob it mentions', async () => {
    h = await fresh();
    put(join(h.dir, 'model.bin'), randomBytesFrom(rng(77), 77_000));
    const future = sha256File(join(h.dir, 'model.bin'));
    mk(h.dir, 'add', 'model.bin');
    const ptr = join(h.dir, 'model.bin.mk.yaml');
    writeFileSync(ptr, readFileSync(ptr, 'utf8').replace(/^mk: 1$/m, 'mk: 99'));
    git(h.dir, 'commit', '-qam', 'written by a future mk');
    git(h.dir, 'reset', '-q', '--hard', 'HEAD~1');
    mk(h.dir, 'checkout', '--force');
    mkJson(h.dir, 'gc');
    expect(blobNames()).toContain(future);
  });

  it("another worktree's staged data and its branch are kept", async () => {
    h = await fresh();
    pushTo('v0', 'main~1', 'main', 'exp');
    const wt = join(h.dir, '..', `${h.dir.split('/').pop()}-wt`);
    git(h.dir, 'worktree', 'add', '-q', '-b', 'wt-work', wt, 'exp');
    try {
      mk(wt, 'checkout');
      put(join(wt, 'model.bin'), randomBytesFrom(rng(99), 76_000));
      const staged = sha256File(join(wt, 'model.bin'));
      mk(wt, 'add', 'model.bin');
      const r = mkJson(h.dir, 'gc');
      expect(r.worktrees).toBe(2);
      expect(blobNames()).toContain(staged);
      for (const d of h.needs.c3) expect(blobNames()).toContain(d); // the other worktree's HEAD
      rmSync(join(wt, 'model.bin'));
      mk(wt, 'checkout');
      expect(sha256File(join(wt, 'model.bin'))).toBe(staged);
    } finally {
      git(h.dir, 'worktree', 'remove', '--force', wt);
    }
  });

  it('on a terminal it says what it will free and asks; no answer removes nothing', async () => {
    h = await fresh();
    const before = blobNames();
    const tty = (answer: string) =>
      spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(MK_BIN)} gc`, '/dev/null'], { cwd: h.dir, input: answer, encoding: 'utf8', env: gitEnv() });
    const no = tty('n\n');
    expect(no.stdout).toMatch(/would remove [\s\S]*would free .* in 1 blob\(s\)[\s\S]*remove these 1 blob\(s\) from the cache\? \[y\/N\]/);
    expect(no.stdout).toContain('nothing removed');
    expect(blobNames()).toEqual(before);
    const yes = tty('y\n');
    expect(yes.stdout).toMatch(/freed .* in 1 blob\(s\)/);
    expect(blobNames()).toEqual(sorted(minus(new Set(before), h.needs.orphan)));
  });
});

describe('mk gc with a cache shared by several clones (MK_CACHE_DIR)', () => {
  it("keeps another clone's unpushed data; forgets a clone that is gone", () => {
    const shared = tempDir('mk-shared-cache-');
    const env = { MK_CACHE_DIR: join(shared.dir, 'cache') };
    const a = makeRepo();
    const b = tempDir('mk-clone-b-');
    try {
      put(join(a.dir, 'model.bin'), randomBytesFrom(rng(1), 60_000));
      expect(mkRun(a.dir, ['add', 'model.bin'], env).status).toBe(0);
      git(a.dir, 'commit', '-qm', 'a');
      git(b.dir, 'clone', '-q', a.dir, 'work');
      const bw = join(b.dir, 'work');
      expect(mkRun(bw, ['checkout'], env).status).toBe(0);
      git(bw, 'switch', '-q', '-c', 'only-in-b');
      put(join(bw, 'model.bin'), randomBytesFrom(rng(2), 61_000));
      const bModel = sha256File(join(bw, 'model.bin'));
      expect(mkRun(bw, ['add', 'model.bin'], env).status).toBe(0);
      git(bw, 'commit', '-qm', 'b');
      put(join(bw, 'model.bin'), randomBytesFrom(rng(3), 62_000)); // and a staged version on top
      const bStaged = sha256File(join(bw, 'model.bin'));
      expect(mkRun(bw, ['add', 'model.bin'], env).status).toBe(0);

      const blobs = () => [...cacheBlobs(env.MK_CACHE_DIR).keys()];
      const r = JSON.parse(mkRun(a.dir, ['gc', '--json'], env).stdout);
      expect(r.clones).toBe(1);
      expect(blobs()).toContain(bModel);
      expect(blobs()).toContain(bStaged);
      // The clone is deleted: what only it needed may go now.
      b.cleanup();
      const r2 = JSON.parse(mkRun(a.dir, ['gc', '--json'], env).stdout);
      expect(r2.clones).toBe(0);
      expect(sorted(r2.removed.map((x: { digest: string }) => x.digest.slice(7)))).toEqual(sorted([bModel, bStaged]));
    } finally {
      a.cleanup();
      b.cleanup();
      shared.cleanup();
    }
  });
});
