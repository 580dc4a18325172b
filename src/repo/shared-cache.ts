import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../util/fs.js';

/**
 * Clones that share one cache folder (MK_CACHE_DIR, cache.dir) each leave a note in it,
 * `clones/<id>.json` naming their git directory, so that `mk gc` run in one clone keeps
 * what the others need. A note whose repository is gone is dropped by the next gc.
 */
export function registerClone(cacheDir: string, commonDir: string, root: string): void {
  const file = join(cacheDir, 'clones', createHash('sha256').update(commonDir).digest('hex').slice(0, 24) + '.json');
  if (existsSync(file)) return;
  try {
    writeFileAtomicSync(file, JSON.stringify({ gitDir: commonDir, root }) + '\n');
  } catch {
    /* a read-only shared cache: gc from here cannot see this clone; nothing else is lost */
  }
}

export interface SharingClone {
  gitDir: string;
  root: string;
  note: string;
}

/** The clones registered in a shared cache, except `self` (stale notes removed). */
export function sharingClones(cacheDir: string, self: string): SharingClone[] {
  const dir = join(cacheDir, 'clones');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: SharingClone[] = [];
  for (const n of names) {
    const note = join(dir, n);
    try {
      const j = JSON.parse(readFileSync(note, 'utf8')) as { gitDir?: unknown; root?: unknown };
      if (typeof j.gitDir !== 'string' || typeof j.root !== 'string') continue;
      if (j.gitDir === self) continue;
      if (!existsSync(join(j.gitDir, 'HEAD'))) {
        rmSync(note, { force: true });
        continue;
      }
      out.push({ gitDir: j.gitDir, root: j.root, note });
    } catch {
      /* unreadable note: skip it */
    }
  }
  return out;
}
