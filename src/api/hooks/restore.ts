import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkout, type CheckoutResult } from '../checkout.js';
import { compareWorkspace } from '../../artifact/compare.js';
import { isMkError } from '../../errors/index.js';
import { pointersAtCommit, underPrefix, workspacePointers } from '../../git/pointers.js';
import { git } from '../../git/run.js';
import { StatCache } from '../../hashing/stat-cache.js';
import type { Pointer } from '../../pointer/pointer.js';
import type { RepoContext } from '../../repo/context.js';
import { pruneEmptyParents } from '../../util/fs.js';
import { abs, assertNoSymlinkedParents, checkStoredPath } from '../../repo/paths.js';

const ZERO = /^0+$/;

/** True while git is in the middle of a rebase (post-rewrite restores at the end). */
export function rebasing(ctx: RepoContext): boolean {
  return existsSync(join(ctx.gitDir, 'rebase-merge')) || existsSync(join(ctx.gitDir, 'rebase-apply'));
}

async function baselineAt(ctx: RepoContext, commit: string | undefined): Promise<Map<string, Pointer | undefined>> {
  const m = new Map<string, Pointer | undefined>();
  if (!commit || ZERO.test(commit)) return m;
  try {
    for (const t of await pointersAtCommit(ctx.commonDir, commit)) m.set(t.path, t.pointer);
  } catch {
    /* an unreadable old commit: fall back to an empty baseline (more conservative) */
  }
  return m;
}

/**
 * Brings the data in line with the pointers git just wrote. The baseline is what the work
 * tree held before (the previous HEAD's pointers): data still matching it may be replaced;
 * anything else is unsaved and stops us, as git stops for unsaved code. Missing data is
 * fetched from the default remote when `auto_fetch` allows.
 */
export async function restoreAfterGit(ctx: RepoContext, previous: string | undefined): Promise<(CheckoutResult & { removed: string[] }) | undefined> {
  const baseline = await baselineAt(ctx, previous);
  const run = () => restoreSparing(ctx, baseline);
  try {
    return await run();
  } catch (e) {
    if (!isMkError(e, 'ENOTCACHED') || !ctx.config.autoFetch || ctx.config.remotes.length === 0) throw e;
  }
  const { fetchData } = await import('../transfer.js');
  await fetchData({ cwd: ctx.root });
  return run();
}

/**
 * Restores every artifact; when some hold unsaved changes, those are left alone and the
 * others are still restored (then the unsaved-changes error is raised). Otherwise one edited
 * artifact would keep every other artifact at the previous revision's data, and the next
 * `git commit` would record that stale data on the new branch.
 */
async function restoreSparing(ctx: RepoContext, baseline: Map<string, Pointer | undefined>): Promise<CheckoutResult & { removed: string[] }> {
  let result: CheckoutResult;
  try {
    result = await checkout({ cwd: ctx.root, baseline });
  } catch (e) {
    if (!isMkError(e, 'EUNSAVED')) throw e;
    const unsaved = (e.data.paths as string[] | undefined) ?? [];
    const rest = (await workspacePointers(ctx.root)).map((t) => t.path).filter((p) => !unsaved.some((u) => underPrefix(u, p)));
    if (rest.length) await checkout({ cwd: ctx.root, baseline, paths: rest });
    await removeDropped(ctx, baseline).catch(() => undefined); // the unsaved changes are the news
    throw e;
  }
  return { ...result, removed: await removeDropped(ctx, baseline) };
}

/**
 * Artifacts the previous revision tracked and the new one does not: their data goes, as git
 * removes the files the new commit no longer has. Only data that is exactly what the previous
 * revision recorded, and whose bytes the cache keeps (switching back restores them), and
 * nothing git now tracks at that path; anything else stays where it is.
 */
async function removeDropped(ctx: RepoContext, baseline: Map<string, Pointer | undefined>): Promise<string[]> {
  if (baseline.size === 0) return [];
  const now = new Set((await workspacePointers(ctx.root)).map((t) => t.path));
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
