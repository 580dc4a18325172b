/**
 * The pre-commit hook moves new large data out of the index and its pointer in. A laptop that
 * dies (kill -9) in the middle of it must never leave the index with the data taken out and
 * no pointer in its place: the next `git commit` would then silently leave the data out.
 * Whatever the moment, the index holds one or the other, and committing again records the
 * pointer and not the bytes.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng } from '../support/files.js';
import { copyRepo, git, gitEnv, makeRepo, mk } from '../support/repo.js';

const TRIALS = 12;

/** Pids of the processes under `root` (by parent pid, from /proc). */
function descendants(root: number): Array<{ pid: number; cmd: string }> {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmd.set(Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      /* gone */
    }
  }
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const [pid, pp] of parent) {
    for (let p = pp, i = 0; p > 1 && i < 10; p = parent.get(p) ?? 0, i++) {
      if (p === root) {
        out.push({ pid, cmd: cmd.get(pid) ?? '' });
        break;
      }
    }
  }
  return out;
}

describe('kill -9 inside the pre-commit hook', () => {
  let base: { dir: string; cleanup: () => void };
  beforeAll(() => {
    base = makeRepo();
    const rand = rng(21);
    mk(base.dir, 'install');
    put(join(base.dir, '.mk/config.yaml'), 'version: 1\ntrack: ["data/raw/", "*.bin"]\n');
    git(base.dir, 'add', '-A');
    git(base.dir, 'commit', '-qm', 'setup');
    for (let i = 0; i < 400; i++) put(join(base.dir, `data/raw/r${i % 9}/f${i}.csv`), randomBytesFrom(rand, 4000 + (i % 7) * 500));
    put(join(base.dir, 'model.bin'), randomBytesFrom(rand, 24 << 20));
    git(base.dir, 'add', '-A'); // the user stages everything, bytes and all
  });
  afterAll(() => base.cleanup());

  it(`the index holds the data or its pointer, never neither (${TRIALS} kills at random moments)`, async () => {
    const rand = rng(Number(process.env.MK_CRASH_SEED ?? 5));
    let killedInHook = 0;
    // How long the hook runs here, to spread the kills over it.
    const timing = copyRepo(base.dir);
    const t0 = Date.now();
    git(timing.dir, 'commit', '-qm', 'data');
    const span = Date.now() - t0;
    timing.cleanup();
    for (let trial = 0; trial < TRIALS; trial++) {
      const r = copyRepo(base.dir);
      try {
        const child = spawn('git', ['commit', '-qm', 'data'], { cwd: r.dir, env: gitEnv(), stdio: 'ignore' });
        const done = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
        // Wait for the hook's mk process, then kill it after a random part of its run.
        let hook: number | undefined;
        for (let i = 0; i < 400 && hook === undefined; i++) {
          hook = descendants(child.pid!).find((d) => d.cmd.includes('hook pre-commit') && d.cmd.includes('mk.js'))?.pid;
          if (hook === undefined) await new Promise((s) => setTimeout(s, 5));
        }
        if (hook !== undefined) {
          await new Promise((s) => setTimeout(s, Math.floor(rand() * span * 0.9)));
          try {
            process.kill(hook, 'SIGKILL');
            killedInHook++;
          } catch {
            /* it finished first */
          }
        }
        await done;
        // Let a git child of the killed hook finish (it holds index.lock until then).
        for (let i = 0; i < 200 && readdirSync(join(r.dir, '.git')).includes('index.lock'); i++) await new Promise((s) => setTimeout(s, 10));
        const index = git(r.dir, 'ls-files').split('\n').filter(Boolean);
        const hasRaw = index.some((p) => p.startsWith('data/raw/'));
        const hasRawPointer = index.includes('data/raw.mk.yaml');
        const hasModel = index.includes('model.bin');
        const hasModelPointer = index.includes('model.bin.mk.yaml');
        expect(hasRaw || hasRawPointer, `trial ${trial}: data/raw neither staged nor its pointer`).toBe(true);
        expect(hasModel || hasModelPointer, `trial ${trial}: model.bin neither staged nor its pointer`).toBe(true);
        // Committing again records the pointers, never the bytes.
        const committed = git(r.dir, 'log', '--format=%s').includes('data');
        if (!committed) git(r.dir, 'commit', '-qm', 'data');
        const tree = git(r.dir, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n');
        expect(tree, `trial ${trial}`).toContain('data/raw.mk.yaml');
        expect(tree, `trial ${trial}`).toContain('model.bin.mk.yaml');
        expect(
          tree.filter((p) => p.startsWith('data/raw/') || p === 'model.bin'),
          `trial ${trial}`,
        ).toEqual([]);
      } finally {
        r.cleanup();
      }
    }
    expect(killedInHook).toBeGreaterThanOrEqual(TRIALS / 2);
  });
});
