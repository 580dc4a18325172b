/**
 * kill -9 while mk places a folder for `git switch`, `git reset`, `git merge`, `git rebase` and
 * `mk checkout` (inside the hook that does the work, or mk itself), at seeded random moments
 * spread over an uninterrupted run: rerunning the same command (and, where git has nothing
 * left to do and runs no hook, any mk command that places data) finishes the placement, and
 * nothing the user wrote is lost. Between the kill and the rerun, `mk status` never calls mk's
 * own half-placed folder the user's ("modified": the bug of issue 22, where the rerun then
 * refused and hinted 'mk add', which would have recorded a mix of two versions).
 *
 * Bounded by trial counts (MK_KILL_TRIALS per command, default 4), never by time.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng, snapshotTree, asRecord } from '../support/files.js';
import { copyRepo, tempDir } from '../support/repo.js';
import { findHook, gitAsync, gitOk, killAfter, mkAsync, mkOk, sleep, Span, start, startMk, type Proc, type Run } from './faults/support.js';

const TRIALS = Math.max(1, Number(process.env.MK_KILL_TRIALS ?? 4));
const SEED = Number(process.env.MK_KILL_SEED ?? 23);
const FILES = 600;

let root: { dir: string; cleanup: () => void };
let base: string;
const want: Record<string, Record<string, unknown>> = {};
const notesEdit = "the user's unsaved notes\n";

async function commitAll(dir: string, msg: string): Promise<void> {
  await mkOk(dir, ['add', 'ds', 'notes']);
  await gitOk(dir, ['add', '-A']);
  await gitOk(dir, ['commit', '-qm', msg]);
}

beforeAll(async () => {
  root = tempDir('mk-placement-kill-');
  base = join(root.dir, 'base');
  const rand = rng(SEED);
  await gitOk(root.dir, ['init', '-q', '-b', 'main', base]);
  for (const [k, v] of [
    ['user.name', 'Test'],
    ['user.email', 'test@example.com'],
    ['commit.gpgsign', 'false'],
  ])
    await gitOk(base, ['config', k!, v!]);
  await mkOk(base, ['init', '--no-filter']);
  await mkOk(base, ['install']);
  for (let i = 0; i < FILES; i++) put(join(base, `ds/d${i % 10}/f${i}.bin`), randomBytesFrom(rand, 1500 + (i % 13) * 100));
  for (let i = 0; i < 10; i++) put(join(base, `notes/n${i}.txt`), `note ${i}\n`);
  put(join(base, 'train.py'), 'print(1)\n');
  await commitAll(base, 'A');
  want.A = asRecord(snapshotTree(join(base, 'ds')));
  await gitOk(base, ['branch', 'code']);
  await gitOk(base, ['switch', '-q', '-c', 'two']);
  for (let i = 0; i < FILES; i += 2) put(join(base, `ds/d${i % 10}/f${i}.bin`), randomBytesFrom(rand, 1600 + (i % 11) * 100));
  for (let i = 0; i < 10; i++) put(join(base, `ds/new/g${i}.bin`), randomBytesFrom(rand, 2000));
  await commitAll(base, 'B');
  want.B = asRecord(snapshotTree(join(base, 'ds')));
  await gitOk(base, ['switch', '-q', 'code']);
  put(join(base, 'train.py'), 'print(2)\n');
  await gitOk(base, ['commit', '-qam', 'C: code only']);
  await gitOk(base, ['switch', '-q', 'main']);
  expect(asRecord(snapshotTree(join(base, 'ds')))).toEqual(want.A);
}, 300_000);

afterAll(() => root?.cleanup());

/** Waits for git (started detached) to start mk in one of `hooks`, lets it run `delayMs`, then SIGKILLs that mk process only. */
async function killHook(g: Proc, hooks: string[], delayMs: number): Promise<{ found: boolean; killed: boolean; afterMs: number }> {
  const pgid = g.child.pid!;
  let pid: number | undefined;
  while (!g.exited && pid === undefined) {
    for (const h of hooks) pid ??= findHook(pgid, h);
    if (pid === undefined) await sleep(3);
  }
  if (pid === undefined) return { found: false, killed: false, afterMs: 0 };
  const t0 = Date.now();
  while (Date.now() - t0 < delayMs) {
    if (!alive(pid)) return { found: true, killed: false, afterMs: Date.now() - t0 };
    await sleep(Math.min(4, delayMs - (Date.now() - t0)));
  }
  try {
    process.kill(pid, 'SIGKILL');
    return { found: true, killed: true, afterMs: Date.now() - t0 };
  } catch {
    return { found: true, killed: false, afterMs: Date.now() - t0 };
  }
}

function alive(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function temps(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/\.mk-tmp-/.test(e.name)) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

async function statusOf(dir: string): Promise<Record<string, string>> {
  const r = await mkAsync(dir, ['status', '--json']);
  if (r.status !== 0) throw new Error(`mk status failed:\n${r.stderr}`);
  return Object.fromEntries((JSON.parse(r.stdout).artifacts as Array<{ path: string; workspace: string }>).map((a) => [a.path, a.workspace]));
}

interface Scenario {
  name: string;
  /** The branch the trial starts on. */
  from: string;
  /** The command, and the hooks (or mk itself) that place the data. */
  cmd: string[];
  hooks?: string[];
  /** After a kill, and after rerunning `cmd`, git has nothing left to do: mk checkout places what is left. */
  gitIdle?: boolean;
  /** The command discards the user's changes (git reset --hard). */
  discards?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'git switch', from: 'main', cmd: ['git', 'switch', '-q', 'two'], hooks: ['reference-transaction', 'post-checkout'] },
  { name: 'git reset --keep', from: 'main', cmd: ['git', 'reset', '-q', '--keep', 'two'], hooks: ['reference-transaction'] },
  { name: 'git reset --hard', from: 'main', cmd: ['git', 'reset', '-q', '--hard', 'two'], hooks: ['reference-transaction'], discards: true },
  { name: 'git merge', from: 'main', cmd: ['git', 'merge', '-q', '--no-edit', 'two'], hooks: ['reference-transaction', 'post-merge'], gitIdle: true },
  { name: 'git rebase', from: 'code', cmd: ['git', 'rebase', '-q', 'two'], hooks: ['post-rewrite', 'reference-transaction'], gitIdle: true },
  { name: 'mk checkout', from: 'main', cmd: ['mk', 'checkout', 'two', '--', 'ds'] },
];

/** A fresh copy of the base on `from`, with the user's unsaved edits to notes/ (a folder no command here changes). */
async function fresh(from: string): Promise<{ dir: string; cleanup: () => void }> {
  const r = copyRepo(base);
  if (from !== 'main') {
    const s = await gitAsync(r.dir, ['switch', '-q', from]);
    if (s.status !== 0) throw new Error(s.stderr);
  }
  writeFileSync(join(r.dir, 'notes/n3.txt'), notesEdit);
  writeFileSync(join(r.dir, 'notes/mine.txt'), notesEdit);
  // A copy's index holds the original's stat data: refreshed, as any git command that reads the work tree would (git reset --keep does not).
  await gitOk(r.dir, ['update-index', '-q', '--refresh']);
  return r;
}

function run(s: Scenario, dir: string): Proc {
  return s.cmd[0] === 'mk' ? startMk(dir, s.cmd.slice(1)) : start('git', s.cmd.slice(1), dir, {}, true);
}

describe('kill -9 during a placement: rerunning finishes it, nothing the user wrote is lost', () => {
  for (const s of SCENARIOS) {
    it(`${s.name} (${TRIALS} kills at seeded random moments)`, { timeout: 120_000 * TRIALS }, async () => {
      const rand = rng(SEED + s.name.length * 7919);
      // An uninterrupted run sets the span the kills are spread over.
      const ref = await fresh(s.from);
      let span: Span;
      try {
        const r0: Run = await run(s, ref.dir).done;
        expect(r0.status, r0.stderr).toBe(0);
        expect(asRecord(snapshotTree(join(ref.dir, 'ds')))).toEqual(want.B);
        span = new Span(r0.ms);
      } finally {
        ref.cleanup();
      }
      let killed = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        const w = await fresh(s.from);
        const what = `${s.name}, trial ${trial}`;
        try {
          const delay = span.next(rand);
          const p = run(s, w.dir);
          let k: { killed: boolean };
          if (s.hooks) {
            const h = await killHook(p, s.hooks, delay);
            await p.done;
            k = h;
            if (!h.killed) span.finishedIn(h.afterMs);
          } else {
            const r = await killAfter(p, delay);
            k = r;
            if (!r.killed) span.finishedIn(r.run.ms);
          }
          if (k.killed) killed++;
          // Between the kill and the rerun: never the user's, whatever mk had written.
          const st = await statusOf(w.dir);
          expect(['clean', 'stale', 'interrupted'], `${what}: mk status calls ds ${st.ds} after the kill`).toContain(st.ds);
          if (!s.discards) expect(readFileSync(join(w.dir, 'notes/n3.txt'), 'utf8'), what).toBe(notesEdit);
          // The same command again, as a user would.
          const again = await run(s, w.dir).done;
          if (!s.gitIdle) expect(again.status, `${what}: the rerun:\n${again.stderr}`).toBe(0);
          if (s.gitIdle && (await statusOf(w.dir)).ds !== 'clean') await mkOk(w.dir, ['checkout', '--', 'ds']); // (notes holds the user's edits: plain mk checkout refuses to overwrite them)
          expect(asRecord(snapshotTree(join(w.dir, 'ds'))), `${what}: ds after the rerun (status after the kill: ${st.ds}; the rerun said:\n${again.stderr})`).toEqual(want.B);
          expect(temps(join(w.dir, 'ds')), what).toEqual([]);
          const after = await statusOf(w.dir);
          expect(after.ds, what).toBe('clean');
          if (s.discards) expect(after.notes, what).toBe('clean');
          else {
            expect(readFileSync(join(w.dir, 'notes/n3.txt'), 'utf8'), what).toBe(notesEdit);
            expect(readFileSync(join(w.dir, 'notes/mine.txt'), 'utf8'), what).toBe(notesEdit);
            expect(after.notes, what).toBe('modified');
          }
        } finally {
          w.cleanup();
        }
      }
      // Most kills land while mk works (the span shrinks to runs that finished first).
      expect(killed, `${s.name}: kills that landed`).toBeGreaterThanOrEqual(Math.ceil(TRIALS / 3));
    });
  }
});
