import { lstatSync } from 'node:fs';
import pLimit from 'p-limit';
import { hashFile } from '../hashing/digest.js';
import type { StatCache } from '../hashing/stat-cache.js';
import { abs } from '../repo/paths.js';
import { scanDir, type FileStat, type ScanResult } from './scan.js';

export interface WorkFile {
  path: string;
  mode: number;
  size: number;
  digest: string;
  stat: FileStat;
}

export type WorkState =
  | { kind: 'unread' }
  | { kind: 'missing' }
  | { kind: 'file'; file: WorkFile }
  | { kind: 'dir'; files: WorkFile[]; links: Array<{ path: string; target: string }>; skipped: string[]; temps?: string[] }
  | { kind: 'other' };

/** Digest of a work-tree file: from the stat cache when it is unchanged, else by reading it. */
export async function digestOf(stat: StatCache, rel: string, absPath: string, st: FileStat): Promise<string> {
  const hit = stat.lookup(rel, st);
  if (hit) return hit;
  const { digest } = await hashFile(absPath);
  stat.record(rel, st, digest);
  return digest;
}

/** The stat data of what is at `rel`, without reading any file. */
export type Scanned = { kind: 'missing' } | { kind: 'other' } | { kind: 'file'; stat: FileStat } | { kind: 'dir'; scan: ScanResult };

export function scanPath(root: string, rel: string): Scanned {
  const path = abs(root, rel);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return { kind: 'missing' };
  }
  if (st.isFile()) return { kind: 'file', stat: st };
  if (st.isDirectory()) return { kind: 'dir', scan: scanDir(path) };
  return { kind: 'other' };
}

/** What the work tree holds at `rel` now, with a digest for every file (read only when the stat cache cannot answer). */
export async function workState(root: string, stat: StatCache, rel: string, scanned: Scanned = scanPath(root, rel)): Promise<WorkState> {
  if (scanned.kind === 'missing' || scanned.kind === 'other') return scanned;
  const path = abs(root, rel);
  if (scanned.kind === 'file') {
    const st = scanned.stat;
    const digest = await digestOf(stat, rel, path, st);
    return { kind: 'file', file: { path: rel, mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size, digest, stat: st } };
  }
  const { files, links, skipped, temps } = scanned.scan;
  const out: WorkFile[] = new Array(files.length);
  const misses: number[] = [];
  files.forEach((f, i) => {
    const hit = stat.lookup(`${rel}/${f.path}`, f.stat);
    if (hit) out[i] = { path: f.path, mode: f.mode, size: f.size, stat: f.stat, digest: hit };
    else misses.push(i);
  });
  const limit = pLimit(8);
  await Promise.all(
    misses.map((i) =>
      limit(async () => {
        const f = files[i]!;
        out[i] = { path: f.path, mode: f.mode, size: f.size, stat: f.stat, digest: await digestOf(stat, `${rel}/${f.path}`, f.abs, f.stat) };
      }),
    ),
  );
  return { kind: 'dir', files: out, links, skipped, temps };
}
