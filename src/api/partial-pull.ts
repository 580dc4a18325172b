import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { MkError, UnsavedChangesError } from '../errors/index.js';
import { hashFile } from '../hashing/digest.js';
import { StatCache } from '../hashing/stat-cache.js';
import { Stamps } from '../hashing/stamps.js';
import { underPrefix, type TrackedPointer } from '../git/pointers.js';
import { openRemote, remoteOfArtifact } from '../remote/remotes.js';
import type { RepoContext } from '../repo/context.js';
import { abs, assertNoSymlinkedParents } from '../repo/paths.js';
import { extractPack, placeBlob, type PackWant } from '../worktree/materialize.js';
import { readPartialMarks, writePartialMarks, restoredUnder } from '../worktree/partial.js';
import type { FileEntry } from '../formats/dir-manifest.js';
import { copyGraph } from '../transfer/graph-copy.js';
import type { CopyProgress } from '../transfer/copy.js';
import { fetchDirManifest } from './get.js';

export interface PartialPullOptions {
  remote?: string;
  concurrency?: number;
  force?: boolean;
  onProgress?: (p: CopyProgress) => void;
  signal?: AbortSignal;
}

export interface PartialPullResult {
  /** The folder artifact. */
  path: string;
  /** The paths inside it that were asked for (repository-relative). */
  paths: string[];
  /** Files under those paths, and how many were written (the others were in place already). */
  files: number;
  written: number;
  /** Whether the folder is now marked as restored in part (see src/worktree/partial.ts). */
  partial: boolean;
  /** Blobs downloaded (file lists, the packs and raw files holding the files), and their bytes. */
  copied: number;
  bytes: number;
}

/**
 * `mk pull -- <path inside a folder>`: restores the files of folder artifact `t` under `subs`
 * (paths relative to the folder) and nothing else of it, downloading only the folder's file
 * lists and the packs and raw files that hold those files. Files elsewhere in the folder are
 * left as they are: absent ones stay absent.
 *
 * When the folder was absent (or already restored in part, from the same version), it is
 * marked as restored in part, so that status reports it so and nothing records the files not
 * restored as deleted (see partial.ts). A folder that exists unmarked is the user's: the files
 * asked for are restored into it, and no mark hides what else it lacks.
 */
export async function pullPart(ctx: RepoContext, t: TrackedPointer, subs: string[], opts: PartialPullOptions): Promise<PartialPullResult> {
  const rc = remoteOfArtifact(ctx, t, opts.remote); // a remote by path, if the folder is routed
  const concurrency = opts.concurrency ?? rc.concurrency ?? 6;
  let targetP: ReturnType<typeof openRemote> | undefined;
  const remote = () => (targetP ??= openRemote(ctx, rc));
  const fetched = { copied: 0, bytes: 0 };
  const ensure = async (descs: Descriptor[]) => {
    const missing = descs.filter((d) => !ctx.cache.existsSync(d));
    if (!missing.length) return;
    const r = await copyGraph(
      await remote(),
      ctx.cache,
      missing.map((d) => ({ mediaType: MediaType.octet, digest: d.digest, size: d.size })),
      { concurrency, onProgress: opts.onProgress, signal: opts.signal },
    );
    fetched.copied += r.copied.length;
    fetched.bytes += r.bytes;
  };
  const root = abs(ctx.root, t.path);
  const st = lstatSync(root, { throwIfNoEntry: false });
  if (st && !st.isDirectory())
    throw new MkError('ENOTDIR', `${t.path} is a folder artifact, but the work tree holds something else there`, { hint: `restore it whole with 'mk pull -- ${t.path}' (--force replaces it)` });
  // An empty folder is as good as none: nothing of the user's is there to hide.
  const fresh = !st || readdirSync(root).length === 0;
  const marks = readPartialMarks(ctx.stateDir);
  const mark = marks[t.path];
  if (mark && mark.digest !== t.pointer.digest)
    throw new MkError('EPARTIAL', `${t.path} holds part of another version than its pointer records`, { hint: `restore it whole with 'mk pull -- ${t.path}'` });
  const manifest = await fetchDirManifest(ctx, t, 'the work tree', ensure, remote);
  const paths = subs.map((s) => `${t.path}/${s}`);
  for (const s of subs)
    if (!manifest.files.some((f) => underPrefix(f.path, s)))
      throw new MkError('ENOTFOUND', `${t.path}/${s} is not in ${t.path}`, { hint: `list what it holds with 'mk ls ${t.path}', or pull the whole folder with 'mk pull -- ${t.path}'` });
  const files = manifest.files.filter((f) => subs.some((s) => underPrefix(f.path, s)));
  const stat = new StatCache(ctx.stateDir);
  const stamps = new Stamps(ctx.stateDir);
  try {
    // What is in the way: a file that differs (its bytes would be lost unless in the cache), or a folder/link where a file goes.
    const write: FileEntry[] = [];
    const unsaved: string[] = [];
    const replace: string[] = [];
    for (const f of files) {
      const rel = `${t.path}/${f.path}`;
      assertNoSymlinkedParents(ctx.root, rel);
      const a = abs(ctx.root, rel);
      const s = lstatSync(a, { bigint: false, throwIfNoEntry: false });
      if (!s) {
        write.push(f);
        continue;
      }
      if (!s.isFile()) {
        unsaved.push(rel);
        replace.push(a);
        write.push(f);
        continue;
      }
      const digest = stat.lookup(rel, s) ?? (await hashFile(a)).digest;
      stat.record(rel, s, digest);
      const mode = s.mode & 0o100 ? 0o755 : 0o644;
      if (digest === f.digest && mode === f.mode) continue;
      if (digest !== f.digest && !ctx.cache.existsSync({ mediaType: MediaType.octet, digest, size: s.size })) unsaved.push(rel);
      write.push(f);
    }
    if (unsaved.length && !opts.force) throw new UnsavedChangesError(unsaved);
    // Only the packs and raw files that hold the files to write.
    const layers = [...new Set(write.map((f) => f.layer))];
    await ensure(layers.map((i) => ({ mediaType: MediaType.octet, digest: manifest.layers[i]!.digest, size: manifest.layers[i]!.size })));
    for (const a of replace) rmSync(a, { recursive: true, force: true });
    if (!st) mkdirSync(root, { recursive: true });
    const link = ctx.config.link;
    for (const i of layers) {
      const l = manifest.layers[i]!;
      const fs = write.filter((f) => f.layer === i);
      if (l.format === 'raw') {
        for (const f of fs) {
          const placed = await placeBlob(ctx.cache, l.digest, l.size, abs(root, f.path), f.mode, link);
          stat.record(`${t.path}/${f.path}`, placed.stat, f.digest, undefined, true);
        }
        continue;
      }
      const wants = new Map<string, PackWant>(fs.map((f) => [`${t.path}/${f.path}`, { dest: abs(root, f.path), mode: f.mode, digest: f.digest, size: f.size }]));
      await extractPack(ctx.cache, l, wants, (name, placed) => stat.record(name, placed.stat, placed.digest, undefined, true));
    }
    // The mark: only on a folder that was absent, or already restored in part from this version.
    let partial = false;
    if (fresh || mark) {
      const restored = [...new Set([...(mark?.restored ?? []), ...subs])].sort();
      const next = { digest: t.pointer.digest, restored };
      if (manifest.files.every((f) => restoredUnder(next, f.path))) delete marks[t.path];
      else {
        marks[t.path] = next;
        partial = true;
      }
      writePartialMarks(ctx.stateDir, marks);
    }
    // A stamp says the folder holds a whole version: never true of a folder restored in part.
    if (write.length || partial) stamps.forget(t.path);
    return { path: t.path, paths, files: files.length, written: write.length, partial, ...fetched };
  } finally {
    stat.save();
    stamps.save();
  }
}
