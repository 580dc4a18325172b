/**
 * The laptop dies, the OOM killer strikes, a user hits kill -9: `mk checkout` and `mk add`
 * are killed with SIGKILL at random moments. Whatever the moment, every blob in the cache
 * still hashes to its name, every data file is byte-identical to its old or its new
 * content (never half-written), and the next mk command finishes the job.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTmpName } from '../../src/util/fs.js';
import { parsePointer } from '../../src/formats/pointer.js';
import { asRecord, corruptBlobs, put, randomBytesFrom, rng, sha256File, snapshotTree, tempLeftovers, type FileState } from '../support/files.js';
import { git, makeRepo, mk, mkJson, mkSpawn } from '../support/repo.js';

const SMALL = 300;
const BIG = 64 * 1024 * 1024;
const CHECKOUT_TRIALS = 12;
const ADD_TRIALS = 10;

/** Data files of the work tree (mk's own temporary files are not data), with their hashes. */
function dataFiles(dir: string): Map<string, FileState> {
  const out = new Map<string, FileState>();
  for (const [path, st] of snapshotTree(dir)) if (!isTmpName(path.split('/').pop()!)) out.set(path, st);
  return out;
}

const hashMemo = new Map<string, string>();
/** sha256 of a file, not re-read while its inode and times are unchanged (a kill often leaves it as it was). */
function hashOnce(path: string): string {
  const st = statSync(path);
  const key = `${path}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  let h = hashMemo.get(key);
  if (!h) hashMemo.set(key, (h = sha256File(path)));
  return h;
}

async function waitForGitIndexUnlock(dir: string): Promise<void> {
  // A killed mk may leave its `git add` child running for a moment.
  for (let i = 0; i < 100 && existsSync(join(dir, '.git', 'index.lock')); i++) await new Promise((r) => setTimeout(r, 20));
}

describe('mk killed at random moments (SIGKILL)', () => {
  let repo: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = makeRepo();
  });
  afterAll(() => repo.cleanup());
  const p = (rel: string) => join(repo.dir, rel);
  const seed = Number(process.env.MK_CRASH_SEED ?? Date.now() % 1_000_000);
  const rand = rng(seed);
  let killed = 0;
  let trials = 0;
  let leftBehind = 0; // trials after which temporary files were lying around (swept by the next run)

  it(`checkout and add leave a sound cache and whole files (seed ${seed})`, async () => {
    const t0 = Date.now();
    // Version A, then version B: every small file rewritten, some removed, some added, a new big file.
    const gen = rng(1234);
    for (let i = 0; i < SMALL; i++) put(p(`ds/s${i % 7}/f${String(i).padStart(3, '0')}.bin`), randomBytesFrom(gen, 2000 + (i % 13) * 300));
    put(p('weights.bin'), randomBytes(BIG));
    mk(repo.dir, 'add', 'ds', 'weights.bin');
    git(repo.dir, 'commit', '-qm', 'A');
    const dsA = dataFiles(p('ds'));
    const wA = sha256File(p('weights.bin'));
    for (let i = 0; i < SMALL; i++) put(p(`ds/s${i % 7}/f${String(i).padStart(3, '0')}.bin`), randomBytesFrom(gen, 2000 + (i % 11) * 300));
    for (let i = 0; i < 10; i++) rmSync(p(`ds/s${i % 7}/f${String(i).padStart(3, '0')}.bin`));
    for (let i = 0; i < 10; i++) put(p(`ds/new/g${i}.bin`), randomBytesFrom(gen, 5000));
    put(p('weights.bin'), randomBytes(BIG));
    // How long an uninterrupted add takes here, to spread the kills of phase 2 over it.
    const addB = await mkSpawn(repo.dir, ['add', 'ds', 'weights.bin']).done;
    expect(addB.status, addB.stderr).toBe(0);
    git(repo.dir, 'commit', '-qm', 'B');
    const dsB = dataFiles(p('ds'));
    const wB = sha256File(p('weights.bin'));

    const checkDataIsOldOrNew = (label: string) => {
      const now = dataFiles(p('ds'));
      for (const [path, st] of now) expect([dsA.get(path)?.sha, dsB.get(path)?.sha], `${label}: ds/${path}`).toContain(st.sha);
      // A file both versions have is never missing (it is replaced by rename, never deleted first).
      for (const path of dsA.keys()) if (dsB.has(path)) expect(now.has(path), `${label}: ds/${path} missing`).toBe(true);
      expect([wA, wB], `${label}: weights.bin`).toContain(hashOnce(p('weights.bin')));
      expect(corruptBlobs(p('.git/mk/cache')), `${label}: corrupt blobs`).toEqual([]);
    };

    // How long an uninterrupted checkout takes here (B -> A), to spread the kills over it.
    const full = await mkSpawn(repo.dir, ['checkout', 'HEAD~1']).done;
    expect(full.status, full.stderr).toBe(0);
    expect(asRecord(dataFiles(p('ds')))).toEqual(asRecord(dsA));
    // Each run that finishes before its kill narrows the window, so most kills land mid-work.
    let span = Math.max(full.ms, 300);

    // Phase 1: checkouts back and forth, each killed at a random moment.
    for (let i = 0; i < CHECKOUT_TRIALS; i++) {
      const target = i % 2 === 0 ? 'HEAD' : 'HEAD~1';
      const proc = mkSpawn(repo.dir, ['checkout', target]);
      const delay = 100 + rand() * span;
      await new Promise((r) => setTimeout(r, delay));
      proc.child.kill('SIGKILL');
      const r = await proc.done;
      trials++;
      if (r.signal === 'SIGKILL') killed++;
      else {
        expect(r.status, `checkout ${target} (not killed): ${r.stderr}`).toBe(0);
        span = Math.max(200, Math.min(span, r.ms) * 0.8);
      }
      await waitForGitIndexUnlock(repo.dir);
      if (tempLeftovers(repo.dir).length) leftBehind++;
      checkDataIsOldOrNew(`checkout trial ${i} (${target}, killed after ${Math.round(delay)} ms)`);
    }
    // The next checkout completes the job and sweeps what the killed ones left behind.
    mk(repo.dir, 'checkout', 'HEAD');
    expect(asRecord(dataFiles(p('ds')))).toEqual(asRecord(dsB));
    expect(sha256File(p('weights.bin'))).toBe(wB);
    expect(tempLeftovers(repo.dir)).toEqual([]);
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');

    // Phase 2: mk add of new content, killed at random moments.
    let addSpan = Math.max(addB.ms, 300);
    let lastGood = { ds: readFileSync(p('ds.mk.yaml'), 'utf8'), w: readFileSync(p('weights.bin.mk.yaml'), 'utf8') };
    for (let i = 0; i < ADD_TRIALS; i++) {
      for (let k = 0; k < 20; k++) put(p(`ds/s${k % 7}/f${String(20 + ((i * 20 + k) % 280)).padStart(3, '0')}.bin`), randomBytes(1500 + k * 10));
      put(p('weights.bin'), randomBytes(BIG));
      const proc = mkSpawn(repo.dir, ['add', 'ds', 'weights.bin']);
      const delay = 100 + rand() * addSpan;
      await new Promise((r) => setTimeout(r, delay));
      proc.child.kill('SIGKILL');
      const r = await proc.done;
      trials++;
      if (r.signal === 'SIGKILL') killed++;
      else {
        expect(r.status, `add (not killed): ${r.stderr}`).toBe(0);
        addSpan = Math.max(200, Math.min(addSpan, r.ms) * 0.8);
      }
      await waitForGitIndexUnlock(repo.dir);
      const label = `add trial ${i} (killed after ${Math.round(delay)} ms)`;
      if (tempLeftovers(repo.dir).length) leftBehind++;
      expect(corruptBlobs(p('.git/mk/cache')), label).toEqual([]);
      // Each pointer is whole: the one before, or a new one whose bytes are all in the cache.
      for (const [ptr, before] of [
        ['ds.mk.yaml', lastGood.ds],
        ['weights.bin.mk.yaml', lastGood.w],
      ] as const) {
        const text = readFileSync(p(ptr), 'utf8');
        expect(() => parsePointer(text, ptr), label).not.toThrow();
        if (text !== before) expect(mkJson(repo.dir, 'status', ptr.replace(/\.mk\.yaml$/, '')).artifacts[0].cached, `${label}: ${ptr} names bytes not in the cache`).toBe(true);
      }
      lastGood = { ds: readFileSync(p('ds.mk.yaml'), 'utf8'), w: readFileSync(p('weights.bin.mk.yaml'), 'utf8') };
    }
    // The next add completes, and what it recorded restores exactly.
    mk(repo.dir, 'add', 'ds', 'weights.bin');
    const dsC = dataFiles(p('ds'));
    const wC = sha256File(p('weights.bin'));
    expect(mkJson(repo.dir, 'status').artifacts.map((s: any) => [s.path, s.workspace, s.cached])).toEqual([
      ['ds', 'clean', true],
      ['weights.bin', 'clean', true],
    ]);
    git(repo.dir, 'commit', '-qm', 'C');
    rmSync(p('ds'), { recursive: true });
    rmSync(p('weights.bin'));
    mk(repo.dir, 'checkout');
    expect(asRecord(dataFiles(p('ds')))).toEqual(asRecord(dsC));
    expect(sha256File(p('weights.bin'))).toBe(wC);
    expect(tempLeftovers(repo.dir)).toEqual([]);
    expect(corruptBlobs(p('.git/mk/cache'))).toEqual([]);

    // The kills really landed mid-work most of the time.
    expect(trials).toBe(CHECKOUT_TRIALS + ADD_TRIALS);
    expect(killed, `only ${killed} of ${trials} runs were killed before they finished`).toBeGreaterThanOrEqual(Math.ceil(trials * 0.5));
    console.log(
      `crash test: seed ${seed}, ${killed}/${trials} runs killed mid-way (${leftBehind} left temporary files behind), first runs ${full.ms} ms (checkout) and ${addB.ms} ms (add), ${Date.now() - t0} ms in all`,
    );
  });
});

describe('what a killed mk leaves behind is swept, never taken for data', () => {
  it('temporary files of a dead process: invisible to status and add, removed by the next checkout', () => {
    const repo = makeRepo();
    try {
      const p = (rel: string) => join(repo.dir, rel);
      put(p('ds/a.txt'), 'a');
      put(p('ds/sub/b.txt'), 'b');
      put(p('model.bin'), 'model');
      mk(repo.dir, 'add', 'ds', 'model.bin');
      git(repo.dir, 'commit', '-qm', 'data');
      // What SIGKILL leaves mid-write: half-written temporaries named after a process that is gone.
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      const leftovers = [`ds/.a.txt.mk-tmp-${dead}-0badc0de`, `ds/sub/.c.txt.mk-tmp-${dead}-12345678`, `.model.bin.mk-tmp-${dead}-abcdef01`, `.model.bin.mk.yaml.mk-tmp-${dead}-abcdef02`];
      for (const l of leftovers) put(p(l), 'half-writ');
      // One of a live process (this one) is left alone.
      const live = `ds/.a.txt.mk-tmp-${process.pid}-00000001`;
      put(p(live), 'in progress');

      expect(mkJson(repo.dir, 'status').artifacts.map((s: any) => [s.path, s.workspace, s.changes])).toEqual([
        ['ds', 'clean', []],
        ['model.bin', 'clean', []],
      ]);
      const [added] = mkJson(repo.dir, 'add', 'ds').artifacts;
      expect(added.changed).toBe(false);
      expect(added.pointer.files).toBe(2);

      mk(repo.dir, 'checkout');
      expect(tempLeftovers(repo.dir)).toEqual([live]);
      expect(git(repo.dir, 'status', '--porcelain')).toBe('');
    } finally {
      repo.cleanup();
    }
  });

  it("a killed writer's partial blob in the cache's ingest folder and temporary index and state files go as soon as mk runs", () => {
    const repo = makeRepo();
    try {
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      const cache = join(repo.dir, '.git/mk/cache');
      const partial = join(cache, 'ingest', `0123456789abcdef-${dead}-0badc0de0001`);
      const liveOne = join(cache, 'ingest', `0123456789abcdef-${process.pid}-0badc0de0002`);
      const tmpIndex = join(cache, `.index.json.mk-tmp-${dead}-0badc0de`);
      const tmpState = join(repo.dir, '.git/mk', `.stat-cache.json.mk-tmp-${dead}-0badc0de`);
      for (const f of [partial, liveOne, tmpIndex, tmpState]) put(f, 'half-written');
      put(join(repo.dir, 'model.bin'), 'model');
      mk(repo.dir, 'add', 'model.bin');
      expect(existsSync(partial)).toBe(false);
      expect(existsSync(tmpIndex)).toBe(false);
      expect(existsSync(tmpState)).toBe(false);
      expect(existsSync(liveOne)).toBe(true); // a writer still at work keeps its file
    } finally {
      repo.cleanup();
    }
  });

  it('work already written by a killed run is staged by the rerun: checkout <rev> pointers, add .gitignore lines and Kitfile entries', () => {
    const repo = makeRepo();
    const p = (rel: string) => join(repo.dir, rel);
    try {
      put(p('ds/f'), 'a');
      mk(repo.dir, 'add', 'ds');
      git(repo.dir, 'commit', '-qm', 'A');
      put(p('ds/f'), 'b');
      mk(repo.dir, 'add', 'ds');
      git(repo.dir, 'commit', '-qm', 'B');
      mk(repo.dir, 'checkout', 'HEAD~1');
      git(repo.dir, 'commit', '-qm', 'back to A');
      // What a checkout of main killed before staging leaves: main's pointer in the work tree.
      writeFileSync(p('ds.mk.yaml'), git(repo.dir, 'show', 'main~1:ds.mk.yaml'));
      mk(repo.dir, 'checkout', 'main~1');
      expect(git(repo.dir, 'status', '--porcelain', '--', 'ds.mk.yaml')).toBe('M  ds.mk.yaml\n');

      // What mk add (or the pre-commit hook) killed before staging leaves: pointer, .gitignore
      // line and Kitfile entry written, the data file still staged.
      put(p('models/m.pt'), 'weights');
      git(repo.dir, 'add', '-f', 'models/m.pt');
      mk(repo.dir, 'add', '--no-stage', 'models/m.pt');
      git(repo.dir, 'add', '-f', 'models/m.pt'); // (--no-stage left the data staged, as the kill would)
      mk(repo.dir, 'add', 'models/m.pt');
      const staged = git(repo.dir, 'diff', '--cached', '--name-only').split('\n').filter(Boolean).sort();
      expect(staged).toEqual(['Kitfile', 'ds.mk.yaml', 'models/.gitignore', 'models/m.pt.mk.yaml']);
      git(repo.dir, 'commit', '-qm', 'model');
      expect(git(repo.dir, 'status', '--porcelain')).toBe('');
    } finally {
      repo.cleanup();
    }
  });
});
