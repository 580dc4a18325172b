import type { RepoContext } from '../repo/context.js';

/** What the engine calls when data it must place is not in the cache and `auto_fetch` allows a download. */
export function autoFetch(ctx: RepoContext): (paths: string[]) => Promise<void> {
  return async (paths) => {
    // Loaded only when data must be downloaded: the transfer code (registry client, pipelines' run cache) is most of a hook's modules.
    const { fetchData } = await import('../sync/transfer.js');
    await fetchData({ cwd: ctx.root, paths });
  };
}
