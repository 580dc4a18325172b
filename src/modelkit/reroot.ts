import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MediaType } from '../content/media-types.js';
import { MkError } from '../errors/index.js';
import type { DirManifest } from '../formats/dir-manifest.js';
import { readTar } from '../formats/tar.js';
import type { TrackedPointer } from '../git/pointers.js';
import type { RepoContext } from '../repo/context.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { loadDirManifest } from '../worktree/load.js';
import { storeMergedDir } from '../worktree/merge.js';

/** The name of a pack's first file entry (its files are named under the folder's path when the pack was written). */
async function firstFileName(ctx: RepoContext, layer: { digest: string; size: number }): Promise<string | undefined> {
  let name: string | undefined;
  // Thrown to stop reading once the first file is seen (that exact object, never an error of the pack's).
  const stop = new MkError('EINTERNAL', 'stop reading: the first file was found');
  try {
    await readTar(await ctx.cache.fetch({ mediaType: MediaType.octet, digest: layer.digest, size: layer.size }), `pack ${layer.digest.slice(7, 19)}`, async (e) => {
      if (e.type !== 'file') return;
      name = e.name;
      throw stop;
    });
  } catch (e) {
    if (e !== stop) throw e;
  }
  return name;
}

/**
 * The folder's manifest with packs that name its files under the path it has in this commit.
 * A folder moved since its packs were written (`git mv`, `mk mv`: a move keeps its version, so
 * nothing is stored or uploaded for the move itself) still has packs naming the old path; a
 * ModelKit's dataset layers are those packs, and `kit unpack` writes their entries where they
 * say. Such a folder gets packs written anew from the cached ones under the new path, exactly
 * as `mk add` would write the folder there (so the same commit always gives the same ModelKit),
 * once: the result is remembered in `.git/mk/rerooted.json`.
 */
export async function rerooted(ctx: RepoContext, t: TrackedPointer, m: DirManifest): Promise<DirManifest> {
  const first = m.layers.findIndex((l) => l.format === 'tar');
  if (first < 0) return m;
  const f = m.files.find((x) => x.layer === first);
  if (!f) return m;
  const memoFile = join(ctx.stateDir, 'rerooted.json');
  const key = `${t.pointer.digest} ${t.path}`;
  let memo: Record<string, string> = {};
  try {
    memo = JSON.parse(readFileSync(memoFile, 'utf8')) as Record<string, string>;
  } catch {
    /* none yet */
  }
  const known = memo[key];
  if (known) {
    const m2 = await loadDirManifest(ctx.cache, { digest: known }).catch(() => undefined);
    // Reused only when every pack is still cached, each claimed (a gc running in a clone sharing the cache keeps it).
    if (m2 && m2.layers.every((l) => ctx.cache.claim(l))) return m2;
  }
  const name = await firstFileName(ctx, m.layers[first]!);
  if (name === undefined || name === `${t.path}/${f.path}`) return m;
  const files = [
    ...m.files.map((x) => ({ path: x.path, mode: x.mode, size: x.size, digest: x.digest, from: 'ours' as const })),
    ...(m.links ?? []).map((l) => ({ path: l.path, mode: 0, size: 0, digest: `link:${l.target}`, from: 'ours' as const })),
  ];
  const r = await storeMergedDir({ cache: ctx.cache }, t.path, files, { ours: m, theirs: m }, { rawThreshold: ctx.config.rawThreshold, packTarget: ctx.config.packTarget });
  try {
    writeFileAtomicSync(memoFile, JSON.stringify({ ...memo, [key]: r.digest }));
  } catch {
    /* read-only: done again next time */
  }
  return r.manifest;
}
