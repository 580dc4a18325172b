import { statSync } from 'node:fs';
import { MediaType } from '../content/media-types.js';
import { readAll } from '../content/storage.js';
import type { Pointer } from '../pointer/pointer.js';
import type { OciLayoutStore } from '../stores/oci-layout/layout-store.js';
import { decodeDirManifest, type DirManifest } from './dir-manifest.js';

const memo = new Map<string, DirManifest>();

/** Reads (and verifies) the directory manifest named by a dir pointer from the cache. */
export async function loadDirManifest(cache: OciLayoutStore, p: Pointer): Promise<DirManifest> {
  const hit = memo.get(p.digest);
  if (hit) return hit;
  const desc = manifestDescriptor(cache, p);
  const bytes = await readAll(await cache.fetch(desc));
  const m = decodeDirManifest(bytes, `directory manifest ${p.digest}`);
  memo.set(p.digest, m);
  return m;
}

/** The descriptor of a dir pointer's manifest blob (its size is read from the cache). */
export function manifestDescriptor(cache: OciLayoutStore, p: Pointer) {
  let size = -1;
  try {
    size = statSync(cache.blobPath(p)).size;
  } catch {
    /* not cached */
  }
  return { mediaType: MediaType.mkDirectory, digest: p.digest, size };
}
