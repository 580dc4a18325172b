/**
 * Fault injection, end to end: real mk (bin/mk.js), real git with mk's hooks installed, a
 * real docker-registry behind the fault proxy. Each trial injects one fault — SIGKILL of an
 * mk command or of mk inside a git hook at a seeded random moment, or a registry that
 * answers 500/503/429, resets a connection mid-body, truncates a body or flips a byte —
 * then runs the same command again without the fault, and checks: the work tree holds
 * exactly what it should (old or new while interrupted, never torn), every blob in the
 * cache and on the remote hashes to its name, nothing temporary is left, an unsaved edit
 * survives, the git remote never gets a commit whose data the mk remote lacks, the index
 * never loses a staged data file, and every failure is one clean `mk:` line.
 *
 * A third kind of trial races `mk gc` in one clone against `mk add` + `git commit` in another
 * that shares its cache: what was committed must stay in the cache.
 *
 * CI runs ~120 faults; `npm run faults` (MK_FAULTS_SCALE=10) runs the same trials ×10 and
 * writes docs/RELIABILITY.md. MK_FAULTS_SEED=<seed> replays a run (the seed is printed).
 * Every category is bounded by its trial count, no lane by a clock (see LANES below).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePointer } from '../../../src/formats/pointer.js';
import { startFaultProxy, type Fault, type FaultMatch, type FaultProxy, type FaultRule } from '../../support/fault-proxy.js';
import { put, randomBytesFrom, rng, tempLeftovers } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { tempDir } from '../../support/repo.js';
import { buildBase, changeDs, copy, DATA, head, MOVING, show, versionB, writeBig } from './data.js';
import {
  corruptRegistryBlobs,
  dataState,
  expectCleanError,
  expectNoInternalError,
  expectNone,
  expectOldOrNew,
  expectSoundLayout,
  expectState,
  gitAsync,
  gitOk,
  hashOnce,
  killAfter,
  killHookAfter,
  Leftovers,
  mkAsync,
  mkOk,
  pointerDigest,
  SCALE,
  SEED,
  sleep,
  Span,
  start,
  startMk,
  Tally,
  type Run,
  type Trial,
} from './support.js';

const tally = new Tally();
let root: string;
let cleanupRoot: () => void;
let base: string;
let reg: RunningRegistry;
const proxies: FaultProxy[] = [];
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  console.log(`fault injection: seed ${SEED} (replay with MK_FAULTS_SEED=${SEED}), scale ${SCALE}`);
  ({ dir: root, cleanup: cleanupRoot } = tempDir('mk-faults-'));
  base = join(root, 'base');
  await buildBase(base);
  reg = await startRegistry();
});

/** The lanes running (see LANES): the teardown waits for them, so no trial runs in a folder it removes. */
const lanesRunning: Array<Promise<void>> = [];

afterAll(async () => {
  // A lane still running here (its test failed by a hang guard) stops after the trial in
  // flight: removing its folders under it would fail that trial for nothing mk did.
  tally.stopping = true;
  await Promise.allSettled(lanesRunning);
  console.log(`\nfault injection summary (seed ${SEED}, scale ${SCALE}):\n${tally.table()}\n\nby kind:\n${tally.kinds()}`);
  for (const f of tally.failures) console.log(`FAILED [${f.category}] MK_FAULTS_SEED=${SEED} trial ${f.trial}: ${f.what}\n  ${f.message.split('\n').join('\n  ')}`);
  tally.save();
  for (const p of proxies) await p.stop();
  await reg?.stop();
  for (const c of cleanups) c();
  cleanupRoot?.();
});

function work(template: string): string {
  const c = copy(template);
  cleanups.push(c.cleanup);
  return c.dir;
}

function scratch(prefix: string): string {
  const t = tempDir(prefix);
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A killed mk may leave its `git add` child running for a moment. */
async function indexUnlocked(dir: string): Promise<void> {
  for (let i = 0; i < 150 && existsSync(join(dir, '.git', 'index.lock')); i++) await new Promise((r) => setTimeout(r, 20));
}

function pointersWhole(dir: string, paths: string[], what: string): void {
  for (const p of paths) {
    const f = join(dir, `${p}.mk.yaml`);
    try {
      parsePointer(readFileSync(f, 'utf8'), `${p}.mk.yaml`);
    } catch (e) {
      throw new Error(`${what}: ${p}.mk.yaml is not a whole pointer: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** The work tree's pointers (and the index's) are exactly `rev`'s. */
async function pointersAre(dir: string, rev: string, paths: string[], what: string): Promise<void> {
  const ptrs = paths.map((p) => `${p}.mk.yaml`);
  const names = async (args: string[]) => (await gitOk(dir, ['diff', '--name-only', ...args, rev, '--', ...ptrs])).split('\n').filter(Boolean).join(', ');
  const wt = await names([]);
  const idx = await names(['--cached']);
  if (wt || idx) throw new Error(`${what}: pointers differ from ${rev.slice(0, 12)} (work tree: ${wt || '-'}; index: ${idx || '-'})`);
}

/** `mk status --json`: every artifact clean and cached. */
async function statusClean(dir: string, what: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await mkOk(dir, ['status', '--json'], extraEnv);
  const bad = (JSON.parse(r.stdout) as { artifacts: Array<{ path: string; workspace: string; cached: boolean }> }).artifacts.filter((s) => s.workspace !== 'clean' || !s.cached);
  if (bad.length) throw new Error(`${what}: mk status: ${bad.map((s) => `${s.path} ${s.workspace}${s.cached ? '' : ' (not cached)'}`).join(', ')}`);
}

/**
 * The strongest check that nothing was lost: a clone with an empty cache of its own pulls
 * `sha` from the mk remote and gets exactly `want`.
 */
async function freshPull(verifier: string, sha: string, want: Map<string, string>, what: string): Promise<void> {
  await gitOk(verifier, ['fetch', '-q', 'origin']);
  await gitOk(verifier, ['checkout', '-q', '--detach', sha]);
  for (const p of DATA) rmSync(join(verifier, p), { recursive: true, force: true });
  const cache = scratch('mk-faults-vcache-');
  await mkOk(verifier, ['pull'], { MK_CACHE_DIR: cache });
  expectState(dataState(verifier, DATA), want, `${what}: a fresh clone pulling ${sha.slice(0, 12)}`);
  rmSync(cache, { recursive: true, force: true });
}

async function verifyRemote(dir: string, rev: string, what: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await mkAsync(dir, ['verify', rev], extraEnv);
  if (r.status !== 0) throw new Error(`${what}: mk verify ${rev} failed (the remote lacks or mangles data):\n${r.stderr}${r.stdout}`);
}

// =============================================================================================
// SIGKILL of mk commands

/** Ends a kill trial's first phase: a run the kill did not reach must have succeeded, and narrows the span. */
function landed(t: Trial, span: Span, run: Run, killed: boolean, kind: string): void {
  t.kind = kind;
  t.injected = killed;
  if (killed) return;
  if (run.status !== 0) throw new Error(`finished before the kill, but failed: exit ${run.status}\n${run.stderr}`);
  span.finishedIn(run.ms);
}

async function killAdd(): Promise<void> {
  const tmpl = work(base);
  let dir = work(tmpl);
  const cache = () => join(dir, '.git', 'mk', 'cache');
  changeDs(dir, rng(1), 5);
  const first = await mkOk(dir, ['add', 'ds', 'weights.bin']);
  const span = new Span(first.ms + 150);
  await tally.category(
    'kill: mk add',
    10,
    async (t) => {
      const big = t.n % 2 === 0;
      changeDs(dir, t.rand, 20);
      if (big) writeBig(dir, t.rand);
      const want = dataState(dir, DATA);
      const left = new Leftovers([dir, join(dir, '.git', 'mk')]);
      const delay = span.next(t.rand);
      t.what = `mk add ds weights.bin (${big ? 'new 16 MiB weights.bin + ' : ''}20 changed files), SIGKILL after ${delay} ms`;
      const { run, killed } = await killAfter(startMk(dir, ['add', 'ds', 'weights.bin']), delay);
      landed(t, span, run, killed, big ? 'during an add with a large file' : 'during an add of small files');
      await indexUnlocked(dir);
      // While interrupted: a sound cache, whole pointers, the data untouched.
      expectSoundLayout(cache(), 'after the kill');
      pointersWhole(dir, MOVING, 'after the kill');
      expectState(dataState(dir, DATA), want, 'after the kill (mk add must not touch data)');
      // The same command again finishes the job.
      await mkOk(dir, ['add', 'ds', 'weights.bin']);
      await statusClean(dir, 'after the rerun');
      if (pointerDigest(readFileSync(join(dir, 'weights.bin.mk.yaml'), 'utf8')) !== hashOnce(join(dir, 'weights.bin')))
        throw new Error('after the rerun: weights.bin.mk.yaml does not record weights.bin');
      expectSoundLayout(cache(), 'after the rerun');
      await t.soft(() => left.check('after the rerun'));
      // What it recorded restores exactly.
      await gitOk(dir, ['commit', '-qm', `t${t.n}`]);
      for (const p of MOVING) rmSync(join(dir, p), { recursive: true });
      await mkOk(dir, ['checkout']);
      expectState(dataState(dir, DATA), want, 'restored from what the rerun recorded');
    },
    () => {
      dir = work(tmpl);
    },
  );
}

async function killCheckout(): Promise<void> {
  const tmpl = work(base);
  const A = await head(tmpl);
  versionB(tmpl, rng(7));
  await mkOk(tmpl, ['add', 'ds', 'weights.bin']);
  await gitOk(tmpl, ['commit', '-qm', 'B']);
  const B = await head(tmpl);
  const stateB = dataState(tmpl, MOVING);
  const full = await mkOk(tmpl, ['checkout', A, '--', ...MOVING]);
  const stateA = dataState(tmpl, MOVING);
  const states: Record<string, Map<string, string>> = { [A]: stateA, [B]: stateB };
  let dir = '';
  let current = A;
  const fresh = () => {
    dir = work(tmpl);
    current = A;
    // Unsaved work: an edit of a tracked data file that is not checked out, and of code.
    writeFileSync(join(dir, 'other.bin'), 'an unsaved edit of a tracked file\n');
    writeFileSync(join(dir, 'train.py'), 'print("an unsaved code edit")\n');
  };
  fresh();
  const userState = () => dataState(dir, ['other.bin', 'train.py']);
  const mine = userState();
  const span = new Span(full.ms + 100);
  await tally.category(
    'kill: mk checkout',
    12,
    async (t) => {
      const target = current === A ? B : A;
      const left = new Leftovers([dir, join(dir, '.git', 'mk')]);
      const delay = span.next(t.rand);
      t.what = `mk checkout ${target.slice(0, 12)} -- ds weights.bin (from ${current.slice(0, 12)}), SIGKILL after ${delay} ms`;
      const { run, killed } = await killAfter(startMk(dir, ['checkout', target, '--', ...MOVING]), delay);
      landed(t, span, run, killed, 'during a checkout');
      await indexUnlocked(dir);
      expectOldOrNew(dataState(dir, MOVING), stateA, stateB, 'after the kill');
      expectState(userState(), mine, 'after the kill: the unsaved edits');
      expectSoundLayout(join(dir, '.git/mk/cache'), 'after the kill');
      await mkOk(dir, ['checkout', target, '--', ...MOVING]);
      current = target;
      expectState(dataState(dir, MOVING), states[target]!, 'after the rerun');
      expectState(userState(), mine, 'after the rerun: the unsaved edits');
      await pointersAre(dir, target, MOVING, 'after the rerun');
      expectSoundLayout(join(dir, '.git/mk/cache'), 'after the rerun');
      await t.soft(() => left.check('after the rerun'));
    },
    fresh,
  );
}

type RemoteKind = 'layout' | 'registry';
interface MkRemote {
  src: string;
  url: string;
  remoteSound: (what: string) => void;
  remoteRoots: () => string[];
}
const remotes = new Map<RemoteKind, MkRemote>();
/** A copy of the base repository whose default mk remote is a layout folder or a registry repository (no fault proxy). */
async function mkRemote(kind: RemoteKind): Promise<MkRemote> {
  let r = remotes.get(kind);
  if (r) return r;
  const src = work(base);
  const url = kind === 'layout' ? join(scratch('mk-faults-store-'), 'store') : `oci://${reg.host}/faults/kill`;
  await mkOk(src, ['remote', 'add', 'origin', url]);
  await gitOk(src, ['commit', '-qam', 'remote']);
  r = {
    src,
    url,
    remoteSound: (what: string) => {
      if (kind === 'layout') expectSoundLayout(url, `${what}: the remote`);
      else expectNone(corruptRegistryBlobs(reg.rootDir), `${what}: registry blobs whose bytes do not match their digest`);
    },
    remoteRoots: () => (kind === 'layout' ? [url] : []),
  };
  remotes.set(kind, r);
  return r;
}

async function killPush(kind: RemoteKind): Promise<void> {
  const { src, remoteSound, remoteRoots } = await mkRemote(kind);
  const tmpl = work(src);
  await mkOk(tmpl, ['push']);
  let dir = work(tmpl);
  const verifier = scratch('mk-faults-verify-');
  await gitOk(verifier, ['clone', '-q', dir, '.']);
  changeDs(dir, rng(2), 30);
  await mkOk(dir, ['add', 'ds']);
  await gitOk(dir, ['commit', '-qm', 'warm-up']);
  const r0 = await mkOk(dir, ['push']);
  const span = new Span(r0.ms + 200);
  await tally.category(
    `kill: mk push (${kind})`,
    8,
    async (t) => {
      const big = t.n % 2 === 0;
      changeDs(dir, t.rand, 30);
      if (big) writeBig(dir, t.rand);
      await mkOk(dir, ['add', 'ds', 'weights.bin']);
      await gitOk(dir, ['commit', '-qm', `t${t.n}`]);
      const sha = await head(dir);
      const want = dataState(dir, DATA);
      const left = new Leftovers([dir, join(dir, '.git', 'mk'), ...remoteRoots()]);
      const delay = span.next(t.rand);
      t.what = `mk push of ${sha.slice(0, 12)} (${big ? 'new 16 MiB file + ' : ''}30 changed files) to the ${kind} remote, SIGKILL after ${delay} ms`;
      const { run, killed } = await killAfter(startMk(dir, ['push']), delay);
      landed(t, span, run, killed, big ? 'during a push with a large file' : 'during a push of small files');
      remoteSound('after the kill');
      expectSoundLayout(join(dir, '.git/mk/cache'), 'after the kill');
      await mkOk(dir, ['push']);
      remoteSound('after the rerun');
      await verifyRemote(dir, 'HEAD', 'after the rerun');
      await gitOk(verifier, ['remote', 'set-url', 'origin', dir]);
      await freshPull(verifier, sha, want, 'after the rerun');
      expectSoundLayout(join(dir, '.git/mk/cache'), 'after the rerun');
      await t.soft(() => left.check('after the rerun'));
    },
    () => {
      dir = work(tmpl);
    },
  );
}

async function killPull(kind: RemoteKind): Promise<void> {
  const { src, remoteRoots } = await mkRemote(kind);
  // Two versions on the remote; a clone goes back and forth between them with a cache
  // that holds only the version it is on, so every pull downloads.
  const s = work(src);
  const X = await head(s);
  versionB(s, rng(11));
  await mkOk(s, ['add', 'ds', 'weights.bin']);
  await gitOk(s, ['commit', '-qm', 'Y']);
  const Y = await head(s);
  const stateY = dataState(s, MOVING);
  await mkOk(s, ['push', X, Y]);
  const clone = scratch('mk-faults-clone-');
  await gitOk(clone, ['clone', '-q', s, '.']);
  let cacheDir = scratch('mk-faults-cache-');
  const e = () => ({ MK_CACHE_DIR: cacheDir });
  const first = await mkOk(clone, ['pull', X], e());
  const stateX = dataState(clone, MOVING);
  const states: Record<string, Map<string, string>> = { [X]: stateX, [Y]: stateY };
  let current = X;
  const span = new Span(first.ms + 100);
  await tally.category(
    `kill: mk pull (${kind})`,
    8,
    async (t) => {
      const target = current === X ? Y : X;
      const old = cacheDir;
      cacheDir = scratch('mk-faults-cache-');
      rmSync(old, { recursive: true, force: true });
      await mkOk(clone, ['fetch', current], e());
      const left = new Leftovers([clone, join(clone, '.git', 'mk'), cacheDir, ...remoteRoots()]);
      const delay = span.next(t.rand);
      t.what = `mk pull ${target.slice(0, 12)} from the ${kind} remote (work tree at ${current.slice(0, 12)}, a cache holding only that), SIGKILL after ${delay} ms`;
      const { run, killed } = await killAfter(startMk(clone, ['pull', target], e()), delay);
      landed(t, span, run, killed, 'during a pull');
      await indexUnlocked(clone);
      expectOldOrNew(dataState(clone, MOVING), stateX, stateY, 'after the kill');
      expectSoundLayout(cacheDir, 'after the kill: the cache');
      await mkOk(clone, ['pull', target], e());
      current = target;
      expectState(dataState(clone, MOVING), states[target]!, 'after the rerun');
      await pointersAre(clone, target, MOVING, 'after the rerun');
      expectSoundLayout(cacheDir, 'after the rerun: the cache');
      await t.soft(() => left.check('after the rerun'));
    },
    async () => {
      // Back to a known state: the current version, forced.
      await mkAsync(clone, ['pull', current], e());
      await mkAsync(clone, ['checkout', '--force', current], e());
    },
  );
}

// =============================================================================================
// SIGKILL of mk inside git hooks

let hookedTemplate: string | undefined;
/** A copy of the base repository with mk's hooks installed (`mk install`). */
async function hooked(): Promise<string> {
  if (!hookedTemplate) {
    const dir = work(base);
    await mkOk(dir, ['install']);
    hookedTemplate = dir;
  }
  return hookedTemplate;
}

async function killPreCommit(): Promise<void> {
  const tmpl = await hooked();
  let dir = work(tmpl);
  const cache = () => join(dir, '.git', 'mk', 'cache');
  const span = new Span(700);
  await tally.category(
    'kill: pre-commit hook',
    14,
    async (t) => {
      const newModel = t.n % 2 === 1;
      const before = await head(dir);
      writeFileSync(join(dir, 'train.py'), `print(${t.n})\n`);
      let args: string[];
      const model = `models/m${t.n}.pt`;
      if (newModel) {
        put(join(dir, model), randomBytesFrom(t.rand, (1 + Math.floor(t.rand() * 4)) << 20));
        await gitOk(dir, ['add', model, 'train.py']);
        args = ['commit', '-q', '-m', `t${t.n}`];
      } else {
        changeDs(dir, t.rand, 20);
        if (t.n % 4 === 0) writeBig(dir, t.rand);
        args = ['commit', '-q', '-a', '-m', `t${t.n}`];
      }
      const want = dataState(dir, DATA);
      const left = new Leftovers([dir, join(dir, '.git', 'mk')]);
      const delay = span.next(t.rand);
      t.what = `git ${args.join(' ')} (${newModel ? `${model} added, matched by *.pt` : 'ds/ and weights.bin changed'}), mk in the pre-commit hook SIGKILLed ${delay} ms after it started`;
      const g = start('git', args, dir, {}, true);
      const k = await killHookAfter(g, 'pre-commit', delay);
      const r = await g.done;
      if (!k.found) throw new Error(`the pre-commit hook never started mk: ${r.stderr}`);
      // A kill that came as the hook was exiting did nothing: git committed.
      t.injected = k.injected && r.status !== 0;
      t.kind = newModel ? 'auto-tracking a new file' : 'updating changed data';
      if (!t.injected) {
        if (r.status !== 0) throw new Error(`the hook was not killed, yet git commit failed:\n${r.stderr}`);
        span.finishedIn(k.afterMs);
      } else if ((await head(dir)) !== before) throw new Error('git committed although its pre-commit hook was killed');
      await indexUnlocked(dir);
      // The index: pointers of tracked data staged, never the data; a staged new file is still staged, as itself or as its pointer.
      const staged = (await gitOk(dir, ['ls-files'])).split('\n');
      for (const p of MOVING) {
        if (!staged.includes(`${p}.mk.yaml`)) throw new Error(`after the kill: ${p}.mk.yaml is not in the index`);
        // A folder's marker (`<folder>/.gitignore`, docs/spec/worktree-state.md) is the one file of it Git tracks.
        const marker = `${p}/.gitignore`;
        if (staged.includes(marker) && !(await gitOk(dir, ['show', `:${marker}`])).startsWith('# mk: ')) throw new Error(`after the kill: ${marker} is staged, and it is not mk's marker`);
        const raw = staged.filter((s) => (s === p || s.startsWith(`${p}/`)) && s !== marker);
        if (raw.length) throw new Error(`after the kill: data staged in git: ${raw.slice(0, 3).join(', ')}`);
      }
      if (newModel && !staged.includes(model) && !staged.includes(`${model}.mk.yaml`)) {
        throw new Error(`after the kill: ${model} left the index without its pointer being staged (git ls-files has neither)`);
      }
      expectSoundLayout(cache(), 'after the kill');
      pointersWhole(dir, MOVING, 'after the kill');
      expectState(dataState(dir, DATA), want, 'after the kill (a commit must not change data)');
      if (t.injected) {
        const r2 = await gitAsync(dir, args);
        expectNoInternalError(r2, 'the rerun');
        if (r2.status !== 0) throw new Error(`the rerun of git ${args.join(' ')} failed:\n${r2.stderr}`);
      }
      // Committed: the pointers of HEAD record exactly the data in the work tree.
      const tree = (await gitOk(dir, ['ls-tree', '-r', '--name-only', 'HEAD'])).split('\n');
      if (newModel) {
        if (!tree.includes(`${model}.mk.yaml`)) throw new Error(`after the rerun: HEAD has no ${model}.mk.yaml (the new model was committed without its pointer)`);
        if (tree.includes(model)) throw new Error(`after the rerun: HEAD holds ${model} itself`);
        if (pointerDigest(await show(dir, 'HEAD', `${model}.mk.yaml`)) !== hashOnce(join(dir, model))) throw new Error(`after the rerun: HEAD's ${model}.mk.yaml does not record ${model}`);
      }
      if (pointerDigest(await show(dir, 'HEAD', 'weights.bin.mk.yaml')) !== hashOnce(join(dir, 'weights.bin')))
        throw new Error("after the rerun: HEAD's weights.bin.mk.yaml does not record weights.bin");
      await statusClean(dir, 'after the rerun');
      const porcelain = (await gitOk(dir, ['status', '--porcelain'])).trim();
      if (porcelain) throw new Error(`after the rerun: git status is not clean:\n${porcelain}`);
      expectSoundLayout(cache(), 'after the rerun');
      await t.soft(() => left.check('after the rerun'));
    },
    () => {
      dir = work(tmpl);
    },
  );
}

async function killPostCheckout(): Promise<void> {
  const tmpl = work(await hooked());
  const store = join(scratch('mk-faults-store-'), 'store');
  await mkOk(tmpl, ['remote', 'add', 'origin', store]);
  await gitOk(tmpl, ['commit', '-qam', 'remote']);
  const stateA = dataState(tmpl, MOVING);
  await gitOk(tmpl, ['switch', '-q', '-c', 'feat']);
  versionB(tmpl, rng(13));
  await mkOk(tmpl, ['add', 'ds', 'weights.bin']);
  await gitOk(tmpl, ['commit', '-qm', 'B']);
  const stateB = dataState(tmpl, MOVING);
  await mkOk(tmpl, ['push', 'main', 'feat']);
  const s0 = await gitAsync(tmpl, ['switch', '-q', 'main']);
  if (s0.status !== 0) throw new Error(s0.stderr);
  expectState(dataState(tmpl, MOVING), stateA, 'the post-checkout hook without a fault');
  const states: Record<string, Map<string, string>> = { main: stateA, feat: stateB };
  let dir = '';
  let branch = 'main';
  const edited = 'an unsaved edit of a tracked file\n';
  const fresh = () => {
    dir = work(tmpl);
    branch = 'main';
    writeFileSync(join(dir, 'other.bin'), edited);
  };
  fresh();
  const span = new Span(s0.ms);
  let cacheDir: string | undefined;
  await tally.category(
    'kill: post-checkout hook',
    8,
    async (t) => {
      const to = branch === 'main' ? 'feat' : 'main';
      const cold = t.n % 2 === 1;
      if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
      cacheDir = cold ? scratch('mk-faults-cache-') : undefined;
      const e: NodeJS.ProcessEnv = cacheDir ? { MK_CACHE_DIR: cacheDir } : {};
      if (cacheDir) await mkOk(dir, ['fetch', branch], e); // the cache holds only the current branch's data
      const cache = cacheDir ?? join(dir, '.git', 'mk', 'cache');
      const left = new Leftovers([dir, join(dir, '.git', 'mk'), store, ...(cacheDir ? [cacheDir] : [])]);
      const delay = span.next(t.rand);
      t.what = `git switch ${to} (from ${branch}; ${cold ? 'cold cache: the hook downloads from the layout remote' : 'warm cache'}), mk in the post-checkout hook SIGKILLed ${delay} ms after it started`;
      const g = start('git', ['switch', '-q', to], dir, e, true);
      const k = await killHookAfter(g, 'post-checkout', delay);
      const r = await g.done;
      if (!k.found) throw new Error(`the post-checkout hook never started mk: ${r.stderr}`);
      // The hook exits 1 when it leaves an unsaved edit alone (with a message), so git's status
      // does not tell a kill apart: killHookAfter saw it alive when the signal went.
      t.injected = k.injected;
      t.kind = cold ? 'restoring with a download' : 'restoring from the cache';
      const now = (await gitOk(dir, ['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
      if (now !== to) throw new Error(`git switch did not switch (HEAD is ${now}):\n${r.stderr}`);
      branch = to;
      expectNoInternalError(r, 'the hook');
      if (!t.injected) {
        if (r.status !== 0) expectCleanError(r, 'the hook, not killed');
        span.finishedIn(k.afterMs);
        expectState(dataState(dir, MOVING), states[to]!, 'the hook, not killed');
      }
      await indexUnlocked(dir);
      expectOldOrNew(dataState(dir, MOVING), stateA, stateB, 'after the kill');
      if (readFileSync(join(dir, 'other.bin'), 'utf8') !== edited) throw new Error('after the kill: the unsaved edit of other.bin is gone');
      expectSoundLayout(cache, 'after the kill');
      // "mk checkout if needed": the data of HEAD (pull: the cache may lack it), sparing the edit.
      await mkOk(dir, ['pull', '--', ...MOVING], e);
      expectState(dataState(dir, MOVING), states[to]!, 'after mk pull');
      if (readFileSync(join(dir, 'other.bin'), 'utf8') !== edited) throw new Error('after mk pull: the unsaved edit of other.bin is gone');
      await pointersAre(dir, 'HEAD', MOVING, 'after mk pull');
      expectSoundLayout(cache, 'after mk pull');
      await t.soft(() => left.check('after mk pull'));
    },
    fresh,
  );
}

/**
 * SIGKILL of mk inside the hook that places the data for `git switch`, `git reset --keep`,
 * `git merge` or `git rebase` (whichever hook does the work: reference-transaction,
 * post-checkout, post-merge, post-rewrite), at a seeded random moment; then the same command
 * again, as a user would. Between the two, `mk status` never calls the half-placed data the
 * user's; the rerun (and, where git has nothing left to do and runs no hook, `mk checkout`)
 * finishes the placement; the unsaved edit of other.bin survives throughout.
 */
async function killGitRerun(): Promise<void> {
  const tmpl = work(await hooked());
  const stateA = dataState(tmpl, MOVING);
  await gitOk(tmpl, ['branch', 'code']);
  await gitOk(tmpl, ['switch', '-q', '-c', 'feat']);
  versionB(tmpl, rng(17));
  await mkOk(tmpl, ['add', 'ds', 'weights.bin']);
  await gitOk(tmpl, ['commit', '-qm', 'B']);
  const stateB = dataState(tmpl, MOVING);
  await gitOk(tmpl, ['switch', '-q', 'code']);
  writeFileSync(join(tmpl, 'train.py'), 'print("code")\n');
  await gitOk(tmpl, ['commit', '-qam', 'code only']);
  await gitOk(tmpl, ['switch', '-q', 'main']);
  expectState(dataState(tmpl, MOVING), stateA, 'the template on main');
  const commands = [
    { name: 'git switch', from: 'main', args: ['switch', '-q', 'feat'], hooks: ['reference-transaction', 'post-checkout'] },
    { name: 'git reset --keep', from: 'main', args: ['reset', '-q', '--keep', 'feat'], hooks: ['reference-transaction'] },
    { name: 'git merge', from: 'main', args: ['merge', '-q', '--no-edit', 'feat'], hooks: ['reference-transaction', 'post-merge'], idle: true },
    { name: 'git rebase', from: 'code', args: ['rebase', '-q', 'feat'], hooks: ['post-rewrite', 'reference-transaction'], idle: true },
  ];
  const edited = 'an unsaved edit of a tracked file\n';
  const spans = new Map(commands.map((c) => [c.name, new Span(2000)]));
  await tally.category(
    'kill: git switch/reset/merge/rebase, rerun',
    12,
    async (t) => {
      const c = commands[t.n % commands.length]!;
      const dir = work(tmpl);
      // The copy's index holds the template's stat data: refresh it as `git status` would, or
      // `git reset --keep` refuses ("not uptodate") before any hook runs.
      await gitOk(dir, ['update-index', '-q', '--refresh']);
      if (c.from !== 'main') await gitOk(dir, ['switch', '-q', c.from]);
      writeFileSync(join(dir, 'other.bin'), edited);
      const span = spans.get(c.name)!;
      const delay = span.next(t.rand);
      t.what = `${c.name}, mk in its hook SIGKILLed ${delay} ms after it started`;
      const g = start('git', c.args, dir, {}, true);
      // Whichever of the command's hooks starts mk first (a hook whose shim finds nothing to do
      // never starts it): waiting for one hook at a time let git finish before the next was looked for.
      const k = await killHookAfter(g, c.hooks, delay);
      const r = await g.done;
      t.kind = c.name;
      t.injected = k.injected;
      if (!k.found && r.status !== 0) throw new Error(`${c.name} failed before mk ran in its hooks (${r.status}):\n${r.stderr}`);
      if (!k.injected) span.finishedIn(k.afterMs || r.ms);
      await indexUnlocked(dir);
      expectNoInternalError(r, 'the hook');
      // Never the user's: whatever mk had written, its status is clean, stale or interrupted.
      const st = JSON.parse((await mkOk(dir, ['status', '--json'])).stdout) as { artifacts: Array<{ path: string; workspace: string }> };
      const mine = st.artifacts.filter((a) => MOVING.includes(a.path) && !['clean', 'stale', 'interrupted'].includes(a.workspace));
      if (mine.length) throw new Error(`after the kill: mk status calls mk's own data ${mine.map((a) => `${a.path} ${a.workspace}`).join(', ')}`);
      if (readFileSync(join(dir, 'other.bin'), 'utf8') !== edited) throw new Error('after the kill: the unsaved edit of other.bin is gone');
      const again = await gitAsync(dir, c.args);
      if (!c.idle && again.status !== 0) throw new Error(`the rerun failed (${again.status}):\n${again.stderr}`);
      if (c.idle) await mkOk(dir, ['checkout', '--', ...MOVING]); // git has nothing left to do and runs no hook
      expectState(dataState(dir, MOVING), stateB, 'after the rerun');
      if (readFileSync(join(dir, 'other.bin'), 'utf8') !== edited) throw new Error('after the rerun: the unsaved edit of other.bin is gone');
      expectSoundLayout(join(dir, '.git', 'mk', 'cache'), 'after the rerun');
    },
    () => undefined,
  );
}

async function killPrePush(): Promise<void> {
  const tmpl = work(await hooked());
  const store = join(scratch('mk-faults-store-'), 'store');
  const bare = scratch('mk-faults-bare-');
  await gitOk(bare, ['init', '-q', '--bare', '-b', 'main']);
  await mkOk(tmpl, ['remote', 'add', 'origin', store]);
  await gitOk(tmpl, ['commit', '-qam', 'remote']);
  await gitOk(tmpl, ['remote', 'add', 'origin', bare]);
  const p0 = await gitAsync(tmpl, ['push', '-q', '-u', 'origin', 'main']);
  if (p0.status !== 0) throw new Error(p0.stderr);
  const verifier = scratch('mk-faults-verify-');
  await gitOk(verifier, ['clone', '-q', bare, '.']);
  let dir = work(tmpl);
  const span = new Span(p0.ms);
  const bareMain = async () => (await gitOk(bare, ['rev-parse', 'main'])).trim();
  await tally.category(
    'kill: pre-push hook',
    8,
    async (t) => {
      changeDs(dir, t.rand, 20);
      if (t.n % 2 === 0) writeBig(dir, t.rand);
      writeFileSync(join(dir, 'train.py'), `print(${t.n})\n`);
      await gitOk(dir, ['commit', '-qam', `t${t.n}`]);
      const sha = await head(dir);
      const want = dataState(dir, DATA);
      const before = await bareMain();
      const left = new Leftovers([dir, join(dir, '.git', 'mk'), store]);
      const delay = span.next(t.rand);
      t.what = `git push origin main (${sha.slice(0, 12)}: ${t.n % 2 === 0 ? 'new 16 MiB weights.bin + ' : ''}20 changed files), mk in the pre-push hook SIGKILLed ${delay} ms after it started`;
      const g = start('git', ['push', '-q', 'origin', 'main'], dir, {}, true);
      const k = await killHookAfter(g, 'pre-push', delay);
      const r = await g.done;
      if (!k.found) throw new Error(`the pre-push hook never started mk: ${r.stderr}`);
      t.injected = k.injected && r.status !== 0;
      t.kind = 'uploading and publishing';
      const after = await bareMain();
      if (!t.injected) {
        if (r.status !== 0) throw new Error(`the hook was not killed, yet git push failed:\n${r.stderr}`);
        span.finishedIn(k.afterMs);
      } else if (after !== before) throw new Error(`git pushed ${after.slice(0, 12)} although its pre-push hook was killed`);
      expectNoInternalError(r, 'the hook');
      // Whatever the git remote holds has its data on the mk remote.
      expectSoundLayout(store, 'after the kill: the remote');
      if (after !== before) {
        await verifyRemote(dir, after, 'the commit the git remote got');
        await freshPull(verifier, after, want, 'the commit the git remote got');
      }
      if (after !== sha) {
        const r2 = await gitAsync(dir, ['push', '-q', 'origin', 'main']);
        expectNoInternalError(r2, 'the rerun');
        if (r2.status !== 0) throw new Error(`the rerun of git push failed:\n${r2.stderr}`);
        if ((await bareMain()) !== sha) throw new Error('the rerun of git push did not push');
        await verifyRemote(dir, sha, 'after the rerun');
        await freshPull(verifier, sha, want, 'after the rerun');
      }
      expectSoundLayout(store, 'after the rerun: the remote');
      expectSoundLayout(join(dir, '.git', 'mk', 'cache'), 'after the rerun');
      await t.soft(() => left.check('after the rerun'));
    },
    async () => {
      dir = work(tmpl);
      await gitOk(dir, ['fetch', '-q', 'origin']);
      await gitOk(dir, ['reset', '-q', '--hard', 'origin/main']);
      await mkOk(dir, ['pull']);
    },
  );
}

// =============================================================================================
// Registry faults through the fault proxy

const UPLOAD = /\/blobs\/uploads\//;
const BLOB = /\/blobs\/sha256:/;
const MANIFEST = /\/manifests\//;

interface Injection {
  name: string;
  match: FaultMatch;
  fault: (rand: () => number) => Fault;
  times: (rand: () => number) => number;
  /** More than the retries: the command must fail, cleanly. */
  fatal?: boolean;
  /** Retried until it works: the command must succeed. */
  transient?: boolean;
}

const upTo = (n: number) => (rand: () => number) => 1 + Math.floor(rand() * n);
const once = () => 1;
const always = () => 1000;

const PUSH_FAULTS: Injection[] = [
  { name: '500 on an upload PUT', match: { method: 'PUT', path: UPLOAD }, fault: () => ({ kind: 'status', status: 500 }), times: upTo(3), transient: true },
  { name: '503 on a blob HEAD', match: { method: 'HEAD', path: BLOB }, fault: () => ({ kind: 'status', status: 503 }), times: upTo(3), transient: true },
  {
    name: '429 + Retry-After: 1 on an upload POST',
    match: { method: 'POST', path: UPLOAD },
    fault: () => ({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }),
    times: once,
    transient: true,
  },
  { name: 'connection reset mid-upload', match: { method: 'PUT', path: UPLOAD }, fault: (r) => ({ kind: 'drop-request', afterBytes: Math.floor(r() * 600_000) }), times: upTo(2), transient: true },
  { name: 'a flipped byte in an upload', match: { method: 'PUT', path: UPLOAD }, fault: (r) => ({ kind: 'corrupt-request', at: Math.floor(r() * 2000) }), times: once },
  { name: '500 on a manifest PUT', match: { method: 'PUT', path: MANIFEST }, fault: () => ({ kind: 'status', status: 500 }), times: upTo(2), transient: true },
  { name: 'connection reset on a manifest PUT', match: { method: 'PUT', path: MANIFEST }, fault: () => ({ kind: 'drop-request', afterBytes: 100 }), times: once, transient: true },
  { name: '503 on every upload (retries exhausted)', match: { method: 'POST', path: UPLOAD }, fault: () => ({ kind: 'status', status: 503 }), times: always, fatal: true },
];

const PULL_FAULTS: Injection[] = [
  { name: '500 on a blob GET', match: { method: 'GET', path: BLOB }, fault: () => ({ kind: 'status', status: 500 }), times: upTo(3), transient: true },
  { name: '503 on a blob GET', match: { method: 'GET', path: BLOB }, fault: () => ({ kind: 'status', status: 503 }), times: upTo(3), transient: true },
  { name: '429 + Retry-After: 1 on a blob GET', match: { method: 'GET', path: BLOB }, fault: () => ({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }), times: once, transient: true },
  { name: 'connection reset mid-download', match: { method: 'GET', path: BLOB }, fault: (r) => ({ kind: 'drop-response', afterBytes: Math.floor(r() * 300_000) }), times: upTo(2), transient: true },
  { name: 'a body truncated with a clean close', match: { method: 'GET', path: BLOB }, fault: (r) => ({ kind: 'truncate', afterBytes: Math.floor(r() * 300_000) }), times: upTo(2) },
  { name: 'a flipped byte in a download', match: { method: 'GET', path: BLOB }, fault: (r) => ({ kind: 'corrupt', at: Math.floor(r() * 4000) }), times: upTo(2) },
  { name: '500 on every blob GET (retries exhausted)', match: { method: 'GET', path: BLOB }, fault: () => ({ kind: 'status', status: 500 }), times: always, fatal: true },
];

/** Arms one injection (in turn from the menu, with random parameters); returns its rule and a description. */
function arm(proxy: FaultProxy, t: Trial, menu: Injection[]): { inj: Injection; rule: FaultRule; desc: string } {
  const inj = menu[t.n % menu.length]!;
  const fault = inj.fault(t.rand);
  const times = inj.times(t.rand);
  const skip = inj.fatal ? 0 : Math.floor(t.rand() * 3);
  proxy.clear();
  const rule = proxy.fault(inj.match, fault, times, skip);
  const detail = 'afterBytes' in fault ? ` after ${fault.afterBytes} bytes` : 'at' in fault ? ` at byte ${fault.at}` : '';
  return { inj, rule, desc: `${inj.name}${detail}, ${inj.fatal ? 'on every request' : `${times}× after letting ${skip} matching request(s) through`}` };
}

/** The faulted command's outcome: success where retries must win, else success or one clean `mk:` line. */
function judge(inj: Injection, r: Run, what: string): string {
  if (inj.fatal) {
    expectCleanError(r, what);
    return 'failed cleanly';
  }
  if (r.status === 0) return 'recovered by itself';
  if (inj.transient) throw new Error(`${what}: a transient fault the retries should absorb made it fail:\n${r.stderr}`);
  expectCleanError(r, what);
  return 'failed cleanly';
}

/**
 * A copy of the base repository whose mk remote is a registry repository behind a fault
 * proxy of its own (the categories run at the same time as others: each arms only its proxy).
 */
async function proxied(name: string): Promise<{ src: string; proxy: FaultProxy }> {
  const proxy = await startFaultProxy(reg.url);
  proxies.push(proxy);
  const src = work(base);
  await mkOk(src, ['remote', 'add', 'origin', `oci://${proxy.host}/faults/${name}`]);
  await gitOk(src, ['commit', '-qam', 'remote']);
  return { src, proxy };
}

async function registryPush(): Promise<void> {
  const { src, proxy } = await proxied('push');
  const dir = work(src);
  await mkOk(dir, ['push']);
  const verifier = scratch('mk-faults-verify-');
  await gitOk(verifier, ['clone', '-q', dir, '.']);
  await tally.category(
    'registry: mk push',
    12,
    async (t) => {
      changeDs(dir, t.rand, 30);
      if (t.n % 3 === 0) writeBig(dir, t.rand, 'weights.bin', 4 << 20);
      await mkOk(dir, ['add', 'ds', 'weights.bin']);
      await gitOk(dir, ['commit', '-qm', `t${t.n}`]);
      const sha = await head(dir);
      const want = dataState(dir, DATA);
      const left = new Leftovers([dir, join(dir, '.git', 'mk')]);
      const { inj, rule, desc } = arm(proxy, t, PUSH_FAULTS);
      t.what = `mk push of ${sha.slice(0, 12)} through the proxy: ${desc}`;
      const r = await mkAsync(dir, ['push']);
      proxy.clear();
      t.injected = rule.applied > 0;
      const outcome = judge(inj, r, 'the faulted mk push');
      t.kind = `${inj.name}: ${outcome}`;
      // mk was not killed: whatever it wrote for itself, it removed.
      await t.soft(() => left.check('after the faulted push'));
      expectNone(corruptRegistryBlobs(reg.rootDir), 'after the fault: registry blobs whose bytes do not match their digest');
      expectSoundLayout(join(dir, '.git', 'mk', 'cache'), 'after the fault');
      await mkOk(dir, ['push']);
      await verifyRemote(dir, 'HEAD', 'after the rerun');
      await freshPull(verifier, sha, want, 'after the rerun');
      expectNone(corruptRegistryBlobs(reg.rootDir), 'after the rerun: registry blobs whose bytes do not match their digest');
    },
    () => proxy.clear(),
  );
}

async function registryPull(): Promise<void> {
  const { src, proxy } = await proxied('pull');
  const s = work(src);
  const X = await head(s);
  versionB(s, rng(17));
  await mkOk(s, ['add', 'ds', 'weights.bin']);
  await gitOk(s, ['commit', '-qm', 'Y']);
  const Y = await head(s);
  const stateY = dataState(s, MOVING);
  await mkOk(s, ['push', X, Y]);
  const clone = scratch('mk-faults-clone-');
  await gitOk(clone, ['clone', '-q', s, '.']);
  let cacheDir = scratch('mk-faults-cache-');
  const e = () => ({ MK_CACHE_DIR: cacheDir });
  await mkOk(clone, ['pull', X], e());
  const stateX = dataState(clone, MOVING);
  const states: Record<string, Map<string, string>> = { [X]: stateX, [Y]: stateY };
  let current = X;
  await tally.category(
    'registry: mk pull / fetch',
    12,
    async (t) => {
      const target = current === X ? Y : X;
      const old = cacheDir;
      cacheDir = scratch('mk-faults-cache-');
      rmSync(old, { recursive: true, force: true });
      await mkOk(clone, ['fetch', current], e());
      const cmd = t.n % 2 === 0 ? 'pull' : 'fetch';
      const left = new Leftovers([clone, join(clone, '.git', 'mk'), cacheDir]);
      const { inj, rule, desc } = arm(proxy, t, PULL_FAULTS);
      t.what = `mk ${cmd} ${target.slice(0, 12)} through the proxy (cache holding ${current.slice(0, 12)} only): ${desc}`;
      const r = await mkAsync(clone, [cmd, target], e());
      proxy.clear();
      t.injected = rule.applied > 0;
      const outcome = judge(inj, r, `the faulted mk ${cmd}`);
      t.kind = `${inj.name}: ${outcome}`;
      await t.soft(() => left.check(`after the faulted ${cmd}`));
      await indexUnlocked(clone);
      expectSoundLayout(cacheDir, 'after the fault: the cache');
      expectOldOrNew(dataState(clone, MOVING), stateX, stateY, 'after the fault');
      if (cmd === 'pull' && r.status === 0) expectState(dataState(clone, MOVING), states[target]!, 'after a pull that succeeded');
      await mkOk(clone, ['pull', target], e());
      current = target;
      expectState(dataState(clone, MOVING), states[target]!, 'after the rerun');
      await pointersAre(clone, target, MOVING, 'after the rerun');
      expectSoundLayout(cacheDir, 'after the rerun: the cache');
      expectNone(tempLeftovers(clone), 'after the rerun: temporary files in the work tree');
    },
    async () => {
      proxy.clear();
      await mkAsync(clone, ['pull', current], e());
      await mkAsync(clone, ['checkout', '--force', current], e());
    },
  );
}

// =============================================================================================
// A gc racing a commit on a shared cache

/**
 * Two clones share one cache (MK_CACHE_DIR). In B, `mk add` of changed data then
 * `git commit -a`; in A, `mk gc` back to back from a seeded moment into the add until the
 * commit is done. The fault is a gc run that overlaps the add or the commit. Nothing B
 * committed may be missing from the cache afterwards (it was never pushed: it exists nowhere
 * else), and A keeps its own data.
 */
async function gcRace(): Promise<void> {
  const shared = scratch('mk-faults-shared-');
  const e = { MK_CACHE_DIR: join(shared, 'cache') };
  const A = work(base);
  const B = work(base);
  // Both clones store their data in the shared cache (the stat cache still knows the files: they are copied in, not hashed again by the user).
  for (const d of [A, B]) await mkOk(d, ['add', 'ds', 'weights.bin', 'other.bin'], e);
  const wantA = dataState(A, DATA);
  changeDs(B, rng(31), 20);
  const first = await mkOk(B, ['add', 'ds', 'weights.bin'], e);
  await gitOk(B, ['commit', '-qam', 'warm-up']);
  const span = new Span(first.ms + 200, 0);
  await tally.category(
    'race: mk gc vs add + commit (shared cache)',
    10,
    async (t) => {
      changeDs(B, t.rand, 20);
      if (t.n % 3 === 0) writeBig(B, t.rand);
      const want = dataState(B, DATA);
      const left = new Leftovers([shared, join(shared, 'cache'), join(A, '.git', 'mk'), join(B, '.git', 'mk')]);
      const offset = span.next(t.rand);
      t.what = `mk add ds weights.bin + git commit -a in clone B, mk gc in clone A back to back from ${offset} ms into the add`;
      const t0 = Date.now();
      const add = startMk(B, ['add', 'ds', 'weights.bin'], e);
      let busy = true;
      const gcs: Array<{ started: number; run: Run }> = [];
      const gcLoop = (async () => {
        await sleep(offset);
        do {
          const started = Date.now() - t0;
          gcs.push({ started, run: await mkAsync(A, ['gc'], e) });
        } while (busy);
      })();
      const added = await add.done;
      const addEnd = Date.now() - t0;
      const commit = await gitAsync(B, ['commit', '-qam', `t${t.n}`], e);
      const commitEnd = Date.now() - t0;
      busy = false;
      await gcLoop;
      if (added.status !== 0) throw new Error(`mk add failed:\n${added.stderr}`);
      if (commit.status !== 0) throw new Error(`git commit failed:\n${commit.stderr}`);
      for (const g of gcs) if (g.run.status !== 0) throw new Error(`mk gc failed:\n${g.run.stderr}`);
      // Landed: a gc began before the commit was done (the first one starts at the seeded moment; later ones follow it while B works).
      t.injected = gcs[0]!.started < commitEnd;
      t.kind = gcs[0]!.started < addEnd ? 'gc during the add' : 'gc during the commit';
      if (!t.injected) span.finishedIn(commitEnd);
      // What B committed is in the cache, whole, and restores exactly; A's data is all there too.
      expectSoundLayout(join(shared, 'cache'), 'after the race');
      await statusClean(B, 'clone B after the race', e);
      await statusClean(A, 'clone A after the race', e);
      for (const p of MOVING) rmSync(join(B, p), { recursive: true, force: true });
      await mkOk(B, ['checkout'], e);
      expectState(dataState(B, DATA), want, 'clone B restored from the shared cache after the race');
      expectState(dataState(A, DATA), wantA, 'clone A after the race');
      await t.soft(() => left.check('after the race'));
    },
    async () => {
      await mkAsync(B, ['add', 'ds', 'weights.bin'], e);
      await gitAsync(B, ['commit', '-qam', 'reset'], e);
    },
  );
}

// =============================================================================================
// Lanes run side by side (the machine has two cores; registry faults spend most of their time
// in retry back-off). Each lane runs its categories one after another. To add a lane (or a
// category), add it here: the table's order is the order of docs/RELIABILITY.md. No lane has a
// time limit: each category is bounded by its trial count (Tally.category), so a loaded
// machine makes a run slower, never failed. MK_FAULTS_ONLY=<text> runs only the categories
// whose name has it.

const ONLY = process.env.MK_FAULTS_ONLY;

/** The lanes: a title and its categories, each a name (as the tables show it) and the function that runs its trials. */
const LANES: Array<{ title: string; categories: Array<[string, () => Promise<void>]> }> = [
  {
    title: 'lane 1: SIGKILL of mk add, checkout, push and pull (layout and registry remotes); gc racing a commit on a shared cache',
    categories: [
      ['kill: mk add', killAdd],
      ['kill: mk checkout', killCheckout],
      ['kill: mk push (layout)', () => killPush('layout')],
      ['kill: mk pull (layout)', () => killPull('layout')],
      ['kill: mk push (registry)', () => killPush('registry')],
      ['kill: mk pull (registry)', () => killPull('registry')],
      ['race: mk gc vs add + commit (shared cache)', gcRace],
    ],
  },
  {
    title: 'lane 2: SIGKILL of mk in the pre-commit, post-checkout and pre-push hooks; registry faults during push and pull',
    categories: [
      ['registry: mk push', registryPush],
      ['registry: mk pull / fetch', registryPull],
      ['kill: pre-commit hook', killPreCommit],
      ['kill: post-checkout hook', killPostCheckout],
      ['kill: pre-push hook', killPrePush],
    ],
  },
  {
    title: 'lane 3: SIGKILL of mk in the hook placing the data for git switch, reset, merge and rebase; the same command again finishes it',
    categories: [['kill: git switch/reset/merge/rebase, rerun', killGitRerun]],
  },
];
tally.order = LANES.flatMap((l) => l.categories.map(([name]) => name));

describe.concurrent('fault injection', () => {
  for (const lane of LANES) {
    it(lane.title, () => {
      const run = (async () => {
        for (const [name, category] of lane.categories) if (!tally.stopping && (!ONLY || name.includes(ONLY))) await category();
      })();
      lanesRunning.push(run);
      return run;
    });
  }
});

it('injected at least 100 faults in all, and every one was recovered from', () => {
  const low = tally.stats.filter((s) => s.injected < Math.ceil(s.trials / 3));
  expect(
    low.map((s) => `${s.category}: ${s.injected} of ${s.trials} trials`),
    'categories where most faults did not land',
  ).toEqual([]);
  expect(tally.failures.map((f) => `[${f.category}] trial ${f.trial} (${f.what}): ${f.message.split('\n')[0]}`)).toEqual([]);
  if (!ONLY) expect(tally.total()).toBeGreaterThanOrEqual(Math.round(100 * Math.min(1, SCALE)));
});
