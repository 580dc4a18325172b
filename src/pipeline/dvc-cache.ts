import { chmodSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { tmpName } from '../util/fs.js';
import { dirListing, dirMd5, md5File, type Md5Hasher } from './md5.js';

/**
 * A repository where DVC is still in use (a `.dvc` folder) keeps DVC's cache filled too: each
 * output mk records is also stored where DVC looks for it (`<cache>/files/md5/ab/cdef...`, a
 * folder's list as its `.dir` object, read-only as DVC keeps them), so `dvc status` and
 * `dvc repro` after `mk repro` find the outputs cached and decide as mk did. Nothing is
 * written where there is no `.dvc` folder.
 */
export function dvcCacheDir(root: string): string | undefined {
  const dvc = join(root, '.dvc');
  if (!existsSync(dvc)) return undefined;
  let dir = join(dvc, 'cache');
  for (const f of ['config', 'config.local']) {
    let text: string;
    try {
      text = readFileSync(join(dvc, f), 'utf8');
    } catch {
      continue;
    }
    // INI: the `dir` key of the [cache] section (relative to .dvc/).
    let section = '';
    for (const line of text.split(/\r?\n/)) {
      const sec = /^\s*\[\s*([^\]]+?)\s*\]\s*$/.exec(line);
      if (sec) section = sec[1]!.replace(/^'|'$/g, '');
      const kv = /^\s*dir\s*=\s*(.+?)\s*$/.exec(line);
      if (kv && section === 'cache') dir = isAbsolute(kv[1]!) ? kv[1]! : join(dvc, kv[1]!);
    }
  }
  return dir;
}

function objectPath(cache: string, md5: string): string {
  return join(cache, 'files', 'md5', md5.slice(0, 2), md5.slice(2));
}

function store(dest: string, write: (tmp: string) => void): void {
  if (existsSync(dest)) return;
  mkdirSync(join(dest, '..'), { recursive: true });
  const tmp = tmpName(dest);
  try {
    write(tmp);
    chmodSync(tmp, 0o444);
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Stores an output (a file or a folder, with its md5 as the lock records it) in DVC's cache. */
export async function saveToDvcCache(cache: string, hasher: Md5Hasher, rel: string, absPath: string, md5: string): Promise<void> {
  if (!md5.endsWith('.dir')) {
    store(objectPath(cache, md5), (tmp) => copyFileSync(absPath, tmp, constants.COPYFILE_FICLONE));
    return;
  }
  const files = await hasher.dirFiles(rel);
  for (const f of files) store(objectPath(cache, f.md5), (tmp) => copyFileSync(f.abs, tmp, constants.COPYFILE_FICLONE));
  const listing = dirListing(files);
  store(objectPath(cache, md5), (tmp) => writeFileSync(tmp, listing));
}

const MD5_HEX = /^[0-9a-f]{32}$/;

/** Copies a cache object to `dest` (a new file) and returns its md5, or undefined when the object is not there. */
function copyObject(cache: string, md5: string, dest: string): string | undefined {
  const src = objectPath(cache, md5);
  if (!existsSync(src)) return undefined;
  mkdirSync(join(dest, '..'), { recursive: true });
  copyFileSync(src, dest, constants.COPYFILE_FICLONE);
  chmodSync(dest, 0o644);
  return md5File(dest);
}

/**
 * Puts an output back as the lock records it, from DVC's cache (DVC's own "checkout" of a
 * stage whose inputs did not change): a file, or a folder from its `.dir` list. Every file is
 * checked against its md5 and the folder against its own; anything missing or different and
 * nothing is changed (false).
 */
export function restoreFromDvcCache(cache: string, absPath: string, md5: string): boolean {
  const tmp = tmpName(absPath);
  try {
    if (!md5.endsWith('.dir')) {
      if (!MD5_HEX.test(md5) || copyObject(cache, md5, tmp) !== md5) return false;
    } else {
      const list = objectPath(cache, md5);
      if (!MD5_HEX.test(md5.slice(0, -4)) || !existsSync(list)) return false;
      const text = readFileSync(list, 'utf8');
      let entries: Array<{ md5?: unknown; relpath?: unknown }>;
      try {
        entries = JSON.parse(text) as typeof entries;
      } catch {
        return false;
      }
      if (!Array.isArray(entries)) return false;
      const files: Array<{ rel: string; md5: string }> = [];
      for (const e of entries) {
        const rel = e?.relpath;
        if (typeof rel !== 'string' || typeof e.md5 !== 'string' || !MD5_HEX.test(e.md5)) return false;
        const parts = rel.split('/');
        // Paths from a file on disk: never out of the folder, never into .git.
        if (!rel || rel.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..' || p.toLowerCase() === '.git' || p.includes('\0'))) return false;
        if (copyObject(cache, e.md5, join(tmp, ...parts)) !== e.md5) return false;
        files.push({ rel, md5: e.md5 });
      }
      if (dirMd5(files) !== md5) return false;
    }
    rmSync(absPath, { recursive: true, force: true });
    mkdirSync(join(absPath, '..'), { recursive: true });
    renameSync(tmp, absPath);
    return true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
