import { existsSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { findSignatureAsync } from '../hashing/stamps.js';
import { hashFile } from '../hashing/digest.js';
import { underPrefix, type TrackedPointer } from '../git/pointers.js';
import { abs } from '../repo/paths.js';
import { diffFiles } from './compare.js';
import { loadDirManifest } from './load.js';
import { scanDir } from './scan.js';
import type { Session } from './session.js';

export interface MovedFolder {
  /** The tracked folder whose data is gone from its path. */
  from: TrackedPointer;
  /** Where that data is now. */
  to: string;
}

/**
 * Tracked folders the user moved (`mv data/imgs data/pics` then `git add -A`, or `git mv
 * data/imgs data/pics`): the folder's data is gone from its path, and a folder that Git just
 * saw appear (a staged new path under it: the folder's marker, or its files) holds exactly
 * that version. Proved without reading the data where the stamp or the stat cache can: the
 * files keep their stat data when their folder is renamed (its stamp's signature is the
 * same, and the stat cache knows them under their old paths); only files neither knows are
 * hashed. Nothing else counts: a folder with any other content is a new artifact or the user's.
 */
export async function movedFolders(session: Session, tracked: TrackedPointer[], added: string[]): Promise<MovedFolder[]> {
  const { ctx } = session;
  const gone = tracked.filter((t) => !t.filtered && t.pointer.type === 'dir' && !existsSync(abs(ctx.root, t.path)));
  if (!gone.length || !added.length) return [];
  // Folders a new path appeared in, none of them tracked, inside a tracked folder, or holding one.
  const candidates = new Set<string>();
  for (const p of added) {
    for (let d = dirname(p); d !== '.' && d !== ''; d = dirname(d)) {
      if (candidates.has(d)) break;
      if (tracked.some((t) => underPrefix(d, t.path) || underPrefix(t.path, d))) continue;
      candidates.add(d);
    }
  }
  const out: MovedFolder[] = [];
  const taken = new Set<string>();
  for (const t of gone) {
    for (const d of candidates) {
      if (taken.has(d) || !lstatSync(abs(ctx.root, d), { throwIfNoEntry: false })?.isDirectory()) continue;
      if (await holdsVersion(session, t, d)) {
        out.push({ from: t, to: d });
        taken.add(d);
        break;
      }
    }
  }
  return out;
}

/** Whether folder `dir` holds exactly the version of tracked folder `t`, file for file. */
async function holdsVersion(session: Session, t: TrackedPointer, dir: string): Promise<boolean> {
  const { ctx, stat, stamps } = session;
  const absDir = abs(ctx.root, dir);
  const scan = scanDir(absDir);
  if (scan.files.length !== t.pointer.files || scan.files.reduce((n, f) => n + f.size, 0) !== t.pointer.size || scan.skipped.length) return false;
  // The folder's stamp, taken at its old path, still holds: the same files, untouched.
  const sig = await findSignatureAsync(absDir);
  if (sig && stamps.isClean(t.path, t.pointer.digest, sig.sig, absDir)) return true;
  const m = await loadDirManifest(ctx.cache, t.pointer).catch(() => undefined);
  if (!m) return false;
  const files = [];
  for (const f of scan.files) {
    const digest = stat.lookup(`${t.path}/${f.path}`, f.stat) ?? (await hashFile(f.abs)).digest;
    files.push({ path: f.path, digest, size: f.size, mode: f.mode });
  }
  return diffFiles(m.files, files).length === 0;
}
