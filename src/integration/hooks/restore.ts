import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkout, type CheckoutResult } from '../../api/checkout.js';
import { compareWorkspace } from '../../worktree/compare.js';
import { isMkError, UnsavedChangesError } from '../../errors/index.js';
import { classifyData, type DataState } from '../../worktree/reconcile.js';
import { Stamps } from '../../hashing/stamps.js';
import { pointersAtCommit, underPrefix, workspacePointers, type TrackedPointer } from '../../git/pointers.js';
import { git, headCommit } from '../../git/run.js';
import { recordPointerState } from '../../git/pointer-state.js';
export { pointersInPlace } from '../../git/pointer-state.js';
import { StatCache } from '../../hashing/stat-cache.js';
import type { Pointer } from '../../formats/pointer.js';
import type { RepoContext } from '../../repo/context.js';
import { pruneEmptyParents } from '../../util/fs.js';
import { abs, assertNoSymlinkedParents, checkStoredPath } from '../../repo/paths.js';
import type { Withheld } from '../../remote/access.js';

const ZERO = /^0+$/;

/** True while git is in the middle of a rebase (post-rewrite restores at the end). */
export function rebasing(ctx: RepoContext): boolean {
  // `git am` keeps its state in rebase-apply too, with an 'applying' file: each applied patch moves HEAD, and no post-rewrite follows.
  return existsSync(join(ctx.gitDir, 'rebase-merge')) || (existsSync(join(ctx.gitDir, 'rebase-apply')) && !existsSync(join(ctx.gitDir, 'rebase-apply', 'applying')));
}

async function baselineAt(ctx: RepoContext, commit: string | undefined): Promise<Map<string, Pointer | undefined>> {
  const m = new Map<string, Pointer | undefined>();
  if (!commit || ZERO.test(commit)) return m;
  try {
    // Files kept through mk's Git filter are Git's own: Git's checkout writes and removes them.
    for (const t of await pointersAtCommit(ctx.commonDir, commit)) if (!t.filtered) m.set(t.path, t.pointer);
  } catch {
    /* an unreadable old commit: fall back to an empty baseline (more conservative) */
  }
  return m;
}

/** What reconciling did: data that followed its pointer, the user's data left alone, data of artifacts no longer tracked. */
export interface ReconcileResult extends CheckoutResult {
  /** Stale (or absent) data that now follows its pointer. */
  restored: string[];
  /** The user's data (changed since mk placed or recorded it): kept as it is. */
  kept: string[];
  /** Data of artifacts the previous revision tracked and this one does not. */
  removed: string[];
  /** Stale data that could not follow its pointer (while a merge is being concluded, or nothing to fetch it from). */
  stale: Array<{ path: string; version: Pointer }>;
  /** Each artifact's state after reconciling (stale data restored counts as clean). */
  states: Map<string, DataState['state']>;
  /** Absent data routed to a remote this clone may not read (remotes by path): left absent. */
  withheld: Withheld[];
}

export interface ReconcileOptions {
  /** Commits whose pointers the work tree may hold (the previous HEAD): evidence for stale data, and artifacts they tracked whose data goes. */
  previous?: string[];
  /** Where HEAD was before (HEAD@{1}) and ORIG_HEAD are evidence too (read only when a stamp cannot answer). */
  reflog?: boolean;
  /** Only these artifacts (repository-relative data paths). */
  paths?: string[];
  /** Restore absent data too (hooks after git moved HEAD); the pre-commit hook only reports it. */
  restoreMissing?: boolean;
  /** Only classify: restore nothing (the stale artifacts are returned). */
  dryRun?: boolean;
  /** Remove the data of artifacts `previous` tracked and the work tree no longer does (default true). */
  dropUntracked?: boolean;
  /** The work tree's pointers, when the caller has just listed them (and `paths` is not given). */
  pointers?: TrackedPointer[];
}

/**
 * The one rule, for every folder (and legacy file) artifact: data the user has not changed
 * since mk placed or recorded it follows its pointer (restored, fetched first when
 * `auto_fetch` allows); data the user changed is kept and reported, never overwritten and
 * never taken for stale. See classifyData for the evidence. Run by every hook that sees git
 * move pointers (post-checkout, post-merge, post-rewrite, reference-transaction) and by
 * pre-commit before it records anything.
 */
export async function reconcile(ctx: RepoContext, opts: ReconcileOptions = {}): Promise<ReconcileResult> {
  const out: ReconcileResult = { artifacts: [], restored: [], kept: [], removed: [], stale: [], states: new Map(), withheld: [] };
  // Files kept through mk's Git filter are Git's own (its checkout, reset and stash write them):
  // never reconciled here, or a `git reset --mixed` would lose the work tree's bytes.
  const all = opts.pointers && !opts.paths ? opts.pointers : await workspacePointers(ctx.root, opts.paths);
  const tracked = all.filter((t) => !t.filtered);
  // The evidence from history is read only when an artifact needs it (the stamps answer the common case).
  const previous = (opts.previous ?? []).filter((c) => c && !ZERO.test(c));
  let baselinesP: Promise<Array<Map<string, Pointer | undefined>>> | undefined;
  const baselines = () => (baselinesP ??= Promise.all(previous.map((c) => baselineAt(ctx, c))));
  let reflogP: Promise<Array<Map<string, Pointer | undefined>>> | undefined;
  const reflog = () =>
    (reflogP ??= (async () => {
      if (!opts.reflog) return [];
      const out: string[] = [];
      for (const rev of ['HEAD@{1}', 'ORIG_HEAD']) {
        const c = (await git(ctx.root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { okCodes: [1, 128] })).trim();
        if (c && !previous.includes(c) && !out.includes(c)) out.push(c);
      }
      return Promise.all(out.map((c) => baselineAt(ctx, c)));
    })());
  let headP: Promise<Map<string, Pointer | undefined>> | undefined;
  const headPointers = () => (headP ??= (async () => baselineAt(ctx, await headCommit(ctx.root)))());
  const stat = new StatCache(ctx.stateDir);
  const stamps = new Stamps(ctx.stateDir);
  const early = stamps.prefetch(ctx.root);
  const baseline = new Map<string, Pointer | undefined>();
  const todo: string[] = [];
  for (const t of tracked) {
    // In the order of the evidence's strength, read only as far as needed: the previous commit
    // usually names the version the folder holds.
    const candidates = async function* () {
      for (const b of await baselines()) if (b.get(t.path)) yield b.get(t.path)!;
      for (const b of await reflog()) if (b.get(t.path)) yield b.get(t.path)!;
      // HEAD's version: for a pointer file checked out or restored from another revision.
      const h = (await headPointers()).get(t.path);
      if (h) yield h;
    };
    const d = await classifyData(ctx, stat, stamps, t.path, t.pointer, candidates, early.get(t.path));
    out.states.set(t.path, d.state);
    if (d.state === 'stale') {
      out.stale.push({ path: t.path, version: d.version! });
      baseline.set(t.path, d.version);
      todo.push(t.path);
    } else if (d.state === 'deleted' && opts.restoreMissing) {
      baseline.set(t.path, undefined);
      todo.push(t.path);
    } else if (d.state === 'modified' || d.state === 'unknown') out.kept.push(t.path);
  }
  stat.save();
  stamps.save();
  if (opts.dryRun) return out;
  if (todo.length) {
    const r = await restoreFetching(ctx, todo, baseline, tracked);
    out.artifacts = r.artifacts;
    out.withheld = r.withheld;
    out.restored = r.artifacts.filter((a) => a.action === 'restored').map((a) => a.path);
    for (const p of out.restored) out.states.set(p, 'clean');
    out.kept.push(...r.unsaved);
    for (const p of r.unsaved) out.states.set(p, 'modified');
    out.stale = out.stale.filter((s) => r.unsaved.includes(s.path));
  }
  if (opts.dropUntracked === false) return out;
  const dropped = new Map<string, Pointer | undefined>();
  for (const b of await baselines()) for (const [k, v] of b) if (!dropped.has(k)) dropped.set(k, v);
  out.removed = await removeDropped(ctx, dropped, opts.paths ? undefined : all);
  return out;
}

/** Restores `paths` (their data is stale or absent); missing blobs are fetched when `auto_fetch` allows. */
async function restoreFetching(
  ctx: RepoContext,
  paths: string[],
  baseline: Map<string, Pointer | undefined>,
  tracked: TrackedPointer[],
): Promise<{ artifacts: CheckoutResult['artifacts']; unsaved: string[]; withheld: Withheld[] }> {
  // The pointers just read (checkout would list the work tree's pointers again).
  const pointersOf = (ps: string[]) => tracked.filter((t) => ps.includes(t.path));
  const run = async () => {
    try {
      const c = await checkout({ cwd: ctx.root, baseline, paths, pointers: pointersOf(paths) });
      return { artifacts: c.artifacts, unsaved: [] as string[], withheld: c.withheld ?? [] };
    } catch (e) {
      // Changed between the classification and the checkout (a race with the user): theirs.
      if (!isMkError(e, 'EUNSAVED')) throw e;
      const unsaved = (e.data.paths as string[] | undefined) ?? [];
      const artifacts = paths.filter((p) => unsaved.some((u) => underPrefix(u, p)));
      const rest = paths.filter((p) => !artifacts.includes(p));
      const c = rest.length ? await checkout({ cwd: ctx.root, baseline, paths: rest, pointers: pointersOf(rest) }) : undefined;
      return { artifacts: c?.artifacts ?? [], unsaved: artifacts, withheld: c?.withheld ?? [] };
    }
  };
  try {
    return await run();
  } catch (e) {
    if (!isMkError(e, 'ENOTCACHED') || !ctx.config.autoFetch || ctx.config.remotes.length === 0) throw e;
  }
  const { fetchData } = await import('../../api/transfer.js');
  await fetchData({ cwd: ctx.root, paths });
  tracked = await workspacePointers(ctx.root, paths); // as they are now (a fetch may run for minutes)
  return run();
}

/**
 * Brings the data in line with the pointers git just wrote (post-checkout, post-merge,
 * post-rewrite, reference-transaction), by the one rule. `previous`: the commit HEAD was at.
 * The user's data is left alone: it is raised as an unsaved-changes error once every other
 * artifact is restored.
 */
export async function restoreAfterGit(ctx: RepoContext, previous: string | undefined, opts: { fileCheckout?: boolean } = {}): Promise<ReconcileResult> {
  if (ctx.config.verifySignaturesKey) await (await import('../../api/signature-gate.js')).requireSignedRevision({ cwd: ctx.root }); // config verify_signatures
  const r = await reconcile(ctx, { previous: previous ? [previous] : [], reflog: true, restoreMissing: !opts.fileCheckout, dropUntracked: !opts.fileCheckout });
  // A checkout that restored data recorded the pointers in place already (removing dropped data changes no pointer).
  if (!r.artifacts.length) await recordPointerState(ctx.root, ctx.stateDir);
  if (r.kept.length) throw new UnsavedChangesError(r.kept);
  return r;
}

/**
 * Artifacts the previous revision tracked and the new one does not: their data goes, as git
 * removes the files the new commit no longer has. Only data that is exactly what the previous
 * revision recorded, and whose bytes the cache keeps (switching back restores them), and
 * nothing git now tracks at that path; anything else stays where it is.
 */
async function removeDropped(ctx: RepoContext, baseline: Map<string, Pointer | undefined>, pointers?: TrackedPointer[]): Promise<string[]> {
  if (baseline.size === 0) return [];
  const now = new Set((pointers ?? (await workspacePointers(ctx.root))).map((t) => t.path));
  const dropped = [...baseline].filter((e): e is [string, Pointer] => e[1] !== undefined && !now.has(e[0]) && ![...now].some((n) => underPrefix(e[0], n) || underPrefix(n, e[0])));
  if (dropped.length === 0) return [];
  const removed: string[] = [];
  const lock = await ctx.lock();
  const stat = new StatCache(ctx.stateDir);
  try {
    for (const [path, p] of dropped) {
      checkStoredPath(path);
      assertNoSymlinkedParents(ctx.root, path);
      if (!existsSync(abs(ctx.root, path))) continue;
      if ((await git(ctx.root, ['ls-files', '-z', '--', path])).length > 0) continue; // git's own file or folder now
      const c = await compareWorkspace(ctx, stat, path, p);
      if (c.workspace !== 'clean' || !c.cached) continue;
      rmSync(abs(ctx.root, path), { recursive: true, force: true });
      stat.forgetUnder(path);
      pruneEmptyParents(ctx.root, dirname(abs(ctx.root, path)));
      removed.push(path);
    }
  } finally {
    stat.save();
    lock.release();
  }
  return removed;
}
