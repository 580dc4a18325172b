import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { hasBlobStat, type CacheStore, type Target } from '../content/storage.js';
import { loadDirManifest } from './load.js';
import type { TrackedPointer } from '../git/pointers.js';
import { NotFoundError } from '../errors/index.js';

/** The blob of a file artifact. */
export function fileBlob(t: TrackedPointer): Descriptor {
  return { mediaType: MediaType.octet, digest: t.pointer.digest, size: t.pointer.size };
}

/**
 * The graph root of an artifact's data: the blob of a file, or the directory root of a
 * folder (whose size the cache knows, else `remote`). Undefined when neither holds the root.
 */
export async function artifactRoot(cache: CacheStore, t: TrackedPointer, remote?: Target): Promise<Descriptor | undefined> {
  if (t.pointer.type === 'file') return fileBlob(t);
  const size = cache.statBlobSync(t.pointer.digest) ?? (remote && hasBlobStat(remote) ? await remote.statBlob(t.pointer.digest) : undefined);
  return size === undefined ? undefined : { mediaType: MediaType.mkDirectory, digest: t.pointer.digest, size };
}

/** Like artifactRoot, but a folder whose root is nowhere is an error naming it. */
export async function requireRoot(cache: CacheStore, t: TrackedPointer, remote: Target): Promise<Descriptor> {
  const r = await artifactRoot(cache, t, remote);
  if (!r) throw new NotFoundError(`the file list of ${t.path} (${t.pointer.digest.slice(7, 19)}) is not in ${remote.location}`, 'it was never pushed there: push it from a clone that has the data');
  return r;
}

/** Every blob an artifact needs (from the cache's directory manifest): for reports, not for copies. */
export async function artifactBlobs(cache: CacheStore, t: TrackedPointer): Promise<Descriptor[]> {
  if (t.pointer.type === 'file') return [fileBlob(t)];
  const m = await loadDirManifest(cache, t.pointer);
  const out = new Map<string, Descriptor>();
  for (const l of m.layers) {
    out.set(l.digest, { mediaType: MediaType.octet, digest: l.digest, size: l.size });
    if (l.list) out.set(l.list.digest, { mediaType: MediaType.mkFileList, ...l.list });
  }
  out.set(t.pointer.digest, { mediaType: MediaType.mkDirectory, digest: t.pointer.digest, size: cache.statBlobSync(t.pointer.digest) ?? -1 });
  return [...out.values()];
}

/** The directory manifests (roots and file lists) of folder artifacts: what a ModelKit's referrer keeps reachable. */
export async function dirManifestBlobs(cache: CacheStore, ts: TrackedPointer[]): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  for (const t of ts) {
    if (t.pointer.type !== 'dir') continue;
    const m = await loadDirManifest(cache, t.pointer);
    for (const l of m.layers) if (l.list) out.push({ mediaType: MediaType.mkFileList, ...l.list });
    out.push({ mediaType: MediaType.mkDirectory, digest: t.pointer.digest, size: cache.statBlobSync(t.pointer.digest)! });
  }
  return out;
}
