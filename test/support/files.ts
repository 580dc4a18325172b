import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A small seeded PRNG (mulberry32), so generated data sets are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` pseudo-random bytes from `rand` (fast: one 32-bit draw per 4 bytes). */
export function randomBytesFrom(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) b.writeUInt32LE((rand() * 0x1_0000_0000) >>> 0, i);
  for (; i < n; i++) b[i] = (rand() * 256) >>> 0;
  return b;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): string {
  return sha256(readFileSync(path));
}

/** Writes a file (creating parents) with an exact mode. */
export function put(path: string, data: Uint8Array | string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  chmodSync(path, mode);
}

export interface FileState {
  sha: string;
  size: number;
  /** Permission bits. */
  mode: number;
}

/**
 * Every entry under `dir` (relative paths, forward slashes): regular files with their hash,
 * size and mode. Anything else (symlink, fifo) is recorded with sha 'symlink' / 'other' so a
 * comparison notices it.
 */
export function snapshotTree(dir: string): Map<string, FileState> {
  const out = new Map<string, FileState>();
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      const p = join(d, e.name);
      if (!prefix && isFolderMarker(p)) continue; // Git's file in a tracked folder, not its data
      if (e.isDirectory()) walk(p, rel);
      else if (e.isFile()) {
        const st = statSync(p);
        out.set(rel, { sha: sha256File(p), size: st.size, mode: st.mode & 0o777 });
      } else out.set(rel, { sha: e.isSymbolicLink() ? 'symlink' : 'other', size: 0, mode: 0 });
    }
  };
  walk(dir, '');
  return out;
}

/** Whether `path` is the marker mk keeps in a tracked folder (`<folder>/.gitignore`, which Git tracks; see docs/spec/worktree-state.md). */
export function isFolderMarker(path: string): boolean {
  if (!path.endsWith('/.gitignore')) return false;
  try {
    return lstatSync(path).isFile() && readFileSync(path, 'utf8').startsWith('# mk: ');
  } catch {
    return false;
  }
}

/** The entries of a folder, its marker left out (what a tracked folder holds of its data). */
export function dataEntries(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !isFolderMarker(join(dir, n)))
    .sort();
}

/** Whether a tracked folder holds any of its data (a folder holding only its marker holds none). */
export function hasData(dir: string): boolean {
  try {
    return dataEntries(dir).length > 0;
  } catch {
    return false;
  }
}

/** Plain object of a snapshot, sorted, for readable toEqual diffs. */
export function asRecord(m: Map<string, FileState>): Record<string, FileState> {
  return Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Empty directories under `dir` (relative paths). */
export function emptyDirs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    const es = readdirSync(d, { withFileTypes: true });
    if (es.length === 0 && prefix) out.push(prefix);
    for (const e of es) if (e.isDirectory()) walk(join(d, e.name), prefix ? `${prefix}/${e.name}` : e.name);
  };
  walk(dir, '');
  return out;
}

export function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The blobs of an OCI layout cache: name (hex digest) → absolute path. */
export function cacheBlobs(cacheDir: string): Map<string, string> {
  const dir = join(cacheDir, 'blobs', 'sha256');
  const out = new Map<string, string>();
  for (const n of readdirSync(dir)) out.set(n, join(dir, n));
  return out;
}

const hashMemo = new Map<string, string>();

/**
 * Names of cache blobs whose bytes do not hash to their name (empty when the cache is sound).
 * Blobs are immutable, so a blob already checked (same inode, size, mtime) is not re-read.
 */
export function corruptBlobs(cacheDir: string): string[] {
  const bad: string[] = [];
  for (const [name, path] of cacheBlobs(cacheDir)) {
    if (!/^[0-9a-f]{64}$/.test(name)) {
      bad.push(`${name} (not a digest name)`);
      continue;
    }
    const st = statSync(path);
    const key = `${path}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let h = hashMemo.get(key);
    if (!h) {
      h = sha256File(path);
      hashMemo.set(key, h);
    }
    if (h !== name) bad.push(name);
  }
  return bad;
}

/** Files whose name marks them as mk's own temporary files (`.<name>.mk-tmp-<pid>-<hex>`). */
export function tempLeftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.name === '.git') continue;
      if (e.isDirectory()) walk(join(d, e.name), rel);
      else if (e.name.includes('.mk-tmp-')) out.push(rel);
    }
  };
  walk(dir, '');
  return out;
}
