import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { hasBlobStat } from '../content/storage.js';
import { NotFoundError } from '../errors/index.js';
import type { TrackedPointer } from '../git/pointers.js';
import { resolveCommit } from '../git/run.js';
import { assembleDirManifest, decodeDirRoot, type DirManifest } from '../formats/dir-manifest.js';
import type { openRemote } from '../remote/remotes.js';
import type { RepoContext } from '../repo/context.js';
import { listsCovering } from '../worktree/dir-lookup.js';
import { loadDirManifest, readCachedSmall } from '../worktree/load.js';

/**
 * The file list of folder artifact `t` (its root, then its file lists: small), downloaded into
 * the cache where it lacks them (`ensure`), the root's size asked of the remote when unknown.
 * With `only` (a path inside the folder), only the files of the lists that can hold it.
 */
export async function fetchDirManifest(
  ctx: RepoContext,
  t: TrackedPointer,
  rev: string,
  ensure: (d: Descriptor[]) => Promise<void>,
  remote: () => Promise<Awaited<ReturnType<typeof openRemote>> | undefined>,
  only?: string,
): Promise<DirManifest> {
  let rootSize = ctx.cache.statBlobSync(t.pointer.digest);
  if (rootSize === undefined) {
    const target = await remote();
    if (target && hasBlobStat(target)) rootSize = await target.statBlob(t.pointer.digest);
    if (target && rootSize === undefined) {
      // A mirror that copied the ModelKits without mk's referrer: the file lists are rebuilt
      // from the packs of a ModelKit there and checked against the pointer (or one line says why not).
      const { ModelKitSource, rebuildDirRoot } = await import('../modelkit/rebuild-manifest.js');
      const commit = await resolveCommit(ctx.root, rev).catch(() => undefined);
      await rebuildDirRoot(ctx.cache, ctx.commonDir, new ModelKitSource(target, commit ? [commit] : []), t);
      rootSize = ctx.cache.statBlobSync(t.pointer.digest);
    }
  }
  if (rootSize === undefined) throw new NotFoundError(`the file list of ${t.path} at ${rev} is in neither the local cache nor the remote`, 'push it from a clone that has the data');
  await ensure([{ mediaType: MediaType.octet, digest: t.pointer.digest, size: rootSize }]);
  const what = `directory manifest ${t.pointer.digest.slice(7, 19)}`;
  const root = decodeDirRoot(readCachedSmall(ctx.cache, t.pointer.digest, what), what);
  if (only === undefined) {
    await ensure(root.lists);
    return loadDirManifest(ctx.cache, t.pointer);
  }
  // Only the file lists that can hold `only` (a binary search over them): the manifest then names those files alone.
  const read = async (d: Descriptor) => {
    await ensure([d]);
    return readCachedSmall(ctx.cache, d.digest, what);
  };
  const needed = await listsCovering(root, only, read, what);
  await ensure(root.lists.filter((l) => needed.has(l.digest)));
  return assembleDirManifest(root, (d) => readCachedSmall(ctx.cache, d, what), what, needed);
}
