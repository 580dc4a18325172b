import { closeSync, openSync, readSync, statSync } from 'node:fs';
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

/** How every encoded directory manifest begins (see encodeDirManifest). */
const MANIFEST_PREFIX = Buffer.from(`{"mediaType":"${MediaType.mkDirectory}","version":1,`);

/**
 * Digests of the files that some directory manifest in the cache lists and whose layer (pack
 * or raw blob) is in the cache: bytes that are saved even though no blob is named by their
 * own digest (small files live inside packs). Reads the first bytes of every blob, so it is
 * meant for rare paths only (deciding whether a work-tree file may be replaced).
 */
export async function savedFileDigests(cache: OciLayoutStore): Promise<Set<string>> {
  const out = new Set<string>();
  const head = Buffer.alloc(MANIFEST_PREFIX.length);
  for (const b of await cache.listBlobs()) {
    if (b.size < head.length) continue;
    let fd: number | undefined;
    try {
      fd = openSync(cache.blobPath(b), 'r');
      if (readSync(fd, head, 0, head.length, 0) !== head.length || !head.equals(MANIFEST_PREFIX)) continue;
    } catch {
      continue;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const m = await loadDirManifest(cache, { version: 1, kind: 'dataset', type: 'dir', digest: b.digest, size: 0 }).catch(() => undefined);
    if (!m) continue;
    const present = m.layers.map((l) => cache.existsSync({ mediaType: MediaType.octet, ...l }));
    for (const f of m.files) if (present[f.layer]) out.add(f.digest);
  }
  return out;
}
