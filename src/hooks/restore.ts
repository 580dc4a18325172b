import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkout, type CheckoutResult } from '../api/checkout.js';
import { fetchData } from '../api/transfer.js';
import { isMkError } from '../errors/index.js';
import { pointersAtCommit, underPrefix, workspacePointers } from '../git/pointers.js';
import type { Pointer } from '../pointer/pointer.js';
import type { RepoContext } from '../repo/context.js';

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
export async function restoreAfterGit(ctx: RepoContext, previous: string | undefined): Promise<CheckoutResult | undefined> {
  const baseline = await baselineAt(ctx, previous);
  const run = () => restoreSparing(ctx, baseline);
  try {
    return await run();
  } catch (e) {
    if (!isMkError(e, 'ENOTCACHED') || !ctx.config.autoFetch || (ctx.config.remotes.length === 0)) throw e;
  }
  await fetchData({ cwd: ctx.root });
  return run();
}

/**
 * Restores every artifact; when some hold unsaved changes, those are left alone and the
 * others are still restored (then the unsaved-changes error is raised). Otherwise one edited
 * artifact would keep every other artifact at the previous revision's data, and the next
 * `git commit` would record that stale data on the new branch.
 */
async function restoreSparing(ctx: RepoContext, baseline: Map<string, Pointer | undefined>): Promise<CheckoutResult> {
  try {
    return await checkout({ cwd: ctx.root, baseline });
  } catch (e) {
    if (!isMkError(e, 'EUNSAVED')) throw e;
    const unsaved = (e.data.paths as string[] | undefined) ?? [];
    const rest = (await workspacePointers(ctx.root)).map((t) => t.path).filter((p) => !unsaved.some((u) => underPrefix(u, p)));
    if (rest.length) await checkout({ cwd: ctx.root, baseline, paths: rest });
    throw e;
  }
}
