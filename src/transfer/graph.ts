import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { hasBlobStat, readAll, type Target } from '../content/storage.js';
import { decodeDirManifest } from '../artifact/dir-manifest.js';
import { loadDirManifest } from '../artifact/load.js';
import type { TrackedPointer } from '../git/pointers.js';
import type { OciLayoutStore } from '../stores/oci-layout/layout-store.js';
import { NotFoundError } from '../errors/index.js';

/**
 * The blobs an artifact needs, in upload order: data blobs (raw files, packs) first, then
 * the directory manifest that lists them, so a store never holds a manifest whose blobs
 * are missing.
 */
export async function artifactBlobs(cache: OciLayoutStore, t: TrackedPointer): Promise<Descriptor[]> {
  const p = t.pointer;
  if (p.type === 'file') return [{ mediaType: MediaType.octet, digest: p.digest, size: p.size }];
  const m = await loadDirManifest(cache, p);
  const size = await cache.statBlob(p.digest);
  const seen = new Set<string>();
  const out: Descriptor[] = [];
  for (const l of m.layers) if (!seen.has(l.digest)) (seen.add(l.digest), out.push({ mediaType: MediaType.octet, digest: l.digest, size: l.size }));
  out.push({ mediaType: MediaType.mkDirectory, digest: p.digest, size: size! });
  return out;
}

/** Reads a directory manifest from a remote (to learn which blobs a dir needs before fetching them). */
export async function remoteDirManifest(remote: Target, t: TrackedPointer): Promise<{ desc: Descriptor; bytes: Buffer }> {
  const size = hasBlobStat(remote) ? await remote.statBlob(t.pointer.digest) : undefined;
  if (size === undefined) throw new NotFoundError(`the file list of ${t.path} (${t.pointer.digest.slice(7, 19)}) is not in ${remote.location}`, 'it was never pushed there: push it from a clone that has the data');
  const desc: Descriptor = { mediaType: MediaType.mkDirectory, digest: t.pointer.digest, size };
  const bytes = await readAll(await remote.fetch(desc), 512 << 20);
  decodeDirManifest(bytes, `${t.path} directory manifest`); // validates before anything uses it
  return { desc, bytes };
}
