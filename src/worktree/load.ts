import { MediaType } from '../content/media-types.js';
import type { Pointer } from '../formats/pointer.js';
import type { CacheStore } from '../content/storage.js';
import { assembleDirManifest, decodeDirRoot, type DirManifest } from '../formats/dir-manifest.js';

const memo = new Map<string, DirManifest>();

/** Reads (and verifies) the directory manifest named by a dir pointer, and its file lists, from the cache. */
export async function loadDirManifest(cache: CacheStore, p: Pick<Pointer, 'digest'>): Promise<DirManifest> {
  const hit = memo.get(p.digest);
  if (hit) return hit;
  const what = `directory manifest ${p.digest.slice(7, 19)}`;
  const root = decodeDirRoot(readCachedSmall(cache, p.digest, what), what);
  const m = assembleDirManifest(root, (d) => readCachedSmall(cache, d, `file list ${d.slice(7, 19)}`), what);
  memo.set(p.digest, m);
  return m;
}

/**
 * Whether every blob a directory version needs (its file lists and its layers) is in the
 * cache, reading only its root: a folder of 20,000 files is not decoded to answer this.
 */
export function dirVersionCached(cache: CacheStore, digest: string): boolean {
  const hit = memo.get(digest);
  const has = (d: { digest: string; size: number }) => cache.existsSync({ mediaType: MediaType.octet, ...d });
  if (hit) return hit.layers.every(has);
  const what = `directory manifest ${digest.slice(7, 19)}`;
  const root = decodeDirRoot(readCachedSmall(cache, digest, what), what);
  return root.lists.every(has) && root.layers.every(has);
}

/**
 * The files that differ between two versions of a directory, reading only the file lists
 * that differ (a version's lists that the other lacks; raw layers are always compared):
 * `from` and `to` hold every such file, sorted by path, with `to.layers` complete.
 */
export function loadDirChange(cache: CacheStore, from: string, to: string): { from: DirManifest; to: DirManifest } {
  const a = decodeDirRoot(readCachedSmall(cache, from, `directory manifest ${from.slice(7, 19)}`), `directory manifest ${from.slice(7, 19)}`);
  const b = decodeDirRoot(readCachedSmall(cache, to, `directory manifest ${to.slice(7, 19)}`), `directory manifest ${to.slice(7, 19)}`);
  const inA = new Set(a.lists.map((l) => l.digest));
  const inB = new Set(b.lists.map((l) => l.digest));
  const onlyA = new Set([...inA].filter((d) => !inB.has(d)));
  const onlyB = new Set([...inB].filter((d) => !inA.has(d)));
  const read = (d: string) => readCachedSmall(cache, d, `file list ${d.slice(7, 19)}`);
  return { from: assembleDirManifest(a, read, `directory manifest ${from.slice(7, 19)}`, onlyA), to: assembleDirManifest(b, read, `directory manifest ${to.slice(7, 19)}`, onlyB) };
}

/** Reads a small metadata blob (manifest, file list) from the cache, verified; a blob that does not match is dropped. */
export function readCachedSmall(cache: CacheStore, digest: string, what: string): Buffer {
  return cache.readSmall(digest, what);
}

/** The descriptor of a dir pointer's manifest blob (its size is read from the cache). */
export function manifestDescriptor(cache: CacheStore, p: Pointer) {
  return { mediaType: MediaType.mkDirectory, digest: p.digest, size: cache.statBlobSync(p.digest) ?? -1 };
}

/** How every encoded directory manifest begins (see encodeDirManifest), v2 and v1. */
const MANIFEST_PREFIXES = [Buffer.from(`{"mediaType":"${MediaType.mkDirectory}","version":2,`), Buffer.from(`{"mediaType":"${MediaType.mkDirectoryV1}","version":1,`)];

/**
 * Digests of the files that some directory manifest in the cache lists and whose layer (pack
 * or raw blob) is in the cache: bytes that are saved even though no blob is named by their
 * own digest (small files live inside packs). Reads the first bytes of every blob, so it is
 * meant for rare paths only (deciding whether a work-tree file may be replaced).
 */
export async function savedFileDigests(cache: CacheStore): Promise<Set<string>> {
  const out = new Set<string>();
  const n = MANIFEST_PREFIXES[0]!.length;
  for (const b of await cache.listBlobs()) {
    if (b.size < n) continue;
    const head = cache.readHead(b.digest, n);
    if (!head || !MANIFEST_PREFIXES.some((x) => head.equals(x))) continue;
    const m = await loadDirManifest(cache, b).catch(() => undefined);
    if (!m) continue;
    const present = m.layers.map((l) => cache.existsSync({ mediaType: MediaType.octet, ...l }));
    for (const f of m.files) if (present[f.layer]) out.add(f.digest);
  }
  return out;
}
