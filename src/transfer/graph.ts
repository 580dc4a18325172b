import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { bufferSource, hasBlobStat, readAll, type Target } from '../content/storage.js';
import { decodeDirRoot, type DirManifest } from '../artifact/dir-manifest.js';
import { loadDirManifest } from '../artifact/load.js';
import type { TrackedPointer } from '../git/pointers.js';
import type { CacheStore } from '../content/storage.js';
import { NotFoundError } from '../errors/index.js';
import { copyBlobs } from './copy.js';
import { checkPointerSize } from '../artifact/pointer-size.js';

/**
 * The blobs an artifact needs, in upload order: data blobs (raw files, packs) and the pack
 * file lists first, then the directory manifest that names them, so a store never holds a
 * manifest whose blobs are missing.
 */
export async function artifactBlobs(cache: CacheStore, t: TrackedPointer): Promise<Descriptor[]> {
  const p = t.pointer;
  await checkPointerSize(cache, t);
  if (p.type === 'file') return [{ mediaType: MediaType.octet, digest: p.digest, size: p.size }];
  const m = await loadDirManifest(cache, p);
  const size = await cache.statBlob(p.digest);
  const seen = new Set<string>();
  const out: Descriptor[] = [];
  for (const l of m.layers) if (!seen.has(l.digest)) (seen.add(l.digest), out.push({ mediaType: MediaType.octet, digest: l.digest, size: l.size }));
  for (const d of listBlobs(m)) if (!seen.has(d.digest)) (seen.add(d.digest), out.push(d));
  out.push({ mediaType: MediaType.mkDirectory, digest: p.digest, size: size! });
  return out;
}

/** The file-list blobs of a (v2) manifest. */
export function listBlobs(m: DirManifest): Descriptor[] {
  const seen = new Set<string>();
  const out: Descriptor[] = [];
  for (const l of m.layers) if (l.list && !seen.has(l.list.digest)) (seen.add(l.list.digest), out.push({ mediaType: MediaType.mkFileList, ...l.list }));
  return out;
}

/**
 * Makes the directory manifest of `t` (root and file lists) readable from the cache,
 * downloading from `remote` what the cache lacks (every byte verified; lists before the
 * root), and returns it.
 */
export async function ensureDirManifest(cache: CacheStore, remote: Target, t: TrackedPointer, opts: { concurrency?: number; signal?: AbortSignal } = {}): Promise<DirManifest> {
  const cached = await loadDirManifest(cache, t.pointer).catch(() => undefined);
  if (cached) return cached;
  let rootBytes: Buffer;
  const local = await cache.statBlob(t.pointer.digest);
  if (local !== undefined) rootBytes = await readAll(await cache.fetch({ mediaType: MediaType.mkDirectory, digest: t.pointer.digest, size: local }));
  else rootBytes = (await remoteDirManifest(remote, t)).bytes;
  const root = decodeDirRoot(rootBytes, `${t.path} directory manifest`);
  if (root.lists.length) await copyBlobs(remote, cache, root.lists, opts);
  if (local === undefined) await cache.push({ mediaType: MediaType.mkDirectory, digest: t.pointer.digest, size: rootBytes.length }, bufferSource(rootBytes));
  return loadDirManifest(cache, t.pointer);
}

/** Reads a directory manifest's root from a remote (to learn which blobs a dir needs before fetching them). */
export async function remoteDirManifest(remote: Target, t: TrackedPointer): Promise<{ desc: Descriptor; bytes: Buffer }> {
  const size = hasBlobStat(remote) ? await remote.statBlob(t.pointer.digest) : undefined;
  if (size === undefined) throw new NotFoundError(`the file list of ${t.path} (${t.pointer.digest.slice(7, 19)}) is not in ${remote.location}`, 'it was never pushed there: push it from a clone that has the data');
  const desc: Descriptor = { mediaType: MediaType.mkDirectory, digest: t.pointer.digest, size };
  const bytes = await readAll(await remote.fetch(desc), 512 << 20);
  decodeDirRoot(bytes, `${t.path} directory manifest`); // validates before anything uses it
  return { desc, bytes };
}
