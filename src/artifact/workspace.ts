import { lstatSync, type Stats } from 'node:fs';
import pLimit from 'p-limit';
import { hashFile } from '../hashing/digest.js';
import type { StatCache } from '../hashing/stat-cache.js';
import { abs } from '../repo/paths.js';
import { scanDir } from './scan.js';

export interface WorkFile {
  path: string;
  mode: number;
  size: number;
  digest: string;
  stat: Stats;
}

export type WorkState = { kind: 'missing' } | { kind: 'file'; file: WorkFile } | { kind: 'dir'; files: WorkFile[]; skipped: string[] } | { kind: 'other' };

/** Digest of a work-tree file: from the stat cache when it is unchanged, else by reading it. */
export async function digestOf(stat: StatCache, rel: string, absPath: string, st: Stats): Promise<string> {
  const hit = stat.lookup(rel, st);
  if (hit) return hit;
  const { digest } = await hashFile(absPath);
  stat.record(rel, st, digest);
  return digest;
}

/** What the work tree holds at `rel` now, with a digest for every file. */
export async function workState(root: string, stat: StatCache, rel: string): Promise<WorkState> {
  const path = abs(root, rel);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return { kind: 'missing' };
  }
  if (st.isFile()) {
    const digest = await digestOf(stat, rel, path, st);
    return { kind: 'file', file: { path: rel, mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size, digest, stat: st } };
  }
  if (!st.isDirectory()) return { kind: 'other' };
  const { files, skipped } = scanDir(path);
  const limit = pLimit(8);
  const out = await Promise.all(
    files.map((f) => limit(async () => ({ path: f.path, mode: f.mode, size: f.size, stat: f.stat, digest: await digestOf(stat, `${rel}/${f.path}`, f.abs, f.stat) }))),
  );
  return { kind: 'dir', files: out, skipped };
}
