import { fetchData } from '../sync/transfer.js';
import type { RepoContext } from '../repo/context.js';

/** What the engine calls when data it must place is not in the cache and `auto_fetch` allows a download. */
export function autoFetch(ctx: RepoContext): (paths: string[]) => Promise<void> {
  return async (paths) => {
    await fetchData({ cwd: ctx.root, paths });
  };
}
