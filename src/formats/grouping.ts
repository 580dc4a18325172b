export interface Sized {
  path: string;
  size: number;
}

export type Group<T> = { format: 'raw'; files: [T] } | { format: 'tar'; files: T[] };

export interface GroupingOptions {
  /** Files at least this large get a raw layer of their own. */
  rawThreshold: number;
  /** Target bytes per pack. */
  packTarget: number;
}

/** Keeps the number of layers of one directory near or below this, whatever its size. */
const MAX_PACKS = 2048;

/**
 * Splits a directory's files (sorted by path) into storage units, so that changing,
 * adding or removing one file changes one unit (rarely two):
 * - a file at least `rawThreshold` bytes is a raw unit by itself;
 * - small files are grouped in path order into packs. A pack ends after a file when a
 *   hash of the file's path, read as a number in [0,1), is below size/target: each file
 *   ends its pack with a probability proportional to its size, so packs average `target`
 *   bytes, and where a boundary falls depends only on that file, never on its neighbours.
 * A pack also ends once it holds 2× the target: the pack that contains a given file is
 * size-biased (larger than the average pack), and the cap bounds what one change can cost. A cut forced by the cap depends on the neighbours, but the next path boundary
 * re-synchronises, so an edit still changes one or two packs.
 * For very large directories the target grows in powers of two so the pack count stays
 * below about MAX_PACKS (the manifest of a ModelKit must stay under 4 MiB).
 */
export function planGroups<T extends Sized>(files: T[], opts: GroupingOptions): Group<T>[] {
  let small = 0;
  for (const f of files) if (f.size < opts.rawThreshold) small += f.size;
  let target = opts.packTarget;
  while (small / target > MAX_PACKS) target *= 2;
  const rawAt = Math.max(opts.rawThreshold, target);
  const cap = 2 * target;
  const groups: Group<T>[] = [];
  let cur: T[] = [];
  let curBytes = 0;
  for (const f of files) {
    if (f.size >= rawAt) {
      groups.push({ format: 'raw', files: [f] });
      continue;
    }
    cur.push(f);
    curBytes += f.size;
    if (curBytes >= cap || pathFraction(f.path) < Math.max(f.size, 1) / target) {
      groups.push({ format: 'tar', files: cur });
      cur = [];
      curBytes = 0;
    }
  }
  if (cur.length) groups.push({ format: 'tar', files: cur });
  return groups;
}

/**
 * A path read as a fraction in [0, 1): FNV-1a over its UTF-16 code units, then the
 * murmur3 finaliser so every bit depends on every character. Part of the storage format:
 * it decides pack boundaries (cheap enough for millions of paths, unlike a sha256 each).
 */
export function pathFraction(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}
