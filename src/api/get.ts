import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { hasBlobStat } from '../content/storage.js';
import { MkError, NotFoundError } from '../errors/index.js';
import { pointersAtCommit, underPrefix, type TrackedPointer } from '../git/pointers.js';
import { resolveCommit } from '../git/run.js';
import { openRemote, remoteOfArtifact } from '../remote/remotes.js';
import { deniedReason, withheldError, withheldOf } from '../remote/access.js';
import { routeOf } from '../repo/routes.js';
import { RepoContext } from '../repo/context.js';
import { assertNotGitDir, repoRelative } from '../repo/paths.js';
import { copyGraph } from '../transfer/graph-copy.js';
import { extractPack, placeBlob, type PackWant } from '../worktree/materialize.js';
import { loadDirManifest, readCachedSmall } from '../worktree/load.js';
import { assembleDirManifest, decodeDirRoot, type DirManifest, type FileEntry } from '../formats/dir-manifest.js';
import { listsCovering } from '../worktree/dir-lookup.js';
import { replaceWith, tmpName } from '../util/fs.js';
import { readPackRanges } from '../worktree/pack-ranges.js';

export type { GetOptions, GetResult } from './get-types.js';
import type { GetOptions, GetResult } from './get-types.js';

/**
 * One file, or one folder inside a tracked folder, of any revision, written outside the work
 * tree (as `dvc get` or `git show REV:path | git lfs smudge`): the work tree, the index and
 * HEAD are not touched. Only what this path needs is read or downloaded: for a file inside a
 * folder of 20,000, its folder's file lists and the file's own bytes, read out of the pack that
 * holds it by their byte range (HTTP Range on a registry, a read at the offset in a layout),
 * the offset derived from the file list as mk's pack writer lays packs out. A pack whose wanted
 * part is half of it or more is downloaded whole (and kept in the cache). Every byte is verified
 * (a file against its digest in the file list); the output appears whole or not at all.
 */
export async function get(path: string, opts: GetOptions = {}): Promise<GetResult> {
  if (opts.rev !== undefined && !(await isRevision(opts.rev, opts.cwd))) {
    const { getFromModelKit } = await import('./get-modelkit.js');
    return getFromModelKit(opts.rev, path, opts);
  }
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const rel = repoRelative(ctx.root, path, cwd);
  const rev = opts.rev ?? 'HEAD';
  const commit = await resolveCommit(ctx.root, rev);
  const t = (await pointersAtCommit(ctx.commonDir, commit)).find((p) => underPrefix(rel, p.path));
  if (!t) {
    throw new MkError('ENOTTRACKED', `${rel} is not tracked data at ${rev}`, { hint: `a file Git keeps itself is had with 'git show ${rev}:${rel}'` });
  }
  const out = resolvePath(cwd, opts.out ?? basename(rel === '.' ? t.path : rel));
  assertNotGitDir(dirname(out));
  if (existsSync(out) && !opts.force) throw new MkError('EEXIST', `${out} already exists`, { hint: 'choose another place with -o, or replace it with --force' });
  const sub = rel === t.path ? '' : rel.slice(t.path.length + 1);
  const lock = await ctx.lock(); // mk gc waits: the blobs read here stay while they are read
  const fetched = { blobs: 0, bytes: 0 };
  const partial = { packs: 0, requests: 0, bytes: 0 };
  // The remote is opened once, and only when the cache lacks something.
  let remoteP: Promise<{ target: Awaited<ReturnType<typeof openRemote>>; concurrency: number }> | undefined;
  const remote = () =>
    (remoteP ??= (async () => {
      const rc = remoteOfArtifact(ctx, t, opts.remote); // a remote by path, if the artifact is routed
      return { target: await openRemote(ctx, rc), concurrency: opts.concurrency ?? rc.concurrency ?? 6 };
    })());
  // Downloads the blobs the cache lacks (each a plain blob: nothing below it is walked).
  const ensure = async (descs: Descriptor[]): Promise<void> => {
    const missing = descs.filter((d) => !ctx.cache.existsSync(d));
    if (!missing.length) return;
    if (!ctx.config.remotes.length) throw new MkError('ENOTCACHED', `the data of ${rel} at ${rev} is not in the local cache and no remote is configured`, { hint: "add one with 'mk remote add'" });
    const { target, concurrency } = await remote();
    const r = await copyGraph(
      target,
      ctx.cache,
      missing.map((d) => ({ mediaType: MediaType.octet, digest: d.digest, size: d.size })),
      { concurrency },
    );
    fetched.blobs += r.copied.length;
    fetched.bytes += r.bytes;
  };
  try {
    const tmp = tmpName(out);
    try {
      let files: FileEntry[];
      let type: 'file' | 'dir';
      if (t.pointer.type === 'file') {
        const desc = { mediaType: MediaType.octet, digest: t.pointer.digest, size: t.pointer.size };
        await ensure([desc]);
        await placeBlob(ctx.cache, desc.digest, desc.size, tmp, t.pointer.exec ? 0o755 : 0o644, 'copy');
        files = [{ path: '', digest: desc.digest, size: desc.size, mode: t.pointer.exec ? 0o755 : 0o644, layer: 0 }];
        type = 'file';
      } else {
        ({ files, type } = await folderPart(ctx, t, sub, rel, rev, ensure, async () => (ctx.config.remotes.length ? (await remote()).target : undefined), tmp, partial));
      }
      replaceWith(tmp, out); // --force: the old output goes only once the new one is complete
      return {
        path: rel,
        commit,
        artifact: t.path,
        out,
        type,
        files: files.length,
        bytes: files.reduce((n, f) => n + f.size, 0),
        downloaded: fetched.blobs + partial.packs,
        downloadedBytes: fetched.bytes + partial.bytes,
        packsInPart: partial.packs,
        rangeRequests: partial.requests,
      };
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      // Routed to a remote this user may not read: one line naming that repository.
      const route = deniedReason(e) ? routeOf(ctx.config, t) : undefined;
      if (route) throw withheldError([withheldOf(route, ctx.root, rel, deniedReason(e)!)]);
      throw e;
    }
  } finally {
    lock.release();
  }
}

/** Writes the files of folder artifact `t` under `sub` ('' for all of it) to `tmp`: one file, or a folder. */
async function folderPart(
  ctx: RepoContext,
  t: TrackedPointer,
  sub: string,
  rel: string,
  rev: string,
  ensure: (d: Descriptor[]) => Promise<void>,
  remote: () => Promise<Awaited<ReturnType<typeof openRemote>> | undefined>,
  tmp: string,
  partial: { packs: number; requests: number; bytes: number },
): Promise<{ files: FileEntry[]; type: 'file' | 'dir' }> {
  const manifest = await fetchDirManifest(ctx, t, rev, ensure, remote, sub);
  const files = sub ? manifest.files.filter((f) => underPrefix(f.path, sub)) : manifest.files;
  if (!files.length)
    throw new MkError('ENOTFOUND', `${rel} is not in ${t.path} at ${rev}`, { hint: `list what it holds with 'mk diff' or 'mk status -v', or get the whole folder with 'mk get ${t.path}'` });
  const single = files.length === 1 && files[0]!.path === sub;
  const destOf = (f: FileEntry) => (single ? tmp : join(tmp, ...(sub ? f.path.slice(sub.length + 1) : f.path).split('/')));
  const byLayer = new Map<number, FileEntry[]>();
  for (const f of files) byLayer.set(f.layer, [...(byLayer.get(f.layer) ?? []), f]);
  // A pack the cache lacks, of which only a small part is wanted, is read in part: the
  // wanted files' byte ranges only (HTTP Range on a registry, a read at the offset in a layout).
  const inPart = new Set<number>();
  for (const [i, fs] of byLayer) {
    const l = manifest.layers[i]!;
    const wanted = fs.reduce((n, f) => n + f.size, 0);
    if (l.format === 'tar' && !ctx.cache.existsSync({ mediaType: MediaType.octet, ...l }) && wanted * 2 < l.size) inPart.add(i);
  }
  const target = inPart.size ? await remote() : undefined;
  if (!target) inPart.clear(); // no remote: ensure below says so
  await ensure([...byLayer.keys()].filter((i) => !inPart.has(i)).map((i) => ({ mediaType: MediaType.octet, digest: manifest.layers[i]!.digest, size: manifest.layers[i]!.size })));
  if (!single) mkdirSync(tmp);
  // Pack entries are named from the repository root, as kit names a layer's entries.
  const entry = (f: FileEntry) => `${t.path}/${f.path}`;
  for (const [i, fs] of byLayer) {
    const l = manifest.layers[i]!;
    if (l.format === 'raw') {
      for (const f of fs) await placeBlob(ctx.cache, l.digest, l.size, destOf(f), f.mode, 'copy');
      continue;
    }
    let rest = fs;
    if (inPart.has(i)) {
      const all = manifest.files.filter((f) => f.layer === i).map((f) => ({ name: entry(f), size: f.size }));
      const r = await readPackRanges(
        target!,
        l,
        all,
        fs.map((f) => ({ name: entry(f), dest: destOf(f), mode: f.mode, digest: f.digest, size: f.size })),
      );
      partial.packs++;
      partial.requests += r.requests;
      partial.bytes += r.bytes;
      // Bytes that did not match at the derived offsets (a pack another tool laid out): read from the whole pack.
      const unmatched = new Set(r.unmatched.map((w) => w.name));
      rest = fs.filter((f) => unmatched.has(entry(f)));
      if (rest.length) await ensure([{ mediaType: MediaType.octet, digest: l.digest, size: l.size }]);
    }
    if (!rest.length) continue;
    const wants = new Map<string, PackWant>(rest.map((f) => [entry(f), { dest: destOf(f), mode: f.mode, digest: f.digest, size: f.size }]));
    await extractPack(ctx.cache, l, wants, () => undefined);
  }
  return { files, type: single ? 'file' : 'dir' };
}

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

/** Whether `rev` names a commit of the repository at `cwd` (false outside any repository). */
async function isRevision(rev: string, cwd?: string): Promise<boolean> {
  let root: string;
  try {
    root = RepoContext.open(cwd).root;
  } catch {
    return false;
  }
  try {
    await resolveCommit(root, rev);
    return true;
  } catch {
    return false;
  }
}
