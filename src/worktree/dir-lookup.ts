import type { Descriptor } from '../content/descriptor.js';
import { cmp, decodeFileList, type DirRoot } from '../formats/dir-manifest.js';

/**
 * The file lists of a directory manifest that can hold files at or under `sub` (a path inside
 * the folder; '' for all): found by a binary search over the lists, which mk writes in path
 * order (packs are cut from the sorted files, lists from consecutive packs), so a file of a
 * 20,000-file folder costs about log2(20) lists, not 20. Each list read is checked to be
 * sorted and after the ones before it; if that does not hold (not written by mk), every list
 * is returned. Files of raw layers are in the root itself, never in a list.
 */
export async function listsCovering(root: DirRoot, sub: string, read: (d: Descriptor) => Promise<Uint8Array>, what: string): Promise<Set<string>> {
  const n = root.lists.length;
  const all = new Set(root.lists.map((l) => l.digest));
  if (root.version !== 2 || n <= 2 || sub === '') return all;
  const bounds = new Map<number, { first: string; last: string } | undefined>();
  const probe = async (j: number) => {
    if (bounds.has(j)) return bounds.get(j);
    const l = root.lists[j]!;
    const files = decodeFileList(await read(l), `${what} (file list ${l.digest.slice(7, 19)})`);
    let ok = files.length > 0;
    for (let i = 1; i < files.length && ok; i++) ok = cmp(files[i - 1]!.path, files[i]!.path) < 0;
    const b = ok ? { first: files[0]!.path, last: files[files.length - 1]!.path } : undefined;
    bounds.set(j, b);
    return b;
  };
  // Files under `sub` sort in [sub, sub + '0'): '/' is the character just before '0'.
  const end = sub + '0';
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const b = await probe(mid);
    if (!b) return all;
    if (cmp(b.last, sub) >= 0) hi = mid;
    else lo = mid + 1;
  }
  const out = new Set<string>();
  for (let j = lo; j < n; j++) {
    const b = await probe(j);
    if (!b) return all;
    if (cmp(b.first, end) >= 0) break;
    out.add(root.lists[j]!.digest);
  }
  // The order the search relied on, across every list it read.
  const seen = [...bounds.entries()].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < seen.length; i++) if (!seen[i - 1]![1] || !seen[i]![1] || cmp(seen[i - 1]![1]!.last, seen[i]![1]!.first) >= 0) return all;
  return out;
}
