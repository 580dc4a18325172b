import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CheckoutResult } from './checkout.js';
import { compareWorkspace } from './compare.js';
import { isMkError } from '../errors/index.js';
import { judge, type DataState } from './judge.js';
import { Session } from './session.js';
import { pointersAtCommit, underPrefix, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { git, headCommit } from '../git/run.js';
import { recordPointerState } from '../git/pointer-state.js';
export { pointersInPlace } from '../git/pointer-state.js';
import { StatCache } from '../hashing/stat-cache.js';
import type { Pointer } from '../formats/pointer.js';
import type { RepoContext } from '../repo/context.js';
import { pruneEmptyParents } from '../util/fs.js';
import { abs, assertNoSymlinkedParents, checkStoredPath } from '../repo/paths.js';
import type { Withheld } from '../remote/access.js';

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
  /** Stale, half-placed (interrupted) or absent data that now follows its pointer. */
  restored: string[];
  /**
   * The user's data left exactly as it was although git moved its pointer: the new version
   * changes files the user changed too (`conflicts` in `artifacts` names them). Not this
   * revision's data: the command that moved the pointer did not get what it asked for.
   */
  kept: string[];
  /** Artifacts with the user's changes in place (carried across the pointer's move, or the pointer did not move): nothing was refused. */
  edited: string[];
  /** Artifacts whose changes were discarded (`discard`: git reset --hard, checkout -f, switch --discard-changes). */
  discarded: string[];
  /** Data of artifacts the previous revision tracked and this one does not. */
  removed: string[];
  /** Stale data that could not follow its pointer (while a merge is being concluded, or nothing to fetch it from). */
  stale: Array<{ path: string; version: Pointer }>;
  /** Each artifact's state before reconciling. */
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
  /** Only judge: restore nothing (the stale artifacts are returned). */
  dryRun?: boolean;
  /** Remove the data of artifacts `previous` tracked and the work tree no longer does (default true). */
  dropUntracked?: boolean;
  /** The work tree's pointers, when the caller has just listed them (and `paths` is not given). */
  pointers?: TrackedPointer[];
  /** Downloads the data of these artifacts into the cache (`auto_fetch`): given by the caller, which may reach a remote. */
  fetch?: (paths: string[]) => Promise<void>;
  /** The user's changes go too (git reset --hard, checkout -f, switch --discard-changes): every artifact follows its pointer. */
  discard?: boolean;
}

/**
 * The one rule (src/worktree/judge.ts), for every folder (and legacy file) artifact, after git
 * moved pointers: data the user has not changed since mk placed or recorded it follows its
 * pointer (restored, fetched first when `auto_fetch` allows), and so does mk's own half-placed
 * data; the user's changes stay, file by file, as git keeps local changes across a switch: a
 * file the user changed that the new version does not change stays, and an artifact whose new
 * version changes a file the user changed too is left entirely as it is (`kept`). Run by every
 * hook that sees git move pointers (post-checkout, post-merge, post-rewrite,
 * reference-transaction) and by pre-commit before it records anything.
 */
export async function reconcile(ctx: RepoContext, opts: ReconcileOptions = {}): Promise<ReconcileResult> {
  const out: ReconcileResult = { artifacts: [], restored: [], kept: [], edited: [], discarded: [], removed: [], stale: [], states: new Map(), withheld: [] };
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
      for (const rev of ['HEAD@{1}', 'ORIG_HEAD', 'HEAD@{2}']) {
        const c = (await git(ctx.root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { okCodes: [1, 128] })).trim();
        if (c && !previous.includes(c) && !out.includes(c)) out.push(c);
      }
      return Promise.all(out.map((c) => baselineAt(ctx, c)));
    })());
  let headP: Promise<Map<string, Pointer | undefined>> | undefined;
  const headPointers = () => (headP ??= (async () => baselineAt(ctx, await headCommit(ctx.root)))());
  const session = new Session(ctx);
  const { stat, stamps, journal } = session;
  const early = stamps.prefetch(ctx.root);
  const baseline = new Map<string, Pointer | undefined>();
  const judged = new Map<string, DataState>();
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
    const d = await judge(ctx, stat, stamps, journal, t.path, t.pointer, candidates, early.get(t.path));
    out.states.set(t.path, d.state);
    judged.set(t.path, d);
    // The version git moved from (its pointer in the previous commit): what the user's changes were made on.
    const before = (await baselines()).find((b) => b.has(t.path))?.get(t.path);
    if (d.state === 'stale') {
      out.stale.push({ path: t.path, version: d.version! });
      baseline.set(t.path, d.version);
      todo.push(t.path);
    } else if (d.state === 'interrupted') {
      baseline.set(t.path, before);
      todo.push(t.path);
    } else if (d.state === 'deleted' && opts.restoreMissing) {
      baseline.set(t.path, undefined);
      todo.push(t.path);
    } else if (d.state === 'modified' || d.state === 'unknown') {
      // The user's changes: placed over only when asked to discard them, or carried across a pointer git moved.
      const moved = previous.length > 0 && before?.digest !== t.pointer.digest;
      if (opts.discard || moved) {
        baseline.set(t.path, before);
        todo.push(t.path);
        if (opts.discard && d.state === 'modified') out.discarded.push(t.path);
      } else if (d.state === 'modified') out.edited.push(t.path);
    }
  }
  session.save();
  if (opts.dryRun) return out;
  if (todo.length) {
    const r = await restoreFetching(ctx, todo, baseline, tracked, judged, opts.discard ? 'discard' : 'carry', opts.fetch);
    out.artifacts = r.artifacts;
    out.withheld = r.withheld;
    out.restored = r.artifacts.filter((a) => a.action === 'restored' && !a.carried?.length && !out.discarded.includes(a.path)).map((a) => a.path);
    for (const a of r.artifacts) {
      if (a.action === 'kept') out.kept.push(a.path);
      else if (a.carried?.length) out.edited.push(a.path);
    }
    out.stale = out.stale.filter((s) => out.kept.includes(s.path));
  }
  if (opts.dropUntracked === false) return out;
  const dropped = new Map<string, Pointer | undefined>();
  for (const b of await baselines()) for (const [k, v] of b) if (!dropped.has(k)) dropped.set(k, v);
  out.removed = await removeDropped(ctx, dropped, opts.paths ? undefined : all);
  return out;
}

/** Restores `paths` (their data is stale, half-placed or absent, or git moved their pointer); missing blobs are fetched when `auto_fetch` allows. */
async function restoreFetching(
  ctx: RepoContext,
  paths: string[],
  baseline: Map<string, Pointer | undefined>,
  tracked: TrackedPointer[],
  judged: Map<string, DataState>,
  mode: 'carry' | 'discard',
  fetch: ((paths: string[]) => Promise<void>) | undefined,
): Promise<{ artifacts: CheckoutResult['artifacts']; withheld: Withheld[] }> {
  // The pointers just read (checkout would list the work tree's pointers again).
  const pointersOf = (ps: string[]) => tracked.filter((t) => ps.includes(t.path));
  // Loaded only when something is to be placed (checkout brings the pack reader and tar with it).
  const { checkout } = await import('./checkout.js');
  const run = async (j?: Map<string, DataState>) => {
    const c = await checkout({ cwd: ctx.root, baseline, paths, pointers: pointersOf(paths), mode, judged: j });
    return { artifacts: c.artifacts, withheld: c.withheld ?? [] };
  };
  try {
    return await run(judged);
  } catch (e) {
    if (!isMkError(e, 'ENOTCACHED') || !fetch || !ctx.config.autoFetch || ctx.config.remotes.length === 0) throw e;
  }
  await fetch(paths);
  tracked = await workspacePointers(ctx.root, paths); // as they are now (a fetch may run for minutes)
  return run(); // judged again: the data may have changed meanwhile
}

/**
 * Brings the data in line with the pointers git just wrote (post-checkout, post-merge,
 * post-rewrite, reference-transaction), by the one rule. `previous`: the commit HEAD was at.
 * The user's changes stay (see reconcile); with `discard`, they go.
 */
export async function restoreAfterGit(
  ctx: RepoContext,
  previous: string | undefined,
  opts: { fileCheckout?: boolean; fetch?: (paths: string[]) => Promise<void>; discard?: boolean } = {},
): Promise<ReconcileResult> {
  const r = await reconcile(ctx, {
    previous: previous ? [previous] : [],
    reflog: true,
    restoreMissing: !opts.fileCheckout,
    dropUntracked: !opts.fileCheckout,
    fetch: opts.fetch,
    discard: opts.discard,
  });
  // A checkout that restored data recorded the pointers in place already (removing dropped data changes no pointer).
  if (!r.artifacts.length) await recordPointerState(ctx.root, ctx.stateDir);
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
