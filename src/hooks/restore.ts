import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkout, type CheckoutResult } from '../api/checkout.js';
import { fetchData } from '../api/transfer.js';
import { isMkError } from '../errors/index.js';
import { pointersAtCommit } from '../git/pointers.js';
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
  const run = () => checkout({ cwd: ctx.root, baseline });
  try {
    return await run();
  } catch (e) {
    if (!isMkError(e, 'ENOTCACHED') || !ctx.config.autoFetch || (ctx.config.remotes.length === 0)) throw e;
  }
  await fetchData({ cwd: ctx.root });
  return run();
}
