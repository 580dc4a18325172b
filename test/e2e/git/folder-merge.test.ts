/**
 * Two branches change the same tracked folder: mk's merge driver merges it file by file
 * against the common base. Disjoint changes (one side adds 30 files, the other deletes 5 and
 * modifies 2) merge with no conflict through `git merge`, `git rebase` and `git pull
 * --rebase`, in the clone that made them and in clones that never had the other side's data
 * (its file lists and packs come from the local OCI layout remote). The merged pointer is
 * what `mk add` would record for the merged folder. Files changed differently on both sides
 * are listed one by one with the commands that pick a side; resolving as hinted and
 * committing works, and committing the other way round without restoring the data is stopped.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMkError, tempDir } from '../../support/repo.js';
import { bareRemote, fileSha, g, gitRun, head, identify, mk, mkRun, newRepo, pointerDigest, writeRandom } from './support.js';

let cleanup: () => void;
let root: string;
let A: string;
let store: string;
let origin: string;
const DIR = 'data/imgs';
/** path (inside the folder) → sha256 hex, per version. */
const base: Record<string, string> = {};
let theirs: Record<string, string> = {};
let ours: Record<string, string> = {};
let expected: Record<string, string> = {};
let mergedDigest = '';

/** Every file under `dir/data/imgs` with its sha256. */
function folder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, DIR, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === '.gitignore') continue; // the folder's marker (Git's file), not data
      if (e.isDirectory()) walk(r);
      else out[r] = fileSha(join(dir, DIR, r));
    }
  };
  walk('');
  return out;
}

/** The files a directory manifest in the layout remote lists (read as plain JSON, independently of mk). */
function manifestFiles(digestHex: string): Record<string, string> {
  const blob = (hex: string) => JSON.parse(readFileSync(join(store, 'blobs', 'sha256', hex), 'utf8'));
  const rootJson = blob(digestHex) as { lists: Array<{ digest: string }>; layers: Array<{ format: string; digest: string; path?: string }> };
  const out: Record<string, string> = {};
  for (const l of rootJson.layers) if (l.format === 'raw') out[l.path!] = l.digest.slice(7);
  for (const l of rootJson.lists) for (const [p, , , d] of (blob(l.digest.slice(7)) as { files: Array<[string, string, number, string]> }).files) out[p] = d.slice(7);
  return out;
}

function sorted(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Changes the folder, records it with mk add and commits. */
function commitFolder(dir: string, msg: string, change: () => void): void {
  change();
  mk(dir, 'add', DIR);
  g(dir, 'commit', '-q', '-m', msg);
}

beforeAll(() => {
  ({ dir: root, cleanup } = tempDir('mk-git-folder-merge-'));
  store = join(root, 'store');
  origin = bareRemote(join(root, 'origin.git'));
  A = newRepo(join(root, 'A'));
  // Small packs, so the 60-file folder has several packs and the merge must choose among them; files from 64 KiB are raw layers.
  appendFileSync(join(A, '.mk', 'config.yaml'), '\nstorage:\n  pack_target: 64KiB\n  raw_threshold: 64KiB\n');
  mk(A, 'remote', 'add', 'origin', store);
  g(A, 'remote', 'add', 'origin', origin);
  for (let i = 0; i < 60; i++) base[`f${String(i).padStart(2, '0')}.bin`] = writeRandom(join(A, DIR, `f${String(i).padStart(2, '0')}.bin`), 8000 + i * 37);
  base['sub/deep.bin'] = writeRandom(join(A, DIR, 'sub', 'deep.bin'), 3000);
  mk(A, 'add', DIR);
  g(A, 'add', '-A');
  g(A, 'commit', '-q', '-m', 'base');
  g(A, 'push', '-q', 'origin', 'main');

  // theirs (branch feature): 30 new files.
  g(A, 'switch', '-q', '-c', 'feature');
  theirs = { ...base };
  commitFolder(A, 'feature: 30 more images', () => {
    theirs['f11.bin'] = writeRandom(join(A, DIR, 'f11.bin'), 8407); // in the pack of f10, which ours changes
    for (let i = 0; i < 30; i++) theirs[`new/n${i}.bin`] = writeRandom(join(A, DIR, 'new', `n${i}.bin`), i === 0 ? 70_000 : 2000 + i); // n0: a raw layer of its own
  });
  g(A, 'push', '-q', 'origin', 'feature');

  // ours (main): 5 deleted, 2 modified.
  g(A, 'switch', '-q', 'main');
  expect(folder(A)).toEqual(base);
  ours = { ...base };
  commitFolder(A, 'main: drop 5, fix 2', () => {
    for (const i of ['03', '17', '31', '44', '58']) {
      rmSync(join(A, DIR, `f${i}.bin`));
      delete ours[`f${i}.bin`];
    }
    ours['f10.bin'] = writeRandom(join(A, DIR, 'f10.bin'), 1234);
    ours['sub/deep.bin'] = writeRandom(join(A, DIR, 'sub', 'deep.bin'), 70_001); // now a raw layer
  });
  g(A, 'branch', 'ours-tip'); // for the rebase below
  expected = { ...ours };
  for (const [p, d] of Object.entries(theirs)) if (base[p] !== d) expected[p] = d;
  expect(Object.keys(expected)).toHaveLength(61 - 5 + 30);
});
afterAll(() => cleanup?.());

describe('disjoint changes to one folder', () => {
  it('git merge merges them file by file, with no conflict', () => {
    const m = gitRun(A, ['merge', '-m', 'merge feature', 'feature']);
    expect(m.status, m.stderr + m.stdout).toBe(0);
    expect(m.stderr).toContain(`mk: merged the folder ${DIR} file by file (31 file change(s) from feature)`);
    expect(m.stdout + m.stderr).not.toContain('CONFLICT');
    expect(g(A, 'rev-list', '--parents', '-n', '1', 'HEAD').trim().split(' ')).toHaveLength(3);
    // post-merge restored the folder: theirs' new files are there, ours' changes stayed.
    expect(sorted(folder(A))).toEqual(sorted(expected));
    expect(mk(A, 'status')).toMatch(/^clean\s+data\/imgs/m);
    mergedDigest = pointerDigest(A, 'HEAD', DIR);
    expect(g(A, 'show', `HEAD:${DIR}.mk.yaml`)).toContain(`files: ${Object.keys(expected).length}`);
  });

  it('the merged pointer is what mk add records for the merged folder', () => {
    mk(A, 'add', DIR);
    expect(g(A, 'status', '--porcelain')).toBe('');
    expect(pointerDigest(A, 'HEAD', DIR)).toBe(mergedDigest);
  });

  it('the merge commit lists exactly the expected files with their digests; a fresh clone restores them', () => {
    g(A, 'push', '-q', 'origin', 'main', 'feature');
    expect(sorted(manifestFiles(mergedDigest))).toEqual(sorted(expected));
    // Large files (one from each side) keep raw layers; the small ones are in several packs.
    const layers = (JSON.parse(readFileSync(join(store, 'blobs', 'sha256', mergedDigest), 'utf8')) as { layers: Array<{ format: string; digest: string }> }).layers;
    expect(layers.filter((l) => l.format === 'raw')).toHaveLength(2);
    expect(layers.filter((l) => l.format === 'tar').length).toBeGreaterThan(3);
    // The pack where ours' f10 and theirs' f11 meet is new: written from the two sides' packs.
    const sideLayers = new Set(
      ['ours-tip', 'feature'].flatMap((rev) =>
        (JSON.parse(readFileSync(join(store, 'blobs', 'sha256', pointerDigest(A, rev, DIR)), 'utf8')) as { layers: Array<{ digest: string }> }).layers.map((l) => l.digest),
      ),
    );
    expect(layers.filter((l) => !sideLayers.has(l.digest)).length).toBeGreaterThan(0);
    const C = join(root, 'C');
    const r = mkRun(root, ['clone', origin, C]);
    expect(r.status, r.stderr).toBe(0);
    expect(sorted(folder(C))).toEqual(sorted(expected));
    expect(mk(C, 'pull')).toBeDefined();
    expect(sorted(folder(C))).toEqual(sorted(expected));
  });

  it('git rebase replays the other side file by file and gives the same folder and pointer', () => {
    g(A, 'switch', '-q', '-c', 'rb', 'feature');
    expect(sorted(folder(A))).toEqual(sorted(theirs));
    const r = gitRun(A, ['rebase', 'ours-tip']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    // During a rebase "theirs" is your commit being replayed.
    expect(r.stderr).toMatch(/mk: merged the folder data\/imgs file by file \(31 file change\(s\) from your commit [0-9a-f]{7,} "feature: 30 more images"\)/);
    expect(sorted(folder(A))).toEqual(sorted(expected));
    expect(pointerDigest(A, 'HEAD', DIR)).toBe(mergedDigest);
    expect(mk(A, 'status')).toMatch(/^clean\s+data\/imgs/m);
    g(A, 'switch', '-q', 'main');
  });

  it('a clone that never had the other branch: git merge fetches its file lists and packs from the remote', () => {
    // D's main is at ours, with ours' data only (git clone, then mk pull of that commit);
    // feature's root, file lists and new packs are only on the remote.
    const D = join(root, 'D');
    g(root, 'clone', '-q', '-b', 'main', origin, D);
    identify(D);
    mk(D, 'install');
    g(D, 'reset', '-q', '--hard', head(A, 'ours-tip'));
    mk(D, 'pull');
    expect(sorted(folder(D))).toEqual(sorted(ours));
    const featureRoot = pointerDigest(D, 'origin/feature', DIR);
    const cached = (hex: string) => existsSync(join(D, '.git', 'mk', 'cache', 'blobs', 'sha256', hex));
    const featureLists = (JSON.parse(readFileSync(join(store, 'blobs', 'sha256', featureRoot), 'utf8')) as { lists: Array<{ digest: string }> }).lists.map((l) => l.digest.slice(7));
    expect(cached(featureRoot)).toBe(false);
    expect(featureLists.filter((l) => !cached(l)).length).toBeGreaterThan(0);
    const m = gitRun(D, ['merge', '-m', 'merge origin/feature', 'origin/feature']);
    expect(m.status, m.stderr + m.stdout).toBe(0);
    expect(m.stderr).toContain('mk: merged the folder data/imgs file by file (31 file change(s) from origin/feature)');
    expect(sorted(folder(D))).toEqual(sorted(expected));
    expect(pointerDigest(D, 'HEAD', DIR)).toBe(mergedDigest);
    expect(featureRoot).not.toBe(mergedDigest);
    expect(featureLists.every(cached)).toBe(true);
    expect(cached(mergedDigest)).toBe(true);
  });

  it('git pull --rebase in a clone that lacks the upstream data', () => {
    // B starts at the base, commits theirs' change itself, then pulls the upstream (ours) with --rebase.
    const B = join(root, 'B');
    g(root, 'clone', '-q', '-b', 'feature', origin, B);
    identify(B);
    mk(B, 'install');
    mk(B, 'pull');
    const added = Array.from({ length: 30 }, (_, i) => readFileSync(join(B, DIR, 'new', `n${i}.bin`)));
    const f11 = readFileSync(join(B, DIR, 'f11.bin'));
    g(B, 'reset', '-q', '--hard', 'HEAD~1');
    mk(B, 'pull');
    expect(sorted(folder(B))).toEqual(sorted(base));
    commitFolder(B, 'B: the same change as feature', () => {
      mkdirSync(join(B, DIR, 'new'));
      for (let i = 0; i < 30; i++) writeFileSync(join(B, DIR, 'new', `n${i}.bin`), added[i]!);
      writeFileSync(join(B, DIR, 'f11.bin'), f11);
    });
    g(A, 'push', '-q', 'origin', 'ours-tip:refs/heads/upstream');
    const r = gitRun(B, ['pull', '--rebase', 'origin', 'upstream']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(/mk: merged the folder data\/imgs file by file \(31 file change\(s\) from your commit [0-9a-f]{7,} "B: the same change as feature"\)/);
    expect(sorted(folder(B))).toEqual(sorted(expected));
    expect(pointerDigest(B, 'HEAD', DIR)).toBe(mergedDigest);
    expect(mk(B, 'status')).toMatch(/^clean\s+data\/imgs/m);
  });
});

describe('the same files changed differently on both sides', () => {
  const v: Record<string, string> = {};
  let cOurs = '';

  beforeAll(() => {
    g(A, 'switch', '-q', '-c', 'c-theirs', 'main');
    commitFolder(A, 'c-theirs: retouch', () => {
      v.f20theirs = writeRandom(join(A, DIR, 'f20.bin'), 777);
      rmSync(join(A, DIR, 'f21.bin'));
      v.f40theirs = writeRandom(join(A, DIR, 'f40.bin'), 778);
    });
    g(A, 'switch', '-q', '-c', 'c-ours', 'main');
    commitFolder(A, 'c-ours: retouch', () => {
      v.f20ours = writeRandom(join(A, DIR, 'f20.bin'), 779);
      v.f21ours = writeRandom(join(A, DIR, 'f21.bin'), 780);
      v.xours = writeRandom(join(A, DIR, 'x.bin'), 781);
    });
    cOurs = head(A);
  });

  it('git merge stops, lists each file with what each side did and how to pick a side', () => {
    const m = gitRun(A, ['merge', '-m', 'merge c-theirs', 'c-theirs']);
    expect(m.status).not.toBe(0);
    expect(m.stdout).toContain(`CONFLICT (content): Merge conflict in ${DIR}.mk.yaml`);
    expect(m.stderr).toContain('mk: data/imgs: 2 file(s) changed differently on both sides (ours: c-ours; theirs: c-theirs):');
    expect(m.stderr).toContain(
      "mk:   data/imgs/f20.bin: ours modified it, theirs modified it; keep ours: 'mk checkout --ours -- data/imgs/f20.bin', keep theirs: 'mk checkout --theirs -- data/imgs/f20.bin'",
    );
    expect(m.stderr).toContain(
      "mk:   data/imgs/f21.bin: ours modified it, theirs deleted it; keep ours: 'mk checkout --ours -- data/imgs/f21.bin', keep theirs: 'mk checkout --theirs -- data/imgs/f21.bin' (deletes it)",
    );
    expect(m.stderr).toMatch(/^hint: .*'mk add data\/imgs' and 'git commit'/m);
    expect(g(A, 'diff', '--name-only', '--diff-filter=U')).toBe(`${DIR}.mk.yaml\n`);
    // The change that does not conflict is already in the work tree; conflicting files hold ours.
    expect(fileSha(join(A, DIR, 'f40.bin'))).toBe(v.f40theirs);
    expect(fileSha(join(A, DIR, 'f20.bin'))).toBe(v.f20ours);
    expect(fileSha(join(A, DIR, 'f21.bin'))).toBe(v.f21ours);
    expect(fileSha(join(A, DIR, 'x.bin'))).toBe(v.xours);
    expectMkError(mkRun(A, ['status']), /merge conflict/);
  });

  it('resolving as hinted (mk checkout --ours|--theirs per file, mk add, git commit) works', () => {
    expect(mk(A, 'checkout', '--theirs', '--', `${DIR}/f20.bin`)).toContain(`written   ${DIR}/f20.bin`);
    expect(mk(A, 'checkout', '--theirs', '--', `${DIR}/f21.bin`)).toContain(`removed   ${DIR}/f21.bin`);
    expect(existsSync(join(A, DIR, 'f21.bin'))).toBe(false);
    expect(mk(A, 'checkout', '--ours', '--', `${DIR}/f21.bin`)).toContain(`written   ${DIR}/f21.bin`);
    expect(fileSha(join(A, DIR, 'f21.bin'))).toBe(v.f21ours);
    mk(A, 'add', DIR);
    const c = gitRun(A, ['commit', '--no-edit']);
    expect(c.status, c.stderr).toBe(0);
    expect(g(A, 'rev-list', '--parents', '-n', '1', 'HEAD').trim().split(' ').slice(1)).toEqual([cOurs, head(A, 'c-theirs')]);
    const want = { ...expected, 'f20.bin': v.f20theirs!, 'f21.bin': v.f21ours!, 'f40.bin': v.f40theirs!, 'x.bin': v.xours! };
    expect(sorted(folder(A))).toEqual(sorted(want));
    expect(mk(A, 'status')).toMatch(/^clean\s+data\/imgs/m);
    g(A, 'push', '-q', 'origin', 'c-ours');
    expect(sorted(manifestFiles(pointerDigest(A, 'HEAD', DIR)))).toEqual(sorted(want));
  });

  it("taking theirs' pointer without restoring its data is stopped at commit, then mk checkout fixes it", () => {
    g(A, 'reset', '-q', '--hard', cOurs);
    mk(A, 'checkout');
    expect(gitRun(A, ['merge', '-m', 'merge c-theirs', 'c-theirs']).status).not.toBe(0);
    g(A, 'checkout', '--theirs', '--', `${DIR}.mk.yaml`);
    g(A, 'add', `${DIR}.mk.yaml`);
    const early = gitRun(A, ['commit', '--no-edit']);
    expect(early.status).not.toBe(0);
    expect(early.stderr).toContain('mk: data/imgs: the work tree holds the partly merged data mk placed during a conflicted merge');
    mk(A, 'checkout');
    expect(fileSha(join(A, DIR, 'f20.bin'))).toBe(v.f20theirs);
    const c = gitRun(A, ['commit', '--no-edit']);
    expect(c.status, c.stderr).toBe(0);
    expect(pointerDigest(A, 'HEAD', DIR)).toBe(pointerDigest(A, 'c-theirs', DIR));
  });

  it('after git merge --abort, the partly merged folder mk placed follows its pointer at the next commit, never recorded', () => {
    g(A, 'reset', '-q', '--hard', cOurs);
    mk(A, 'checkout');
    expect(gitRun(A, ['merge', '-m', 'merge c-theirs', 'c-theirs']).status).not.toBe(0);
    g(A, 'merge', '--abort');
    expect(fileSha(join(A, DIR, 'f40.bin'))).toBe(v.f40theirs); // the placed change stays, as the message said
    writeFileSync(join(A, 'notes.txt'), 'notes\n');
    g(A, 'add', 'notes.txt');
    // mk placed that data and the user did not change it: by the one rule it follows its
    // pointer (ours again), and nothing of it is recorded.
    const r = gitRun(A, ['commit', '-m', 'notes']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('mk: data/imgs held the data of another version than its pointer (git changed the pointer): restored the pointer');
    expect(fileSha(join(A, DIR, 'f40.bin'))).toBe(expected['f40.bin']);
    expect(pointerDigest(A, 'HEAD', DIR)).toBe(pointerDigest(A, cOurs, DIR));
  });

  it('during a rebase the sides are named: upstream and your commit', () => {
    g(A, 'switch', '-q', '-c', 'c-rb', 'c-theirs');
    g(A, 'branch', '-f', 'c-ours', cOurs); // before the merge above
    const sha = head(A).slice(0, 7);
    const r = gitRun(A, ['rebase', 'c-ours']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`mk: data/imgs: 2 file(s) changed differently on both sides (ours: upstream (c-ours); theirs: your commit ${sha} "c-theirs: retouch"):`);
    expect(r.stderr).toMatch(/^hint: .*'mk add data\/imgs' and 'git rebase --continue'; to give up: 'git rebase --abort'/m);
    // The whole folder as your commit has it (the upstream's new x.bin goes too).
    mk(A, 'checkout', '--theirs', '--', DIR);
    expect(fileSha(join(A, DIR, 'f20.bin'))).toBe(v.f20theirs);
    expect(existsSync(join(A, DIR, 'f21.bin'))).toBe(false);
    expect(existsSync(join(A, DIR, 'x.bin'))).toBe(false);
    mk(A, 'add', DIR);
    const c = gitRun(A, ['rebase', '--continue'], { GIT_EDITOR: 'true' });
    expect(c.status, c.stderr).toBe(0);
    const want: Record<string, string> = { ...expected, 'f20.bin': v.f20theirs!, 'f40.bin': v.f40theirs! };
    delete want['f21.bin'];
    expect(sorted(folder(A))).toEqual(sorted(want));
    expect(pointerDigest(A, 'HEAD', DIR)).toBe(pointerDigest(A, 'c-theirs', DIR));
    expect(mk(A, 'status')).toMatch(/^clean\s+data\/imgs/m);
  });
});
