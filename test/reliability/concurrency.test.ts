/**
 * Two terminals, one repository: a user starts `mk add` on two datasets at once, or runs
 * mk while another mk still holds the lock. mk waits its turn (or says in one line that it
 * could not get it), and both results are intact.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePointer } from '../../src/formats/pointer.js';
import { asRecord, cacheBlobs, corruptBlobs, exists, put, randomBytesFrom, rng, snapshotTree, tempLeftovers } from '../support/files.js';
import { expectMkError, git, gitEnv, makeRepo, mk, mkJson, mkRun, mkSpawn } from '../support/repo.js';

describe('two mk processes at once', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  const lockPath = () => p('.git/mk/lock');

  beforeEach(() => {
    repo = makeRepo();
  });
  afterEach(() => repo.cleanup());

  it('a live lock holder makes mk wait, then give up in one line, changing nothing', () => {
    put(p('a.bin'), 'aaa');
    put(p('ds/x'), 'x');
    mk(repo.dir, 'add', 'ds');
    const blobs = [...cacheBlobs(p('.git/mk/cache')).keys()].sort();
    const gitStatus = git(repo.dir, 'status', '--porcelain');
    // This test process is alive: its pid in the lock file stands for a running mk.
    writeFileSync(lockPath(), `${process.pid} ${hostname()}`);
    rmSync(p('ds'), { recursive: true });

    for (const args of [['add', 'a.bin'], ['checkout'], ['gc']]) {
      const t0 = Date.now();
      const r = mkRun(repo.dir, args, { MK_LOCK_TIMEOUT: '1' });
      const ms = Date.now() - t0;
      expectMkError(r, new RegExp(`^mk: another mk process holds the lock .*\\.git/mk/lock \\(pid ${process.pid} on ${hostname()}\\)$`));
      expect(r.stderr).toMatch(/^hint: /m);
      expect(ms, args.join(' ')).toBeGreaterThanOrEqual(900); // it waited before giving up
    }
    expect(exists(p('a.bin.mk.yaml'))).toBe(false);
    expect(exists(p('ds'))).toBe(false);
    expect([...cacheBlobs(p('.git/mk/cache')).keys()].sort()).toEqual(blobs);
    expect(git(repo.dir, 'status', '--porcelain')).toBe(gitStatus);
    expect(readFileSync(lockPath(), 'utf8')).toBe(`${process.pid} ${hostname()}`); // not stolen

    // Read-only commands do not need the lock.
    expect(mkJson(repo.dir, 'status').artifacts.map((s: any) => s.workspace)).toEqual(['deleted']);

    // Once the holder is gone, the same commands succeed.
    rmSync(lockPath());
    mk(repo.dir, 'add', 'a.bin');
    mk(repo.dir, 'checkout');
    expect(readFileSync(p('ds/x'), 'utf8')).toBe('x');
    expect(exists(lockPath())).toBe(false);
  });

  it('a lock left by a process that died is taken over', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    writeFileSync(lockPath(), `${dead} ${hostname()}`);
    put(p('a.bin'), 'aaa');
    mk(repo.dir, 'add', 'a.bin');
    expect(exists(p('a.bin.mk.yaml'))).toBe(true);
    expect(exists(lockPath())).toBe(false);
  });

  it('an empty lock file (a process killed while taking the lock) does not block anyone', () => {
    writeFileSync(lockPath(), '');
    const old = (Date.now() - 10_000) / 1000;
    utimesSync(lockPath(), old, old);
    put(p('b.bin'), 'bbb');
    // No waiting allowed: the empty lock is taken over at once, or this fails.
    const r = mkRun(repo.dir, ['add', 'b.bin'], { MK_LOCK_TIMEOUT: '0' });
    expect(r.status, r.stderr).toBe(0);
    expect(exists(lockPath())).toBe(false);
    // Nor do the hooks: a commit runs pre-commit, which takes the lock.
    mk(repo.dir, 'install');
    writeFileSync(lockPath(), '');
    utimesSync(lockPath(), old, old);
    put(p('b.bin'), 'bbb2');
    const c = spawnSync('git', ['commit', '-qam', 'b'], { cwd: repo.dir, encoding: 'utf8', env: gitEnv({ MK_LOCK_TIMEOUT: '30' }) });
    expect(c.status, c.stderr).toBe(0);
    expect(git(repo.dir, 'show', 'HEAD:b.bin.mk.yaml')).toContain('size: 4');
    mk(repo.dir, 'uninstall');
  });

  it('a lock whose pid now belongs to another process (pid reuse) is taken over', () => {
    // This test process is alive, but it did not start at the time the lock names.
    writeFileSync(lockPath(), `${process.pid} ${hostname()} 1`);
    put(p('c.bin'), 'ccc');
    const r = mkRun(repo.dir, ['add', 'c.bin'], { MK_LOCK_TIMEOUT: '30' });
    expect(r.status, r.stderr).toBe(0);
    expect(exists(lockPath())).toBe(false);
  });

  it('two mk add on different large folders at once both succeed, and both restore exactly', async () => {
    const rand = rng(77);
    for (const name of ['left', 'right']) {
      for (let i = 0; i < 400; i++) put(p(`${name}/d${i % 10}/f${i}.bin`), randomBytesFrom(rand, 1000 + (i % 50) * 100));
      put(p(`${name}/big.bin`), randomBytesFrom(rand, 24 * 1024 * 1024));
    }
    const left = snapshotTree(p('left'));
    const right = snapshotTree(p('right'));

    const a = mkSpawn(repo.dir, ['add', 'left']);
    const b = mkSpawn(repo.dir, ['add', 'right']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.status, ra.stderr).toBe(0);
    expect(rb.status, rb.stderr).toBe(0);

    // Both pointers are there, valid, staged; both data paths are ignored.
    const staged = git(repo.dir, 'diff', '--cached', '--name-only').split('\n');
    for (const name of ['left', 'right']) {
      const ptr = parsePointer(readFileSync(p(`${name}.mk.yaml`), 'utf8'), `${name}.mk.yaml`);
      expect(ptr.files).toBe(401);
      expect(staged).toContain(`${name}.mk.yaml`);
    }
    expect(readFileSync(p('.gitignore'), 'utf8').split('\n').filter(Boolean).sort()).toEqual(['/left', '/right']);
    expect(corruptBlobs(p('.git/mk/cache'))).toEqual([]);
    expect(exists(lockPath())).toBe(false);
    git(repo.dir, 'commit', '-qm', 'both');

    // Both restore, also when two checkouts run at once.
    rmSync(p('left'), { recursive: true });
    rmSync(p('right'), { recursive: true });
    const c = mkSpawn(repo.dir, ['checkout', '--', 'left']);
    const d = mkSpawn(repo.dir, ['checkout', '--', 'right']);
    const [rc, rd] = await Promise.all([c.done, d.done]);
    expect(rc.status, rc.stderr).toBe(0);
    expect(rd.status, rd.stderr).toBe(0);
    expect(asRecord(snapshotTree(p('left')))).toEqual(asRecord(left));
    expect(asRecord(snapshotTree(p('right')))).toEqual(asRecord(right));
    expect(tempLeftovers(repo.dir)).toEqual([]);
    expect(mkJson(repo.dir, 'status').artifacts.map((s: any) => [s.path, s.workspace, s.commit])).toEqual([
      ['left', 'clean', 'committed'],
      ['right', 'clean', 'committed'],
    ]);
  });

  it('mk add and mk gc at once: gc never removes what the add is storing', async () => {
    const rand = rng(78);
    for (let i = 0; i < 300; i++) put(p(`ds/f${i}.bin`), randomBytesFrom(rand, 3000));
    put(p('ds/big.bin'), randomBytesFrom(rand, 16 * 1024 * 1024));
    const ds = snapshotTree(p('ds'));
    const a = mkSpawn(repo.dir, ['add', 'ds']);
    await new Promise((r) => setTimeout(r, 150));
    const g = mkSpawn(repo.dir, ['gc']);
    const [ra, rg] = await Promise.all([a.done, g.done]);
    expect(ra.status, ra.stderr).toBe(0);
    expect(rg.status, rg.stderr).toBe(0);
    rmSync(p('ds'), { recursive: true });
    mk(repo.dir, 'checkout');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(ds));
  });
});
