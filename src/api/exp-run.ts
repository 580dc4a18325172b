import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { MkError, UsageError } from '../errors/index.js';
import { mkScript } from '../git/launch.js';
import { git } from '../git/run.js';
import { parseParamSet } from '../pipeline/exp-params.js';
import { deleteExperiment, expMessage, listExperiments, moveExperiment, newExpName, queueExperiment, type Experiment } from '../pipeline/exp-refs.js';
import { reproduce, type ReproEvent } from '../pipeline/repro.js';
import { RepoContext } from '../repo/context.js';
import { acquireLock } from '../util/lockfile.js';
import { checkout } from '../worktree/checkout.js';
import { defaultRemote, pipelineWorkspace } from '../pipeline/workspace.js';

export type { Experiment };

export interface ExpRunOptions {
  cwd?: string;
  /** `[<file>:]<key>=<value>` params to set (as DVC's `-S`). */
  set?: string[];
  name?: string;
  /** Only queue it (run later with `runAll`). */
  queue?: boolean;
  /** Run every queued experiment, `jobs` at once. */
  runAll?: boolean;
  jobs?: number;
  /** An experiment run now (not queued) shows its stages' output here; queued runs write a log each. */
  output?: 'inherit' | 'log';
  onEvent?: (e: ExpRunEvent) => void;
}

export type ExpRunEvent = { type: 'queued'; name: string; sets: string[] } | { type: 'start'; name: string; log?: string } | { type: 'end'; name: string; ok: boolean; log?: string };

export interface ExpRunResult {
  queued: Experiment[];
  /** Experiments run: their state after (done or failed) and where their log is. */
  ran: Array<{ name: string; status: 'done' | 'failed'; commit?: string; log?: string }>;
}

const logsDir = (ctx: RepoContext) => join(ctx.mkDir, 'exps', 'logs');

/**
 * `mk exp run`: an experiment is the pipeline reproduced (src/pipeline/repro.ts) with params
 * set, in a temporary Git worktree of this repository, so the work tree, the index and HEAD
 * stay as they are; mk's cache and the run cache are the worktree's too, so what was computed
 * before is restored, not run again. The work tree's tracked files as they are now (uncommitted
 * changes included) are what the experiment starts from. The result is a commit on HEAD under
 * `refs/mk/exps/<name>` (see src/pipeline/exp-refs.ts), which `mk exp show` lists. With `queue`
 * it is only queued; `runAll` runs the queue, `jobs` at once (each in its own mk process,
 * its commands' output in `.git/mk/exps/logs/<name>.log`).
 */
export async function expRun(opts: ExpRunOptions = {}): Promise<ExpRunResult> {
  const ctx = RepoContext.open(opts.cwd);
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`-j must be a positive whole number, not '${opts.jobs}'`);
  if (opts.runAll) {
    if (opts.set?.length || opts.name || opts.queue) throw new UsageError('--run-all runs what is queued: give no -S, --name or --queue with it');
    const queued = (await listExperiments(ctx.root)).filter((e) => e.status === 'queued');
    return { queued: [], ran: await runMany(ctx, queued, jobs, { ...opts, output: 'log' }) };
  }
  const sets = (opts.set ?? []).map(parseParamSet);
  if (!existsSync(join(ctx.root, 'dvc.yaml')))
    throw new MkError('ENOPIPELINE', 'no dvc.yaml in this repository: an experiment reproduces its pipeline', { hint: 'describe the stages in dvc.yaml (docs/guides/pipelines.md)' });
  const name = await newExpName(ctx.root, opts.name);
  const q = await queueExperiment(ctx.root, name, sets);
  opts.onEvent?.({ type: 'queued', name, sets: q.sets });
  if (opts.queue) return { queued: [q], ran: [] };
  return { queued: [], ran: await runMany(ctx, [q], 1, opts) };
}

/** Runs experiments in their own mk processes (`mk exp exec <name>`), `jobs` at once. */
async function runMany(ctx: RepoContext, list: Experiment[], jobs: number, opts: ExpRunOptions): Promise<ExpRunResult['ran']> {
  const limit = pLimit(jobs);
  mkdirSync(logsDir(ctx), { recursive: true });
  const inherit = list.length === 1 && jobs === 1 && opts.output === 'inherit';
  return Promise.all(
    list.map((e) =>
      limit(async () => {
        const log = inherit ? undefined : join(logsDir(ctx), `${e.name}.log`);
        opts.onEvent?.({ type: 'start', name: e.name, log });
        const ok = await execChild(ctx.root, e.name, log);
        opts.onEvent?.({ type: 'end', name: e.name, ok, log });
        const after = (await listExperiments(ctx.root)).find((x) => x.name === e.name);
        const status = ok && after?.status === 'done' ? ('done' as const) : ('failed' as const);
        return { name: e.name, status, ...(after?.status === 'done' ? { commit: after.commit } : {}), ...(log ? { log } : {}) };
      }),
    ),
  );
}

function execChild(root: string, name: string, log?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const fd = log ? openSync(log, 'w') : undefined;
    const child = spawn(process.execPath, [mkScript(), 'exp', 'exec', name], { cwd: root, stdio: fd === undefined ? 'inherit' : ['ignore', fd, fd], env: process.env });
    child.on('error', () => resolve(false));
    child.on('close', (code) => {
      if (fd !== undefined) closeSync(fd);
      resolve(code === 0);
    });
  });
}

/**
 * Runs one queued experiment here (what `mk exp run` starts in its own process): takes it from
 * the queue, checks its commit out in a temporary worktree (`.git/mk/exps/run/<name>`, mk's hooks
 * off; the data of its pointers from the shared cache), reproduces the pipeline there (outputs
 * recorded by mk, the run cache shared), and commits the result on the baseline as
 * `refs/mk/exps/<name>`. A failure leaves it under `refs/mk/exps-failed/<name>`; the worktree
 * goes either way.
 */
export async function expExec(name: string, opts: { cwd?: string; onEvent?: (e: ReproEvent) => void } = {}): Promise<{ name: string; commit: string }> {
  const ctx = RepoContext.open(opts.cwd);
  const e = (await listExperiments(ctx.root)).find((x) => x.name === name && x.status === 'queued');
  if (!e) throw new MkError('ENOTFOUND', `no queued experiment named '${name}'`, { hint: "'mk exp show' lists the experiments" });
  if (!(await moveExperiment(ctx.root, name, 'queued', e.commit, 'running', e.commit))) throw new MkError('EBUSY', `experiment '${name}' was taken by another runner`);
  const dir = join(ctx.mkDir, 'exps', 'run', name);
  const env = { ...process.env, MK_HOOKS: '0' };
  try {
    await removeWorktree(ctx.root, dir);
    mkdirSync(join(ctx.mkDir, 'exps', 'run'), { recursive: true });
    await git(ctx.root, ['worktree', 'add', '--detach', '--quiet', dir, e.commit], { env });
    await checkout({ cwd: dir });
    const wt = RepoContext.open(dir);
    const lock = await acquireLock(join(wt.stateDir, 'repro.lock'));
    try {
      await reproduce({
        root: wt.root,
        stateDir: wt.stateDir,
        mkDir: wt.mkDir,
        cache: wt.cache,
        remote: defaultRemote(wt),
        workspace: pipelineWorkspace(wt),
        stage: true,
        onEvent: opts.onEvent,
      });
    } finally {
      lock.release();
    }
    await git(dir, ['add', '-A'], { env });
    const tree = (await git(dir, ['write-tree'])).trim();
    const commit = (await git(ctx.root, ['commit-tree', tree, '-p', e.baseline, '-F', '-'], { input: expMessage(name, e.sets, e.queuedAt) })).trim();
    if (!(await moveExperiment(ctx.root, name, 'running', e.commit, 'done', commit))) throw new MkError('EBUSY', `experiment '${name}' was removed while it ran`);
    return { name, commit };
  } catch (err) {
    await moveExperiment(ctx.root, name, 'running', e.commit, 'failed', e.commit);
    throw err;
  } finally {
    await removeWorktree(ctx.root, dir);
  }
}

async function removeWorktree(root: string, dir: string): Promise<void> {
  if (existsSync(dir)) await git(root, ['worktree', 'remove', '--force', '--force', dir]).catch(() => rmSync(dir, { recursive: true, force: true }));
  await git(root, ['worktree', 'prune']).catch(() => undefined);
}

/** The experiment named `name` that has a result (`mk exp apply` and `branch` take those). */
async function doneExperiment(root: string, name: string): Promise<Experiment> {
  const all = (await listExperiments(root)).filter((x) => x.name === name);
  const done = all.find((x) => x.status === 'done');
  if (done) return done;
  if (all.length)
    throw new MkError('ENOTDONE', `experiment '${name}' is ${all[0]!.status}: it has no result yet`, {
      hint: all[0]!.status === 'queued' ? "run it with 'mk exp run --run-all'" : "'mk exp show' lists the experiments",
    });
  throw new MkError('ENOTFOUND', `no experiment named '${name}'`, { hint: "'mk exp show' lists the experiments" });
}

export interface ExpApplyResult {
  name: string;
  commit: string;
  /** Paths whose content the work tree and index took from the experiment. */
  changed: string[];
}

/**
 * `mk exp apply <name>`: the experiment's files (params, dvc.lock, metrics, the pointers of its
 * outputs) come into the work tree and the index, their data placed from the cache; HEAD stays,
 * so `git commit` keeps the result. As `git checkout` does, it refuses when a file it would
 * change holds changes that are not committed.
 */
export async function expApply(name: string, opts: { cwd?: string } = {}): Promise<ExpApplyResult> {
  const ctx = RepoContext.open(opts.cwd);
  const e = await doneExperiment(ctx.root, name);
  const changed = (await git(ctx.root, ['diff', '--name-only', '-z', 'HEAD', e.commit])).split('\0').filter(Boolean);
  try {
    await git(ctx.root, ['read-tree', '-m', '-u', 'HEAD', e.commit]);
  } catch (err) {
    throw new MkError('EUNSAVED', `applying '${name}' would overwrite changes that are not committed (${(err as Error).message.replace(/^git read-tree: /, '')})`, {
      hint: "commit or stash them ('git stash'), then apply again",
    });
  }
  await checkout({ cwd: ctx.root, force: false });
  return { name, commit: e.commit, changed };
}

/** `mk exp branch <name> <branch>`: keeps an experiment as a Git branch. */
export async function expBranch(name: string, branch: string, opts: { cwd?: string } = {}): Promise<{ name: string; branch: string; commit: string }> {
  const ctx = RepoContext.open(opts.cwd);
  const e = await doneExperiment(ctx.root, name);
  if (
    branch.startsWith('-') ||
    !(await git(ctx.root, ['check-ref-format', '--branch', branch]).then(
      () => true,
      () => false,
    ))
  )
    throw new UsageError(`'${branch}' is not a valid branch name`);
  try {
    await git(ctx.root, ['branch', branch, e.commit]);
  } catch (err) {
    throw new MkError('EEXIST', `cannot create branch '${branch}': ${(err as Error).message.replace(/^git branch: /, '')}`, { hint: 'choose another name' });
  }
  return { name, branch, commit: e.commit };
}

/** `mk exp remove <name>... | --queue | --all`: forgets experiments (their refs; data stays in the cache until gc). */
export async function expRemove(names: string[], opts: { cwd?: string; queue?: boolean; all?: boolean } = {}): Promise<{ removed: string[] }> {
  const ctx = RepoContext.open(opts.cwd);
  const all = await listExperiments(ctx.root);
  let targets = names;
  if (opts.all) targets = all.map((e) => e.name);
  else if (opts.queue) targets = [...targets, ...all.filter((e) => e.status === 'queued').map((e) => e.name)];
  if (!targets.length) throw new UsageError('name the experiments to remove, or give --queue or --all');
  const removed: string[] = [];
  for (const n of [...new Set(targets)]) {
    if (!(await deleteExperiment(ctx.root, n))) throw new MkError('ENOTFOUND', `no experiment named '${n}'`, { hint: "'mk exp show' lists the experiments" });
    removed.push(n);
  }
  return { removed };
}
